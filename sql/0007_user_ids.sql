-- A token's `sub` names a user that may not exist yet; its first request creates that user
-- with exactly that id. Souk used to move the shared id sequence past such an id, so one
-- valid token for 2^53 - 1 pushed every later user (Mini App sign-ins, bot contacts, admin
-- creations) past the largest id a token may carry. Now only users created without an id
-- advance the sequence, one step at a time, stepping over ids tokens already took. Both
-- paths take the same advisory lock, so a token's user and a new user never race for an id.
CREATE FUNCTION souk_next_user_id() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    candidate bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('souk.users_id_seq'));
    LOOP
        candidate := nextval('users_id_seq');
        EXIT WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = candidate);
    END LOOP;
    RETURN candidate;
END
$$;

ALTER TABLE users ALTER COLUMN id SET DEFAULT souk_next_user_id();

-- A sequence already pushed that far came from a token (no shop has 2^52 users): it goes
-- back to the largest id below that, which the function above makes safe.
SELECT setval('users_id_seq', greatest(1, (SELECT max(id) FROM users WHERE id <= 4503599627370496)))
FROM users_id_seq WHERE last_value > 4503599627370496;
