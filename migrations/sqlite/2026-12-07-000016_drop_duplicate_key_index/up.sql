-- The duplicate check reads a client's invoices by (client_id, number), which
-- invoices_client_number (client_id, number, id) serves, and compares the seller and the type in
-- memory (ksef_fa3::duplicate_key); no query filters by seller_nip or invoice_type. Each insert and
-- each state move that is not a HOT update wrote this index too: one less on the hottest table.
DROP INDEX invoices_duplicate_key;
