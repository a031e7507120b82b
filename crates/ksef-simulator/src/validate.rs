//! The gate every received invoice passes: FA(3) XSD validation (ksef-fa3, libxml2 with the
//! embedded official schemas) and the facts KSeF keys on.

use chrono::NaiveDate;
use ksef_fa3::{extract_facts, Fa3Schema, Finding, KSEF_FILE_ERROR};

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
    pub third_subjects: Vec<crate::state::ThirdSubject>,
}

/// A rejection at the gate: invoice status code and details.
#[derive(Clone, Debug)]
pub struct Rejection {
    pub code: u16,
    pub description: &'static str,
    pub details: Vec<String>,
}

/// Invoice validator (the compiled FA(3) schema).
pub struct Validator {
    schema: Fa3Schema,
}

fn detail(f: &Finding) -> String {
    match (&f.path, f.line) {
        (Some(path), Some(line)) => format!("{} ({path}, linia {line})", f.message_pl),
        (Some(path), None) => format!("{} ({path})", f.message_pl),
        _ => f.message_pl.clone(),
    }
}

impl Validator {
    pub fn load() -> anyhow::Result<Self> {
        Ok(Self { schema: Fa3Schema::load()? })
    }

    /// Validates `xml` against FA(3) and extracts its facts; 430 (or the status the finding
    /// names) when it is not a valid FA(3) document.
    pub fn check(&self, xml: &[u8]) -> Result<Facts, Rejection> {
        let errors: Vec<Finding> = self.schema.validate(xml).into_iter().filter(Finding::is_error).collect();
        if let Some(first) = errors.first() {
            return Err(Rejection {
                code: first.ksef_status.unwrap_or(KSEF_FILE_ERROR),
                description: "Błąd weryfikacji pliku faktury",
                details: errors.iter().take(10).map(detail).collect(),
            });
        }
        let f = extract_facts(xml).map_err(|f| Rejection {
            code: f.ksef_status.unwrap_or(KSEF_FILE_ERROR),
            description: "Błąd weryfikacji pliku faktury",
            details: vec![detail(&f)],
        })?;
        Ok(Facts {
            seller_nip: f.seller_nip,
            seller_name: f.seller_name,
            buyer_nip: f.buyer_nip,
            buyer_name: f.buyer_name,
            invoice_number: f.invoice_number,
            issue_date: f.issue_date,
            invoice_type: f.invoice_type,
            currency: f.currency,
            net: f.net_total.map(|d| d.to_string()),
            vat: f.vat_total.map(|d| d.to_string()),
            gross: f.gross_total.map(|d| d.to_string()),
            has_attachment: f.has_attachment,
            third_subjects: crate::podmiot3::third_subjects(xml),
        })
    }
}
