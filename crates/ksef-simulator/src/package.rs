//! Batch packages: decrypting parts, checking the declared sizes and hashes, unzipping safely.

use crate::crypto::{aes256cbc_decrypt, sha256_b64};

/// Most invoices a package may hold (API_BRIEF §10).
pub const MAX_INVOICES: usize = 10_000;

/// A session-level batch failure: (status code, description).
pub type Failure = (u16, String);

/// An uploaded package: what was declared at open and the uploaded encrypted parts.
pub struct Upload {
    pub file_size: u64,
    pub file_hash: String,
    /// (ordinal, declared hash, encrypted bytes) per part, in order.
    pub parts: Vec<(u32, String, Vec<u8>)>,
}

/// Decrypts and joins the parts, verifies the declared archive size and hash, and unzips it into
/// (file name, bytes) pairs of the `.xml` entries.
pub fn unpack(upload: Upload, key: &[u8; 32], iv: &[u8; 16]) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut archive = Vec::with_capacity(upload.parts.iter().map(|p| p.2.len()).sum());
    for (ordinal, hash, data) in upload.parts {
        if sha256_b64(&data) != hash {
            return Err((
                405,
                format!("Błąd weryfikacji elementu paczki: skrót części {ordinal} jest niezgodny."),
            ));
        }
        let plain = aes256cbc_decrypt(key, iv, &data)
            .ok_or_else(|| (435, format!("Błąd odszyfrowania części {ordinal}.")))?;
        archive.extend_from_slice(&plain);
    }
    if archive.len() as u64 != upload.file_size || sha256_b64(&archive) != upload.file_hash {
        return Err((
            405,
            "Błąd weryfikacji paczki: rozmiar lub skrót archiwum jest niezgodny z deklaracją.".to_owned(),
        ));
    }
    unzip(&archive)
}

fn unzip(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let limits = ksef_fa3::package::PackageLimits { max_entries: MAX_INVOICES, ..Default::default() };
    match ksef_fa3::package::read_zip(archive, &limits) {
        Ok(entries) => Ok(entries
            .into_iter()
            .map(|e| (e.name.rsplit('/').next().unwrap_or(&e.name).to_owned(), e.bytes))
            .collect()),
        Err(ksef_fa3::Fa3Error::PackageTooManyEntries { limit }) => {
            Err((420, format!("Przekroczony limit faktur w sesji ({limit}).")))
        }
        Err(e) => Err((430, format!("Błąd dekompresji pakietu: {e}"))),
    }
}
