//! Archive expansion against archives built in memory: naming, nesting, limits and hostile
//! entries.

use super::*;
use std::io::Write;

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        out.start_file(*name, options).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut header, name, *data).unwrap();
    }
    out.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut out = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

/// (path, text) of every entry `expand` hands over, and the tally.
fn walk(name: &str, data: Vec<u8>, limits: &Limits) -> (Vec<(String, String)>, Tally) {
    let fragment = Fragment::file(name, data);
    let Kind::Archive(format) = content::sniff(&fragment.data) else {
        panic!("{name} is not sniffed as an archive");
    };
    let mut seen = Vec::new();
    let mut tally = Tally::default();
    expand(
        &fragment,
        format,
        limits,
        &mut |f| seen.push((f.path, String::from_utf8_lossy(&f.data).into_owned())),
        &mut tally,
    );
    (seen, tally)
}

#[test]
fn zip_entries_are_named_after_the_archive() {
    let data = zip_of(&[
        ("a/b.properties", b"x = 1\n"),
        ("c.class", b"\xca\xfe\xba\xbe\0\0\0\x34\0\x10\x0a\0\x03"),
    ]);
    let (seen, tally) = walk("app.jar", data, &Limits::default());
    assert_eq!(
        seen,
        vec![("app.jar!a/b.properties".into(), "x = 1\n".into())]
    );
    assert_eq!((tally.archives, tally.entries), (1, 1));
}

#[test]
fn tar_gz_and_nested_levels_are_each_named() {
    let inner = zip_of(&[("conf/.env", b"TOKEN=abc\n")]);
    let tar = tar_of(&[
        ("deploy/inner.zip", &inner),
        ("deploy/run.sh", b"echo hi\n"),
    ]);
    let (seen, tally) = walk("site.tar.gz", gzip(&tar), &Limits::default());
    assert_eq!(
        seen,
        vec![
            (
                "site.tar.gz!deploy/inner.zip!conf/.env".into(),
                "TOKEN=abc\n".into()
            ),
            ("site.tar.gz!deploy/run.sh".into(), "echo hi\n".into()),
        ]
    );
    assert_eq!(tally.archives, 2);
    assert!(tally.skipped.is_empty(), "{:?}", tally.skipped);
}

#[test]
fn compressed_single_files_lose_their_suffix() {
    let (seen, _) = walk("db/dump.sql.gz", gzip(b"INSERT 1;\n"), &Limits::default());
    assert_eq!(
        seen,
        vec![("db/dump.sql.gz!dump.sql".into(), "INSERT 1;\n".into())]
    );
    let (seen, _) = walk("notes.bz2", bzip2(b"hello\n"), &Limits::default());
    assert_eq!(seen, vec![("notes.bz2!notes".into(), "hello\n".into())]);
    assert_eq!(inner_name("x!y/z"), "z");
}

