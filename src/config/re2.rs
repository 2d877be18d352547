//! Go RE2 regex syntax (what gitleaks configs are written in) translated to the syntax of Rust's
//! `regex`, as staunch compiles it: on bytes, with Unicode off. The two dialects mostly agree;
//! where they differ a pattern either fails to compile here or, worse, compiles to something
//! else (`\<` is a word boundary in Rust, a literal `<` in Go). The scanner below walks the
//! pattern once, tracking escapes and classes, and rewrites only what differs:
//!
//! - a `{` that does not open a repetition RE2 accepts (`{n}`, `{n,}`, `{n,m}`, no leading
//!   zeros) is a literal `\{`; a `}` outside a repetition is `\}`;
//! - an escaped punctuation character is that character (Rust gives some escapes a meaning);
//! - `\Q...\E` quotes its text;
//! - octal escapes (`\0`, `\12`, `\177`) become `\x{..}`;
//! - `\s` is `[\t\n\f\r ]` (Rust's ASCII `\s` also takes `\v`);
//! - a class is re-written item by item, since Rust reads `[`, `&&`, `--` and `~~` in a class
//!   as nested classes and set operations where RE2 sees plain characters;
//! - `\pL`, `\p{Greek}`, non-ASCII characters and `\x` escapes above 0x7f mean Unicode
//!   characters in RE2; they are wrapped in `(?u:...)` so they still do with Unicode off.
//!
//! What RE2 itself refuses and Rust would read differently (`\C`, back-references,
//! look-around, the `x`, `u` and `R` flags) is an [`Untranslatable`] error naming the construct.

use std::fmt::Write;

/// An RE2 construct with no faithful Rust equivalent, as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untranslatable(pub String);

/// RE2's whitespace class: Rust's ASCII `\s` also has `\v`, RE2's does not.
const SPACE: &str = r"\t\n\f\r ";
/// Every repetition count in RE2 is at most this.
const MAX_REPEAT: u32 = 1000;

/// Translates one RE2 pattern into Rust `regex` syntax with the same meaning.
pub fn translate(pattern: &str) -> Result<String, Untranslatable> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => i = escape(&chars, i, &mut out)?,
            '[' => i = class(&chars, i, &mut out)?,
            '{' => match repetition(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..end]);
                    i = end;
                }
                None => {
                    out.push_str(r"\{");
                    i += 1;
                }
            },
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            '(' => i = group(&chars, i, &mut out)?,
            c if !c.is_ascii() => {
                // A literal character; with Unicode off Rust refuses it in some positions.
                let _ = write!(out, "(?u:{c})");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The end of a repetition `{n}`, `{n,}` or `{n,m}` starting at `at`, if RE2 reads one there.
/// RE2 takes anything else (`{}`, `{,3}`, `{01}`, `{\d+}`) as a literal brace.
fn repetition(chars: &[char], at: usize) -> Option<usize> {
    let mut i = at + 1;
    let number = |i: &mut usize| -> Option<u32> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        let digits: String = chars[start..*i].iter().collect();
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        // RE2 refuses counts over 1000; leaving those as written lets the regex error say so.
        Some(digits.parse().unwrap_or(MAX_REPEAT + 1))
    };
    number(&mut i)?;
    if chars.get(i) == Some(&',') {
        i += 1;
        if chars.get(i).is_some_and(char::is_ascii_digit) {
            number(&mut i)?;
        }
    }
    (chars.get(i) == Some(&'}')).then_some(i + 1)
}

