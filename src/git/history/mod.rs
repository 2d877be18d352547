//! The whole-history scan (`scan --all`): every pack decoded once in delta-tree order, every
//! blob checked once, and only the blobs that may hold a secret traced to the commit and path
//! that first had them.

use super::*;

mod delta;
mod packs;
mod trees;
use packs::*;
use trees::*;

/// A blob of the history that may hold a secret, traced to where it first appeared.
pub struct PlacedBlob {
    pub blob: ObjectId,
    /// The first commit, parents before children, whose tree holds the blob.
    pub commit: String,
    /// Where that commit added it.
    pub path: BString,
}

/// What [`GitRepo::history_candidates`] found.
#[derive(Default)]
pub struct HistoryCandidates {
    pub placed: Vec<PlacedBlob>,
    /// The messages of reachable commits that may hold a secret, ready to scan in full.
    pub messages: Vec<Fragment>,
    /// Blobs not scanned on purpose: binary, over the size limit or a Git LFS pointer. Like the
    /// blobs scanned, counted over the object database, which may hold blobs no reference
    /// reaches any more (until `git gc` prunes them). Commit messages over the size limit
    /// count here too.
    pub skipped: u64,
    /// Every reachable commit, parents before children: the order in which findings are
    /// attributed to the commit that introduced them.
    pub commits: Vec<ObjectId>,
}

/// A blob or tree that a reference points at without a commit in between (directly, or
/// through annotated tags): no commit's tree need hold it, so a history scan reads it on its
/// own.
pub struct RefTarget {
    /// The first reference (by name) that points at it.
    pub name: String,
    /// The tag object that points at it, if there is one.
    pub tag: Option<ObjectId>,
    pub id: ObjectId,
    pub is_tree: bool,
}

/// What references reach besides commits: see [`GitRepo::ref_extras`].
#[derive(Default)]
pub struct RefExtras {
    /// The message of every annotated tag a reference reaches, once each.
    pub tag_messages: Vec<Fragment>,
    /// Tag messages over the size limit, not scanned.
    pub skipped: u64,
    pub targets: Vec<RefTarget>,
}

/// What the scan's judge says of a blob: whether it may hold a secret, and whether it holds a
/// keyword of a rule that reads far past it (so a delta of it is searched for those around its
/// changes).
#[derive(Clone, Copy, Debug, Default)]
pub struct BlobJudgement {
    pub may_report: bool,
    pub reads_far: bool,
}

/// What a delta changed in the blob it builds, for a base judged clean: see
/// [`crate::matcher::Matcher::judge_changed`].
#[derive(Clone, Copy)]
pub struct Changes<'a> {
    pub ranges: &'a [std::ops::Range<usize>],
    pub base_reads_far: bool,
}

/// A set of blobs by object number (those judged clean: plain text within the size limit that
/// nothing in it may report; a delta of such a blob is judged only where it changed it).
struct BlobSet(Vec<std::sync::atomic::AtomicU64>);

impl BlobSet {
    fn new(numbers: usize) -> BlobSet {
        BlobSet(
            (0..numbers.div_ceil(64))
                .map(|_| Default::default())
                .collect(),
        )
    }

    fn insert(&self, number: u32) {
        let bit = 1u64 << (number % 64);
        self.0[number as usize / 64].fetch_or(bit, std::sync::atomic::Ordering::Relaxed);
    }

    fn contains(&self, number: u32) -> bool {
        let bit = 1u64 << (number % 64);
        self.0[number as usize / 64].load(std::sync::atomic::Ordering::Relaxed) & bit != 0
    }
}

/// Commit messages judged while the commits are read for their trees: only those that may
/// hold a secret are copied.
struct MessageCandidates<'a> {
    max_size: u64,
    might_report: &'a (dyn Fn(&[u8]) -> bool + Sync),
    found: std::sync::Mutex<Vec<Fragment>>,
    skipped: std::sync::atomic::AtomicU64,
}

impl MessageCandidates<'_> {
    fn judge(&self, commit: ObjectId, message: &[u8]) {
        if message.is_empty() {
            return;
        }
        if message.len() as u64 > self.max_size {
            self.skipped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else if (self.might_report)(message) {
            let fragment = Fragment::message(COMMIT_MESSAGE, commit.to_string(), message.to_vec());
            self.found.lock().unwrap().push(fragment);
        }
    }
}

