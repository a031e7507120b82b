//! XSD validation with libxml2: the embedded official schemas, compiled without any network.
//!
//! The FA(3) schema imports its base types by an absolute `http://crd.gov.pl/...` URL. We
//! place the embedded XSDs in anonymous memory (a private temporary directory where there is
//! no memfd), point every import at its local copy and compile from there;
//! [`SchemaFiles::write`] refuses any other location, so libxml2 never has a reason to touch
//! the network or the file system.
//!
//! libxml2 validation contexts are not documented as thread-safe and the `libxml` crate's
//! context is neither `Send` nor `Sync`, so each thread compiles its own context on first use
//! and keeps it in a thread-local cache (`Fa3Schema` itself only holds the files).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

use crate::error::Fa3Error;
use crate::finding::Finding;
use crate::hostile::Limits;
use crate::xmltree::{self, Tree};
use crate::xsd_messages;

const FA3_MAIN: &str = include_str!("../../../schemas/schemat_FA(3)_v1-0E.xsd");
const STRUKTURY: &str = include_str!("../../../schemas/StrukturyDanych_v10-0E.xsd");
const ELEMENTARNE: &str = include_str!("../../../schemas/ElementarneTypyDanych_v10-0E.xsd");
const KODY_KRAJOW: &str = include_str!("../../../schemas/KodyKrajow_v10-0E.xsd");
const UPO: &str = include_str!("../../../schemas/upo-v4-3.xsd");

/// The remote location the FA(3) schema imports its base types from (see schemas/catalog.xml).
const REMOTE_BASE: &str = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/";

/// XSD files of one schema, kept as long as the schema lives.
struct SchemaFiles {
    id: u64,
    label: &'static str,
    main: PathBuf,
    _store: Store,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's compiled validation contexts, by schema id.
    static CONTEXTS: RefCell<HashMap<u64, (Weak<SchemaFiles>, SchemaValidationContext)>> = RefCell::new(HashMap::new());
}

impl SchemaFiles {
    /// Writes `files` (name, content) with every import pointed at its local copy; `files[0]`
    /// is the main schema. A `schemaLocation` that names anything else (a remote URL, a file
    /// we do not embed) is refused, so libxml2 never has a reason to look elsewhere.
    fn write(label: &'static str, files: &[(&str, &str)]) -> Result<Self, Fa3Error> {
        let names: Vec<&str> = files.iter().map(|f| f.0).collect();
        let (mut store, paths) = Store::create(&names)?;
        for (index, (name, content)) in files.iter().enumerate() {
            let mut local = content.replace(&format!("schemaLocation=\"{REMOTE_BASE}"), "schemaLocation=\"");
            for (other, path) in names.iter().zip(&paths) {
                local = local.replace(
                    &format!("schemaLocation=\"{other}\""),
                    &format!("schemaLocation=\"{}\"", path.display()),
                );
            }
            if let Some(location) = foreign_location(&local, &paths) {
                return Err(Fa3Error::SchemaCompile {
                    schema: label,
                    detail: format!("{name} imports {location:?}, which is not embedded"),
                });
            }
            store.write(index, &paths[index], local.as_bytes())?;
        }
        let main = paths.first().cloned().unwrap_or_default();
        Ok(Self { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), label, main, _store: store })
    }

    fn compile(&self) -> Result<SchemaValidationContext, Fa3Error> {
        let path = self.main.to_str().ok_or_else(|| Fa3Error::SchemaCompile {
            schema: self.label,
            detail: "temporary directory path is not UTF-8".to_owned(),
        })?;
        let mut parser = SchemaParserContext::from_file(path);
        SchemaValidationContext::from_parser(&mut parser).map_err(|errors| Fa3Error::SchemaCompile {
            schema: self.label,
            detail: errors.iter().take(3).filter_map(|e| e.message.as_deref()).collect::<Vec<_>>().join("; "),
        })
    }
}

/// A compiled schema shared by [`Fa3Schema`] and [`UpoSchema`].
#[derive(Clone)]
struct CompiledSchema {
    files: Arc<SchemaFiles>,
}

impl CompiledSchema {
    fn load(label: &'static str, files: &[(&str, &str)]) -> Result<Self, Fa3Error> {
        let schema = Self { files: Arc::new(SchemaFiles::write(label, files)?) };
        // Compile now on this thread, so a broken schema fails at load, not at first use.
        schema.with_context(|_| ())?;
        Ok(schema)
    }

