//! Worst-case document shapes of about 1 MB for the hostile-input gate, shared by the tests
//! (which check each is refused, or accepted, quickly) and `benches/hostile.rs` (which times them).
//!
//! Each shape fills [`SIZE`] bytes with the one construct whose cost could grow faster than the
//! input: attributes of one element, nesting, names, namespace declarations, elements.

/// Just under KSeF's 1 000 000 B limit, so the size check alone refuses none of them.
pub const SIZE: usize = 990_000;

const OPEN: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"";

/// Repeats `unit(i)` until the document (with `head` and `tail`) reaches [`SIZE`].
fn fill(head: &str, unit: impl Fn(usize) -> String, tail: &str) -> Vec<u8> {
    let mut xml = String::from(head);
    let mut i = 0;
    while xml.len() + tail.len() < SIZE {
        xml.push_str(&unit(i));
        i += 1;
    }
    xml.push_str(tail);
    xml.into_bytes()
}

/// (name, document) of every shape.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("many_attributes", fill(OPEN, |i| format!(" a{i}=\"\""), "/>")),
        ("many_namespaces", fill(OPEN, |i| format!(" xmlns:p{i}=\"u\""), "/>")),
        ("deep_nesting", fill(&format!("{OPEN}>"), |_| "<a>".to_owned(), "")),
        ("long_element_name", fill(&format!("{OPEN}><"), |_| "a".to_owned(), "/></Faktura>")),
        ("long_attribute_name", fill(&format!("{OPEN} "), |_| "a".to_owned(), "=\"\"/>")),
        ("many_tiny_elements", fill(&format!("{OPEN}>"), |_| "<a/>".to_owned(), "</Faktura>")),
        (
            "many_elements_at_attribute_limit",
            fill(&format!("{OPEN}>"), |_| attributes_at_limit(), "</Faktura>"),
        ),
        ("nesting_at_depth_limit", fill(&format!("{OPEN}>"), |_| nested_at_limit(), "</Faktura>")),
        (
            "prefixed_elements_under_many_namespaces",
            fill(&namespaces_at_limit(), |_| "<p0:a/>".to_owned(), "</Faktura>"),
        ),
    ]
}

/// An element with as many attributes as the gate allows.
fn attributes_at_limit() -> String {
    let attrs: String = (0..ksef_fa3::MAX_ATTRIBUTES).map(|i| format!(" a{i}=\"\"")).collect();
    format!("<e{attrs}/>")
}

/// A chain of elements just inside the depth limit (the root is one level).
fn nested_at_limit() -> String {
    let depth = ksef_fa3::MAX_DEPTH - 1;
    format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
}

/// A root declaring as many namespaces as the gate allows.
fn namespaces_at_limit() -> String {
    let decls: String = (1..ksef_fa3::MAX_ATTRIBUTES - 1).map(|i| format!(" xmlns:p{i}=\"u{i}\"")).collect();
    format!("{OPEN} xmlns:p0=\"u\"{decls}>")
}
