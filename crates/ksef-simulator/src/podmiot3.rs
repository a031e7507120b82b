//! Third parties of an FA(3) invoice (`Podmiot3`): the `Subject3` view and `thirdSubjects` of the
//! metadata. Runs only on XML that already passed the gate (well-formed, no DTD, valid FA(3)).

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::state::ThirdSubject;

/// Identifier, name and role of one `Podmiot3` being read.
#[derive(Default)]
struct Draft {
    id_type: Option<&'static str>,
    id_value: Option<String>,
    name: Option<String>,
    role: Option<i32>,
}

impl Draft {
    fn finish(self) -> ThirdSubject {
        ThirdSubject {
            id_type: self.id_type.unwrap_or("None"),
            id_value: self.id_value,
            name: self.name,
            role: self.role.unwrap_or(0),
        }
    }

    /// Records the text of the element `name` whose parent is `parent`.
    fn take(&mut self, parent: &str, name: &str, text: String) {
        match (parent, name) {
            ("DaneIdentyfikacyjne", "NIP") => (self.id_type, self.id_value) = (Some("Nip"), Some(text)),
            ("DaneIdentyfikacyjne", "IDWew") => {
                (self.id_type, self.id_value) = (Some("InternalId"), Some(text))
            }
            ("DaneIdentyfikacyjne", "NrVatUE") => (self.id_type, self.id_value) = (Some("VatUe"), Some(text)),
            ("DaneIdentyfikacyjne", "NrID") => (self.id_type, self.id_value) = (Some("Other"), Some(text)),
            ("DaneIdentyfikacyjne", "BrakID") => self.id_type = Some("None"),
            ("DaneIdentyfikacyjne", "Nazwa") => self.name = Some(text),
            ("Podmiot3", "Rola") => self.role = text.trim().parse().ok(),
            ("Podmiot3", "RolaInna") => self.role = Some(0),
            _ => {}
        }
    }
}

fn local(qname: &[u8]) -> String {
    let name = String::from_utf8_lossy(qname);
    name.rsplit(':').next().unwrap_or_default().to_owned()
}

/// The `Podmiot3` entries of `xml`, in document order.
pub fn third_subjects(xml: &[u8]) -> Vec<ThirdSubject> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut current: Option<Draft> = None;
    let mut found = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(s)) => {
                let name = local(s.name().as_ref());
                if path.len() == 1 && name == "Podmiot3" {
                    current = Some(Draft::default());
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content().unwrap_or_default()),
            Ok(Event::GeneralRef(r)) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*r {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        _ => None,
                    },
                };
                text.extend(ch);
            }
            Ok(Event::End(_)) => {
                let name = path.pop().unwrap_or_default();
                if let (Some(draft), Some(parent)) = (current.as_mut(), path.last()) {
                    draft.take(parent, &name, std::mem::take(&mut text));
                }
                if path.len() == 1 && name == "Podmiot3" {
                    found.extend(current.take().map(Draft::finish));
                }
                text.clear();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_identifier_name_and_role() {
        let xml = br#"<Faktura xmlns="x"><Podmiot1/><Podmiot3><DaneIdentyfikacyjne><NIP>1111111111</NIP>
            <Nazwa>A &amp; B</Nazwa></DaneIdentyfikacyjne><Rola>4</Rola></Podmiot3>
            <Podmiot3><DaneIdentyfikacyjne><BrakID>1</BrakID></DaneIdentyfikacyjne><RolaInna>1</RolaInna>
            <OpisRoli>x</OpisRoli></Podmiot3><Fa><P_2>1</P_2></Fa></Faktura>"#;
        let found = third_subjects(xml);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0],
            ThirdSubject {
                id_type: "Nip",
                id_value: Some("1111111111".into()),
                name: Some("A & B".into()),
                role: 4
            }
        );
        assert_eq!((found[1].id_type, found[1].role), ("None", 0));
    }
}
