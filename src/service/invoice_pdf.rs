//! The visualisation of a stored invoice as a PDF: parties, dates, lines, the VAT summary,
//! totals and payment as the FA(3) file states them; the KSeF number (or OFFLINE with the legal
//! deadline); KOD I and, for an offline invoice of a client with an offline certificate, KOD II,
//! each as a QR code with its caption and its link as text; the UPO summary. A correction says
//! which invoice it corrects and why.

use std::collections::HashSet;
use std::io::{self, Write};

use ksef_fa3::PaymentField;
use qrcode::{EcLevel, QrCode};

use crate::db::models::{Invoice, PurchaseInvoice};
use crate::domain::{ClientId, InvoiceId, Lang};
use crate::error::{AppError, Refusal};
use crate::pdf::{Column, Flow, MARGIN};
use crate::service::access::Caller;
use crate::service::invoices::{self, UpoSummary};
use crate::state::AppState;

/// The invoice's content as its visualisation reads it (parties, lines, VAT, payment), for the
/// approver to see what they approve; None when the file cannot be read for it.
pub async fn content(
    st: &AppState,
    caller: &Caller,
    id: &InvoiceId,
) -> Result<Option<ksef_fa3::InvoiceVisual>, AppError> {
    let (_, xml) = invoices::xml(st, caller, id).await?;
    Ok(ksef_fa3::extract_visual(&xml).ok())
}

const BODY: f32 = 9.0;
const SMALL: f32 = 8.0;
/// Side of one QR module in points: about 100 pt for a typical KOD I, as printed invoices show.
const QR_MODULE: f32 = 2.0;

/// What goes on the page besides the invoice file itself.
struct Extras {
    kod1: String,
    kod2: Option<String>,
    upo: Option<UpoSummary>,
}

/// The PDF of one invoice the caller may read (foreign invoices are not found).
pub async fn render(
    st: &AppState,
    caller: &Caller,
    id: &InvoiceId,
    lang: Lang,
) -> Result<(Invoice, Vec<u8>), AppError> {
    let (inv, bytes) = invoices::xml(st, caller, id).await?;
    let kod1 = invoices::kod1(st, &inv, &bytes).await?;
    let kod2 = invoices::certificate_link(st, caller, id).await?;
    let upo = invoices::upo_summary(st, caller, id).await?;
    let extras = Extras { kod1, kod2, upo };
    // Parsing, subsetting and compressing are CPU work: off the async workers.
    tokio::task::spawn_blocking(move || {
        let pdf = write(&Head::of(&inv), &bytes, &extras, lang)?;
        Ok((inv, pdf))
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("invoice PDF: {e}")))?
}

/// The PDF of a purchase invoice the caller may read, from its exact bytes: the same
/// visualisation as a sales invoice, with the KSeF number it was received under.
pub async fn render_purchase(
    st: &AppState,
    caller: &Caller,
    ksef_number: &str,
    nip: Option<String>,
    lang: Lang,
) -> Result<(PurchaseInvoice, Vec<u8>), AppError> {
    let (inv, client, bytes) = crate::service::purchases::xml(st, caller, ksef_number, nip).await?;
    let kod1 = invoices::kod1_link(&client.ksef_environment, &inv.seller_nip, inv.issue_date, &bytes)?;
    let extras = Extras { kod1, kod2: None, upo: None };
    tokio::task::spawn_blocking(move || {
        let head = Head {
            ksef_number: Some(&inv.ksef_number),
            offline: false,
            offline_deadline: None,
            hash: &inv.invoice_hash,
        };
        let pdf = write(&head, &bytes, &extras, lang)?;
        Ok((inv, pdf))
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("invoice PDF: {e}")))?
}

/// What the page says about an invoice's way through KSeF, besides its file.
struct Head<'a> {
    ksef_number: Option<&'a str>,
    offline: bool,
    offline_deadline: Option<chrono::NaiveDateTime>,
    /// The file's SHA-256 as the gateway or KSeF records it.
    hash: &'a str,
}

impl<'a> Head<'a> {
    fn of(inv: &'a Invoice) -> Self {
        Self {
            ksef_number: inv.ksef_number.as_deref(),
            offline: inv.offline_mode,
            offline_deadline: inv.offline_deadline,
            hash: &inv.sha256,
        }
    }
}

/// How many invoices one bulk download may hold: a zip of this many PDFs (tens of kB each) is
/// built in memory, so the bound keeps one request's memory and time in check.
pub const MAX_BULK: usize = 500;