/// A group opening at `at`: `(`, `(?:`, `(?flags)`, `(?flags:`, `(?P<name>` and `(?<name>` are
/// RE2; look-around and flags RE2 lacks are refused.
fn group(chars: &[char], at: usize, out: &mut String) -> Result<usize, Untranslatable> {
    if chars.get(at + 1) != Some(&'?') {
        out.push('(');
        return Ok(at + 1);
    }
    let rest: String = chars[at..chars.len().min(at + 4)].iter().collect();
    if rest.starts_with("(?P<")
        || (rest.starts_with("(?<") && !rest.starts_with("(?<=") && !rest.starts_with("(?<!"))
    {
        out.push_str("(?");
        return Ok(at + 2);
    }
    let mut i = at + 2;
    while i < chars.len() && chars[i] != ')' && chars[i] != ':' {
        let f = chars[i];
        if !matches!(f, 'i' | 'm' | 's' | 'U' | '-') {
            let end = (i + 1).min(chars.len());
            let construct: String = chars[at..end].iter().collect();
            return Err(Untranslatable(match f {
                '=' | '!' | '<' => format!("look-around `{construct}`"),
                _ => format!("group flag `{construct}`"),
            }));
        }
        i += 1;
    }
    out.push_str("(?");
    Ok(at + 2)
}

/// One escape at top level, starting at the backslash `at`; returns where the pattern goes on.
fn escape(chars: &[char], at: usize, out: &mut String) -> Result<usize, Untranslatable> {
    let Some(&c) = chars.get(at + 1) else {
        // A trailing backslash: both dialects refuse it, the regex error says so.
        out.push('\\');
        return Ok(at + 1);
    };
    match c {
        'Q' => {
            let mut i = at + 2;
            while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                literal(chars[i], out);
                i += 1;
            }
            Ok(if i < chars.len() { i + 2 } else { i })
        }
        's' => {
            let _ = write!(out, "[{SPACE}]");
            Ok(at + 2)
        }
        'S' => {
            let _ = write!(out, "[^{SPACE}]");
            Ok(at + 2)
        }
        'p' | 'P' => {
            let end = unicode_class_end(chars, at)?;
            out.push_str("(?u:");
            out.extend(&chars[at..end]);
            out.push(')');
            Ok(end)
        }
        'x' => {
            let (code, end) = hex(chars, at)?;
            char_escape(code, out);
            Ok(end)
        }
        '0'..='7' => {
            let (code, end) = octal(chars, at)?;
            char_escape(code, out);
            Ok(end)
        }
        'C' => Err(Untranslatable(r"`\C` (any single byte)".into())),
        '8' | '9' => Err(Untranslatable(format!("back-reference `\\{c}`"))),
        c if c.is_ascii_punctuation() => {
            literal(c, out);
            Ok(at + 2)
        }
        // \d \w \b \A \z \t \n ... mean the same in both; anything else both refuse.
        c => {
            out.push('\\');
            out.push(c);
            Ok(at + 2)
        }
    }
}

/// Where `\pX`, `\p{Name}` or `\p{^Name}` starting at `at` ends.
fn unicode_class_end(chars: &[char], at: usize) -> Result<usize, Untranslatable> {
    match chars.get(at + 2) {
        Some('{') => chars[at + 2..]
            .iter()
            .position(|&c| c == '}')
            .map(|p| at + 2 + p + 1)
            .ok_or_else(|| Untranslatable("unterminated `\\p{`".into())),
        Some(_) => Ok(at + 3),
        None => Err(Untranslatable("`\\p` without a class name".into())),
    }
}

/// `\xHH` or `\x{H...}` starting at `at`: the code point and where it ends.
fn hex(chars: &[char], at: usize) -> Result<(u32, usize), Untranslatable> {
    let bad = || Untranslatable("malformed `\\x` escape".into());
    let (digits, end): (String, usize) = if chars.get(at + 2) == Some(&'{') {
        let close = chars[at + 3..]
            .iter()
            .position(|&c| c == '}')
            .ok_or_else(bad)?;
        (
            chars[at + 3..at + 3 + close].iter().collect(),
            at + 3 + close + 1,
        )
    } else {
        (
            chars.get(at + 2..at + 4).ok_or_else(bad)?.iter().collect(),
            at + 4,
        )
    };
    let code = u32::from_str_radix(&digits, 16).map_err(|_| bad())?;
    Ok((code, end))
}

