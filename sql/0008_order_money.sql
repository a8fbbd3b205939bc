-- Each order keeps its own money account: what was paid for it and what has been given
-- back. Every flow that gives money back (a refund, a cancel, a return's refund) adds to
-- `refunded_minor` in the statement that writes its ledger row, so the database itself
-- refuses a refund past what was paid, whichever flow asks. `souk check` verifies that
-- both columns equal the ledger and the applied payment events.
ALTER TABLE orders ADD COLUMN paid_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refunded_minor bigint NOT NULL DEFAULT 0;

UPDATE orders o SET
    paid_minor = coalesce((SELECT sum(w.amount_minor) FROM wallet_transactions w
                           WHERE w.order_id = o.id AND w.kind = 'debit'), 0)
               + coalesce((SELECT sum(e.amount_minor) FROM payment_events e
                           WHERE e.order_id = o.id AND e.outcome = 'applied'), 0),
    refunded_minor = coalesce((SELECT sum(w.amount_minor) FROM wallet_transactions w
                               WHERE w.order_id = o.id AND w.kind = 'refund'), 0);

-- NOT VALID: a shop that already paid out too much (the defect this fixes) still migrates;
-- `souk check` names those orders, and every row written from now on is checked.
ALTER TABLE orders ADD CONSTRAINT orders_paid_within_total
    CHECK (paid_minor >= 0 AND paid_minor <= total_minor) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_refunds_within_paid
    CHECK (refunded_minor >= 0 AND refunded_minor <= paid_minor) NOT VALID;

-- A refund always names the order whose money it gives back.
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_refund_names_order
    CHECK (kind <> 'refund' OR order_id IS NOT NULL) NOT VALID;

-- A promo redemption is given back when its order is cancelled (or expires unpaid): the
-- row is deleted and the count goes down in the cancel's transaction. `releases` counts
-- those give-backs, so a live promo owner can tell whether the state it loaded already
-- reflects one (the same trick as a product's stock movement ids).
ALTER TABLE promos ADD COLUMN releases bigint NOT NULL DEFAULT 0 CHECK (releases >= 0);
