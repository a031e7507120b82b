//! KSeF numbers: `NNNNNNNNNN-YYYYMMDD-HHHHHHHHHHHH-CC` (seller NIP, acceptance date, 12 uppercase hex
//! digits, CRC-8 checksum). The checksum is CRC-8 with polynomial 0x07, init 0x00, MSB first, no final
//! XOR, over the ASCII bytes of the first 32 characters, printed as two uppercase hex digits.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::error::KsefError;

/// Length of a KSeF 2.0 number.
pub const LEN: usize = 35;

/// CRC-8 (poly 0x07, init 0, no reflection, no xorout).
pub fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |crc, byte| {
        (0..8).fold(crc ^ byte, |c, _| if c & 0x80 != 0 { (c << 1) ^ 0x07 } else { c << 1 })
    })
}

/// Checksum (two uppercase hex digits) for the first 32 characters of a KSeF number.
pub fn checksum(data32: &str) -> String {
    format!("{:02X}", crc8(data32.as_bytes()))
}

/// A syntactically valid KSeF 2.0 number with a correct checksum.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KsefNumber(String);

impl KsefNumber {
    /// Parses and validates format, date and checksum.
    pub fn parse(text: &str) -> Result<Self, KsefError> {
        let invalid = |why: &str| KsefError::InvalidInput(format!("invalid KSeF number {text:?}: {why}"));
        if text.len() != LEN || !text.is_ascii() {
            return Err(invalid("must be 35 ASCII characters"));
        }
        let parts: Vec<&str> = text.split('-').collect();
        let [nip, date, hex, crc] = parts.as_slice() else {
            return Err(invalid("expected 4 dash-separated parts"));
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let upper_hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        if nip.len() != 10 || !digits(nip) {
            return Err(invalid("seller NIP must be 10 digits"));
        }
        if date.len() != 8 || NaiveDate::parse_from_str(date, "%Y%m%d").is_err() {
            return Err(invalid("date must be YYYYMMDD"));
        }
        if hex.len() != 12 || !upper_hex(hex) || crc.len() != 2 || !upper_hex(crc) {
            return Err(invalid("technical part must be 12 and checksum 2 uppercase hex digits"));
        }
        let expected = checksum(&text[..32]);
        if *crc != expected {
            return Err(invalid(&format!("checksum {crc} does not match {expected}")));
        }
        Ok(Self(text.to_owned()))
    }

    /// True when `text` is a valid KSeF 2.0 number.
    pub fn is_valid(text: &str) -> bool {
        Self::parse(text).is_ok()
    }

    /// The seller's NIP (first 10 digits).
    pub fn seller_nip(&self) -> &str {
        &self.0[..10]
    }

    /// The date the number was assigned (the invoice's receipt date in KSeF).
    pub fn date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.0[11..19], "%Y%m%d").ok()
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KsefNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KsefNumber {
    type Err = KsefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn documented_example_parses() {
        let n = KsefNumber::parse("5265877635-20250826-0100001AF629-AF").unwrap();
        assert_eq!(n.seller_nip(), "5265877635");
        assert_eq!(n.date(), NaiveDate::from_ymd_opt(2025, 8, 26));
        assert_eq!(checksum("5265877635-20250826-0100001AF629"), "AF");
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "5265877635-20250826-0100001AF629-A",   // 34 chars
            "5265877635-20250826-0100001AF629-AF0", // 36 chars
            "5265877635-20251326-0100001AF629-AF",  // month 13
            "5265877635-20250826-0100001af629-AF",  // lowercase hex
            "526587763X-20250826-0100001AF629-AF",  // letter in NIP
            "5265877635_20250826-0100001AF629-AF",  // wrong separator
            "5265877635-20250826-0100001AF629-AE",  // wrong checksum
        ] {
            assert!(!KsefNumber::is_valid(bad), "{bad} accepted");
        }
    }
}
