//! What a pack delta changes: the parts of the object it builds that are not a straight copy
//! of its base. A blob whose base was judged clean needs only those parts (and what the matcher
//! reads around them) judged again, since every other byte was judged in the base.

use std::ops::Range;

/// The byte ranges of the object a delta builds that are new: each insert, and an empty range
/// wherever a copy does not continue where the previous copy left off in the base (two pieces of
/// the base brought together). `None` if the delta does not parse or does not build `len` bytes.
pub(super) fn changed_ranges(delta: &[u8], len: usize) -> Option<Vec<Range<usize>>> {
    let mut at = 0;
    let _base_size = varint(delta, &mut at)?;
    let result_size = varint(delta, &mut at)?;
    if result_size != len as u64 {
        return None;
    }
    let mut changed: Vec<Range<usize>> = Vec::new();
    let mut out = 0usize;
    // Where the previous op's copy ended in the base, if the previous op was a copy.
    let mut copy_end: Option<u64> = None;
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            let mut offset = 0u64;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    offset |= u64::from(*delta.get(at)?) << (8 * i);
                    at += 1;
                }
            }
            let mut size = 0u64;
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    size |= u64::from(*delta.get(at)?) << (8 * i);
                    at += 1;
                }
            }
            if size == 0 {
                size = 0x10000;
            }
            if copy_end != Some(offset) && out > 0 && !ends_at(&changed, out) {
                changed.push(out..out);
            }
            copy_end = Some(offset + size);
            out = out.checked_add(usize::try_from(size).ok()?)?;
        } else if op != 0 {
            let size = usize::from(op);
            delta.get(at..at + size)?;
            at += size;
            match changed.last_mut() {
                Some(last) if last.end == out => last.end = out + size,
                _ => changed.push(out..out + size),
            }
            copy_end = None;
            out += size;
        } else {
            // Opcode 0 is reserved: git refuses such a delta, and so does this.
            return None;
        }
    }
    (out == len).then_some(changed)
}

fn ends_at(changed: &[Range<usize>], at: usize) -> bool {
    changed.last().is_some_and(|last| last.end == at)
}

/// A delta header's size: 7 bits a byte, least significant first.
fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
// One changed range per case reads better as a one-element slice.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn header(base: u8, result: u8) -> Vec<u8> {
        vec![base, result]
    }

    /// A copy op of `size` bytes (1..=255) from `offset` (0..=255) of the base.
    fn copy(offset: u8, size: u8) -> [u8; 3] {
        [0x80 | 0x01 | 0x10, offset, size]
    }

    #[test]
    fn inserts_are_changed_and_a_continuing_copy_is_not() {
        // base "hello world", result "hello brave world": copy 6, insert "brave ", copy 5.
        let mut delta = header(11, 17);
        delta.extend(copy(0, 6));
        delta.push(6);
        delta.extend(b"brave ");
        delta.extend(copy(6, 5));
        assert_eq!(changed_ranges(&delta, 17), Some(vec![6..12]));
    }

    #[test]
    fn a_copy_that_jumps_in_the_base_marks_where_it_joins() {
        // base "abcdef", result "abef": copy 2 from 0, copy 2 from 4.
        let mut delta = header(6, 4);
        delta.extend(copy(0, 2));
        delta.extend(copy(4, 2));
        assert_eq!(changed_ranges(&delta, 4), Some(vec![2..2]));
        // A copy that starts the object anywhere in the base is no join.
        let mut delta = header(6, 2);
        delta.extend(copy(4, 2));
        assert_eq!(changed_ranges(&delta, 2), Some(vec![]));
    }

    #[test]
    fn adjacent_inserts_are_one_range() {
        let mut delta = header(0, 4);
        delta.push(2);
        delta.extend(b"ab");
        delta.push(2);
        delta.extend(b"cd");
        assert_eq!(changed_ranges(&delta, 4), Some(vec![0..4]));
    }

    #[test]
    fn a_delta_that_does_not_add_up_is_refused() {
        let mut delta = header(11, 17);
        delta.extend(copy(0, 6));
        assert_eq!(changed_ranges(&delta, 17), None);
        // Truncated insert, reserved opcode, wrong declared size.
        assert_eq!(changed_ranges(&[0, 3, 3, b'a'], 3), None);
        assert_eq!(changed_ranges(&[0, 1, 0], 1), None);
        assert_eq!(changed_ranges(&[0, 1, 1, b'a'], 2), None);
        assert_eq!(changed_ranges(&[], 0), None);
    }

    #[test]
    fn a_copy_of_size_zero_means_64_kib() {
        let mut delta = vec![0x80, 0x80, 0x04, 0x80, 0x80, 0x04];
        delta.push(0x80 | 0x01);
        delta.push(0);
        assert_eq!(changed_ranges(&delta, 0x10000), Some(vec![]));
    }
}
