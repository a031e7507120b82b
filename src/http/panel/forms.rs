//! Form bodies (`application/x-www-form-urlencoded`) read as name/value pairs. serde_urlencoded
//! (behind `web::Form`) cannot collect repeated names such as a list of checked invoices, and a
//! missing field must become our own Polish answer rather than a bare 400, so forms are read here.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::PanelError;
use crate::error::AppError;

/// Forms are small: a few fields and at most some thousands of invoice ids.
const FORM_LIMIT: usize = 1 << 20;

/// The fields of a submitted form, in order.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or an empty string.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_owned()
    }

    /// Every value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// True when a checkbox `name` was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn csrf(&self) -> Option<&str> {
        self.get("csrf")
    }
}

impl FromRequest for Fields {
    type Error = PanelError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PanelError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|_| AppError::invalid("the form could not be read"))?;
            if bytes.len() > FORM_LIMIT {
                return Err(AppError::TooLarge("form".into()).into());
            }
            Ok(Self::parse(&bytes))
        })
    }
}
