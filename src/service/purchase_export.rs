//! The purchase invoice list as a CSV file that opens right in a Polish spreadsheet: UTF-8 with
//! a byte order mark (else Excel reads it as ANSI), `;` between fields (the comma is the
//! decimal separator), Polish headers, amounts `2051,00`, dates `15.02.2026`.

use crate::domain::amount_text;
use crate::error::AppError;
use crate::local_time;
use crate::service::access::Caller;
use crate::service::purchases::{self, PurchaseQuery, PurchaseSummary};
use crate::state::AppState;

/// The most invoices one export holds: beyond it the caller narrows the filter.
pub const MAX_EXPORT: i64 = 100_000;

const HEADERS: [&str; 14] = [
    "NIP klienta",
    "Klient",
    "Numer KSeF",
    "Numer faktury",
    "Rodzaj",
    "Data wystawienia",
    "NIP sprzedawcy",
    "Sprzedawca",
    "Netto",
    "VAT",
    "Brutto",
    "Waluta",
    "Przyjęta w KSeF",
    "Zapisana w bramce",
];

/// Every invoice of the filtered list, in its order, as CSV bytes.
pub async fn csv(st: &AppState, caller: &Caller, q: PurchaseQuery) -> Result<Vec<u8>, AppError> {
    let rows = purchases::all_matching(st, caller, q, MAX_EXPORT).await?;
    write(&rows)
}

fn write(rows: &[PurchaseSummary]) -> Result<Vec<u8>, AppError> {
    let err = |e: csv::Error| AppError::Internal(anyhow::anyhow!("purchase CSV: {e}"));
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(&mut out);
        w.write_record(HEADERS).map_err(err)?;
        let amount = |minor: i64| amount_text(minor, ',', None);
        for r in rows {
            w.write_record([
                r.client_nip.as_str(),
                &r.client_name,
                &r.ksef_number,
                &r.invoice_number,
                &r.invoice_type,
                &local_time::display_date(r.issue_date),
                &r.seller_nip,
                r.seller_name.as_deref().unwrap_or(""),
                &amount(r.net_minor),
                &amount(r.vat_minor),
                &amount(r.gross_minor),
                &r.currency,
                &local_time::display(r.acquisition_date),
                &local_time::display(r.stored_at),
            ])
            .map_err(err)?;
        }
        w.flush().map_err(|e| err(e.into()))?;
    }
    Ok(out)
}
