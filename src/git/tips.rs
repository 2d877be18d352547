//! What the branch tips still hold: a history finding is reported with the branches whose tip
//! still has its secret, and a secret whose blob moved to another path is found at that path
//! too (the history scan reads each blob once, at the first path it had).

use super::*;

/// A first-parent walk looking for where a blob arrived at a path stops after this many
/// commits and names the oldest one it reached: past that, the exact commit matters less than
/// finishing.
const MAX_WALK: usize = 10_000;

/// One branch, local or remote-tracking, by its short name (`main`, `origin/next`).
pub struct BranchTip {
    pub name: String,
    pub commit: ObjectId,
}

impl GitRepo {
    /// Every local and remote-tracking branch that points at a commit (symbolic refs such as
    /// `origin/HEAD` left out), sorted by name; a detached HEAD with no branch at all is `HEAD`.
    pub fn branch_tips(&self) -> Result<Vec<BranchTip>> {
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut tips = Vec::new();
        for prefix in ["refs/heads/", "refs/remotes/"] {
            for reference in refs
                .prefixed(prefix)
                .map_err(|e| git_error("references", e))?
            {
                let mut reference = reference.map_err(|e| git_error("references", &*e))?;
                if matches!(reference.target(), gix::refs::TargetRef::Symbolic(_)) {
                    continue;
                }
                let name = reference.name().shorten().to_string();
                let Ok(id) = reference.peel_to_id() else {
                    continue;
                };
                if let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) {
                    tips.push(BranchTip {
                        name,
                        commit: commit.id,
                    });
                }
            }
        }
        if tips.is_empty() {
            if let Some(commit) = self.head_commit()? {
                tips.push(BranchTip {
                    name: "HEAD".into(),
                    commit,
                });
            }
        }
        tips.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tips)
    }

    /// The regular files of `commit`'s tree whose blob is one of `wanted`, as (path, blob).
    pub fn files_holding(
        &self,
        commit: ObjectId,
        wanted: &HashSet<ObjectId>,
    ) -> Result<Vec<(BString, ObjectId)>> {
        Ok(commit_files(&self.repo, commit)?
            .into_iter()
            .filter(|e| e.mode.is_blob() && wanted.contains(&e.oid))
            .map(|e| (e.filepath, e.oid))
            .collect())
    }

    /// The commit where `blob` arrived at `path`, seen from `tip` (which holds it there): going
    /// back through the first parent that still holds it there, the oldest such commit. A merge
    /// that brought it from a side branch leads into that branch, to the commit that wrote it.
    pub fn arrived_at(&self, tip: ObjectId, path: &BString, blob: ObjectId) -> Result<ObjectId> {
        let path = gix::path::from_bstr(path.as_bstr());
        let mut current = tip;
        'walk: for _ in 0..MAX_WALK {
            let commit = self
                .repo
                .find_commit(current)
                .map_err(|e| git_error(format!("commit {current}"), e))?;
            let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
            for parent in parents {
                if let Some((id, mode)) = self.entry_at(parent, &path)? {
                    if id == blob && mode.is_blob() {
                        current = parent;
                        continue 'walk;
                    }
                }
            }
            break;
        }
        Ok(current)
    }
}