    /// Runs `f` with this thread's validation context, compiling it on first use.
    fn with_context<R>(&self, f: impl FnOnce(&mut SchemaValidationContext) -> R) -> Result<R, Fa3Error> {
        CONTEXTS.with(|cell| {
            let mut contexts = cell.borrow_mut();
            if !contexts.contains_key(&self.files.id) {
                contexts.retain(|_, (files, _)| files.strong_count() > 0);
                let context = self.files.compile()?;
                contexts.insert(self.files.id, (Arc::downgrade(&self.files), context));
            }
            let (_, context) = contexts.get_mut(&self.files.id).ok_or_else(|| Fa3Error::SchemaCompile {
                schema: self.files.label,
                detail: "validation context vanished".to_owned(),
            })?;
            Ok(f(context))
        })
    }

    /// Validates a document that already passed the hostile-input gate (`tree` is its scan).
    ///
    /// libxml2 validates while it parses (no tree is built), which is about a third of the
    /// cost of parsing into a tree and validating that. Its streaming parser reports no
    /// well-formedness errors, though: when the verdict is not a set of precise schema findings
    /// (a parse error, or a message we do not recognise), the document is parsed into a tree
    /// and validated again, so such a document is explained as exactly as before.
    fn validate_scanned(&self, xml: &[u8], tree: &Tree) -> Vec<Finding> {
        match self.validate_streaming(xml, tree) {
            Ok(findings) if findings.iter().all(|f| !matches!(f.code, "xsd_invalid" | "xsd_unavailable")) => {
                findings
            }
            Ok(_) | Err(_) => self.validate_tree(xml, tree),
        }
    }

    /// Streaming validation; libxml2 reads the document from a file (the safe binding has no
    /// streaming validation from memory). On Linux that file is anonymous memory (`memfd`,
    /// opened again through /proc/self/fd), so invoice bytes never reach a disk; elsewhere,
    /// or when /proc is not mounted, a private (0600) temporary file.
    fn validate_streaming(&self, xml: &[u8], tree: &Tree) -> Result<Vec<Finding>, Fa3Error> {
        let document = DocumentFile::new(xml)?;
        let path = document.path().to_str().ok_or_else(|| Fa3Error::SchemaCompile {
            schema: self.files.label,
            detail: "temporary file path is not UTF-8".to_owned(),
        })?;
        Ok(match self.with_context(|context| context.validate_file(path))? {
            Ok(()) => Vec::new(),
            Err(errors) => xsd_messages::translate(&errors, tree, self.files.label),
        })
    }

    /// Parses into a libxml2 tree (reporting well-formedness errors) and validates the tree.
    fn validate_tree(&self, xml: &[u8], tree: &Tree) -> Vec<Finding> {
        let options = ParserOptions {
            recover: false,
            no_def_dtd: true,
            no_error: true,
            no_warning: true,
            no_net: true,
            ..ParserOptions::default()
        };
        let document = match Parser::default().parse_string_with_diagnostics(xml, options) {
            Ok((document, _)) => document,
            Err(libxml::parser::XmlParseFailure::ParseFailed(errors)) => {
                return errors.iter().take(1).map(xsd_messages::parse_error).collect();
            }
            Err(other) => return vec![xmltree::malformed(&other.to_string(), 1)],
        };
        let result = self.with_context(|context| context.validate_document(&document));
        match result {
            Ok(Ok(())) => Vec::new(),
            Ok(Err(errors)) => xsd_messages::translate(&errors, tree, self.files.label),
            Err(err) => vec![xsd_messages::internal(&err)],
        }
    }

    /// Scans with `scan` (the hostile-input gate), then validates.
    fn validate(
        &self,
        xml: &[u8],
        scan: impl FnOnce(&[u8]) -> Result<Tree, Finding>,
    ) -> (Option<Tree>, Vec<Finding>) {
        match scan(xml) {
            Ok(tree) => {
                let findings = self.validate_scanned(xml, &tree);
                (Some(tree), findings)
            }
            Err(finding) => (None, vec![finding]),
        }
    }
}

/// The official FA(3) schema (`schemat_FA(3)_v1-0E.xsd` and its three base schemas), embedded.
///
/// Cheap to clone; validation on a thread compiles that thread's libxml2 context once.
#[derive(Clone)]
pub struct Fa3Schema {
    inner: CompiledSchema,
}

impl Fa3Schema {
    /// Places the embedded XSDs in memory (or a private temporary directory) and compiles them
    /// (no network).
    pub fn load() -> Result<Self, Fa3Error> {
        Ok(Self { inner: CompiledSchema::load("FA(3)", &fa3_files())? })
    }

