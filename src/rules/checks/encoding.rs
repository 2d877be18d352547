//! The base64 decoder everything shares: token checks and inner-structure checks on a secret,
//! and the matcher on runs it finds in text. One decoder with a mode, so the kinds of input can
//! differ only in what the mode says.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// How strict [`base64`] is about padding and the bits left over in the last character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base64 {
    /// A token's segment: up to two `=` at the end are ignored, whatever the length; bits left
    /// over must be zero, as an encoder writes them.
    Token,
    /// A value judged whole (is this password base64 of text?): padding absent or exactly what
    /// the length needs, and no stray bits.
    Exact,
    /// A run found in scanned text: padding is taken as it comes and leftover bits are ignored,
    /// as the decoders that read such data do.
    Lenient,
}

/// Decodes standard or URL-safe base64, padded or not: tokens and files use all four. The
/// alphabet is told by its characters (`-` and `_` are only in the URL-safe one).
pub(crate) fn base64(text: &[u8], mode: Base64) -> Option<Vec<u8>> {
    let trimmed = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let padding = text.len() - trimmed.len();
    let config = match mode {
        Base64::Token | Base64::Exact => {
            if mode == Base64::Exact && padding != 0 && padding != (4 - trimmed.len() % 4) % 4 {
                return None;
            }
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone)
        }
        Base64::Lenient => GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    };
    let alphabet = if trimmed.iter().any(|&b| b == b'-' || b == b'_') {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config).decode(trimmed).ok()
}
