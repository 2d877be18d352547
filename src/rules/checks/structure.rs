//! A token's inner structure, checked offline. Many formats carry more than their alphabet: a
//! segment that is base64 of a JSON object with known fields, of a fixed text prefix, of a
//! fixed number of bytes. A look-alike (a fixture, a hash, a truncated paste) fails the decode,
//! so a rule that says what its token decodes to can block with confidence. The built-in checks
//! of the same kind (a JWT's JSON header, a PyPI macaroon's location) live here too.
//!
//! ```toml
//! decodes = { strip = "sntrys_", split = "_", part = 0, encoding = "base64", json_keys = ["iat", "org"] }
//! ```

use serde::Deserialize;

use super::encoding::{base64, Base64};

/// `decodes = { … }` as written in a pack.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructureSpec {
    /// Removed from the front of the secret first (a prefix that is not encoded).
    pub strip: Option<String>,
    /// Split what is left on this character and take `part`.
    pub split: Option<String>,
    /// Which part after splitting: 0 the first, -1 the last (default 0).
    #[serde(default)]
    pub part: i64,
    /// `base64` (standard or URL-safe, padded or not), `base32` (RFC 4648) or `hex`.
    pub encoding: String,
    /// The decoded bytes are a JSON object holding all of these keys.
    #[serde(default)]
    pub json_keys: Vec<String>,
    /// The decoded bytes start with this text.
    pub starts_with: Option<String>,
    /// The decoded bytes contain this text.
    pub contains: Option<String>,
    /// The decoded bytes are exactly this long.
    pub length: Option<usize>,
    /// The decoded bytes are printable ASCII text.
    #[serde(default)]
    pub printable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Base64,
    Base32,
    Hex,
}

/// A compiled `decodes`.
#[derive(Clone, Debug)]
pub struct Structure {
    spec: StructureSpec,
    encoding: Encoding,
    split: Option<u8>,
}

impl Structure {
    pub fn new(spec: StructureSpec) -> Result<Structure, String> {
        let encoding = match spec.encoding.as_str() {
            "base64" => Encoding::Base64,
            "base32" => Encoding::Base32,
            "hex" => Encoding::Hex,
            other => {
                return Err(format!(
                    "decodes: unknown encoding {other:?} (base64, base32 or hex)"
                ))
            }
        };
        let split = match spec.split.as_deref() {
            None => None,
            Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
            Some(s) => return Err(format!("decodes: split {s:?} must be one character")),
        };
        if spec.json_keys.is_empty()
            && spec.starts_with.is_none()
            && spec.contains.is_none()
            && spec.length.is_none()
            && !spec.printable
        {
            return Err("decodes: says nothing about the decoded bytes (give json_keys, starts_with, contains, length or printable)".into());
        }
        Ok(Structure {
            spec,
            encoding,
            split,
        })
    }

    /// Whether `secret` has the structure.
    pub fn verify(&self, secret: &[u8]) -> bool {
        let mut rest = secret;
        if let Some(prefix) = &self.spec.strip {
            match rest.strip_prefix(prefix.as_bytes()) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        let part = match self.split {
            None => rest,
            Some(sep) => {
                let parts: Vec<&[u8]> = rest.split(|&b| b == sep).collect();
                let index = if self.spec.part < 0 {
                    parts.len() as i64 + self.spec.part
                } else {
                    self.spec.part
                };
                match usize::try_from(index)
                    .ok()
                    .and_then(|i| parts.get(i).copied())
                {
                    Some(p) => p,
                    None => return false,
                }
            }
        };
        let Some(decoded) = decode(self.encoding, part) else {
            return false;
        };
        let s = &self.spec;
        if s.length.is_some_and(|n| decoded.len() != n) {
            return false;
        }
        if s.starts_with
            .as_ref()
            .is_some_and(|p| !decoded.starts_with(p.as_bytes()))
        {
            return false;
        }
        if s.contains
            .as_ref()
            .is_some_and(|c| memchr::memmem::find(&decoded, c.as_bytes()).is_none())
        {
            return false;
        }
        if s.printable && !decoded.iter().all(|b| (0x20..0x7f).contains(b)) {
            return false;
        }
        if !s.json_keys.is_empty() {
            let Ok(serde_json::Value::Object(map)) =
                serde_json::from_slice::<serde_json::Value>(&decoded)
            else {
                return false;
            };
            if !s.json_keys.iter().all(|k| map.contains_key(k)) {
                return false;
            }
        }
        true
    }
}

fn decode(encoding: Encoding, text: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Base64 => base64(text, Base64::Token),
        Encoding::Base32 => base32(text),
        Encoding::Hex => hex(text),
    }
}