/// RE2's octal escapes: `\0` and up to two more octal digits, or `\1`-`\7` followed by at least
/// one more (a lone `\1` is a back-reference, which RE2 refuses).
fn octal(chars: &[char], at: usize) -> Result<(u32, usize), Untranslatable> {
    let is_octal = |i: usize| chars.get(i).is_some_and(|c| ('0'..='7').contains(c));
    if chars[at + 1] != '0' && !is_octal(at + 2) {
        return Err(Untranslatable(format!(
            "back-reference `\\{}`",
            chars[at + 1]
        )));
    }
    let mut end = at + 2;
    while end < at + 4 && is_octal(end) {
        end += 1;
    }
    let digits: String = chars[at + 1..end].iter().collect();
    Ok((u32::from_str_radix(&digits, 8).expect("octal digits"), end))
}

/// A character given by code point: above 0x7f RE2 means the Unicode character, which Rust's
/// `\x` only means in Unicode mode.
fn char_escape(code: u32, out: &mut String) {
    if code < 0x80 {
        let _ = write!(out, "\\x{{{code:02X}}}");
    } else {
        let _ = write!(out, "(?u:\\x{{{code:X}}})");
    }
}

/// A literal character outside a class, escaped when Rust gives it a meaning.
fn literal(c: char, out: &mut String) {
    if !c.is_ascii() {
        let _ = write!(out, "(?u:{c})");
    } else if regex_syntax::is_meta_character(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_ascii_control() {
        let _ = write!(out, "\\x{{{:02X}}}", c as u32);
    } else {
        out.push(c);
    }
}

/// One item of a character class.
enum Item {
    Char(u32),
    Range(u32, u32),
    /// Already in Rust syntax (`0-9`, `[:alpha:]`, `[^\t\n\f\r ]`, `\p{Greek}`).
    Set(String),
}

/// A class starting at `at`, parsed the way RE2 parses it and written out item by item.
fn class(chars: &[char], at: usize, out: &mut String) -> Result<usize, Untranslatable> {
    let mut i = at + 1;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut unicode = false;
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            // Unclosed: both refuse it; hand it on as written so the regex error shows it.
            out.extend(&chars[at..]);
            return Ok(chars.len());
        };
        if c == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        // A POSIX class `[:alpha:]` (or `[:^alpha:]`); any other `[` is a plain character.
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let tail: String = chars[i + 2..].iter().collect();
            if let Some(close) = tail.find(":]") {
                let name = &tail[..close];
                items.push(Item::Set(format!("[:{name}:]")));
                i += 2 + name.chars().count() + 2;
                continue;
            }
        }
        let (lo, next) = match class_atom(chars, i, &mut items, &mut unicode)? {
            Some(atom) => atom,
            None => {
                i = next_after_set(chars, i)?;
                continue;
            }
        };
        i = next;
        // A range `lo-hi`, unless the `-` is the last thing before `]`.
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let mut ignored = Vec::new();
            match class_atom(chars, i + 1, &mut ignored, &mut unicode)? {
                Some((hi, next)) => {
                    items.push(Item::Range(lo, hi));
                    i = next;
                }
                None => return Err(Untranslatable("a class range ending in a class".into())),
            }
        } else {
            items.push(Item::Char(lo));
        }
    }
    let mut body = String::new();
    for item in &items {
        match item {
            Item::Char(c) => class_char(*c, &mut body, &mut unicode),
            Item::Range(lo, hi) => {
                class_char(*lo, &mut body, &mut unicode);
                body.push('-');
                class_char(*hi, &mut body, &mut unicode);
            }
            Item::Set(set) => body.push_str(set),
        }
    }
    let caret = if negated { "^" } else { "" };
    if unicode {
        let _ = write!(out, "(?u:[{caret}{body}])");
    } else {
        let _ = write!(out, "[{caret}{body}]");
    }
    Ok(i)
}

