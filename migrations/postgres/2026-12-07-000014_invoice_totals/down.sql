DROP TRIGGER invoice_totals_delete ON invoices;
DROP TRIGGER invoice_totals_insert ON invoices;
DROP FUNCTION invoice_totals_removed();
DROP FUNCTION invoice_totals_added();
DROP TABLE invoice_totals;
