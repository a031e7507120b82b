-- Purchase invoices (what clients receive), synced from KSeF. The table of the first migration
-- was never written by any release; it is replaced by one that keeps KSeF's metadata in full
-- (amounts in minor units so that lists sort and filter by amount) and the exact bytes once
-- downloaded (a metadata row may precede its bytes: downloads have their own, tighter limit).
DROP TABLE purchase_invoices;
CREATE TABLE purchase_invoices (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    -- The client's role on the invoice: buyer (Subject2), third_party (Subject3), authorized.
    subject_type TEXT NOT NULL,
    ksef_number TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    invoice_type TEXT NOT NULL,
    issue_date DATE NOT NULL,
    seller_nip TEXT NOT NULL,
    seller_name TEXT,
    buyer_nip TEXT,
    buyer_name TEXT,
    net_amount BIGINT NOT NULL,
    vat_amount BIGINT NOT NULL,
    gross_amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- Base64 SHA-256 of the invoice as KSeF reports it; the stored bytes must hash to it.
    invoice_hash TEXT NOT NULL,
    acquisition_date TIMESTAMP NOT NULL,
    permanent_storage_date TIMESTAMP NOT NULL,
    xml BYTEA,
    xml_fetched_at TIMESTAMP,
    synced_at TIMESTAMP NOT NULL,
    UNIQUE (client_id, ksef_number)
);
CREATE INDEX purchase_invoices_client_issue ON purchase_invoices (client_id, issue_date, id);
CREATE INDEX purchase_invoices_client_storage ON purchase_invoices (client_id, permanent_storage_date);
CREATE INDEX purchase_invoices_missing_xml ON purchase_invoices (client_id, xml_fetched_at);

-- Where each client's sync stands, per subject type: the next window starts at cursor_from;
-- everything up to hwm (KSeF's permanent-storage high-water mark) is known to be complete.
CREATE TABLE purchase_sync (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    subject_type TEXT NOT NULL,
    cursor_from TIMESTAMP NOT NULL,
    hwm TIMESTAMP,
    next_run_at TIMESTAMP NOT NULL,
    last_run_at TIMESTAMP,
    last_error TEXT,
    last_checked_at TIMESTAMP,
    gap_count BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (client_id, subject_type)
);
