//! Simulator-only test data, not part of KSeF's API: accepted invoices from sellers outside the
//! simulator (no session, no token) for a buyer, in bulk, so that tests, benchmarks and the demo
//! can give a client thousands of received invoices. `POST /sim/admin/received-invoices` and
//! [`crate::RunningSimulator::add_received_invoices`].
//!
//! Invoices are generated from an FA(3) template (number, issue date, amounts, optional
//! `Podmiot3`) or given as exact XML bytes (checked by the FA(3) gate). Their permanent-storage
//! dates are spread `storedStepMs` apart, ending now unless `storedFrom` says otherwise. Back-dating
//! below a high-water mark a client has already passed breaks KSeF's guarantee: seed before syncing.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::app::AppState;
use crate::crypto::{b64_decode, sha256_b64};
use crate::ids::{ksef_number, reference_number};
use crate::state::{Accepted, Invoice, Outcome, ThirdSubject};
use crate::time;
use crate::validate::Facts;

const TEMPLATE: &str = include_str!("templates/purchase.xml");

/// Most invoices one request may add.
pub const MAX_BATCH: usize = 100_000;

/// A `Podmiot3` for generated invoices.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutsideThirdSubject {
    /// NIP of the third party.
    pub nip: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// FA(3) `Rola` 1–11 (e.g. 4 additional buyer, 6 payer).
    pub role: i32,
}

/// Invoices an outside seller issued (the body of `POST /sim/admin/received-invoices`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReceivedInvoices {
    /// Buyer (`Podmiot2`) of the generated invoices.
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    /// Seller (`Podmiot1`); default an outside wholesaler.
    pub seller_nip: Option<String>,
    pub seller_name: Option<String>,
    /// How many invoices to generate from the template.
    pub count: usize,
    /// `P_2` is `numberPrefix` + the running number (default `FZ/`).
    pub number_prefix: Option<String>,
    /// First running number (default 1).
    pub first_number: Option<u64>,
    /// `P_1` (default: the Warsaw day of acceptance).
    pub issue_date: Option<NaiveDate>,
    /// Net and VAT amount of each generated invoice, e.g. `"100.00"`, `"23.00"`.
    pub net: Option<String>,
    pub vat: Option<String>,
    /// A `Podmiot3` on every generated invoice.
    pub third_subject: Option<OutsideThirdSubject>,
    /// Permanent-storage date of the first invoice (default: so that the last one is now).
    pub stored_from: Option<DateTime<Utc>>,
    /// Milliseconds between consecutive permanent-storage dates (default 1).
    pub stored_step_ms: Option<u64>,
    /// Exact invoices (Base64 of the XML bytes), stored after the generated ones.
    pub invoices: Vec<String>,
}

fn cents(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac)
}

