//! What a printed FA(3) invoice shows: parties, dates, lines, the VAT summary, payment and,
//! for a correction, what it corrects. Read from the same hostile-input-safe tree as the facts;
//! amounts stay the strings the invoice holds (a visualisation shows, it does not recompute).

use crate::facts::{facts_from, InvoiceFacts};
use crate::finding::Finding;
use crate::xmltree::{self, Tree};

/// A seller or buyer.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Party {
    pub nip: Option<String>,
    pub name: Option<String>,
    /// `Adres/AdresL1`, `AdresL2`, and the country code when not PL.
    pub address: Vec<String>,
}

/// One `FaWiersz`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub no: String,
    /// `P_7`.
    pub name: String,
    /// `P_8A`.
    pub unit: String,
    /// `P_8B`.
    pub quantity: String,
    /// `P_9A` (net) or `P_9B` (gross).
    pub unit_price: String,
    /// `P_11` (net) or `P_11A` (gross).
    pub value: String,
    /// `P_12`: "23", "8", "zw", "np I", …
    pub vat_rate: String,
}

/// One row of the VAT summary (`P_13_x` net and `P_14_x` VAT where the rate has VAT).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VatRow {
    /// What the pair is, in Polish and English.
    pub rate_pl: &'static str,
    pub rate_en: &'static str,
    pub net: String,
    pub vat: Option<String>,
}

/// Everything the visualisation prints.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InvoiceVisual {
    pub facts: InvoiceFacts,
    pub seller: Party,
    pub buyer: Party,
    /// `P_1M`: where it was issued.
    pub place: Option<String>,
    /// `P_6`: date of supply, when it differs from the issue date.
    pub sale_date: Option<String>,
    pub lines: Vec<Line>,
    pub vat: Vec<VatRow>,
    /// `Platnosc`: whether paid, due dates, form, bank accounts, in the file's order.
    pub payment: Vec<(PaymentField, String)>,
    /// `PrzyczynaKorekty` of a correction.
    pub correction_reason: Option<String>,
}

/// What one payment entry is; the value is as the file holds it (`FormaPlatnosci` as its code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PaymentField {
    /// `Zaplacono` = 1, with `DataZaplaty`.
    PaidOn,
    /// `TerminPlatnosci/Termin`.
    DueDate,
    /// `FormaPlatnosci`: 1 cash, 2 card, 3 voucher, 4 cheque, 5 credit, 6 transfer, 7 mobile.
    Form,
    /// `RachunekBankowy/NrRB`.
    BankAccount,
}

/// (net element, VAT element, Polish caption, English caption), in the form's order.
const VAT_PAIRS: &[(&str, Option<&str>, &str, &str)] = &[
    ("P_13_1", Some("P_14_1"), "stawka podstawowa 23% lub 22%", "standard rate 23% or 22%"),
    ("P_13_2", Some("P_14_2"), "stawka obniżona 8% lub 7%", "reduced rate 8% or 7%"),
    ("P_13_3", Some("P_14_3"), "stawka obniżona 5%", "reduced rate 5%"),
    ("P_13_4", Some("P_14_4"), "ryczałt dla taksówek", "taxi flat rate"),
    ("P_13_5", Some("P_14_5"), "procedura OSS", "OSS procedure"),
    ("P_13_6_1", None, "stawka 0% (kraj)", "0% (domestic)"),
    ("P_13_6_2", None, "stawka 0% (WDT)", "0% (intra-EU supply)"),
    ("P_13_6_3", None, "stawka 0% (eksport)", "0% (export)"),
    ("P_13_7", None, "zwolnione z podatku", "exempt"),
    ("P_13_8", None, "niepodlegające opodatkowaniu (poza krajem)", "not taxable (outside Poland)"),
    ("P_13_9", None, "usługi art. 100 ust. 1 pkt 4", "services, art. 100(1)(4)"),
    ("P_13_10", None, "odwrotne obciążenie", "reverse charge"),
    ("P_13_11", None, "procedura marży", "margin scheme"),
];