#[test]
fn xz_and_zstd_streams() {
    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    xz.write_all(&tar_of(&[("etc/app.ini", b"k = v\n")]))
        .unwrap();
    let xz = xz.finish().unwrap();
    let (seen, _) = walk("conf.tar.xz", xz, &Limits::default());
    assert_eq!(
        seen,
        vec![("conf.tar.xz!etc/app.ini".into(), "k = v\n".into())]
    );
    let zstd = ruzstd::encoding::compress_to_vec(
        &b"hello zstd\n"[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let (seen, _) = walk("note.txt.zst", zstd, &Limits::default());
    assert_eq!(
        seen,
        vec![("note.txt.zst!note.txt".into(), "hello zstd\n".into())]
    );
}

#[test]
fn utf16_entries_are_decoded() {
    let mut text = vec![0xFF, 0xFE];
    for unit in "KEY=value\n".encode_utf16() {
        text.extend_from_slice(&unit.to_le_bytes());
    }
    let (seen, _) = walk("w.zip", zip_of(&[(".env", &text)]), &Limits::default());
    assert_eq!(seen, vec![("w.zip!.env".into(), "KEY=value\n".into())]);
}

#[test]
fn depth_limit_stops_nesting() {
    let mut data = zip_of(&[("deep.txt", b"bottom\n")]);
    for level in 0..4 {
        data = zip_of(&[(&format!("l{level}.zip"), &data)]);
    }
    let (seen, tally) = walk("top.zip", data, &Limits::default());
    assert!(seen.is_empty());
    assert_eq!(tally.archives, 3);
    assert_eq!(tally.limited, 1);
    assert_eq!(tally.skipped[0].reason, SkipReason::TooDeep(3));
    assert_eq!(tally.skipped[0].path, "top.zip!l3.zip!l2.zip!l1.zip");
}

#[test]
fn a_bomb_stops_at_the_entry_limit() {
    let zeros = vec![0u8; 64 << 20];
    let limits = Limits {
        max_entry_size: 1 << 20,
        ..Limits::default()
    };
    let (seen, tally) = walk("bomb.zip", zip_of(&[("zeros", &zeros)]), &limits);
    assert!(seen.is_empty());
    assert_eq!(tally.skipped[0].reason, SkipReason::EntryTooLarge(1 << 20));
}

#[test]
fn the_expanded_limit_covers_the_whole_file() {
    let text = vec![b'a'; 1 << 20];
    let entries: Vec<(String, &[u8])> = (0..10)
        .map(|i| (format!("f{i}.txt"), text.as_slice()))
        .collect();
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let limits = Limits {
        max_expanded: 3 << 20,
        ..Limits::default()
    };
    let (seen, tally) = walk("many.tar.gz", gzip(&tar_of(&entries)), &limits);
    assert!(seen.len() < 3, "{}", seen.len());
    assert_eq!(tally.limited, 1);
    assert_eq!(
        tally.skipped[0].reason,
        SkipReason::ExpandedTooLarge(3 << 20)
    );
}

#[test]
fn the_entry_count_limit_stops_the_walk() {
    let entries: Vec<(String, &[u8])> = (0..20).map(|i| (format!("f{i}"), &b"t\n"[..])).collect();
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let limits = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    let (seen, tally) = walk("n.zip", zip_of(&entries), &limits);
    assert_eq!(seen.len(), 5);
    assert_eq!(tally.skipped[0].reason, SkipReason::TooManyEntries(5));
}

#[test]
fn encrypted_entries_are_reported_not_guessed() {
    // A stored entry whose general-purpose flag says "encrypted" (bit 0).
    let mut data = zip_of(&[("secret.txt", b"hidden\n")]);
    for at in memchr::memmem::find_iter(&data.clone(), b"PK\x03\x04") {
        data[at + 6] |= 1;
    }
    for at in memchr::memmem::find_iter(&data.clone(), b"PK\x01\x02") {
        data[at + 8] |= 1;
    }
    let (seen, tally) = walk("locked.zip", data, &Limits::default());
    assert!(seen.is_empty());
    assert_eq!(tally.encrypted, 1);
    assert_eq!(tally.skipped[0].reason, SkipReason::Encrypted);
}

#[test]
fn links_and_dot_dot_names_are_only_names() {
    let mut out = tar::Builder::new(Vec::new());
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    out.append_link(&mut link, "etc-passwd", "/etc/passwd")
        .unwrap();
    let body = b"k = v\n";
    let mut header = tar::Header::new_old();
    header.set_size(body.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    // `append_data` refuses `..`; a hostile archive does not.
    header.as_old_mut().name[..13].copy_from_slice(b"../../evil.sh");
    header.set_cksum();
    out.append(&header, &body[..]).unwrap();
    let mut data = out.into_inner().unwrap();
    // Make the first header POSIX so the tar is sniffed by its magic.
    data[257..263].copy_from_slice(b"ustar\0");
    data[263..265].copy_from_slice(b"00");
    let mut header = tar::Header::from_byte_slice(&data[..512]).clone();
    header.set_cksum();
    data[..512].copy_from_slice(header.as_bytes());
    let (seen, _) = walk("x.tar", data, &Limits::default());
    assert_eq!(seen, vec![("x.tar!../../evil.sh".into(), "k = v\n".into())]);
}

#[test]
fn garbage_after_a_magic_number_is_unreadable_not_a_crash() {
    for data in [
        &b"PK\x03\x04garbage"[..],
        b"\x1f\x8b\x08garbage",
        b"BZh91AY&SYgarbage",
    ] {
        let (seen, tally) = walk("bad", data.to_vec(), &Limits::default());
        assert!(seen.is_empty());
        assert!(
            matches!(tally.skipped[0].reason, SkipReason::Unreadable(_)),
            "{:?}",
            tally.skipped
        );
    }
}
