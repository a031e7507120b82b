//! Seller NIP against the client the gateway sends for, and NIP checksums of every party.

use crate::finding::{Finding, KSEF_PERMISSION_ERROR, KSEF_SEMANTIC_ERROR};
use crate::xmltree::Tree;

use super::place;

/// Parties whose `DaneIdentyfikacyjne/NIP` KSeF verifies (on PRD), with their Polish genitive.
const PARTIES: &[(&str, &str, &str)] = &[
    ("Podmiot1", "sprzedawcy", "seller"),
    ("Podmiot2", "nabywcy", "buyer"),
    ("Podmiot3", "podmiotu trzeciego", "third party"),
    ("PodmiotUpowazniony", "podmiotu upoważnionego", "authorised party"),
];

/// Whether a 10-digit NIP has a valid checksum: weights 6,5,7,2,3,4,5,6,7 over the first nine digits, mod 11, equals the tenth.
pub fn nip_checksum_ok(nip: &str) -> bool {
    let digits: Vec<u32> = nip.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || nip.len() != 10 {
        return false;
    }
    let sum: u32 = [6, 5, 7, 2, 3, 4, 5, 6, 7].iter().zip(&digits).map(|(w, d)| w * d).sum();
    sum % 11 == digits[9]
}

/// Digits only, so "123-456-78-90" and "PL1234567890" compare equal to "1234567890".
fn digits(nip: &str) -> String {
    nip.chars().filter(char::is_ascii_digit).collect()
}

pub(super) fn seller_matches_client(tree: &Tree, client_nip: Option<&str>, findings: &mut Vec<Finding>) {
    let (Some(client), Some(node)) = (client_nip, tree.at(&["Podmiot1", "DaneIdentyfikacyjne", "NIP"]))
    else {
        return;
    };
    let seller = tree.text(node);
    if digits(seller) != digits(client) {
        let client = digits(client);
        findings.push(place(
            Finding::error(
                "seller_not_client",
                Some(KSEF_PERMISSION_ERROR),
                format!("NIP sprzedawcy {seller} nie jest NIP-em klienta {client}, w imieniu którego wysyłasz fakturę."),
                format!("The seller's NIP {seller} is not the NIP {client} of the client you are sending for."),
            ),
            tree,
            node,
        ));
    }
}

pub(super) fn checksums(tree: &Tree, findings: &mut Vec<Finding>) {
    for &(party, pl, en) in PARTIES {
        for node in tree.children(0, party) {
            let Some(nip) = tree.walk(node, &["DaneIdentyfikacyjne", "NIP"]) else { continue };
            let value = tree.text(nip);
            // Other shapes are the XSD pattern's finding.
            let well_formed = value.len() == 10 && value.bytes().all(|b| b.is_ascii_digit());
            if well_formed && !nip_checksum_ok(value) {
                findings.push(place(
                    Finding::error(
                        "nip_checksum",
                        Some(KSEF_SEMANTIC_ERROR),
                        format!("NIP {pl} {value} ma nieprawidłową sumę kontrolną."),
                        format!("The {en}'s NIP {value} has an invalid checksum."),
                    ),
                    tree,
                    nip,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_of_known_numbers() {
        // 9999999999 is the official samples' seller; 5265877635 appears in the KSeF OpenAPI examples.
        for good in ["9999999999", "1111111111", "5265877635"] {
            assert!(nip_checksum_ok(good), "{good}");
        }
        for bad in ["1234567890", "9999999998", "123456789", "12345678901", "52658776a5"] {
            assert!(!nip_checksum_ok(bad), "{bad}");
        }
    }
}
