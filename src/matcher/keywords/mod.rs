//! The keyword pass: every occurrence of every rule keyword, ignoring ASCII case.
//!
//! This pass reads every byte that is scanned, so its speed is the scanner's speed. A
//! case-insensitive Aho-Corasick DFA over a hundred keywords reads about half a gigabyte a second
//! on one core; the SIMD "Teddy" searcher of the aho-corasick crate reads several gigabytes a
//! second, but only for a handful of patterns. So up to a few hundred keywords are covered by a
//! small set of short *anchors* (every keyword contains one: `key` stands for `_key`, `apikey`
//! and `privatekey`), the anchors are searched with Teddy in groups small enough for it to stay
//! fast, over a lower-cased copy of the input made a block at a time, and each anchor hit is
//! checked against the few keywords it stands for. A larger set (the built-in catalogue has
//! about 1400) is searched by one DFA with case folded into its byte classes, walked over
//! several parts of the text at once (see [`lockstep::Dfa`]).

mod anchors;
mod lockstep;

#[cfg(test)]
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::cell::RefCell;

use anchors::Anchored;
use lockstep::Dfa;

/// Teddy passes worth making: each reads every byte, and past this many one automaton pass
/// (about half a gigabyte a second whatever the number of keywords) is cheaper.
const MAX_GROUPS: usize = 6;

/// Beyond this many keywords the automaton is used without trying anchors.
const MAX_ANCHORED_KEYWORDS: usize = 400;

/// One keyword occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    /// Index into the keyword list given to [`KeywordSearch::new`] (after lower-casing and
    /// removing duplicates: see [`KeywordSearch::keywords`]).
    pub keyword: usize,
}

/// Finds keywords, case-insensitively, all occurrences (overlapping ones too).
pub struct KeywordSearch {
    keywords: Vec<Vec<u8>>,
    engine: Engine,
}

enum Engine {
    Anchored(Anchored),
    /// One DFA, all occurrences: the reference the tests compare the other engines with.
    #[cfg(test)]
    Automaton(AhoCorasick),
    /// Many keywords: see [`Dfa`].
    Dfa(Box<Dfa>),
    Empty,
}

thread_local! {
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl KeywordSearch {
    /// Keywords are ASCII; case is ignored and duplicates are merged.
    pub fn new(keywords: &[String]) -> KeywordSearch {
        let mut lowered: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.to_ascii_lowercase().into_bytes())
            .filter(|k| !k.is_empty())
            .collect();
        lowered.sort();
        lowered.dedup();
        let engine = if lowered.is_empty() {
            Engine::Empty
        } else {
            // Choosing anchors for many keywords costs more than it can save: so many keywords
            // need more anchors than MAX_GROUPS searchers hold.
            let anchored = (lowered.len() <= MAX_ANCHORED_KEYWORDS)
                .then(|| Anchored::new(&lowered))
                .flatten();
            match anchored {
                Some(anchored) if anchored.groups.len() <= MAX_GROUPS => Engine::Anchored(anchored),
                // Too many keywords for a few SIMD passes, or no Teddy on this CPU.
                _ => Engine::Dfa(Box::new(Dfa::new(&lowered))),
            }
        };
        KeywordSearch {
            keywords: lowered,
            engine,
        }
    }

    /// The keywords as searched: lower case, sorted, without duplicates.
    pub fn keywords(&self) -> &[Vec<u8>] {
        &self.keywords
    }

    /// Every keyword occurrence in `data`, sorted by start.
    pub fn find_all(&self, data: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        match &self.engine {
            Engine::Empty => {}
            #[cfg(test)]
            Engine::Automaton(ac) => {
                LOWERED.with(|buffer| {
                    let mut lowered = buffer.borrow_mut();
                    automaton_find_all(ac, data, &mut lowered, &mut hits);
                });
            }
            Engine::Dfa(dfa) => dfa.find_all(data, &mut hits),
            Engine::Anchored(anchored) => {
                LOWERED.with(|buffer| {
                    let mut buffer = buffer.borrow_mut();
                    anchored.find_all(&self.keywords, data, &mut buffer, &mut hits);
                });
            }
        }
        hits
    }
}

/// The reference automaton, over a lower-cased copy.
#[cfg(test)]
fn automaton_find_all(ac: &AhoCorasick, data: &[u8], lowered: &mut Vec<u8>, hits: &mut Vec<Hit>) {
    lowered.clear();
    lowered.extend(data.iter().map(u8::to_ascii_lowercase));
    for m in ac.find_overlapping_iter(lowered.as_slice()) {
        hits.push(Hit {
            start: m.start(),
            end: m.end(),
            keyword: m.pattern().as_usize(),
        });
    }
    hits.sort_unstable();
}

