DROP TRIGGER invoice_totals_delete;
DROP TRIGGER invoice_totals_insert;
DROP TABLE invoice_totals;
