//! The demo's collective identifier (IZ): once the shop's four invoices to the wholesaler (another
//! demo client) are accepted, one IZ bundles them, so that the wholesaler pays them in one
//! transfer; their invoice pages and `GET /api/v1/collective-identifiers` show it. Runs in the
//! background once the server is up (KSeF takes a few seconds per invoice), and only while the
//! shop has none.

use std::time::Duration;

use crate::service::access::Caller;
use crate::service::collective::{self, CollectiveItem, InvoiceRef};
use crate::service::invoices::{self, ListQuery};
use crate::state::AppState;

/// The shop's invoices to the wholesaler (`SKLEP/1..4/<year>`, see `invoices::seed`).
const BUNDLED: usize = 4;
const WAIT: Duration = Duration::from_secs(120);

/// Waits for the invoices to be accepted, then creates the identifier; gives up quietly (with a
/// log line) when they are not accepted in time or KSeF refuses.
pub async fn seed_when_accepted(st: AppState, shop_nip: &'static str) {
    let started = std::time::Instant::now();
    while started.elapsed() < WAIT {
        match attempt(&st, shop_nip).await {
            Ok(true) => return,
            Ok(false) => tokio::time::sleep(Duration::from_secs(1)).await,
            Err(e) => {
                tracing::warn!(error = %e, "Demo: no collective identifier created");
                return;
            }
        }
    }
    tracing::warn!("Demo: the shop's invoices were not accepted in time for a collective identifier");
}

/// True when done (created now, or one exists already).
async fn attempt(st: &AppState, nip: &str) -> Result<bool, crate::error::AppError> {
    if !collective::list(st, &Caller::Operator, nip).await?.is_empty() {
        return Ok(true);
    }
    let query = ListQuery {
        nip: Some(nip.to_owned()),
        states: vec![crate::domain::InvoiceState::Accepted.as_str().to_owned()],
        limit: Some(100),
        ..ListQuery::default()
    };
    let accepted = invoices::list(st, &Caller::Operator, query).await?.invoices;
    let chosen: Vec<CollectiveItem> = accepted
        .iter()
        .filter(|i| {
            (1..=BUNDLED)
                .any(|n| i.head.number.as_deref().is_some_and(|s| s.starts_with(&format!("SKLEP/{n}/"))))
        })
        .map(|i| CollectiveItem {
            invoice: InvoiceRef::Id(i.head.id.to_string()),
            amount: None,
            currency: None,
            description: Some("Zapłata zbiorcza: Hurtownia Budowlana Mazur".into()),
        })
        .collect();
    if chosen.len() < BUNDLED {
        return Ok(false);
    }
    let created = collective::create(st, &Caller::Operator, nip, chosen).await?;
    tracing::info!(number = %created.number, "Demo: collective identifier created for the shop's invoices to the wholesaler");
    Ok(true)
}
