//! Collective identifiers (identyfikator zbiorczy, IZ; KSeF 2.7): one payment reference KSeF
//! issues for up to 500 accepted invoices of one client, so that the buyer pays them in one
//! transfer. The rules: only invoices KSeF accepted (they have a KSeF number), all of ONE client
//! (the seller), 1 to 500 of them, each once; whoever may decide to send for the client (a person
//! with `send` there, an API key with the `send` scope) may create one. Everything is checked
//! before KSeF is called; what KSeF refuses (71001, 71002, a missing permission) is explained in
//! Polish; the identifier and its invoices are stored with the audit event in one transaction.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use ksef_client::collective::{CollectiveRefusal, MAX_INVOICES};
use ksef_client::models::collective::{CollectiveInvoice, CollectivePayment};
use serde::Serialize;
use serde_json::json;

use crate::auth::Permission;
use crate::db::models::{
    ids, Client, ClientScope, CollectiveIdentifier, CollectiveMember, Invoice, NewCollectiveIdentifier,
};
use crate::db::{AnyConn, DbError};
use crate::domain::{
    parse_amount, Actor, ClientId, CollectiveIdentifierId, CollectiveMemberId, InvoiceState, Nip,
};
use crate::engine::collective::{create_in_ksef, CollectiveCallError};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::service::credentials::open_login;
use crate::service::ksef_login::LoginSource;
use crate::state::AppState;

/// Longest description KSeF takes per invoice.
const MAX_DESCRIPTION: usize = 512;
/// Most identifiers a list returns.
const LIST_LIMIT: i64 = 100;

/// Which invoice: the gateway's id or its KSeF number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InvoiceRef {
    Id(String),
    KsefNumber(String),
}

/// One invoice of a new collective identifier, with the optional payment and description KSeF
/// keeps with it.
#[derive(Debug, Clone)]
pub struct CollectiveItem {
    pub invoice: InvoiceRef,
    /// Decimal text (`1230.50`, `1230,5`).
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub description: Option<String>,
}

/// A collective identifier as the API and the panel show it.
#[derive(Debug, Clone, Serialize)]
pub struct CollectiveView {
    pub number: String,
    pub nip: Nip,
    pub client_id: ClientId,
    pub invoice_count: i64,
    pub created_by: Actor,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
    pub ksef_numbers: Vec<String>,
}

/// An identifier an invoice belongs to (the invoice view).
#[derive(Debug, Clone, Serialize)]
pub struct CollectiveRef {
    pub number: String,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
}

/// The identifiers the invoice is in (the caller already may read it).
pub fn of_invoice(
    conn: &mut AnyConn,
    invoice_id: &crate::domain::InvoiceId,
) -> Result<Vec<CollectiveRef>, DbError> {
    Ok(CollectiveIdentifier::for_invoice(conn, invoice_id)?
        .into_iter()
        .map(|c| CollectiveRef { number: c.number, created_at: c.created_at })
        .collect())
}