impl GitRepo {
    /// Every blob of the history that `might_report` says yes to, with the first commit
    /// (parents before children) whose tree holds it and its path there; blobs no reference
    /// reaches are left out. `total` is set to the number of blobs `might_report` will see.
    ///
    /// Reading blobs one by one follows each one's delta chain from its start, and diffing every
    /// commit against its parent decodes the same trees over and over. Instead every pack is
    /// decoded once, bases before deltas (gix-pack's delta-tree traversal): first the blobs,
    /// each passed to `might_report`; then the trees, keeping only which trees hold which
    /// subtrees and which hold a candidate. A walk of the commits over that graph visits each
    /// tree once and places every candidate at the first commit that reaches it. Only those
    /// commits are then diffed, for the path.
    ///
    /// Each commit is read once anyway, for its tree; its message is handed to
    /// `message_might_report` there, and kept only if that says yes.
    pub fn history_candidates<M, N>(
        &self,
        max_size: u64,
        total: &std::sync::atomic::AtomicU64,
        might_report: M,
        message_might_report: N,
    ) -> Result<HistoryCandidates>
    where
        M: Fn(&[u8], Option<Changes>) -> BlobJudgement + Sync,
        N: Fn(&[u8]) -> bool + Sync,
    {
        use std::sync::atomic::AtomicU64;
        use std::sync::Mutex;
        if let Some(problem) = broken_pack(&self.repo) {
            return Err(Error::Git(problem));
        }
        let hash = self.repo.object_hash();
        let threads = rayon::current_num_threads().max(1);
        let db = ObjectDb::open(&self.object_dirs()?, hash)?;

        // Which objects are blobs and which are trees (a tree by its number: the first copy's,
        // if a tree is stored twice), sorted out on another thread while this one walks the
        // commits; both read the packs one object at a time. In a small repository the blob
        // pass runs during the walk too: the walk is then a tenth of the scan (33 ms of
        // ripgrep's). In a large one it does not, as the walk's tables would add to the blob
        // pass's peak memory (132 MB against 113 on git/git).
        let objects = db
            .packs
            .iter()
            .map(|p| p.index.num_objects() as usize)
            .sum::<usize>()
            + db.loose.len();
        let shared = self.repo.clone().into_sync();
        let classify = || -> Result<Vec<Classified>> {
            db.packs
                .iter()
                .map(|pack| pack.classify(max_size))
                .collect()
        };
        let judge = |classes| judge_blobs(&db, &shared, classes, max_size, total, &might_report);
        let (commits, pass) = if objects <= overlap_walk_below() {
            let counted = total.load(std::sync::atomic::Ordering::Relaxed);
            let (commits, pass) = self.beside_the_walk(|| classify().and_then(judge));
            if commits.as_ref().is_ok_and(Vec::is_empty) {
                // No commit holds these blobs: none of their bytes was scanned for a report.
                total.store(counted, std::sync::atomic::Ordering::Relaxed);
            }
            (commits, pass)
        } else {
            let (commits, classes) = self.beside_the_walk(classify);
            let commits = commits?;
            if commits.is_empty() {
                return Ok(HistoryCandidates::default());
            }
            (Ok(commits), classes.and_then(judge))
        };
        let commits = commits?;
        if commits.is_empty() {
            return Ok(HistoryCandidates::default());
        }
        let BlobPass {
            mut classes,
            loose_trees,
            blob_presence,
            tree_numbers,
            candidates,
            skipped,
        } = pass?;
        let candidate_index: gix::hashtable::HashMap<ObjectId, u32> = candidates
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();

        // Every tree once: its subtrees and the candidates it holds.
        let facts = Mutex::new(TreeFacts::default());
        let read = |number: u32, data: &[u8], out: &mut LocalFacts| {
            read_tree(
                number,
                data,
                hash,
                &tree_numbers,
                &blob_presence,
                &candidate_index,
                out,
            )
        };
        for (pack, classified) in db.packs.iter().zip(&mut classes) {
            for group in std::mem::take(&mut classified.trees) {
                let mut gather = Gather {
                    local: LocalFacts::default(),
                    into: &facts,
                };
                pack.traverse(group, threads, move |number, data| {
                    gather.visit(|local| read(number, data, local))
                })?;
            }
        }
        let mut gather = Gather {
            local: LocalFacts::default(),
            into: &facts,
        };
        for &i in &loose_trees {
            let data = db.loose_data(i)?;
            gather.visit(|local| read(db.loose_first + i as u32, &data, local));
        }
        drop(gather);
        drop(classes);
        let facts = facts.into_inner().unwrap();
        drop(blob_presence);
        let messages = MessageCandidates {
            max_size,
            might_report: &message_might_report,
            found: Mutex::new(Vec::new()),
            skipped: AtomicU64::new(0),
        };
        let placed = self
            .place(&db, &commits, tree_numbers, facts, &messages)?
            .into_iter()
            .map(|(candidate, index)| (candidates[candidate as usize], index))
            .collect();
        let placed = self.paths(&commits, placed)?;
        Ok(HistoryCandidates {
            placed,
            messages: messages.found.into_inner().unwrap(),
            skipped: skipped + messages.skipped.into_inner(),
            commits,
        })
    }

