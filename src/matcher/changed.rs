//! Judging a blob by what changed in it. A history scan decodes most blobs as deltas of a base
//! it has already judged clean; such a blob can only report something that reaches into a part
//! the delta changed, so only windows around those parts are read, as wide as the matcher ever
//! reads around a keyword.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use super::{Judgement, Matcher, LINE_WINDOW};
use crate::rules::{Rule, MULTILINE_WINDOW};

/// How far from a change a window reaches, in bytes. A rule's region is at most [`LINE_WINDOW`]
/// either side of its keyword, so a region holding the change lies within twice that of it; the
/// line context its checks read before and after a match (at most [`LINE_WINDOW`] more) is
/// within three times that. A window cut there, inside a long line, shows a rule the same bytes
/// as the whole text would.
const REACH: usize = 3 * LINE_WINDOW;

/// How far around a change the rules read.
pub(super) struct Reach {
    /// Lines either side of a change: a single-line rule reads only the lines its match is on,
    /// a named rule a block header up to `within` lines above its key and a value on the lines
    /// below it.
    lines: usize,
    far: Far,
}

/// Rules that read further than [`Reach::lines`].
enum Far {
    None,
    /// Rules that read up to [`MULTILINE_WINDOW`] past their keyword: a window near one of
    /// these keywords reaches back to it and as far past it as such a rule reads.
    Keywords(AhoCorasick),
    /// A rule with no keywords reads the whole text: every blob is judged whole.
    Everything,
}

impl Reach {
    pub(super) fn of(rules: &[Rule]) -> Reach {
        let within = rules
            .iter()
            .filter_map(|rule| rule.named.as_ref().map(|named| named.within))
            .max()
            .unwrap_or(0);
        let lines = within + 1;
        if rules.iter().any(|rule| rule.keywords.is_empty()) {
            return Reach {
                lines,
                far: Far::Everything,
            };
        }
        let keywords: Vec<&String> = rules
            .iter()
            .filter(|rule| rule.multiline && rule.named.is_none())
            .flat_map(|rule| &rule.keywords)
            .collect();
        let far = if keywords.is_empty() {
            Far::None
        } else {
            match AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&keywords)
            {
                Ok(search) => Far::Keywords(search),
                Err(_) => Far::Everything,
            }
        };
        Reach { lines, far }
    }
}

impl Matcher {
    /// Like [`Matcher::judge`] for a blob whose other bytes were judged clean in its delta
    /// base: `changed` are the ranges of `data` that are not a plain copy of that base (an
    /// empty range where two copies meet), in order, and `base_reads_far` what the base's
    /// judgement said of far-reaching keywords. Says "may report" whenever judging `data`
    /// whole would.
    pub fn judge_changed(
        &self,
        data: &[u8],
        changed: &[Range<usize>],
        base_reads_far: bool,
    ) -> Judgement {
        if matches!(self.reach.far, Far::Everything) {
            return self.judge(data);
        }
        let windows = self.windows(data, changed, base_reads_far);
        let covered: usize = windows.iter().map(|w| w.len()).sum();
        // Most of the blob is new: one pass over it costs less than many.
        if covered * 10 >= data.len() * 9 {
            return self.judge(data);
        }
        // A far-reaching keyword is in a window, or was in the base and may still be here.
        let mut judged = Judgement {
            may_report: false,
            reads_far: base_reads_far,
        };
        for window in windows {
            let window = self.judge(&data[window]);
            if window.reads_far && !base_reads_far {
                // Such a rule may read past the window: judged again, windows widened.
                return self.judge_changed(data, changed, true);
            }
            if window.may_report {
                judged.may_report = true;
                break;
            }
        }
        judged
    }

