//! Decoding the matcher does before scanning again: finding the base64 runs in scanned bytes
//! (every byte passes through here, so it is done 64 bytes at a time) and keeping those that
//! decode to text. The decoder itself is the one the token checks use.

use std::ops::Range;

use crate::rules::checks::encoding::{base64, Base64};

use super::joins;
use super::raw::{RawMatch, RawMatches};
use super::Matcher;

impl Matcher {
    /// Decodes each base64 run long enough to hide a secret and scans what it decodes to.
    /// Findings inside are reported at the run, marked as decoded.
    pub(super) fn match_base64(&self, data: &[u8], depth: usize, out: &mut RawMatches) {
        let runs = base64_runs(
            data,
            self.options.min_base64_length,
            self.options.max_base64_length,
        );
        // Base64 wrapped over lines decodes whole or not at all: a group that decodes to text
        // is scanned as one value, at its span, in place of its lines.
        let mut decoded_runs: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        for (span, text) in joins::wrapped_base64(data, &runs) {
            if let Some(decoded) = decode_text(&text) {
                decoded_runs.push((span, decoded));
            }
        }
        let mut groups = decoded_runs.iter().map(|(span, _)| span.clone()).peekable();
        let mut singles = Vec::new();
        for run in runs {
            while groups.peek().is_some_and(|g| g.end <= run.start) {
                groups.next();
            }
            if !groups
                .peek()
                .is_some_and(|g| g.start <= run.start && run.end <= g.end)
            {
                singles.push(run);
            }
        }
        for run in singles {
            let Some(decoded) = decode_text(&data[run.clone()]) else {
                continue;
            };
            decoded_runs.push((run, decoded));
        }
        for (run, decoded) in decoded_runs {
            let mut inner = RawMatches::new(out.cap);
            self.match_level(&decoded, depth + 1, &mut inner);
            out.overflowed += inner.overflowed;
            out.overflow_blocks |= inner.overflow_blocks;
            for m in inner.list {
                let blocks = !m.vetoed && self.options.block.contains(&self.rules[m.rule].severity);
                let mut chain = vec!["base64"];
                chain.extend(m.decoded);
                let m = RawMatch {
                    rule: m.rule,
                    span: run.clone(),
                    secret: m.secret,
                    decoded: chain,
                    vetoed: m.vetoed,
                    bad_checksum: m.bad_checksum,
                };
                out.push(m, blocks);
            }
        }
    }

    /// Scans string literals joined over lines ([`joins::concatenated_literals`]), keeping
    /// only what crosses a seam (the rest each line's own scan finds), at the pieces' span.
    pub(super) fn match_joined(&self, data: &[u8], depth: usize, out: &mut RawMatches) {
        for joined in joins::concatenated_literals(data) {
            let mut inner = RawMatches::new(out.cap);
            self.match_level(&joined.text, depth + 1, &mut inner);
            out.overflowed += inner.overflowed;
            out.overflow_blocks |= inner.overflow_blocks;
            for m in inner.list {
                if !joined.crosses_a_seam(&m.span) {
                    continue;
                }
                let blocks = !m.vetoed && self.options.block.contains(&self.rules[m.rule].severity);
                let mut chain = vec!["concatenation"];
                chain.extend(m.decoded);
                let m = RawMatch {
                    rule: m.rule,
                    span: joined.span.clone(),
                    secret: m.secret,
                    decoded: chain,
                    vetoed: m.vetoed,
                    bad_checksum: m.bad_checksum,
                };
                out.push(m, blocks);
            }
        }
    }
}

/// Bit flags per byte: member of the base64/base64url alphabet, and its character class.
const B64: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;
const DIGIT: u8 = 8;