fn party(tree: &Tree, at: Option<usize>) -> Party {
    let Some(p) = at else { return Party::default() };
    let text = |path: &[&str]| tree.text_at(p, path).map(str::to_owned);
    let mut address: Vec<String> =
        [text(&["Adres", "AdresL1"]), text(&["Adres", "AdresL2"])].into_iter().flatten().collect();
    if let Some(cc) = text(&["Adres", "KodKraju"]).filter(|c| c != "PL") {
        address.push(cc);
    }
    Party {
        nip: text(&["DaneIdentyfikacyjne", "NIP"])
            .or_else(|| text(&["DaneIdentyfikacyjne", "NrVatUE"]))
            .or_else(|| text(&["DaneIdentyfikacyjne", "NrID"])),
        name: text(&["DaneIdentyfikacyjne", "Nazwa"]),
        address,
    }
}

/// Reads what the visualisation of an FA(3) invoice shows.
pub fn extract_visual(xml: &[u8]) -> Result<InvoiceVisual, Finding> {
    let tree = xmltree::parse_invoice(xml)?;
    let facts = facts_from(&tree)?;
    let fa = tree.at(&["Fa"]).unwrap_or(0);
    let text = |parent: usize, name: &str| tree.text_at(parent, &[name]).map(str::to_owned);
    let lines = tree
        .children(fa, "FaWiersz")
        .map(|w| Line {
            no: text(w, "NrWierszaFa").unwrap_or_default(),
            name: text(w, "P_7").unwrap_or_default(),
            unit: text(w, "P_8A").unwrap_or_default(),
            quantity: text(w, "P_8B").unwrap_or_default(),
            unit_price: text(w, "P_9A").or_else(|| text(w, "P_9B")).unwrap_or_default(),
            value: text(w, "P_11").or_else(|| text(w, "P_11A")).unwrap_or_default(),
            vat_rate: text(w, "P_12").unwrap_or_default(),
        })
        .collect();
    let vat = VAT_PAIRS
        .iter()
        .filter_map(|(net, vat, pl, en)| {
            let net_v = text(fa, net)?;
            Some(VatRow { rate_pl: pl, rate_en: en, net: net_v, vat: vat.and_then(|v| text(fa, v)) })
        })
        .collect();
    let mut payment = Vec::new();
    if let Some(p) = tree.child(fa, "Platnosc") {
        if text(p, "Zaplacono").as_deref() == Some("1") {
            let when = text(p, "DataZaplaty").unwrap_or_default();
            payment.push((PaymentField::PaidOn, when));
        }
        for t in tree.children(p, "TerminPlatnosci") {
            if let Some(d) = text(t, "Termin") {
                payment.push((PaymentField::DueDate, d));
            }
        }
        if let Some(f) = text(p, "FormaPlatnosci") {
            payment.push((PaymentField::Form, f));
        }
        for r in tree.children(p, "RachunekBankowy") {
            if let Some(nr) = text(r, "NrRB") {
                payment.push((PaymentField::BankAccount, nr));
            }
        }
    }
    Ok(InvoiceVisual {
        seller: party(&tree, tree.at(&["Podmiot1"])),
        buyer: party(&tree, tree.at(&["Podmiot2"])),
        place: text(fa, "P_1M"),
        sale_date: text(fa, "P_6"),
        lines,
        vat,
        payment,
        correction_reason: text(fa, "PrzyczynaKorekty"),
        facts,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn every_official_sample_has_parties_lines_and_totals() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fa3");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let v = extract_visual(&std::fs::read(&path).unwrap()).unwrap();
            assert!(v.seller.name.is_some(), "{path:?}");
            assert!(
                v.facts.gross_total.is_some() || !v.vat.is_empty() || v.facts.invoice_type.starts_with("KOR"),
                "{path:?}"
            );
            seen += 1;
        }
        assert!(seen >= 20);
    }
}
