//! XML canonicalisation without comments of an element subtree, optionally leaving one descendant
//! out (the enveloped-signature transform): exclusive (`xml-exc-c14n#`) or inclusive (C14N 1.0 and
//! 1.1, which agree on documents without `xml:*` attributes), all accepted by KSeF
//! (ksef-docs `auth/podpis-xades.md`, "allowed transforms").

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

/// The canonicalisation algorithms KSeF allows (the `#WithComments` variants are not supported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `http://www.w3.org/2001/10/xml-exc-c14n#`: only visibly utilised namespaces.
    Exclusive,
    /// C14N 1.0 / 1.1: every namespace in scope, including those inherited from outside the subtree.
    Inclusive,
}

impl Method {
    /// The method an `Algorithm` URI names, `None` for other (or unsupported) algorithms.
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/10/xml-exc-c14n#" => Some(Self::Exclusive),
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" | "http://www.w3.org/2006/12/xml-c14n11" => {
                Some(Self::Inclusive)
            }
            _ => None,
        }
    }
}

/// Canonical bytes of `el`, whose ancestors declare `scope`; `skip` (compared by address) is left out.
pub fn canonicalize(el: &Element, scope: &Scope, skip: Option<&Element>, method: Method) -> String {
    let mut out = String::new();
    render(el, scope, &Scope::new(), skip, method, &mut out);
    out
}

fn render(
    el: &Element,
    parent_scope: &Scope,
    rendered: &Scope,
    skip: Option<&Element>,
    method: Method,
    out: &mut String,
) {
    let mut scope = parent_scope.clone();
    for (p, uri) in &el.ns_decls {
        scope.insert(p.clone(), uri.clone());
    }
    // Exclusive: the visibly utilised prefixes (the element's own and its attributes').
    // Inclusive: every binding in scope; either way only those the output parent lacks are written.
    let used: Vec<String> = match method {
        Method::Exclusive => {
            let mut used = vec![el.split().0.to_owned()];
            used.extend(el.attrs.iter().filter_map(|(k, _)| k.split_once(':').map(|(p, _)| p.to_owned())));
            used
        }
        Method::Inclusive => scope.keys().cloned().collect(),
    };
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
            Node::Element(c) => render(c, &scope, &now_rendered, skip, method, out),
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
            canonicalize(&root, &Scope::new(), None, Method::Exclusive),
            "<a:R xmlns:a=\"urn:a\" y=\"&#x9;x\" z=\"1\"><a:E></a:E><b:F xmlns:b=\"urn:b\" a:k=\"1\" b:k=\"2\">t&amp;A\n</b:F></a:R>"
        );
        let f = root.child("F").cloned().unwrap_or_default();
        let mut scope = Scope::new();
        scope.insert("a".to_owned(), "urn:a".to_owned());
        scope.insert("b".to_owned(), "urn:b".to_owned());
        assert!(canonicalize(&f, &scope, None, Method::Exclusive)
            .starts_with("<b:F xmlns:a=\"urn:a\" xmlns:b=\"urn:b\""));
    }

    #[test]
    fn inclusive_form_keeps_every_namespace_in_scope() {
        let xml =
            "<R xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><a:E xmlns:a=\"urn:a\"><F/></a:E></R>";
        let root = parse(xml.as_bytes()).ok().unwrap_or_default();
        assert_eq!(
            canonicalize(&root, &Scope::new(), None, Method::Inclusive),
            "<R xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><a:E><F></F></a:E></R>"
        );
        // A subtree (e.g. SignedProperties) carries the bindings it inherits, the default one too.
        let e = root.child("E").cloned().unwrap_or_default();
        let scope: Scope = [("", "urn:d"), ("a", "urn:a"), ("b", "urn:b")]
            .iter()
            .map(|(p, u)| ((*p).to_owned(), (*u).to_owned()))
            .collect();
        assert_eq!(
            canonicalize(&e, &scope, None, Method::Inclusive),
            "<a:E xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><F></F></a:E>"
        );
        assert_eq!(
            canonicalize(&e, &scope, None, Method::Exclusive),
            "<a:E xmlns:a=\"urn:a\"><F xmlns=\"urn:d\"></F></a:E>"
        );
    }

    #[test]
    fn refuses_dtds() {
        assert!(parse(b"<!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>").is_err());
    }
}
