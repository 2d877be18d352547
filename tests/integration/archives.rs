//! Encodings and containers on real temporary directories and repositories: UTF-16 and BOM
//! files, jars, wheels, npm tarballs, `.tar.gz`, gzip, bzip2, xz and zstd files, nested
//! archives, in a
//! directory scan, a staged commit, a range, pre-push and `--all`; and the bounds against
//! hostile archives (bombs, deep nesting, encrypted entries). Every archive is built here, at
//! run time, with the same crates staunch reads them with.

use std::io::{Cursor, Write};

use crate::util::*;

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in entries {
        out.start_file(*name, options).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut header, name, *data).unwrap();
    }
    out.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut out = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let options = lzma_rust2::XzOptions::with_preset(1);
    let mut out = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// (path, line, column) of every finding.
fn places(doc: &serde_json::Value) -> Vec<(String, u64, u64)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn paths(doc: &serde_json::Value) -> Vec<String> {
    let mut paths: Vec<String> = places(doc).into_iter().map(|p| p.0).collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The nine wrappers a secret travels in, each holding the fake key: (path, bytes, where the
/// finding is reported).
fn wrapped_secrets() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let key = fake_aws_key();
    let line = format!("aws_access_key_id = {key}\n");
    let env = format!("APP=demo\r\n{}", line.replace('\n', "\r\n"));
    let properties = format!("server.port=8080\nspring.cloud.aws.key={key}\n");
    let deploy = tar_of(&[
        ("deploy/README", b"how to deploy\n"),
        ("deploy/prod.env", line.as_bytes()),
    ]);
    let dump = format!("CREATE TABLE keys (v text);\nINSERT INTO keys VALUES ('{key}');\n");
    let wheel = zip_of(&[
        ("demo/__init__.py", b""),
        (
            "demo/settings.py",
            format!("AWS_KEY = \"{key}\"\n").as_bytes(),
        ),
        ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
    ]);
    let npm = tar_of(&[
        ("package/package.json", b"{\"name\": \"demo\"}\n"),
        (
            "package/lib/config.js",
            format!("module.exports = {{ key: '{key}' }};\n").as_bytes(),
        ),
    ]);
    let inner_zip = zip_of(&[("conf/app.yml", line.as_bytes())]);
    let zip_in_tar = tar_of(&[("bundle/conf.zip", &inner_zip)]);
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>\n"),
        (
            "word/document.xml",
            format!("<w:t>key {key}</w:t>\n").as_bytes(),
        ),
    ]);
    vec![
        ("win/.env", utf16le_with_bom(&env), "win/.env"),
        ("mac/notes.txt", utf16be(&line), "mac/notes.txt"),
        (
            "lib/app.jar",
            zip_of(&[
                ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
                (
                    "BOOT-INF/classes/application.properties",
                    properties.as_bytes(),
                ),
            ]),
            "lib/app.jar!BOOT-INF/classes/application.properties",
        ),
        (
            "deploy.tar.gz",
            gzip(&deploy),
            "deploy.tar.gz!deploy/prod.env",
        ),
        (
            "backup/db.sql.gz",
            gzip(dump.as_bytes()),
            "backup/db.sql.gz!db.sql",
        ),
        (
            "dist/demo-1.0-py3-none-any.whl",
            wheel,
            "dist/demo-1.0-py3-none-any.whl!demo/settings.py",
        ),
        (
            "demo-1.0.0.tgz",
            gzip(&npm),
            "demo-1.0.0.tgz!package/lib/config.js",
        ),
        (
            "bundle.tar",
            zip_in_tar,
            "bundle.tar!bundle/conf.zip!conf/app.yml",
        ),
        ("docs/spec.docx", docx, "docs/spec.docx!word/document.xml"),
        (
            "logs/app.log.bz2",
            bzip2(line.as_bytes()),
            "logs/app.log.bz2!app.log",
        ),
        (
            "backup/etc.tar.xz",
            xz(&tar_of(&[("etc/app.ini", line.as_bytes())])),
            "backup/etc.tar.xz!etc/app.ini",
        ),
        (
            "cache/state.json.zst",
            zstd(line.as_bytes()),
            "cache/state.json.zst!state.json",
        ),
    ]
}

fn expected_paths() -> Vec<String> {
    let mut expected: Vec<String> = wrapped_secrets()
        .into_iter()
        .map(|(_, _, shown)| shown.to_string())
        .collect();
    expected.sort();
    expected
}

