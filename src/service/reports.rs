//! Audit reports: the events a caller may read (permission `audit`), filtered by client,
//! person and period, as CSV or JSON, with the chain's verdict. Each export is itself audited.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::auth::Permission;
use crate::db::models::audit::{AuditEvent, AuditFilter};
use crate::db::models::{Client, ClientScope};
use crate::error::AppError;
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry, ChainVerdict};
use crate::state::AppState;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Json,
}

impl ReportFormat {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown report format {other:?} (csv, json)")),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }
}

/// What the report covers.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub nip: Option<String>,
    pub user_id: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// A report ready to hand out.
pub struct Report {
    pub events: Vec<AuditEvent>,
    pub verdict: ChainVerdict,
}

/// Collects the events the caller may read, records the export, and checks the chain.
pub async fn collect(st: &AppState, caller: &Caller, q: ReportQuery) -> Result<Report, AppError> {
    crate::service::validate::range(q.from, q.to)?;
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Audit)?;
            let client_ids = match (&q.nip, scope) {
                (Some(nip), _) => {
                    let client = Client::find_by_nip(conn, nip)?.ok_or(AppError::NotFound)?;
                    access::require(conn, &caller, &client.id, Permission::Audit)?;
                    Some(vec![client.id])
                }
                (None, ClientScope::All) => None,
                (None, ClientScope::Only(ids)) if ids.is_empty() => return Err(AppError::Forbidden),
                (None, ClientScope::Only(ids)) => Some(ids),
            };
            let filter = AuditFilter { client_ids: client_ids.clone(), actor_id: q.user_id.clone(), from: q.from, to: q.to };
            let events = audit::list(conn, &filter)?;
            let verdict = audit::verify(conn)?;
            audit::record(
                conn,
                AuditEntry {
                    actor: &caller.audit_actor(),
                    client_id: client_ids.as_ref().and_then(|ids| (ids.len() == 1).then(|| ids[0].as_str())),
                    action: "audit.exported",
                    subject: None,
                    payload: json!({"nip": q.nip, "user": q.user_id, "from": q.from, "to": q.to, "events": events.len()}),
                },
            )?;
            Ok(Report { events, verdict })
        })
        .await
}

/// Renders a report.
pub fn render(report: &Report, format: ReportFormat) -> Result<Vec<u8>, AppError> {
    match format {
        ReportFormat::Json => {
            let verdict = match &report.verdict {
                ChainVerdict::Intact { events } => json!({"intact": true, "events": events}),
                ChainVerdict::Broken { seq, reason } => {
                    json!({"intact": false, "seq": seq, "reason": reason})
                }
            };
            serde_json::to_vec_pretty(&json!({"chain": verdict, "events": report.events}))
                .map_err(|e| AppError::Internal(e.into()))
        }
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let csv_err = |e: csv::Error| AppError::Internal(e.into());
            w.write_record([
                "seq",
                "at_utc",
                "actor_kind",
                "actor_id",
                "client_id",
                "action",
                "subject",
                "payload",
                "prev_hash",
                "hash",
            ])
            .map_err(csv_err)?;
            for e in &report.events {
                let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
                w.write_record([
                    e.seq.to_string().as_str(),
                    &at,
                    &e.actor_kind,
                    e.actor_id.as_deref().unwrap_or(""),
                    e.client_id.as_deref().unwrap_or(""),
                    &e.action,
                    e.subject.as_deref().unwrap_or(""),
                    &e.payload,
                    &e.prev_hash,
                    &e.hash,
                ])
                .map_err(csv_err)?;
            }
            w.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))
        }
    }
}
