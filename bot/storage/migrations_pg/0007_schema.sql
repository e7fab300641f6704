-- The PostgreSQL schema, equal to SQLite's after its migration 0007 (a PostgreSQL database
-- starts here; later migrations are numbered alike in both folders). Types say the same as
-- in SQLite: every moment is DOUBLE PRECISION unix seconds (UTC), a calendar date is
-- 'YYYY-MM-DD' text, a flag is an INTEGER 0/1, JSON is stored as text.

CREATE TABLE users (
    address     TEXT PRIMARY KEY,          -- 'telegram:123', 'zalo:456', 'console:local'
    lang        TEXT,                      -- chosen with /ngonngu; NULL = follow the platform
    subscribed  INTEGER NOT NULL DEFAULT 0,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE tracked_messages (
    address     TEXT NOT NULL,
    chat_key    TEXT NOT NULL,
    message_id  BIGINT NOT NULL,
    sent_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (address, chat_key, message_id)
);
CREATE INDEX tracked_messages_sent_at ON tracked_messages (sent_at);

CREATE TABLE processed_updates (
    channel     TEXT NOT NULL,
    update_key  TEXT NOT NULL,
    seen_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel, update_key)
);
CREATE INDEX processed_updates_seen_at ON processed_updates (seen_at);

CREATE TABLE dialogs (
    address     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,             -- JSON
    expires_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE menus (
    address     TEXT PRIMARY KEY,
    options     TEXT NOT NULL,             -- JSON list of button data
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE counters (
    day         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    topic       TEXT NOT NULL,
    emergency   INTEGER NOT NULL,
    n           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel, topic, emergency)
);

CREATE TABLE places (
    -- SQLite's implicit rowid, made explicit: the imported order is the order shown.
    rowid       BIGSERIAL NOT NULL,
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,             -- JSON in the places.yaml entry shape
    imported_at DOUBLE PRECISION NOT NULL,
    source_file TEXT NOT NULL
);

CREATE TABLE invites (
    code        TEXT PRIMARY KEY,
    unit_code   TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,
    created_by  TEXT NOT NULL,
    used_at     DOUBLE PRECISION,
    used_by     TEXT,
    revoked_at  DOUBLE PRECISION,          -- NULL while the code may be used
    bound_to    TEXT                       -- set: only this address may use the code
);

CREATE TABLE invite_failures (
    address TEXT NOT NULL,
    at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX invite_failures_address ON invite_failures (address, at);

CREATE TABLE officers (
    address       TEXT PRIMARY KEY,        -- an officer belongs to one unit
    unit_code     TEXT NOT NULL,
    registered_at DOUBLE PRECISION NOT NULL,
    invite_code   TEXT,
    revoked_at    DOUBLE PRECISION,        -- NULL while active
    display_name  TEXT                     -- the name the platform showed at registration
);
CREATE INDEX officers_unit ON officers (unit_code);

CREATE TABLE reports (
    id          BIGSERIAL PRIMARY KEY,
    unit_code   TEXT NOT NULL,
    period_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    vals        TEXT NOT NULL,             -- JSON {code: value}
    officer     TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    late        INTEGER NOT NULL,
    ack_owed    INTEGER NOT NULL DEFAULT 0, -- the "saved" reply may not have been delivered
    UNIQUE (unit_code, period_id, version)
);
CREATE INDEX reports_period ON reports (period_id, unit_code);
CREATE INDEX reports_ack_owed ON reports (id) WHERE ack_owed = 1;

CREATE TABLE period_unlocks (
    unit_code   TEXT NOT NULL,
    period_id   TEXT NOT NULL,
    until       TEXT NOT NULL,             -- a date: filing allowed up to and including it
    unlocked_by TEXT NOT NULL,
    PRIMARY KEY (unit_code, period_id)
);

CREATE TABLE broadcasts (
    id          BIGSERIAL PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,      -- 'adhoc:<hash>' or 'campaign:<id>:<date>'
    audience    TEXT NOT NULL,             -- 'subscribers', 'officers', 'unit:<code>', 'admins'
    text_vi     TEXT NOT NULL,             -- staff-written text, never a citizen's
    text_en     TEXT NOT NULL,
    created_by  TEXT NOT NULL,             -- an admin address, 'cli' or 'campaign'
    created_at  DOUBLE PRECISION NOT NULL,
    due_at      DOUBLE PRECISION NOT NULL,
    recipients  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    purpose         TEXT NOT NULL,         -- remind | escalate | broadcast | campaign | ...
    channel         TEXT NOT NULL,
    user_key        TEXT NOT NULL,
    address         TEXT NOT NULL,         -- channel:user_key
    reply           TEXT NOT NULL,         -- JSON {text, buttons}: officer or staff text only
    priority        INTEGER NOT NULL,      -- 0 reminders and digests, 1 broadcasts
    broadcast_id    BIGINT REFERENCES broadcasts (id),
    only_subscribed INTEGER NOT NULL DEFAULT 0,
    report_unit     TEXT,
    report_period   TEXT,
    state           TEXT NOT NULL DEFAULT 'queued',
    due_at          DOUBLE PRECISION NOT NULL,
    expires_at      DOUBLE PRECISION,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_at      DOUBLE PRECISION,
    claimed_by      TEXT,
    finished_at     DOUBLE PRECISION,
    detail          TEXT NOT NULL DEFAULT '',
    created_at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX outbox_next ON outbox (channel, state, priority, due_at, id);
CREATE INDEX outbox_address ON outbox (address, claimed_at);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, state);
CREATE INDEX outbox_purpose ON outbox (purpose, report_period, state);

CREATE TABLE outbox_pacing (
    channel     TEXT PRIMARY KEY,
    next_at     DOUBLE PRECISION NOT NULL
);

CREATE TABLE outbox_blocked (
    address     TEXT PRIMARY KEY,
    blocked_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE zalo_tokens (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    DOUBLE PRECISION NOT NULL,
    updated_at    DOUBLE PRECISION NOT NULL,
    seed_hash     TEXT NOT NULL
);

CREATE TABLE zalo_interactions (
    user_id     TEXT PRIMARY KEY,          -- the Zalo user id (a string: ids exceed 2**53)
    last_at     DOUBLE PRECISION NOT NULL, -- when the user last wrote to us
    sent_since  INTEGER NOT NULL DEFAULT 0 -- our messages to them since then
);
CREATE INDEX zalo_interactions_last_at ON zalo_interactions (last_at);
