-- Invoices with their exact bytes, timeline, the decisions to send them, the outbox the senders
-- work from, KSeF sessions, UPOs, purchase invoices, and the per-NIP sender leases.
CREATE TABLE invoices (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    number TEXT,
    issue_date DATE,
    invoice_type TEXT,
    seller_nip TEXT,
    buyer_nip TEXT,
    buyer_name TEXT,
    currency TEXT,
    gross_total TEXT,
    state TEXT NOT NULL,
    offline_mode BOOLEAN NOT NULL DEFAULT FALSE,
    offline_deadline TIMESTAMP,
    ksef_number TEXT,
    session_reference TEXT,
    invoice_reference TEXT,
    ksef_status_code BIGINT,
    ksef_status_description TEXT,
    findings TEXT NOT NULL,
    corrects_invoice_id TEXT REFERENCES invoices (id),
    approved_by TEXT REFERENCES users (id),
    approved_at TIMESTAMP,
    source TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX invoices_client_state ON invoices (client_id, state);
CREATE INDEX invoices_client_created ON invoices (client_id, created_at);
CREATE INDEX invoices_duplicate_key ON invoices (client_id, seller_nip, invoice_type, number);
CREATE INDEX invoices_ksef_number ON invoices (ksef_number);

CREATE TABLE invoice_documents (
    invoice_id TEXT PRIMARY KEY NOT NULL REFERENCES invoices (id),
    xml BLOB NOT NULL
);

CREATE TABLE invoice_events (
    id TEXT PRIMARY KEY NOT NULL,
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    at TIMESTAMP NOT NULL,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT
);
CREATE INDEX invoice_events_invoice ON invoice_events (invoice_id, at);

CREATE TABLE send_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    source_ip TEXT,
    policy TEXT NOT NULL,
    offline BOOLEAN NOT NULL DEFAULT FALSE,
    invoice_count BIGINT NOT NULL,
    invoice_hashes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX send_decisions_client ON send_decisions (client_id, created_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    invoice_id TEXT NOT NULL UNIQUE REFERENCES invoices (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    decision_id TEXT NOT NULL REFERENCES send_decisions (id),
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_client_due ON outbox (client_id, status, next_attempt_at);

CREATE TABLE ksef_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    kind TEXT NOT NULL,
    reference TEXT,
    state TEXT NOT NULL,
    status_code BIGINT,
    invoice_count BIGINT NOT NULL DEFAULT 0,
    wrapped_key BLOB,
    valid_until TIMESTAMP,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX ksef_sessions_client ON ksef_sessions (client_id, state);

CREATE TABLE upos (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    invoice_id TEXT REFERENCES invoices (id),
    ksef_session_id TEXT REFERENCES ksef_sessions (id),
    sha256 TEXT NOT NULL,
    xml BLOB NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);
CREATE INDEX upos_invoice ON upos (invoice_id);

CREATE TABLE purchase_invoices (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    ksef_number TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    seller_nip TEXT NOT NULL,
    seller_name TEXT,
    issue_date DATE NOT NULL,
    gross_total TEXT,
    currency TEXT NOT NULL,
    invoice_hash TEXT NOT NULL,
    xml BLOB,
    synced_at TIMESTAMP NOT NULL,
    UNIQUE (client_id, ksef_number)
);

CREATE TABLE sender_leases (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    holder TEXT NOT NULL,
    acquired_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
