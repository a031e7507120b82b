//! HTTP routes, one module per area of the KSeF API (plus simulator-only storage/admin/latarnia).

pub mod admin;
pub mod auth;
pub mod auth_sessions;
pub mod batch;
pub mod certificates;
pub mod collective;
pub mod exports;
pub mod invoices;
pub mod latarnia;
pub mod misc;
pub mod online;
pub mod security;
pub mod status;
pub mod storage;
pub mod testdata;
pub mod tokens;
pub mod xades;

use actix_web::HttpResponse;

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::faults::CloseFault;

/// After a committed close: 204, or the scripted "close commits then fails" fault.
pub async fn close_fault(state: &AppState) -> ApiResult<HttpResponse> {
    let fault = {
        let mut f = state.faults.write();
        match f.close_fault {
            Some(kind) if f.close_fault_count > 0 => {
                f.close_fault_count -= 1;
                Some((kind, f.hang_ms))
            }
            _ => None,
        }
    };
    match fault {
        None => Ok(HttpResponse::NoContent().finish()),
        Some((kind, hang_ms)) => {
            state.counters.fault();
            if kind == CloseFault::Timeout {
                tokio::time::sleep(std::time::Duration::from_millis(hang_ms)).await;
                return Err(ApiError::Server {
                    status: 504,
                    detail: "Gateway Timeout (symulowany).".to_owned(),
                });
            }
            Err(ApiError::Server {
                status: 502,
                detail: "Bad Gateway (symulowany, zamknięcie zostało zapisane).".to_owned(),
            })
        }
    }
}
