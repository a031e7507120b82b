//! Batch packages: decrypting parts, checking the declared sizes and hashes, unzipping safely.

use std::io::Read;

use crate::crypto::{aes256cbc_decrypt, sha256_b64};

/// Most invoices a package may hold (API_BRIEF §10).
pub const MAX_INVOICES: usize = 10_000;
/// Largest single file read from a package (an invoice with attachments is ≤ 3 MB).
const MAX_ENTRY: u64 = 3_000_000;
/// Largest total uncompressed content accepted.
const MAX_TOTAL: u64 = 2_000_000_000;

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
    let mut archive = Vec::with_capacity(upload.file_size.min(MAX_TOTAL) as usize);
    for (ordinal, hash, data) in upload.parts {
        if sha256_b64(&data) != hash {
            return Err((405, format!("Błąd weryfikacji elementu paczki: skrót części {ordinal} jest niezgodny.")));
        }
        let plain = aes256cbc_decrypt(key, iv, &data).ok_or_else(|| (435, format!("Błąd odszyfrowania części {ordinal}.")))?;
        archive.extend_from_slice(&plain);
    }
    if archive.len() as u64 != upload.file_size || sha256_b64(&archive) != upload.file_hash {
        return Err((405, "Błąd weryfikacji paczki: rozmiar lub skrót archiwum jest niezgodny z deklaracją.".to_owned()));
    }
    unzip(&archive)
}

fn unzip(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let bad = |e: &dyn std::fmt::Display| (430, format!("Błąd dekompresji pakietu: {e}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| bad(&e))?;
    if zip.len() > MAX_INVOICES {
        return Err((420, format!("Przekroczony limit faktur w sesji ({} > {MAX_INVOICES}).", zip.len())));
    }
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(&e))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        if name.contains("..") || name.starts_with('/') || !name.to_ascii_lowercase().ends_with(".xml") {
            return Err((430, format!("Niedozwolony plik w paczce: {name}")));
        }
        // Sizes in the header can lie: read at most the limit plus one byte.
        let mut data = Vec::new();
        (&mut entry).take(MAX_ENTRY + 1).read_to_end(&mut data).map_err(|e| bad(&e))?;
        if data.len() as u64 > MAX_ENTRY {
            return Err((430, format!("Plik {name} przekracza dopuszczalny rozmiar.")));
        }
        total += data.len() as u64;
        if total > MAX_TOTAL {
            return Err((430, "Paczka po rozpakowaniu przekracza dopuszczalny rozmiar.".to_owned()));
        }
        let file_name = name.rsplit('/').next().unwrap_or(&name).to_owned();
        out.push((file_name, data));
    }
    Ok(out)
}