static BASE64_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_uppercase() {
            B64 | UPPER
        } else if c.is_ascii_lowercase() {
            B64 | LOWER
        } else if c.is_ascii_digit() {
            B64 | DIGIT
        } else if matches!(c, b'+' | b'/' | b'-' | b'_') {
            B64
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Runs of base64 alphabet (with trailing padding) between `min` and `max` bytes long that mix
/// upper case, lower case and digits, as encoded data does and identifiers and words rarely do.
///
/// Every scanned byte passes through here, so the alphabet is tested 64 bytes at a time into a
/// bit mask (all of `data` in one pass, see [`alphabet_masks`]), and a mask in which no run of
/// `min` set bits starts is skipped whole.
pub(crate) fn base64_runs(data: &[u8], min: usize, max: usize) -> Vec<Range<usize>> {
    let min = min.max(1);
    if min > 64 {
        return base64_runs_bytewise(data, min, max);
    }
    let steps = run_steps(min);
    let masks = alphabet_masks(data);
    let mut runs = Vec::new();
    // The next byte a run may start at (runs found so far end before it).
    let mut next = 0;
    let mut this_block = mask_at(&masks, 0);
    let mut base = 0;
    while base < data.len() {
        let next_block = mask_at(&masks, base + 64);
        // Bit i of `starts`: a run of at least `min` bytes starts at base + i. Each start in
        // this block has its whole `min`-byte stretch inside this block and the next.
        let mut starts = runs_of_at_least(this_block, next_block, &steps);
        if next > base {
            starts &= u64::MAX.checked_shl((next - base) as u32).unwrap_or(0);
        }
        while starts != 0 {
            let start = base + starts.trailing_zeros() as usize;
            let mut end = start + min;
            loop {
                // The mask is zero past the end of `data`, so this stops there at the latest.
                let ones = mask_at(&masks, end).trailing_ones() as usize;
                end += ones;
                if ones < 64 {
                    break;
                }
            }
            let mut padded = end;
            while padded < data.len() && padded - end < 2 && data[padded] == b'=' {
                padded += 1;
            }
            if padded - start <= max && mixes_cases_and_digits(&data[start..end]) {
                runs.push(start..padded);
            }
            next = padded.max(end) + 1;
            if next >= base + 64 {
                break;
            }
            starts &= u64::MAX << (next - base);
        }
        this_block = next_block;
        base += 64;
    }
    runs
}

fn mixes_cases_and_digits(run: &[u8]) -> bool {
    let classes = run.iter().fold(0, |acc, &b| acc | BASE64_CLASS[b as usize]);
    classes & (UPPER | LOWER | DIGIT) == UPPER | LOWER | DIGIT
}

/// Bit i set when `data[from + i]` is in the base64 or base64url alphabet (zero past the end),
/// from `data`'s [`alphabet_masks`].
fn mask_at(masks: &[u64], from: usize) -> u64 {
    let (block, bit) = (from / 64, from % 64);
    let low = masks.get(block).copied().unwrap_or(0);
    if bit == 0 {
        return low;
    }
    let high = masks.get(block + 1).copied().unwrap_or(0);
    (low >> bit) | (high << (64 - bit))
}

/// The alphabet mask of each 64-byte block of `data` (the last one zero-padded). One pass
/// over the whole of it: a call per block cost more than the test itself.
fn alphabet_masks(data: &[u8]) -> Vec<u64> {
    let mut masks = Vec::with_capacity(data.len().div_ceil(64));
    let blocks = data.chunks_exact(64);
    let tail = blocks.remainder();
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { alphabet_masks_avx2(blocks, &mut masks) };
    } else {
        masks.extend(blocks.map(|b| alphabet_mask_of(b.try_into().expect("64 bytes"))));
    }
    #[cfg(not(target_arch = "x86_64"))]
    masks.extend(blocks.map(|b| alphabet_mask_of(b.try_into().expect("64 bytes"))));
    if !tail.is_empty() {
        let mut block = [0u8; 64];
        block[..tail.len()].copy_from_slice(tail);
        masks.push(alphabet_mask_of(&block));
    }
    masks
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn alphabet_masks_avx2(blocks: std::slice::ChunksExact<'_, u8>, masks: &mut Vec<u64>) {
    for block in blocks {
        masks.push(alphabet_mask_avx2(block.try_into().expect("64 bytes")));
    }
}

/// The alphabet as two 16-entry tables for a nibble lookup: each distinct set of low nibbles
/// that some high nibble allows gets a bit, so `LOW[lo] & HIGH[hi]` is non-zero exactly when
/// the byte `hi << 4 | lo` is in the alphabet. Derived from [`BASE64_CLASS`]; it needs at most
/// eight bits, and the base64 alphabets need five.
const NIBBLE_TABLES: ([u8; 16], [u8; 16]) = {
    let (mut low, mut high) = ([0u8; 16], [0u8; 16]);
    let mut sets = [0u16; 16];
    let mut bits = 0;
    let mut hi = 0;
    while hi < 16 {
        let mut set = 0u16;
        let mut lo = 0;
        while lo < 16 {
            if BASE64_CLASS[hi << 4 | lo] & B64 != 0 {
                set |= 1 << lo;
            }
            lo += 1;
        }
        if set != 0 {
            let mut bit = 0;
            while bit < bits && sets[bit] != set {
                bit += 1;
            }
            if bit == bits {
                assert!(bits < 8, "the alphabet fits eight nibble sets");
                sets[bit] = set;
                bits += 1;
            }
            high[hi] = 1 << bit;
            let mut lo = 0;
            while lo < 16 {
                if set & (1 << lo) != 0 {
                    low[lo] |= 1 << bit;
                }
                lo += 1;
            }
        }
        hi += 1;
    }
    (low, high)
};

/// 32 bytes per step with two table lookups where most x86-64 CPUs have AVX2; SSE2 (part of
/// every x86-64 CPU) otherwise.
#[cfg(target_arch = "x86_64")]
fn alphabet_mask_of(block: &[u8; 64]) -> u64 {
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { alphabet_mask_avx2(block) }
    } else {
        alphabet_mask_sse2(block)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn alphabet_mask_avx2(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    let (low, high) = NIBBLE_TABLES;
    // SAFETY: each load reads 16 or 32 bytes inside `low`, `high` or `block` (unaligned loads
    // are allowed), and the caller has made sure the CPU supports AVX2.
    unsafe {
        let low = _mm256_broadcastsi128_si256(_mm_loadu_si128(low.as_ptr() as *const __m128i));
        let high = _mm256_broadcastsi128_si256(_mm_loadu_si128(high.as_ptr() as *const __m128i));
        let nibble = _mm256_set1_epi8(0x0f);
        let mut mask = 0u64;
        for half in 0..2 {
            let v = _mm256_loadu_si256(block.as_ptr().add(half * 32) as *const __m256i);
            let lo = _mm256_and_si256(v, nibble);
            let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            let hit = _mm256_and_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
            let outside = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hit, _mm256_setzero_si256()));
            mask |= (!(outside as u32) as u64) << (half * 32);
        }
        mask
    }
}

