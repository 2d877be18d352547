//! What a file's bytes are, decided from their first bytes alone: text (and in which
//! encoding), an archive or compressed stream, a Git LFS pointer, or binary.
//!
//! Every source asks [`sniff`] before it scans anything, so a file is judged the same way
//! wherever it comes from. For the common case (UTF-8 text without a NUL byte) this costs a
//! few byte comparisons and one `memchr` over the first block, and allocates nothing.

use std::borrow::Cow;

/// How much of a file the binary and UTF-16 tests look at, as git does.
const BLOCK: usize = 8192;

/// Git LFS pointers stand in for content stored elsewhere; scanning them finds nothing.
const LFS_VERSION_LINE: &[u8] = b"version https://git-lfs.github.com/spec/v1\n";

/// A real pointer is tiny; git-lfs itself does not look at blobs of 1024 bytes or more.
const LFS_POINTER_MAX: usize = 1024;

/// The archive and compression formats staunch opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Archive {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Archive {
    pub fn name(self) -> &'static str {
        match self {
            Archive::Zip => "zip",
            Archive::Tar => "tar",
            Archive::Gzip => "gzip",
            Archive::Bzip2 => "bzip2",
            Archive::Xz => "xz",
            Archive::Zstd => "zstd",
        }
    }
}

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8, ASCII or any other byte text: scanned as it is.
    Text,
    /// UTF-8 after a byte order mark, which is left out of the scanned text.
    Utf8Bom,
    /// UTF-16, little or big endian; `bom` says whether the text starts with a byte order mark.
    Utf16 {
        big_endian: bool,
        bom: bool,
    },
    Archive(Archive),
    /// A binary file that is a credential by its nature (a keystore, a DER private key).
    Container(super::container::Container),
    LfsPointer,
    Binary,
}

impl Kind {
    /// Whether the content is text once [`decode`] has turned it into UTF-8.
    pub fn is_text(self) -> bool {
        matches!(self, Kind::Text | Kind::Utf8Bom | Kind::Utf16 { .. })
    }
}

/// Decides what `data` is from its first block.
pub fn sniff(data: &[u8]) -> Kind {
    if let Some(archive) = archive_magic(data) {
        return Kind::Archive(archive);
    }
    if let Some(container) = super::container::recognise(data) {
        return Kind::Container(container);
    }
    match data {
        [0xEF, 0xBB, 0xBF, ..] => return Kind::Utf8Bom,
        [0xFF, 0xFE, ..] => {
            return Kind::Utf16 {
                big_endian: false,
                bom: true,
            }
        }
        [0xFE, 0xFF, ..] => {
            return Kind::Utf16 {
                big_endian: true,
                bom: true,
            }
        }
        _ => {}
    }
    if data.starts_with(b"version ") && is_lfs_pointer(data) {
        return Kind::LfsPointer;
    }
    let block = &data[..data.len().min(BLOCK)];
    if memchr::memchr(0, block).is_none() {
        return Kind::Text;
    }
    if let Some(big_endian) = utf16_without_bom(block) {
        return Kind::Utf16 {
            big_endian,
            bom: false,
        };
    }
    if mostly_control_bytes(block) {
        Kind::Binary
    } else {
        Kind::Text
    }
}

/// Content that is not text (see [`sniff`]): kept for callers that only need a yes or no.
pub fn is_binary(data: &[u8]) -> bool {
    matches!(sniff(data), Kind::Binary)
}

/// The magic numbers of the formats in [`Archive`]: a few comparisons, no allocation.
fn archive_magic(data: &[u8]) -> Option<Archive> {
    match data {
        // A local file header, an empty archive's end record, or a spanned archive's marker.
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => {
            Some(Archive::Zip)
        }
        // Deflate is the only method gzip defines.
        [0x1F, 0x8B, 8, ..] => Some(Archive::Gzip),
        // `BZh`, the block size, then the magic of a first block or of the end of the stream.
        [b'B', b'Z', b'h', b'1'..=b'9', rest @ ..]
            if rest.starts_with(&[0x31, 0x41, 0x59, 0x26, 0x53, 0x59])
                || rest.starts_with(&[0x17, 0x72, 0x45, 0x38, 0x50, 0x90]) =>
        {
            Some(Archive::Bzip2)
        }
        [0xFD, b'7', b'z', b'X', b'Z', 0, ..] => Some(Archive::Xz),
        [0x28, 0xB5, 0x2F, 0xFD, ..] => Some(Archive::Zstd),
        _ if is_tar(data) => Some(Archive::Tar),
        _ => None,
    }
}