    /// Walks the commits in order over the tree graph, each tree once, and gives each candidate
    /// the first commit that reaches it: (blob, index into `commits`). Fails if a commit reaches
    /// a tree that names a missing object.
    fn place(
        &self,
        db: &ObjectDb,
        commits: &[ObjectId],
        tree_numbers: TreeNumbers<'_>,
        facts: TreeFacts,
        messages: &MessageCandidates<'_>,
    ) -> Result<Vec<(u32, usize)>> {
        use rayon::prelude::*;
        let shared = self.repo.clone().into_sync();
        let roots: Vec<u32> = commits
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, &id| {
                    let commit = repo
                        .find_commit(id)
                        .map_err(|e| git_error(format!("commit {id}"), e))?;
                    messages.judge(id, commit.message_raw_sloppy());
                    let tree = commit
                        .tree_id()
                        .map_err(|e| git_error(format!("commit {id}"), e))?
                        .detach();
                    tree_numbers
                        .get(&tree)
                        .ok_or_else(|| Error::Git(format!("commit {id}: tree {tree}: not found")))
                },
            )
            .collect::<Result<_>>()?;
        drop(tree_numbers);
        let TreeFacts {
            chunks,
            mut holds,
            broken,
        } = facts;
        let graph = TreeGraph::new(chunks, db.len());
        holds.sort_unstable();
        holds.dedup();
        let broken: HashMap<u32, String> = broken.into_iter().collect();
        let mut seen = vec![false; db.len()];
        let mut first: HashMap<u32, usize> = HashMap::new();
        let mut stack = Vec::new();
        for (index, &root) in roots.iter().enumerate() {
            stack.push(root);
            while let Some(tree) = stack.pop() {
                if std::mem::replace(&mut seen[tree as usize], true) {
                    continue;
                }
                if let Some(problem) = broken.get(&tree) {
                    return Err(Error::Git(format!(
                        "commit {}: tree {}: {problem}",
                        commits[index],
                        db.id(tree)
                    )));
                }
                let start = holds.partition_point(|e| e.0 < tree);
                for &(_, blob) in holds[start..].iter().take_while(|e| e.0 == tree) {
                    first.entry(blob).or_insert(index);
                }
                stack.extend_from_slice(graph.subtrees(tree));
            }
        }
        let mut placed: Vec<(u32, usize)> = first.into_iter().collect();
        placed.sort_unstable_by_key(|&(candidate, index)| (index, candidate));
        Ok(placed)
    }

    /// The path each placed blob has where its commit adds it: the first change of the commit's
    /// diff against its first parent that adds it, as a diff of every commit would find.
    fn paths(
        &self,
        commits: &[ObjectId],
        placed: Vec<(ObjectId, usize)>,
    ) -> Result<Vec<PlacedBlob>> {
        use rayon::prelude::*;
        let mut by_commit: Vec<(usize, Vec<ObjectId>)> = Vec::new();
        for (blob, index) in placed {
            match by_commit.last_mut() {
                Some((last, blobs)) if *last == index => blobs.push(blob),
                _ => by_commit.push((index, vec![blob])),
            }
        }
        let shared = self.repo.clone().into_sync();
        let found: Vec<Result<Vec<PlacedBlob>>> = by_commit
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, (index, blobs)| {
                    let commit = commits[*index];
                    let changes = Self::commit_changes(repo, commit)?;
                    let mut out = Vec::new();
                    for blob in blobs {
                        let path = match changes.iter().find(|c| c.new == *blob) {
                            Some(change) => change.path.clone(),
                            None => match Self::first_path(repo, commit, *blob)? {
                                Some(path) => path,
                                None => continue,
                            },
                        };
                        out.push(PlacedBlob {
                            blob: *blob,
                            commit: commit.to_string(),
                            path,
                        });
                    }
                    Ok(out)
                },
            )
            .collect();
        let mut out = Vec::new();
        for part in found {
            out.extend(part?);
        }
        Ok(out)
    }

    /// The first path (breadth first) at which `commit`'s tree holds `blob` as a regular file.
    fn first_path(
        repo: &gix::Repository,
        commit: ObjectId,
        blob: ObjectId,
    ) -> Result<Option<BString>> {
        Ok(commit_files(repo, commit)?
            .into_iter()
            .find(|e| e.oid == blob && e.mode.is_blob())
            .map(|e| e.filepath))
    }

    /// What references reach besides commits: every annotated tag's message (tags of tags
    /// followed, each tag once), and the blobs and trees a reference points at with no commit
    /// in between, each once. `scan --all` scans both; commits are its main walk's.
    pub fn ref_extras(&self, max_size: u64) -> Result<RefExtras> {
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut direct: Vec<(String, ObjectId)> = Vec::new();
        for reference in refs.all().map_err(|e| git_error("references", e))? {
            let reference = reference.map_err(|e| git_error("references", &*e))?;
            // A symbolic reference names another reference, which is listed too.
            if let Some(id) = reference.try_id() {
                direct.push((reference.name().as_bstr().to_string(), id.detach()));
            }
        }
        direct.sort();
        let mut out = RefExtras::default();
        let mut messages = GitFragments::default();
        let mut seen_tags = HashSet::new();
        let mut seen_targets = HashSet::new();
        for (name, id) in direct {
            let (tags, target, kind) = self.peel_tags(id).map_err(|e| match e {
                Error::Git(message) => Error::Git(format!("{name}: {message}")),
                other => other,
            })?;
            let innermost = tags.last().map(|t| t.id);
            for tag in tags {
                if seen_tags.insert(tag.id) {
                    messages.push_message(TAG_MESSAGE, &tag.id.to_string(), &tag.message, max_size);
                }
            }
            let is_tree = match kind {
                gix::objs::Kind::Blob => false,
                gix::objs::Kind::Tree => true,
                _ => continue,
            };
            if seen_targets.insert(target) {
                out.targets.push(RefTarget {
                    name,
                    tag: innermost,
                    id: target,
                    is_tree,
                });
            }
        }
        out.tag_messages = messages.fragments;
        // In a history scan, content over the size limit is skipped, as blobs are.
        out.skipped = messages.unscannable.len() as u64;
        Ok(out)
    }

    /// Calls `scan` with each blob a [`RefTarget`] holds (itself, or every file of its tree at
    /// any depth) whose id `skip` does not reject, each blob once over all calls (`seen`).
    /// A blob is reported at the reference's name (`refs/tags/key`), a tree's file at the name
    /// and its path in the tree (`refs/tags/snapshot:config/app.env`), as git spells them.
    pub fn for_each_target_blob<S, F>(
        &self,
        target: &RefTarget,
        max_size: u64,
        seen: &mut HashSet<ObjectId>,
        skip: S,
        mut scan: F,
    ) -> Result<()>
    where
        S: Fn(&ObjectId) -> bool,
        F: FnMut(Fragment),
    {
        let files: Vec<(String, ObjectId)> = if target.is_tree {
            let mut files: Vec<(String, ObjectId)> = self
                .tree_files(target.id)?
                .into_iter()
                .map(|(path, id)| (format!("{}:{}", target.name, path.to_str_lossy()), id))
                .collect();
            files.sort();
            files
        } else {
            vec![(target.name.clone(), target.id)]
        };
        for (path, id) in files {
            if skip(&id) || !seen.insert(id) {
                continue;
            }
            if let Blob::Text(data) = Self::read_blob(&self.repo, id, max_size)? {
                scan(Fragment {
                    path,
                    data,
                    commit: target.tag.map(|t| t.to_string()),
                    line_numbers: None,
                    is_message: false,
                });
            }
        }
        Ok(())
    }
}

