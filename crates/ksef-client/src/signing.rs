//! Private keys of KSeF certificates (RSA or EC P-256) and the signatures KSeF asks for:
//! RSASSA-PSS / ECDSA `r||s` for KOD II links, RSA PKCS#1 v1.5 / ECDSA `r||s` for XAdES.

use p256::ecdsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rand_core::OsRng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use sha2::Sha256;

use crate::error::KsefError;

/// XML-DSig URI of RSA PKCS#1 v1.5 with SHA-256.
pub const XMLDSIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// XML-DSig URI of ECDSA with SHA-256.
pub const XMLDSIG_ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// Private key of a KSeF certificate. Debug never shows key material.
pub enum SigningKey {
    /// RSA key (≥ 2048 bits).
    Rsa(Box<RsaPrivateKey>),
    /// EC P-256 key.
    EcP256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "SigningKey::Rsa([REDACTED])",
            Self::EcP256(_) => "SigningKey::EcP256([REDACTED])",
        })
    }
}

impl SigningKey {
    /// Reads a private key in PKCS#8 DER (RSA or EC P-256), PKCS#1 DER (RSA) or SEC1 DER (EC).
    pub fn from_der(der: &[u8]) -> Result<Self, KsefError> {
        if let Ok(key) = RsaPrivateKey::from_pkcs8_der(der).or_else(|_| RsaPrivateKey::from_pkcs1_der(der)) {
            return Ok(Self::Rsa(Box::new(key)));
        }
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self::EcP256(key));
        }
        p256::SecretKey::from_sec1_der(der).map(|k| Self::EcP256(k.into())).map_err(|_| {
            KsefError::Crypto("unsupported private key (expected RSA or EC P-256 in DER)".into())
        })
    }

    /// The public half as a SubjectPublicKeyInfo (DER): what a certificate for this key carries,
    /// so that a certificate and a key that do not belong together can be told apart.
    pub fn public_key_der(&self) -> Result<Vec<u8>, KsefError> {
        use p256::pkcs8::EncodePublicKey;
        let der = match self {
            Self::Rsa(key) => rsa::RsaPublicKey::from(key.as_ref()).to_public_key_der(),
            Self::EcP256(key) => key.verifying_key().to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec())
            .map_err(|e| KsefError::Crypto(format!("cannot encode the public key: {e}")))
    }

    /// KOD II signature: RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32, blinded) or ECDSA P-256 `r||s`.
    pub fn sign_pss_or_ecdsa(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(key) => {
                let signer = rsa::pss::BlindedSigningKey::<Sha256>::new((**key).clone());
                signer.sign_with_rng(&mut OsRng, message).to_vec()
            }
            Self::EcP256(key) => ecdsa_r_s(key, message),
        }
    }

    /// XML-DSig `SignatureMethod` URI for this key.
    pub fn xmldsig_algorithm(&self) -> &'static str {
        match self {
            Self::Rsa(_) => XMLDSIG_RSA_SHA256,
            Self::EcP256(_) => XMLDSIG_ECDSA_SHA256,
        }
    }

    /// XML-DSig signature: RSA PKCS#1 v1.5 SHA-256 or ECDSA P-256 SHA-256 `r||s`.
    pub fn sign_xmldsig(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(key) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**key).clone());
                signer.sign_with_rng(&mut OsRng, message).to_vec()
            }
            Self::EcP256(key) => ecdsa_r_s(key, message),
        }
    }
}

fn ecdsa_r_s(key: &p256::ecdsa::SigningKey, message: &[u8]) -> Vec<u8> {
    let sig: p256::ecdsa::Signature = key.sign(message);
    sig.to_bytes().to_vec()
}
