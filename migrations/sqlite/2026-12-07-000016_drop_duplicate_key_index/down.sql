CREATE INDEX invoices_duplicate_key ON invoices (client_id, seller_nip, invoice_type, number);