fn amount(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

fn is_nip(text: &str) -> bool {
    text.len() == 10 && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0')
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// The template filled in, with the facts the gate would have extracted from it.
struct Generator {
    seller: (String, String),
    buyer: (String, String),
    prefix: String,
    first: u64,
    issue: Option<NaiveDate>,
    net: i64,
    vat: i64,
    third: Option<OutsideThirdSubject>,
}

impl Generator {
    fn new(r: &ReceivedInvoices) -> Result<Self, String> {
        let buyer = r.buyer_nip.clone().ok_or("buyerNip is required to generate invoices")?;
        let seller = r.seller_nip.clone().unwrap_or_else(|| "5213000005".to_owned());
        if !is_nip(&buyer) || !is_nip(&seller) {
            return Err("buyerNip and sellerNip must be 10-digit NIPs".to_owned());
        }
        let net = cents(r.net.as_deref().unwrap_or("100.00")).ok_or("net must look like 123.45")?;
        let vat = cents(r.vat.as_deref().unwrap_or("23.00")).ok_or("vat must look like 28.39")?;
        if let Some(t) = &r.third_subject {
            if !is_nip(&t.nip) || !(1..=11).contains(&t.role) {
                return Err("thirdSubject needs a 10-digit nip and a role 1..11".to_owned());
            }
        }
        Ok(Self {
            seller: (
                seller,
                r.seller_name.clone().unwrap_or_else(|| "Hurtownia Zewnętrzna Sp. z o.o.".to_owned()),
            ),
            buyer: (buyer, r.buyer_name.clone().unwrap_or_else(|| "Nabywca".to_owned())),
            prefix: r.number_prefix.clone().unwrap_or_else(|| "FZ/".to_owned()),
            first: r.first_number.unwrap_or(1),
            issue: r.issue_date,
            net,
            vat,
            third: r.third_subject.clone(),
        })
    }

    fn invoice(&self, i: u64, accepted: DateTime<Utc>) -> (Vec<u8>, Facts) {
        let number = format!("{}{}", self.prefix, self.first + i);
        let issue = self.issue.unwrap_or_else(|| time::warsaw_date(accepted));
        let podmiot3 = self.third.as_ref().map_or(String::new(), |t| {
            format!(
                "<Podmiot3><DaneIdentyfikacyjne><NIP>{}</NIP><Nazwa>{}</Nazwa></DaneIdentyfikacyjne><Rola>{}</Rola></Podmiot3>",
                t.nip,
                escape(t.name.as_deref().unwrap_or("Podmiot trzeci")),
                t.role
            )
        });
        let xml = TEMPLATE
            .replace("{{CREATED}}", &accepted.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .replace("{{SELLER_NIP}}", &self.seller.0)
            .replace("{{SELLER_NAME}}", &escape(&self.seller.1))
            .replace("{{BUYER_NIP}}", &self.buyer.0)
            .replace("{{BUYER_NAME}}", &escape(&self.buyer.1))
            .replace("{{PODMIOT3}}", &podmiot3)
            .replace("{{P_1}}", &issue.to_string())
            .replace("{{P_2}}", &escape(&number))
            .replace("{{NET}}", &amount(self.net))
            .replace("{{VAT}}", &amount(self.vat))
            .replace("{{GROSS}}", &amount(self.net + self.vat));
        let facts = Facts {
            seller_nip: self.seller.0.clone(),
            seller_name: Some(self.seller.1.clone()),
            buyer_nip: Some(self.buyer.0.clone()),
            buyer_name: Some(self.buyer.1.clone()),
            invoice_number: number,
            issue_date: issue,
            invoice_type: "VAT".to_owned(),
            currency: "PLN".to_owned(),
            net: Some(amount(self.net)),
            vat: Some(amount(self.vat)),
            gross: Some(amount(self.net + self.vat)),
            has_attachment: false,
            third_subjects: self
                .third
                .iter()
                .map(|t| ThirdSubject {
                    id_type: "Nip",
                    id_value: Some(t.nip.clone()),
                    name: Some(t.name.clone().unwrap_or_else(|| "Podmiot trzeci".to_owned())),
                    role: t.role,
                })
                .collect(),
        };
        (xml.into_bytes(), facts)
    }
}

/// Stores the invoices as accepted and permanently stored; returns their KSeF numbers in order.
/// Nothing is stored when any of them is invalid or a duplicate (seller, type, number).
pub fn add(state: &AppState, r: &ReceivedInvoices) -> Result<Vec<String>, String> {
    let total = r.count + r.invoices.len();
    if total == 0 || total > MAX_BATCH {
        return Err(format!("between 1 and {MAX_BATCH} invoices per request"));
    }
    let now = Utc::now();
    let step = Duration::milliseconds(i64::try_from(r.stored_step_ms.unwrap_or(1)).unwrap_or(1));
    let first_stored = r.stored_from.unwrap_or_else(|| now - step * i32::try_from(total - 1).unwrap_or(0));
    let stored = |i: usize| first_stored + step * i32::try_from(i).unwrap_or(i32::MAX);
    let lag = state.storage_lag();
    let mut prepared: Vec<(Vec<u8>, Facts)> = Vec::with_capacity(total);
    if r.count > 0 {
        let generator = Generator::new(r)?;
        prepared.extend((0..r.count).map(|i| generator.invoice(i as u64, stored(i) - lag)));
    }
    for (k, text) in r.invoices.iter().enumerate() {
        let xml = b64_decode(text).ok_or_else(|| format!("invoices[{k}] is not Base64"))?;
        let facts =
            state.validator.check(&xml).map_err(|e| format!("invoices[{k}]: {}", e.details.join("; ")))?;
        prepared.push((xml, facts));
    }
    let mut db = state.db.lock();
    let mut keys = HashSet::new();
    for (_, f) in &prepared {
        let key = (f.seller_nip.clone(), f.invoice_type.clone(), f.invoice_number.clone());
        if db.duplicates.contains_key(&key) || !keys.insert(key) {
            return Err(format!("duplicate invoice {} of seller {}", f.invoice_number, f.seller_nip));
        }
    }
    let mut numbers = Vec::with_capacity(total);
    for (i, (xml, f)) in prepared.into_iter().enumerate() {
        let stored_at = stored(i);
        let accepted = stored_at - lag;
        let number = ksef_number(&f.seller_nip, accepted.date_naive());
        let reference = reference_number("EE", accepted);
        db.duplicates.insert(
            (f.seller_nip.clone(), f.invoice_type.clone(), f.invoice_number.clone()),
            (number.clone(), String::new()),
        );
        db.by_ksef.insert(number.clone(), reference.clone());
        db.accepted_order.push(reference.clone());
        let outcome = Outcome::Accepted(Box::new(Accepted {
            ksef_number: number.clone(),
            seller_nip: f.seller_nip,
            seller_name: f.seller_name,
            buyer_nip: f.buyer_nip,
            buyer_name: f.buyer_name,
            invoice_type: f.invoice_type,
            issue_date: f.issue_date,
            currency: f.currency,
            net: f.net,
            vat: f.vat,
            gross: f.gross,
            has_attachment: f.has_attachment,
            third_subjects: f.third_subjects,
        }));
        let invoice = Invoice {
            reference: reference.clone(),
            session_ref: String::new(),
            ordinal: 0,
            hash: sha256_b64(&xml),
            xml: Arc::new(xml),
            file_name: None,
            invoice_number: Some(f.invoice_number),
            received: accepted,
            invoicing: accepted,
            ready_at: accepted,
            stored_at,
            stuck: false,
            offline: false,
            outcome,
        };
        db.invoices.insert(reference, invoice);
        numbers.push(number);
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_to_cents() {
        assert_eq!(cents("100.00"), Some(10000));
        assert_eq!(cents("7.5"), Some(750));
        assert_eq!(cents("12"), Some(1200));
        assert_eq!(cents("1.234"), None);
        assert_eq!(cents("-1"), None);
        assert_eq!(amount(12345), "123.45");
    }

    #[test]
    fn generated_invoice_passes_the_fa3_gate_with_the_facts_it_claims() {
        let validator = crate::validate::Validator::load().unwrap_or_else(|e| panic!("{e}"));
        let request = ReceivedInvoices {
            buyer_nip: Some("1111111111".into()),
            seller_name: Some("A & B".into()),
            third_subject: Some(OutsideThirdSubject { nip: "2222222222".into(), name: None, role: 4 }),
            ..ReceivedInvoices::default()
        };
        let generator = Generator::new(&request).unwrap_or_else(|e| panic!("{e}"));
        let (xml, claimed) = generator.invoice(41, Utc::now());
        let checked = validator.check(&xml).unwrap_or_else(|r| panic!("{:?}", r.details));
        assert_eq!(checked.invoice_number, "FZ/42");
        assert_eq!((checked.seller_nip, checked.seller_name), (claimed.seller_nip, claimed.seller_name));
        assert_eq!((checked.net, checked.vat, checked.gross), (claimed.net, claimed.vat, claimed.gross));
        assert_eq!(checked.third_subjects, claimed.third_subjects);
        assert_eq!(checked.issue_date, claimed.issue_date);
    }
}
