-- Webhook deliveries handed over in memory get their row when they are settled, not when
-- their event commits: a delivery that arrives at once costs one insert, not an insert in
-- the checkout's transaction and an update after it. An event that matches a subscription
-- and has no row is then either in a dispatcher's memory or lost with its node; a row is
-- written for it (and polling sends it) once it is older than any hand-off can be.
-- `settled_through` is the event up to which that has been done for the subscription.
ALTER TABLE webhook_subscriptions ADD COLUMN settled_through bigint NOT NULL DEFAULT 0;
UPDATE webhook_subscriptions SET settled_through = (SELECT coalesce(max(seq), 0) FROM events);

-- No foreign keys on the delivery log: each would make every inserted row lock its event
-- and its subscription row (FOR KEY SHARE), thousands of times a second on one
-- subscription row. Deleting a subscription or pruning events deletes its rows itself
-- (`store::webhooks::delete`, `prune`).
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_subscription_id_event_seq_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_subscription_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_seq_fkey;
