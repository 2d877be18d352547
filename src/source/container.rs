//! Binary files that are credentials by their nature: a PKCS#12 bundle (`.p12`, `.pfx`), a Java
//! keystore (JKS, JCEKS) or a private key in DER. They hold no text for a rule to read, so each
//! is recognised by its first bytes (never its name) and handed to the rules as one line that
//! says what it is, with the SHA-256 of its bytes as the secret: the rules in `rules/keys.toml`
//! report it like any other finding, and allowlists, baselines and fingerprints work as usual.

use sha2::{Digest, Sha256};

/// The kinds of binary credential container staunch recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// PKCS#12 / PFX: a DER sequence starting with version 3 and a PKCS#7 data content.
    Pkcs12,
    /// Sun's JKS keystore (magic `FEEDFEED`) or its JCEKS variant (`CECECECE`).
    JavaKeystore,
    /// An unencrypted PKCS#8, PKCS#1 (RSA) or SEC 1 (EC) private key in DER.
    DerPrivateKey,
}

impl Container {
    /// The word the description line carries, which the rules match.
    pub fn name(self) -> &'static str {
        match self {
            Container::Pkcs12 => "pkcs12",
            Container::JavaKeystore => "java-keystore",
            Container::DerPrivateKey => "der-private-key",
        }
    }
}

/// The DER object identifier of PKCS#7 `data` (1.2.840.113549.1.7.1), with its tag and length.
const PKCS7_DATA: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
];

/// What container `data` is, if any.
pub fn recognise(data: &[u8]) -> Option<Container> {
    match data {
        [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 1 | 2, ..] | [0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2, ..] => {
            return Some(Container::JavaKeystore)
        }
        _ => {}
    }
    let body = der_sequence_body(data)?;
    match body {
        // PFX: version 3, then the authSafe ContentInfo, whose type is PKCS#7 data.
        [0x02, 0x01, 0x03, 0x30, rest @ ..]
            if rest.len() > 16
                && rest[..16]
                    .windows(PKCS7_DATA.len())
                    .any(|w| w == PKCS7_DATA) =>
        {
            Some(Container::Pkcs12)
        }
        // PKCS#8: version 0, an AlgorithmIdentifier sequence, then the key as an octet string.
        [0x02, 0x01, 0x00, 0x30, len, 0x06, rest @ ..]
            if (1..0x40).contains(len) && rest.get(*len as usize - 1) == Some(&0x04) =>
        {
            Some(Container::DerPrivateKey)
        }
        // SEC 1 EC: version 1, then the private key as an octet string of a curve's size.
        [0x02, 0x01, 0x01, 0x04, 0x18..=0x42, ..] => Some(Container::DerPrivateKey),
        // PKCS#1 RSA: version 0, then the modulus as a long integer.
        [0x02, 0x01, 0x00, 0x02, 0x81 | 0x82, ..] if data.len() > 256 => {
            Some(Container::DerPrivateKey)
        }
        _ => None,
    }
}

/// The content of a DER (or BER, indefinite length) SEQUENCE at the start of `data`, when its
/// declared length fits the data: a stray `0x30` byte is no sequence.
fn der_sequence_body(data: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = data.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0x80 => return Some(rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            rest.get(2..)?,
        ),
        0x83 => (
            usize::from(*rest.first()?) << 16
                | usize::from(*rest.get(1)?) << 8
                | usize::from(*rest.get(2)?),
            rest.get(3..)?,
        ),
        n if n < 0x80 => (usize::from(n), rest),
        _ => return None,
    };
    (len >= 16 && len <= rest.len()).then(|| &rest[..len])
}

/// The line the rules see in place of the container: `staunch-container: pkcs12 sha256:…`.
pub fn describe(container: Container, data: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(data);
    let mut line = format!("staunch-container: {} sha256:", container.name()).into_bytes();
    for byte in digest {
        line.extend_from_slice(format!("{byte:02x}").as_bytes());
    }
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER sequence of `body`, with a two-byte length as real files have.
    fn sequence(body: &[u8]) -> Vec<u8> {
        let mut out = vec![0x30, 0x82];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn a_pfx_is_recognised_by_its_structure() {
        let mut body = vec![0x02, 0x01, 0x03, 0x30, 0x82, 0x01, 0x00];
        body.extend_from_slice(PKCS7_DATA);
        body.extend_from_slice(&[0xA0; 300]);
        assert_eq!(recognise(&sequence(&body)), Some(Container::Pkcs12));
        // Version 3 without the PKCS#7 content type is some other structure.
        let mut other = vec![0x02, 0x01, 0x03, 0x30, 0x82, 0x01, 0x00];
        other.extend_from_slice(&[0x11; 300]);
        assert_eq!(recognise(&sequence(&other)), None);
        // A declared length longer than the file is no sequence.
        let mut cut = sequence(&body);
        cut.truncate(100);
        assert_eq!(recognise(&cut), None);
    }

    #[test]
    fn keystores_and_der_keys_are_recognised() {
        let mut jks = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2];
        jks.extend_from_slice(&[7; 64]);
        assert_eq!(recognise(&jks), Some(Container::JavaKeystore));
        // PKCS#8 with the rsaEncryption algorithm identifier (OID, then NULL parameters).
        let mut pkcs8 = vec![0x02, 0x01, 0x00, 0x30, 0x0D, 0x06, 0x09];
        pkcs8.extend_from_slice(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]);
        pkcs8.extend_from_slice(&[0x05, 0x00, 0x04, 0x82, 0x01, 0x00]);
        pkcs8.extend_from_slice(&[0x5A; 256]);
        assert_eq!(recognise(&sequence(&pkcs8)), Some(Container::DerPrivateKey));
        assert_eq!(recognise(b"plain text"), None);
        assert_eq!(recognise(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
    }

    #[test]
    fn every_prefix_of_a_container_is_judged_without_panicking() {
        let mut body = vec![0x02, 0x01, 0x03, 0x30, 0x82, 0x01, 0x00];
        body.extend_from_slice(PKCS7_DATA);
        body.extend_from_slice(&[0xA0; 64]);
        let shapes = [
            sequence(&body),
            sequence(&[0x02, 0x01, 0x00, 0x30, 0x0D, 0x06, 0x09, 0x2A]),
            sequence(&[0x02, 0x01, 0x00, 0x30, 0x00, 0x06]),
            sequence(&[0x02, 0x01, 0x01, 0x04, 0x20]),
            vec![0x30, 0x83, 0xFF, 0xFF, 0xFF, 0x02],
            vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2],
        ];
        for shape in &shapes {
            for n in 0..=shape.len() {
                let _ = recognise(&shape[..n]);
            }
        }
    }

    #[test]
    fn the_description_names_the_kind_and_hashes_the_bytes() {
        let line = describe(Container::Pkcs12, b"abc");
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "staunch-container: pkcs12 sha256:\
             ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
        );
    }
}