/// One character of a class at `i`: its code point and where the class goes on, or `None`
/// when it is a set (`\d`, `\pL`), which is pushed onto `items` instead.
fn class_atom(
    chars: &[char],
    i: usize,
    items: &mut Vec<Item>,
    unicode: &mut bool,
) -> Result<Option<(u32, usize)>, Untranslatable> {
    let c = chars[i];
    if c != '\\' {
        return Ok(Some((c as u32, i + 1)));
    }
    let Some(&e) = chars.get(i + 1) else {
        return Err(Untranslatable("a class ending in `\\`".into()));
    };
    // The Perl classes are spelled out in ASCII so they keep RE2's meaning inside `(?u:...)`.
    let set = match e {
        'd' => Some("0-9".to_string()),
        'D' => Some("[^0-9]".to_string()),
        'w' => Some("0-9A-Za-z_".to_string()),
        'W' => Some("[^0-9A-Za-z_]".to_string()),
        's' => Some(SPACE.to_string()),
        'S' => Some(format!("[^{SPACE}]")),
        'p' | 'P' => {
            *unicode = true;
            let end = unicode_class_end(chars, i)?;
            Some(chars[i..end].iter().collect())
        }
        _ => None,
    };
    if let Some(set) = set {
        items.push(Item::Set(set));
        return Ok(None);
    }
    let simple = |code: char| Ok(Some((code as u32, i + 2)));
    match e {
        'x' => hex(chars, i).map(|(code, end)| Some((code, end))),
        '0'..='7' => octal(chars, i).map(|(code, end)| Some((code, end))),
        'a' => simple('\x07'),
        'f' => simple('\x0c'),
        't' => simple('\t'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        'v' => simple('\x0b'),
        'Q' => Err(Untranslatable("`\\Q` inside a class".into())),
        e if e.is_ascii_punctuation() => simple(e),
        e => Err(Untranslatable(format!("`\\{e}` inside a class"))),
    }
}

/// Where a set escape (`\d`, `\pL`, `\p{Greek}`) at `i` ends.
fn next_after_set(chars: &[char], i: usize) -> Result<usize, Untranslatable> {
    match chars[i + 1] {
        'p' | 'P' => unicode_class_end(chars, i),
        _ => Ok(i + 2),
    }
}

/// A class member written so Rust reads it as the plain character RE2 meant.
fn class_char(code: u32, body: &mut String, unicode: &mut bool) {
    match char::from_u32(code) {
        Some(c) if c.is_ascii_alphanumeric() || " _!\"#%',/:;<=>@`".contains(c) => body.push(c),
        Some(c) if c.is_ascii_punctuation() => {
            body.push('\\');
            body.push(c);
        }
        _ if code < 0x80 => {
            let _ = write!(body, "\\x{{{code:02X}}}");
        }
        _ => {
            *unicode = true;
            let _ = write!(body, "\\x{{{code:X}}}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pattern: &str) -> String {
        translate(pattern).unwrap()
    }

    /// The translation compiles the way rule regexes do, and matches (or not) like RE2.
    fn matches(pattern: &str, haystack: &str) -> bool {
        crate::rules::compile_rule_regex(&t(pattern))
            .unwrap_or_else(|e| panic!("{pattern:?} -> {:?}: {e}", t(pattern)))
            .is_match(haystack.as_bytes())
    }

    #[test]
    fn literal_braces() {
        assert_eq!(t(r"^\$(?:\d+|{\d+})$"), r"^\$(?:\d+|\{\d+\})$");
        assert!(matches(r"^\$(?:\d+|{\d+})$", "${12}"));
        assert!(matches(r"\${{[^}]+}}", "${{ secrets.X }}"));
        assert!(matches(r"a{}", "a{}"));
        assert!(matches(r"a{,3}", "a{,3}"));
        assert!(matches(r"^a{01}$", "a{01}"));
        assert!(!matches(r"^a{01}$", "a"));
        assert!(matches(r"x}", "x}"));
    }

    #[test]
    fn repetitions_stay() {
        assert_eq!(t(r"a{3}b{2,}c{1,5}"), r"a{3}b{2,}c{1,5}");
        assert!(matches(r"^[a-z]{3}$", "abc"));
        assert!(!matches(r"^[a-z]{3}$", "abcd"));
    }

    #[test]
    fn escaped_punctuation_is_literal() {
        // Rust reads `\<` and `\>` as word boundaries.
        assert_eq!(t(r"\<a\>"), "<a>");
        assert!(matches(r"^\<a\>$", "<a>"));
        assert!(matches(r"^\_\!$", "_!"));
        assert_eq!(t(r"\.\*"), r"\.\*");
    }

    #[test]
    fn quoted_text() {
        assert!(matches(r"^\Qa.b*{c}\E$", "a.b*{c}"));
        assert!(!matches(r"^\Qa.b\E$", "axb"));
        assert!(matches(r"^\Q[x]", "[x]"));
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(t(r"\101\0\12"), r"\x{41}\x{00}\x{0A}");
        assert!(matches(r"^\101$", "A"));
        assert!(translate(r"(a)\1").is_err());
    }

    #[test]
    fn whitespace_class_has_no_vertical_tab() {
        assert!(!matches(r"^\s$", "\x0b"));
        assert!(matches(r"^\s\S$", "\tx"));
        assert!(!matches(r"^[\s]$", "\x0b"));
        assert!(matches(r"^[^\S]$", " "));
        assert!(matches(r"^[[:space:]]$", "\x0b"));
    }

    #[test]
    fn class_characters_are_plain() {
        // In Rust these are nested classes and set operations.
        assert!(matches(r"^[a&&b]+$", "a&&b"));
        assert!(matches(r"^[a-c--]+$", "a-b"));
        assert!(matches(r"^[a~~b]+$", "a~~b"));
        assert!(matches(r"^[[a]+$", "[a"));
        assert!(matches(r"^[]a]+$", "]a"));
        assert!(matches(r"^[^]a]$", "b"));
        assert!(matches(r"^[\w.-]+$", "a.b-c_1"));
        assert!(matches(r"^[a-z-_]+$", "a-_"));
        assert!(matches(r"^[+--]$", ","));
        assert!(matches(r"^[{}]+$", "{}"));
        assert!(matches(r"^[[:alnum:]]+$", "aZ9"));
        assert!(!matches(r"^[[:^alpha:]]$", "a"));
        assert!(matches(r"^[\x60'\x22]$", "`"));
        assert!(matches(r"^[\d\]]+$", "1]"));
    }

    #[test]
    fn unicode_classes_and_characters() {
        assert!(matches(r"^\pL+$", "héllo"));
        assert!(matches(r"^\p{Greek}$", "λ"));
        assert!(!matches(r"^\PL$", "é"));
        assert!(matches(r"^[\p{L}\d]+$", "é1"));
        assert!(matches(r"^é$", "é"));
        assert!(matches(r"^[é-ë]$", "ê"));
        assert!(matches(r"^\xe9$", "é"));
        assert!(matches(r"^[\x{e9}]$", "é"));
        // Inside a Unicode class the Perl classes stay ASCII, as in RE2.
        assert!(!matches(r"^[\pL\w]$", "٣"));
    }

    #[test]
    fn flags_and_groups() {
        assert!(matches(r"(?i)^ABC$", "abc"));
        assert!(matches(r"^(?i:a)b$", "Ab"));
        assert!(matches(r"^(?P<x>a)(?<y>b)$", "ab"));
        assert!(matches(r"(?s:a.b)", "a\nb"));
        assert!(matches(r"a\z", "a"));
    }

    #[test]
    fn refused_constructs_are_named() {
        for (pattern, construct) in [
            (r"a\C", r"\C"),
            (r"(?=a)", "look-around"),
            (r"(?<!a)", "look-around"),
            (r"(?x)a b", "(?x"),
            (r"\9", "back-reference"),
        ] {
            let err = translate(pattern).unwrap_err();
            assert!(err.0.contains(construct), "{pattern}: {err:?}");
        }
    }
}
