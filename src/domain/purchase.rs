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
    /// How the panel names the role.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Buyer => "nabywca",
            Self::ThirdParty => "podmiot trzeci",
            Self::Authorized => "podmiot upoważniony",
        }
    }

    pub fn subject_type(self) -> SubjectType {
        match self {
            Self::Buyer => SubjectType::Subject2,
            Self::ThirdParty => SubjectType::Subject3,
            Self::Authorized => SubjectType::SubjectAuthorized,
        }
    }
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
}
