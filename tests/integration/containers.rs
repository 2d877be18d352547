//! Binary credential files (PKCS#12, Java keystores, DER private keys) are reported by what
//! they are, in every source, though they hold no text.

use std::io::{Cursor, Write};

use crate::util::*;

/// A PKCS#12 file's outer structure: a DER sequence holding version 3 and a PKCS#7 `data`
/// content, the rest made-up bytes. Built here, as a PFX is laid out.
fn pfx() -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x03, 0x30, 0x82, 0x02, 0x00];
    body.extend_from_slice(&[
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
    ]);
    body.extend((0..512u32).map(|i| (i * 7 % 251) as u8));
    let mut out = vec![0x30, 0x82];
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn jks() -> Vec<u8> {
    let mut out = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1];
    out.extend((0..300u32).map(|i| (i * 13 % 253) as u8));
    out
}

/// Binary that is no container: a DER sequence of another kind (version 1, no key).
fn other_der() -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x02, 0x30, 0x10];
    body.extend((0..200u32).map(|i| (i % 97) as u8 | 0x80));
    let mut out = vec![0x30, 0x81, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    out.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    out.write_all(data).unwrap();
    out.finish().unwrap().into_inner()
}

fn rules_by_path(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn keystores_are_found_on_disk_staged_in_history_and_inside_archives() {
    let repo = TestRepo::git_init();
    // Names that say nothing: the bytes decide.
    repo.write("certs/upload.bin", pfx());
    repo.write("android/release", jks());
    repo.write("data/table.der", other_der());
    repo.write("dist/app.jar", zip_of("META-INF/signing.p12", &pfx()));
    let expected = vec![
        (
            "android/release".to_string(),
            "java-keystore-file".to_string(),
        ),
        ("certs/upload.bin".into(), "pkcs12-file".into()),
        (
            "dist/app.jar!META-INF/signing.p12".into(),
            "pkcs12-file".into(),
        ),
    ];
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(rules_by_path(&doc), expected, "{doc}");
    // The secret is the file's hash, redacted like any other.
    let secret = doc["findings"][0]["secret"].as_str().unwrap();
    assert!(secret.ends_with("****") && secret.len() < 12, "{secret}");

    repo.add(".");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(rules_by_path(&doc), expected, "staged: {doc}");

    let commit = repo.commit("ship the signing material");
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(rules_by_path(&doc), expected, "history: {doc}");
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["commit"] == commit.as_str()));

    // An allowlist entry by path silences one like any finding.
    repo.write(
        ".staunch.toml",
        "[[allow]]\ndescription = \"a throwaway debug keystore\"\npaths = [\"android/release\"]\n",
    );
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(rules_by_path(&doc), expected[1..].to_vec(), "{doc}");
}
