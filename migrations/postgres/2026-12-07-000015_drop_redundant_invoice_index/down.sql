CREATE INDEX invoices_client_created ON invoices (client_id, created_at);
