//! Purchase invoices: what a client receives through KSeF.

use ksef_client::models::query::SubjectType;

crate::text_enum! {
    /// The client's role on a received invoice, i.e. which KSeF subject type finds it.
    pub enum PurchaseRole ("purchase role") {
        /// Podmiot2: the client is the buyer.
        Buyer = "buyer",
        /// Podmiot3: the client is a third party named on the invoice (e.g. the payer).
        ThirdParty = "third_party",
        /// The client is the authorised subject (e.g. a tax representative).
        Authorized = "authorized"
    }
}

impl PurchaseRole {
    /// The subject type KSeF's queries and exports are asked with.
    pub fn subject_type(self) -> SubjectType {
        match self {
            Self::Buyer => SubjectType::Subject2,
            Self::ThirdParty => SubjectType::Subject3,
            Self::Authorized => SubjectType::SubjectAuthorized,
        }
    }
}

/// An amount in minor units (grosze for PLN) from KSeF's decimal number, rounded half away from
/// zero: KSeF reports amounts with at most two decimals, so this is exact for every real invoice.
pub fn minor_units(amount: f64) -> i64 {
    // Rounded before the cast, which saturates: no invoice amount is anywhere near i64's range.
    (amount * 100.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_is_an_error() {
        for role in PurchaseRole::ALL {
            assert_eq!(PurchaseRole::parse(role.as_str()), Ok(*role));
        }
        match PurchaseRole::parse("seller") {
            Err(err) => assert!(err.contains("buyer, third_party, authorized"), "{err}"),
            Ok(role) => panic!("\"seller\" parsed as {role}"),
        }
    }

    #[test]
    fn minor_units_round_decimal_amounts() {
        assert_eq!(minor_units(2051.0), 205_100);
        assert_eq!(minor_units(0.1 + 0.2), 30);
        assert_eq!(minor_units(-12.345), -1235);
        assert_eq!(minor_units(1234.56), 123_456);
    }
}
