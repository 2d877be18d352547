//! Allowing a finding: inline markers on its line, and what the configuration trusts (allow
//! entries, a baseline's fingerprints, `.gitleaksignore` locations); and the fingerprints
//! themselves, computed once per rule, path and secret.

use crate::finding::{fingerprint, legacy_fingerprint, secret_fingerprint, Finding, Mechanism};
use crate::rules::Category;
use crate::source::Fragment;

use super::Matcher;

/// Stands for "no path" where the matcher asks for the fingerprint of rule and secret alone: a
/// NUL is in no file name, so it cannot meet a real path's fingerprint in the memo.
const ANY_PATH: &str = "\0";

impl Matcher {
    /// The finding's fingerprint. A credential's is computed once per (rule, path, secret) in a
    /// run: its hash is slow on purpose (see [`fingerprint`]), and a history holds the same
    /// secret many times.
    pub(super) fn fingerprint(
        &self,
        rule_id: &str,
        category: Category,
        path: &str,
        secret: &[u8],
    ) -> String {
        let compute = || match path {
            ANY_PATH => secret_fingerprint(rule_id, category, secret),
            _ => fingerprint(rule_id, path, category, secret),
        };
        if matches!(category, Category::PrivateIp | Category::InternalUrl) {
            // A fast hash (see `finding::fingerprint`): remembering it would cost more.
            return compute();
        }
        let mut key = Vec::with_capacity(rule_id.len() + path.len() + secret.len() + 2);
        key.extend_from_slice(rule_id.as_bytes());
        key.push(0);
        key.extend_from_slice(path.as_bytes());
        key.push(0);
        key.extend_from_slice(secret);
        if let Some(known) = self.fingerprints.lock().unwrap().get(&key) {
            return known.clone();
        }
        let computed = compute();
        self.fingerprints
            .lock()
            .unwrap()
            .insert(key, computed.clone());
        computed
    }

    /// The first inline marker on `line`, as configured.
    pub(super) fn allow_marker(&self, line: &[u8]) -> Option<&str> {
        let found = self.markers.as_ref()?.find(line)?;
        Some(&self.options.allow_markers[found.pattern().as_usize()])
    }

    /// The configured allow entry, baseline fingerprint or `.gitleaksignore` entry that
    /// silences `finding`, with a justification naming it. These are read with the
    /// configuration (in a range scan from the base commit), never from the scanned content.
    pub(super) fn trusted_allow(
        &self,
        finding: &Finding,
        fragment: &Fragment,
        line_text: &[u8],
    ) -> Option<(Mechanism, String)> {
        let commit = fragment.commit.as_deref();
        if let Some(allow) = self.options.allow.iter().find(|a| {
            a.allows(
                &finding.rule_id,
                &fragment.path,
                commit,
                &finding.secret,
                line_text,
            )
        }) {
            return Some((Mechanism::Config, allow.origin.clone()));
        }
        let (baseline, legacy) = (&self.options.baseline, &self.options.legacy_baseline);
        let anywhere = &self.options.baseline_anywhere;
        if (!baseline.is_empty()
            && baseline.contains(&self.fingerprint(
                &finding.rule_id,
                finding.category,
                &finding.path,
                &finding.secret,
            )))
            || (!anywhere.is_empty()
                && anywhere.contains(&self.fingerprint(
                    &finding.rule_id,
                    finding.category,
                    ANY_PATH,
                    &finding.secret,
                )))
            || (!legacy.is_empty()
                && legacy.contains(&legacy_fingerprint(
                    &finding.rule_id,
                    &finding.path,
                    &finding.secret,
                )))
        {
            let source = &self.options.baseline_source;
            return Some((Mechanism::Baseline, format!("baseline {source}")));
        }
        let ignored = &self.options.ignored_locations;
        let at = |commit: Option<&str>| {
            ignored.contains(&(
                commit.map(str::to_string),
                finding.path.clone(),
                finding.line,
            ))
        };
        if !ignored.is_empty() && (at(None) || commit.is_some_and(|c| at(Some(c)))) {
            return Some((Mechanism::IgnoreFile, self.options.ignore_source.clone()));
        }
        None
    }
}
