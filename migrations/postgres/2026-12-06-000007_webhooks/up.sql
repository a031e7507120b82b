-- Webhook endpoints per client: where the client's systems want to hear about invoice state
-- changes and received purchase invoices. The signing secret is sealed in the vault (it must be
-- usable to sign, so it cannot be a hash), bound to the client's NIP and the endpoint's id.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    url TEXT NOT NULL,
    -- Comma-separated event types (invoice.state_changed, purchase_invoice.received).
    events TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    secret_key_version BIGINT NOT NULL,
    secret_nonce BYTEA NOT NULL,
    secret_ciphertext BYTEA NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- Deleted endpoints stay for the delivery log; their sealed secret is wiped.
    deleted_at TIMESTAMP
);
CREATE INDEX webhook_endpoints_client ON webhook_endpoints (client_id, created_at);

-- The outbox of webhook deliveries: one row per (event, endpoint), written in the transaction
-- that makes the event true. Workers claim due rows by setting claimed_until (a lease), so
-- several replicas never deliver one row at the same time.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- pending, delivered, failed (gave up after the last attempt), cancelled (endpoint deleted).
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_status_code BIGINT,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