/// RFC 4648 base32 (upper or lower case, padding optional).
fn base32(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u64, 0u32);
    for &b in text.iter().take_while(|&&b| b != b'=') {
        let value = match b.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u64::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

/// A PyPI token is a binary macaroon in base64url: version 2, a location field naming
/// pypi.org or test.pypi.org, then an identifier field.
pub(super) fn pypi_macaroon(secret: &[u8]) -> bool {
    let Some(body) = secret.strip_prefix(b"pypi-") else {
        return false;
    };
    let Some(bytes) = base64(body, Base64::Token) else {
        return false;
    };
    let [2, 1, len, rest @ ..] = bytes.as_slice() else {
        return false;
    };
    let len = usize::from(*len);
    if rest.len() <= len {
        return false;
    }
    let location = &rest[..len];
    (location == b"pypi.org" || location == b"test.pypi.org") && rest[len] == 2
}

/// A JWT's header is base64url JSON naming its algorithm, and its payload (when there is one)
/// is a JSON object too.
pub(super) fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let header = parts.next().unwrap_or_default();
    let json = |part: &[u8]| {
        base64(part, Base64::Token)
            .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
    };
    let Some(serde_json::Value::Object(map)) = json(header) else {
        return false;
    };
    if !map.contains_key("alg") {
        return false;
    }
    match parts.next() {
        None | Some(b"") => true,
        Some(payload) => matches!(json(payload), Some(serde_json::Value::Object(_))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;

    fn structure(spec: StructureSpec) -> Structure {
        Structure::new(spec).unwrap()
    }

    #[test]
    fn json_inside_a_prefixed_part() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iat":1,"org":"acme"}"#);
        let s = structure(StructureSpec {
            strip: Some("tok_".into()),
            split: Some("_".into()),
            part: 0,
            encoding: "base64".into(),
            json_keys: vec!["iat".into(), "org".into()],
            ..Default::default()
        });
        assert!(s.verify(format!("tok_{payload}_Zm9vYmFy").as_bytes()));
        let missing = URL_SAFE_NO_PAD.encode(br#"{"iat":1}"#);
        assert!(!s.verify(format!("tok_{missing}_Zm9vYmFy").as_bytes()));
        assert!(!s.verify(b"tok_bm90IGpzb24_Zm9vYmFy"));
        assert!(!s.verify(b"other_e30_x"));
    }

    #[test]
    fn prefix_length_and_last_part() {
        let s = structure(StructureSpec {
            split: Some(":".into()),
            part: -1,
            encoding: "base64".into(),
            length: Some(16),
            ..Default::default()
        });
        assert!(s.verify(format!("id.x:{}", STANDARD.encode([7u8; 16])).as_bytes()));
        assert!(!s.verify(format!("id.x:{}", STANDARD.encode([7u8; 15])).as_bytes()));
        let t = structure(StructureSpec {
            encoding: "base64".into(),
            starts_with: Some("reftkn:".into()),
            ..Default::default()
        });
        assert!(t.verify(STANDARD.encode("reftkn:01:123:abc").as_bytes()));
        assert!(!t.verify(STANDARD.encode("other:01").as_bytes()));
    }

    #[test]
    fn base32_and_hex_decode() {
        assert_eq!(base32(b"MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32(b"mzxw6ytboi======").unwrap(), b"foobar");
        assert!(base32(b"MZXW1").is_none());
        assert_eq!(hex(b"666f6f").unwrap(), b"foo");
        assert!(hex(b"6g").is_none());
    }

    #[test]
    fn a_structure_must_say_something() {
        assert!(Structure::new(StructureSpec {
            encoding: "base64".into(),
            ..Default::default()
        })
        .is_err());
        assert!(Structure::new(StructureSpec {
            encoding: "rot13".into(),
            printable: true,
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn jwt_header() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        assert!(jwt(format!("{header}.eyJzdWIiOiIxIn0.abc").as_bytes()));
        assert!(!jwt(b"eyJub3RoaW5nIjoxfQ.eyJzdWIiOiIxIn0.abc"));
    }
}
