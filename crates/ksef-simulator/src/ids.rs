//! Identifiers in the official shapes: reference numbers, challenges, KSeF numbers.

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;

fn random_hex(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16)])).collect()
}

/// A 36-character reference number `YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-XX` (`TT`: CR challenge, AU auth,
/// SO online session, SB batch session, EE invoice, EU UPO page, EC KSeF token, per the official examples).
pub fn reference_number(tag: &str, at: DateTime<Utc>) -> String {
    format!("{}-{}-{}-{}-{}", at.format("%Y%m%d"), tag, random_hex(10), random_hex(10), random_hex(2))
}

/// CRC-8, polynomial 0x07, init 0, no reflection, no final XOR (API_BRIEF §9).
pub fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |mut crc, byte| {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
        crc
    })
}

/// A 35-character KSeF number `NNNNNNNNNN-YYYYMMDD-HHHHHHHHHHHH-CC` with a valid checksum.
pub fn ksef_number(seller_nip: &str, date: NaiveDate) -> String {
    let body = format!("{}-{}-{}", seller_nip, date.format("%Y%m%d"), random_hex(12));
    format!("{}-{:02X}", body, crc8(body.as_bytes()))
}

/// A 35-character collective identifier (IZ) `NNNNNNNNNN-IZYYYYMM-HHHHHHHHHHHH-CC`: the seller's
/// NIP, the month of creation, 12 hex characters and the same CRC-8 as KSeF numbers.
pub fn collective_identifier(seller_nip: &str, at: DateTime<Utc>) -> String {
    let body = format!("{}-IZ{}-{}", seller_nip, at.format("%Y%m"), random_hex(12));
    format!("{}-{:02X}", body, crc8(body.as_bytes()))
}

/// Whether `number` has the shape of a collective identifier with a correct checksum.
pub fn collective_identifier_is_valid(number: &str) -> bool {
    let b = number.as_bytes();
    number.len() == 35
        && b[..10].iter().all(u8::is_ascii_digit)
        && &number[10..13] == "-IZ"
        && b[13..19].iter().all(u8::is_ascii_digit)
        && b[19] == b'-'
        && b[20..32].iter().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
        && b[32] == b'-'
        && u8::from_str_radix(&number[33..], 16).ok() == Some(crc8(&b[..32]))
        && number[33..].bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
}

/// Whether `number` is a 35-character KSeF number with a correct checksum.
pub fn ksef_number_is_valid(number: &str) -> bool {
    number.len() == 35
        && number.is_ascii()
        && number.get(33..).and_then(|cc| u8::from_str_radix(cc, 16).ok())
            == number.get(..32).map(|body| crc8(body.as_bytes()))
        && number.get(32..33) == Some("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_ksef_numbers_check() {
        for n in [
            "5265877635-20250826-0100001AF629-AF",
            "5265877635-20250916-0200A0D6723E-C2",
            "5265877635-20250729-01004014E040-00",
            "5555555555-20250828-010080615740-E4",
        ] {
            assert!(ksef_number_is_valid(n), "{n}");
        }
        assert!(!ksef_number_is_valid("5555555555-20250808-9231003CA67B-BE"));
        assert!(!ksef_number_is_valid("5265877635-20250826-0100001AF629-A"));
    }

    #[test]
    fn collective_identifiers_follow_the_published_format() {
        // The example of the official description of POST /collective-identifiers.
        assert!(collective_identifier_is_valid("1111111111-IZ202607-65ED02180000-E7"));
        for wrong in [
            "1111111111-IZ202607-65ED02180000-E6",
            "1111111111-IZ202607-65ed02180000-E7",
            "1111111111-XX202607-65ED02180000-E7",
            "1111111111-IZ202607-65ED02180000-E",
            "5265877635-20250826-0100001AF629-AF",
        ] {
            assert!(!collective_identifier_is_valid(wrong), "{wrong}");
        }
        let Some(at) = NaiveDate::from_ymd_opt(2026, 7, 15).and_then(|d| d.and_hms_opt(10, 0, 0)) else {
            panic!("a valid date")
        };
        let at = at.and_utc();
        let n = collective_identifier("9999999999", at);
        assert!(n.starts_with("9999999999-IZ202607-"), "{n}");
        assert!(collective_identifier_is_valid(&n), "{n}");
    }

    #[test]
    fn generated_identifiers_have_official_shapes() {
        let now = Utc::now();
        let n = ksef_number("9999999999", now.date_naive());
        assert!(ksef_number_is_valid(&n), "{n}");
        let r = reference_number("CR", now);
        assert_eq!(r.len(), 36);
        assert_eq!(&r[8..12], "-CR-");
    }
}
