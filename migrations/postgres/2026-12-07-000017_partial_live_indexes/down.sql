DROP INDEX outbox_pending;
DROP INDEX invoices_in_flight;
