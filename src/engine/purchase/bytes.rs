//! The exact bytes of invoices whose metadata is stored: downloaded by KSeF number as KSeF's
//! limit allows (64 an hour), each checked against KSeF's SHA-256. Bytes that do not match are
//! not stored; the step reports the invoice and tries it again later.

use ksef_client::KsefError;

use super::StepCx;
use crate::db::models::{ids, PurchaseInvoice};
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;

/// Invoices looked at per step at most (the limit allows far fewer downloads anyway).
const PER_STEP: i64 = 500;

pub async fn fetch(cx: &mut StepCx<'_>) -> Result<(), TurnError> {
    let cid = cx.client.client_id.clone();
    let missing = cx.engine.st.db.run(move |c| PurchaseInvoice::missing_xml(c, &cid, PER_STEP)).await?;
    let mut left = missing.len();
    for (ksef_number, expected) in missing {
        if cx.out_of_time() || !cx.acquire(EndpointClass::InvoiceDownload).await {
            break;
        }
        let bytes = match cx.client.ksef.download_invoice(&cx.token, &ksef_number).await {
            Ok(doc) if doc.sha256 == expected => doc.bytes,
            // KSeF's own hash header disagreeing with the bytes is the same fault.
            Ok(_) | Err(KsefError::Integrity(_)) => {
                tracing::warn!(client.id = %cx.client.client_id, ksef.number = %ksef_number, "Purchase invoice bytes do not match KSeF's hash; not stored");
                cx.report.hash_mismatches.push(ksef_number);
                left -= 1;
                continue;
            }
            Err(e) => {
                cx.report.bytes_left = true;
                return Err(e.into());
            }
        };
        let cid = cx.client.client_id.clone();
        cx.engine
            .st
            .db
            .tx(move |c| PurchaseInvoice::set_xml(c, &cid, &ksef_number, &bytes, ids::now()))
            .await?;
        cx.report.downloaded += 1;
        left -= 1;
    }
    cx.report.bytes_left = left > 0;
    Ok(())
}
