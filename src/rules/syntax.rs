//! What users write: a rule pack's TOML as serde reads it, before anything is checked. The
//! compiled form the matcher runs is in `compile.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::checks::structure::StructureSpec;
use super::named::NamedSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Credential,
    ConnectionString,
    PrivateIp,
    InternalUrl,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Credential => "credential",
            Category::ConnectionString => "connection-string",
            Category::PrivateIp => "private-ip",
            Category::InternalUrl => "internal-url",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule pack file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PackSpec {
    #[serde(default)]
    pub(super) rule: Vec<RuleSpec>,
}

/// One rule as written in a pack (see docs/RULES.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub no_keywords: bool,
    /// The provider whose credential this is, as users know it (`Mailgun`).
    pub provider: Option<String>,
    /// The regex; optional when `named` writes it.
    #[serde(default)]
    pub regex: String,
    /// A secret that only the name beside it identifies (see `named.rs`).
    pub named: Option<NamedSpec>,
    pub secret_group: Option<usize>,
    pub min_entropy: Option<f64>,
    pub check: Option<String>,
    /// What the secret decodes to (see `structure.rs`).
    pub decodes: Option<StructureSpec>,
    #[serde(default)]
    pub multiline: bool,
    #[serde(default = "yes")]
    pub placeholders: bool,
    /// A generic rule yields to a specific one that found the same secret.
    #[serde(default)]
    pub generic: bool,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub counter_examples: Vec<String>,
    /// Only run on files whose path matches this regex.
    pub path: Option<String>,
}

fn yes() -> bool {
    true
}