#[cfg(target_arch = "x86_64")]
fn alphabet_mask_sse2(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    let mut mask = 0u64;
    for (part, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is always available on x86_64; the load reads exactly the 16 bytes of
        // `chunk` (unaligned loads are allowed).
        let bits = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr() as *const __m128i);
            let in_range = |x: __m128i, lo: u8, hi: u8| {
                // Signed compares are right here: every byte of the alphabet is below 0x80,
                // and bytes from 0x80 up are negative, so they fall outside every range.
                _mm_and_si128(
                    _mm_cmpgt_epi8(x, _mm_set1_epi8(lo as i8 - 1)),
                    _mm_cmplt_epi8(x, _mm_set1_epi8(hi as i8 + 1)),
                )
            };
            let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
            let digit = in_range(v, b'0', b'9');
            let symbol = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'+' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'/' as i8)),
                ),
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
                ),
            );
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), symbol)) as u32 as u64
        };
        mask |= (bits & 0xffff) << (part * 16);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
fn alphabet_mask_of(block: &[u8; 64]) -> u64 {
    let mut mask = 0u64;
    for (i, &b) in block.iter().enumerate() {
        mask |= ((BASE64_CLASS[b as usize] & B64) as u64) << i;
    }
    mask
}

/// The shifts that turn a bit mask into "a run of `n` set bits starts here": doubling runs of
/// 1, 2, 4, ... set bits, then one shift to make up the rest (`n` <= 64).
fn run_steps(n: usize) -> Vec<u32> {
    let mut steps = Vec::new();
    let mut covered = 1;
    while covered * 2 <= n {
        steps.push(covered as u32);
        covered *= 2;
    }
    if covered < n {
        steps.push((n - covered) as u32);
    }
    steps
}

/// Bit i set when bits i .. i + n of `low` followed by `high` are all set, for the `n` that
/// `steps` was made for. Only starts in `low` are asked for, so `high` may be cut short.
#[inline(always)]
fn runs_of_at_least(low: u64, high: u64, steps: &[u32]) -> u64 {
    let (mut low, mut high) = (low, high);
    for &step in steps {
        // Shifts are below 64: (low, high) >> step as one 128-bit number.
        low &= (low >> step) | (high << (64 - step));
        high &= high >> step;
    }
    low
}

