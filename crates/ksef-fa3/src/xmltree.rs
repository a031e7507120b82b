//! A small, safe element tree built with quick-xml: no DTD, no entities, bounded depth.
//!
//! This pass doubles as the structural half of the hostile-input gate (DOCTYPE, entity
//! declarations, processing instructions, foreign encodings, nesting depth, truncation), so
//! libxml2 only ever parses documents that already passed it. The tree keeps local names,
//! lines and text: enough for facts, semantic checks and for placing XSD errors on a path.

use std::borrow::Cow;
use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::finding::{Finding, KSEF_FILE_ERROR};
use crate::hostile::{self, Limits};

/// One element.
#[derive(Debug)]
pub(crate) struct Node {
    /// Local name (prefix stripped), as an index into [`Tree::names`]: one string per distinct
    /// name instead of one per element, and integer comparisons when looking children up.
    pub name: u32,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Line of the `<` of the start tag.
    pub line: u32,
    /// Line of the `>` of the start tag (libxml2 reports this one for start-tag errors).
    pub line_end: u32,
    /// Line of the `>` of the end tag (libxml2's streaming validation reports content errors,
    /// such as a missing child, there).
    pub line_close: u32,
    /// Text content of a leaf element (entities resolved, not trimmed).
    pub text: String,
    /// The start tag's content (name and attributes) when it has attributes, read again by
    /// [`Tree::attr`]: the gate checks every attribute, but only a few are ever looked up, so
    /// they are not copied out one by one.
    pub tag: Option<Box<str>>,
    /// Length of the qualified name at the start of `tag`.
    pub name_len: usize,
    /// 1-based position among same-named siblings, when there are several (for paths).
    pub position: Option<usize>,
}

/// The parsed document; node 0 is the root element.
#[derive(Debug)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    /// Distinct local names; `Node::name` indexes this.
    names: Vec<String>,
    /// Name → index into `names`.
    ids: HashMap<String, u32>,
}

/// Checks the bytes and parses them into a tree, or explains why not.
pub(crate) fn parse(xml: &[u8], limits: Limits) -> Result<Tree, Finding> {
    let text = hostile::check_bytes(xml, limits)?;
    Builder::new(text, limits).run()
}

/// [`parse`] for an FA(3) invoice: 1 MB, or 3 MB when it carries a `Zalacznik` (API_BRIEF §10).
pub(crate) fn parse_invoice(xml: &[u8]) -> Result<Tree, Finding> {
    let tree = parse(xml, Limits::INVOICE)?;
    let has_attachment = tree.at(&["Zalacznik"]).is_some();
    if xml.len() > hostile::MAX_INVOICE_BYTES && !has_attachment {
        return Err(hostile::too_large(xml.len(), hostile::MAX_INVOICE_BYTES));
    }
    Ok(tree)
}

/// An open element: its node and how many namespaces it declared.
struct Frame {
    node: usize,
    namespaces: usize,
}

