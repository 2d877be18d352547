//! Naming and walking commits: revision specs, ranges, a branch's own commits, the order
//! parents-first, and reading a file as a commit has it.

use super::*;

impl GitRepo {
    /// Path → blob id of every regular file in a tree.
    pub(super) fn tree_files(&self, tree_id: ObjectId) -> Result<HashMap<BString, ObjectId>> {
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|e| git_error(format!("tree {tree_id}"), e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| git_error(format!("tree {tree_id}"), e))?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob())
            .map(|e| (e.filepath, e.oid))
            .collect())
    }

    /// Resolves a revision (branch, tag, id, `HEAD~2`) to a commit id, peeling tags.
    pub fn resolve_commit(&self, spec: &str) -> Result<ObjectId> {
        let id = self.repo.rev_parse_single(spec).map_err(|e| {
            if let Some(why) = self.missing_ancestor(spec) {
                return Error::Usage(why);
            }
            with_broken_pack(&self.repo, git_error(format!("revision {spec:?}"), e))
        })?;
        let object = id
            .object()
            .map_err(|e| git_error(format!("revision {spec:?}"), e))?;
        let commit = object
            .peel_to_commit()
            .map_err(|e| git_error(format!("revision {spec:?} is not a commit"), e))?;
        Ok(commit.id)
    }

    /// Why `spec` names nothing when it asks for more first-parent ancestors than there are
    /// (`HEAD~1` in a repository of one commit, where gix only says the spec is malformed), or
    /// for a commit of a branch that has none yet.
    pub(super) fn missing_ancestor(&self, spec: &str) -> Option<String> {
        let mut base = spec;
        let mut steps = 0usize;
        loop {
            if let Some((rest, n)) = base.rsplit_once('~') {
                if n.bytes().all(|b| b.is_ascii_digit()) {
                    steps += if n.is_empty() { 1 } else { n.parse().ok()? };
                    base = rest;
                    continue;
                }
            }
            match base.strip_suffix('^').or_else(|| base.strip_suffix("^1")) {
                Some(rest) => {
                    steps += 1;
                    base = rest;
                }
                None => break,
            }
        }
        let head_unborn = self.repo.head().is_ok_and(|head| head.is_unborn());
        if head_unborn && (base.is_empty() || base == "HEAD") {
            return Some(format!(
                "revision {spec:?}: the repository has no commit yet, so there is nothing to \
                 scan in a range; `staunch scan --staged` scans what the first commit would add"
            ));
        }
        if steps == 0 || base.is_empty() {
            return None;
        }
        let mut commit = self
            .repo
            .rev_parse_single(base)
            .ok()?
            .object()
            .ok()?
            .peel_to_commit()
            .ok()?;
        let mut available = 0usize;
        while available < steps {
            let Some(parent) = commit.parent_ids().next() else {
                break;
            };
            commit = parent.object().ok()?.peel_to_commit().ok()?;
            available += 1;
        }
        if available == steps {
            return None;
        }
        let before = match available {
            0 => format!("{base} has no parent: it is the first commit of its history"),
            1 => format!("{base} has only 1 commit before it"),
            n => format!("{base} has only {n} commits before it"),
        };
        Some(format!(
            "revision {spec:?} does not exist: {before}. To scan every commit up to {base}, \
             use `staunch scan --all` (the whole history) or a range from an older commit"
        ))
    }

    /// Resolves a revision to the object it names, tags not peeled: a pushed annotated tag's
    /// own id, whose message is scanned.
    pub fn resolve(&self, spec: &str) -> Result<ObjectId> {
        let id = self.repo.rev_parse_single(spec).map_err(|e| {
            with_broken_pack(&self.repo, git_error(format!("revision {spec:?}"), e))
        })?;
        Ok(id.detach())
    }

    /// Commits reachable from `tips` but not from `hidden`, newest first.
    pub fn commits_between(&self, tips: &[ObjectId], hidden: &[ObjectId]) -> Result<Vec<ObjectId>> {
        let walk = self
            .repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden.iter().copied())
            .all()
            .map_err(|e| git_error("walking commits", e))?;
        let mut commits = Vec::new();
        for info in walk {
            commits.push(info.map_err(|e| git_error("walking commits", e))?.id);
        }
        Ok(commits)
    }

    /// `A..B`: the base commit A and the commits in B not in A. `A...B` (what a pull request
    /// shows) takes the merge base of A and B as the base instead: the commits are the same,
    /// but the allow state is read from where the branch left A, not from A's newer commits.
    pub fn range(&self, spec: &str) -> Result<(ObjectId, Vec<ObjectId>)> {
        let usage = || Error::Usage(format!("--range wants A..B or A...B, got {spec:?}"));
        let (from, to, merge_base) = match spec.split_once("...") {
            Some((from, to)) => (from, to, true),
            None => {
                let (from, to) = spec.split_once("..").ok_or_else(usage)?;
                (from, to, false)
            }
        };
        if to.starts_with('.') {
            return Err(usage());
        }
        let to = self.resolve_commit(if to.is_empty() { "HEAD" } else { to })?;
        let from = self.resolve_commit(if from.is_empty() { "HEAD" } else { from })?;
        let base = if merge_base {
            self.repo
                .merge_base(from, to)
                .map_err(|e| git_error(format!("merge base of {spec:?}"), e))?
                .detach()
        } else {
            from
        };
        Ok((base, self.commits_between(&[to], &[from])?))
    }

    /// `0000…..B`, what CI is given for a branch pushed for the first time: the branch's own
    /// commits, those no other branch or remote-tracking branch reaches (a ref whose history
    /// holds B, such as B's own branch and its remote-tracking copy, hides nothing). The base
    /// is the commit the branch left, a parent of its oldest own commit that another ref holds;
    /// `None` when no other ref holds any of B's history, and then every commit of B is scanned.
    pub fn own_commits(&self, to: &str) -> Result<(Option<ObjectId>, Vec<ObjectId>)> {
        let to = self.resolve_commit(if to.is_empty() { "HEAD" } else { to })?;
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut hidden = Vec::new();
        for prefix in ["refs/heads/", "refs/remotes/"] {
            for reference in refs
                .prefixed(prefix)
                .map_err(|e| git_error("references", e))?
            {
                let mut reference = reference.map_err(|e| git_error("references", e))?;
                let Ok(id) = reference.peel_to_id() else {
                    continue;
                };
                let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) else {
                    continue;
                };
                let holds_to = commit.id == to
                    || self
                        .repo
                        .merge_base(commit.id, to)
                        .is_ok_and(|base| base.detach() == to);
                if !holds_to && !hidden.contains(&commit.id) {
                    hidden.push(commit.id);
                }
            }
        }
        let commits = self.commits_between(&[to], &hidden)?;
        let own: std::collections::HashSet<ObjectId> = commits.iter().copied().collect();
        let mut base = None;
        for id in self.parents_first(&commits)? {
            let commit = self
                .repo
                .find_commit(id)
                .map_err(|e| git_error(format!("commit {id}"), e))?;
            let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
            if let Some(parent) = parents.into_iter().find(|p| !own.contains(p)) {
                base = Some(parent);
                break;
            }
        }
        Ok((base, commits))
    }

    /// Tips of remote-tracking branches (of `remote`, or of every remote): what the other side
    /// already has.
    pub fn remote_tips(&self, remote: Option<&str>) -> Result<Vec<ObjectId>> {
        let prefix = match remote {
            Some(name) => format!("refs/remotes/{name}/"),
            None => "refs/remotes/".to_string(),
        };
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut tips = Vec::new();
        for reference in refs
            .prefixed(prefix.as_str())
            .map_err(|e| git_error("references", e))?
        {
            let mut reference = reference.map_err(|e| git_error("references", e))?;
            if let Ok(id) = reference.peel_to_id() {
                if let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) {
                    tips.push(commit.id);
                }
            }
        }
        Ok(tips)
    }

    /// The commit HEAD points at, or `None` while HEAD is unborn (a repository with no commit
    /// yet): the state the agent hook trusts.
    pub fn head_commit(&self) -> Result<Option<ObjectId>> {
        let head = self.repo.head().map_err(|e| git_error("HEAD", e))?;
        if head.is_unborn() {
            return Ok(None);
        }
        let commit = self.repo.head_commit().map_err(|e| git_error("HEAD", e))?;
        Ok(Some(commit.id))
    }

    /// The id and mode of what a commit's tree holds at `path`, or `None` when nothing is there.
    pub(super) fn entry_at(
        &self,
        commit: ObjectId,
        path: &Path,
    ) -> Result<Option<(ObjectId, gix::object::tree::EntryMode)>> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        let tree = commit.tree().map_err(|e| git_error("tree", e))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| git_error(format!("{} in {}", path.display(), commit.id), e))?;
        Ok(entry.map(|entry| (entry.oid().to_owned(), entry.mode())))
    }

    /// A file's text in a commit's tree (decoded, see [`content::decode`]), or `None` when the
    /// path is not a text file there or the blob is larger than `max_size` (read from its
    /// header, so it is never loaded).
    pub fn file_at(&self, commit: ObjectId, path: &Path, max_size: u64) -> Result<Option<Vec<u8>>> {
        let Some((id, mode)) = self.entry_at(commit, path)? else {
            return Ok(None);
        };
        if !mode.is_blob() {
            return Ok(None);
        }
        match Self::read_blob(&self.repo, id, max_size)? {
            Blob::Text(data) => match content::sniff(&data) {
                Kind::Archive(_) | Kind::Container(_) => Ok(None),
                kind => Ok(Some(content::decode_owned(kind, data))),
            },
            Blob::Skipped | Blob::TooLarge(_) => Ok(None),
        }
    }

    /// A file's content in a commit's tree (for reading config from a trusted commit), or
    /// `None` when the path is not there.
    pub fn read_file_at(&self, commit: ObjectId, path: &Path) -> Result<Option<Vec<u8>>> {
        let Some((id, _)) = self.entry_at(commit, path)? else {
            return Ok(None);
        };
        // Configuration is small; a huge blob under that name is refused, not loaded.
        const MAX_CONFIG: u64 = 4 * 1024 * 1024;
        let header = self
            .repo
            .find_header(id)
            .map_err(|e| git_error(format!("{}", path.display()), e))?;
        if header.size() > MAX_CONFIG {
            return Err(git_error(
                format!("{} in {commit}", path.display()),
                format!(
                    "{} bytes is too large for a configuration file",
                    header.size()
                ),
            ));
        }
        let object = self
            .repo
            .find_object(id)
            .map_err(|e| git_error(format!("{}", path.display()), e))?;
        Ok(Some(object.data.clone()))
    }

    pub fn has_object(&self, id: ObjectId) -> bool {
        self.repo.has_object(id)
    }

    pub fn parse_id(&self, hex: &str) -> Result<ObjectId> {
        ObjectId::from_hex(hex.as_bytes()).map_err(|e| git_error(format!("object id {hex:?}"), e))
    }

    /// Every commit reachable from any reference (branches, tags, remotes, stash), tags peeled.
    pub fn all_commits(&self) -> Result<Vec<ObjectId>> {
        let mut tips: HashSet<ObjectId> = self.ref_tips()?.into_iter().collect();
        if let Ok(head) = self.repo.head_id() {
            tips.insert(head.detach());
        }
        let tips: Vec<ObjectId> = tips.into_iter().collect();
        if tips.is_empty() {
            return Ok(Vec::new());
        }
        let walk = self
            .repo
            .rev_walk(tips)
            .all()
            .map_err(|e| git_error("walking commits", e))?;
        let mut graph = Vec::new();
        for info in walk {
            let info = info.map_err(|e| git_error("walking commits", e))?;
            graph.push((info.id, info.parent_ids.to_vec()));
        }
        Ok(parents_first(graph))
    }

    /// `commits` ordered parents before children (the walks list children first).
    pub fn parents_first(&self, commits: &[ObjectId]) -> Result<Vec<ObjectId>> {
        let graph = commits
            .iter()
            .map(|&id| {
                let commit = self
                    .repo
                    .find_commit(id)
                    .map_err(|e| git_error(format!("commit {id}"), e))?;
                Ok((id, commit.parent_ids().map(|p| p.detach()).collect()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parents_first(graph))
    }
}

/// Orders commits so every parent comes before its children (Kahn's algorithm; ties broken by
/// id so the order, and so the reported introducing commit, is reproducible).
pub(super) fn parents_first(graph: Vec<(ObjectId, Vec<ObjectId>)>) -> Vec<ObjectId> {
    let index: HashMap<ObjectId, usize> = graph
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); graph.len()];
    let mut waiting: Vec<usize> = vec![0; graph.len()];
    for (i, (_, parents)) in graph.iter().enumerate() {
        for parent in parents {
            if let Some(&p) = index.get(parent) {
                children[p].push(i);
                waiting[i] += 1;
            }
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<(ObjectId, usize)>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, &w)| w == 0)
        .map(|(i, _)| std::cmp::Reverse((graph[i].0, i)))
        .collect();
    let mut order = Vec::with_capacity(graph.len());
    while let Some(std::cmp::Reverse((id, i))) = ready.pop() {
        order.push(id);
        for &child in &children[i] {
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.push(std::cmp::Reverse((graph[child].0, child)));
            }
        }
    }
    order
}

/// Every entry of `commit`'s tree, breadth first, with its full path: what a history finding is
/// traced through when the commit's own changes do not name the blob.
pub(super) fn commit_files(
    repo: &gix::Repository,
    commit: ObjectId,
) -> Result<Vec<gix::traverse::tree::recorder::Entry>> {
    let tree = repo
        .find_commit(commit)
        .map_err(|e| git_error(format!("commit {commit}"), e))?
        .tree()
        .map_err(|e| git_error(format!("commit {commit}"), e))?;
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut recorder)
        .map_err(|e| git_error(format!("commit {commit}"), e))?;
    Ok(recorder.records)
}
