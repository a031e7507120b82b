//! Byte-level gate run before any XML parser sees a document: size, BOM, encoding, characters.
//!
//! KSeF accepts only UTF-8 without BOM and rejects the XML 1.0 forbidden characters and the
//! W3C "discouraged" code points (API_BRIEF §11). Checking the bytes first also means libxml2
//! is never handed UTF-16, Latin-2 or other input whose decoding it would have to guess.

use crate::finding::{Finding, KSEF_FILE_ERROR};

/// Largest invoice KSeF accepts without attachments (API_BRIEF §10: 1 000 000 B).
pub const MAX_INVOICE_BYTES: usize = 1_000_000;
/// Largest invoice KSeF accepts with a `Zalacznik` attachment (3 000 000 B).
pub const MAX_INVOICE_WITH_ATTACHMENT_BYTES: usize = 3_000_000;
/// Deepest element nesting we parse; FA(3) itself needs fewer than 12 levels.
pub const MAX_DEPTH: usize = 64;
/// Most attributes (namespace declarations included) on one element. FA(3) and UPO elements
/// carry at most a handful; the bound keeps duplicate-attribute checks (ours and libxml2's,
/// quadratic in the count) linear in the document's size.
pub const MAX_ATTRIBUTES: usize = 64;
/// Most namespace declarations in scope at once (on an element and its ancestors), so namespace
/// lookups in libxml2 stay cheap per element.
pub const MAX_NAMESPACES: usize = 64;
/// Longest element or attribute name, prefix included, in bytes; FA(3) names are under 40.
pub const MAX_NAME_BYTES: usize = 256;

/// Limits for one document.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Hard size limit in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting allowed.
    pub max_depth: usize,
}

impl Limits {
    /// Limits for an FA(3) invoice: the 1 MB rule is applied after the scan, once we know
    /// whether the document has an attachment.
    pub const INVOICE: Self = Self { max_bytes: MAX_INVOICE_WITH_ATTACHMENT_BYTES, max_depth: MAX_DEPTH };
    /// Limits for a UPO page (up to 10 000 entries per page, so far larger than an invoice).
    pub const UPO: Self = Self { max_bytes: 64_000_000, max_depth: MAX_DEPTH };
}

/// Checks the raw bytes; returns the text as `&str` when they are acceptable.
pub(crate) fn check_bytes(xml: &[u8], limits: Limits) -> Result<&str, Finding> {
    if xml.len() > limits.max_bytes {
        return Err(too_large(xml.len(), limits.max_bytes));
    }
    if xml.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Finding::error(
            "xml_bom",
            Some(KSEF_FILE_ERROR),
            "Plik zaczyna się od znacznika BOM; KSeF przyjmuje wyłącznie UTF-8 bez BOM. Zapisz plik jako UTF-8 bez BOM.",
            "The file starts with a byte order mark; KSeF accepts only UTF-8 without BOM.",
        )
        .at_line(Some(1)));
    }
    if looks_like_utf16_or_32(xml) {
        return Err(not_utf8("UTF-16/UTF-32").at_line(Some(1)));
    }
    let text = std::str::from_utf8(xml).map_err(|e| {
        let at = e.valid_up_to();
        Finding::error(
            "xml_invalid_utf8",
            Some(KSEF_FILE_ERROR),
            format!(
                "Plik nie jest poprawnym tekstem UTF-8 (bajt nr {}). Zapisz plik w kodowaniu UTF-8.",
                at + 1
            ),
            format!("The file is not valid UTF-8 (byte {}).", at + 1),
        )
        .at_line(Some(line_at(xml, at)))
    })?;
    if text.trim().is_empty() {
        return Err(Finding::error(
            "xml_empty",
            Some(KSEF_FILE_ERROR),
            "Plik jest pusty.",
            "The file is empty.",
        ));
    }
    check_chars(text)?;
    Ok(text)
}

/// The size finding, shared with the attachment-aware check after the scan.
pub(crate) fn too_large(len: usize, max: usize) -> Finding {
    Finding::error(
        "xml_too_large",
        Some(KSEF_FILE_ERROR),
        format!("Plik ma {len} bajtów; KSeF przyjmuje faktury do {max} bajtów."),
        format!("The file has {len} bytes; KSeF accepts invoices up to {max} bytes."),
    )
}

