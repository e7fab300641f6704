-- The outbox: every proactive message (reminder, escalation digest, broadcast, campaign) is a
-- row here first, and a sender drains it at each platform's rate limit (DESIGN.md §2).
-- Times in these tables are Unix seconds (REAL): the sender compares them across processes
-- (a running bot and `bdg-bot reminders run`) with sub-second precision.

-- Admin broadcasts and campaign occurrences: `key` makes re-running one a no-op.
CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,      -- 'adhoc:<hash>' or 'campaign:<id>:<date>'
    audience    TEXT NOT NULL,             -- 'subscribers', 'officers', 'unit:<code>', 'admins'
    text_vi     TEXT NOT NULL,             -- staff-written text, never a citizen's
    text_en     TEXT NOT NULL,
    created_by  TEXT NOT NULL,             -- an admin address, 'cli' or 'campaign'
    created_at  REAL NOT NULL,
    due_at      REAL NOT NULL,
    recipients  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- (purpose, occasion, recipient): 'remind:2026-N:before-7:telegram:123'. Unique, so
    -- re-running a pass or a broadcast never queues a message twice.
    dedupe_key      TEXT NOT NULL UNIQUE,
    purpose         TEXT NOT NULL,         -- remind | escalate | broadcast | campaign
    channel         TEXT NOT NULL,
    user_key        TEXT NOT NULL,
    address         TEXT NOT NULL,         -- channel:user_key
    reply           TEXT NOT NULL,         -- JSON {text, buttons}: officer or staff text only
    priority        INTEGER NOT NULL,      -- 0 reminders and digests, 1 broadcasts
    broadcast_id    INTEGER REFERENCES broadcasts (id),
    -- Conditions checked when the row is claimed, so they take effect at once:
    only_subscribed INTEGER NOT NULL DEFAULT 0,  -- skipped after /huy
    report_unit     TEXT,                  -- skipped once this unit has reported the period,
    report_period   TEXT,                  -- or the recipient is no longer its officer
    state           TEXT NOT NULL DEFAULT 'queued',
        -- queued | sending | sent | blocked | undeliverable | failed | skipped
    due_at          REAL NOT NULL,
    expires_at      REAL,                  -- a reminder is true only on the day it was written for
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_at      REAL,                  -- the send slot reserved by the last claim
    claimed_by      TEXT,
    finished_at     REAL,
    detail          TEXT NOT NULL DEFAULT '',  -- why skipped / failed (never message text)
    created_at      REAL NOT NULL
);
CREATE INDEX outbox_next ON outbox (channel, state, priority, due_at, id);
CREATE INDEX outbox_address ON outbox (address, claimed_at);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, state);
CREATE INDEX outbox_purpose ON outbox (purpose, report_period, state);

-- The next free send slot of each channel, shared by every process that sends, so a running
-- bot and a CLI drain together stay within the platform's total rate.
CREATE TABLE outbox_pacing (
    channel     TEXT PRIMARY KEY,
    next_at     REAL NOT NULL
);

-- Recipients who blocked the bot (403): not retried, and listed for the department. Cleared by
-- the next successful delivery.
CREATE TABLE outbox_blocked (
    address     TEXT PRIMARY KEY,
    blocked_at  REAL NOT NULL
);
