-- Souk's core schema. The constraints repeat the domain's rules so that even a bug in the
-- runtime cannot store an oversell, a negative balance, a code delivered twice or an
-- unknown status: the database refuses the write and the runtime reports it.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    display_name  text CHECK (char_length(display_name) BETWEEN 1 AND 200),
    telegram_id   bigint UNIQUE,
    balance_minor bigint NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE categories (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    parent_id  bigint REFERENCES categories (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX categories_parent_idx ON categories (parent_id);

CREATE TABLE products (
    id            bigserial PRIMARY KEY,
    category_id   bigint NOT NULL REFERENCES categories (id),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    kind          text NOT NULL CHECK (kind IN ('digital', 'physical')),
    price_minor   bigint NOT NULL CHECK (price_minor BETWEEN 1 AND 100000000),
    -- Physical goods only; digital stock is the count of undelivered rows in digital_items.
    stock_on_hand bigint NOT NULL DEFAULT 0 CHECK (stock_on_hand >= 0),
    active        boolean NOT NULL DEFAULT true,
    image_url     text CHECK (char_length(image_url) <= 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'physical' OR stock_on_hand = 0)
);
CREATE INDEX products_category_idx ON products (category_id, id);
CREATE INDEX products_active_idx ON products (id) WHERE active;

CREATE TABLE orders (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id),
    status         text NOT NULL CHECK (status IN ('pending_payment', 'paid', 'processing', 'shipped',
                       'delivered', 'cancelled', 'return_requested', 'returned', 'refunded')),
    currency       char(3) NOT NULL,
    subtotal_minor bigint NOT NULL CHECK (subtotal_minor >= 0),
    discount_minor bigint NOT NULL CHECK (discount_minor >= 0),
    shipping_minor bigint NOT NULL CHECK (shipping_minor >= 0),
    tax_minor      bigint NOT NULL CHECK (tax_minor >= 0),
    total_minor    bigint NOT NULL CHECK (total_minor >= 0),
    payment        text NOT NULL CHECK (payment IN ('wallet', 'external')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (total_minor = subtotal_minor - discount_minor + shipping_minor + tax_minor)
);
CREATE INDEX orders_user_idx ON orders (user_id, id DESC);
CREATE INDEX orders_status_idx ON orders (status, id DESC);

CREATE TABLE order_lines (
    order_id         bigint NOT NULL REFERENCES orders (id),
    line_no          int NOT NULL CHECK (line_no >= 1),
    product_id       bigint NOT NULL REFERENCES products (id),
    name             text NOT NULL,
    quantity         int NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 1),
    PRIMARY KEY (order_id, product_id),
    UNIQUE (order_id, line_no)
);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);

CREATE TABLE digital_items (
    id           bigserial PRIMARY KEY,
    product_id   bigint NOT NULL REFERENCES products (id),
    -- I5: a code exists once, and once it names an order it is that order's forever.
    code         text NOT NULL UNIQUE CHECK (char_length(code) BETWEEN 3 AND 500),
    order_id     bigint REFERENCES orders (id),
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((order_id IS NULL) = (delivered_at IS NULL))
);
CREATE INDEX digital_items_available_idx ON digital_items (product_id, id) WHERE order_id IS NULL;
CREATE INDEX digital_items_order_idx ON digital_items (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE stock_movements (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id),
    delta      bigint NOT NULL CHECK (delta <> 0),
    reason     text NOT NULL CHECK (reason IN ('adjustment', 'sale', 'release')),
    order_id   bigint REFERENCES orders (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, id);

CREATE TABLE cart_items (
    user_id    bigint NOT NULL REFERENCES users (id),
    product_id bigint NOT NULL REFERENCES products (id),
    quantity   int NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE wallet_transactions (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    kind         text NOT NULL CHECK (kind IN ('credit', 'debit', 'refund')),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    order_id     bigint REFERENCES orders (id),
    reason       text NOT NULL CHECK (char_length(reason) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'debit' OR order_id IS NOT NULL)
);
CREATE INDEX wallet_transactions_user_idx ON wallet_transactions (user_id, id DESC);
CREATE INDEX wallet_transactions_order_idx ON wallet_transactions (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE order_status_history (
    id          bigserial PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id),
    from_status text,
    to_status   text NOT NULL,
    actor       text NOT NULL,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, id);

CREATE TABLE idempotency_keys (
    user_id      bigint NOT NULL REFERENCES users (id),
    key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status_code  smallint NOT NULL,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    before     jsonb,
    after      jsonb,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_target_idx ON audit_log (target, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
