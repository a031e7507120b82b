//! Verifying an enveloped XML-DSig (XAdES-BES) signature and identifying the signer.

use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

use super::c14n::{canonicalize, Method, Scope};
use super::tree::Element;
use crate::crypto::{b64_decode, sha256_b64};

const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// A verified signer.
pub struct Signer {
    pub cert_der: Vec<u8>,
    pub cert: x509_cert::Certificate,
}

/// The chain of elements from `el` down to the first descendant matching `pred`.
fn path_to<'a>(el: &'a Element, pred: &dyn Fn(&Element) -> bool) -> Option<Vec<&'a Element>> {
    if pred(el) {
        return Some(vec![el]);
    }
    el.elements().find_map(|c| path_to(c, pred)).map(|mut p| {
        p.insert(0, el);
        p
    })
}

/// Namespaces declared by the ancestors in `path` (all but the last element).
fn scope_of(path: &[&Element]) -> Scope {
    let mut scope = Scope::new();
    for el in &path[..path.len().saturating_sub(1)] {
        for (p, uri) in &el.ns_decls {
            scope.insert(p.clone(), uri.clone());
        }
    }
    scope
}

fn algorithm<'a>(el: &'a Element, child: &str) -> Option<&'a str> {
    el.child(child).and_then(|c| c.attr("Algorithm"))
}

/// Verifies the signature of `root` (enveloped; exclusive or inclusive C14N; SHA-256); the error says why not.
pub fn verify(root: &Element) -> Result<Signer, String> {
    let sig_path = path_to(root, &|e| e.local() == "Signature").ok_or("brak elementu Signature")?;
    let signature = *sig_path.last().ok_or("brak elementu Signature")?;
    let signed_info = signature.child("SignedInfo").ok_or("brak SignedInfo")?;
    let si_method = algorithm(signed_info, "CanonicalizationMethod")
        .and_then(Method::from_uri)
        .ok_or("obsługiwane są kanonikalizacje exc-c14n, c14n 1.0 i c14n 1.1 (bez komentarzy)")?;
    let mut saw_document = false;
    for reference in signed_info.elements().filter(|e| e.local() == "Reference") {
        let uri = reference.attr("URI").unwrap_or_default();
        let transforms: Vec<&str> = reference
            .child("Transforms")
            .map(|t| t.elements().filter_map(|e| e.attr("Algorithm")).collect())
            .unwrap_or_default();
        // The last canonicalisation transform decides; without one XML-DSig converts the node-set
        // with inclusive C14N 1.0. Transforms KSeF does not allow are refused.
        let mut method = Method::Inclusive;
        for t in &transforms {
            match Method::from_uri(t) {
                Some(m) => method = m,
                None if *t == ENVELOPED => {}
                None => return Err(format!("nieobsługiwana transformacja {t}")),
            }
        }
        if algorithm(reference, "DigestMethod") != Some(SHA256) {
            return Err("obsługiwany jest tylko skrót SHA-256".to_owned());
        }
        let canonical = if uri.is_empty() {
            if !transforms.contains(&ENVELOPED) {
                return Err("referencja do dokumentu bez transformacji enveloped-signature".to_owned());
            }
            saw_document = true;
            canonicalize(root, &Scope::new(), Some(signature), method)
        } else {
            let id = uri.strip_prefix('#').ok_or("nieobsługiwany URI referencji")?;
            let path = path_to(root, &|e| ["Id", "ID", "id"].iter().any(|a| e.attr(a) == Some(id)))
                .ok_or("referencja do nieistniejącego elementu")?;
            let target = *path.last().ok_or("referencja do nieistniejącego elementu")?;
            canonicalize(target, &scope_of(&path), None, method)
        };
        let declared = reference.child("DigestValue").map(|d| d.text()).unwrap_or_default();
        if sha256_b64(canonical.as_bytes()) != declared.split_whitespace().collect::<String>() {
            return Err(format!("niezgodny skrót referencji '{uri}'"));
        }
    }
    if !saw_document {
        return Err("podpis nie obejmuje dokumentu".to_owned());
    }
    let cert_b64: String = path_to(signature, &|e| e.local() == "X509Certificate")
        .and_then(|p| p.last().map(|c| c.text()))
        .ok_or("brak certyfikatu w KeyInfo")?
        .split_whitespace()
        .collect();
    let cert_der = b64_decode(&cert_b64).ok_or("certyfikat nie jest poprawnym Base64")?;
    let cert =
        x509_cert::Certificate::from_der(&cert_der).map_err(|e| format!("nieprawidłowy certyfikat: {e}"))?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    let mut si_path = sig_path.clone();
    si_path.push(signed_info);
    let signed = canonicalize(signed_info, &scope_of(&si_path), None, si_method);
    let value: String =
        signature.child("SignatureValue").map(|v| v.text()).unwrap_or_default().split_whitespace().collect();
    let value = b64_decode(&value).ok_or("SignatureValue nie jest poprawnym Base64")?;
    let ok = match algorithm(signed_info, "SignatureMethod") {
        Some(RSA_SHA256) => {
            use rsa::signature::Verifier;
            let key = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|e| e.to_string())?;
            let sig = rsa::pkcs1v15::Signature::try_from(value.as_slice()).map_err(|e| e.to_string())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(signed.as_bytes(), &sig).is_ok()
        }
        Some(ECDSA_SHA256) => {
            use p256::ecdsa::signature::Verifier;
            let key = p256::PublicKey::from_public_key_der(&spki).map_err(|e| e.to_string())?;
            let sig = p256::ecdsa::Signature::from_slice(&value).map_err(|e| e.to_string())?;
            p256::ecdsa::VerifyingKey::from(&key).verify(signed.as_bytes(), &sig).is_ok()
        }
        other => return Err(format!("nieobsługiwany algorytm podpisu {other:?}")),
    };
    if !ok {
        return Err("podpis nie weryfikuje się kluczem z certyfikatu".to_owned());
    }
    Ok(Signer { cert_der, cert })
}

impl Signer {
    /// Subject attributes by OID (dotted), e.g. `2.5.4.97` organizationIdentifier.
    pub fn subject_attr(&self, oid: &str) -> Option<String> {
        self.cert.tbs_certificate.subject.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|atv| {
            (atv.oid.to_string() == oid).then(|| String::from_utf8_lossy(atv.value.value()).into_owned())
        })
    }

    /// The certificate's serial number, uppercase hex without leading zero bytes.
    pub fn serial_hex(&self) -> String {
        let bytes = self.cert.tbs_certificate.serial_number.as_bytes();
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        bytes[start..].iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Uppercase hex SHA-256 of the certificate.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(&self.cert_der).iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Whether the certificate is valid at `now`.
    pub fn valid_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        let v = &self.cert.tbs_certificate.validity;
        let secs = now.timestamp().max(0) as u64;
        v.not_before.to_unix_duration().as_secs() <= secs && secs <= v.not_after.to_unix_duration().as_secs()
    }
}
