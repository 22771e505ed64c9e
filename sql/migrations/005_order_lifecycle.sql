-- The order lifecycle (app/order_states.py): holds that expire, refunds, idempotent checkout,
-- payments matched to their order by intent id, and a record of every transition.

-- States: pending -> paid | canceled | expired; paid -> refunded; pending -> refunded when a
-- refund is reported before the payment itself.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending', 'paid', 'canceled', 'expired', 'refunded'));
ALTER TABLE orders DROP CONSTRAINT orders_payment_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_payment_status_check
    CHECK (payment_status IN ('pending', 'succeeded', 'failed', 'canceled', 'refunded',
                              'partially_refunded', 'disputed', 'dispute_lost'));

-- ref: an unguessable id of the order sent to Stripe (intent metadata and idempotency key), so
-- an intent can never be taken for another order after ids are reused (sql.seed --reset) or by
-- another environment sharing the Stripe account.
-- hold_expires_at: until when a pending order holds its stock; the reaper expires it after.
-- cart_rev: the revision of the cart this order was made from; one order per cart revision.
ALTER TABLE orders
    ADD COLUMN ref UUID NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN hold_expires_at TIMESTAMPTZ,
    ADD COLUMN cart_rev VARCHAR(64);
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE (ref);
ALTER TABLE orders ADD CONSTRAINT orders_user_cart_rev_key UNIQUE (user_id, cart_rev);
-- orders pending before this migration get a full hold from now
UPDATE orders SET hold_expires_at = now() + interval '15 minutes' WHERE status = 'pending';
CREATE INDEX orders_hold_idx ON orders (hold_expires_at) WHERE status = 'pending';
CREATE INDEX orders_pending_user_idx ON orders (user_id) WHERE status = 'pending';

-- Idempotency-Key on POST /api/orders, per user, kept 24 h (the reaper purges older ones).
-- cart_hash: what the key was used with; the same key with another cart is refused.
CREATE TABLE checkout_keys (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        VARCHAR(255) NOT NULL,
    cart_hash  CHAR(64) NOT NULL,
    order_id   BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX checkout_keys_created_idx ON checkout_keys (created_at);

-- Payments that succeeded for an order that had already expired or been canceled: refunded
-- through Stripe (idempotency key from the intent), retried by the reaper until done.
CREATE TABLE late_payments (
    payment_intent_id VARCHAR(255) PRIMARY KEY,
    order_id          BIGINT REFERENCES orders (id) ON DELETE SET NULL,
    amount            BIGINT NOT NULL,
    currency          VARCHAR(3) NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    refund_id         VARCHAR(255),
    refunded_at       TIMESTAMPTZ
);
CREATE INDEX late_payments_due_idx ON late_payments (created_at) WHERE refunded_at IS NULL;

-- Every transition and every refused payment event, for audit and /metrics.
CREATE TABLE order_events (
    id         BIGSERIAL PRIMARY KEY,
    order_id   BIGINT REFERENCES orders (id) ON DELETE SET NULL,
    kind       VARCHAR(40) NOT NULL,
    detail     JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id);
CREATE INDEX order_events_kind_idx ON order_events (kind);
