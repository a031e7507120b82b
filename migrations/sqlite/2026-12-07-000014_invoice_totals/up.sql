-- How many invoices each client has, kept by the database itself in the transaction of every
-- insert and delete (whatever code path writes them), so that a list filtered by nothing but its
-- client answers its total without counting: a COUNT over 50 000 invoices cost 4 ms on every
-- page. Invoices never move to another client.
CREATE TABLE invoice_totals (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    invoice_count BIGINT NOT NULL
);
INSERT INTO invoice_totals (client_id, invoice_count)
SELECT client_id, COUNT(*) FROM invoices GROUP BY client_id;

CREATE TRIGGER invoice_totals_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO invoice_totals (client_id, invoice_count) VALUES (NEW.client_id, 1)
    ON CONFLICT (client_id) DO UPDATE SET invoice_count = invoice_count + 1;
END;

CREATE TRIGGER invoice_totals_delete AFTER DELETE ON invoices BEGIN
    UPDATE invoice_totals SET invoice_count = invoice_count - 1 WHERE client_id = OLD.client_id;
END;
