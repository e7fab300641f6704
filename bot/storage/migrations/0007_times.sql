-- Every moment is stored one way, in every table: REAL unix seconds (UTC), as the outbox
-- tables already were (double precision in PostgreSQL). These tables held ISO-8601 text with
-- an offset ('2026-12-07T13:06:00+07:00') or, for Zalo, INTEGER seconds.
--
-- SQLite cannot change a column's type, and a number written into a column declared TEXT is
-- stored as text (type affinity), so each table is rebuilt with REAL columns: created anew,
-- filled from the old one (rowids kept: places are listed in rowid order), the old one
-- dropped, the new one renamed, its indexes made again. Database.migrate runs the whole file
-- in one transaction: a value that cannot be read fails the start-up and changes nothing.
--
-- strftime('%s') reads the offset, so the seconds are UTC, and a time without an offset is
-- read as UTC. The code wrote whole seconds only; a fraction (SQLite keeps milliseconds) is
-- added back from '%f' - '%S' should a value have one. Calendar dates (counters.day,
-- period_unlocks.until) are not moments and stay 'YYYY-MM-DD' text.

-- users ------------------------------------------------------------------------------------
CREATE TABLE users_new (
    address     TEXT PRIMARY KEY,          -- 'telegram:123', 'zalo:456', 'console:local'
    lang        TEXT,                      -- chosen with /ngonngu; NULL = follow the platform
    subscribed  INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL
);
INSERT INTO users_new (rowid, address, lang, subscribed, created_at)
SELECT rowid, address, lang, subscribed,
       CAST(strftime('%s', created_at) AS REAL)
           + (strftime('%f', created_at) - strftime('%S', created_at))
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

-- tracked_messages -------------------------------------------------------------------------
CREATE TABLE tracked_messages_new (
    address     TEXT NOT NULL,
    chat_key    TEXT NOT NULL,
    message_id  INTEGER NOT NULL,
    sent_at     REAL NOT NULL,
    PRIMARY KEY (address, chat_key, message_id)
);
INSERT INTO tracked_messages_new (rowid, address, chat_key, message_id, sent_at)
SELECT rowid, address, chat_key, message_id,
       CAST(strftime('%s', sent_at) AS REAL)
           + (strftime('%f', sent_at) - strftime('%S', sent_at))
FROM tracked_messages;
DROP TABLE tracked_messages;
ALTER TABLE tracked_messages_new RENAME TO tracked_messages;
CREATE INDEX tracked_messages_sent_at ON tracked_messages (sent_at);

-- processed_updates ------------------------------------------------------------------------
CREATE TABLE processed_updates_new (
    channel     TEXT NOT NULL,
    update_key  TEXT NOT NULL,
    seen_at     REAL NOT NULL,
    PRIMARY KEY (channel, update_key)
);
INSERT INTO processed_updates_new (rowid, channel, update_key, seen_at)
SELECT rowid, channel, update_key,
       CAST(strftime('%s', seen_at) AS REAL)
           + (strftime('%f', seen_at) - strftime('%S', seen_at))
FROM processed_updates;
DROP TABLE processed_updates;
ALTER TABLE processed_updates_new RENAME TO processed_updates;
CREATE INDEX processed_updates_seen_at ON processed_updates (seen_at);

-- dialogs ----------------------------------------------------------------------------------
CREATE TABLE dialogs_new (
    address     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,             -- JSON
    expires_at  REAL NOT NULL
);
INSERT INTO dialogs_new (rowid, address, kind, state, expires_at)
SELECT rowid, address, kind, state,
       CAST(strftime('%s', expires_at) AS REAL)
           + (strftime('%f', expires_at) - strftime('%S', expires_at))
FROM dialogs;
DROP TABLE dialogs;
ALTER TABLE dialogs_new RENAME TO dialogs;

-- menus ------------------------------------------------------------------------------------
CREATE TABLE menus_new (
    address     TEXT PRIMARY KEY,
    options     TEXT NOT NULL,             -- JSON list of button data
    created_at  REAL NOT NULL
);
INSERT INTO menus_new (rowid, address, options, created_at)
SELECT rowid, address, options,
       CAST(strftime('%s', created_at) AS REAL)
           + (strftime('%f', created_at) - strftime('%S', created_at))
FROM menus;
DROP TABLE menus;
ALTER TABLE menus_new RENAME TO menus;

-- places -----------------------------------------------------------------------------------
CREATE TABLE places_new (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,             -- JSON in the places.yaml entry shape
    imported_at REAL NOT NULL,
    source_file TEXT NOT NULL
);
INSERT INTO places_new (rowid, id, data, imported_at, source_file)
SELECT rowid, id, data,
       CAST(strftime('%s', imported_at) AS REAL)
           + (strftime('%f', imported_at) - strftime('%S', imported_at)),
       source_file
FROM places;
DROP TABLE places;
ALTER TABLE places_new RENAME TO places;