    /// Whole lines around each change, merged where they touch. Only when the base held a
    /// far-reaching keyword (a copy may have kept it) is the text before each change searched
    /// for one; one in a window itself is found when the window is judged.
    fn windows(
        &self,
        data: &[u8],
        changed: &[Range<usize>],
        base_reads_far: bool,
    ) -> Vec<Range<usize>> {
        let mut windows: Vec<Range<usize>> = Vec::new();
        // Where the search for far-reaching keywords has looked already: each byte once.
        let mut searched = 0;
        for change in coalesced(changed) {
            let change = &change;
            // Both bounds hold, so their intersection does. A join at a line's start joins it
            // to the line above.
            let floor = change.start.saturating_sub(REACH);
            let ceiling = data.len().min(change.end + REACH);
            let above = lines_above(
                data,
                change.start.saturating_sub(1),
                self.reach.lines,
                floor,
            );
            let below = lines_below(data, change.end, self.reach.lines, ceiling);
            let mut window = above..below;
            match &self.reach.far {
                Far::Keywords(search) if base_reads_far => {
                    let from = window.start.saturating_sub(MULTILINE_WINDOW).max(searched);
                    let to = window.end;
                    if from < to {
                        for hit in search.find_iter(&data[from..to]) {
                            let at = from + hit.start();
                            // An overlapping hit starts within a keyword's length of this one.
                            let back = LINE_WINDOW + hit.len();
                            window.start = window.start.min(at.saturating_sub(back));
                            window.end = window.end.max(data.len().min(at + MULTILINE_WINDOW));
                        }
                        searched = to;
                    }
                }
                _ => {}
            }
            let window = whole_values(data, window, self.options.max_base64_length);
            match windows.last_mut() {
                Some(last) if window.start <= last.end => {
                    *last = last.start.min(window.start)..last.end.max(window.end);
                }
                _ => windows.push(window),
            }
        }
        windows
    }
}

/// Changes this close are taken as one: the bytes between are read anyway, and each change
/// costs a few line searches of its own.
const NEAR: usize = 512;

/// `changed` (in order) with changes less than [`NEAR`] apart merged.
fn coalesced(changed: &[Range<usize>]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut changes = changed.iter().peekable();
    std::iter::from_fn(move || {
        let mut change = changes.next()?.clone();
        while let Some(next) = changes.next_if(|next| next.start < change.end + NEAR) {
            change.end = change.end.max(next.end);
        }
        Some(change)
    })
}

/// Where the line `lines` lines above the one holding `at` starts, or `floor` if that is later.
fn lines_above(data: &[u8], at: usize, lines: usize, floor: usize) -> usize {
    let line_start = |at: usize| {
        let at = at.min(data.len()).max(floor);
        memchr::memrchr(b'\n', &data[floor..at]).map_or(floor, |i| floor + i + 1)
    };
    let mut start = line_start(at);
    for _ in 0..lines {
        if start <= floor {
            break;
        }
        start = line_start(start - 1);
    }
    start
}

/// Where the line `lines` lines below the one holding `at` ends, or `ceiling` if that is sooner.
fn lines_below(data: &[u8], at: usize, lines: usize, ceiling: usize) -> usize {
    let line_end = |at: usize| {
        let at = at.min(ceiling);
        memchr::memchr(b'\n', &data[at..ceiling]).map_or(ceiling, |i| at + i)
    };
    let mut end = line_end(at);
    for _ in 0..lines {
        if end >= ceiling {
            break;
        }
        end = line_end(end + 1);
    }
    end
}

/// `window` grown so that it cuts no value the matcher decodes as one: a base64 run it starts
/// or ends inside (up to `longest_run`, past which a run is not decoded), and base64 wrapped
/// over the lines next to it.
fn whole_values(data: &[u8], window: Range<usize>, longest_run: usize) -> Range<usize> {
    let in_run = |b: u8| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b);
    let mut start = window.start;
    if start > 0 && start < data.len() && in_run(data[start - 1]) && in_run(data[start]) {
        let from = start.saturating_sub(longest_run);
        start = data[from..start]
            .iter()
            .rposition(|&b| !in_run(b))
            .map_or(from, |i| from + i + 1);
    }
    let mut end = window.end;
    if end > 0 && end < data.len() && in_run(data[end - 1]) && in_run(data[end]) {
        let to = data.len().min(end + longest_run);
        end = data[end..to]
            .iter()
            .position(|&b| !in_run(b))
            .map_or(to, |i| end + i);
    }
    // Lines above and below that are a wrapped value's lines (never longer than a window).
    let line_start = |at: usize| {
        let from = at.saturating_sub(LINE_WINDOW);
        memchr::memrchr(b'\n', &data[from..at]).map(|i| from + i + 1)
    };
    let line_end = |at: usize| {
        let to = data.len().min(at + LINE_WINDOW);
        memchr::memchr(b'\n', &data[at..to])
            .map(|i| at + i)
            .or((to == data.len()).then_some(to))
    };
    // A wrapped value's lines are all at least this wide but its last.
    const WIDE: usize = 40;
    while start > 0 && data[start - 1] == b'\n' {
        match line_start(start - 1) {
            Some(above) if base64_line_width(&data[above..start - 1]) >= WIDE => start = above,
            _ => break,
        }
    }
    let mut last = line_start(end).map_or(0, |from| base64_line_width(&data[from..end]));
    while end < data.len() && data[end] == b'\n' && last >= WIDE {
        match line_end(end + 1) {
            Some(below) if base64_line_width(&data[end + 1..below]) > 0 => {
                last = base64_line_width(&data[end + 1..below]);
                end = below;
            }
            _ => break,
        }
    }
    start..end
}

