//! A client's NIP as a type: the Polish tax id a client is known by, checked once where it comes
//! in (a form, a URL, the CLI, the database) and passed on as `Nip`. Like the ids
//! (`src/domain/ids.rs`) it is stored as the same `TEXT` it always was (10 digits, no migration),
//! reads back as exactly that text, serialises to JSON as a plain string, and a stored value that
//! is no valid NIP is a read error, never a default. Tax ids that need not be Polish (an invoice's
//! buyer, a purchase invoice's parties, what KSeF sends) stay text.

/// A Polish tax identification number with a valid checksum, held as its 10 digits.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Nip(String);

impl Nip {
    /// Accepts 10 digits, optionally written with dashes or spaces, with a valid checksum
    /// (weights 6,5,7,2,3,4,5,6,7; sum mod 11 equals the last digit; 10 is never valid).
    /// For what a person types; text the gateway wrote itself is read with [`Nip::exact`].
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("NIP must have 10 digits, got {raw:?}"));
        }
        const WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = WEIGHTS.iter().zip(&d).map(|(w, x)| w * x).sum();
        if sum % 11 != d[9] {
            return Err(format!("NIP {digits} has an invalid checksum"));
        }
        Ok(Self(digits))
    }

    /// The NIP spelled exactly `raw`: its 10 digits as the gateway stores and links them. A
    /// stored value or a URL written any other way (dashes, spaces) names no client, as the
    /// text compared with the column never did, so it is an error here too.
    pub fn exact(raw: &str) -> Result<Self, String> {
        let nip = Self::parse(raw)?;
        if nip.0 == raw {
            Ok(nip)
        } else {
            Err(format!("NIP {raw:?} is not written as its 10 digits"))
        }
    }

    /// The stored and shown text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Exact, as [`Nip::exact`], for `str::parse` and a database read: the text of a URL or a stored
// value (`http::id_in_path` reads a path's NIP with it).
crate::text_newtype!(Nip, exact);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nip_checksum() {
        assert!(Nip::parse("5260250274").is_ok());
        assert_eq!(Nip::parse("526-025-02-74").map(|n| n.to_string()), Ok("5260250274".to_owned()));
        assert!(Nip::parse("5260250275").is_err());
        assert!(Nip::parse("52602502").is_err());
        assert!(Nip::parse("52602502x4").is_err());
    }

    #[test]
    fn exact_takes_only_the_ten_digits() {
        assert_eq!("5260250274".parse::<Nip>().map(String::from), Ok("5260250274".to_owned()));
        for bad in ["526-025-02-74", "526 025 02 74", " 5260250274", "5260250275", "", "../5260250274"] {
            assert!(Nip::exact(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn json_is_the_plain_text() -> Result<(), serde_json::Error> {
        let nip = Nip::exact("5260250274").map_err(serde::ser::Error::custom)?;
        assert_eq!(serde_json::to_string(&nip)?, "\"5260250274\"");
        Ok(())
    }
}