fn write_all(repo: &TestRepo) {
    for (path, data, _) in wrapped_secrets() {
        repo.write(path, data);
    }
}

#[test]
fn a_directory_scan_finds_the_secret_in_every_wrapper() {
    let repo = TestRepo::dir();
    write_all(&repo);
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), expected_paths(), "{doc}");
    let stats = &doc["stats"];
    // jar, tar.gz, sql.gz, whl, tgz, tar and the zip in it, docx, bz2, tar.xz, zst
    assert_eq!(stats["archives"], 11, "{stats}");
    assert_eq!(stats["archive_entries_skipped"], 0);
    assert!(doc["not_scanned"].as_array().unwrap().is_empty());
}

#[test]
fn line_and_column_are_the_decoded_texts() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    repo.write(
        "a.env",
        utf16le_with_bom(&format!("first\r\n  k = {key}\r\n")),
    );
    repo.write("b.env", format!("\u{feff}k = {key}\n"));
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        places(&doc),
        vec![("a.env".into(), 2, 7), ("b.env".into(), 1, 5)]
    );
}

#[test]
fn a_staged_commit_finds_the_secret_in_every_wrapper() {
    let repo = TestRepo::git_init();
    repo.commit_file("README", "base\n", "base");
    write_all(&repo);
    repo.git(&["add", "-A"]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), expected_paths(), "{doc}");
    // The hook sees the same.
    let out = repo.run(&["hook", "pre-commit"], None);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn history_range_and_pre_push_find_the_secret_in_every_wrapper() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("README", "base\n", "base");
    repo.git(&["update-ref", "refs/remotes/origin/main", &base]);
    write_all(&repo);
    repo.git(&["add", "-A"]);
    let leak = repo.commit("wrapped secrets");
    // Removed again: only history has them now.
    repo.git(&["rm", "-q", "-r", "."]);
    repo.commit_file("README", "base\n", "clean up");

    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), expected_paths(), "{doc}");
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["commit"] == leak));

    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), expected_paths(), "{doc}");

    let line = format!("refs/heads/main {leak} refs/heads/main {base}\n");
    let out = repo.run(
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&doc), expected_paths(), "{doc}");
}

#[test]
fn a_changed_archive_is_scanned_whole_and_utf16_diffs_number_decoded_lines() {
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    let secret = format!("aws_access_key_id = {key}\n");
    repo.write("app.jar", zip_of(&[("app.properties", secret.as_bytes())]));
    repo.write("win.env", utf16le_with_bom("A=1\r\nB=2\r\n"));
    repo.git(&["add", "-A"]);
    repo.commit("base");
    // Another entry changes: the old secret is still in the archive being committed.
    repo.write(
        "app.jar",
        zip_of(&[
            ("app.properties", secret.as_bytes()),
            ("other.txt", b"changed\n"),
        ]),
    );
    repo.write(
        "win.env",
        utf16le_with_bom(&format!("A=1\r\nB=2\r\nC = {key}\r\n")),
    );
    repo.git(&["add", "-A"]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        places(&doc),
        vec![
            ("app.jar!app.properties".into(), 1, 21),
            ("win.env".into(), 3, 5)
        ]
    );
}

#[test]
fn stdin_is_sniffed() {
    let repo = TestRepo::dir();
    let data = gzip(format!("token: {}\n", fake_aws_key()).as_bytes());
    let out = repo.run(
        &[
            "scan",
            "--stdin",
            "--path",
            "upload.txt.gz",
            "--format",
            "json",
        ],
        Some(&data),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&doc), vec!["upload.txt.gz!upload.txt".to_string()]);
}

#[test]
fn archive_depth_zero_opens_nothing() {
    let repo = TestRepo::dir();
    write_all(&repo);
    let (code, doc) = repo.json(&["scan", ".", "--archive-depth", "0"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), vec!["mac/notes.txt", "win/.env"], "{doc}");
    assert_eq!(doc["stats"]["archives"], 0);
    repo.write(".staunch.toml", "[scan]\narchive_depth = 0\n");
    let (_, doc) = repo.json(&["scan", "."]);
    assert_eq!(doc["stats"]["archives"], 0);
}