/// A structural bound of the gate (attributes, namespaces, name length) was exceeded.
pub(crate) fn over_limit(code: &'static str, what_pl: &str, what_en: &str, max: usize) -> Finding {
    Finding::error(
        code,
        Some(KSEF_FILE_ERROR),
        format!("{what_pl} (najwięcej {max}); to nie jest faktura FA(3)."),
        format!("{what_en} (at most {max}); this is not an FA(3) invoice."),
    )
}

/// The non-UTF-8 encoding finding (also used for a prolog declaring another encoding).
pub(crate) fn not_utf8(declared: &str) -> Finding {
    Finding::error(
        "xml_encoding_not_utf8",
        Some(KSEF_FILE_ERROR),
        format!("Plik jest w kodowaniu {declared}; KSeF przyjmuje wyłącznie UTF-8. Zapisz plik jako UTF-8."),
        format!("The file is encoded as {declared}; KSeF accepts UTF-8 only."),
    )
}

/// UTF-16/32 with or without BOM: the first character `<` has NUL bytes around it.
fn looks_like_utf16_or_32(xml: &[u8]) -> bool {
    xml.starts_with(&[0xFE, 0xFF])
        || xml.starts_with(&[0xFF, 0xFE])
        || xml.starts_with(&[0x00, 0x00, 0xFE, 0xFF])
        || xml.starts_with(&[0x00, b'<'])
        || xml.starts_with(&[b'<', 0x00])
}

/// Rejects characters XML 1.0 forbids and the code points KSeF rejects as discouraged.
fn check_chars(text: &str) -> Result<(), Finding> {
    let bytes = text.as_bytes();
    // Fast path: only control bytes and non-ASCII need a closer look.
    let Some(first) =
        bytes.iter().position(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b >= 0x7F)
    else {
        return Ok(());
    };
    for (offset, ch) in text[first..].char_indices() {
        check_char(ch).map_err(|f| f.at_line(Some(line_at(bytes, first + offset))))?;
    }
    Ok(())
}

/// One character (also used for character references such as `&#x1;`).
pub(crate) fn check_char(ch: char) -> Result<(), Finding> {
    let code = u32::from(ch);
    if (code < 0x20 && !matches!(ch, '\t' | '\n' | '\r')) || code == 0xFFFE || code == 0xFFFF {
        return Err(char_finding("xml_forbidden_char", code, "niedozwolony w XML", "not allowed in XML"));
    }
    if is_discouraged(code) {
        return Err(char_finding(
            "xml_discouraged_char",
            code,
            "odradzany przez W3C i odrzucany przez KSeF",
            "discouraged by W3C and rejected by KSeF",
        ));
    }
    Ok(())
}

/// W3C discouraged code points as KSeF lists them: #x7F–#x84, #x86–#x9F, #xFDD0–#xFDEF, #xnFFFE–#xnFFFF.
fn is_discouraged(code: u32) -> bool {
    matches!(code, 0x7F..=0x84 | 0x86..=0x9F | 0xFDD0..=0xFDEF)
        || (code > 0xFFFF && (code & 0xFFFE) == 0xFFFE)
}

fn char_finding(code: &'static str, ch: u32, why_pl: &str, why_en: &str) -> Finding {
    Finding::error(
        code,
        Some(KSEF_FILE_ERROR),
        format!("Plik zawiera znak U+{ch:04X}, {why_pl}. Usuń go z pliku."),
        format!("The file contains the character U+{ch:04X}, {why_en}."),
    )
}

/// 1-based line of a byte offset.
pub(crate) fn line_at(bytes: &[u8], offset: usize) -> u32 {
    let upto = bytes.get(..offset).unwrap_or(bytes);
    let newlines = upto.iter().filter(|&&b| b == b'\n').count();
    u32::try_from(newlines).map_or(u32::MAX, |n| n.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discouraged_code_points_match_the_ksef_list() {
        for code in [0x7F, 0x84, 0x86, 0x9F, 0xFDD0, 0xFDEF, 0x1FFFE, 0x10FFFF] {
            assert!(is_discouraged(code), "{code:X}");
        }
        for code in [0x85, 0xA0, 0xFDCF, 0xFDF0, 0x1FFFD, 0x20AC] {
            assert!(!is_discouraged(code), "{code:X}");
        }
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_at(b"a\nb\nc", 0), 1);
        assert_eq!(line_at(b"a\nb\nc", 4), 3);
    }
}
