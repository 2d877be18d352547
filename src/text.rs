//! Text from scanned data made safe to print: every layer that names a path, a ref or a line
//! in a message uses it, so it sits below all of them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Scanned data (a path, a ref, a line) made safe to print to a terminal or a CI log.
///
/// A file name is chosen by whoever wrote the change being scanned: printed raw, an ESC
/// sequence could move the cursor or rewrite the summary, a `\r` overwrite a line, and a `\n`
/// start a line of its own, which GitHub Actions reads as a workflow command (`::error::`,
/// `::add-mask::`, `::stop-commands::`). So every C0 control (tab included), DEL, every C1
/// control and the bidi overrides (which reorder what a reviewer sees) become visible escapes
/// such as `\x1b`, `\n`, `\u{202e}`. Text without them is borrowed as it is.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_escapes_controls_and_bidi_overrides_only() {
        assert!(matches!(inert("src/main.rs é"), Cow::Borrowed(_)));
        assert_eq!(inert("a\nb\rc\td"), r"a\nb\rc\td");
        assert_eq!(inert("\x1b[2J\x7f\u{0}"), r"\x1b[2J\x7f\x00");
        assert_eq!(inert("\u{85}\u{9f}"), r"\u{85}\u{9f}");
        assert_eq!(inert("x\u{202e}y\u{2066}"), r"x\u{202e}y\u{2066}");
        assert_eq!(inert("\n::error::pwned"), r"\n::error::pwned");
    }
}
