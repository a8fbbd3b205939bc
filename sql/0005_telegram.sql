-- The Telegram front-end: every update applied (I4: a redelivered update_id changes
-- nothing), and each user's conversation step, so a dialogue survives a restart.

CREATE TABLE telegram_updates (
    update_id   bigint PRIMARY KEY,
    kind        text NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 40),
    telegram_id bigint,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_updates_applied_idx ON telegram_updates (applied_at);

CREATE TABLE telegram_sessions (
    user_id    bigint PRIMARY KEY REFERENCES users (id),
    step       jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
