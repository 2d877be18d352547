//! Added lines: what a change brings in. A line of the new version counts as added unless the
//! old version holds the same line (as many times): moving a line or a block around adds
//! nothing new to leak, and the multiset comparison is linear and cannot blow up on odd input.

use std::collections::HashMap;

/// The lines of `new` that `old` does not have, joined with `\n`, and the 1-based line number in
/// `new` of each of them.
pub fn added_lines(old: &[u8], new: &[u8]) -> (Vec<u8>, Vec<usize>) {
    // The lines both versions begin with are not added, and removing them from both leaves
    // the multiset comparison of the rest unchanged: each of them in `new` would have taken
    // its own copy in `old`. Most edits leave most of a file in front of them, so this skips
    // hashing most lines.
    let same = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let prefix = memchr::memrchr(b'\n', &new[..same]).map_or(0, |i| i + 1);
    let skipped_lines = memchr::memchr_iter(b'\n', &new[..prefix]).count();
    let (old, new) = (&old[prefix..], &new[prefix..]);
    let mut available: HashMap<&[u8], usize, foldhash::fast::RandomState> = HashMap::default();
    for line in lines(old) {
        *available.entry(line).or_default() += 1;
    }
    let mut data = Vec::new();
    let mut numbers = Vec::new();
    for (index, line) in lines(new).enumerate() {
        let index = index + skipped_lines;
        match available.get_mut(line) {
            Some(count) if *count > 0 => *count -= 1,
            _ => {
                if !numbers.is_empty() {
                    data.push(b'\n');
                }
                data.extend_from_slice(line);
                numbers.push(index + 1);
            }
        }
    }
    (data, numbers)
}

/// Lines without their terminator (`\n` or `\r\n`); a final unterminated line counts.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let empty = data.is_empty();
    body.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(move |_| !empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_lines_with_their_numbers() {
        let (data, numbers) = added_lines(b"a\nb\nc\n", b"a\nX\nb\nc\nY\n");
        assert_eq!(data, b"X\nY");
        assert_eq!(numbers, vec![2, 5]);
    }

    #[test]
    fn everything_is_added_to_an_empty_file() {
        let (data, numbers) = added_lines(b"", b"one\ntwo");
        assert_eq!(data, b"one\ntwo");
        assert_eq!(numbers, vec![1, 2]);
    }

    #[test]
    fn moved_and_deleted_lines_add_nothing() {
        let (data, numbers) = added_lines(b"a\nb\nc\n", b"c\na\n");
        assert!(data.is_empty());
        assert!(numbers.is_empty());
    }

    #[test]
    fn a_duplicated_line_is_added_once() {
        let (_, numbers) = added_lines(b"k\n", b"k\nk\n");
        assert_eq!(numbers, vec![2]);
    }

    /// Skipping the shared beginning gives what comparing the whole files gives.
    #[test]
    fn a_shared_beginning_changes_nothing() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"a\nb\nc\n", b"a\nb\nc\nd\n"),
            (b"a\nk\nb\n", b"a\nk\nk\nx\nb\n"),
            (b"a\nb", b"a\nbc"),
            (b"a\r\nb\n", b"a\r\nb\r\nc\n"),
            (b"x\ny\n", b"x\ny\n"),
            (b"k\nk\nz\n", b"k\nk\nk\nz\n"),
        ];
        for (old, new) in cases {
            assert_eq!(added_lines(old, new), whole_file_comparison(old, new));
        }
    }

    proptest::proptest! {
        #[test]
        fn a_shared_beginning_changes_nothing_on_any_text(
            shared in "[ab\r\n]{0,12}",
            old in "[ab\r\n]{0,12}",
            new in "[ab\r\n]{0,12}",
        ) {
            let (old, new) = (format!("{shared}{old}"), format!("{shared}{new}"));
            proptest::prop_assert_eq!(
                added_lines(old.as_bytes(), new.as_bytes()),
                whole_file_comparison(old.as_bytes(), new.as_bytes())
            );
        }
    }

    /// The comparison without skipping anything, as the reference.
    fn whole_file_comparison(old: &[u8], new: &[u8]) -> (Vec<u8>, Vec<usize>) {
        let mut available: HashMap<&[u8], usize> = HashMap::new();
        for line in lines(old) {
            *available.entry(line).or_default() += 1;
        }
        let (mut data, mut numbers) = (Vec::new(), Vec::new());
        for (index, line) in lines(new).enumerate() {
            match available.get_mut(line) {
                Some(count) if *count > 0 => *count -= 1,
                _ => {
                    if !numbers.is_empty() {
                        data.push(b'\n');
                    }
                    data.extend_from_slice(line);
                    numbers.push(index + 1);
                }
            }
        }
        (data, numbers)
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        let (data, numbers) = added_lines(b"a\r\n", b"a\r\nb");
        assert_eq!(data, b"b");
        assert_eq!(numbers, vec![2]);
    }
}
