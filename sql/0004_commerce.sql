-- Commerce depth: promo codes with their redemptions, the promo a cart carries, tax that is
-- part of the price (inclusive mode), and product variants (SKUs sharing a group).

CREATE TABLE promos (
    -- Lists page by this id; the code is what everyone else uses.
    id                 bigserial UNIQUE NOT NULL,
    -- Stored upper-case: customers type codes in any case, and one code means one promo.
    code               text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_-]{3,32}$'),
    kind               text NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value              bigint NOT NULL CHECK (value >= 1),
    min_subtotal_minor bigint NOT NULL DEFAULT 0 CHECK (min_subtotal_minor >= 0),
    starts_at          timestamptz,
    ends_at            timestamptz,
    max_redemptions    int CHECK (max_redemptions >= 1),
    max_per_user       int CHECK (max_per_user >= 1),
    active             boolean NOT NULL DEFAULT true,
    -- P6: the count of committed redemptions lives next to its limit, so the database
    -- refuses a redemption past it even if the runtime were wrong.
    redemptions        int NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'percent' OR value <= 100),
    CHECK (value <= 100000000),
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at),
    CHECK (max_redemptions IS NULL OR redemptions <= max_redemptions)
);

CREATE TABLE promo_redemptions (
    order_id   bigint PRIMARY KEY REFERENCES orders (id),
    code       text NOT NULL REFERENCES promos (code),
    user_id    bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promo_redemptions_code_user_idx ON promo_redemptions (code, user_id);

ALTER TABLE users ADD COLUMN cart_promo text REFERENCES promos (code);

ALTER TABLE orders ADD COLUMN promo_code text REFERENCES promos (code);
ALTER TABLE orders ADD COLUMN tax_included_minor bigint NOT NULL DEFAULT 0
    CHECK (tax_included_minor >= 0 AND tax_included_minor <= total_minor);

-- Variants: each SKU is its own product (its own stock owner); siblings share a group.
ALTER TABLE products ADD COLUMN group_id bigint CHECK (group_id >= 1);
ALTER TABLE products ADD COLUMN options jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(options) = 'object');
CREATE INDEX products_group_idx ON products (group_id, id) WHERE group_id IS NOT NULL;

-- External payments: an order awaiting its payment holds its stock (taken at checkout, as a
-- sale) and its license keys (held, not delivered) until `payment_due_at`; then it is
-- cancelled and both go back. A key is delivered only once its order is paid.
ALTER TABLE orders ADD COLUMN payment_due_at timestamptz;
ALTER TABLE orders ADD CONSTRAINT orders_due_only_while_pending
    CHECK (payment_due_at IS NULL OR payment = 'external');
CREATE INDEX orders_payment_due_idx ON orders (payment_due_at) WHERE status = 'pending_payment';
ALTER TABLE digital_items DROP CONSTRAINT digital_items_check;
ALTER TABLE digital_items ADD CONSTRAINT digital_items_delivered_to_an_order
    CHECK (delivered_at IS NULL OR order_id IS NOT NULL);

-- I4 for payment providers: each event id is applied once; what happened is kept so a
-- redelivery answers the same.
CREATE TABLE payment_events (
    event_id     text PRIMARY KEY CHECK (char_length(event_id) BETWEEN 1 AND 255),
    type         text NOT NULL CHECK (type IN ('payment.succeeded', 'payment.failed')),
    order_id     bigint REFERENCES orders (id),
    user_id      bigint REFERENCES users (id),
    amount_minor bigint NOT NULL,
    currency     text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'credited_wallet', 'rejected', 'noted')),
    reason       text,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Returns and exchanges of delivered physical goods. One open return per order; an
-- exchange names a sibling SKU whose stock is taken when the return is requested.
CREATE TABLE returns (
    id         bigserial PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id),
    user_id    bigint NOT NULL REFERENCES users (id),
    status     text NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'received')),
    reason     text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    note       text CHECK (char_length(note) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX returns_one_open_per_order ON returns (order_id) WHERE status IN ('requested', 'approved');
CREATE INDEX returns_status_idx ON returns (status, id);

CREATE TABLE return_lines (
    return_id           bigint NOT NULL REFERENCES returns (id),
    product_id          bigint NOT NULL REFERENCES products (id),
    quantity            int NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    exchange_product_id bigint REFERENCES products (id),
    PRIMARY KEY (return_id, product_id),
    CHECK (exchange_product_id IS DISTINCT FROM product_id)
);
