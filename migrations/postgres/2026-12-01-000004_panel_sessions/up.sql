-- Panel sessions: the cookie carries a short-lived JWT naming one of these rows; logging out
-- (or an admin disabling the user) revokes the row, so the session really ends at once.
CREATE TABLE user_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    ip TEXT
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
