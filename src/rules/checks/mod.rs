//! Built-in validators a rule can name with `check = "..."`. They answer one question: is this
//! regex match really the thing the rule is about? They see the candidate secret and the bytes
//! around it, and never allocate on the common path.

mod assignment;
mod checksums;
pub(crate) mod encoding;
pub mod filters;
mod network;
mod password;
pub mod structure;

use assignment::{assigned_value, key_is_credential_token, key_is_password, names_itself};
pub use assignment::{is_code_path, literal_in_code};
use assignment::{php_hex_secret, uri_password};
use checksums::{anthropic_key, aws_key_id, azure_devops_pat, crc32_base62, openai_marker};
use network::{internal_host, private_ipv4, private_ipv6, stand_in_url_host};
use password::{basic_auth, password, token_value};
use structure::{jwt, pypi_macaroon};

/// A validator a rule names in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    GithubCrc32,
    Crc32Base62,
    OpenaiMarker,
    AnthropicKey,
    AzureDevopsPat,
    AwsKeyId,
    PypiMacaroon,
    Jwt,
    PrivateIpv4,
    PrivateIpv6,
    InternalHost,
    BasicAuth,
    Password,
    TokenValue,
    TokenShape,
    PasswordShape,
    UriPassword,
    UrlCredentials,
}

/// What a check may look at besides the secret itself.
pub struct CheckContext<'a> {
    /// The bytes of the line before the secret.
    pub before: &'a [u8],
    /// The bytes of the line after the secret.
    pub after: &'a [u8],
    /// Host suffixes the user declared internal (lower-case, no leading dot).
    pub internal_domains: &'a [String],
}

impl Check {
    pub fn from_name(name: &str) -> Option<Check> {
        Some(match name {
            "github-crc32" => Check::GithubCrc32,
            "crc32-base62" => Check::Crc32Base62,
            "openai-marker" => Check::OpenaiMarker,
            "anthropic-key" => Check::AnthropicKey,
            "azure-devops-pat" => Check::AzureDevopsPat,
            "aws-key-id" => Check::AwsKeyId,
            "pypi-macaroon" => Check::PypiMacaroon,
            "jwt" => Check::Jwt,
            "private-ipv4" => Check::PrivateIpv4,
            "private-ipv6" => Check::PrivateIpv6,
            "internal-host" => Check::InternalHost,
            "basic-auth" => Check::BasicAuth,
            "password" => Check::Password,
            "token-value" => Check::TokenValue,
            "uri-password" => Check::UriPassword,
            "url-credentials" => Check::UrlCredentials,
            "token-shape" => Check::TokenShape,
            "password-shape" => Check::PasswordShape,
            _ => return None,
        })
    }

    /// The name a pack uses for this check.
    pub fn name(self) -> &'static str {
        match self {
            Check::GithubCrc32 => "github-crc32",
            Check::Crc32Base62 => "crc32-base62",
            Check::OpenaiMarker => "openai-marker",
            Check::AnthropicKey => "anthropic-key",
            Check::AzureDevopsPat => "azure-devops-pat",
            Check::AwsKeyId => "aws-key-id",
            Check::PypiMacaroon => "pypi-macaroon",
            Check::Jwt => "jwt",
            Check::PrivateIpv4 => "private-ipv4",
            Check::PrivateIpv6 => "private-ipv6",
            Check::InternalHost => "internal-host",
            Check::BasicAuth => "basic-auth",
            Check::Password => "password",
            Check::TokenValue => "token-value",
            Check::UriPassword => "uri-password",
            Check::UrlCredentials => "url-credentials",
            Check::TokenShape => "token-shape",
            Check::PasswordShape => "password-shape",
        }
    }

    /// Whether the check verifies a token's own checksum or inner structure (what lets a rule
    /// reject a look-alike offline), rather than judging a value by its context.
    pub fn is_format_check(self) -> bool {
        matches!(
            self,
            Check::GithubCrc32
                | Check::Crc32Base62
                | Check::OpenaiMarker
                | Check::AnthropicKey
                | Check::AzureDevopsPat
                | Check::AwsKeyId
                | Check::PypiMacaroon
                | Check::Jwt
        )
    }

    pub fn verify(self, secret: &[u8], ctx: &CheckContext<'_>) -> bool {
        match self {
            Check::GithubCrc32 | Check::Crc32Base62 => crc32_base62(secret),
            Check::OpenaiMarker => openai_marker(secret),
            Check::AnthropicKey => anthropic_key(secret),
            Check::AzureDevopsPat => azure_devops_pat(secret),
            Check::AwsKeyId => aws_key_id(secret),
            Check::PypiMacaroon => pypi_macaroon(secret),
            Check::Jwt => jwt(secret),
            Check::PrivateIpv4 => private_ipv4(secret, ctx),
            Check::PrivateIpv6 => private_ipv6(secret, ctx),
            Check::InternalHost => internal_host(secret, ctx.internal_domains),
            Check::BasicAuth => basic_auth(secret),
            Check::Password => {
                assigned_value(secret, ctx)
                    && key_is_password(ctx.before)
                    && password(secret)
                    && !filters::made_of_placeholder_words(secret)
            }
            Check::TokenValue => {
                assigned_value(secret, ctx)
                    && key_is_credential_token(ctx.before)
                    && ((token_value(secret) && !names_itself(secret))
                        || php_hex_secret(secret, ctx))
            }
            Check::UriPassword => uri_password(secret, ctx),
            Check::UrlCredentials => !stand_in_url_host(ctx.after) && uri_password(secret, ctx),
            Check::TokenShape => token_value(secret),
            Check::PasswordShape => password(secret),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_checks_tell_tokens_from_look_alikes() {
        let legacy_openai = format!(
            "sk-{}T3BlbkFJ{}",
            "a1B2c3D4e5F6g7H8i9J0", "k1L2m3N4o5P6q7R8s9T0"
        );
        assert!(openai_marker(legacy_openai.as_bytes()));
        assert!(!openai_marker(
            b"sk-a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4"
        ));
        assert!(anthropic_key(b"sk-ant-api03-xYz123AA"));
        assert!(!anthropic_key(b"sk-ant-api03-xYz123Ab"));
        let azdo = format!("{}AZDO{}", "a".repeat(76), "b1c2");
        assert!(azure_devops_pat(azdo.as_bytes()));
        assert!(!azure_devops_pat(
            format!("{}AZDX{}", "a".repeat(76), "b1c2").as_bytes()
        ));
        assert!(azure_devops_pat(
            b"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
        ));
        // Account ids computed by hand for these two made-up key ids.
        assert!(aws_key_id(b"AKIAUJZDEGXDNCF32EPF")); // staunch:allow
        assert!(!aws_key_id(b"AKIAPFT7V4SEH2KVJ72C")); // staunch:allow
        assert!(pypi_macaroon(b"pypi-AgEIcHlwaS5vcmcCEDcuWcGpL6PzDPyuLN5IoosAAAYg1aIcN6o7heV7n1S4Httr2iLMtkBo8hgntQgdgHTIGOM")); // staunch:allow
        assert!(!pypi_macaroon(
            b"pypi-AgEHcHlwaS5jbwIQ6fQJMAN72cYUgaENCw3_HA"
        ));
        // header {"alg":"HS256"}; payload {"sub":"1"} or not JSON
        assert!(jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt(b"eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"));
    }
}
