-- Officers and invites: revocable invites, invites bound to one address, the officer's display
-- name, and wrong invite codes counted per sender (throttling guesses).

ALTER TABLE invites ADD COLUMN revoked_at TEXT;   -- NULL while the code may be used
-- Set: only this address may use the code (an admin re-inviting a revoked officer on purpose).
ALTER TABLE invites ADD COLUMN bound_to TEXT;

-- The name the platform showed at registration (Telegram name or username, Zalo display name),
-- so exports name a person and not only an address. Staff data, not a citizen's.
ALTER TABLE officers ADD COLUMN display_name TEXT;

-- One row per failed invite attempt; only the last few minutes matter (older rows are purged).
CREATE TABLE invite_failures (
    address TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX invite_failures_address ON invite_failures (address, at);
