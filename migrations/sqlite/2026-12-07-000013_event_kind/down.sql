ALTER TABLE invoice_events DROP COLUMN kind;