#[test]
fn a_zip_bomb_is_cut_at_the_limit_reported_and_the_scan_goes_on() {
    let repo = TestRepo::git_init();
    // 256 MiB of zeros deflate to about 256 KB (bench/limits.sh measures 1 GiB).
    let zeros = vec![0u8; 256 << 20];
    let bomb = zip_of(&[("zeros.bin", &zeros)]);
    drop(zeros);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    repo.write("bomb.zip", &bomb);
    repo.write("real.txt", format!("k = {}\n", fake_aws_key()));
    let log = repo.path().join("audit.jsonl");
    let started = std::time::Instant::now();
    let out = repo.run(
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--audit-log",
            log.to_str().unwrap(),
        ],
        None,
    );
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&doc), vec!["real.txt".to_string()]);
    assert_eq!(doc["stats"]["archive_entries_skipped"], 1);
    assert_eq!(doc["not_scanned"][0]["path"], "bomb.zip!zeros.bin");
    assert_eq!(doc["not_scanned"][0]["reason"], "entry_too_large");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bomb.zip!zeros.bin: truncated"), "{stderr}");
    let audit = std::fs::read_to_string(&log).unwrap();
    let finished = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event"] == "scan.finished")
        .unwrap();
    assert_eq!(finished["metadata"]["archive_entries_skipped"], 1);
    assert_eq!(
        finished["metadata"]["not_scanned"][0]["path"],
        "bomb.zip!zeros.bin"
    );
    // Staged, the same bomb is cut the same way.
    repo.git(&["add", "bomb.zip"]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["archive_entries_skipped"], 1);
}

#[test]
fn nested_archives_stop_at_the_depth_limit() {
    let repo = TestRepo::dir();
    let mut data = zip_of(&[("k.txt", format!("k = {}\n", fake_aws_key()).as_bytes())]);
    for level in 0..3 {
        data = zip_of(&[(&format!("level{level}.zip"), &data)]);
    }
    repo.write("deep.zip", &data);
    // Four levels: the default depth (3) does not reach the key, and says so.
    let out = repo.run(&["scan", ".", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["not_scanned"][0]["path"],
        "deep.zip!level2.zip!level1.zip!level0.zip"
    );
    assert_eq!(doc["not_scanned"][0]["reason"], "too_deep");
    // One more level in the configuration finds it, every level named.
    repo.write(".staunch.toml", "[scan]\narchive_depth = 4\n");
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        paths(&doc),
        vec!["deep.zip!level2.zip!level1.zip!level0.zip!k.txt".to_string()]
    );
}

#[test]
fn an_encrypted_entry_is_reported_as_not_scanned() {
    let repo = TestRepo::dir();
    let mut data = zip_of(&[("secret.txt", b"hidden\n"), ("open.txt", b"plain\n")]);
    // Set the "encrypted" flag of the first entry in its local and central headers.
    let local = memchr::memmem::find(&data, b"PK\x03\x04").unwrap();
    data[local + 6] |= 1;
    let central = memchr::memmem::find(&data, b"PK\x01\x02").unwrap();
    data[central + 8] |= 1;
    repo.write("locked.zip", &data);
    let out = repo.run(&["scan", ".", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["stats"]["archive_entries_encrypted"], 1);
    assert_eq!(doc["stats"]["archive_entries"], 1);
    assert_eq!(doc["not_scanned"][0]["path"], "locked.zip!secret.txt");
    assert_eq!(doc["not_scanned"][0]["reason"], "encrypted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked.zip!secret.txt: encrypted"));
}

#[test]
fn hostile_entry_names_stay_names() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    let name = "../../escape\n::error::x\u{1b}[2J.txt";
    repo.write(
        "evil.zip",
        zip_of(&[(name, format!("k = {key}\n").as_bytes())]),
    );
    let out = repo.run(&["scan", "."], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r"evil.zip!../../escape\n::error::x\x1b[2J.txt"),
        "{stdout}"
    );
    assert!(!repo.path().parent().unwrap().join("escape").exists());
}

#[test]
fn binary_and_lfs_judgement() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    // A NUL at the start of an otherwise text file no longer hides it.
    repo.write(
        "nul-first.txt",
        format!("\0config\nk = {key}\nmore ordinary text on this line\n"),
    );
    // Text that only begins like an LFS pointer is scanned; a real pointer is skipped.
    repo.write(
        "fake-pointer.txt",
        format!("version https://git-lfs.github.com/spec/v1\nk = {key}\n"),
    );
    repo.write(
        "real-pointer.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    );
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), vec!["fake-pointer.txt", "nul-first.txt"]);
    assert_eq!(doc["stats"]["skipped"], 1);
}
