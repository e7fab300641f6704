-- Zalo Official Account: the rotating token pair, and when each user last wrote to us.

-- One row (id = 1), replaced as a whole: a refresh token is single-use, so the pair Zalo
-- returns must be stored together or not at all. `seed_hash` is the SHA-256 of the refresh
-- token the environment supplied, so a new pair put in the environment (after the OA was
-- re-authorised) is noticed, while an unchanged environment never overrides a rotated pair.
CREATE TABLE zalo_tokens (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,        -- unix seconds
    updated_at    INTEGER NOT NULL,        -- unix seconds
    seed_hash     TEXT NOT NULL
);

-- Zalo lets an OA answer a user freely only within 48 hours of the user's last message, and
-- only a few messages: proactive sends check this first. A timestamp and a count, never
-- text; rows older than the window are useless and purged.
CREATE TABLE zalo_interactions (
    user_id     TEXT PRIMARY KEY,          -- the Zalo user id (a string: ids exceed 2**53)
    last_at     INTEGER NOT NULL,          -- unix seconds of the user's last message
    sent_since  INTEGER NOT NULL DEFAULT 0 -- our messages to them since then
);
CREATE INDEX zalo_interactions_last_at ON zalo_interactions (last_at);
