//! ZIP packages: official samples round-trip; bombs and path tricks are refused.

use std::io::{Cursor, Write};

use ksef_fa3::package::{read_zip, PackageLimits};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::fixtures;

/// Builds a ZIP with the given (name, content) entries, deflated; names ending in '/' are directories.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, content) in entries {
        if name.ends_with('/') {
            writer.add_directory(*name, options).unwrap();
        } else {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

fn code_of(bytes: &[u8], limits: &PackageLimits) -> &'static str {
    read_zip(bytes, limits).expect_err("package must be refused").code()
}

#[test]
fn official_samples_round_trip() {
    let samples = fixtures("fa3");
    let mut entries: Vec<(&str, &[u8])> = samples.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    entries.push(("faktury/", b""));
    entries.push(("README.txt", b"not an invoice"));
    entries.push(("__MACOSX/._FA_3_Przyklad_1.xml", b"\x00\x05\x16\x07"));
    let read = read_zip(&zip_of(&entries), &PackageLimits::default()).unwrap();
    assert_eq!(read.len(), 21);
    for (entry, (name, bytes)) in read.iter().zip(&samples) {
        assert_eq!((&entry.name, &entry.bytes), (name, bytes));
    }
}

#[test]
fn path_tricks_are_refused() {
    for name in
        ["../evil.xml", "a/../../evil.xml", "/etc/evil.xml", "a\\..\\evil.xml", "C:/evil.xml", "a/\u{1}.xml"]
    {
        let zip = zip_of(&[("ok.xml", b"<a/>"), (name, b"<a/>")]);
        assert_eq!(code_of(&zip, &PackageLimits::default()), "package_unsafe_name", "{name}");
    }
}

#[test]
fn duplicate_names_are_refused() {
    // ZipWriter refuses duplicates itself, so patch the second name in the finished archive.
    let mut zip = zip_of(&[("one.xml", b"<a/>"), ("two.xml", b"<b/>")]);
    let mut patched = 0;
    while let Some(at) = zip.windows(7).position(|w| w == b"two.xml") {
        zip[at..at + 7].copy_from_slice(b"one.xml");
        patched += 1;
    }
    assert_eq!(patched, 2, "local and central header");
    assert_eq!(code_of(&zip, &PackageLimits::default()), "package_duplicate_name");
    let case_only = zip_of(&[("Faktura.xml", b"<a/>"), ("faktura.XML", b"<b/>")]);
    assert_eq!(code_of(&case_only, &PackageLimits::default()), "package_duplicate_name");
}

#[test]
fn too_many_entries() {
    let names: Vec<String> = (0..11).map(|i| format!("{i}.xml")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"<a/>"[..])).collect();
    let limits = PackageLimits { max_entries: 10, ..PackageLimits::default() };
    assert_eq!(code_of(&zip_of(&entries), &limits), "package_too_many_entries");
    assert_eq!(read_zip(&zip_of(&entries[..10]), &limits).unwrap().len(), 10);
}

/// Bytes that do not compress (so ratio guards stay quiet): a simple xorshift stream.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn entry_and_total_size_limits() {
    let big = noise(3_000_001);
    assert_eq!(code_of(&zip_of(&[("big.xml", &big)]), &PackageLimits::default()), "package_entry_too_large");
    let part = noise(40_000);
    let limits = PackageLimits { max_total_bytes: 100_000, ..PackageLimits::default() };
    let zip = zip_of(&[("1.xml", &part), ("2.xml", &part), ("3.xml", &part)]);
    assert_eq!(code_of(&zip, &limits), "package_too_large");
    assert_eq!(read_zip(&zip_of(&[("1.xml", &part), ("2.xml", &part)]), &limits).unwrap().len(), 2);
}

