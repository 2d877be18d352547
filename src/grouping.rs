//! Findings of a history grouped by what they mean: one per (rule, path, secret).
//!
//! A secret committed once and kept is in every later version of its file. Scanned version by
//! version, a history reports it once per version (git/git's `git-send-email.perl` alone held
//! one test password in 421 of them), which buries the few secrets under repeats. A group keeps
//! the finding of the commit that introduced the secret, and says how many commits hold a
//! version with it and which was the last. The path is part of the key: a secret that moved to
//! another file is a new exposure, reported again there.

use std::collections::{BTreeSet, HashMap};

use crate::finding::{Finding, History, Suppressed};

/// Groups `findings` by (rule, path, secret). `order` places a commit in the history, parents
/// before children (an unknown commit, or none, comes last): each group is reported by its
/// earliest finding, with its commit count and latest commit. The result is sorted.
pub fn group_findings(findings: Vec<Finding>, order: &dyn Fn(&str) -> usize) -> Vec<Finding> {
    let mut grouped = group(findings, |f| f, order);
    grouped.sort();
    grouped
}

/// [`group_findings`] for the findings an allow mechanism silenced.
pub fn group_suppressed(
    suppressed: Vec<Suppressed>,
    order: &dyn Fn(&str) -> usize,
) -> Vec<Suppressed> {
    let mut grouped = group(suppressed, |s| &mut s.finding, order);
    grouped.sort();
    grouped
}

fn group<T>(
    items: Vec<T>,
    finding: impl Fn(&mut T) -> &mut Finding,
    order: &dyn Fn(&str) -> usize,
) -> Vec<T> {
    let rank = |f: &Finding| {
        (
            f.commit.as_deref().map_or(usize::MAX, order),
            f.line,
            f.column,
        )
    };
    struct Group<T> {
        first: T,
        first_rank: (usize, usize, usize),
        last: Option<(usize, String)>,
        commits: BTreeSet<Option<String>>,
        present_in: Option<BTreeSet<String>>,
    }
    let mut groups: Vec<Group<T>> = Vec::new();
    let mut index: HashMap<(String, String, Vec<u8>), usize> = HashMap::new();
    for mut item in items {
        let f = finding(&mut item);
        let key = (f.rule_id.clone(), f.path.clone(), f.secret.clone());
        let this_rank = rank(f);
        let commit = f.commit.clone();
        let present: Option<BTreeSet<String>> = f
            .history
            .as_ref()
            .and_then(|h| h.present_in.clone())
            .map(|names| names.into_iter().collect());
        let at = commit
            .as_ref()
            .map(|c| (this_rank.0, c.clone()))
            .filter(|(n, _)| *n != usize::MAX);
        match index.get(&key) {
            Some(&i) => {
                let group = &mut groups[i];
                group.commits.insert(commit);
                if let Some(names) = present {
                    group
                        .present_in
                        .get_or_insert_with(BTreeSet::new)
                        .extend(names);
                }
                if at.as_ref().map(|a| a.0) > group.last.as_ref().map(|l| l.0) {
                    group.last = at;
                }
                if this_rank < group.first_rank {
                    group.first = item;
                    group.first_rank = this_rank;
                }
            }
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    first: item,
                    first_rank: this_rank,
                    last: at,
                    commits: BTreeSet::from([commit]),
                    present_in: present,
                });
            }
        }
    }
    groups
        .into_iter()
        .map(|mut g| {
            let f = finding(&mut g.first);
            f.history = Some(History {
                occurrences: g.commits.len() as u64,
                last_commit: g.last.map(|(_, c)| c).or_else(|| f.commit.clone()),
                present_in: g.present_in.map(|names| names.into_iter().collect()),
            });
            g.first
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Category, Severity};

    fn finding(path: &str, line: usize, commit: &str, secret: &str) -> Finding {
        Finding {
            path: path.into(),
            line,
            column: 1,
            end_line: line,
            rule_id: "generic-password".into(),
            commit: Some(commit.into()),
            description: String::new(),
            category: Category::Credential,
            severity: Severity::High,
            secret: secret.as_bytes().to_vec(),
            fingerprint: String::new(),
            blocks: true,
            decoded: Vec::new(),
            allowed_by_change: None,
            history: None,
            excerpt: None,
        }
    }

    #[test]
    fn one_finding_per_secret_and_path_at_its_first_commit() {
        let order = |c: &str| c.trim_start_matches('c').parse().unwrap_or(usize::MAX);
        let findings = vec![
            finding("a.env", 3, "c5", "hunter22"),
            finding("a.env", 4, "c2", "hunter22"),
            finding("a.env", 4, "c9", "hunter22"),
            finding("b.env", 1, "c7", "hunter22"),
            finding("a.env", 8, "c5", "other-one"),
        ];
        let grouped = group_findings(findings, &order);
        let got: Vec<(&str, usize, &str, u64, Option<&str>)> = grouped
            .iter()
            .map(|f| {
                let h = f.history.as_ref().unwrap();
                (
                    f.path.as_str(),
                    f.line,
                    f.commit.as_deref().unwrap(),
                    h.occurrences,
                    h.last_commit.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.env", 4, "c2", 3, Some("c9")),
                ("a.env", 8, "c5", 1, Some("c5")),
                ("b.env", 1, "c7", 1, Some("c7")),
            ]
        );
    }

    #[test]
    fn two_lines_of_one_commit_count_as_one_occurrence() {
        let order = |_: &str| 0;
        let findings = vec![
            finding("a.env", 9, "c1", "hunter22"),
            finding("a.env", 2, "c1", "hunter22"),
        ];
        let grouped = group_findings(findings, &order);
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].line, 2);
        assert_eq!(grouped[0].history.as_ref().unwrap().occurrences, 1);
    }
}
