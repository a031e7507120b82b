//! The database is chosen by the URL scheme, so one setting moves every command to PostgreSQL.

use std::path::PathBuf;

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A validated database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite://PATH`; the file is created (with its directory) on first start.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to libpq unchanged.
    Postgres(String),
}

impl DbUrl {
    /// Parses a URL; a bare path or an unknown scheme is refused rather than guessed at.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://./data/gateway.db".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            ::url::Url::parse(raw).map_err(|e| format!("not a valid PostgreSQL URL ({e})"))?;
            return Ok(Self::Postgres(raw.to_owned()));
        }
        Err("must start with sqlite:// or postgres:// (other databases are not supported)".into())
    }

    /// The backend this URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password replaced, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite://{}", p.display()),
            Self::Postgres(raw) => match ::url::Url::parse(raw) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        // set_password only fails for URLs that cannot have one; then keep the scheme alone.
                        if u.set_password(Some("***")).is_err() {
                            return "postgres://***".into();
                        }
                    }
                    u.to_string()
                }
                Err(_) => "postgres://***".into(),
            },
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_backend() {
        assert_eq!(DbUrl::parse("sqlite://./d/g.db").unwrap(), DbUrl::Sqlite("./d/g.db".into()));
        assert_eq!(DbUrl::parse("postgres://u@h/db").unwrap().backend(), Backend::Postgres);
        assert!(DbUrl::parse("/tmp/x.db").is_err());
        assert!(DbUrl::parse("sqlite://").is_err());
        assert!(DbUrl::parse("mysql://h/db").is_err());
        assert!(DbUrl::parse("postgres://[bad").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let u = DbUrl::parse("postgres://gw:s3cret@db.local:5432/gw").unwrap();
        assert!(!u.redacted().contains("s3cret"));
        assert!(u.redacted().contains("db.local"));
    }
}
