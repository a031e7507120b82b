//! Which KSeF credential logs a client in, and what an office credential is.

crate::text_enum! {
    /// Whose credential the senders log in with in a client's KSeF context.
    pub enum CredentialMode ("credential mode") {
        /// "Poświadczenie biura": the office's own KSeF certificate (or token) logs into the
        /// client's context, which works once the client granted the office permissions in KSeF.
        /// The default for new clients: real offices hold no per-client tokens.
        Office = "office",
        /// The client's own KSeF token or certificate, stored for it (the exception).
        Own = "own"
    }
}

impl CredentialMode {
    /// Polish label for the panel.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Office => "poświadczenie biura",
            Self::Own => "własne poświadczenie klienta",
        }
    }
}

crate::text_enum! {
    /// What the office stored as its own credential.
    pub enum OfficeCredentialKind ("office credential kind") {
        /// A KSeF certificate (type Authentication) issued for the office's NIP, with its key.
        Certificate = "ksef_certificate",
        /// A KSeF token of the office.
        Token = "ksef_token"
    }
}

impl OfficeCredentialKind {
    /// The kind bound into the sealed secret's associated data: distinct from the clients'
    /// kinds, so a client's ciphertext moved into the office's row (or back) never opens, even
    /// when the office is also one of its own clients.
    pub fn vault_kind(self) -> &'static str {
        match self {
            Self::Certificate => "office_ksef_certificate",
            Self::Token => "office_ksef_token",
        }
    }

    /// Polish label for the panel.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Certificate => "certyfikat KSeF biura",
            Self::Token => "token KSeF biura",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_unknown_is_an_error() {
        for m in CredentialMode::ALL {
            assert_eq!(CredentialMode::parse(m.as_str()), Ok(*m));
        }
        assert!(CredentialMode::parse("biuro").is_err());
    }
}
