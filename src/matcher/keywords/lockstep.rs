//! The engine for large keyword sets: a compact NFA at first, then one DFA built on a thread of
//! its own once enough text has been searched, walked over four parts of the text at once.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{dfa, Anchored as AnchoredSearch};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::{automaton_find_all, Hit};

/// For a large keyword set, the DFA reads fastest but takes longer to build (about 10 ms for the
/// built-in catalogue) than a hook spends scanning one edit. So a compact NFA, built at once,
/// answers until enough text has been searched to pay for the DFA, which is then built on a
/// thread of its own; both find the same hits.
pub(super) struct Automata {
    nfa: AhoCorasick,
    pub(super) dfa: std::sync::Arc<std::sync::OnceLock<dfa::DFA>>,
    pub(super) keywords: Vec<Vec<u8>>,
    /// Bytes the NFA has searched so far.
    searched: std::sync::atomic::AtomicUsize,
    building: std::sync::Once,
}

/// Bytes the NFA searches before the DFA is built: a staged commit of a few files never needs
/// it, a directory tree soon does.
pub(super) const DFA_AFTER: usize = 1 << 20;

/// Text this long is not left to the NFA: its search waits for the DFA.
const DFA_WAIT: usize = 4 << 20;

impl Automata {
    pub(super) fn new(keywords: &[Vec<u8>]) -> Automata {
        let nfa = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .byte_classes(true)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(keywords)
            .expect("keywords are plain literals");
        Automata {
            nfa,
            dfa: std::sync::Arc::new(std::sync::OnceLock::new()),
            keywords: keywords.to_vec(),
            searched: std::sync::atomic::AtomicUsize::new(0),
            building: std::sync::Once::new(),
        }
    }

    /// The DFA once it is built, starting its build when enough text has been searched.
    fn dfa_for(&self, data: &[u8]) -> Option<&dfa::DFA> {
        if let Some(dfa) = self.dfa.get() {
            return Some(dfa);
        }
        let searched = self
            .searched
            .fetch_add(data.len(), std::sync::atomic::Ordering::Relaxed)
            + data.len();
        if searched >= DFA_AFTER {
            self.building.call_once(|| {
                let slot = self.dfa.clone();
                let keywords = self.keywords.clone();
                let spawned = std::thread::Builder::new()
                    .name("keyword-dfa".into())
                    .spawn(move || {
                        slot.get_or_init(|| lockstep_dfa(&keywords));
                    });
                if spawned.is_err() {
                    // No thread to spare: build it here.
                    self.dfa.get_or_init(|| lockstep_dfa(&self.keywords));
                }
            });
            if data.len() >= DFA_WAIT {
                // Waits for the build under way, or builds it here if it has not begun.
                return Some(self.dfa.get_or_init(|| lockstep_dfa(&self.keywords)));
            }
        }
        self.dfa.get()
    }

    pub(super) fn find_all(
        &self,
        keywords: &[Vec<u8>],
        data: &[u8],
        lowered: &mut Vec<u8>,
        hits: &mut Vec<Hit>,
    ) {
        match self.dfa_for(data) {
            Some(dfa) => {
                lowered.clear();
                lowered.extend(data.iter().map(u8::to_ascii_lowercase));
                let longest = keywords.iter().map(Vec::len).max().unwrap_or(1);
                lockstep_find_all(dfa, longest, lowered, hits);
                hits.sort_unstable();
            }
            None => automaton_find_all(&self.nfa, data, lowered, hits),
        }
    }
}

/// The DFA for [`lockstep_find_all`]: unanchored only and without a prefilter, so that only
/// match states are special.
pub(super) fn lockstep_dfa(keywords: &[Vec<u8>]) -> dfa::DFA {
    dfa::DFA::builder()
        .match_kind(MatchKind::Standard)
        .byte_classes(true)
        .prefilter(false)
        .start_kind(aho_corasick::StartKind::Unanchored)
        .build(keywords)
        .expect("keywords are plain literals")
}

