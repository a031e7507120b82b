//! The panel's static files (stylesheet, icon, the live-progress script), compiled into the binary (the gateway never
//! reads files relative to its working directory) and served with a year-long cache: pages
//! link them with a hash of their content in the URL, so a new build's file has a new URL.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// (file name, content type, bytes).
static ASSETS: &[(&str, &str, &[u8])] = &[
    ("panel.css", "text/css; charset=utf-8", include_bytes!("../../../static/panel.css")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../../static/favicon.svg")),
    ("live.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/live.js")),
    ("select.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/select.js")),
];

/// The versioned URL of every asset, by file name.
static HREFS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|(name, _, bytes)| {
            (*name, format!("/static/{name}?v={}", &hex::encode(Sha256::digest(bytes))[..12]))
        })
        .collect()
});

/// The versioned URL of an asset (an unknown name links the bare path, which will 404).
pub fn href(name: &str) -> &'static str {
    HREFS.iter().find(|(n, _)| *n == name).map_or("/static/", |(_, h)| h.as_str())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(asset);
}

#[get("/static/{name}")]
async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, bytes) =
        ASSETS.iter().find(|(n, _, _)| *n == name.as_str()).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(*bytes))
}
