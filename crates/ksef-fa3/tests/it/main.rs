//! Integration tests of ksef-fa3 against the official samples and hostile input.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on broken fixtures")]
#![expect(clippy::expect_used, reason = "tests fail loudly on broken fixtures")]

mod facts;
mod hostile;
mod package;
mod preflight;
mod shapes;
mod validation;

use std::path::PathBuf;
use std::sync::OnceLock;

use ksef_fa3::{Fa3Schema, UpoSchema};

/// (file name, bytes) of every fixture in `tests/fixtures/<dir>`, sorted by name.
pub fn fixtures(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// One official sample by its number in the file name.
pub fn sample(number: u32) -> String {
    let suffix = format!("_{number}.xml");
    let (_, bytes) =
        fixtures("fa3").into_iter().find(|(name, _)| name.ends_with(&suffix)).expect("sample exists");
    String::from_utf8(bytes).unwrap()
}

pub fn fa3() -> &'static Fa3Schema {
    static SCHEMA: OnceLock<Fa3Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Fa3Schema::load().expect("FA(3) schema compiles"))
}

pub fn upo() -> &'static UpoSchema {
    static SCHEMA: OnceLock<UpoSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| UpoSchema::load().expect("UPO schema compiles"))
}