#[cfg(test)]
fn automaton(keywords: &[Vec<u8>]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .byte_classes(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(keywords)
        .expect("keywords are plain literals")
}

/// Every occurrence by brute force, for tests.
#[cfg(test)]
fn naive(keywords: &[Vec<u8>], data: &[u8]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for start in 0..data.len() {
        for (k, keyword) in keywords.iter().enumerate() {
            let end = start + keyword.len();
            if end <= data.len() && data[start..end].eq_ignore_ascii_case(keyword) {
                hits.push(Hit {
                    start,
                    end,
                    keyword: k,
                });
            }
        }
    }
    hits.sort_unstable();
    hits
}

#[cfg(test)]
mod tests {
    use super::anchors::{choose_anchors, BLOCK};
    use super::lockstep::LOCKSTEP_MIN;
    use super::*;

    fn search(keywords: &[&str]) -> KeywordSearch {
        KeywordSearch::new(&keywords.iter().map(|k| k.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn finds_every_occurrence_ignoring_case_including_overlaps() {
        let s = search(&["pwd", "pwd=", "_KEY", "apikey", "key", "fc", "sk"]);
        let data = b"PWD=1 my_key ApiKey monkey fc sk keyfc";
        assert_eq!(s.find_all(data), naive(s.keywords(), data));
        assert!(s.find_all(data).len() >= 9);
    }

    #[test]
    fn matches_brute_force_across_blocks_on_many_keywords() {
        let keywords: Vec<String> = [
            "password",
            "pass",
            "pwd",
            "secret",
            "token",
            "_key",
            "-key",
            ".key",
            "apikey",
            "privatekey",
            "private key",
            "ghp_",
            "gho_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "AKIA",
            "AIza",
            "eyJ",
            "SG.",
            "sk-",
            "sk-ant-",
            "://",
            "10.",
            "172.",
            "192.168.",
            "fc",
            "fd",
            "SK",
            "jdbc:",
            "bearer",
            "basic",
            "\"auth\"",
            "hf_",
            "npm_",
            "pypi-AgE",
            "dapi",
        ]
        .iter()
        .map(|k| k.to_string())
        .collect();
        let s = KeywordSearch::new(&keywords);
        if cfg!(target_arch = "x86_64") {
            assert!(
                matches!(s.engine, Engine::Anchored(_)),
                "Teddy is used on x86-64"
            );
        }
        // Pseudo-random text built from the keywords' own letters, so hits are dense, with
        // keywords straddling the block boundaries.
        let alphabet = b"passwordTOKENsecretkeyAPI_-.:/10721968fcdskghpjabeyJxoSGnmu \n\"";
        let mut data = Vec::new();
        let mut x: u32 = 12345;
        while data.len() < 3 * BLOCK + 1000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let r = (x >> 16) as usize;
            if r % 23 == 0 {
                data.extend_from_slice(keywords[r % keywords.len()].as_bytes());
            } else {
                data.push(alphabet[r % alphabet.len()]);
            }
        }
        for (i, keyword) in [b"password".as_slice(), b"github_pat_", b"192.168."]
            .iter()
            .enumerate()
        {
            let at = (i + 1) * BLOCK - 3;
            data[at..at + keyword.len()].copy_from_slice(keyword);
        }
        assert_eq!(s.find_all(&data), naive(s.keywords(), &data));
        // The automaton used where Teddy is not available finds the same.
        let fallback = KeywordSearch {
            engine: Engine::Automaton(automaton(s.keywords())),
            keywords: s.keywords().to_vec(),
        };
        assert_eq!(fallback.find_all(&data), naive(s.keywords(), &data));
    }

    /// Keywords of one to `longest` bytes over a small alphabet, so they overlap and share
    /// prefixes, and text from the same alphabet with keywords planted across block edges and
    /// at the very end.
    fn random_case(seed: u64, count: usize, longest: usize) -> (Vec<String>, Vec<u8>) {
        let alphabet = b"abcAB_-.:/0 \n";
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as usize % n
        };
        let keywords: Vec<String> = (0..count)
            .map(|_| {
                let len = 1 + next(longest);
                (0..len)
                    .map(|_| alphabet[next(alphabet.len())] as char)
                    .collect()
            })
            .collect();
        let mut data: Vec<u8> = (0..2 * BLOCK + 300)
            .map(|_| alphabet[next(alphabet.len())])
            .collect();
        for edge in [BLOCK, 2 * BLOCK] {
            for back in [1, 2, 3, 5, 8] {
                let keyword = keywords[next(keywords.len())].as_bytes();
                let at = edge - back.min(keyword.len());
                data[at..at + keyword.len()].copy_from_slice(keyword);
            }
        }
        let end = data.len();
        let last = keywords[next(keywords.len())].as_bytes();
        data[end - last.len()..].copy_from_slice(last);
        (keywords, data)
    }

    #[test]
    fn random_keyword_sets_match_brute_force() {
        for seed in 0..24u64 {
            // Sets small enough for anchors and too large for them; one-byte keywords in a
            // third of them, long ones in some.
            let longest = [3, 4, 6, 12, 40][seed as usize % 5];
            let count = [2, 10, 40, 150, 500][seed as usize % 5];
            let (mut keywords, data) = random_case(seed, count, longest);
            if seed % 3 != 0 {
                keywords.retain(|k| k.len() > 1);
                keywords.push("ab".into());
            }
            let chosen = KeywordSearch::new(&keywords);
            let lowered = chosen.keywords().to_vec();
            let automaton = KeywordSearch {
                engine: Engine::Automaton(automaton(&lowered)),
                keywords: lowered.clone(),
            };
            let expected = naive(&lowered, &data);
            assert_eq!(chosen.find_all(&data), expected, "seed {seed}");
            assert_eq!(automaton.find_all(&data), expected, "seed {seed}");
            // Short inputs, ending inside a keyword.
            for len in [0, 1, 2, 3, 5, 63, 64, 65, 130] {
                let data = &data[BLOCK - 7..BLOCK - 7 + len];
                assert_eq!(chosen.find_all(data), naive(&lowered, data), "seed {seed}");
            }
        }
    }

    /// The many-stream walk finds what brute force finds, in any case, on texts long enough
    /// to be split (part edges then fall inside keywords of the small alphabet) and too short
    /// to be.
    #[test]
    fn lockstep_walk_matches_brute_force() {
        for seed in 0..12u64 {
            let longest = [2, 5, 12, 40][seed as usize % 4];
            let count = [3, 30, 300][seed as usize % 3];
            let (keywords, data) = random_case(seed + 100, count, longest);
            let search = KeywordSearch::new(&keywords);
            let lowered = search.keywords().to_vec();
            let dfa = Dfa::new(&lowered);
            for len in [
                0,
                1,
                7,
                LOCKSTEP_MIN - 1,
                LOCKSTEP_MIN,
                LOCKSTEP_MIN + 3,
                5001,
                data.len(),
            ] {
                let text = &data[..len];
                let mut hits = Vec::new();
                dfa.find_all(text, &mut hits);
                assert_eq!(hits, naive(&lowered, text), "seed {seed}, length {len}");
            }
        }
    }

    /// Case folds for ASCII letters only: bytes past ASCII and punctuation match as they are.
    #[test]
    fn the_dfa_folds_ascii_case_only() {
        let keywords: Vec<Vec<u8>> = vec![
            b"key_".to_vec(),
            "\u{e9}t\u{e9}".as_bytes().to_vec(),
            b"[x]".to_vec(),
        ];
        let dfa = Dfa::new(&keywords);
        let text = "KEY_ Key_ k\u{c9}y_ \u{e9}t\u{e9} \u{c9}T\u{c9} [X] {x}".as_bytes();
        let mut hits = Vec::new();
        dfa.find_all(text, &mut hits);
        assert_eq!(hits, naive(&keywords, text));
        let found: Vec<&[u8]> = hits.iter().map(|h| &text[h.start..h.end]).collect();
        assert_eq!(
            found,
            [
                b"KEY_".as_slice(),
                b"Key_",
                "\u{e9}t\u{e9}".as_bytes(),
                b"[X]"
            ]
        );
    }

    #[test]
    fn anchors_cover_every_keyword_and_none_contains_another() {
        let keywords: Vec<Vec<u8>> = [
            "password",
            "pass",
            "accountkey",
            "apikey",
            "_key",
            "xoxb-",
            "xoxp-",
        ]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
        let anchors = choose_anchors(&keywords);
        for k in &keywords {
            assert!(
                anchors.iter().any(|a| memchr::memmem::find(k, a).is_some()),
                "{k:?}"
            );
        }
        for a in &anchors {
            for b in &anchors {
                assert!(
                    a == b || memchr::memmem::find(a, b).is_none(),
                    "{a:?} contains {b:?}"
                );
            }
        }
        assert!(anchors.len() < keywords.len(), "{anchors:?}");
    }
}
