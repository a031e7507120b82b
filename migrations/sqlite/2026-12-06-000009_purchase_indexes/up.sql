-- Reading purchase invoices: the orders the lists offer (gross amount; storage order, which an
-- ERP pulls increments in; issue date across every client an office admin sees), each ending in
-- id so that keyset pagination is stable and the pages cost the same however deep.
CREATE INDEX purchase_invoices_client_gross ON purchase_invoices (client_id, gross_amount, id);
CREATE INDEX purchase_invoices_client_synced ON purchase_invoices (client_id, synced_at, id);
CREATE INDEX purchase_invoices_issue ON purchase_invoices (issue_date, id);

-- When each person last opened each list (e.g. the purchase invoices of one client): what was
-- stored after it is marked "nowe" on their next visit.
CREATE TABLE list_visits (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    list_key TEXT NOT NULL,
    visited_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, list_key)
);
