-- Collective identifiers (identyfikator zbiorczy, IZ; KSeF 2.7): one payment reference KSeF
-- issued for up to 500 accepted invoices of one client, and which invoices it holds (with the
-- optional payment and description sent to KSeF for each).
CREATE TABLE collective_identifiers (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    number TEXT NOT NULL,
    invoice_count BIGINT NOT NULL,
    -- Who asked for it (`user:<id>`, `apikey:<id>`, `operator`).
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX collective_identifiers_number ON collective_identifiers (number);
CREATE INDEX collective_identifiers_client ON collective_identifiers (client_id, created_at);

CREATE TABLE collective_identifier_invoices (
    id TEXT PRIMARY KEY NOT NULL,
    collective_identifier_id TEXT NOT NULL REFERENCES collective_identifiers (id),
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    ksef_number TEXT NOT NULL,
    -- Decimal text as sent to KSeF (e.g. 1230.50), with its ISO 4217 code.
    payment_amount TEXT,
    payment_currency TEXT,
    description TEXT
);
CREATE UNIQUE INDEX collective_identifier_invoices_member
    ON collective_identifier_invoices (collective_identifier_id, invoice_id);
CREATE INDEX collective_identifier_invoices_invoice ON collective_identifier_invoices (invoice_id);
