//! `InvoiceQueryFilters` as the metadata query and the exports share them: date rules (100 days,
//! explicit offsets, the permanent-storage high-water mark), role and field filters, the sort
//! order, the 10 000-record cap and the `InvoiceMetadata` JSON.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::state::{Accepted, Db, Invoice};
use crate::time;

/// Most records one query or one export package returns (OA: "Limit techniczny ≤ 10 000").
pub const MAX_RESULTS: usize = 10_000;

/// Longest date range (API 2.7.1: 100 days, was 3 months).
pub const MAX_RANGE_DAYS: i64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum DateType {
    Issue,
    Invoicing,
    PermanentStorage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateRange {
    pub date_type: DateType,
    pub from: String,
    pub to: Option<String>,
    pub restrict_to_permanent_storage_hwm_date: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    #[serde(rename = "type")]
    kind: String,
    from: Option<f64>,
    to: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerIdentifier {
    #[serde(rename = "type")]
    kind: String,
    value: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum SubjectType {
    Subject1,
    Subject2,
    Subject3,
    SubjectAuthorized,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    pub subject_type: SubjectType,
    pub date_range: DateRange,
    ksef_number: Option<String>,
    invoice_number: Option<String>,
    amount: Option<Amount>,
    seller_nip: Option<String>,
    buyer_identifier: Option<BuyerIdentifier>,
    currency_codes: Option<Vec<String>>,
    invoice_types: Option<Vec<String>>,
    has_attachment: Option<bool>,
    invoicing_mode: Option<String>,
}

/// ISO-8601 date-time with `Z` or an explicit offset.
///
/// A date without an offset is refused with 21405: CHANGES-2.7-2.9.md, row "2.7.1 Invoice query
/// and export `dateRange`: at most 100 days, in UTC; the old rule that a date without offset means
/// Warsaw time is gone: always send `Z` or an explicit offset". The 2.7.0 OpenAPI text still
/// describes the old Warsaw rule; 2.7.1 removed it, so such a date has no defined meaning.
pub fn parse_time(text: &str) -> ApiResult<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Ok(t.with_timezone(&Utc)),
        Err(_) if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() => {
            Err(ApiError::validation(format!(
                "Data {text} nie ma strefy czasowej: podaj ją w UTC (sufiks Z) lub z jawnym przesunięciem."
            )))
        }
        Err(_) => Err(ApiError::validation(format!("Nieprawidłowa data: {text}"))),
    }
}

/// The range a request covers once the date rules are applied.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub date_type: DateType,
    pub from: DateTime<Utc>,
    /// Inclusive end: `to` (or now), capped at the HWM when the request restricts to it.
    pub end: DateTime<Utc>,
    /// `permanentStorageHwmDate` of the answer (PermanentStorage only): the HWM, or the range's
    /// end when that is earlier ("for older periods it matches the query conditions").
    pub hwm: Option<DateTime<Utc>>,
    /// `from` lies beyond the HWM while the request restricts to it (21183 / export status 420).
    pub beyond_hwm: bool,
}

impl Filters {
    /// Applies the date rules at `now` with the high-water mark `hwm`.
    pub fn window(&self, now: DateTime<Utc>, hwm: DateTime<Utc>) -> ApiResult<Window> {
        let r = &self.date_range;
        let from = parse_time(&r.from)?;
        let to = r.to.as_deref().map(parse_time).transpose()?;
        let end = to.unwrap_or(now);
        if end < from {
            return Err(ApiError::validation("dateRange.to jest wcześniejsze niż dateRange.from."));
        }
        if end - from > chrono::Duration::days(MAX_RANGE_DAYS) {
            return Err(ApiError::validation(format!(
                "Zakres dat nie może przekraczać {MAX_RANGE_DAYS} dni."
            )));
        }
        let stored = r.date_type == DateType::PermanentStorage;
        let restrict = stored && r.restrict_to_permanent_storage_hwm_date == Some(true);
        Ok(Window {
            date_type: r.date_type,
            from,
            end: if restrict { end.min(hwm) } else { end },
            hwm: stored.then(|| end.min(hwm)),
            beyond_hwm: restrict && from > hwm,
        })
    }

    fn subject_ok(&self, ctx: &str, a: &Accepted) -> bool {
        match self.subject_type {
            SubjectType::Subject1 => a.seller_nip == ctx,
            SubjectType::Subject2 => a.buyer_nip.as_deref() == Some(ctx),
            SubjectType::Subject3 => a.third_subjects.iter().any(|t| t.id_value.as_deref() == Some(ctx)),
            SubjectType::SubjectAuthorized => false,
        }
    }

