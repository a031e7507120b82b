//! A small, hostile-input-safe XML tree (no DTD, no custom entities, no comments/PIs kept),
//! with the namespace bookkeeping exclusive canonicalisation needs.

use quick_xml::events::Event;
use quick_xml::Reader;

/// An element: qualified name, namespace declarations and other attributes as written.
#[derive(Clone, Debug, Default)]
pub struct Element {
    pub qname: String,
    /// (prefix, URI); the default namespace has prefix "".
    pub ns_decls: Vec<(String, String)>,
    /// (qualified name, normalised value), excluding namespace declarations.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// Element or character data.
#[derive(Clone, Debug)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("the document is not valid UTF-8")]
    Encoding,
    #[error("unreadable XML: {0}")]
    Syntax(String),
}

const MAX_DEPTH: usize = 64;

fn syntax(e: impl std::fmt::Display) -> TreeError {
    TreeError::Syntax(e.to_string())
}

/// Attribute-value normalisation (XML 1.0 §3.3.3) for CDATA attributes, then unescaping.
fn attr_value(raw: &[u8]) -> Result<String, TreeError> {
    let raw = std::str::from_utf8(raw).map_err(|_| TreeError::Encoding)?;
    let spaced = raw.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ");
    Ok(quick_xml::escape::unescape(&spaced).map_err(syntax)?.into_owned())
}

fn predefined(name: &[u8]) -> Option<char> {
    Some(match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        _ => return None,
    })
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(prev)) = top.children.last_mut() {
            prev.push_str(text);
        } else {
            top.children.push(Node::Text(text.to_owned()));
        }
    }
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, TreeError> {
    let qname = std::str::from_utf8(start.name().as_ref()).map_err(|_| TreeError::Encoding)?.to_owned();
    let mut el = Element { qname, ..Element::default() };
    for attr in start.attributes() {
        let attr = attr.map_err(syntax)?;
        let key = std::str::from_utf8(attr.key.as_ref()).map_err(|_| TreeError::Encoding)?.to_owned();
        let value = attr_value(&attr.value)?;
        if key == "xmlns" {
            el.ns_decls.push((String::new(), value));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            el.ns_decls.push((prefix.to_owned(), value));
        } else {
            el.attrs.push((key, value));
        }
    }
    Ok(el)
}

/// Parses a document into its root element.
pub fn parse(xml: &[u8]) -> Result<Element, TreeError> {
    std::str::from_utf8(xml).map_err(|_| TreeError::Encoding)?;
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(syntax)? {
            Event::DocType(_) => return Err(TreeError::Syntax("DTD is not allowed".to_owned())),
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH || root.is_some() {
                    return Err(TreeError::Syntax("too deep or content after the root".to_owned()));
                }
                stack.push(element(&s)?);
            }
            Event::Empty(s) => {
                let el = element(&s)?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| syntax("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content().map_err(syntax)?),
            Event::CData(c) => {
                push_text(&mut stack, &String::from_utf8_lossy(&c.into_inner()).replace("\r\n", "\n"))
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(syntax)? {
                    Some(c) => c,
                    None => predefined(&r).ok_or_else(|| syntax("unknown entity"))?,
                };
                push_text(&mut stack, ch.encode_utf8(&mut [0; 4]));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(syntax("unclosed element"));
    }
    root.ok_or_else(|| syntax("no root element"))
}

impl Element {
    /// Prefix and local name of the element.
    pub fn split(&self) -> (&str, &str) {
        self.qname.split_once(':').unwrap_or(("", &self.qname))
    }

    /// The local name.
    pub fn local(&self) -> &str {
        self.split().1
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with local name `local`.
    pub fn child(&self, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.local() == local)
    }

    /// The concatenated text of the element's direct text children.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// An attribute value by qualified name.
    pub fn attr(&self, qname: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == qname).map(|(_, v)| v.as_str())
    }
}
