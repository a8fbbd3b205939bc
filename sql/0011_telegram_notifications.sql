-- Telegram notifications: the buyer's chat hears about their order from the outbox. An
-- event that tells the buyer something (`domain::events`) queues one notification per
-- chat in the event's own transaction, so a crash neither loses one nor sends it twice.
ALTER TABLE events ADD COLUMN order_id bigint,
                   ADD COLUMN tells_buyer boolean NOT NULL DEFAULT false;

CREATE TABLE telegram_notifications (
    event_seq bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    chat_id bigint NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until timestamptz,
    sent_at timestamptz,
    last_error text,
    PRIMARY KEY (event_seq, chat_id)
);
CREATE INDEX telegram_notifications_pending_idx ON telegram_notifications (next_attempt_at, event_seq)
    WHERE state = 'pending';

-- Set when the Bot API answers 403 for the user's chat (they blocked the bot): nothing more
-- is queued for them; cleared when they write to the bot again.
ALTER TABLE users ADD COLUMN telegram_blocked_at timestamptz;

-- "Notify me" on a sold-out product: one message when it is restocked, then the watch is
-- gone (taken by the restock's own transaction).
CREATE TABLE stock_watches (
    user_id bigint NOT NULL REFERENCES users (id),
    product_id bigint NOT NULL REFERENCES products (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, user_id)
);
