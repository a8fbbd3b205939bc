-- The admin dashboard reads sales and refunds by time window; without these it would scan
-- every order and wallet transaction ever made.
CREATE INDEX orders_created_idx ON orders (created_at);
CREATE INDEX wallet_transactions_refund_created_idx ON wallet_transactions (created_at)
    WHERE kind = 'refund';