/// Text shorter than this is walked as one stream: splitting it saves less than the overlap
/// each extra stream reads again.
pub(super) const LOCKSTEP_MIN: usize = 1024;

/// Every keyword occurrence in lower-cased `text`, in no particular order.
///
/// A DFA walk is a chain of dependent table loads, one per byte, so one walk leaves the core
/// mostly waiting on memory. Four walks over four quarters of the text, advanced together,
/// are independent chains the core overlaps, which reads the text about three times as fast.
/// Each quarter's walk starts `longest - 1` bytes early, unreported: an Aho-Corasick state
/// depends only on the last `longest` bytes, so by the quarter's first byte the walk is in the
/// state a walk from the start would be in, and each match is reported by exactly one walk.
pub(super) fn lockstep_find_all(dfa: &dfa::DFA, longest: usize, text: &[u8], hits: &mut Vec<Hit>) {
    const STREAMS: usize = 4;
    let start = dfa
        .start_state(AnchoredSearch::No)
        .expect("the DFA is built for unanchored search");
    if text.len() < LOCKSTEP_MIN {
        walk(dfa, start, text, 0, 0, hits);
        return;
    }
    let quarter = text.len().div_ceil(STREAMS);
    // Stream k reports matches ending in its quarter (the positions `lo..hi` of their last
    // byte) and reads from `from`.
    let bounds: [(usize, usize, usize); STREAMS] = std::array::from_fn(|k| {
        let lo = (k * quarter).min(text.len());
        let hi = ((k + 1) * quarter).min(text.len());
        (lo.saturating_sub(longest - 1), lo, hi)
    });
    let steps = bounds
        .iter()
        .map(|&(from, _, hi)| hi - from)
        .min()
        .unwrap_or(0);
    let mut states = [start; STREAMS];
    let lanes: [&[u8]; STREAMS] = std::array::from_fn(|k| &text[bounds[k].0..bounds[k].0 + steps]);
    // One index runs through the four lanes at once.
    #[allow(clippy::needless_range_loop)]
    for i in 0..steps {
        for k in 0..STREAMS {
            states[k] = dfa.next_state(AnchoredSearch::No, states[k], lanes[k][i]);
        }
        if states.iter().any(|&s| dfa.is_special(s)) {
            for k in 0..STREAMS {
                let at = bounds[k].0 + i;
                if dfa.is_special(states[k]) && at >= bounds[k].1 {
                    report(dfa, states[k], at, hits);
                }
            }
        }
    }
    // The streams' lengths differ by the overlap: each finishes alone.
    for (k, &(from, lo, hi)) in bounds.iter().enumerate() {
        let resume = from + steps;
        walk_from(dfa, states[k], text, resume, hi, lo, hits);
    }
}

/// One stream over `text[from..]`, reporting matches whose last byte is at or after `report_from`.
fn walk(
    dfa: &dfa::DFA,
    state: StateID,
    text: &[u8],
    from: usize,
    report_from: usize,
    hits: &mut Vec<Hit>,
) {
    walk_from(dfa, state, text, from, text.len(), report_from, hits);
}

fn walk_from(
    dfa: &dfa::DFA,
    mut state: StateID,
    text: &[u8],
    from: usize,
    to: usize,
    report_from: usize,
    hits: &mut Vec<Hit>,
) {
    for (at, &byte) in text.iter().enumerate().take(to).skip(from) {
        state = dfa.next_state(AnchoredSearch::No, state, byte);
        if dfa.is_special(state) && at >= report_from {
            report(dfa, state, at, hits);
        }
    }
}

/// Every keyword ending at `at` (its last byte), given the state the DFA reached there.
#[inline]
fn report(dfa: &dfa::DFA, state: StateID, at: usize, hits: &mut Vec<Hit>) {
    // Without a prefilter, a special state is a match state or the dead one, which an
    // unanchored standard search never reaches.
    for i in 0..dfa.match_len(state) {
        let keyword = dfa.match_pattern(state, i);
        let end = at + 1;
        hits.push(Hit {
            start: end - dfa.pattern_len(keyword),
            end,
            keyword: keyword.as_usize(),
        });
    }
}
