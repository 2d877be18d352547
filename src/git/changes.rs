//! What a commit changed: the blobs it added or modified against its first parent, turned into
//! fragments with their added lines, and the messages of commits and annotated tags.

use super::*;

impl GitRepo {
    /// The blobs a commit adds or changes against its first parent (the empty tree for a root
    /// commit, or when a shallow clone lacks the parent).
    pub(super) fn commit_changes(repo: &gix::Repository, id: ObjectId) -> Result<Vec<BlobChange>> {
        let commit = repo
            .find_commit(id)
            .map_err(|e| git_error(format!("commit {id}"), e))?;
        Self::changes_of(repo, &commit)
    }

    /// [`GitRepo::commit_changes`] of a commit already read.
    pub(super) fn changes_of(
        repo: &gix::Repository,
        commit: &gix::Commit<'_>,
    ) -> Result<Vec<BlobChange>> {
        let id = commit.id;
        let tree_id = commit
            .tree_id()
            .map_err(|e| git_error(format!("commit {id}"), e))?
            .detach();
        let parent_tree = match commit.parent_ids().next() {
            Some(parent) if repo.has_object(parent) => Some(
                repo.find_commit(parent)
                    .map(|p| p.tree_id())
                    .map_err(|e| git_error(format!("commit {parent}"), e))?
                    .map_err(|e| git_error(format!("commit {parent}"), e))?
                    .detach(),
            ),
            _ => None,
        };
        let new_tree = repo
            .find_tree(tree_id)
            .map_err(|e| git_error(format!("tree {tree_id}"), e))?;
        let old_data = match parent_tree {
            Some(tid) => repo
                .find_tree(tid)
                .map_err(|e| git_error(format!("tree {tid}"), e))?
                .data
                .clone(),
            None => Vec::new(),
        };
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old_data, repo.object_hash()),
            gix::objs::TreeRefIter::from_bytes(&new_tree.data, repo.object_hash()),
            &mut gix::diff::tree::State::default(),
            &repo.objects,
            &mut recorder,
        )
        .map_err(|e| git_error(format!("diffing commit {id}"), e))?;
        use gix::diff::tree::recorder::Change;
        let mut changes = Vec::new();
        for change in recorder.records {
            match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob() => changes.push(BlobChange {
                    path,
                    old: None,
                    new: oid,
                }),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } if entry_mode.is_blob() => {
                    let old = previous_entry_mode.is_blob().then_some(previous_oid);
                    changes.push(BlobChange {
                        path,
                        old,
                        new: oid,
                    })
                }
                _ => {}
            }
        }
        Ok(changes)
    }

    /// Added lines and message of every commit in `commits`, each fragment naming its commit.
    /// Commits are diffed in parallel, each thread with its own repository handle; the message
    /// comes from the same read of the commit as its tree.
    pub fn commit_fragments(
        &self,
        commits: &[ObjectId],
        max_size: u64,
        read: &std::sync::atomic::AtomicU64,
    ) -> Result<GitFragments> {
        use rayon::prelude::*;
        let shared = self.repo.clone().into_sync();
        let parts: Vec<Result<GitFragments>> = commits
            .par_iter()
            .map_init(
                || thread_handle(&shared),
                |repo, &id| {
                    let mut out = GitFragments::default();
                    let hex = id.to_string();
                    let commit = repo
                        .find_commit(id)
                        .map_err(|e| git_error(format!("commit {id}"), e))?;
                    out.push_message(COMMIT_MESSAGE, &hex, commit.message_raw_sloppy(), max_size);
                    for change in Self::changes_of(repo, &commit)? {
                        Self::push_change(repo, change, Some(&hex), max_size, &mut out)?;
                    }
                    read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok(out)
                },
            )
            .collect();
        let mut out = GitFragments::default();
        for part in parts {
            out.absorb(part?);
        }
        Ok(out)
    }

    /// The annotated tags `id` names, outermost first (a tag can point at a tag), and the id and
    /// kind of the object the last one points at; `id` itself when it is no tag.
    pub fn peel_tags(&self, id: ObjectId) -> Result<(Vec<TagObject>, ObjectId, gix::objs::Kind)> {
        let mut tags = Vec::new();
        let mut at = id;
        loop {
            let object = self
                .repo
                .find_object(at)
                .map_err(|e| with_broken_pack(&self.repo, git_error(format!("object {at}"), e)))?;
            if object.kind != gix::objs::Kind::Tag {
                return Ok((tags, at, object.kind));
            }
            let tag = object
                .try_to_tag_ref()
                .map_err(|e| git_error(format!("tag {at}"), e))?;
            let target =
                ObjectId::from_hex(tag.target).map_err(|e| git_error(format!("tag {at}"), e))?;
            tags.push(TagObject {
                id: at,
                message: tag.message.to_vec(),
            });
            at = target;
        }
    }

    /// The messages of the annotated tags `tips` name (tags of tags followed), each under its
    /// tag's id. A tip that is no tag adds nothing.
    pub fn tag_messages(&self, tips: &[ObjectId], max_size: u64) -> Result<GitFragments> {
        let mut out = GitFragments::default();
        let mut seen = HashSet::new();
        for &tip in tips {
            for tag in self.peel_tags(tip)?.0 {
                if seen.insert(tag.id) {
                    out.push_message(TAG_MESSAGE, &tag.id.to_string(), &tag.message, max_size);
                }
            }
        }
        Ok(out)
    }
}

/// What the index adds or changes against HEAD. A path new to the index whose content left
/// another path (a rename) adds nothing if the content is the same, and only its changes if a
/// file of the same name went away.
pub(super) fn changes_between(
    head: &HashMap<BString, ObjectId>,
    staged: &HashMap<BString, ObjectId>,
) -> Vec<BlobChange> {
    let removed: Vec<(&BString, &ObjectId)> = head
        .iter()
        .filter(|(path, _)| !staged.contains_key(*path))
        .collect();
    let removed_ids: HashSet<&ObjectId> = removed.iter().map(|(_, id)| *id).collect();
    let mut changes = Vec::new();
    for (path, id) in staged {
        match head.get(path) {
            Some(old) if old == id => {}
            Some(old) => changes.push(BlobChange {
                path: path.clone(),
                old: Some(*old),
                new: *id,
            }),
            None if removed_ids.contains(id) => {}
            None => {
                let name = file_name(path);
                let source = removed
                    .iter()
                    .find(|(p, _)| file_name(p) == name)
                    .map(|(_, id)| **id);
                changes.push(BlobChange {
                    path: path.clone(),
                    old: source,
                    new: *id,
                });
            }
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

pub(super) fn file_name(path: &BString) -> &[u8] {
    path.rsplit_str("/").next().unwrap_or(path.as_slice())
}
