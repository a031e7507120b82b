//! Collective identifiers (identyfikator zbiorczy, IZ, KSeF 2.7): one payment reference for up to
//! 500 accepted invoices of the context's seller; an invoice is in at most 132 of them per context.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::errors::{ApiError, ApiResult};
use crate::state::{Accepted, Db};

/// Most invoices in one collective identifier.
pub const MAX_INVOICES: usize = 500;
/// Most collective identifiers one invoice may be in (per context).
pub const MAX_PER_INVOICE: u32 = 132;
/// Longest description of an invoice in a collective identifier (characters).
pub const MAX_DESCRIPTION: usize = 512;

/// The optional payment an invoice is paid with under the identifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub amount: f64,
    pub currency: String,
}

/// One invoice of a collective identifier.
#[derive(Clone, Debug)]
pub struct Member {
    pub ksef_number: String,
    pub payment: Option<Payment>,
    pub description: Option<String>,
}

/// A collective identifier as KSeF keeps it.
#[derive(Clone, Debug)]
pub struct Collective {
    pub number: String,
    /// The context it was created in (the seller's NIP).
    pub context: String,
    pub created: DateTime<Utc>,
    pub invoices: Vec<Member>,
}

/// Every collective identifier, in creation order, with how many each invoice is in.
#[derive(Default)]
pub struct Store {
    pub all: Vec<Collective>,
    /// (context, KSeF number) → collective identifiers of that context holding the invoice.
    per_invoice: HashMap<(String, String), u32>,
}

impl Store {
    pub fn find(&self, number: &str) -> Option<&Collective> {
        self.all.iter().find(|c| c.number == number)
    }
}

/// Whether the accepted invoice `ksef_number` has `context` among its parties (seller, buyer or
/// a third subject).
pub fn is_party(db: &Db, ksef_number: &str, context: &str, now: DateTime<Utc>) -> bool {
    db.by_ksef.get(ksef_number).and_then(|r| db.invoices.get(r)).and_then(|i| i.accepted_at(now)).is_some_and(
        |acc: &Accepted| {
            acc.seller_nip == context
                || acc.buyer_nip.as_deref() == Some(context)
                || acc.third_subjects.iter().any(|t| t.id_value.as_deref() == Some(context))
        },
    )
}

fn check_members(members: &[Member]) -> ApiResult<()> {
    if members.is_empty() || members.len() > MAX_INVOICES {
        return Err(ApiError::validation(format!(
            "Lista invoices musi zawierać od 1 do {MAX_INVOICES} faktur (jest {}).",
            members.len()
        )));
    }
    let mut seen = HashSet::new();
    for m in members {
        if !seen.insert(m.ksef_number.as_str()) {
            return Err(ApiError::validation(format!(
                "Numer KSeF {} powtarza się na liście.",
                m.ksef_number
            )));
        }
        if m.description.as_deref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return Err(ApiError::validation(format!(
                "description może mieć najwyżej {MAX_DESCRIPTION} znaków ({}).",
                m.ksef_number
            )));
        }
        if let Some(p) = &m.payment {
            let code_ok = p.currency.len() == 3 && p.currency.bytes().all(|b| b.is_ascii_uppercase());
            if !code_ok || !p.amount.is_finite() || p.amount <= 0.0 {
                return Err(ApiError::validation(format!(
                    "payment wymaga dodatniej kwoty i kodu waluty ISO 4217 ({}).",
                    m.ksef_number
                )));
            }
        }
    }
    Ok(())
}