    /// Checks the bytes (hostile-input gate) and validates against the XSD; empty = valid.
    pub fn validate(&self, xml: &[u8]) -> Vec<Finding> {
        self.inner.validate(xml, xmltree::parse_invoice).1
    }

    /// XSD validation of a document whose bytes and structure were already checked.
    pub(crate) fn validate_scanned(&self, xml: &[u8], tree: &Tree) -> Vec<Finding> {
        self.inner.validate_scanned(xml, tree)
    }
}

/// The FA(3) schema's files, the main one first.
fn fa3_files() -> [(&'static str, &'static str); 4] {
    [
        ("schemat_FA3_v1-0E.xsd", FA3_MAIN),
        ("StrukturyDanych_v10-0E.xsd", STRUKTURY),
        ("ElementarneTypyDanych_v10-0E.xsd", ELEMENTARNE),
        ("KodyKrajow_v10-0E.xsd", KODY_KRAJOW),
    ]
}

/// The official UPO v4-3 schema (`upo-v4-3.xsd`), embedded.
#[derive(Clone)]
pub struct UpoSchema {
    inner: CompiledSchema,
}

impl UpoSchema {
    /// Places the embedded XSD like [`Fa3Schema::load`] and compiles it.
    pub fn load() -> Result<Self, Fa3Error> {
        Ok(Self { inner: CompiledSchema::load("UPO v4-3", &[("upo-v4-3.xsd", UPO)])? })
    }

    /// Validates a UPO; empty = valid.
    ///
    /// The official test-environment UPOs name the receiver "Ministerstwo Finansów - środowisko
    /// testowe (TE)" where the XSD fixes "Ministerstwo Finansów"; that one deviation is reported
    /// as the warning `upo_test_environment_receiver` instead of an error.
    pub fn validate(&self, xml: &[u8]) -> Vec<Finding> {
        let (tree, findings) = self.inner.validate(xml, |xml| xmltree::parse(xml, Limits::UPO));
        match tree {
            Some(tree) => xsd_messages::soften_upo_receiver(findings, &tree),
            None => findings,
        }
    }
}

impl std::fmt::Debug for Fa3Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fa3Schema").field("files", &self.inner.files.main).finish()
    }
}

impl std::fmt::Debug for UpoSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpoSchema").field("files", &self.inner.files.main).finish()
    }
}

/// Compile-time proof that the schema handles can cross threads.
const _: fn() = || {
    fn assert_shared<T: Clone + Send + Sync>() {}
    assert_shared::<Fa3Schema>();
    assert_shared::<UpoSchema>();
};

/// Where a schema's XSD files live. On Linux, anonymous memory: nothing is written to disk,
/// and nothing is left behind when the process ends, however it ends (the statics holding the
/// schemas are never dropped, so a temporary directory would outlive every process). Elsewhere,
/// or without /proc, a private (0700) temporary directory.
enum Store {
    #[cfg(target_os = "linux")]
    Memory(Vec<std::fs::File>),
    Disk(
        #[expect(dead_code, reason = "held so the directory lives as long as the schema")] tempfile::TempDir,
    ),
}

impl Store {
    /// One empty file per name, and the path libxml2 opens each by.
    fn create(names: &[&str]) -> std::io::Result<(Self, Vec<PathBuf>)> {
        #[cfg(target_os = "linux")]
        if let Ok(memory) = Self::in_memory(names) {
            return Ok(memory);
        }
        let dir = tempfile::Builder::new().prefix("ksef-fa3-xsd-").tempdir()?;
        let paths = names.iter().map(|name| dir.path().join(name)).collect();
        Ok((Self::Disk(dir), paths))
    }

    #[cfg(target_os = "linux")]
    fn in_memory(names: &[&str]) -> std::io::Result<(Self, Vec<PathBuf>)> {
        let (files, paths) = names.iter().map(|name| memory_file(name)).collect::<std::io::Result<_>>()?;
        Ok((Self::Memory(files), paths))
    }

    fn write(&mut self, index: usize, path: &std::path::Path, content: &[u8]) -> std::io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Self::Memory(files) => match files.get_mut(index) {
                Some(file) => file.write_all(content),
                None => Err(std::io::Error::other("no such schema file")),
            },
            Self::Disk(_) => std::fs::write(path, content),
        }
    }
}

