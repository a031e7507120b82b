-- (client_id, created_at) is a prefix of invoices_client_created_id (client_id, created_at, id),
-- which serves every query it served (the list's keyset walks the longer one). Every insert and
-- every state move of an invoice that is not a HOT update wrote both: one index less on the
-- hottest table (a 10 000-invoice decision moves 10 000 rows).
DROP INDEX invoices_client_created;