struct Builder<'a> {
    text: &'a str,
    limits: Limits,
    nodes: Vec<Node>,
    stack: Vec<Frame>,
    /// Namespace declarations on the open elements, summed.
    namespaces_in_scope: usize,
    names: Vec<String>,
    ids: HashMap<String, u32>,
    /// Newlines counted up to `counted`.
    line: u32,
    counted: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, limits: Limits) -> Self {
        Self {
            text,
            limits,
            nodes: Vec::new(),
            stack: Vec::new(),
            namespaces_in_scope: 0,
            names: Vec::new(),
            ids: HashMap::new(),
            line: 1,
            counted: 0,
        }
    }

    /// 1-based line of a byte offset; offsets must not decrease between calls.
    fn line_of(&mut self, offset: u64) -> u32 {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len());
        if offset > self.counted {
            let newlines = self.text.as_bytes()[self.counted..offset].iter().filter(|&&b| b == b'\n').count();
            self.line = self.line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.counted = offset;
        }
        self.line
    }

    fn run(mut self) -> Result<Tree, Finding> {
        let mut reader = Reader::from_str(self.text);
        reader.config_mut().check_comments = true;
        loop {
            let start = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(err) => {
                    let line = self.line_of(reader.error_position());
                    return Err(malformed(&err.to_string(), line));
                }
            };
            let end = reader.buffer_position();
            match event {
                Event::Start(tag) => self.open(&tag, start, end)?,
                Event::Empty(tag) => {
                    self.open(&tag, start, end)?;
                    self.close(end);
                }
                Event::End(_) => self.close(end),
                Event::Text(text) => {
                    let chunk = text.decode().map_err(|e| malformed(&e.to_string(), self.line))?;
                    self.push_text(&chunk);
                }
                Event::CData(data) => {
                    let chunk = data.decode().map_err(|e| malformed(&e.to_string(), self.line))?;
                    self.push_text(&chunk);
                }
                Event::GeneralRef(reference) => {
                    let line = self.line_of(start);
                    let ch = resolve_reference(&reference, line)?;
                    self.push_text(ch.encode_utf8(&mut [0; 4]));
                }
                Event::Decl(decl) => {
                    let version =
                        decl.version().map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
                    if version != "1.0" {
                        return Err(Finding::error(
                            "xml_version",
                            Some(KSEF_FILE_ERROR),
                            format!(
                                "Plik deklaruje XML w wersji '{version}'; KSeF przyjmuje wyłącznie XML 1.0."
                            ),
                            format!("The file declares XML version '{version}'; KSeF accepts XML 1.0 only."),
                        )
                        .at_line(Some(self.line_of(start))));
                    }
                    if let Some(Ok(encoding)) = decl.encoding() {
                        let encoding = String::from_utf8_lossy(&encoding).into_owned();
                        if !encoding.eq_ignore_ascii_case("utf-8") {
                            return Err(hostile::not_utf8(&encoding).at_line(Some(self.line_of(start))));
                        }
                    }
                }
                Event::PI(pi) => {
                    let target = String::from_utf8_lossy(pi.target()).into_owned();
                    return Err(Finding::error(
                        "xml_processing_instruction",
                        Some(KSEF_FILE_ERROR),
                        format!("Plik zawiera instrukcję przetwarzania <?{target} ...?>; KSeF ich nie dopuszcza. Usuń ją z pliku."),
                        format!("The file contains the processing instruction <?{target} ...?>, which KSeF does not allow."),
                    )
                    .at_line(Some(self.line_of(start))));
                }
                Event::DocType(doctype) => return Err(doctype_finding(&doctype, self.line_of(start))),
                Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if !self.stack.is_empty() || self.nodes.is_empty() {
            let line = self.line_of(u64::MAX);
            return Err(Finding::error(
                "xml_truncated",
                Some(KSEF_FILE_ERROR),
                "Plik urywa się przed końcem dokumentu XML (brak znaczników zamykających).",
                "The file ends before the XML document does (missing closing tags).",
            )
            .at_line(Some(line)));
        }
        Ok(Tree::new(self.nodes, self.names, self.ids))
    }

    fn open(&mut self, tag: &BytesStart<'_>, start: u64, end: u64) -> Result<(), Finding> {
        let line = self.line_of(start);
        if self.stack.is_empty() && !self.nodes.is_empty() {
            return Err(malformed("more than one root element", line));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(Finding::error(
                "xml_too_deep",
                Some(KSEF_FILE_ERROR),
                format!(
                    "Elementy są zagnieżdżone głębiej niż {} poziomów; to nie jest faktura FA(3).",
                    self.limits.max_depth
                ),
                format!(
                    "Elements are nested deeper than {} levels; this is not an FA(3) invoice.",
                    self.limits.max_depth
                ),
            )
            .at_line(Some(line)));
        }
        check_name(tag.name().as_ref(), line)?;
        let (count, declared) = check_attributes(tag, line)?;
        let in_scope = self.namespaces_in_scope + declared;
        if in_scope > hostile::MAX_NAMESPACES {
            return Err(hostile::over_limit(
                "xml_too_many_namespaces",
                "Element i jego przodkowie deklarują zbyt wiele przestrzeni nazw (xmlns)",
                "An element and its ancestors declare too many namespaces (xmlns)",
                hostile::MAX_NAMESPACES,
            )
            .at_line(Some(line)));
        }
        self.namespaces_in_scope = in_scope;
        let name = self.intern(tag.local_name().into_inner());
        let line_end = self.line_of(end);
        let id = self.nodes.len();
        let parent = self.stack.last().map(|frame| frame.node);
        if let Some(parent) = parent {
            self.nodes[parent].children.push(id);
        }
        self.nodes.push(Node {
            name,
            parent,
            children: Vec::new(),
            line,
            line_end,
            line_close: line_end,
            text: String::new(),
            tag: (count > 0).then(|| String::from_utf8_lossy(tag).into()),
            name_len: tag.name().as_ref().len(),
            position: None,
        });
        self.stack.push(Frame { node: id, namespaces: declared });
        Ok(())
    }

    /// The index of `name` in the name table, adding it when new. Runs of same-named siblings
    /// (invoice lines, and the many-elements worst case) skip the hash lookup.
    fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(&last) = self.stack.last().and_then(|f| self.nodes[f.node].children.last()) {
            let id = self.nodes[last].name;
            if self.names.get(id as usize).is_some_and(|n| n.as_bytes() == name) {
                return id;
            }
        }
        // The text passed `check_bytes`, so a name cut at ASCII delimiters is UTF-8.
        let name = std::str::from_utf8(name).map_or_else(|_| String::from_utf8_lossy(name), Cow::Borrowed);
        if let Some(&id) = self.ids.get(name.as_ref()) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.clone().into_owned());
        self.ids.insert(name.into_owned(), id);
        id
    }

    fn close(&mut self, end: u64) {
        let line = self.line_of(end);
        if let Some(frame) = self.stack.pop() {
            self.namespaces_in_scope -= frame.namespaces;
            self.nodes[frame.node].line_close = line;
        }
    }

    /// Keeps text of leaf elements only (FA(3) has no mixed content).
    fn push_text(&mut self, chunk: &str) {
        if let Some(frame) = self.stack.last() {
            let node = &mut self.nodes[frame.node];
            if node.children.is_empty() {
                node.text.push_str(chunk);
            }
        }
    }
}

