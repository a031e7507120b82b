-- The sales invoice list filters and sorts by the gross amount: a number (minor units) beside
-- the decimal text kept as the invoice states it, filled from that text for invoices stored
-- before (text that is not a plain decimal with at most two decimals stays NULL).
ALTER TABLE invoices ADD COLUMN gross_minor BIGINT;
UPDATE invoices SET gross_minor = CAST(ROUND(CAST(gross_total AS REAL) * 100) AS INTEGER)
 WHERE gross_total IS NOT NULL
   AND gross_total GLOB '*[0-9]*'
   AND gross_total NOT GLOB '*[^0-9.-]*'
   AND gross_total NOT GLOB '*.???*'
   AND gross_total NOT GLOB '?*-*';
-- The list's orders within one client (always then by id), and its date and amount filters.
CREATE INDEX invoices_client_created_id ON invoices (client_id, created_at, id);
CREATE INDEX invoices_client_issue ON invoices (client_id, issue_date, id);
CREATE INDEX invoices_client_gross ON invoices (client_id, gross_minor, id);
CREATE INDEX invoices_client_buyer ON invoices (client_id, buyer_name, id);
CREATE INDEX invoices_client_number ON invoices (client_id, number, id);