/// The PDFs of the chosen invoices as one zip, one `<number>.pdf` each, in the order asked
/// (an id given twice is one entry). Every invoice must be readable by the caller (and, with
/// `client_id`, belong to that client), else the whole request is not found: nothing is
/// returned half-way.
pub async fn render_zip(
    st: &AppState,
    caller: &Caller,
    ids: &[InvoiceId],
    client_id: Option<&ClientId>,
    lang: Lang,
) -> Result<Vec<u8>, AppError> {
    let ids = bounded(ids)?;
    let mut names = HashSet::new();
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        let (inv, pdf) = render(st, caller, id, lang).await?;
        if client_id.is_some_and(|c| *c != inv.client_id) {
            return Err(AppError::NotFound);
        }
        entries.push((entry_name(&inv, &mut names), pdf));
    }
    tokio::task::spawn_blocking(move || write_zip(entries))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("invoice PDF zip: {e}")))?
}

/// The invoices a caller chose for [`render_zip`], as the request named them: the bounds first
/// (some, at most [`MAX_BULK`] distinct), then each read as an id, text that is no id being the
/// 404 of an unknown invoice (as a lookup would answer it).
pub fn chosen(raw: &[String]) -> Result<Vec<InvoiceId>, AppError> {
    bounded(raw)?.into_iter().map(|id| InvoiceId::parse(id).map_err(|_| AppError::NotFound)).collect()
}

/// The distinct ids of a zip's choice, in order, refused when none or more than [`MAX_BULK`].
fn bounded<T: Eq + std::hash::Hash>(ids: &[T]) -> Result<Vec<&T>, AppError> {
    let mut seen = HashSet::new();
    let ids: Vec<&T> = ids.iter().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Err(AppError::invalid_field(
            "invoice_ids",
            "no_invoice_chosen",
            "invoice_ids: choose at least one invoice",
        ));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::invalid_field(
            "invoice_ids",
            "too_many_invoices",
            format!("invoice_ids: at most {MAX_BULK} invoices in one download (got {})", ids.len()),
        ));
    }
    Ok(ids)
}

/// A file name for the invoice's PDF in the zip: its number with anything but letters, digits,
/// `.`, `-` and `_` made `_` (so `FV/1/2026` is `FV_1_2026.pdf`, safe on every unpacking
/// system), the id when there is no number, and the id appended when two numbers look alike.
fn entry_name(inv: &Invoice, taken: &mut HashSet<String>) -> String {
    let clean = |s: &str| -> String {
        let out: String = s
            .chars()
            .take(100)
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
            .collect();
        // No hidden or relative names ("..", ".x").
        out.trim_start_matches('.').to_owned()
    };
    let base = inv.number.as_deref().map(clean).filter(|s| !s.is_empty()).unwrap_or_else(|| clean(&inv.id));
    let mut name = format!("{base}.pdf");
    if !taken.insert(name.clone()) {
        name = format!("{base}-{}.pdf", clean(&inv.id));
        taken.insert(name.clone());
    }
    name
}

fn write_zip(entries: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, AppError> {
    let err = |e: &dyn std::fmt::Display| AppError::Internal(anyhow::anyhow!("invoice PDF zip: {e}"));
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, pdf) in entries {
        w.start_file(name, opts).map_err(|e| err(&e))?;
        w.write_all(&pdf).map_err(|e| err(&e))?;
    }
    Ok(w.finish().map_err(|e| err(&e))?.into_inner())
}

fn when(t: chrono::NaiveDateTime) -> String {
    t.and_utc().with_timezone(&chrono_tz::Europe::Warsaw).format("%Y-%m-%d %H:%M").to_string()
}

fn qr(data: &str) -> Result<QrCode, AppError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))
}