/// Refuses an element or attribute name longer than the gate allows.
fn check_name(name: &[u8], line: u32) -> Result<(), Finding> {
    if name.len() > hostile::MAX_NAME_BYTES {
        return Err(hostile::over_limit(
            "xml_name_too_long",
            "Nazwa elementu lub atrybutu jest za długa",
            "An element or attribute name is too long",
            hostile::MAX_NAME_BYTES,
        )
        .at_line(Some(line)));
    }
    Ok(())
}

/// Checks the attributes of a start tag; returns how many there are and how many of them
/// declare a namespace.
///
/// quick-xml's own duplicate check compares each attribute with every earlier one, so it runs
/// unchecked here and stops at [`hostile::MAX_ATTRIBUTES`]; duplicates are then looked for
/// among that bounded few.
fn check_attributes(tag: &BytesStart<'_>, line: u32) -> Result<(usize, usize), Finding> {
    let mut keys: Vec<&[u8]> = Vec::new();
    let mut declared = 0;
    for attr in tag.attributes().with_checks(false) {
        let attr = attr.map_err(|e| malformed(&e.to_string(), line))?;
        if keys.len() == hostile::MAX_ATTRIBUTES {
            return Err(hostile::over_limit(
                "xml_too_many_attributes",
                "Element ma zbyt wiele atrybutów",
                "An element has too many attributes",
                hostile::MAX_ATTRIBUTES,
            )
            .at_line(Some(line)));
        }
        let key = attr.key.0;
        check_name(key, line)?;
        if keys.contains(&key) {
            let name = String::from_utf8_lossy(key);
            return Err(malformed(&format!("duplicate attribute '{name}'"), line));
        }
        keys.push(key);
        if attr.key.as_namespace_binding().is_some() {
            declared += 1;
        }
        attr.unescape_value().map_err(|e| malformed(&e.to_string(), line))?;
    }
    Ok((keys.len(), declared))
}

/// The five predefined entities and character references; anything else would need a DTD.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>, line: u32) -> Result<char, Finding> {
    if reference.is_char_ref() {
        let resolved = reference.resolve_char_ref().ok().flatten();
        let Some(ch) = resolved else {
            return Err(malformed("invalid character reference", line));
        };
        hostile::check_char(ch).map_err(|f| f.at_line(Some(line)))?;
        return Ok(ch);
    }
    match &**reference {
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"amp" => Ok('&'),
        b"apos" => Ok('\''),
        b"quot" => Ok('"'),
        other => {
            let name = String::from_utf8_lossy(other);
            Err(Finding::error(
                "xml_entity_forbidden",
                Some(KSEF_FILE_ERROR),
                format!("Plik odwołuje się do encji &{name};, która nie jest zdefiniowana w XML; KSeF jej nie przyjmie."),
                format!("The file references the entity &{name};, which plain XML does not define."),
            )
            .at_line(Some(line)))
        }
    }
}

fn doctype_finding(doctype: &[u8], line: u32) -> Finding {
    let declares_entities = doctype.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY"));
    if declares_entities {
        Finding::error(
            "xml_entity_forbidden",
            Some(KSEF_FILE_ERROR),
            "Plik deklaruje encje w sekcji DOCTYPE; KSeF nie dopuszcza DTD ani encji. Usuń sekcję <!DOCTYPE>.",
            "The file declares entities in a DOCTYPE; KSeF allows neither DTDs nor entities.",
        )
        .at_line(Some(line))
    } else {
        Finding::error(
            "xml_dtd_forbidden",
            Some(KSEF_FILE_ERROR),
            "Plik zawiera deklarację <!DOCTYPE>; KSeF nie dopuszcza DTD. Usuń tę deklarację.",
            "The file contains a <!DOCTYPE> declaration; KSeF does not allow DTDs.",
        )
        .at_line(Some(line))
    }
}

