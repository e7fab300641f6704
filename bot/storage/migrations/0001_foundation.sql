-- Foundation: what is kept about a citizen (DESIGN.md §3.4) and the machinery around it.
-- Never a citizen's message text: only ids, language, opt-in, message ids (48 h), counters.

CREATE TABLE users (
    address     TEXT PRIMARY KEY,          -- 'telegram:123', 'zalo:456', 'console:local'
    lang        TEXT,                      -- chosen with /ngonngu; NULL = follow the platform
    subscribed  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

-- Ids of the bot conversation's messages, so /xoa can delete them (Telegram allows 48 h).
CREATE TABLE tracked_messages (
    address     TEXT NOT NULL,
    chat_key    TEXT NOT NULL,
    message_id  INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (address, chat_key, message_id)
);
CREATE INDEX tracked_messages_sent_at ON tracked_messages (sent_at);

-- Platform update ids already handled: Telegram re-delivers a batch after a crash.
CREATE TABLE processed_updates (
    channel     TEXT NOT NULL,
    update_key  TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (channel, update_key)
);
CREATE INDEX processed_updates_seen_at ON processed_updates (seen_at);

-- Anonymous counters for the department's statistics.
CREATE TABLE counters (
    day         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    topic       TEXT NOT NULL,
    emergency   INTEGER NOT NULL,
    n           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel, topic, emergency)
);

-- A conversation in progress (a guided report, a broadcast being composed): numbers and
-- choices only, never free text of a citizen.
CREATE TABLE dialogs (
    address     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,             -- JSON
    expires_at  TEXT NOT NULL
);

-- The options last offered as numbers on channels without buttons (Zalo, console).
CREATE TABLE menus (
    address     TEXT PRIMARY KEY,
    options     TEXT NOT NULL,             -- JSON list of button data
    created_at  TEXT NOT NULL
);

-- The official trusted-address list, once imported (replaces the sample in places.yaml).
CREATE TABLE places (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,             -- JSON in the places.yaml entry shape
    imported_at TEXT NOT NULL,
    source_file TEXT NOT NULL
);
