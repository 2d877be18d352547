//! Reading a loose object into memory rather than mapping it.
//!
//! gix maps each loose object file it reads, twice when the header is asked for first. In a
//! process with several threads every unmap interrupts the other cores to flush their TLBs:
//! on a commit that stages a thousand files, which `git add` wrote as loose objects, the maps
//! and unmaps were about a tenth of the scan. A loose object is small and read once, so one
//! `read` is cheaper. Anything unusual (packed, in an alternate, damaged, or a file too large
//! to be under the limit) is left to gix, which reads it or names what is wrong.

use std::io::Read;
use std::path::Path;

use gix::zlib::{Inflate, Status};

/// What [`read`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Loose {
    /// The object's body.
    Data(Vec<u8>),
    /// The object's size, from its header, is over the limit: the body was not inflated.
    TooLarge(u64),
}

/// Room for a loose object's header (`blob 123\0`), as gix allows.
const HEADER_ROOM: usize = 64;

/// The loose object `hex` (its id in hex) under `objects`, a repository's objects directory,
/// if it is there as a loose file that inflates cleanly; `None` leaves it to gix.
pub(super) fn read(objects: &Path, hex: &str, max_size: u64) -> Option<Loose> {
    let path = objects.join(hex.get(..2)?).join(hex.get(2..)?);
    let file = std::fs::File::open(path).ok()?;
    let compressed_len = file.metadata().ok()?.len();
    // Deflate adds a few bytes per block at most, so a file this much larger than the limit
    // holds an object over it; gix reads just its header.
    if compressed_len > max_size.saturating_add(max_size / 64).saturating_add(1024) {
        return None;
    }
    let mut compressed = Vec::with_capacity(compressed_len as usize);
    file.take(compressed_len)
        .read_to_end(&mut compressed)
        .ok()?;
    let mut header = [0u8; HEADER_ROOM];
    let mut inflate = Inflate::default();
    let (status, _, produced) = inflate.once(&compressed, &mut header).ok()?;
    if status == Status::BufError {
        return None;
    }
    let (_, size, header_len) = gix::objs::decode::loose_header(&header[..produced]).ok()?;
    if size > max_size {
        return Some(Loose::TooLarge(size));
    }
    let whole = header_len.checked_add(usize::try_from(size).ok()?)?;
    // One byte of room past the end: with all of it written, the stream must then be at its end.
    let mut data = vec![0u8; whole + 1];
    inflate.reset();
    let (status, _, produced) = inflate.once(&compressed, &mut data).ok()?;
    if status != Status::StreamEnd || produced != whole {
        return None;
    }
    data.truncate(whole);
    data.drain(..header_len);
    Some(Loose::Data(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Writes `body` as the loose blob `hex` under `objects`, as git does.
    fn write_loose(objects: &Path, hex: &str, body: &[u8]) {
        let dir = objects.join(&hex[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(format!("blob {}\0", body.len()).as_bytes())
            .unwrap();
        encoder.write_all(body).unwrap();
        std::fs::write(dir.join(&hex[2..]), encoder.finish().unwrap()).unwrap();
    }

    const HEX: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_loose_blob_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        for body in [&b""[..], b"x", &[b'a'; 100_000]] {
            write_loose(dir.path(), HEX, body);
            assert_eq!(
                read(dir.path(), HEX, 1 << 20),
                Some(Loose::Data(body.to_vec()))
            );
        }
    }

    #[test]
    fn an_object_over_the_limit_is_not_inflated() {
        let dir = tempfile::tempdir().unwrap();
        write_loose(dir.path(), HEX, &[b'a'; 5000]);
        assert_eq!(read(dir.path(), HEX, 4999), Some(Loose::TooLarge(5000)));
    }

    #[test]
    fn anything_else_is_left_to_gix() {
        let dir = tempfile::tempdir().unwrap();
        // Not there (packed, or in an alternate).
        assert_eq!(read(dir.path(), HEX, 1 << 20), None);
        // Not zlib, or cut short.
        std::fs::create_dir_all(dir.path().join(&HEX[..2])).unwrap();
        std::fs::write(dir.path().join(&HEX[..2]).join(&HEX[2..]), b"not zlib").unwrap();
        assert_eq!(read(dir.path(), HEX, 1 << 20), None);
        write_loose(dir.path(), HEX, &[b'a'; 1000]);
        let path = dir.path().join(&HEX[..2]).join(&HEX[2..]);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 6]).unwrap();
        assert_eq!(read(dir.path(), HEX, 1 << 20), None);
        // A header that lies about the size.
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"blob 10\0only five").unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        assert_eq!(read(dir.path(), HEX, 1 << 20), None);
    }
}
