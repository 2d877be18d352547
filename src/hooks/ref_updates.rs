//! git's ref-update lines, as the pre-push and pre-receive hooks read them on stdin: one line
//! per ref, fields separated by spaces. The two hooks differ only in the fields a line holds.

use crate::error::{Error, Result};

/// Every non-blank line of `input`, split into exactly `N` fields. A line with another count
/// is an error naming the hook, the line number, the fields expected and the line.
pub(super) fn parse_fields<const N: usize>(
    input: &str,
    hook: &str,
    expected: &str,
) -> Result<Vec<[String; N]>> {
    let mut lines = Vec::new();
    for (number, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Ok(fields) = <[&str; N]>::try_from(fields) else {
            return Err(Error::HookInput(format!(
                "{hook} input line {}: expected `{expected}`, got {line:?}",
                number + 1
            )));
        };
        lines.push(fields.map(String::from));
    }
    Ok(lines)
}

/// The all-zero id git uses for "nothing" (a new ref's old side, a deletion's new side): its
/// length follows the object format.
pub(super) fn is_zero_id(hex: &str) -> bool {
    !hex.is_empty() && hex.bytes().all(|b| b == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_skips_blank_ones_and_names_a_bad_line() {
        let lines =
            parse_fields::<3>("a b c\n\n  \nd  e\tf\n", "pre-receive", "<x> <y> <z>").unwrap();
        assert_eq!(
            lines,
            vec![
                ["a", "b", "c"].map(String::from),
                ["d", "e", "f"].map(String::from)
            ]
        );
        let err = parse_fields::<3>("a b c\na b\n", "pre-receive", "<x> <y> <z>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pre-receive input line 2: expected `<x> <y> <z>`, got \"a b\""
        );
    }

    #[test]
    fn zero_ids_of_both_object_formats() {
        assert!(is_zero_id(&"0".repeat(40)));
        assert!(is_zero_id(&"0".repeat(64)));
        assert!(!is_zero_id(&"0a".repeat(20)));
        assert!(!is_zero_id(""));
    }
}
