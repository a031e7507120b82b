//! The panel's stylesheet, compiled into the binary (the gateway never reads files relative to
//! its working directory) and served with a year-long cache: its URL carries a hash of its
//! content, so a new build's stylesheet has a new URL.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use sha2::{Digest, Sha256};

const CSS: &[u8] = include_bytes!("../../../static/panel.css");

static CSS_HREF: LazyLock<String> =
    LazyLock::new(|| format!("/static/panel.css?v={}", &hex::encode(Sha256::digest(CSS))[..12]));

/// The stylesheet's URL, versioned by content.
pub fn css_href() -> &'static str {
    CSS_HREF.as_str()
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(css);
}

#[get("/static/panel.css")]
async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(CSS)
}
