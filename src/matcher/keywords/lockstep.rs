//! The engine for large keyword sets: an Aho-Corasick DFA built here, with ASCII case folded
//! into its byte classes, walked over several parts of the text at once.
//!
//! The aho-corasick crate's DFA is the reference this one is tested against, but for the
//! built-in catalogue (1400 keywords) it takes about 10 ms to build, longer than a hook spends
//! scanning one edit, and its walk reads a lower-cased copy of the text. This one is built in
//! about a millisecond (a trie, then its table in one breadth-first pass), reads the text as it
//! is (upper-case bytes share their lower-case byte's class), and keeps match states at the end
//! of its table so one comparison tells whether a step matched.

use super::Hit;

/// Text shorter than this is walked as one stream: splitting it saves less than the overlap
/// each extra stream reads again.
pub(super) const LOCKSTEP_MIN: usize = 1024;

/// Walks advanced together: independent chains of table loads that the core overlaps.
const STREAMS: usize = 8;

pub(super) struct Dfa {
    /// The class of each input byte; bytes no keyword holds (in either case) share class 0.
    classes: [u8; 256],
    /// Number of classes: the width of one state's row.
    width: usize,
    /// `trans[state + class]` is the next state; states are row offsets (premultiplied).
    trans: Vec<u32>,
    /// States at or past this offset are match states; a power of two (see [`Dfa::new`]).
    first_match: u32,
    /// How many unused rows lie between the plain states and the match states: a match
    /// state's number in `own` and `next_output` is its row less this.
    shift: u32,
    /// By state number (offset / width): the keyword that is this state's whole string, if any.
    own: Vec<u32>,
    /// By state number: the nearest state down the failure links whose own keyword is set,
    /// if any; with `own`, every keyword that ends where this state is reached.
    next_output: Vec<u32>,
    /// Length of each keyword, to give a hit its start.
    lengths: Vec<u32>,
    /// Longest keyword: how far back each stream starts.
    longest: usize,
}

const NONE: u32 = u32::MAX;

/// A trie node while the DFA is built: children as a list, so the trie costs a few bytes per
/// keyword byte rather than a table row per node.
#[derive(Clone, Copy)]
struct Node {
    first_child: u32,
    next_sibling: u32,
    class: u8,
    keyword: u32,
}

