-- The durable inbox of webhook updates (several workers on one database) and the workers'
-- heartbeats. A row lives from the moment a webhook accepted an update until a worker has
-- handled it; its payload is encrypted with a key the database never sees.
CREATE TABLE inbox (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT NOT NULL,
    update_key  TEXT NOT NULL,
    chat        TEXT NOT NULL,             -- channel:user: one chat's updates in order
    payload     TEXT NOT NULL,             -- the update, encrypted (Fernet token)
    received_at DOUBLE PRECISION NOT NULL,
    state       TEXT NOT NULL DEFAULT 'queued',  -- queued | working
    claimed_by  TEXT,
    claimed_at  DOUBLE PRECISION,
    attempts    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (channel, update_key)
);
CREATE INDEX inbox_chat ON inbox (chat, id);

CREATE TABLE workers (
    name        TEXT PRIMARY KEY,          -- host:pid:random, new at every start
    seen_at     DOUBLE PRECISION NOT NULL
);
