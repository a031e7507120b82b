DROP TABLE purchase_sync;
DROP TABLE purchase_invoices;
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