/// POSIX and GNU tar headers carry `ustar` at offset 257. (Pre-POSIX tar has no magic and is
/// not recognised.)
pub fn is_tar(data: &[u8]) -> bool {
    data.get(257..262) == Some(b"ustar")
}

/// A Git LFS pointer and nothing else: the version line, optional `ext-` lines, the `oid` and
/// `size` lines, each ending with a newline. Text that only starts like one is text.
fn is_lfs_pointer(data: &[u8]) -> bool {
    if data.len() >= LFS_POINTER_MAX || !data.starts_with(LFS_VERSION_LINE) {
        return false;
    }
    let Some(body) = data[LFS_VERSION_LINE.len()..].strip_suffix(b"\n") else {
        return false;
    };
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while lines.peek().is_some_and(|line| line.starts_with(b"ext-")) {
        lines.next();
    }
    let oid = lines.next().and_then(|l| l.strip_prefix(b"oid sha256:"));
    let size = lines.next().and_then(|l| l.strip_prefix(b"size "));
    let oid_ok = oid.is_some_and(|hex| {
        hex.len() == 64 && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    let size_ok = size.is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    oid_ok && size_ok && lines.next().is_none()
}

/// UTF-16 without a byte order mark, recognised as ASCII-range text: in most 2-byte units one
/// byte is NUL (the high byte) and the other is not. `Some(true)` for big endian.
fn utf16_without_bom(block: &[u8]) -> Option<bool> {
    let units = block.len() / 2;
    if units < 2 {
        return None;
    }
    let (mut zero_even, mut zero_odd) = (0, 0);
    for pair in block.chunks_exact(2) {
        zero_even += usize::from(pair[0] == 0);
        zero_odd += usize::from(pair[1] == 0);
    }
    let most = units * 3 / 4;
    let few = units / 16;
    if zero_odd >= most && zero_even <= few {
        Some(false)
    } else if zero_even >= most && zero_odd <= few {
        Some(true)
    } else {
        None
    }
}

/// Binary when more than one byte in 32 is a control byte that text does not use (NUL and the
/// C0 controls other than tab, newlines, form feed and escape), as content sniffers (the
/// WHATWG MIME sniffing rules, `file`) judge. A stray NUL in a text file leaves it text;
/// compressed data, with about one such byte in ten, is binary.
fn mostly_control_bytes(block: &[u8]) -> bool {
    let control = block
        .iter()
        .filter(|&&b| matches!(b, 0..=8 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F))
        .count();
    control * 32 > block.len()
}

/// The text to scan: UTF-8, with any byte order mark left out. UTF-16 is decoded (an unpaired
/// surrogate becomes U+FFFD); other text is borrowed as it is.
pub fn decode(kind: Kind, data: &[u8]) -> Cow<'_, [u8]> {
    match kind {
        Kind::Utf8Bom => Cow::Borrowed(&data[3..]),
        Kind::Utf16 { big_endian, bom } => {
            let units = &data[if bom { 2 } else { 0 }..];
            Cow::Owned(utf16_to_utf8(units, big_endian))
        }
        _ => Cow::Borrowed(data),
    }
}

/// Like [`decode`], for content the caller owns: plain text is moved, not copied.
pub fn decode_owned(kind: Kind, data: Vec<u8>) -> Vec<u8> {
    match kind {
        Kind::Text | Kind::Archive(_) | Kind::Container(_) | Kind::LfsPointer | Kind::Binary => {
            data
        }
        _ => decode(kind, &data).into_owned(),
    }
}

fn utf16_to_utf8(bytes: &[u8], big_endian: bool) -> Vec<u8> {
    let units = bytes.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let mut out = Vec::with_capacity(bytes.len() / 2 + bytes.len() / 8);
    let mut buf = [0u8; 4];
    for c in char::decode_utf16(units) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            if big_endian {
                out.extend_from_slice(&unit.to_be_bytes());
            } else {
                out.extend_from_slice(&unit.to_le_bytes());
            }
        }
        out
    }

    #[test]
    fn utf16_with_and_without_bom_decodes_to_the_same_text() {
        let text = "DB_PASSWORD=correct horse\r\nname = \u{e9}t\u{e9} \u{1F600}\n";
        for big_endian in [false, true] {
            for bom in [false, true] {
                let data = utf16(text, big_endian, bom);
                let kind = sniff(&data);
                assert_eq!(kind, Kind::Utf16 { big_endian, bom }, "{big_endian} {bom}");
                assert_eq!(decode(kind, &data).as_ref(), text.as_bytes());
            }
        }
    }

    #[test]
    fn utf8_bom_is_left_out() {
        let data = b"\xEF\xBB\xBFkey = value\n";
        assert_eq!(sniff(data), Kind::Utf8Bom);
        assert_eq!(decode(Kind::Utf8Bom, data).as_ref(), b"key = value\n");
    }

    #[test]
    fn an_unpaired_surrogate_becomes_a_replacement_character() {
        let data = [0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0];
        let kind = sniff(&data);
        assert_eq!(decode(kind, &data).as_ref(), "a\u{FFFD}b".as_bytes());
    }

    #[test]
    fn a_leading_nul_does_not_make_text_binary() {
        let mut data = vec![0u8];
        data.extend_from_slice(b"aws_access_key_id = something\nmore text here, line after line\n");
        assert_eq!(sniff(&data), Kind::Text);
    }

    #[test]
    fn control_heavy_data_is_binary() {
        let elf: Vec<u8> = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0"
            .iter()
            .copied()
            .cycle()
            .take(4000)
            .collect();
        assert_eq!(sniff(&elf), Kind::Binary);
        // Pseudo-random bytes, like compressed data.
        let mut x = 0x2545_F491u32;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(sniff(&noise), Kind::Binary);
    }

    #[test]
    fn plain_text_is_text() {
        assert_eq!(sniff(b""), Kind::Text);
        assert_eq!(sniff(b"hello\n"), Kind::Text);
        assert_eq!(sniff("caf\u{e9}\n".as_bytes()), Kind::Text);
        assert_eq!(sniff(b"\x1b[31mred\x1b[0m\n"), Kind::Text);
    }

    #[test]
    fn lfs_pointer_only_when_it_is_exactly_one() {
        let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        let pointer =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 12345\n");
        assert_eq!(sniff(pointer.as_bytes()), Kind::LfsPointer);
        let with_ext = format!(
            "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{oid}\noid sha256:{oid}\nsize 1\n"
        );
        assert_eq!(sniff(with_ext.as_bytes()), Kind::LfsPointer);
        let more = format!("{pointer}aws_secret = hidden after the pointer\n");
        assert_eq!(sniff(more.as_bytes()), Kind::Text);
        let first_line_only = "version https://git-lfs.github.com/spec/v1\npassword = x\n";
        assert_eq!(sniff(first_line_only.as_bytes()), Kind::Text);
        assert_eq!(sniff(pointer.trim_end().as_bytes()), Kind::Text);
    }

    #[test]
    fn archives_by_magic() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Archive(Archive::Zip));
        assert_eq!(sniff(b"\x1f\x8b\x08\0"), Kind::Archive(Archive::Gzip));
        assert_eq!(sniff(b"BZh91AY&SY\0\0"), Kind::Archive(Archive::Bzip2));
        assert_eq!(sniff(b"BZh9 is just text\n"), Kind::Text);
        assert_eq!(sniff(b"\xfd7zXZ\0\0\x04"), Kind::Archive(Archive::Xz));
        assert_eq!(sniff(b"\x28\xb5\x2f\xfd\x00"), Kind::Archive(Archive::Zstd));
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&tar), Kind::Archive(Archive::Tar));
        assert_eq!(sniff(b"PK is a word\n"), Kind::Text);
    }
}
