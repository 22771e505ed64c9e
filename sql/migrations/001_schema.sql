-- The reference schema (users, products, orders, order_items) with its mistakes fixed:
-- money is NUMERIC and never negative, stock can never go below zero, orders have
-- updated_at (the reference's webhook wrote it but no migration created it), timestamps carry
-- a time zone, and statuses are constrained. Carts live in Redis, not in tables.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         VARCHAR(255) NOT NULL UNIQUE,       -- stored trimmed and lower-cased
    password_hash VARCHAR(255) NOT NULL,               -- argon2id
    first_name    VARCHAR(100) NOT NULL DEFAULT '',
    last_name     VARCHAR(100) NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id          BIGSERIAL PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price       NUMERIC(10, 2) NOT NULL CHECK (price >= 0),
    category    VARCHAR(100) NOT NULL,
    stock       INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    image_url   VARCHAR(500) NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id                       BIGSERIAL PRIMARY KEY,
    user_id                  BIGINT NOT NULL REFERENCES users (id),
    total                    NUMERIC(12, 2) NOT NULL CHECK (total >= 0),
    status                   VARCHAR(20) NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'paid', 'canceled')),
    payment_status           VARCHAR(20) NOT NULL DEFAULT 'pending'
                             CHECK (payment_status IN ('pending', 'succeeded', 'failed', 'canceled')),
    stripe_payment_intent_id VARCHAR(255) UNIQUE,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
    id           BIGSERIAL PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id   BIGINT NOT NULL REFERENCES products (id),
    product_name VARCHAR(255) NOT NULL,                -- snapshot at checkout
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    price        NUMERIC(10, 2) NOT NULL CHECK (price >= 0),
    subtotal     NUMERIC(12, 2) NOT NULL CHECK (subtotal >= 0)
);