/// 1..=500, each invoice once, payments and descriptions KSeF would take.
fn check_items(items: &[CollectiveItem]) -> Result<Vec<Option<CollectivePayment>>, AppError> {
    if items.is_empty() {
        return Err(AppError::invalid_field("invoices", "empty", "choose at least one accepted invoice"));
    }
    if items.len() > MAX_INVOICES {
        return Err(AppError::refused(
            Refusal::CollectiveTooManyInvoices,
            format!(
                "Identyfikator zbiorczy obejmuje najwyżej {MAX_INVOICES} faktur, wybrano {}. Podziel wybór na kilka identyfikatorów.",
                items.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    let mut payments = Vec::with_capacity(items.len());
    for item in items {
        if !seen.insert(&item.invoice) {
            return Err(AppError::invalid(format!("invoice listed twice: {:?}", item.invoice)));
        }
        if item.description.as_deref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return Err(AppError::invalid_field(
                "description",
                "too_long",
                format!("description: at most {MAX_DESCRIPTION} characters"),
            ));
        }
        payments.push(payment(item.amount.as_deref(), item.currency.as_deref())?);
    }
    Ok(payments)
}

/// Amount and currency together or not at all; a positive amount, an ISO 4217 code.
fn payment(amount: Option<&str>, currency: Option<&str>) -> Result<Option<CollectivePayment>, AppError> {
    let (amount, currency) = match (amount.map(str::trim), currency.map(str::trim)) {
        (None | Some(""), None | Some("")) => return Ok(None),
        (Some(a), Some(c)) if !a.is_empty() && !c.is_empty() => (a, c),
        _ => return Err(AppError::invalid_field("amount", "incomplete", "amount and currency go together")),
    };
    let minor = parse_amount(amount).filter(|m| *m > 0).ok_or_else(|| {
        AppError::invalid_field(
            "amount",
            "not_amount",
            format!("amount: a positive amount like 1230.50, not {amount:?}"),
        )
    })?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(AppError::invalid_field(
            "currency",
            "not_currency",
            "currency: an ISO 4217 code like PLN",
        ));
    }
    // Minor units to a JSON number with two decimals (KSeF's `amount` is a number).
    Ok(Some(CollectivePayment { amount: minor as f64 / 100.0, currency: currency.to_owned() }))
}

/// The client's invoices behind `items`, in order; refused when one is not the client's or not
/// accepted yet.
fn resolve(
    conn: &mut AnyConn,
    client_id: &ClientId,
    items: &[CollectiveItem],
) -> Result<Vec<Invoice>, AppError> {
    let scope = ClientScope::Only(vec![client_id.clone()]);
    let mut found = Vec::with_capacity(items.len());
    let (mut missing, mut not_accepted) = (Vec::new(), Vec::new());
    for item in items {
        let inv = match &item.invoice {
            InvoiceRef::Id(id) => match crate::domain::InvoiceId::parse(id) {
                Ok(id) => Invoice::find(conn, &scope, &id)?,
                // Text that is no id names no invoice: missing, like an unknown id.
                Err(_) => None,
            },
            InvoiceRef::KsefNumber(n) => Invoice::find_by_ksef_number(conn, client_id, n)?,
        };
        match inv {
            None => missing.push(match &item.invoice {
                InvoiceRef::Id(v) | InvoiceRef::KsefNumber(v) => v.clone(),
            }),
            Some(inv) if inv.state != InvoiceState::Accepted || inv.ksef_number.is_none() => {
                not_accepted.push(inv.number.clone().unwrap_or_else(|| inv.id.to_string()));
            }
            Some(inv) => found.push(inv),
        }
    }
    if !missing.is_empty() {
        return Err(AppError::refused(
            Refusal::CollectiveInvoiceNotOfClient,
            format!(
                "Identyfikator zbiorczy łączy faktury jednego klienta (sprzedawcy); tych faktur ten klient nie ma: {}.",
                missing.join(", ")
            ),
        ));
    }
    if !not_accepted.is_empty() {
        return Err(AppError::refused(
            Refusal::CollectiveInvoiceNotAccepted,
            format!(
                "Do identyfikatora zbiorczego wchodzą tylko faktury przyjęte w KSeF (z numerem KSeF); te jeszcze nie są: {}.",
                not_accepted.join(", ")
            ),
        ));
    }
    Ok(found)
}

/// The KSeF numbers KSeF names in its refusal details.
fn named_numbers(e: &ksef_client::KsefError) -> String {
    let numbers: Vec<&str> = e
        .api()
        .into_iter()
        .flat_map(|a| a.exceptions.iter().flat_map(|x| x.details.iter()))
        .flat_map(|d| d.split_whitespace())
        .filter(|w| ksef_client::ksef_number::KsefNumber::parse(w).is_ok())
        .collect();
    if numbers.is_empty() {
        String::new()
    } else {
        format!(" Faktury: {}.", numbers.join(", "))
    }
}

/// What KSeF's refusal means and what to do, in Polish.
pub fn explain(e: &CollectiveCallError, client: &Client, login: &LoginSource) -> AppError {
    let e = match e {
        CollectiveCallError::Limited(wait) => {
            return AppError::RateLimited { retry_after_s: wait.as_secs().max(1) }
        }
        CollectiveCallError::Ksef(e) => e,
    };
    match e.collective_refusal() {
        Some(CollectiveRefusal::NotAssignable) => AppError::refused(
            Refusal::KsefCollectiveNotAssignable,
            format!(
                "KSeF odmówił (kod 71001): faktura nie może wejść do identyfikatora zbiorczego. KSeF łączy tylko faktury przyjęte, wystawione przez klienta {} jako sprzedawcę.{}",
                client.nip,
                named_numbers(e)
            ),
        ),
        Some(CollectiveRefusal::TooManyIdentifiers) => AppError::refused(
            Refusal::KsefCollectiveLimit,
            format!(
                "KSeF odmówił (kod 71002): faktura jest już w największej dozwolonej liczbie identyfikatorów zbiorczych (132). Usuń ją z wyboru.{}",
                named_numbers(e)
            ),
        ),
        Some(CollectiveRefusal::MissingPermission) => {
            let who = match login.office_nip() {
                Some(office) => format!("biuru (NIP {office}), którego poświadczeniem loguje się bramka,"),
                None => "podmiotowi, dla którego wydano zapisany token lub certyfikat klienta,".to_owned(),
            };
            AppError::refused(
                Refusal::KsefCollectivePermissionMissing,
                format!(
                    "KSeF odmówił: brak uprawnienia do identyfikatorów zbiorczych w kontekście NIP {}. Klient musi nadać w KSeF {who} uprawnienie CollectiveIdentifierManage (zarządzanie identyfikatorami zbiorczymi); wystarczy też InvoiceWrite lub InvoiceRead.",
                    client.nip
                ),
            )
        }
        None if e.class() == ksef_client::ErrorClass::Transient => {
            AppError::Unavailable("KSeF jest chwilowo niedostępny; spróbuj utworzyć identyfikator za chwilę.".into())
        }
        None => AppError::refused(Refusal::KsefRefused, format!("KSeF odmówił utworzenia identyfikatora zbiorczego: {e}")),
    }
}

/// Creates a collective identifier in KSeF for the invoices of the client `nip` and stores it.
pub async fn create(
    st: &AppState,
    caller: &Caller,
    nip: &str,
    items: Vec<CollectiveItem>,
) -> Result<CollectiveView, AppError> {
    // Refused at 501 here: nothing is read, nothing stored, KSeF is not called.
    let payments = check_items(&items)?;
    let (c, n) = (caller.clone(), nip.to_owned());
    let (client, invoices) = st
        .db
        .tx(move |conn| {
            let client = access::client_named(conn, &n)?;
            access::require(conn, &c, &client.id, Permission::Send)?;
            let invoices = resolve(conn, &client.id, &items)?;
            // One invoice named twice (by id and by KSeF number) is caught here, before KSeF
            // would issue an identifier the gateway could then not store.
            let mut seen = HashSet::new();
            if let Some(twice) = invoices.iter().find(|inv| !seen.insert(inv.id.as_str())) {
                return Err(AppError::invalid_field(
                    "invoices",
                    "duplicate",
                    format!(
                        "invoice {} is listed twice",
                        twice.number.as_deref().or(twice.ksef_number.as_deref()).unwrap_or(&twice.id)
                    ),
                ));
            }
            Ok::<_, AppError>((client, (invoices, items)))
        })
        .await?;
    let (invoices, items) = invoices;
    let (login, credential) = open_login(st, &client).await?.ok_or_else(|| {
        AppError::refused(
            Refusal::NoKsefCredential,
            "Klient nie ma zapisanego poświadczenia KSeF; zapisz je na stronie dostępów klienta.",
        )
    })?;
    let request: Vec<CollectiveInvoice> = invoices
        .iter()
        .zip(&items)
        .zip(&payments)
        .map(|((inv, item), payment)| CollectiveInvoice {
            ksef_number: inv.ksef_number.clone().unwrap_or_default(),
            payment: payment.clone(),
            description: item.description.clone().filter(|d| !d.trim().is_empty()),
        })
        .collect();
    let number = match create_in_ksef(&st.ksef_limits, &client, credential, request.clone()).await {
        Ok(number) => number,
        Err(e) => return Err(explain(&e, &client, &login)),
    };
    let created_by = caller.actor();
    let actor = caller.audit_actor();
    let (client_id, client_nip) = (client.id.clone(), client.nip.clone());
    st.db
        .tx(move |conn| {
            let (id, now) = (CollectiveIdentifierId::new(), ids::now());
            let members: Vec<CollectiveMember> = invoices
                .iter()
                .zip(&request)
                .map(|(inv, r)| CollectiveMember {
                    id: CollectiveMemberId::new(),
                    collective_identifier_id: id.clone(),
                    invoice_id: inv.id.clone(),
                    ksef_number: r.ksef_number.clone(),
                    payment_amount: r.payment.as_ref().map(|p| format!("{:.2}", p.amount)),
                    payment_currency: r.payment.as_ref().map(|p| p.currency.clone()),
                    description: r.description.clone(),
                })
                .collect();
            let count = i64::try_from(members.len()).unwrap_or(i64::MAX);
            let row = NewCollectiveIdentifier {
                id: &id,
                client_id: &client_id,
                number: &number,
                invoice_count: count,
                created_by: &created_by,
                created_at: now,
            };
            CollectiveIdentifier::insert(conn, &row, &members)?;
            let ksef_numbers: Vec<String> = members.iter().map(|m| m.ksef_number.clone()).collect();
            audit::record(
                conn,
                AuditEntry::on(
                    &actor,
                    &client_id,
                    "collective_identifier.create",
                    &number,
                    json!({
                        "collective_identifier": number,
                        "invoice_count": count,
                        "ksef_numbers": ksef_numbers,
                    }),
                ),
            )?;
            Ok(CollectiveView {
                number,
                nip: client_nip,
                client_id,
                invoice_count: count,
                created_by,
                created_at: now,
                ksef_numbers,
            })
        })
        .await
}

/// The collective identifiers of the client `nip` the caller may read, newest first.
pub async fn list(st: &AppState, caller: &Caller, nip: &str) -> Result<Vec<CollectiveView>, AppError> {
    let (caller, nip) = (caller.clone(), nip.to_owned());
    st.db
        .tx(move |conn| {
            let client = access::client_named(conn, &nip)?;
            access::require(conn, &caller, &client.id, Permission::Read)?;
            let rows = CollectiveIdentifier::list_for_client(conn, &client.id, LIST_LIMIT)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(CollectiveView {
                    ksef_numbers: CollectiveIdentifier::ksef_numbers(conn, &r.id)?,
                    number: r.number,
                    nip: client.nip.clone(),
                    client_id: r.client_id,
                    invoice_count: r.invoice_count,
                    created_by: r.created_by,
                    created_at: r.created_at,
                })
            }
            Ok(out)
        })
        .await
}
