-- Orders paid in Telegram Stars (issue 18). Such an order waits for its payment like an
-- external one (`payment_due_at`, its stock and keys held) and records what it costs in
-- Stars. Its shop-currency account (`paid_minor`) stays 0: the money arrived as Stars, and
-- it goes back as Stars (`star_refunds`), never to the wallet.
ALTER TABLE orders DROP CONSTRAINT orders_payment_check;
ALTER TABLE orders ADD CONSTRAINT orders_payment_check
    CHECK (payment IN ('wallet', 'external', 'stars'));
ALTER TABLE orders ADD COLUMN total_stars bigint CHECK (total_stars >= 1);
ALTER TABLE orders ADD CONSTRAINT orders_stars_total_only_for_stars
    CHECK ((payment = 'stars') = (total_stars IS NOT NULL));
ALTER TABLE orders DROP CONSTRAINT orders_due_only_while_pending;
ALTER TABLE orders ADD CONSTRAINT orders_due_only_while_pending
    CHECK (payment_due_at IS NULL OR payment IN ('external', 'stars'));

-- A refund of an order paid in Stars goes back through Telegram (`refundStarPayment`), once
-- per order. The row is claimed (`calling`) before the call, so two refund requests at once
-- make one call; it ends `done`, `refused` (Telegram said no, with its reason) or `unknown`
-- (no answer). Asking again after `refused` or `unknown` calls again: Telegram refuses a
-- second refund of the same charge, which settles an `unknown` one as done.
CREATE TABLE star_refunds (
    order_id     bigint PRIMARY KEY REFERENCES orders (id),
    charge_id    text NOT NULL,
    telegram_id  bigint NOT NULL,
    stars        bigint NOT NULL CHECK (stars >= 1),
    state        text NOT NULL CHECK (state IN ('calling', 'done', 'refused', 'unknown')),
    error        text,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    settled_at   timestamptz
);
