//! Undoing how files split one value over several lines, so that the rules see it whole: a
//! string built from literals concatenated in code (`"…" +`, adjacent literals, `\`
//! continuations), and base64 wrapped at a fixed width (76 columns for MIME, 64 for PEM).
//!
//! Both are views of a fragment: the matcher scans the joined bytes as it scans decoded base64,
//! and reports what it finds at the span the pieces cover.

use std::ops::Range;

/// A value put back together: the bytes of the file it came from, and what they say joined.
#[derive(Debug, PartialEq, Eq)]
pub struct Joined {
    /// From the first piece's first byte to the last piece's last byte.
    pub span: Range<usize>,
    pub text: Vec<u8>,
    /// Offsets in `text` where one piece ends and the next begins: a match that crosses one
    /// is what the join found; one inside a piece was found without it.
    pub seams: Vec<usize>,
}

impl Joined {
    /// Whether `range` of `text` holds bytes of more than one piece.
    pub fn crosses_a_seam(&self, range: &Range<usize>) -> bool {
        self.seams
            .iter()
            .any(|&seam| range.start < seam && seam < range.end)
    }
}

/// Runs of two or more lines that are each made of string literals, with what the literals
/// say (escapes `\n`, `\r`, `\t`, `\\` and `\"` undone) joined. A piece that does not end in a
/// line break gets one, so a key written one line per literal reads as it would in its file.
///
/// Lines join whatever sits between the literals (`+`, `.`, `\`, `,`, brackets): a false join
/// of two unrelated literals costs nothing, since only matches that cross a seam are kept.
pub fn concatenated_literals(data: &[u8]) -> Vec<Joined> {
    let mut out = Vec::new();
    let mut group: Option<Joined> = None;
    let mut pieces = 0;
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = &data[start..end];
        match literals_of(line) {
            Some((first, last, text)) => {
                let joined = group.get_or_insert_with(|| Joined {
                    span: start + first..start + last,
                    text: Vec::new(),
                    seams: Vec::new(),
                });
                if pieces > 0 {
                    if joined.text.last() != Some(&b'\n') {
                        joined.text.push(b'\n');
                    }
                    joined.seams.push(joined.text.len());
                }
                joined.text.extend_from_slice(&text);
                joined.span.end = start + last;
                pieces += 1;
            }
            None => {
                if let Some(joined) = group.take() {
                    if pieces > 1 {
                        out.push(joined);
                    }
                }
                pieces = 0;
            }
        }
        start = end + 1;
    }
    if let Some(joined) = group.take() {
        if pieces > 1 {
            out.push(joined);
        }
    }
    out
}

/// The string literals of a line that holds little else: the offsets of the first literal's
/// opening quote and the last one's closing quote (exclusive), and their contents unescaped.
/// Text before the first literal (an assignment, an opening bracket) is allowed; after the
/// last only operators, brackets and separators.
fn literals_of(line: &[u8]) -> Option<(usize, usize, Vec<u8>)> {
    let first = line.iter().position(|&b| b == b'"' || b == b'\'')?;
    let mut text = Vec::new();
    let mut at = first;
    let mut last = first;
    loop {
        // Skip what may sit between literals.
        while at < line.len() && b" \t+.,\\()[]{};&".contains(&line[at]) {
            at += 1;
        }
        if at == line.len() || line[at] == b'\r' {
            break;
        }
        let quote = line[at];
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        at += 1;
        loop {
            let &b = line.get(at)?;
            at += 1;
            match b {
                b'\\' => {
                    let &escaped = line.get(at)?;
                    at += 1;
                    text.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                }
                b if b == quote => break,
                b => text.push(b),
            }
        }
        last = at;
    }
    (last > first).then_some((first, last, text))
}

/// Base64 runs (as the matcher found them, in order) that are one value wrapped over lines:
/// consecutive runs with only a line break, indentation and the quotes or operators of a string
/// in code between them, all as wide as the first (a multiple of 4 characters, at least 40)
/// but the last, which may be shorter. Each group of two runs or more, its runs concatenated.
pub fn wrapped_base64(data: &[u8], runs: &[Range<usize>]) -> Vec<(Range<usize>, Vec<u8>)> {
    const MIN_WIDTH: usize = 40;
    let mut out = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let width = runs[i].len();
        let mut j = i + 1;
        if width >= MIN_WIDTH && width % 4 == 0 {
            while j < runs.len()
                && runs[j - 1].len() == width
                && runs[j].len() <= width
                && only_a_line_break(&data[runs[j - 1].end..runs[j].start])
            {
                j += 1;
            }
        }
        if j - i > 1 {
            let mut text = Vec::with_capacity(width * (j - i));
            for run in &runs[i..j] {
                text.extend_from_slice(&data[run.clone()]);
            }
            out.push((runs[i].start..runs[j - 1].end, text));
        }
        i = j;
    }
    out
}

/// Exactly one line break, with nothing but blanks and string punctuation around it.
fn only_a_line_break(gap: &[u8]) -> bool {
    gap.iter().filter(|&&b| b == b'\n').count() == 1
        && gap.iter().all(|b| b" \t\r\n\"'+.,\\".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_over_lines_are_joined_with_their_escapes_undone() {
        let code = b"KEY = (\n    \"-----BEGIN X-----\\n\"\n    \"abc\" +\n    'def'\n)\n";
        let joined = concatenated_literals(code);
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].text, b"-----BEGIN X-----\nabc\ndef");
        assert_eq!(joined[0].seams.len(), 2);
        assert_eq!(&code[joined[0].span.clone()][..1], b"\"");
        assert!(joined[0].crosses_a_seam(&(0..20)));
        assert!(!joined[0].crosses_a_seam(&(0..3)));
    }

    #[test]
    fn a_lone_literal_or_code_between_literals_does_not_join() {
        assert!(concatenated_literals(b"a = \"x\"\nfoo()\nb = \"y\"\n").is_empty());
        assert!(concatenated_literals(b"call(\"x\") + y\n\"z\"\n").is_empty());
        // An unterminated literal is no literal.
        assert!(concatenated_literals(b"\"abc\n\"def\"\n").is_empty());
    }

    #[test]
    fn wrapped_base64_groups_runs_of_one_width() {
        let line = "QUJD".repeat(19); // 76 characters
        let data = format!("key: |\n  {line}\n  {line}\n  QUJD\nnext: {line}\n");
        let runs: Vec<Range<usize>> = {
            let mut runs = Vec::new();
            let mut from = 0;
            for piece in [line.as_str(), line.as_str(), "QUJD", line.as_str()] {
                let at = data[from..].find(piece).unwrap() + from;
                runs.push(at..at + piece.len());
                from = at + piece.len();
            }
            runs
        };
        let groups = wrapped_base64(data.as_bytes(), &runs);
        assert_eq!(
            groups.len(),
            1,
            "the last run is not on the next line alone"
        );
        assert_eq!(groups[0].1.len(), 76 * 2 + 4);
        assert_eq!(groups[0].0, runs[0].start..runs[2].end);
    }
}