impl GitRepo {
    /// Scans history blobs with `scan`, in parallel, reading each blob once.
    pub fn for_each_blob<F>(&self, blobs: &[PlacedBlob], max_size: u64, scan: F) -> Result<u64>
    where
        F: Fn(Fragment) + Sync,
    {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        let shared = self.repo.clone().into_sync();
        let skipped = AtomicU64::new(0);
        blobs
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, placed| -> Result<()> {
                    match Self::read_blob(repo, placed.blob, max_size)? {
                        Blob::Text(data) => scan(Fragment {
                            path: placed.path.to_str_lossy().into_owned(),
                            data,
                            commit: Some(placed.commit.clone()),
                            line_numbers: None,
                            is_message: false,
                        }),
                        Blob::Skipped | Blob::TooLarge(_) => {
                            skipped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                },
            )
            .collect::<Result<Vec<()>>>()?;
        Ok(skipped.into_inner())
    }
}

impl GitRepo {
    /// Every commit (see [`GitRepo::all_commits`]), and what `work` returns, run on another
    /// thread during the walk.
    fn beside_the_walk<T: Send>(
        &self,
        work: impl FnOnce() -> T + Send,
    ) -> (Result<Vec<ObjectId>>, T) {
        std::thread::scope(|scope| {
            let other = scope.spawn(work);
            let commits = self.all_commits();
            let done = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (commits, done)
        })
    }
}

/// Up to this many objects, the blob pass runs during the commit walk (see
/// [`GitRepo::history_candidates`]): a repository this small has a walk whose tables are a few
/// megabytes.
const OVERLAP_WALK_BELOW: usize = 200_000;

/// [`OVERLAP_WALK_BELOW`], or `STAUNCH_OVERLAP_WALK_BELOW` from the environment: the tests'
/// repositories are all small, and this lets one of them take the large repositories' path.
fn overlap_walk_below() -> usize {
    std::env::var("STAUNCH_OVERLAP_WALK_BELOW")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(OVERLAP_WALK_BELOW)
}

/// What the blob pass leaves for the tree pass.
struct BlobPass<'db> {
    classes: Vec<Classified>,
    loose_trees: Vec<usize>,
    blob_presence: BlobPresence,
    tree_numbers: TreeNumbers<'db>,
    /// The blobs that may hold a secret, sorted.
    candidates: Vec<ObjectId>,
    skipped: u64,
}