impl Dfa {
    /// `keywords` lower case, none empty, no two the same.
    pub(super) fn new(keywords: &[Vec<u8>]) -> Dfa {
        // Byte classes: one per distinct keyword byte, shared by its upper-case form.
        let mut classes = [0u8; 256];
        let mut width = 1usize;
        for keyword in keywords {
            for &b in keyword {
                let b = b.to_ascii_lowercase();
                if classes[b as usize] == 0 {
                    assert!(width < 256, "keyword bytes fit in 255 classes");
                    classes[b as usize] = width as u8;
                    width += 1;
                }
            }
        }
        for b in b'A'..=b'Z' {
            classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
        }

        // The trie; node 0 is the root.
        let leaf = Node {
            first_child: NONE,
            next_sibling: NONE,
            class: 0,
            keyword: NONE,
        };
        let mut nodes = vec![leaf];
        for (k, keyword) in keywords.iter().enumerate() {
            let mut node = 0usize;
            for &b in keyword {
                let class = classes[b as usize];
                let mut child = nodes[node].first_child;
                while child != NONE && nodes[child as usize].class != class {
                    child = nodes[child as usize].next_sibling;
                }
                if child == NONE {
                    child = nodes.len() as u32;
                    nodes.push(Node {
                        next_sibling: nodes[node].first_child,
                        class,
                        ..leaf
                    });
                    nodes[node].first_child = child;
                }
                node = child as usize;
            }
            nodes[node].keyword = k as u32;
        }

        // Breadth first, each node's row is its failure state's row (complete already: the
        // failure state is shallower) with the node's own edges written over it. A node is a
        // match state when it ends a keyword or its failure state is one, which is known as
        // soon as the node is reached, so states are numbered then: plain ones up from 0 (the
        // root first), match states down from the top, which puts every match state past the
        // last plain one.
        let count = nodes.len();
        // Room for the match states to move up by at most as many rows as there are (see
        // below); pages of it that are never written are never mapped.
        let mut trans = vec![0u32; 2 * count * width];
        let mut number = vec![0u32; count];
        let mut own = vec![NONE; count];
        let mut next_output = vec![NONE; count];
        let mut is_match = vec![false; count];
        let (mut next_plain, mut next_match) = (1u32, count as u32);
        let mut queue: Vec<(u32, u32)> = vec![(0, 0)];
        let mut head = 0;
        while let Some(&(node, fail)) = queue.get(head) {
            head += 1;
            let n = number[node as usize] as usize;
            if node != 0 {
                trans.copy_within(
                    fail as usize * width..(fail as usize + 1) * width,
                    n * width,
                );
            }
            let mut child = nodes[node as usize].first_child;
            while child != NONE {
                let Node {
                    next_sibling,
                    class,
                    keyword,
                    ..
                } = nodes[child as usize];
                // The failure state of a child of the root is the root; of a deeper node,
                // where its parent's failure state goes on the same byte.
                let child_fail = if node == 0 {
                    0
                } else {
                    trans[fail as usize * width + class as usize] / width as u32
                };
                let matches = keyword != NONE || is_match[child_fail as usize];
                let c = if matches {
                    next_match -= 1;
                    next_match
                } else {
                    next_plain += 1;
                    next_plain - 1
                };
                number[child as usize] = c;
                is_match[c as usize] = matches;
                own[c as usize] = keyword;
                next_output[c as usize] = if own[child_fail as usize] != NONE {
                    child_fail
                } else {
                    next_output[child_fail as usize]
                };
                trans[n * width + class as usize] = c * width as u32;
                queue.push((child, child_fail));
                child = next_sibling;
            }
        }
        // Match states move up to start at a power of two, so the bitwise or of several states
        // tells whether any is a match state: or-ing offsets below a power of two stays below it.
        let plain_end = next_plain as usize * width;
        let first_match = plain_end.next_power_of_two();
        let shift = first_match.div_ceil(width) - next_plain as usize;
        let moved = |to: u32| {
            if to as usize >= plain_end {
                to + (shift * width) as u32
            } else {
                to
            }
        };
        trans.copy_within(plain_end..count * width, plain_end + shift * width);
        trans.truncate((count + shift) * width);
        for to in &mut trans {
            *to = moved(*to);
        }
        Dfa {
            classes,
            width,
            trans,
            first_match: first_match as u32,
            shift: shift as u32,
            own,
            next_output,
            lengths: keywords.iter().map(|k| k.len() as u32).collect(),
            longest: keywords.iter().map(Vec::len).max().unwrap_or(1),
        }
    }

    /// The root: where an unanchored walk starts (it is never a match state, as no keyword is
    /// empty).
    fn start(&self) -> u32 {
        // `new` numbers the root first among the plain states.
        0
    }

    #[inline(always)]
    fn next(&self, state: u32, byte: u8) -> u32 {
        let at = state as usize + self.classes[byte as usize] as usize;
        debug_assert!(at < self.trans.len());
        // SAFETY: `state` is a row offset below `trans.len()` (the start, 0, or an entry of
        // `trans`, all of which `new` makes `row * width` for a row in the table) and a class
        // is below `width`, so `at` is inside the table. This is the scanner's innermost step:
        // a bound check here costs registers the eight walks need.
        unsafe { *self.trans.get_unchecked(at) }
    }

    /// Every keyword ending at `at` (its last byte), in state `state`.
    #[inline]
    fn report(&self, state: u32, at: usize, hits: &mut Vec<Hit>) {
        let end = at + 1;
        let mut n = state / self.width as u32 - self.shift;
        if self.own[n as usize] == NONE {
            n = self.next_output[n as usize];
        }
        while n != NONE {
            let k = self.own[n as usize];
            hits.push(Hit {
                start: end - self.lengths[k as usize] as usize,
                end,
                keyword: k as usize,
            });
            n = self.next_output[n as usize];
        }
    }