#[test]
fn zip_bombs() {
    // 2 MB of zeros deflates to about 2 kB: under the entry limit, far over any invoice's ratio.
    let zeros = vec![0u8; 2_000_000];
    assert_eq!(
        code_of(&zip_of(&[("bomb.xml", &zeros)]), &PackageLimits::default()),
        "package_compression_ratio"
    );
    // 256 MB of zeros: refused after inflating a bounded amount, quickly.
    let started = std::time::Instant::now();
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file(
            "huge.xml",
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(true),
        )
        .unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..256 {
        writer.write_all(&block).unwrap();
    }
    let huge = writer.finish().unwrap().into_inner();
    let limits = PackageLimits { max_ratio: u64::MAX, ..PackageLimits::default() };
    assert_eq!(code_of(&huge, &limits), "package_entry_too_large");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn lying_size_headers_do_not_help() {
    // Declare 10 bytes uncompressed in both headers for an entry that inflates to 5 MB.
    let zip = zip_of(&[("liar.xml", &vec![b'a'; 5_000_000])]);
    let mut patched = zip.clone();
    for (signature, offset) in [(&[0x50, 0x4B, 0x03, 0x04], 22), (&[0x50, 0x4B, 0x01, 0x02], 24)] {
        let at = zip.windows(4).position(|w| w == signature).unwrap() + offset;
        patched[at..at + 4].copy_from_slice(&10u32.to_le_bytes());
    }
    let limits = PackageLimits { max_ratio: u64::MAX, ..PackageLimits::default() };
    let code = code_of(&patched, &limits);
    assert!(["package_entry_too_large", "package_format"].contains(&code), "{code}");
}

#[test]
fn not_a_zip() {
    assert_eq!(code_of(b"PK\x03\x04garbage", &PackageLimits::default()), "package_format");
    assert_eq!(code_of(b"", &PackageLimits::default()), "package_format");
}

/// Offsets of every occurrence of a record signature.
fn records(zip: &[u8], signature: [u8; 4]) -> Vec<usize> {
    zip.windows(4).enumerate().filter(|(_, w)| *w == signature).map(|(i, _)| i).collect()
}
const LOCAL: [u8; 4] = [0x50, 0x4B, 0x03, 0x04];
const CENTRAL: [u8; 4] = [0x50, 0x4B, 0x01, 0x02];

#[test]
fn a_local_header_naming_another_file_is_refused() {
    // Two readers of one archive must not see two different files: one reading the central
    // directory, one the local headers.
    let mut zip = zip_of(&[("a.xml", b"<a/>"), ("b.xml", b"<b/>")]);
    let local_b = records(&zip, LOCAL)[1];
    zip[local_b + 30] = b'c';
    assert_eq!(code_of(&zip, &PackageLimits::default()), "package_format");
}

#[test]
fn damaged_data_and_sizes_pointing_into_the_directory_are_refused() {
    let stored = |content: &[u8]| {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file("a.xml", SimpleFileOptions::default().compression_method(CompressionMethod::Stored))
            .unwrap();
        writer.write_all(content).unwrap();
        writer.finish().unwrap().into_inner()
    };
    let good = stored(b"<Faktura/>");
    assert_eq!(read_zip(&good, &PackageLimits::default()).unwrap()[0].bytes, b"<Faktura/>");
    let mut flipped = good.clone();
    let data = flipped.windows(10).position(|w| w == b"<Faktura/>").unwrap();
    flipped[data + 1] = b'G';
    assert_eq!(code_of(&flipped, &PackageLimits::default()), "package_format", "CRC");
    let mut long = good;
    let central = records(&long, CENTRAL)[0];
    long[central + 20..central + 24].copy_from_slice(&1_000u32.to_le_bytes());
    let refused = read_zip(&long, &PackageLimits::default()).expect_err("runs into the directory");
    assert!(refused.to_string().contains("overlap"), "{refused}");
    // A directory with more records than its end record declares: a file one reader lists
    // and another does not.
    let mut hidden = zip_of(&[("a.xml", b"<a/>"), ("b.xml", b"<b/>")]);
    let end = records(&hidden, [0x50, 0x4B, 0x05, 0x06])[0];
    for at in [end + 8, end + 10] {
        hidden[at..at + 2].copy_from_slice(&1u16.to_le_bytes());
    }
    assert_eq!(code_of(&hidden, &PackageLimits::default()), "package_format", "hidden record");
}

#[test]
fn encrypted_entries_are_refused() {
    let mut zip = zip_of(&[("a.xml", b"<a/>")]);
    for at in [records(&zip, LOCAL)[0] + 6, records(&zip, CENTRAL)[0] + 8] {
        zip[at] |= 1;
    }
    assert_eq!(code_of(&zip, &PackageLimits::default()), "package_unsupported_entry");
}

#[test]
fn names_without_the_utf8_flag_are_code_page_437() {
    let mut zip = zip_of(&[("x.xml", b"<a/>")]);
    for at in [records(&zip, LOCAL)[0] + 30, records(&zip, CENTRAL)[0] + 46] {
        zip[at] = 0x82;
    }
    assert_eq!(read_zip(&zip, &PackageLimits::default()).unwrap()[0].name, "é.xml");
    // A name flagged UTF-8 that is not: refused, not guessed.
    for at in [records(&zip, LOCAL)[0] + 7, records(&zip, CENTRAL)[0] + 9] {
        zip[at] |= 0x08;
    }
    assert_eq!(code_of(&zip, &PackageLimits::default()), "package_format");
}

#[test]
fn more_entries_than_the_classic_format_counts_are_read_through_zip64() {
    // 65 535 and more entries need the ZIP64 end record; every entry comes out, in order.
    let names: Vec<String> = (0..65_600).map(|i| format!("{i}.xml")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"<a/>"[..])).collect();
    let zip = zip_of(&entries);
    let limits = PackageLimits { max_entries: 70_000, ..PackageLimits::default() };
    let read = read_zip(&zip, &limits).unwrap();
    assert_eq!(read.len(), 65_600);
    assert!(read.iter().zip(&names).all(|(entry, name)| &entry.name == name && entry.bytes == b"<a/>"));
    let limits = PackageLimits { max_entries: 65_599, ..PackageLimits::default() };
    assert_eq!(code_of(&zip, &limits), "package_too_many_entries");
}

