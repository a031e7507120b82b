//! KSeF environments and their base URLs.

use url::Url;

use crate::error::KsefError;

/// Which KSeF the client talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Environment {
    /// TEST (release candidate; shared test data, self-signed certificates accepted).
    Test,
    /// DEMO (pre-production with production configuration).
    Demo,
    /// Production.
    Prod,
    /// Any other deployment, e.g. a simulator: API base (ending in `/v2`) and QR link host.
    Custom {
        /// e.g. `https://localhost:8443/v2`.
        api_base: Url,
        /// e.g. `https://localhost:8443` (prefix of KOD I/II links).
        qr_base: Url,
    },
}

impl Environment {
    /// Parses `test`, `demo`, `prod` or an API base URL (QR links then use the URL's origin).
    pub fn parse(text: &str) -> Result<Self, KsefError> {
        Ok(match text {
            "test" => Self::Test,
            "demo" => Self::Demo,
            "prod" | "production" => Self::Prod,
            url => {
                let api_base =
                    Url::parse(url).map_err(|e| KsefError::Config(format!("bad KSeF URL {url:?}: {e}")))?;
                let qr_base = Url::parse(&api_base.origin().ascii_serialization())
                    .map_err(|e| KsefError::Config(format!("bad KSeF URL {url:?}: {e}")))?;
                Self::Custom { api_base, qr_base }
            }
        })
    }

    /// Base of the REST API, including `/v2`, without a trailing slash.
    pub fn api_base(&self) -> String {
        match self {
            Self::Test => "https://api-test.ksef.mf.gov.pl/v2".into(),
            Self::Demo => "https://api-demo.ksef.mf.gov.pl/v2".into(),
            Self::Prod => "https://api.ksef.mf.gov.pl/v2".into(),
            Self::Custom { api_base, .. } => api_base.as_str().trim_end_matches('/').into(),
        }
    }

    /// Prefix of QR verification links.
    pub fn qr_base(&self) -> Url {
        let text = match self {
            Self::Test => "https://qr-test.ksef.mf.gov.pl",
            Self::Demo => "https://qr-demo.ksef.mf.gov.pl",
            Self::Prod => "https://qr.ksef.mf.gov.pl",
            Self::Custom { qr_base, .. } => return qr_base.clone(),
        };
        Url::parse(text).unwrap_or_else(|_| unreachable!("constant URL"))
    }

    /// Base of the Latarnia (lighthouse) status service, where one exists.
    pub fn lighthouse_base(&self) -> Option<String> {
        match self {
            Self::Test => Some("https://api-latarnia-test.ksef.mf.gov.pl".into()),
            Self::Prod => Some("https://api-latarnia.ksef.mf.gov.pl".into()),
            Self::Demo => None,
            // A custom base is the project's simulator (or a proxy in front of KSeF), which
            // serves Latarnia's two routes under /latarnia on the same origin.
            Self::Custom { qr_base, .. } => {
                Some(format!("{}/latarnia", qr_base.as_str().trim_end_matches('/')))
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_urls() {
        assert_eq!(Environment::parse("test").unwrap(), Environment::Test);
        let env = Environment::parse("https://localhost:8443/v2/").unwrap();
        assert_eq!(env.api_base(), "https://localhost:8443/v2");
        assert_eq!(env.qr_base().as_str(), "https://localhost:8443/");
        assert_eq!(Environment::Prod.qr_base().as_str(), "https://qr.ksef.mf.gov.pl/");
        assert!(Environment::parse("not a url").is_err());
    }
}
