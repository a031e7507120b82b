-- One value sealed with the master key, written at the first start with that key. Each start
-- opens it before serving: a wrong key file is refused at once instead of the senders failing
-- on every credential, and its presence tells a lost key file from a fresh installation.
CREATE TABLE vault_canary (
    id TEXT PRIMARY KEY NOT NULL,
    key_version BIGINT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