/// Creates a collective identifier in `context` for `members`; nothing is stored on error.
pub fn create(db: &mut Db, context: &str, now: DateTime<Utc>, members: Vec<Member>) -> ApiResult<String> {
    check_members(&members)?;
    let not_assignable: Vec<String> = members
        .iter()
        .filter(|m| {
            let acc = db
                .by_ksef
                .get(&m.ksef_number)
                .and_then(|r| db.invoices.get(r))
                .and_then(|i| i.accepted_at(now));
            acc.is_none_or(|a| a.seller_nip != context)
        })
        .map(|m| {
            format!(
                "Faktura o numerze KSeF {} nie może zostac przypisana do Identyfikatora Zbiorczego.",
                m.ksef_number
            )
        })
        .collect();
    if !not_assignable.is_empty() {
        return Err(ApiError::exception_with(
            71001,
            "Faktura nie może zostac przypisana do Identyfikatora Zbiorczego.",
            not_assignable,
        ));
    }
    let key = |m: &Member| (context.to_owned(), m.ksef_number.clone());
    let full: Vec<String> = members
        .iter()
        .filter(|m| db.collective.per_invoice.get(&key(m)).copied().unwrap_or(0) >= MAX_PER_INVOICE)
        .map(|m| {
            format!(
                "Faktura o numerze KSeF {} jest już przypisana do maksymalnej liczby Identyfikatorów Zbiorczych.",
                m.ksef_number
            )
        })
        .collect();
    if !full.is_empty() {
        return Err(ApiError::exception_with(
            71002,
            "Faktura jest już przypisana do maksymalnej liczby Identyfikatorów Zbiorczych.",
            full,
        ));
    }
    let number = loop {
        let n = crate::ids::collective_identifier(context, now);
        if db.collective.find(&n).is_none() {
            break n;
        }
    };
    for m in &members {
        *db.collective.per_invoice.entry(key(m)).or_insert(0) += 1;
    }
    db.collective.all.push(Collective {
        number: number.clone(),
        context: context.to_owned(),
        created: now,
        invoices: members,
    });
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Invoice, Outcome};
    use std::sync::Arc;

    fn accepted(db: &mut Db, seller: &str, n: usize) -> String {
        let now = Utc::now() - chrono::Duration::seconds(1);
        let ksef = crate::ids::ksef_number(seller, now.date_naive());
        let reference = format!("ref-{seller}-{n}");
        let acc = Accepted {
            ksef_number: ksef.clone(),
            seller_nip: seller.to_owned(),
            seller_name: None,
            buyer_nip: Some("5213000005".to_owned()),
            buyer_name: None,
            invoice_type: "VAT".to_owned(),
            issue_date: now.date_naive(),
            currency: "PLN".to_owned(),
            net: None,
            vat: None,
            gross: None,
            has_attachment: false,
            third_subjects: Vec::new(),
        };
        db.invoices.insert(
            reference.clone(),
            Invoice {
                reference: reference.clone(),
                session_ref: String::new(),
                ordinal: 1,
                xml: Arc::new(Vec::new()),
                hash: String::new(),
                file_name: None,
                invoice_number: None,
                received: now,
                invoicing: now,
                ready_at: now,
                stored_at: now,
                stuck: false,
                offline: false,
                outcome: Outcome::Accepted(Box::new(acc)),
            },
        );
        db.by_ksef.insert(ksef.clone(), reference);
        ksef
    }

    fn member(ksef: &str) -> Member {
        Member { ksef_number: ksef.to_owned(), payment: None, description: None }
    }

    fn code(r: ApiResult<String>) -> u32 {
        match r {
            Err(ApiError::Exception { code, .. }) => code,
            other => panic!("expected an exception, got {other:?}"),
        }
    }

    #[test]
    fn an_invoice_is_in_at_most_132_collective_identifiers() {
        let mut db = Db::default();
        let seller = "9999999999";
        let ksef = accepted(&mut db, seller, 1);
        for _ in 0..MAX_PER_INVOICE {
            let n = create(&mut db, seller, Utc::now(), vec![member(&ksef)]);
            assert!(n.as_deref().is_ok_and(crate::ids::collective_identifier_is_valid), "{n:?}");
        }
        let other = accepted(&mut db, seller, 2);
        assert_eq!(code(create(&mut db, seller, Utc::now(), vec![member(&other), member(&ksef)])), 71002);
        assert_eq!(db.collective.all.len(), MAX_PER_INVOICE as usize, "nothing stored by the refusal");
        assert!(create(&mut db, seller, Utc::now(), vec![member(&other)]).is_ok(), "the other one is free");
    }

    #[test]
    fn only_the_sellers_accepted_invoices_and_1_to_500_of_them() {
        let mut db = Db::default();
        let foreign = accepted(&mut db, "5265877635", 1);
        assert_eq!(code(create(&mut db, "9999999999", Utc::now(), vec![member(&foreign)])), 71001);
        let unknown = crate::ids::ksef_number("9999999999", Utc::now().date_naive());
        assert_eq!(code(create(&mut db, "9999999999", Utc::now(), vec![member(&unknown)])), 71001);
        assert_eq!(code(create(&mut db, "9999999999", Utc::now(), Vec::new())), 21405);
        let many: Vec<Member> =
            (0..=MAX_INVOICES).map(|i| member(&accepted(&mut db, "9999999999", i))).collect();
        assert_eq!(code(create(&mut db, "9999999999", Utc::now(), many.clone())), 21405);
        assert!(create(&mut db, "9999999999", Utc::now(), many[..MAX_INVOICES].to_vec()).is_ok());
        let mut long = member(&many[0].ksef_number);
        long.description = Some("x".repeat(MAX_DESCRIPTION + 1));
        assert_eq!(code(create(&mut db, "9999999999", Utc::now(), vec![long])), 21405);
    }
}