/// How wide a line is as one line of a base64 value wrapped over lines (base64 alphabet alone,
/// between blanks and the quotes and operators of a string in code), or 0 if it is not one.
fn base64_line_width(line: &[u8]) -> usize {
    let trim = |text: &[u8]| -> std::ops::Range<usize> {
        let punctuation = |b: &u8| b" \t\r\"'+.,\\".contains(b);
        let start = text
            .iter()
            .position(|b| !punctuation(b))
            .unwrap_or(text.len());
        let end = text
            .iter()
            .rposition(|b| !punctuation(b))
            .map_or(start, |i| i + 1);
        start..end
    };
    let mut body = &line[trim(line)];
    // A literal's own escaped line break.
    if let Some(inner) = body.strip_suffix(b"\\n") {
        body = &inner[trim(inner)];
    }
    let base64 = body
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
    if base64 {
        body.len()
    } else {
        0
    }
}

#[cfg(test)]
// One changed range per case reads better as a one-element slice.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn windows_grow_over_wrapped_base64_and_runs_they_cut() {
        let data = b"one\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZn\n\"WVphYmNkZWZnaGlqa2xtbm9wQUJDREVGR0hJSktM\" +\nthree four\n";
        let three = data.len() - 11;
        let window = whole_values(data, three..data.len() - 1, 1 << 20);
        assert_eq!(
            window,
            4..data.len() - 1,
            "the two base64 lines above are taken in"
        );
        let plain = b"alpha beta\ngamma delta\nepsilon\n";
        assert_eq!(
            whole_values(plain, 11..22, 1 << 20),
            11..22,
            "a word is no wrapped value"
        );
        let run = b"x = QUJDREVGR0hJSktMTU5P;\n";
        assert_eq!(whole_values(run, 8..10, 1 << 20), 4..24);
    }

    fn builtin() -> Matcher {
        Matcher::new(
            crate::rules::load().unwrap(),
            super::super::ScanOptions::default(),
        )
    }

    /// `new` is `base` with `insert` put at `at`: judging only that change must find what
    /// judging `new` whole finds, when `base` was clean.
    fn found_by_change(matcher: &Matcher, base: &[u8], at: usize, insert: &[u8]) -> bool {
        let mut new = base[..at].to_vec();
        new.extend_from_slice(insert);
        new.extend_from_slice(&base[at..]);
        let judged = matcher.judge(base);
        assert!(!judged.may_report, "the base must be clean");
        assert!(matcher.judge(&new).may_report, "the new text must report");
        matcher
            .judge_changed(&new, &[at..at + insert.len()], judged.reads_far)
            .may_report
    }

    fn code_lines(count: usize) -> Vec<u8> {
        (0..count)
            .flat_map(|i| format!("    let value_{i} = compute({i}, \"label\");\n").into_bytes())
            .collect()
    }

    #[test]
    fn a_secret_added_in_the_middle_of_a_large_file_is_found() {
        let matcher = builtin();
        let base = code_lines(2000);
        let at = base.len() / 2 + 7;
        let at = at + memchr::memchr(b'\n', &base[at..]).unwrap() + 1;
        let insert = b"    db_password = \"Tr0ub4dor&3xQ9zL\"\n"; // staunch:allow
        assert!(found_by_change(&matcher, &base, at, insert));
    }

    #[test]
    fn a_value_added_under_a_block_header_lines_above_is_found() {
        let matcher = builtin();
        let mut base = code_lines(500);
        base.extend_from_slice(b"mailgun:\n  region: eu\n  domain: mg.example.org\n");
        let at = base.len();
        base.extend_from_slice(&code_lines(500));
        let insert = b"  webhook_signing_key: 071182c1387e516370c90e96dec597a8\n";
        assert!(found_by_change(&matcher, &base, at, insert));
    }

    #[test]
    fn a_token_added_inside_a_long_line_is_found() {
        let matcher = builtin();
        let mut base = b"var ".to_vec();
        for i in 0..8000 {
            base.extend_from_slice(format!("a{i}=b{i},").as_bytes());
        }
        base.extend_from_slice(b"z=0;\n");
        let at = base.len() / 2;
        let at = at + base[at..].iter().position(|&b| b == b',').unwrap() + 1;
        let insert = b"password=\"Tr0ub4dor&3xQ9zL\","; // staunch:allow
        assert!(found_by_change(&matcher, &base, at, insert));
    }

    #[test]
    fn a_key_block_completed_far_below_its_header_is_found() {
        // A key body longer than any window: the header is far above the change, and only the
        // base's far-reaching keyword sends the search back to it.
        let matcher = builtin();
        let mut base = code_lines(50);
        base.extend_from_slice(b"-----BEGIN PRIVATE KEY-----\n");
        let line = b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n";
        for _ in 0..400 {
            base.extend_from_slice(line);
        }
        // One bad line breaks the block; the change puts the missing line in its place.
        let at = base.len();
        base.extend_from_slice(b"!!!\n");
        for _ in 0..20 {
            base.extend_from_slice(line);
        }
        base.extend_from_slice(b"-----END PRIVATE KEY-----\n");
        base.extend_from_slice(&code_lines(50));
        // The change replaces the bad line: as a delta, an insert then a copy that skips it.
        let mut new = base[..at].to_vec();
        new.extend_from_slice(line);
        new.extend_from_slice(&base[at + 4..]);
        let judged = matcher.judge(&base);
        assert!(!judged.may_report && judged.reads_far);
        assert!(matcher.judge(&new).may_report);
        let changed = [at..at + line.len()];
        assert!(matcher.judge_changed(&new, &changed, true).may_report);
        assert!(
            !matcher.judge_changed(&new, &changed, false).may_report,
            "without the base's word the header is out of reach (the test would show nothing)"
        );
    }

    #[test]
    fn a_clean_change_to_a_clean_file_stays_clean() {
        let matcher = builtin();
        let base = code_lines(2000);
        let mut new = base.clone();
        new.splice(5000..5000, b"    let extra = 1;\n".iter().copied());
        let judged = matcher.judge_changed(&new, &[5000..5019], false);
        assert!(!judged.may_report && !judged.reads_far);
    }

    #[test]
    fn close_changes_are_one() {
        let changed = [0..1, 10..20, 2000..2000, 2100..2200];
        let merged: Vec<_> = coalesced(&changed).collect();
        assert_eq!(merged, vec![0..20, 2000..2200]);
    }

    #[test]
    fn line_bounds_stop_at_their_limits() {
        let data = b"a\nbb\nccc\ndddd\n";
        // The line holding offset 6 ("ccc") and one above, one below.
        assert_eq!(lines_above(data, 6, 1, 0), 2);
        assert_eq!(lines_below(data, 6, 1, data.len()), 13);
        assert_eq!(lines_above(data, 6, 5, 4), 4);
        assert_eq!(lines_below(data, 6, 5, 12), 12);
    }

    #[test]
    fn base64_lines_are_told_from_prose() {
        assert_eq!(base64_line_width(b"  \"QUJDREVGR0hJSktMTU5P\\n\" +"), 20);
        assert_eq!(base64_line_width(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"), 32);
        assert_eq!(base64_line_width(b"let x = 1;"), 0);
        assert_eq!(base64_line_width(b"   "), 0);
    }
}