fn write(inv: &Head<'_>, xml: &[u8], extras: &Extras, l: Lang) -> Result<Vec<u8>, AppError> {
    let v = ksef_fa3::extract_visual(xml).map_err(|f| AppError::Refused {
        refusal: Refusal::InvoiceNotPrintable,
        message: format!("the invoice file cannot be read: {}", f.message_en),
    })?;
    let io_err = |e: io::Error| AppError::Internal(anyhow::anyhow!("invoice PDF: {e}"));
    let f = &v.facts;
    let kind = match f.invoice_type.as_str() {
        "VAT" => l.t("Faktura VAT", "VAT invoice"),
        "KOR" => l.t("Faktura korygująca", "Corrective invoice"),
        "ZAL" => l.t("Faktura zaliczkowa", "Advance invoice"),
        "ROZ" => l.t("Faktura rozliczeniowa", "Settlement invoice"),
        "UPR" => l.t("Faktura uproszczona", "Simplified invoice"),
        "KOR_ZAL" => l.t("Korekta faktury zaliczkowej", "Correction of an advance invoice"),
        "KOR_ROZ" => l.t("Korekta faktury rozliczeniowej", "Correction of a settlement invoice"),
        other => other,
    };
    let title = format!("{kind} {}", f.invoice_number);
    let footer = format!("{title} · {}", l.t("wizualizacja pliku FA(3)", "visualisation of the FA(3) file"));
    let mut flow = Flow::new(Vec::new(), &title, footer, l).map_err(io_err)?;
    (|| -> io::Result<()> {
        flow.para(18.0, &title)?;
        match (inv.ksef_number, inv.offline) {
            (Some(n), offline) => {
                flow.field(BODY, l.t("Numer KSeF:", "KSeF number:"), n)?;
                if offline {
                    flow.field(
                        BODY,
                        l.t("Tryb wystawienia:", "Issued:"),
                        l.t("offline, wysłana później do KSeF", "offline, sent to KSeF afterwards"),
                    )?;
                }
            }
            (None, true) => flow.field(
                BODY,
                l.t("Numer KSeF:", "KSeF number:"),
                &format!(
                    "OFFLINE — {} {}",
                    l.t(
                        "wystawiona w trybie offline; termin wysyłki do KSeF:",
                        "issued offline; to be sent to KSeF by"
                    ),
                    inv.offline_deadline.map(when).unwrap_or_default()
                ),
            )?,
            (None, false) => flow.field(
                BODY,
                l.t("Numer KSeF:", "KSeF number:"),
                l.t("jeszcze nie nadany", "not assigned yet"),
            )?,
        }
        flow.field(BODY, l.t("Data wystawienia:", "Issue date:"), &f.issue_date.to_string())?;
        if let Some(p) = &v.place {
            flow.field(BODY, l.t("Miejsce wystawienia:", "Place of issue:"), p)?;
        }
        if let Some(d) = &v.sale_date {
            flow.field(BODY, l.t("Data dostawy / usługi:", "Date of supply:"), d)?;
        }
        flow.field(BODY, l.t("Skrót pliku (SHA-256):", "File hash (SHA-256):"), inv.hash)?;
        for (label, party) in [(l.t("Sprzedawca", "Seller"), &v.seller), (l.t("Nabywca", "Buyer"), &v.buyer)]
        {
            flow.heading(11.0, label)?;
            if let Some(n) = &party.name {
                flow.field(BODY, l.t("Nazwa:", "Name:"), n)?;
            }
            if let Some(n) = &party.nip {
                flow.field(BODY, "NIP:", n)?;
            }
            if !party.address.is_empty() {
                flow.field(BODY, l.t("Adres:", "Address:"), &party.address.join(", "))?;
            }
        }
        if !f.corrected.is_empty() || v.correction_reason.is_some() {
            flow.heading(11.0, l.t("Korygowana faktura", "Corrected invoice"))?;
            for c in &f.corrected {
                let mut what = c.number.clone().unwrap_or_default();
                if let Some(d) = c.issue_date {
                    what.push_str(&format!(" {} {d}", l.t("z dnia", "of")));
                }
                if let Some(k) = &c.ksef_number {
                    what.push_str(&format!(", {} {k}", l.t("numer KSeF", "KSeF number")));
                }
                flow.field(BODY, l.t("Koryguje:", "Corrects:"), &what)?;
            }
            if let Some(r) = &v.correction_reason {
                flow.field(BODY, l.t("Przyczyna korekty:", "Reason:"), r)?;
            }
        }
        if !v.lines.is_empty() {
            flow.heading(11.0, l.t("Pozycje", "Lines"))?;
            let name_w = Flow::<Vec<u8>>::width() - 25.0 - 40.0 - 50.0 - 70.0 - 75.0 - 40.0;
            flow.table_start(
                vec![
                    Column { title: l.t("Lp.", "No.").into(), width: 25.0 },
                    Column { title: l.t("Nazwa", "Description").into(), width: name_w },
                    Column { title: l.t("J.m.", "Unit").into(), width: 40.0 },
                    Column { title: l.t("Ilość", "Qty").into(), width: 50.0 },
                    Column { title: l.t("Cena jedn.", "Unit price").into(), width: 70.0 },
                    Column { title: l.t("Wartość", "Value").into(), width: 75.0 },
                    Column { title: "VAT".into(), width: 40.0 },
                ],
                SMALL,
            )?;
            for line in &v.lines {
                flow.row(&[
                    line.no.clone(),
                    line.name.clone(),
                    line.unit.clone(),
                    line.quantity.clone(),
                    line.unit_price.clone(),
                    line.value.clone(),
                    line.vat_rate.clone(),
                ])?;
            }
            flow.table_end();
        }
        if !v.vat.is_empty() {
            flow.heading(11.0, l.t("Podsumowanie VAT", "VAT summary"))?;
            flow.table_start(
                vec![
                    Column { title: l.t("Stawka", "Rate").into(), width: 255.0 },
                    Column { title: l.t("Netto", "Net").into(), width: 130.0 },
                    Column { title: "VAT".into(), width: Flow::<Vec<u8>>::width() - 385.0 },
                ],
                SMALL,
            )?;
            for r in &v.vat {
                let rate = l.t(r.rate_pl, r.rate_en).to_owned();
                flow.row(&[rate, r.net.clone(), r.vat.clone().unwrap_or_else(|| "—".into())])?;
            }
            flow.table_end();
        }
        flow.heading(11.0, l.t("Razem", "Totals"))?;
        let cur = f.currency.as_str();
        if let Some(n) = amount(f.net_total.as_ref(), cur) {
            flow.field(BODY, l.t("Razem netto:", "Net total:"), &n)?;
        }
        if let Some(n) = amount(f.vat_total.as_ref(), cur) {
            flow.field(BODY, l.t("Razem VAT:", "VAT total:"), &n)?;
        }
        if let Some(n) = amount(f.gross_total.as_ref(), cur) {
            flow.field(BODY, l.t("Do zapłaty (brutto):", "Total due (gross):"), &n)?;
        }
        if !v.payment.is_empty() {
            flow.heading(11.0, l.t("Płatność", "Payment"))?;
            for (field, val) in &v.payment {
                let (label, val) = payment_line(*field, val, l);
                flow.field(BODY, label, val)?;
            }
        }
        if let Some(u) = &extras.upo {
            flow.heading(11.0, l.t("Urzędowe poświadczenie odbioru (UPO)", "Official receipt (UPO)"))?;
            if let Some(by) = &u.received_by {
                flow.field(BODY, l.t("Odebrał:", "Received by:"), by)?;
            }
            flow.field(BODY, l.t("Pobrano z KSeF:", "Fetched from KSeF:"), &when(u.fetched_at))?;
            flow.field(BODY, l.t("Skrót UPO (SHA-256):", "UPO hash (SHA-256):"), &u.sha256)?;
        }
        Ok(())
    })()
    .map_err(io_err)?;

    let caption = invoices::kod1_caption(inv.ksef_number, inv.offline)
        .unwrap_or_else(|| l.t("(przed wysyłką)", "(before sending)").to_owned());
    let mut codes = vec![(
        "KOD I",
        l.t("Weryfikacja faktury w KSeF", "Verify the invoice in KSeF"),
        caption,
        &extras.kod1,
    )];
    if let Some(k2) = &extras.kod2 {
        codes.push(("KOD II", l.t("Weryfikacja wystawcy", "Verify the issuer"), "CERTYFIKAT".to_owned(), k2));
    }
    for (name, purpose, caption, link) in codes {
        let code = qr(link)?;
        let side = (code.width() as f32 + 8.0) * QR_MODULE;
        (|| -> io::Result<()> {
            flow.heading(11.0, &format!("{name} — {purpose}"))?;
            flow.ensure(side + 40.0)?;
            let top = flow.y();
            flow.doc.qr(&code, MARGIN, top, QR_MODULE);
            flow.set_y(top - side);
            flow.para(BODY, &caption)?;
            flow.para(SMALL, link)
        })()
        .map_err(io_err)?;
    }
    flow.finish().map_err(io_err)
}

fn amount(a: Option<&impl std::fmt::Display>, currency: &str) -> Option<String> {
    a.map(|d| format!("{d} {currency}"))
}

fn payment_line(field: PaymentField, value: &str, l: Lang) -> (&'static str, &str) {
    match field {
        PaymentField::PaidOn => (l.t("Zapłacono:", "Paid on:"), value),
        PaymentField::DueDate => (l.t("Termin płatności:", "Due date:"), value),
        PaymentField::BankAccount => (l.t("Rachunek:", "Bank account:"), value),
        PaymentField::Form => {
            let form = match value {
                "1" => l.t("gotówka", "cash"),
                "2" => l.t("karta", "card"),
                "3" => l.t("bon", "voucher"),
                "4" => l.t("czek", "cheque"),
                "5" => l.t("kredyt", "credit"),
                "6" => l.t("przelew", "bank transfer"),
                "7" => l.t("płatność mobilna", "mobile payment"),
                other => other,
            };
            (l.t("Forma płatności:", "Payment method:"), form)
        }
    }
}
