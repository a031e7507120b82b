-- Client companies (the tenants), people, what was delegated to whom, API keys, KSeF credentials.
CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    nip TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    ksef_environment TEXT NOT NULL,
    send_policy TEXT NOT NULL DEFAULT 'manual',
    paused_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    client_id TEXT REFERENCES clients (id),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);

CREATE TABLE grants (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    permissions TEXT NOT NULL,
    can_delegate BOOLEAN NOT NULL DEFAULT FALSE,
    granted_by TEXT REFERENCES users (id),
    parent_grant_id TEXT REFERENCES grants (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT REFERENCES users (id)
);
CREATE INDEX grants_client_user ON grants (client_id, user_id);
CREATE INDEX grants_parent ON grants (parent_grant_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash BYTEA NOT NULL,
    scopes TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_keys_client ON api_keys (client_id);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    kind TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    fingerprint TEXT NOT NULL,
    valid_until TIMESTAMP,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    last_auth_ok_at TIMESTAMP,
    last_auth_error TEXT,
    ksef_permissions TEXT,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
CREATE INDEX credentials_client ON credentials (client_id, active);
