-- Admin broadcasts from the bot, and at-most-once sends to Telegram.
--
-- A notification the sender has claimed is `sending` (committed before the Bot API call):
-- Telegram has no idempotency key, so a send whose answer never came (the process died, or
-- the call timed out after it reached Telegram) may have been delivered. Such a row becomes
-- `unknown` and is never sent again: a buyer may miss a message in that narrow window, but
-- never gets one twice.
ALTER TABLE telegram_notifications DROP CONSTRAINT telegram_notifications_state_check;
ALTER TABLE telegram_notifications ADD CONSTRAINT telegram_notifications_state_check
    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown'));
CREATE INDEX telegram_notifications_sending_idx ON telegram_notifications (claimed_until)
    WHERE state = 'sending';

-- A broadcast is composed (draft), previewed, then confirmed: confirming writes its event and
-- one notification per bot user in one transaction, so a restart midway sends each user
-- the rest exactly where it stopped. Its report to the admin is queued the same way when
-- no recipient is left pending.
CREATE TABLE broadcasts (
    id bigserial PRIMARY KEY,
    -- The Telegram update that composed it: a redelivered update finds the same draft.
    update_id bigint NOT NULL UNIQUE,
    admin_chat bigint NOT NULL,
    text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4096),
    state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'sending', 'done', 'cancelled')),
    event_seq bigint REFERENCES events (seq) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX broadcasts_sending_idx ON broadcasts (id) WHERE state = 'sending';