#[test]
fn entries_quoting_the_next_ones_are_refused_before_inflating() {
    // The "better zip bomb": the first entry's data is declared to run over the second entry's
    // header and data, so the same bytes would inflate once for each entry that covers them.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for name in ["a.xml", "b.xml"] {
        writer.start_file(name, stored).unwrap();
        writer.write_all(b"<a/>").unwrap();
    }
    let mut zip = writer.finish().unwrap().into_inner();
    let (first_local, second_local) = (records(&zip, LOCAL)[0], records(&zip, LOCAL)[1]);
    let covering = u32::try_from(records(&zip, CENTRAL)[0] - first_local - 30 - 5).unwrap();
    assert!(covering as usize > second_local - first_local);
    let central = records(&zip, CENTRAL)[0];
    for at in [central + 20, central + 24] {
        zip[at..at + 4].copy_from_slice(&covering.to_le_bytes());
    }
    let refused = read_zip(&zip, &PackageLimits::default()).expect_err("overlapping entries");
    assert_eq!(refused.code(), "package_format");
    assert!(refused.to_string().contains("overlap"), "{refused}");
}

#[test]
fn an_end_record_quoted_in_the_comment_is_not_taken_for_the_real_one() {
    // A comment holding an end-of-directory signature that declares no entries: the record
    // whose comment really ends the archive is the one read.
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file("a.xml", SimpleFileOptions::default()).unwrap();
    writer.write_all(b"<a/>").unwrap();
    let mut fake = vec![0x50, 0x4B, 0x05, 0x06];
    fake.extend_from_slice(&[0u8; 16]);
    fake.extend_from_slice(&3u16.to_le_bytes());
    fake.extend_from_slice(b"xyz!");
    writer.set_comment(String::from_utf8(fake).unwrap());
    let zip = writer.finish().unwrap().into_inner();
    let read = read_zip(&zip, &PackageLimits::default()).unwrap();
    assert_eq!((read.len(), read[0].name.as_str()), (1, "a.xml"));
}

#[test]
fn a_unicode_path_field_names_the_entry_while_its_crc_matches() {
    // Info-ZIP's Unicode Path (0x7075) beside a legacy name: the UTF-8 name is used; once the
    // legacy name changes without the field, the legacy name is.
    let field = |utf8: &str, legacy: &[u8]| {
        let mut body = vec![1u8];
        body.extend_from_slice(&crc32fast::hash(legacy).to_le_bytes());
        body.extend_from_slice(utf8.as_bytes());
        body
    };
    let build = |legacy: &str, body: &[u8]| {
        // The zip crate's writer checks a Unicode Path field against an empty name: write the
        // body under an unknown id, then give it its id in the finished archive.
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let mut options = zip::write::FullFileOptions::default();
        options.add_extra_data(0x6666, body, true).unwrap();
        writer.start_file(legacy, options).unwrap();
        writer.write_all(b"<a/>").unwrap();
        let mut zip = writer.finish().unwrap().into_inner();
        let at = zip.windows(body.len()).position(|w| w == body).unwrap() - 4;
        assert_eq!(zip[at..at + 2], [0x66, 0x66]);
        zip[at..at + 2].copy_from_slice(&0x7075u16.to_le_bytes());
        zip
    };
    let zip = build("faktura_z.xml", &field("faktura_ż.xml", b"faktura_z.xml"));
    assert_eq!(read_zip(&zip, &PackageLimits::default()).unwrap()[0].name, "faktura_ż.xml");
    let stale = build("faktura_y.xml", &field("faktura_ż.xml", b"faktura_z.xml"));
    assert_eq!(read_zip(&stale, &PackageLimits::default()).unwrap()[0].name, "faktura_y.xml");
}

#[test]
fn overlong_names_are_refused() {
    let name = format!("{}.xml", "a".repeat(600));
    assert_eq!(
        code_of(&zip_of(&[(name.as_str(), b"<a/>")]), &PackageLimits::default()),
        "package_unsafe_name"
    );
}
