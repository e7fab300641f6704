-- A confirmed report whose "saved" reply may not have reached the officer (the bot was killed
-- between the commit and the send). Set in the transaction that saves the version, cleared
-- once the reply was delivered; the start-up pass queues the reply again for those still set.
ALTER TABLE reports ADD COLUMN ack_owed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX reports_ack_owed ON reports (id) WHERE ack_owed = 1;
