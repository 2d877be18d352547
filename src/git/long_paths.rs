//! Names the staged path that the index reader cannot read.
//!
//! git stores a path of 4095 bytes or more with its 12-bit length field saturated at 0xFFF and
//! the name ended by a NUL. gix-index (0.55) then does not skip the entry's padding and fails
//! with "Index trailer should have been 20 bytes long", which points at a broken index instead
//! of at the path. This reads just enough of the index format (versions 2 and 3; version 4
//! entries are read correctly by gix) to say which path it is.

/// The length git writes for a path too long for the 12-bit field.
pub const SATURATED_LEN: usize = 0x0fff;

/// The first path of `SATURATED_LEN` bytes or more in the index file `index`, if any.
pub fn overlong_path(index: &[u8]) -> Option<Vec<u8>> {
    if index.get(..4)? != b"DIRC" {
        return None;
    }
    let version = u32::from_be_bytes(index.get(4..8)?.try_into().ok()?);
    if version != 2 && version != 3 {
        return None;
    }
    let count = u32::from_be_bytes(index.get(8..12)?.try_into().ok()?);
    let mut start = 12;
    for _ in 0..count {
        // 40 bytes of stat data, a 20-byte id (SHA-1 repositories), then the 16-bit flags.
        let flags = u16::from_be_bytes(index.get(start + 60..start + 62)?.try_into().ok()?);
        let extended = flags & 0x4000 != 0;
        let name_at = start + if extended { 64 } else { 62 };
        let field = usize::from(flags) & SATURATED_LEN;
        let len = if field == SATURATED_LEN {
            index.get(name_at..)?.iter().position(|&b| b == 0)?
        } else {
            field
        };
        if len >= SATURATED_LEN {
            return Some(index.get(name_at..name_at + len)?.to_vec());
        }
        // Each entry is padded with 1 to 8 NULs to a multiple of 8 bytes.
        start += (name_at - start + len + 8) & !7;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-2 index holding entries with the given names (zero stat data and ids).
    fn index_with(names: &[&[u8]]) -> Vec<u8> {
        let mut out = b"DIRC".to_vec();
        out.extend(2u32.to_be_bytes());
        out.extend((names.len() as u32).to_be_bytes());
        for name in names {
            let entry_start = out.len();
            out.extend([0u8; 60]);
            out.extend((name.len().min(SATURATED_LEN) as u16).to_be_bytes());
            out.extend(*name);
            let size = (62 + name.len() + 8) & !7;
            out.resize(entry_start + size, 0);
        }
        out
    }

    #[test]
    fn finds_the_long_path_after_short_ones() {
        let long = vec![b'd'; 5000];
        let index = index_with(&[b"a.txt", b"bb/c.env", &long]);
        assert_eq!(overlong_path(&index), Some(long));
        assert_eq!(overlong_path(&index_with(&[b"a.txt", b"b"])), None);
        assert_eq!(overlong_path(b"not an index"), None);
    }
}
