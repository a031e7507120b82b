//! The crate's one error type, with stable snake_case codes.

/// Errors that stop an operation as a whole (as opposed to [`crate::Finding`]s, which describe
/// problems inside one document and never abort).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Fa3Error {
    /// The embedded XSD could not be written to the private temporary directory.
    #[error("cannot prepare the embedded schemas: {0}")]
    SchemaIo(#[from] std::io::Error),
    /// libxml2 refused to compile the embedded XSD (a build defect, never user input).
    #[error("cannot compile the embedded schema {schema}: {detail}")]
    SchemaCompile {
        /// Which schema ("FA(3)" or "UPO v4-3").
        schema: &'static str,
        /// libxml2's first diagnostics.
        detail: String,
    },
    /// The ZIP package is not a readable archive.
    #[error("the package is not a valid ZIP archive: {0}")]
    PackageFormat(String),
    /// The package has more entries than allowed.
    #[error("the package has more than {limit} entries")]
    PackageTooManyEntries {
        /// The configured limit.
        limit: usize,
    },
    /// One entry inflates to more than allowed.
    #[error("package entry {name} inflates to more than {limit} bytes")]
    PackageEntryTooLarge {
        /// Entry name as stored in the archive.
        name: String,
        /// The configured limit.
        limit: u64,
    },
    /// All entries together inflate to more than allowed.
    #[error("the package inflates to more than {limit} bytes in total")]
    PackageTooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// An entry inflates far more than any real invoice does (a ZIP bomb).
    #[error("package entry {name} has a suspicious compression ratio (over {limit}:1)")]
    PackageCompressionRatio {
        /// Entry name as stored in the archive.
        name: String,
        /// The configured ratio limit.
        limit: u64,
    },
    /// An entry name tries to escape the package (`..`, absolute path, backslash, drive letter).
    #[error("package entry name is unsafe: {name}")]
    PackageUnsafeName {
        /// Entry name as stored in the archive (lossy UTF-8).
        name: String,
    },
    /// Two entries carry the same name.
    #[error("package entry name occurs twice: {name}")]
    PackageDuplicateName {
        /// Entry name as stored in the archive.
        name: String,
    },
    /// An entry is encrypted, or uses a compression method we do not inflate.
    #[error("package entry {name} is encrypted or uses an unsupported compression method")]
    PackageUnsupportedEntry {
        /// Entry name as stored in the archive.
        name: String,
    },
}

impl Fa3Error {
    /// Stable machine-readable code (snake_case), for APIs, logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SchemaIo(_) => "schema_io",
            Self::SchemaCompile { .. } => "schema_compile",
            Self::PackageFormat(_) => "package_format",
            Self::PackageTooManyEntries { .. } => "package_too_many_entries",
            Self::PackageEntryTooLarge { .. } => "package_entry_too_large",
            Self::PackageTooLarge { .. } => "package_too_large",
            Self::PackageCompressionRatio { .. } => "package_compression_ratio",
            Self::PackageUnsafeName { .. } => "package_unsafe_name",
            Self::PackageDuplicateName { .. } => "package_duplicate_name",
            Self::PackageUnsupportedEntry { .. } => "package_unsupported_entry",
        }
    }
}
