-- The office's own KSeF credential (a KSeF certificate issued for the office's NIP, or a token
-- of the office), sealed like the clients' credentials. It logs into the context of every client
-- that granted the office permissions in KSeF; a client row says whether it uses it or its own.
ALTER TABLE clients ADD COLUMN credential_mode TEXT NOT NULL DEFAULT 'own';

CREATE TABLE office_credentials (
    id TEXT PRIMARY KEY NOT NULL,
    office_nip TEXT NOT NULL,
    kind TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    -- The KSeF it was checked against when stored (test, demo, prod or an API URL).
    ksef_environment TEXT NOT NULL,
    valid_until TIMESTAMP,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    last_auth_ok_at TIMESTAMP,
    last_auth_error TEXT,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
CREATE INDEX office_credentials_active ON office_credentials (active, kind);

-- What KSeF said the last time the office's credential logged into a client's context: when it
-- last got in, why it did not, and which permissions the office holds there.
CREATE TABLE office_access (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    office_credential_id TEXT NOT NULL REFERENCES office_credentials (id),
    checked_at TIMESTAMP NOT NULL,
    last_ok_at TIMESTAMP,
    last_error TEXT,
    ksef_permissions TEXT
);

-- Tokens issued by 31.12.2026 stay valid until 30.11.2027 (end of that day, Warsaw time).
UPDATE credentials SET valid_until = '2027-11-30 22:59:59'
    WHERE kind = 'ksef_token' AND valid_until IS NULL AND created_at < '2027-01-01 00:00:00';
