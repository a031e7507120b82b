//! Exclusive XML canonicalisation without comments (`http://www.w3.org/2001/10/xml-exc-c14n#`)
//! of an element subtree, optionally leaving one descendant out (the enveloped-signature transform).

use std::collections::BTreeMap;

use super::tree::{Element, Node};

/// Namespace bindings: prefix → URI.
pub type Scope = BTreeMap<String, String>;

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Canonical bytes of `el`, whose ancestors declare `scope`; `skip` (compared by address) is left out.
pub fn canonicalize(el: &Element, scope: &Scope, skip: Option<&Element>) -> String {
    let mut out = String::new();
    render(el, scope, &Scope::new(), skip, &mut out);
    out
}

fn render(el: &Element, parent_scope: &Scope, rendered: &Scope, skip: Option<&Element>, out: &mut String) {
    let mut scope = parent_scope.clone();
    for (p, uri) in &el.ns_decls {
        scope.insert(p.clone(), uri.clone());
    }
    // Visibly utilised prefixes: the element's own and those of its prefixed attributes.
    let mut used: Vec<String> = vec![el.split().0.to_owned()];
    used.extend(el.attrs.iter().filter_map(|(k, _)| k.split_once(':').map(|(p, _)| p.to_owned())));
    let mut now_rendered = rendered.clone();
    let mut decls: Vec<(String, String)> = Vec::new();
    for prefix in used {
        let uri = scope.get(&prefix).cloned().unwrap_or_default();
        let already = rendered.get(&prefix).cloned().unwrap_or_default();
        if uri != already && !decls.iter().any(|(p, _)| *p == prefix) {
            decls.push((prefix.clone(), uri.clone()));
            now_rendered.insert(prefix, uri);
        }
    }
    decls.sort();
    // Attributes sort by (namespace URI, local name); unqualified ones have no namespace.
    let mut attrs: Vec<(String, &str, &str, &str)> = el
        .attrs
        .iter()
        .map(|(k, v)| match k.split_once(':') {
            Some((p, l)) => (scope.get(p).cloned().unwrap_or_default(), l, k.as_str(), v.as_str()),
            None => (String::new(), k.as_str(), k.as_str(), v.as_str()),
        })
        .collect();
    attrs.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out.push('<');
    out.push_str(&el.qname);
    for (p, uri) in &decls {
        out.push_str(if p.is_empty() { " xmlns" } else { " xmlns:" });
        out.push_str(p);
        out.push_str("=\"");
        escape_attr(uri, out);
        out.push('"');
    }
    for (_, _, qname, value) in &attrs {
        out.push(' ');
        out.push_str(qname);
        out.push_str("=\"");
        escape_attr(value, out);
        out.push('"');
    }
    out.push('>');
    for child in &el.children {
        match child {
            Node::Text(t) => escape_text(t, out),
            Node::Element(c) if skip.is_some_and(|s| std::ptr::eq(s, c)) => {}
            Node::Element(c) => render(c, &scope, &now_rendered, skip, out),
        }
    }
    out.push_str("</");
    out.push_str(&el.qname);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xades::tree::parse;

    #[test]
    fn renders_exclusive_canonical_form() {
        let xml = "<?xml version=\"1.0\"?>\r\n<a:R xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" y=\"&#x9;x\"><!-- c --><a:E/><b:F b:k='2' a:k=\"1\">t&amp;&#x41;\r\n</b:F></a:R>";
        let root = parse(xml.as_bytes()).ok().unwrap_or_default();
        assert_eq!(
            canonicalize(&root, &Scope::new(), None),
            "<a:R xmlns:a=\"urn:a\" y=\"&#x9;x\" z=\"1\"><a:E></a:E><b:F xmlns:b=\"urn:b\" a:k=\"1\" b:k=\"2\">t&amp;A\n</b:F></a:R>"
        );
        let f = root.child("F").cloned().unwrap_or_default();
        let mut scope = Scope::new();
        scope.insert("a".to_owned(), "urn:a".to_owned());
        scope.insert("b".to_owned(), "urn:b".to_owned());
        assert!(canonicalize(&f, &scope, None).starts_with("<b:F xmlns:a=\"urn:a\" xmlns:b=\"urn:b\""));
    }

    #[test]
    fn refuses_dtds() {
        assert!(parse(b"<!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>").is_err());
    }
}
