//! The client handle and its HTTP plumbing (one `reqwest::Client`, connection reuse, error parsing).

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response};
use rustls::pki_types::CertificateDer;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::classify::ErrorClass;
use crate::env::Environment;
use crate::error::{ApiError, KsefError};
use crate::keys::KeyCache;
use crate::options::ClientOptions;
use crate::pacer::{is_public, PublicPacer};

/// Async KSeF 2.0 client. Cheap to clone; clones share connections and the MF key cache.
#[derive(Clone)]
pub struct KsefClient {
    pub(crate) inner: Arc<Inner>,
    /// Asked before each request to a public (per-IP limited) endpoint, when set.
    pacer: Option<Arc<dyn PublicPacer>>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) env: Environment,
    pub(crate) api_base: String,
    /// The path part of `api_base` (`/v2`), stripped from a request's path to tell its endpoint.
    base_path: String,
    pub(crate) options: ClientOptions,
    pub(crate) keys: KeyCache,
}

impl std::fmt::Debug for KsefClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KsefClient").field("api_base", &self.inner.api_base).finish_non_exhaustive()
    }
}

impl KsefClient {
    /// Builds a client for `env`.
    pub fn new(env: Environment, options: ClientOptions) -> Result<Self, KsefError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&options)?)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(options.pool_idle_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| KsefError::Config(format!("cannot build HTTP client: {e}")))?;
        let api_base = env.api_base();
        let base_path = Url::parse(&api_base)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .map_err(|e| KsefError::Config(format!("invalid API base {api_base}: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner { http, api_base, base_path, env, options, keys: KeyCache::default() }),
            pacer: None,
        })
    }

    /// This client (sharing connections and keys with it) asking `pacer` for room before each
    /// request to a public endpoint, and telling it of a 429 there.
    pub fn with_public_pacer(&self, pacer: Arc<dyn PublicPacer>) -> Self {
        Self { inner: self.inner.clone(), pacer: Some(pacer) }
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.inner.env
    }

    /// Prefix of QR verification links for this environment (see [`crate::qr`]).
    pub fn qr_base(&self) -> Url {
        self.inner.env.qr_base()
    }

    pub(crate) fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// A request to `path` (relative to the API base, e.g. `/auth/challenge`), with a bearer if given.
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&SecretString>,
    ) -> RequestBuilder {
        let url = format!("{}/{}", self.inner.api_base, path.trim_start_matches('/'));
        self.raw_request(method, &url, bearer)
    }

    /// A request to an absolute URL (pre-signed storage links get no bearer).
    pub(crate) fn raw_request(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&SecretString>,
    ) -> RequestBuilder {
        let rb = self.inner.http.request(method, url);
        let Some(token) = bearer else { return rb };
        match HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
            Ok(mut value) => {
                value.set_sensitive(true);
                rb.header(AUTHORIZATION, value)
            }
            // Let reqwest report the invalid header at send time (its error does not echo the value).
            Err(_) => rb.header(AUTHORIZATION, "\n"),
        }
    }

    /// Sends and turns non-2xx answers into [`KsefError::Api`].
    pub(crate) async fn execute(&self, rb: RequestBuilder, what: &str) -> Result<Response, KsefError> {
        let (http, request) = rb.build_split();
        let request = request?;
        let pacer = self.pacer.as_deref().filter(|_| {
            let path = request.url().path();
            is_public(request.method(), path.strip_prefix(self.inner.base_path.as_str()).unwrap_or(path))
        });
        if let Some(pacer) = pacer {
            pacer.pace().await;
        }
        let resp = http.execute(request).await?;
        let status = resp.status();
        if let Some(warning) = resp.headers().get("x-system-warning").and_then(|v| v.to_str().ok()) {
            tracing::warn!(operation = what, warning, "KSeF system warning");
        }
        tracing::debug!(operation = what, status = status.as_u16(), "KSeF answered");
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = header_str(resp.headers(), RETRY_AFTER.as_str());
        let body = resp.bytes().await.unwrap_or_default();
        let err = KsefError::from(ApiError::parse(status.as_u16(), retry_after.as_deref(), &body));
        tracing::debug!(operation = what, error = %err, "KSeF error");
        if let (Some(pacer), ErrorClass::RateLimited { retry_after }) = (pacer, err.class()) {
            pacer.refused(retry_after);
        }
        Err(err)
    }

    /// Sends and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        rb: RequestBuilder,
        what: &str,
    ) -> Result<T, KsefError> {
        let resp = self.execute(rb.header(ACCEPT, "application/json"), what).await?;
        let body = resp.bytes().await?;
        serde_json::from_slice(&body).map_err(|e| KsefError::decode(what, e))
    }

    /// Sends and ignores the (empty) answer body.
    pub(crate) async fn no_content(&self, rb: RequestBuilder, what: &str) -> Result<(), KsefError> {
        self.execute(rb, what).await.map(drop)
    }
}

pub(crate) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The TLS settings this client uses by default (platform roots, the ring provider), for other
/// HTTPS clients of the same program that must verify servers the same way (e.g. the gateway's
/// webhook deliveries), handed to `reqwest::ClientBuilder::tls_backend_preconfigured`.
pub fn platform_tls_config() -> Result<rustls::ClientConfig, KsefError> {
    tls_config(&ClientOptions::default())
}

fn tls_config(options: &ClientOptions) -> Result<rustls::ClientConfig, KsefError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra: Vec<CertificateDer<'static>> =
        options.extra_root_certs_der.iter().map(|der| CertificateDer::from(der.clone())).collect();
    let tls_err = |e: rustls::Error| KsefError::Config(format!("TLS setup failed: {e}"));
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?;
    if options.only_extra_roots {
        let mut roots = rustls::RootCertStore::empty();
        for cert in extra {
            roots.add(cert).map_err(tls_err)?;
        }
        return Ok(builder.with_root_certificates(roots).with_no_client_auth());
    }
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider).map_err(tls_err)?;
    Ok(builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth())
}
