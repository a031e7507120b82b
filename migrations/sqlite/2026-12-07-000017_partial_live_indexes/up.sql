-- The sending engine looks for work up to a hundred times a second: the clients with invoices in
-- flight and the clients with due outbox rows. Both filter on a state across all clients, which
-- the (client_id, state) indexes only serve by probing every client, and sent invoices and done
-- outbox rows stay in their tables for good. These indexes hold only the live rows, so a look
-- costs the same with ten clients or a thousand, with a thousand invoices stored or a million.
-- A planner uses a partial index only when the query repeats its predicate as literals
-- (db::models::{IN_FLIGHT_SQL, PENDING_SQL}). The columns are those of the full indexes
-- (invoices_client_state, outbox_client_due): SQLite, without statistics, then takes the partial
-- one as the smaller of two that serve the query alike.
CREATE INDEX invoices_in_flight ON invoices (client_id, state) WHERE state IN ('sending', 'registered');
CREATE INDEX outbox_pending ON outbox (client_id, status, next_attempt_at) WHERE status = 'pending';
