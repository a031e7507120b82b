-- Certificate enrollments the gateway started with KSeF, for the office (client_id NULL) or a
-- client. The new private key is sealed here (bound to the subject's NIP) from the moment it is
-- generated until the certificate is stored as a credential; then the sealed key is cleared. A
-- pending row is what a restarted gateway resumes (KSeF keeps the enrollment's status 30 days).
CREATE TABLE certificate_enrollments (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT REFERENCES clients (id),
    subject_nip TEXT NOT NULL,
    ksef_environment TEXT NOT NULL,
    certificate_type TEXT NOT NULL,
    key_algorithm TEXT NOT NULL,
    state TEXT NOT NULL,
    reference_number TEXT,
    key_version BIGINT,
    key_nonce BYTEA,
    key_ciphertext BYTEA,
    serial_number TEXT,
    error TEXT,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX certificate_enrollments_subject ON certificate_enrollments (subject_nip, state);