    /// Every keyword occurrence in `text` (any case), sorted.
    ///
    /// A DFA walk is a chain of dependent table loads, one per byte, so one walk leaves the
    /// core mostly waiting on memory. [`STREAMS`] walks over as many parts of the text,
    /// advanced together, are independent chains the core overlaps. Each part's walk starts
    /// `longest - 1` bytes early, unreported: an Aho-Corasick state depends only on the last
    /// `longest` bytes, so by the part's first byte the walk is in the state a walk from the
    /// start would be in, and each match is reported by exactly one walk.
    pub(super) fn find_all(&self, text: &[u8], hits: &mut Vec<Hit>) {
        let first = hits.len();
        if text.len() < LOCKSTEP_MIN {
            self.walk(self.start(), text, 0, text.len(), 0, hits);
        } else {
            self.lockstep(text, hits);
        }
        hits[first..].sort_unstable();
    }

    fn lockstep(&self, text: &[u8], hits: &mut Vec<Hit>) {
        let part = text.len().div_ceil(STREAMS);
        // Stream k reports matches ending in its part (the positions `lo..hi` of their last
        // byte) and reads from `from`.
        let bounds: [(usize, usize, usize); STREAMS] = std::array::from_fn(|k| {
            let lo = (k * part).min(text.len());
            let hi = ((k + 1) * part).min(text.len());
            (lo.saturating_sub(self.longest - 1), lo, hi)
        });
        let steps = bounds
            .iter()
            .map(|&(from, _, hi)| hi - from)
            .min()
            .unwrap_or(0);
        let f: [usize; STREAMS] = std::array::from_fn(|k| bounds[k].0);
        let lo: [usize; STREAMS] = std::array::from_fn(|k| bounds[k].1);
        let [l0, l1, l2, l3, l4, l5, l6, l7]: [&[u8]; STREAMS] =
            std::array::from_fn(|k| &text[f[k]..f[k] + steps]);
        let first_match = self.first_match;
        // Eight named states rather than an array: an array indexed in the reporting branch
        // lives in memory, and a store and reload in each step's chain would double its length.
        let [mut s0, mut s1, mut s2, mut s3, mut s4, mut s5, mut s6, mut s7] = [self.start(); 8];
        for i in 0..steps {
            s0 = self.next(s0, l0[i]);
            s1 = self.next(s1, l1[i]);
            s2 = self.next(s2, l2[i]);
            s3 = self.next(s3, l3[i]);
            s4 = self.next(s4, l4[i]);
            s5 = self.next(s5, l5[i]);
            s6 = self.next(s6, l6[i]);
            s7 = self.next(s7, l7[i]);
            if (s0 | s1 | s2 | s3 | s4 | s5 | s6 | s7) >= first_match {
                self.report_streams([s0, s1, s2, s3, s4, s5, s6, s7], i, &f, &lo, hits);
            }
        }
        let states = [s0, s1, s2, s3, s4, s5, s6, s7];
        // The streams' lengths differ by the overlap: each finishes alone.
        for (k, &(from, lo, hi)) in bounds.iter().enumerate() {
            self.walk(states[k], text, from + steps, hi, lo, hits);
        }
    }

    /// The keywords that the streams' states after step `i` end, for the streams whose
    /// state is a match state. Kept out of line: the walk's loop then holds only its states.
    #[cold]
    #[inline(never)]
    fn report_streams(
        &self,
        states: [u32; STREAMS],
        i: usize,
        from: &[usize; STREAMS],
        report_from: &[usize; STREAMS],
        hits: &mut Vec<Hit>,
    ) {
        for (k, state) in states.into_iter().enumerate() {
            let at = from[k] + i;
            if state >= self.first_match && at >= report_from[k] {
                self.report(state, at, hits);
            }
        }
    }

    /// One stream over `text[from..to]`, reporting matches whose last byte is at or after
    /// `report_from`.
    fn walk(
        &self,
        mut state: u32,
        text: &[u8],
        from: usize,
        to: usize,
        report_from: usize,
        hits: &mut Vec<Hit>,
    ) {
        for (at, &byte) in text.iter().enumerate().take(to).skip(from) {
            state = self.next(state, byte);
            if state >= self.first_match && at >= report_from {
                self.report(state, at, hits);
            }
        }
    }
}
