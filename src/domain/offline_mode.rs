//! The offline modes KSeF's law knows (deadlines in `crate::offline`).

crate::text_enum! {
    /// Which offline mode an invoice was issued in.
    pub enum OfflineMode ("offline mode") {
        /// The issuer's choice, any reason: send by the end of the next business day.
        Offline24 = "offline24",
        /// KSeF unavailability announced by the Ministry.
        Unavailability = "unavailability",
        /// Emergency (awaria) declared by the Ministry.
        Emergency = "emergency"
    }
}

impl OfflineMode {
    /// The mode a request or form names, also by its Polish word `awaria` for an emergency.
    pub fn from_input(raw: &str) -> Result<Self, String> {
        match raw {
            "awaria" => Ok(Self::Emergency),
            other => Self::parse(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polish_word_names_an_emergency_and_unknown_modes_are_refused() {
        assert_eq!(OfflineMode::from_input("awaria"), Ok(OfflineMode::Emergency));
        assert_eq!(OfflineMode::from_input("offline24"), Ok(OfflineMode::Offline24));
        assert!(OfflineMode::from_input("offline").is_err());
    }
}
