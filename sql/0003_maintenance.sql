-- Maintenance mode: one row, so a restart keeps what the operator set.
CREATE TABLE maintenance (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled    boolean NOT NULL DEFAULT false,
    message    text CHECK (char_length(message) <= 500),
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO maintenance (enabled) VALUES (false);
