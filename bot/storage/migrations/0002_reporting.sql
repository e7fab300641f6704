-- Officer reporting: invites, officers, versioned reports, admin unlocks of late periods.

CREATE TABLE invites (
    code        TEXT PRIMARY KEY,
    unit_code   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT
);

CREATE TABLE officers (
    address       TEXT PRIMARY KEY,        -- an officer belongs to one unit
    unit_code     TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    invite_code   TEXT,
    revoked_at    TEXT                     -- NULL while active
);
CREATE INDEX officers_unit ON officers (unit_code);

-- Every confirmation is a new version; earlier versions are never deleted.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_code   TEXT NOT NULL,
    period_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    vals        TEXT NOT NULL,             -- JSON {code: value}
    officer     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    late        INTEGER NOT NULL,
    UNIQUE (unit_code, period_id, version)
);
CREATE INDEX reports_period ON reports (period_id, unit_code);

CREATE TABLE period_unlocks (
    unit_code   TEXT NOT NULL,
    period_id   TEXT NOT NULL,
    until       TEXT NOT NULL,             -- a date: filing allowed up to and including it
    unlocked_by TEXT NOT NULL,
    PRIMARY KEY (unit_code, period_id)
);
