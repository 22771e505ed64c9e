-- Every Stripe webhook event applied, keyed by its id: the webhook inserts here in the same
-- transaction as the order update, so a replayed or duplicated event changes nothing.
CREATE TABLE stripe_events (
    id          VARCHAR(255) PRIMARY KEY,
    type        VARCHAR(100) NOT NULL,
    order_id    BIGINT REFERENCES orders (id) ON DELETE SET NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
