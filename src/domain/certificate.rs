//! KSeF certificates the gateway enrolls: what they are for, which key they get, how far an
//! enrollment got, and why one is revoked.

crate::text_enum! {
    /// What an enrolled certificate becomes in the gateway.
    pub enum CertificatePurpose ("certificate type") {
        /// KSeF type Authentication: it becomes the login credential (XAdES).
        Authentication = "authentication",
        /// KSeF type Offline: it becomes the client's certificate for KOD II of offline invoices.
        Offline = "offline"
    }
}

impl CertificatePurpose {
    /// KSeF's name of the type.
    pub fn ksef(self) -> ksef_client::models::certificates::CertificateType {
        use ksef_client::models::certificates::CertificateType;
        match self {
            Self::Authentication => CertificateType::Authentication,
            Self::Offline => CertificateType::Offline,
        }
    }

    /// Polish label for the panel.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Authentication => "do logowania (Authentication)",
            Self::Offline => "do trybu offline – KOD II (Offline)",
        }
    }
}

crate::text_enum! {
    /// The key of a new certificate: EC P-256 (KSeF's recommendation, the default) or RSA 2048.
    pub enum KeyChoice ("key type") {
        Ec = "ec",
        Rsa = "rsa"
    }
}

impl KeyChoice {
    pub fn algorithm(self) -> ksef_client::csr::KeyAlgorithm {
        match self {
            Self::Ec => ksef_client::csr::KeyAlgorithm::EcP256,
            Self::Rsa => ksef_client::csr::KeyAlgorithm::Rsa2048,
        }
    }
}

crate::text_enum! {
    /// How far an enrollment got.
    pub enum EnrollmentState ("enrollment state") {
        /// Started; KSeF has not issued the certificate yet, or the gateway has not stored it.
        Pending = "pending",
        /// Issued, retrieved, checked against its key and stored.
        Issued = "issued",
        /// KSeF refused it or issued something that does not fit the key; nothing was stored.
        Failed = "failed",
        /// Cannot be finished: the gateway stopped before it recorded KSeF's reference, or the
        /// subject logs in to another KSeF now.
        Abandoned = "abandoned"
    }
}

crate::text_enum! {
    /// Why a certificate is revoked (KSeF's reasons).
    pub enum RevokeReason ("revocation reason") {
        Unspecified = "unspecified",
        Superseded = "superseded",
        KeyCompromise = "key-compromise"
    }
}

impl RevokeReason {
    pub fn ksef(self) -> ksef_client::models::certificates::RevocationReason {
        use ksef_client::models::certificates::RevocationReason;
        match self {
            Self::Unspecified => RevocationReason::Unspecified,
            Self::Superseded => RevocationReason::Superseded,
            Self::KeyCompromise => RevocationReason::KeyCompromise,
        }
    }
}