/// An anonymous in-memory file and the path that opens it again (from its start).
#[cfg(target_os = "linux")]
fn memory_file(name: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
    use std::os::fd::AsRawFd;
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)?;
    let file = std::fs::File::from(fd);
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    // Without /proc the path does not open; the caller then falls back to a file on disk.
    std::fs::metadata(&path)?;
    Ok((file, path))
}

/// The first `schemaLocation` in `xsd` that is not one of `allowed`.
fn foreign_location<'a>(xsd: &'a str, allowed: &[PathBuf]) -> Option<&'a str> {
    xsd.split("schemaLocation=").skip(1).find_map(|rest| {
        let quote = rest.chars().next()?;
        let value = rest.get(1..)?.split(quote).next()?;
        (!allowed.iter().any(|path| path.as_os_str() == value)).then_some(value)
    })
}

/// A document handed to libxml2 by path, removed when dropped.
enum DocumentFile {
    #[cfg(target_os = "linux")]
    Memory {
        _file: std::fs::File,
        path: PathBuf,
    },
    Disk(tempfile::NamedTempFile),
}

impl DocumentFile {
    fn new(xml: &[u8]) -> std::io::Result<Self> {
        #[cfg(target_os = "linux")]
        if let Ok(memory) = Self::in_memory(xml) {
            return Ok(memory);
        }
        let mut file = tempfile::NamedTempFile::new()?;
        file.write_all(xml)?;
        file.flush()?;
        Ok(Self::Disk(file))
    }

    #[cfg(target_os = "linux")]
    fn in_memory(xml: &[u8]) -> std::io::Result<Self> {
        let (mut file, path) = memory_file("ksef-fa3-document")?;
        file.write_all(xml)?;
        Ok(Self::Memory { _file: file, path })
    }

    fn path(&self) -> &std::path::Path {
        match self {
            #[cfg(target_os = "linux")]
            Self::Memory { path, .. } => path,
            Self::Disk(file) => file.path(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SchemaFiles, Store};

    /// On Linux the document handed to libxml2 is anonymous memory, and its path reads back
    /// the exact bytes.
    #[cfg(target_os = "linux")]
    #[test]
    fn documents_stay_in_memory_on_linux() -> std::io::Result<()> {
        let xml = b"<Faktura>\xc5\xbc\xc3\xb3\xc5\x82w</Faktura>";
        let document = super::DocumentFile::new(xml)?;
        assert!(matches!(document, super::DocumentFile::Memory { .. }), "fell back to a file on disk");
        assert_eq!(std::fs::read(document.path())?, xml);
        Ok(())
    }

    /// On Linux the schemas live in memory too, each import pointing at its in-memory copy,
    /// so no process leaves a directory in /tmp behind (the schemas sit in statics that are
    /// never dropped).
    #[cfg(target_os = "linux")]
    #[test]
    fn schemas_stay_in_memory_on_linux() -> Result<(), crate::error::Fa3Error> {
        let files = SchemaFiles::write("FA(3)", &super::fa3_files())?;
        assert!(matches!(files._store, Store::Memory(_)), "fell back to a directory on disk");
        assert!(files.main.starts_with("/proc/self/fd"));
        let main = std::fs::read_to_string(&files.main)?;
        assert!(main.contains("schemaLocation=\"/proc/self/fd/"), "the import was not pointed at memory");
        files.compile()?;
        Ok(())
    }

    /// An import of anything not embedded is refused before libxml2 sees the schema.
    #[test]
    fn imports_of_what_is_not_embedded_are_refused() {
        for location in ["http://example.com/x.xsd", "Other.xsd", "/etc/passwd"] {
            let main = format!(r#"<xsd:schema><xsd:import schemaLocation="{location}"/></xsd:schema>"#);
            let refused = SchemaFiles::write("test", &[("main.xsd", &main), ("Known.xsd", "<xsd:schema/>")]);
            assert!(
                matches!(&refused, Err(crate::error::Fa3Error::SchemaCompile { detail, .. }) if detail.contains(location)),
                "{location} was not refused"
            );
        }
        let known = r#"<xsd:schema><xsd:import schemaLocation='Known.xsd'/></xsd:schema>"#;
        assert!(SchemaFiles::write("test", &[("main.xsd", known), ("Known.xsd", "<xsd:schema/>")]).is_err());
        let known = r#"<xsd:schema><xsd:import schemaLocation="Known.xsd"/></xsd:schema>"#;
        assert!(SchemaFiles::write("test", &[("main.xsd", known), ("Known.xsd", "<xsd:schema/>")]).is_ok());
    }
}