/// Not well-formed XML.
pub(crate) fn malformed(detail: &str, line: u32) -> Finding {
    Finding::error(
        "xml_malformed",
        Some(KSEF_FILE_ERROR),
        format!("Plik nie jest poprawnym dokumentem XML ({detail})."),
        format!("The file is not well-formed XML ({detail})."),
    )
    .at_line(Some(line))
}

impl Tree {
    /// Numbers repeated siblings once, so [`Tree::path`] costs the depth, not the siblings:
    /// per parent, one pass counts its children by name and one numbers them (names are small
    /// integers, so the counters are a vector reset after each parent).
    fn new(mut nodes: Vec<Node>, names: Vec<String>, ids: HashMap<String, u32>) -> Self {
        let mut count = vec![0usize; names.len()];
        let mut numbered = vec![0usize; names.len()];
        for parent in 0..nodes.len() {
            let children = std::mem::take(&mut nodes[parent].children);
            for &c in &children {
                count[nodes[c].name as usize] += 1;
            }
            for &c in &children {
                let name = nodes[c].name as usize;
                if count[name] > 1 {
                    numbered[name] += 1;
                    nodes[c].position = Some(numbered[name]);
                }
            }
            for &c in &children {
                let name = nodes[c].name as usize;
                count[name] = 0;
                numbered[name] = 0;
            }
            nodes[parent].children = children;
        }
        Self { nodes, names, ids }
    }

    /// The index of a local name, when some element has it.
    fn name_id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// An element's local name.
    pub fn name(&self, id: usize) -> &str {
        self.names.get(self.nodes[id].name as usize).map_or("", String::as_str)
    }

    /// First child of `id` named `name`.
    pub fn child(&self, id: usize, name: &str) -> Option<usize> {
        let name = self.name_id(name)?;
        self.nodes[id].children.iter().copied().find(|&c| self.nodes[c].name == name)
    }

    /// All children of `id` named `name`.
    pub fn children<'s>(&'s self, id: usize, name: &'s str) -> impl Iterator<Item = usize> + 's {
        let name = self.name_id(name);
        self.nodes[id].children.iter().copied().filter(move |&c| Some(self.nodes[c].name) == name)
    }

    /// Follows child names from `id`.
    pub fn walk(&self, id: usize, names: &[&str]) -> Option<usize> {
        names.iter().try_fold(id, |at, name| self.child(at, name))
    }

    /// Follows child names from the root.
    pub fn at(&self, names: &[&str]) -> Option<usize> {
        self.walk(0, names)
    }

    /// Trimmed text of an element.
    pub fn text(&self, id: usize) -> &str {
        self.nodes[id].text.trim()
    }

    /// Trimmed text of the child path from `id`, when present and not empty.
    pub fn text_at(&self, id: usize, names: &[&str]) -> Option<&str> {
        self.walk(id, names).map(|n| self.text(n)).filter(|t| !t.is_empty())
    }

    /// An attribute of an element, by local name (entities resolved).
    pub fn attr(&self, id: usize, name: &str) -> Option<String> {
        let node = &self.nodes[id];
        let tag = BytesStart::from_content(node.tag.as_deref()?, node.name_len);
        let found = tag
            .attributes()
            .with_checks(false)
            .flatten()
            .find(|a| a.key.local_name().as_ref() == name.as_bytes())?;
        found.unescape_value().ok().map(Cow::into_owned)
    }

    /// `/Faktura/Fa/P_2`-style path of an element; repeated siblings get an XPath position,
    /// e.g. `/Faktura/Fa/FaWiersz[2]/P_11`.
    pub fn path(&self, id: usize) -> String {
        let mut steps = Vec::new();
        let mut at = Some(id);
        while let Some(node) = at {
            let name = self.name(node);
            let parent = self.nodes[node].parent;
            steps.push(match self.nodes[node].position {
                Some(position) => format!("{name}[{position}]"),
                None => name.to_owned(),
            });
            at = parent;
        }
        steps.iter().rev().fold(String::new(), |mut path, step| {
            path.push('/');
            path.push_str(step);
            path
        })
    }

    /// Line of an element's start tag.
    pub fn line(&self, id: usize) -> u32 {
        self.nodes[id].line
    }

    /// The element named `name` whose start tag covers `line` (how libxml2 reports nodes), or
    /// else whose end tag is on `line` (where streaming validation reports content errors).
    pub fn find_on_line(&self, name: &str, line: u32) -> Option<usize> {
        let name = self.name_id(name)?;
        let named = |n: &&Node| n.name == name;
        self.nodes
            .iter()
            .position(|n| named(&n) && n.line <= line && line <= n.line_end)
            .or_else(|| self.nodes.iter().position(|n| named(&n) && n.line_close == line))
    }
}
