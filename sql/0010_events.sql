-- Events out (the transactional outbox). Every committed change worth telling writes its
-- events here in the change's own transaction, so an event exists exactly when its change
-- committed. `seq` orders them (the events of one stream, e.g. one order, are committed one
-- transaction after another by their one owner, so `seq` is their commit order). `seq` is
-- also the stable id receivers drop duplicates by (`evt_<seq>`): one sequence for every
-- node, and no second unique index for every checkout to write.
CREATE TABLE events (
    seq bigserial PRIMARY KEY,
    type text NOT NULL,
    stream text NOT NULL,
    data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Rows arrive in time order: a BRIN index finds old ones to prune for almost nothing per insert.
CREATE INDEX events_created_idx ON events USING brin (created_at);

-- Webhook subscriptions. The secret signs each delivery (`Souk-Signature`), so it is kept
-- as it was issued; the API shows it once, at creation.
CREATE TABLE webhook_subscriptions (
    id bigserial PRIMARY KEY,
    url text NOT NULL,
    events text[] NOT NULL CHECK (cardinality(events) > 0),
    description text,
    secret text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    -- Set when a delivery gave up after the retry horizon; cleared by the next success.
    failing_since timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (subscription, event), written with the event in the change's transaction
-- for every active subscription that wants its type.
CREATE TABLE webhook_deliveries (
    subscription_id bigint NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_seq bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    stream text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A dispatcher holds a delivery it is sending until then; another may take it after.
    claimed_until timestamptz,
    delivered_at timestamptz,
    last_error text,
    -- The attempt that delivered it (failed attempts are rows of `webhook_attempts`).
    delivered_status integer,
    delivered_latency_ms integer,
    PRIMARY KEY (subscription_id, event_seq)
);
-- The dispatcher walks pending deliveries in commit order and stops at its limit.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (event_seq) WHERE state = 'pending';
-- A delivery waits while an earlier one of its stream to the same subscriber is pending.
CREATE INDEX webhook_deliveries_stream_idx ON webhook_deliveries (subscription_id, stream, event_seq)
    WHERE state = 'pending';

-- Every failed attempt, for the admin's deliveries list (the one that delivered is kept on
-- the delivery itself: most deliveries succeed at once and need no row here).
CREATE TABLE webhook_attempts (
    id bigserial PRIMARY KEY,
    subscription_id bigint NOT NULL,
    event_seq bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    status_code integer,
    latency_ms integer NOT NULL CHECK (latency_ms >= 0),
    error text,
    FOREIGN KEY (subscription_id, event_seq)
        REFERENCES webhook_deliveries (subscription_id, event_seq) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_subscription_idx ON webhook_attempts (subscription_id, id);
