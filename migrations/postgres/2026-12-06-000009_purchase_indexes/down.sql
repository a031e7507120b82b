DROP TABLE list_visits;
DROP INDEX purchase_invoices_issue;
DROP INDEX purchase_invoices_client_synced;
DROP INDEX purchase_invoices_client_gross;
