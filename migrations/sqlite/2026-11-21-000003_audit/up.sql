-- The append-only audit trail. `seq` orders the hash chain; each event carries the hash of the
-- one before it, so a changed, removed or reordered event breaks the chain (`audit verify`).
-- No foreign keys: the trail must outlive whatever it describes.
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    client_id TEXT,
    action TEXT NOT NULL,
    subject TEXT,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_client_at ON audit_events (client_id, at);
