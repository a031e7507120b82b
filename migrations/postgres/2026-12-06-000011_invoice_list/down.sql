DROP INDEX invoices_client_number;
DROP INDEX invoices_client_buyer;
DROP INDEX invoices_client_gross;
DROP INDEX invoices_client_issue;
DROP INDEX invoices_client_created_id;
ALTER TABLE invoices DROP COLUMN gross_minor;