    fn matches(&self, ctx: &str, inv: &Invoice, a: &Accepted, w: &Window) -> bool {
        let in_range = match w.date_type {
            DateType::Issue => a.issue_date >= w.from.date_naive() && a.issue_date <= w.end.date_naive(),
            _ => {
                let at = date_of(w.date_type, inv, a);
                at >= w.from && at <= w.end
            }
        };
        let amount_ok = self.amount.as_ref().is_none_or(|am| {
            let v = match am.kind.as_str() {
                "Netto" => amount(&a.net),
                "Vat" => amount(&a.vat),
                _ => amount(&a.gross),
            };
            am.from.is_none_or(|x| v >= x) && am.to.is_none_or(|x| v <= x)
        });
        let buyer_ok = self.buyer_identifier.as_ref().is_none_or(|b| match b.kind.as_str() {
            "Nip" => a.buyer_nip.is_some() && a.buyer_nip == b.value,
            "None" => a.buyer_nip.is_none(),
            _ => false,
        });
        self.subject_ok(ctx, a)
            && in_range
            && amount_ok
            && buyer_ok
            && self.ksef_number.as_ref().is_none_or(|k| *k == a.ksef_number)
            && self.invoice_number.as_ref().is_none_or(|n| inv.invoice_number.as_ref() == Some(n))
            && self.seller_nip.as_ref().is_none_or(|n| *n == a.seller_nip)
            && self.currency_codes.as_ref().is_none_or(|c| c.is_empty() || c.contains(&a.currency))
            && self
                .invoice_types
                .as_ref()
                .is_none_or(|t| t.is_empty() || t.iter().any(|t| t == invoice_type(&a.invoice_type)))
            && self.has_attachment.is_none_or(|h| h == a.has_attachment)
            && self
                .invoicing_mode
                .as_ref()
                .is_none_or(|m| m == if inv.offline { "Offline" } else { "Online" })
    }

    /// Every invoice in permanent storage at `now` that matches, ascending by the window's date.
    pub fn select<'a>(
        &self,
        db: &'a Db,
        ctx: &str,
        w: &Window,
        now: DateTime<Utc>,
    ) -> Vec<(&'a Invoice, &'a Accepted)> {
        let mut found: Vec<(&Invoice, &Accepted)> = db
            .accepted_order
            .iter()
            .filter_map(|r| db.invoices.get(r))
            .filter_map(|i| i.stored_at(now).map(|a| (i, a)))
            .filter(|(i, a)| self.matches(ctx, i, a, w))
            .collect();
        found.sort_by_key(|(i, a)| (date_of(w.date_type, i, a), i.stored_at));
        found
    }
}

/// The date an invoice is filtered and sorted by.
pub fn date_of(date_type: DateType, inv: &Invoice, a: &Accepted) -> DateTime<Utc> {
    match date_type {
        DateType::Issue => a.issue_date.and_hms_opt(0, 0, 0).map_or(inv.received, |d| d.and_utc()),
        DateType::Invoicing => inv.invoicing,
        DateType::PermanentStorage => inv.stored_at,
    }
}

/// `InvoiceType` name of an FA(3) RodzajFaktury.
fn invoice_type(rodzaj: &str) -> &'static str {
    match rodzaj {
        "KOR" => "Kor",
        "ZAL" => "Zal",
        "ROZ" => "Roz",
        "UPR" => "Upr",
        "KOR_ZAL" => "KorZal",
        "KOR_ROZ" => "KorRoz",
        _ => "Vat",
    }
}

fn amount(v: &Option<String>) -> f64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

/// The `InvoiceMetadata` of an accepted invoice.
pub fn metadata(inv: &Invoice, a: &Accepted) -> Value {
    let buyer_id = match &a.buyer_nip {
        Some(nip) => json!({"type": "Nip", "value": nip}),
        None => json!({"type": "None"}),
    };
    let third: Vec<Value> = a
        .third_subjects
        .iter()
        .map(|t| {
            json!({"identifier": {"type": t.id_type, "value": t.id_value}, "name": t.name, "role": t.role})
        })
        .collect();
    json!({
        "ksefNumber": a.ksef_number,
        "invoiceNumber": inv.invoice_number.clone().unwrap_or_default(),
        "issueDate": a.issue_date.format("%Y-%m-%d").to_string(),
        "invoicingDate": time::fmt(inv.invoicing),
        "acquisitionDate": time::fmt(inv.ready_at),
        "permanentStorageDate": time::fmt(inv.stored_at),
        "seller": {"nip": a.seller_nip, "name": a.seller_name},
        "buyer": {"identifier": buyer_id, "name": a.buyer_name},
        "netAmount": amount(&a.net),
        "grossAmount": amount(&a.gross),
        "vatAmount": amount(&a.vat),
        "currency": a.currency,
        "invoicingMode": if inv.offline { "Offline" } else { "Online" },
        "invoiceType": invoice_type(&a.invoice_type),
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "isSelfInvoicing": false,
        "hasAttachment": a.has_attachment,
        "invoiceHash": inv.hash,
        "thirdSubjects": third,
    })
}

/// The issue date as KSeF formats it (`lastIssueDate`).
pub fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