/// Every blob of `db` once: could it hold a secret? See [`GitRepo::history_candidates`].
fn judge_blobs<'db, M>(
    db: &'db ObjectDb,
    shared: &gix::ThreadSafeRepository,
    mut classes: Vec<Classified>,
    max_size: u64,
    total: &std::sync::atomic::AtomicU64,
    might_report: &M,
) -> Result<BlobPass<'db>>
where
    M: Fn(&[u8], Option<Changes>) -> BlobJudgement + Sync,
{
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    let threads = rayon::current_num_threads().max(1);
    let mut loose_blobs = Vec::new();
    let mut loose_trees = Vec::new();
    for i in 0..db.loose.len() {
        match db.loose_header(i)? {
            Some((size, gix::objs::Kind::Blob)) => loose_blobs.push((i, size)),
            Some((_, gix::objs::Kind::Tree)) => loose_trees.push(i),
            _ => {}
        }
    }
    let blob_total = classes
        .iter()
        .map(|c| c.blobs.iter().map(Vec::len).sum::<usize>() + c.big.len())
        .sum::<usize>()
        + loose_blobs.len();
    let mut blob_presence = BlobPresence::with_capacity(blob_total);
    let tree_total = classes
        .iter()
        .map(|c| c.trees.iter().map(Vec::len).sum::<usize>())
        .sum::<usize>()
        + loose_trees.len();
    let mut tree_numbers = TreeNumbers::with_capacity(db, tree_total);
    for (pack, classified) in db.packs.iter().zip(&classes) {
        for &pos in classified.blobs.iter().flatten().chain(&classified.big) {
            blob_presence.insert(pack.index.oid_at_index(pos));
        }
        for &pos in classified.trees.iter().flatten() {
            tree_numbers.insert(pack.index.oid_at_index(pos), pack.first + pos);
        }
    }
    for &(i, _) in &loose_blobs {
        blob_presence.insert(&db.loose[i].1);
    }
    for &i in &loose_trees {
        tree_numbers.insert(&db.loose[i].1, db.loose_first + i as u32);
    }
    total.store(blob_total as u64, Ordering::Relaxed);

    // Every blob once: could it hold a secret? A delta of a blob judged clean is judged
    // only where it changed its base (see `might_report`), since the rest was judged there.
    let skipped = AtomicU64::new(0);
    let found: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    let clean = BlobSet::new(db.loose_first as usize + db.loose.len());
    let reads_far = BlobSet::new(db.loose_first as usize + db.loose.len());
    let judge = |number: u32, data: &[u8], changes: Option<Changes>| {
        let kind = content::sniff(data);
        if data.len() as u64 > max_size {
            skipped.fetch_add(1, Ordering::Relaxed);
        } else if let Kind::Archive(_) | Kind::Container(_) = kind {
            // What an archive holds is only known once it is opened: it is always placed
            // and scanned in full (`might_report` is asked only so the blob is counted).
            might_report(data, None);
            found.lock().unwrap().push(number);
        } else if !kind.is_text() {
            skipped.fetch_add(1, Ordering::Relaxed);
        } else if kind == Kind::Text {
            let judged = might_report(data, changes);
            if judged.may_report {
                found.lock().unwrap().push(number);
            } else {
                clean.insert(number);
                if judged.reads_far {
                    reads_far.insert(number);
                }
            }
        } else if might_report(&content::decode(kind, data), None).may_report {
            found.lock().unwrap().push(number);
        }
    };
    for (pack, classified) in db.packs.iter().zip(&mut classes) {
        let bases = std::mem::take(&mut classified.blob_bases);
        let (clean, reads_far, judge, bases) = (&clean, &reads_far, &judge, &bases);
        for group in std::mem::take(&mut classified.blobs) {
            let mut reader = DeltaReader::default();
            pack.traverse(group, threads, move |number, data| {
                let base = bases[(number - pack.first) as usize];
                let changed = (base != NO_BASE && clean.contains(pack.first + base))
                    .then(|| pack.delta_changes(number - pack.first, data.len(), &mut reader))
                    .flatten();
                let changes = changed.as_deref().map(|ranges| Changes {
                    ranges,
                    base_reads_far: reads_far.contains(pack.first + base),
                });
                judge(number, data, changes)
            })?;
        }
        // Over the size limit by their header, or deltas of such: one by one, by header.
        std::mem::take(&mut classified.big)
            .par_iter()
            .map_init(
                || light_handle(shared),
                |repo, &pos| -> Result<()> {
                    let id = pack.index.oid_at_index(pos).to_owned();
                    match GitRepo::read_blob(repo, id, max_size)? {
                        Blob::Text(data) => judge(pack.first + pos, &data, None),
                        Blob::Skipped | Blob::TooLarge(_) => {
                            skipped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                },
            )
            .collect::<Result<Vec<()>>>()?;
    }
    for &(i, size) in &loose_blobs {
        if size > max_size {
            skipped.fetch_add(1, Ordering::Relaxed);
        } else {
            judge(db.loose_first + i as u32, &db.loose_data(i)?, None);
        }
    }
    let mut candidates: Vec<ObjectId> = found
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|n| db.id(n))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    Ok(BlobPass {
        classes,
        loose_trees,
        blob_presence,
        tree_numbers,
        candidates,
        skipped: skipped.into_inner(),
    })
}
