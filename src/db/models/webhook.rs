//! Webhook endpoints per client and the outbox of their deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{clients, purchase_invoices, webhook_deliveries as wd, webhook_endpoints as we};
use crate::db::{AnyConn, DbError};
use crate::domain::{
    Actor, ClientId, DeliveryStatus, Nip, PurchaseInvoiceId, WebhookDeliveryId, WebhookEvent, WebhookId,
};

/// An endpoint as stored. The secret stays sealed here; only the delivery worker opens it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = we)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub client_id: ClientId,
    pub url: String,
    /// Comma-separated event types (`EventSet`'s spelling).
    pub events: String,
    pub active: bool,
    pub secret_key_version: i64,
    pub secret_nonce: Vec<u8>,
    pub secret_ciphertext: Vec<u8>,
    pub created_by: Option<Actor>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = we)]
pub struct NewWebhookEndpoint<'a> {
    pub id: &'a WebhookId,
    pub client_id: &'a ClientId,
    pub url: &'a str,
    pub events: &'a str,
    pub active: bool,
    pub secret_key_version: i64,
    pub secret_nonce: &'a [u8],
    pub secret_ciphertext: &'a [u8],
    pub created_by: Option<&'a Actor>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl WebhookEndpoint {
    pub fn insert(conn: &mut AnyConn, row: &NewWebhookEndpoint<'_>) -> Result<(), DbError> {
        diesel::insert_into(we::table).values(row).execute(conn)?;
        Ok(())
    }

    /// The client's endpoints that are not deleted, oldest first.
    pub fn list_for_client(conn: &mut AnyConn, client_id: &ClientId) -> Result<Vec<Self>, DbError> {
        Ok(we::table
            .filter(we::client_id.eq(client_id))
            .filter(we::deleted_at.is_null())
            .order((we::created_at.asc(), we::id.asc()))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// One endpoint of the client (deleted ones are gone: NotFound).
    pub fn get(conn: &mut AnyConn, client_id: &ClientId, id: &WebhookId) -> Result<Self, DbError> {
        we::table
            .filter(we::client_id.eq(client_id))
            .filter(we::id.eq(id))
            .filter(we::deleted_at.is_null())
            .select(Self::as_select())
            .first(conn)
            .optional()?
            .ok_or(DbError::NotFound)
    }

    /// The client's active endpoints subscribed to `event`.
    pub fn subscribed(
        conn: &mut AnyConn,
        client_id: &ClientId,
        event: WebhookEvent,
    ) -> Result<Vec<Self>, DbError> {
        let rows: Vec<Self> = we::table
            .filter(we::client_id.eq(client_id))
            .filter(we::active.eq(true))
            .filter(we::deleted_at.is_null())
            .select(Self::as_select())
            .load(conn)?;
        Ok(rows.into_iter().filter(|e| e.events.split(',').any(|name| name == event.as_str())).collect())
    }

    pub fn set_active(
        conn: &mut AnyConn,
        id: &WebhookId,
        active: bool,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::update(we::table.find(id))
            .set((we::active.eq(active), we::updated_at.eq(now)))
            .execute(conn)?;
        Ok(())
    }

    super::sealed::reseal!(
        /// A new sealed secret (rotation by a person, or re-sealing under a new master key).
        we (WebhookId): secret_key_version, secret_nonce, secret_ciphertext
    );

    /// Deletes an endpoint: the row stays for its delivery log, its sealed secret is wiped, and
    /// deliveries still waiting are cancelled.
    pub fn delete(conn: &mut AnyConn, id: &WebhookId, now: NaiveDateTime) -> Result<(), DbError> {
        let wiped: &[u8] = &[];
        diesel::update(we::table.find(id))
            .set((
                we::active.eq(false),
                we::deleted_at.eq(now),
                we::secret_nonce.eq(wiped),
                we::secret_ciphertext.eq(wiped),
                we::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(
            wd::table.filter(wd::endpoint_id.eq(id)).filter(wd::status.eq(DeliveryStatus::Pending.as_str())),
        )
        .set((
            wd::status.eq(DeliveryStatus::Cancelled.as_str()),
            wd::claimed_until.eq(None::<NaiveDateTime>),
            wd::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(())
    }

    /// Every endpoint with a sealed secret, with its client's NIP (for `keys rotate`).
    pub fn list_sealed_with_nip(conn: &mut AnyConn) -> Result<Vec<(Self, Nip)>, DbError> {
        Ok(we::table
            .inner_join(clients::table)
            .filter(we::deleted_at.is_null())
            .select((Self::as_select(), clients::nip))
            .load(conn)?)
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wd)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookId,
    pub client_id: ClientId,
    pub event_id: String,
    #[diesel(deserialize_as = String)]
    pub event_type: WebhookEvent,
    pub payload: String,
    #[diesel(deserialize_as = String)]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = wd)]
pub struct NewWebhookDelivery<'a> {
    pub id: WebhookDeliveryId,
    pub endpoint_id: &'a WebhookId,
    pub client_id: &'a ClientId,
    pub event_id: &'a str,
    pub event_type: &'static str,
    pub payload: &'a str,
    pub status: &'static str,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What one attempt ended in, as the delivery row records it.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status: DeliveryStatus,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// When `status` is pending: the next attempt.
    pub next_attempt_at: NaiveDateTime,
}

impl WebhookDelivery {
    pub fn insert_many(conn: &mut AnyConn, rows: &[NewWebhookDelivery<'_>]) -> Result<(), DbError> {
        insert_rows!(conn, wd::table, rows, 200);
        Ok(())
    }

    /// Up to `limit` rows due at `now` whose endpoint is active and that nobody holds, oldest
    /// due first, with their endpoints and the client's NIP (the secret's binding). Candidates
    /// only: [`WebhookDelivery::claim`] decides.
    pub fn due(
        conn: &mut AnyConn,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<(Self, WebhookEndpoint, Nip)>, DbError> {
        Ok(wd::table
            .inner_join(we::table)
            .inner_join(clients::table)
            .filter(wd::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(wd::next_attempt_at.le(now))
            .filter(wd::claimed_until.is_null().or(wd::claimed_until.lt(now)))
            .filter(we::active.eq(true))
            .filter(we::deleted_at.is_null())
            .order((wd::next_attempt_at.asc(), wd::id.asc()))
            .limit(limit)
            .select((Self::as_select(), WebhookEndpoint::as_select(), clients::nip))
            .load(conn)?)
    }

    /// Takes the row until `until` if it is still pending and unheld: one conditional update, so
    /// of several workers (replicas) racing for it exactly one wins.
    pub fn claim(
        conn: &mut AnyConn,
        id: &WebhookDeliveryId,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let n = diesel::update(
            wd::table
                .filter(wd::id.eq(id))
                .filter(wd::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(wd::claimed_until.is_null().or(wd::claimed_until.lt(now))),
        )
        .set(wd::claimed_until.eq(until))
        .execute(conn)?;
        Ok(n == 1)
    }

    /// Records an attempt and releases the claim. A row that left `pending` meanwhile (its
    /// endpoint was deleted) keeps its status.
    pub fn record_attempt(
        conn: &mut AnyConn,
        id: &WebhookDeliveryId,
        outcome: &AttemptOutcome,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        let delivered_at = (outcome.status == DeliveryStatus::Delivered).then_some(now);
        diesel::update(
            wd::table.filter(wd::id.eq(id)).filter(wd::status.eq(DeliveryStatus::Pending.as_str())),
        )
        .set((
            wd::status.eq(outcome.status.as_str()),
            wd::attempts.eq(wd::attempts + 1),
            wd::next_attempt_at.eq(outcome.next_attempt_at),
            wd::claimed_until.eq(None::<NaiveDateTime>),
            wd::last_status_code.eq(outcome.status_code),
            wd::last_error.eq(outcome.error.as_deref()),
            wd::delivered_at.eq(delivered_at),
            wd::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(())
    }

    /// The endpoint's latest deliveries, newest first.
    pub fn list_for_endpoint(
        conn: &mut AnyConn,
        endpoint_id: &WebhookId,
        limit: i64,
    ) -> Result<Vec<Self>, DbError> {
        Ok(wd::table
            .filter(wd::endpoint_id.eq(endpoint_id))
            .order((wd::created_at.desc(), wd::id.desc()))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// One delivery of the client.
    pub fn get(conn: &mut AnyConn, client_id: &ClientId, id: &WebhookDeliveryId) -> Result<Self, DbError> {
        wd::table
            .filter(wd::client_id.eq(client_id))
            .filter(wd::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .optional()?
            .ok_or(DbError::NotFound)
    }

    /// A person asked for another attempt now (delivered and failed rows included: receivers
    /// deduplicate by event id). A claim in force stays: the attempt in flight finishes first,
    /// so the row is never sent twice at the same time.
    pub fn redeliver(conn: &mut AnyConn, id: &WebhookDeliveryId, now: NaiveDateTime) -> Result<(), DbError> {
        diesel::update(wd::table.find(id))
            .set((
                wd::status.eq(DeliveryStatus::Pending.as_str()),
                wd::next_attempt_at.eq(now),
                wd::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// How many rows are in `status` (for the gauge).
    pub fn count_status(conn: &mut AnyConn, status: DeliveryStatus) -> Result<i64, DbError> {
        Ok(wd::table.filter(wd::status.eq(status.as_str())).count().get_result(conn)?)
    }
}

/// What a `purchase_invoice.received` event says about an invoice.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = purchase_invoices)]
pub struct PurchaseSummary {
    pub id: PurchaseInvoiceId,
    pub ksef_number: String,
    pub invoice_number: String,
    pub issue_date: chrono::NaiveDate,
    pub seller_nip: String,
    pub seller_name: Option<String>,
    pub gross_amount: i64,
    pub currency: String,
}

/// The client's purchase invoices with these ids, in id order.
pub fn purchase_summaries(
    conn: &mut AnyConn,
    client_id: &ClientId,
    ids: &[PurchaseInvoiceId],
) -> Result<Vec<PurchaseSummary>, DbError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            purchase_invoices::table
                .filter(purchase_invoices::client_id.eq(client_id))
                .filter(purchase_invoices::id.eq_any(chunk))
                .order(purchase_invoices::id.asc())
                .select(PurchaseSummary::as_select())
                .load::<PurchaseSummary>(conn)?,
        );
    }
    Ok(out)
}
