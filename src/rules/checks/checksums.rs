//! Checksums tokens carry: a CRC-32 in base62 at the end (GitHub, npm and the like), and the
//! fixed markers and account-id encodings some providers build in. A look-alike fails them.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Classic GitHub tokens, and npm's tokens made the same way, end in the base62 CRC32 of the
/// random characters before it, which tells a real token from a look-alike (a fixture with
/// `000000` at the end, a truncated paste). The body is what follows the prefix's `_`.
pub(super) fn crc32_base62(secret: &[u8]) -> bool {
    let Some(underscore) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[underscore + 1..];
    if body.len() < 7 {
        return false;
    }
    let (random, checksum) = body.split_at(body.len() - 6);
    let mut n = crc32fast::hash(random);
    let mut expected = [b'0'; 6];
    for slot in expected.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    n == 0 && expected == checksum
}

/// OpenAI keys carry `T3BlbkFJ` (base64 of "OpenAI") between their random halves; in a legacy
/// `sk-` + 48 key it sits at a fixed place, so other providers' `sk-` keys of that length fail.
pub(super) fn openai_marker(secret: &[u8]) -> bool {
    const MARKER: &[u8] = b"T3BlbkFJ";
    match secret.strip_prefix(b"sk-") {
        Some(body) if body.len() == 48 && body.iter().all(u8::is_ascii_alphanumeric) => {
            &body[20..28] == MARKER
        }
        Some(_) => memchr::memmem::find(secret, MARKER).is_some(),
        None => false,
    }
}

/// Anthropic's API and admin keys end in `AA` after their random part.
pub(super) fn anthropic_key(secret: &[u8]) -> bool {
    secret.starts_with(b"sk-ant-") && secret.ends_with(b"AA")
}

/// Azure DevOps' 84-character personal access tokens carry the signature `AZDO` at characters
/// 77 to 80; the older 52-character tokens are lower-case base32.
pub(super) fn azure_devops_pat(secret: &[u8]) -> bool {
    match secret.len() {
        84 => &secret[76..80] == b"AZDO",
        52 => secret
            .iter()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(b)),
        _ => false,
    }
}

/// An AWS access key id encodes its account: the 16 base32 characters after the 4-letter
/// prefix hold, in their first 6 bytes shifted by 7 bits, a 40-bit number that must be a
/// 12-digit account id.
pub(super) fn aws_key_id(secret: &[u8]) -> bool {
    if secret.len() != 20 {
        return false;
    }
    let mut bits: u128 = 0;
    for &b in &secret[4..] {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'2'..=b'7' => b - b'2' + 26,
            _ => return false,
        };
        bits = (bits << 5) | u128::from(value);
    }
    // 80 bits; the first 48 of them, masked and shifted.
    let first48 = (bits >> 32) as u64;
    let account = (first48 & 0x7fff_ffff_ff80) >> 7;
    account <= 999_999_999_999
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_checksum() {
        // Built here: random part and its base62 CRC32.
        let random = b"abcdefghijABCDEFGHIJ0123456789";
        let mut n = crc32fast::hash(random);
        let mut sum = [b'0'; 6];
        for slot in sum.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let token = [b"ghp_".as_slice(), random, &sum].concat();
        assert!(crc32_base62(&token));
        let mut bad = token.clone();
        bad[39] = if bad[39] == b'a' { b'b' } else { b'a' };
        assert!(!crc32_base62(&bad));
    }
}