-- invites ----------------------------------------------------------------------------------
CREATE TABLE invites_new (
    code        TEXT PRIMARY KEY,
    unit_code   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    created_by  TEXT NOT NULL,
    used_at     REAL,
    used_by     TEXT,
    revoked_at  REAL,                      -- NULL while the code may be used
    bound_to    TEXT                       -- set: only this address may use the code
);
INSERT INTO invites_new (rowid, code, unit_code, created_at, expires_at, created_by, used_at,
                         used_by, revoked_at, bound_to)
SELECT rowid, code, unit_code,
       CAST(strftime('%s', created_at) AS REAL)
           + (strftime('%f', created_at) - strftime('%S', created_at)),
       CAST(strftime('%s', expires_at) AS REAL)
           + (strftime('%f', expires_at) - strftime('%S', expires_at)),
       created_by,
       CAST(strftime('%s', used_at) AS REAL)
           + (strftime('%f', used_at) - strftime('%S', used_at)),
       used_by,
       CAST(strftime('%s', revoked_at) AS REAL)
           + (strftime('%f', revoked_at) - strftime('%S', revoked_at)),
       bound_to
FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;

-- officers ---------------------------------------------------------------------------------
CREATE TABLE officers_new (
    address       TEXT PRIMARY KEY,        -- an officer belongs to one unit
    unit_code     TEXT NOT NULL,
    registered_at REAL NOT NULL,
    invite_code   TEXT,
    revoked_at    REAL,                    -- NULL while active
    display_name  TEXT                     -- the name the platform showed at registration
);
INSERT INTO officers_new (rowid, address, unit_code, registered_at, invite_code, revoked_at,
                          display_name)
SELECT rowid, address, unit_code,
       CAST(strftime('%s', registered_at) AS REAL)
           + (strftime('%f', registered_at) - strftime('%S', registered_at)),
       invite_code,
       CAST(strftime('%s', revoked_at) AS REAL)
           + (strftime('%f', revoked_at) - strftime('%S', revoked_at)),
       display_name
FROM officers;
DROP TABLE officers;
ALTER TABLE officers_new RENAME TO officers;
CREATE INDEX officers_unit ON officers (unit_code);

-- reports ----------------------------------------------------------------------------------
-- AUTOINCREMENT: the ids are copied, and the table's sequence too (below), so an id is never
-- given twice even if the newest versions had been deleted.
CREATE TABLE reports_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_code   TEXT NOT NULL,
    period_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    vals        TEXT NOT NULL,             -- JSON {code: value}
    officer     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    late        INTEGER NOT NULL,
    ack_owed    INTEGER NOT NULL DEFAULT 0, -- the "saved" reply may not have been delivered
    UNIQUE (unit_code, period_id, version)
);
INSERT INTO reports_new (id, unit_code, period_id, version, vals, officer, created_at, late,
                         ack_owed)
SELECT id, unit_code, period_id, version, vals, officer,
       CAST(strftime('%s', created_at) AS REAL)
           + (strftime('%f', created_at) - strftime('%S', created_at)),
       late, ack_owed
FROM reports;
DELETE FROM sqlite_sequence WHERE name = 'reports_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'reports_new', seq FROM sqlite_sequence WHERE name = 'reports';
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_period ON reports (period_id, unit_code);
CREATE INDEX reports_ack_owed ON reports (id) WHERE ack_owed = 1;

-- invite_failures --------------------------------------------------------------------------
CREATE TABLE invite_failures_new (
    address TEXT NOT NULL,
    at      REAL NOT NULL
);
INSERT INTO invite_failures_new (rowid, address, at)
SELECT rowid, address,
       CAST(strftime('%s', at) AS REAL) + (strftime('%f', at) - strftime('%S', at))
FROM invite_failures;
DROP TABLE invite_failures;
ALTER TABLE invite_failures_new RENAME TO invite_failures;
CREATE INDEX invite_failures_address ON invite_failures (address, at);

-- zalo_tokens (INTEGER seconds) ------------------------------------------------------------
CREATE TABLE zalo_tokens_new (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    seed_hash     TEXT NOT NULL
);
INSERT INTO zalo_tokens_new (id, access_token, refresh_token, expires_at, updated_at, seed_hash)
SELECT id, access_token, refresh_token, CAST(expires_at AS REAL), CAST(updated_at AS REAL),
       seed_hash
FROM zalo_tokens;
DROP TABLE zalo_tokens;
ALTER TABLE zalo_tokens_new RENAME TO zalo_tokens;

-- zalo_interactions (INTEGER seconds) ------------------------------------------------------
CREATE TABLE zalo_interactions_new (
    user_id     TEXT PRIMARY KEY,          -- the Zalo user id (a string: ids exceed 2**53)
    last_at     REAL NOT NULL,             -- when the user last wrote to us
    sent_since  INTEGER NOT NULL DEFAULT 0 -- our messages to them since then
);
INSERT INTO zalo_interactions_new (rowid, user_id, last_at, sent_since)
SELECT rowid, user_id, CAST(last_at AS REAL), sent_since
FROM zalo_interactions;
DROP TABLE zalo_interactions;
ALTER TABLE zalo_interactions_new RENAME TO zalo_interactions;
CREATE INDEX zalo_interactions_last_at ON zalo_interactions (last_at);