/// The same runs found a byte at a time: for a `min` too long for the bit masks, and as the
/// reference the fast version is tested against.
fn base64_runs_bytewise(data: &[u8], min: usize, max: usize) -> Vec<Range<usize>> {
    let min = min.max(1);
    let mut runs = Vec::new();
    let mut start = 0;
    while start + min <= data.len() {
        // Is data[start..start + min] all base64? Check from the far end, and restart just past
        // the last byte that is not.
        if let Some(bad) = (start..start + min)
            .rev()
            .find(|&i| BASE64_CLASS[data[i] as usize] & B64 == 0)
        {
            start = bad + 1;
            continue;
        }
        let mut end = start + min;
        while end < data.len() && BASE64_CLASS[data[end] as usize] & B64 != 0 {
            end += 1;
        }
        let mut padded = end;
        while padded < data.len() && padded - end < 2 && data[padded] == b'=' {
            padded += 1;
        }
        if padded - start <= max && mixes_cases_and_digits(&data[start..end]) {
            runs.push(start..padded);
        }
        start = padded.max(end) + 1;
    }
    runs
}

/// Decodes a base64 or base64url run and keeps it only if it decodes to text: secrets hidden in
/// base64 are text, while images, hashes and random identifiers decode to binary.
pub(crate) fn decode_text(run: &[u8]) -> Option<Vec<u8>> {
    let decoded = base64(run, Base64::Lenient)?;
    if decoded.len() < 8 {
        return None;
    }
    let text = std::str::from_utf8(&decoded).ok()?;
    let printable = text
        .bytes()
        .filter(|&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    (printable * 100 >= decoded.len() * 95).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_runs_by_mask_match_the_bytewise_search() {
        // Text dense with base64 alphabet, padding and separators, at every alignment.
        let alphabet = b"aZ09+/-_==Qx7 .:\n\"kK";
        let mut x: u32 = 7;
        let mut data = Vec::new();
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let r = (x >> 16) as usize;
            // Long stretches without separators now and then, so long runs occur.
            let pick = if r % 97 < 80 {
                r % 8
            } else {
                r % alphabet.len()
            };
            data.push(alphabet[pick]);
        }
        assert!(base64_runs_bytewise(&data, 33, 200).len() > 10);
        for min in [1, 2, 5, 16, 20, 33, 63, 64, 65, 100] {
            for skip in [0, 1, 7, 63] {
                let slice = &data[skip..];
                assert_eq!(
                    base64_runs(slice, min, 200),
                    base64_runs_bytewise(slice, min, 200),
                    "min {min} skip {skip}"
                );
            }
        }
    }

    #[test]
    fn the_alphabet_mask_agrees_with_the_table_for_every_byte() {
        for b in 0..=255u8 {
            for at in [0, 13, 31, 32, 63] {
                let mut block = [b'!'; 64];
                block[at] = b;
                let expected = ((BASE64_CLASS[b as usize] & B64) as u64) << at;
                assert_eq!(alphabet_mask_of(&block), expected, "byte {b:#04x} at {at}");
                #[cfg(target_arch = "x86_64")]
                assert_eq!(
                    alphabet_mask_sse2(&block),
                    expected,
                    "byte {b:#04x} at {at}"
                );
            }
        }
    }

    #[test]
    fn whole_buffer_masks_agree_with_the_table_at_every_offset() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 37 % 256) as u8).collect();
        for len in [0, 1, 63, 64, 65, 200, 300] {
            let data = &data[..len];
            let masks = alphabet_masks(data);
            assert_eq!(masks.len(), len.div_ceil(64));
            for from in 0..len + 70 {
                let expected = (0..64).fold(0u64, |mask, i| {
                    let b = data
                        .get(from + i)
                        .map_or(0, |&b| BASE64_CLASS[b as usize] & B64);
                    mask | (b as u64) << i
                });
                assert_eq!(mask_at(&masks, from), expected, "len {len} from {from}");
            }
        }
    }

    #[test]
    fn base64_runs_are_found_whole() {
        let text = b"x = \"aGVsbG8gd29ybGQgMTIz\" and short Ab1 and dGhpcyBpcyBhIHRlc3Q9MQ==";
        let runs: Vec<&[u8]> = base64_runs(text, 16, 1000)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(
            runs,
            vec![
                b"aGVsbG8gd29ybGQgMTIz".as_slice(),
                b"dGhpcyBpcyBhIHRlc3Q9MQ==".as_slice()
            ]
        );
        assert!(base64_runs(b"only_lowercase_identifier_here", 16, 1000).is_empty());
    }
}
