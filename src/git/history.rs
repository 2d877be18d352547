//! The whole-history scan (`scan --all`): every pack decoded once in delta-tree order, every
//! blob checked once, and only the blobs that may hold a secret traced to the commit and path
//! that first had them.

use super::*;

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

/// What a pack entry is once its delta chain is followed to a whole object. A delta has its
/// base's kind (git never deltifies across kinds, and it could not decode if it did).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Unknown,
    /// A blob small enough to scan.
    Blob,
    /// A blob over the size limit, or a delta based on one: looked at one at a time, where its
    /// header says how large it is, so it is never decoded.
    Big,
    Tree,
    Other,
}

/// Where a pack's first entry starts, after its signature, version and object count.
const PACK_HEADER_LEN: u64 = 12;

/// Objects decoded by one traversal at most: the traversal holds about 50 bytes for each, so a
/// large pack is decoded a group of whole delta chains at a time.
const GROUP_OBJECTS: usize = 100_000;

/// A pack's objects as the history scan reads them (index positions, in pack order).
#[derive(Default)]
struct Classified {
    blobs: Vec<Vec<u32>>,
    big: Vec<u32>,
    trees: Vec<Vec<u32>>,
}

/// One pack of the object database.
struct Pack {
    index: pack::index::File,
    data: pack::data::File,
    /// Objects are numbered across the whole database: a pack object's number is `first` plus
    /// its position in the index, so a number is 4 bytes and no table of ids is needed.
    first: u32,
}

impl Pack {
    fn name(&self) -> String {
        self.data.path().display().to_string()
    }

    fn error(&self, err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        git_error(format!("pack {}", self.name()), err)
    }

    /// The index positions of this pack's blobs, big blobs and trees, each in pack order; blobs
    /// and trees split into groups of whole delta chains (see [`GROUP_OBJECTS`]).
    fn classify(&self, max_size: u64) -> Result<Classified> {
        use pack::data::entry::Header;
        let mut by_offset: Vec<(u64, u32)> = (0..self.index.num_objects())
            .map(|i| (self.index.pack_offset_at_index(i), i))
            .collect();
        by_offset.sort_unstable();
        let at = |offset: u64| by_offset.binary_search_by_key(&offset, |e| e.0).ok();
        let mut class = vec![Class::Unknown; by_offset.len()];
        // The first object of each one's delta chain, by its place in `by_offset`.
        let mut root: Vec<u32> = (0..by_offset.len() as u32).collect();
        // Deltas whose base comes later in the pack (only possible with ref-deltas): resolved
        // once everything else is known.
        let mut waiting: Vec<(usize, usize)> = Vec::new();
        for (i, &(offset, _)) in by_offset.iter().enumerate() {
            let entry = self.data.entry(offset).map_err(|e| self.error(e))?;
            let base = match entry.header {
                Header::Blob if entry.decompressed_size > max_size => {
                    class[i] = Class::Big;
                    continue;
                }
                Header::Blob => {
                    class[i] = Class::Blob;
                    continue;
                }
                Header::Tree => {
                    class[i] = Class::Tree;
                    continue;
                }
                Header::Commit | Header::Tag => {
                    class[i] = Class::Other;
                    continue;
                }
                Header::OfsDelta { base_distance } => offset
                    .checked_sub(base_distance)
                    .and_then(at)
                    .ok_or_else(|| self.error(format!("delta at {offset} has no base")))?,
                Header::RefDelta { base_id } => self
                    .index
                    .lookup(base_id)
                    .and_then(|pos| at(self.index.pack_offset_at_index(pos)))
                    .ok_or_else(|| {
                        self.error(format!(
                            "delta at {offset}: base {base_id} is not in the pack"
                        ))
                    })?,
            };
            match class[base] {
                Class::Unknown => waiting.push((i, base)),
                known => {
                    class[i] = known;
                    root[i] = root[base];
                }
            }
        }
        while !waiting.is_empty() {
            let before = waiting.len();
            waiting.retain(|&(i, base)| match class[base] {
                Class::Unknown => true,
                known => {
                    class[i] = known;
                    root[i] = root[base];
                    false
                }
            });
            if waiting.len() == before {
                return Err(self.error("delta chains form a cycle"));
            }
        }
        // A chain's group is its first object's rank among the class's chains.
        let mut out = Classified::default();
        for (wanted, groups) in [(Class::Blob, &mut out.blobs), (Class::Tree, &mut out.trees)] {
            let count = class.iter().filter(|&&c| c == wanted).count();
            let chains = (0..class.len())
                .filter(|&i| class[i] == wanted && root[i] as usize == i)
                .count();
            let parts = count.div_ceil(GROUP_OBJECTS).max(1);
            groups.resize_with(parts, Vec::new);
            let mut group_of = vec![0u32; if parts > 1 { class.len() } else { 0 }];
            if parts > 1 {
                let mut seen_chains = 0;
                for i in 0..class.len() {
                    if class[i] == wanted && root[i] as usize == i {
                        group_of[i] = (seen_chains * parts / chains) as u32;
                        seen_chains += 1;
                    }
                }
            }
            for (i, &(_, pos)) in by_offset.iter().enumerate() {
                if class[i] == wanted {
                    let group = if parts == 1 {
                        0
                    } else {
                        group_of[root[i] as usize] as usize
                    };
                    groups[group].push(pos);
                }
            }
        }
        for (i, &(_, pos)) in by_offset.iter().enumerate() {
            if class[i] == Class::Big {
                out.big.push(pos);
            }
        }
        Ok(out)
    }

    /// Decodes the objects at index positions `positions` (in pack order, closed under delta
    /// bases) once each, bases before deltas, on `threads` threads, and hands each to `visit`
    /// with its number. Memory is the delta tree (about 50 bytes an object) and the bases in
    /// flight.
    fn traverse<V>(&self, positions: Vec<u32>, threads: usize, visit: V) -> Result<()>
    where
        V: FnMut(u32, &[u8]) + Send + Clone,
    {
        if positions.is_empty() {
            return Ok(());
        }
        // gix reads the first entry without seeking to it, so the list must start with the pack's
        // first object; it is decoded too, and not visited.
        let mut positions = positions;
        let first_offset = PACK_HEADER_LEN;
        let mut extra = None;
        if self.index.pack_offset_at_index(positions[0]) != first_offset {
            let head = (0..self.index.num_objects())
                .find(|&i| self.index.pack_offset_at_index(i) == first_offset)
                .ok_or_else(|| self.error("no object at the start of the pack"))?;
            let entry = self.data.entry(first_offset).map_err(|e| self.error(e))?;
            if !entry.header.is_base() {
                return Err(self.error("the pack starts with a delta"));
            }
            positions.insert(0, head);
            extra = Some(head);
        }
        let stop = std::sync::atomic::AtomicBool::new(false);
        let hash = self.index.object_hash();
        let tree = pack::cache::delta::Tree::from_offsets_in_pack(
            self.data.path(),
            positions.into_iter(),
            &|pos| self.index.pack_offset_at_index(*pos),
            &|id| {
                self.index
                    .lookup(id)
                    .map(|pos| self.index.pack_offset_at_index(pos))
            },
            &mut gix::progress::Discard,
            &stop,
            hash,
        )
        .map_err(|e| self.error(e))?;
        let first = self.first;
        let mut visit = visit;
        tree.traverse(
            |range, data: &pack::data::File| data.entry_slice(range),
            &self.data,
            self.data.pack_end() as u64,
            move |pos: &mut u32, _, context| -> std::result::Result<(), std::convert::Infallible> {
                if Some(*pos) != extra {
                    visit(first + *pos, context.decompressed);
                }
                Ok(())
            },
            pack::cache::delta::traverse::Options {
                object_progress: Box::new(gix::progress::Discard),
                size_progress: &mut gix::progress::Discard,
                thread_limit: Some(threads),
                should_interrupt: &stop,
                object_hash: hash,
                alloc_limit_bytes: None,
            },
        )
        .map_err(|e| self.error(e))?;
        Ok(())
    }
}

/// Every pack and loose object of the repository and its alternates, numbered: a pack object is
/// its pack's `first` plus its index position, loose objects follow all packs.
struct ObjectDb {
    packs: Vec<Pack>,
    stores: Vec<gix::odb::loose::Store>,
    /// (store, id) of each loose object, numbered from `loose_first` in this order.
    loose: Vec<(usize, ObjectId)>,
    loose_first: u32,
}

impl ObjectDb {
    fn open(dirs: &[std::path::PathBuf], hash: gix::hash::Kind) -> Result<ObjectDb> {
        let mut db = ObjectDb {
            packs: Vec::new(),
            stores: Vec::new(),
            loose: Vec::new(),
            loose_first: 0,
        };
        let mut next: u32 = 0;
        for dir in dirs {
            let mut indexes: Vec<_> = match std::fs::read_dir(dir.join("pack")) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                    .collect(),
                Err(_) => Vec::new(),
            };
            indexes.sort();
            for idx in indexes {
                let index = pack::index::File::at(&idx, hash)
                    .map_err(|e| git_error(format!("pack index {}", idx.display()), e))?;
                let pack_path = idx.with_extension("pack");
                let data = pack::data::File::at(&pack_path, hash)
                    .map_err(|e| git_error(format!("pack {}", pack_path.display()), e))?;
                let count = index.num_objects();
                db.packs.push(Pack {
                    index,
                    data,
                    first: next,
                });
                next = next
                    .checked_add(count)
                    .ok_or_else(|| Error::Git("more than 4 billion objects".into()))?;
            }
            let store = gix::odb::loose::Store::at(dir.clone(), hash);
            for id in store.iter() {
                let id =
                    id.map_err(|e| git_error(format!("loose objects in {}", dir.display()), e))?;
                db.loose.push((db.stores.len(), id));
            }
            db.stores.push(store);
        }
        db.loose_first = next;
        Ok(db)
    }

    fn len(&self) -> usize {
        self.loose_first as usize + self.loose.len()
    }

    fn id(&self, number: u32) -> ObjectId {
        if number >= self.loose_first {
            return self.loose[(number - self.loose_first) as usize].1;
        }
        let pack = self
            .packs
            .iter()
            .rev()
            .find(|p| p.first <= number)
            .expect("pack numbers start at 0");
        pack.index.oid_at_index(number - pack.first).to_owned()
    }

    fn loose_header(&self, i: usize) -> Result<Option<(u64, gix::objs::Kind)>> {
        let (store, id) = &self.loose[i];
        self.stores[*store]
            .try_header(id)
            .map_err(|e| git_error(format!("object {id}"), e))
    }

    fn loose_data(&self, i: usize) -> Result<Vec<u8>> {
        let (store, id) = &self.loose[i];
        let mut buf = Vec::new();
        self.stores[*store]
            .try_find(id, &mut buf)
            .map_err(|e| git_error(format!("object {id}"), e))?
            .ok_or_else(|| Error::Git(format!("object {id}: not found")))?;
        Ok(buf)
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

/// What the trees of the object database say, gathered while they are decoded.
#[derive(Default)]
struct TreeFacts {
    /// Subtrees as records `[tree, n, subtree 1, ..., subtree n]` by object number, in chunks
    /// (one per batch a traversal thread hands over), so nothing is copied as they grow.
    chunks: Vec<Vec<u32>>,
    /// (tree, candidate blob) for every candidate a tree holds as a regular file.
    holds: Vec<(u32, u32)>,
    /// Trees that name a missing object or do not parse: an error if a commit reaches them.
    broken: Vec<(u32, String)>,
}

/// One thread's facts in the making: the records of its current chunk, the rest as in
/// [`TreeFacts`].
#[derive(Default)]
struct LocalFacts {
    records: Vec<u32>,
    holds: Vec<(u32, u32)>,
    broken: Vec<(u32, String)>,
}

/// Records per chunk handed over at once.
const CHUNK_RECORDS: usize = 1 << 16;

impl TreeFacts {
    fn take(&mut self, local: &mut LocalFacts) {
        if !local.records.is_empty() {
            let mut records = std::mem::take(&mut local.records);
            records.shrink_to_fit();
            self.chunks.push(records);
        }
        self.holds.append(&mut local.holds);
        self.broken.append(&mut local.broken);
    }
}

/// One traversal thread's facts, moved to the shared ones a chunk at a time and when it
/// finishes (the traversal clones the visitor per thread and drops the clones at the end).
struct Gather<'a> {
    local: LocalFacts,
    into: &'a std::sync::Mutex<TreeFacts>,
}

impl Gather<'_> {
    fn visit(&mut self, read: impl FnOnce(&mut LocalFacts)) {
        if self.local.records.capacity() == 0 {
            // Room for a chunk and the record that ends it, so it never doubles.
            self.local.records.reserve_exact(CHUNK_RECORDS + 1024);
        }
        read(&mut self.local);
        if self.local.records.len() >= CHUNK_RECORDS {
            self.into.lock().unwrap().take(&mut self.local);
        }
    }
}

impl Clone for Gather<'_> {
    fn clone(&self) -> Self {
        Gather {
            local: LocalFacts::default(),
            into: self.into,
        }
    }
}

impl Drop for Gather<'_> {
    fn drop(&mut self) {
        if let Ok(mut all) = self.into.lock() {
            all.take(&mut self.local);
        }
    }
}

/// The subtrees of each tree, from the records of [`TreeFacts`].
struct TreeGraph {
    chunks: Vec<Vec<u32>>,
    /// Where each object's record starts: (chunk << 32) | offset, or `u64::MAX`.
    at: Vec<u64>,
}

impl TreeGraph {
    fn new(chunks: Vec<Vec<u32>>, objects: usize) -> TreeGraph {
        let mut at = vec![u64::MAX; objects];
        for (c, chunk) in chunks.iter().enumerate() {
            let mut i = 0;
            while i < chunk.len() {
                at[chunk[i] as usize] = ((c as u64) << 32) | i as u64;
                i += 2 + chunk[i + 1] as usize;
            }
        }
        TreeGraph { chunks, at }
    }

    fn subtrees(&self, tree: u32) -> &[u32] {
        match self.at[tree as usize] {
            u64::MAX => &[],
            at => {
                let chunk = &self.chunks[(at >> 32) as usize];
                let i = (at & u64::from(u32::MAX)) as usize;
                &chunk[i + 2..i + 2 + chunk[i + 1] as usize]
            }
        }
    }
}

/// The entries of a tree object as (mode, id): the history scan needs no names, and gix's
/// parser, which builds them, was most of the cost of reading every tree of a history.
/// `None` if the tree does not parse.
fn for_each_entry(data: &[u8], hash_len: usize, mut f: impl FnMut(u32, &[u8])) -> Option<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let mut mode: u32 = 0;
        let mut i = 0;
        while i < rest.len() && rest[i] != b' ' {
            let digit = rest[i].wrapping_sub(b'0');
            if digit > 7 || i >= 7 {
                return None;
            }
            mode = mode * 8 + u32::from(digit);
            i += 1;
        }
        let name_end = i + 1 + memchr::memchr(0, rest.get(i + 1..)?)?;
        let id = rest.get(name_end + 1..name_end + 1 + hash_len)?;
        f(mode, id);
        rest = &rest[name_end + 1 + hash_len..];
    }
    Some(())
}

/// File type bits of a tree entry's mode, as git and gix read them.
const MODE_TYPE: u32 = 0o170000;
const MODE_TREE: u32 = 0o040000;
const MODE_FILE: u32 = 0o100000;

/// The blobs present, by the first 8 bytes of their ids: the question asked of every file entry of
/// every tree is only whether its blob is there, and a full table of ids would be three times
/// the size. (A missing blob passes only if its id shares 64 bits with a blob that is there.)
struct BlobPresence {
    slots: Vec<u64>,
    zero: bool,
}

impl BlobPresence {
    fn with_capacity(n: usize) -> BlobPresence {
        BlobPresence {
            slots: vec![0; (n + n / 2 + 1).next_power_of_two()],
            zero: false,
        }
    }

    fn key(id: &gix::hash::oid) -> u64 {
        let bytes = id.as_bytes();
        u64::from_le_bytes(bytes[..8].try_into().expect("ids are longer than 8 bytes"))
    }

    /// The slot holding `key`, or the empty one where it would go (ids are uniformly random,
    /// so their low bits are a good hash).
    fn slot(&self, key: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        while self.slots[i] != 0 && self.slots[i] != key {
            i = (i + 1) & mask;
        }
        i
    }

    fn insert(&mut self, id: &gix::hash::oid) {
        match Self::key(id) {
            0 => self.zero = true,
            key => {
                let i = self.slot(key);
                self.slots[i] = key;
            }
        }
    }

    fn contains(&self, id: &gix::hash::oid) -> bool {
        match Self::key(id) {
            0 => self.zero,
            key => self.slots[self.slot(key)] == key,
        }
    }
}

/// The facts one tree adds: its subtrees, the candidates it holds and what it names that is not
/// there.
fn read_tree(
    number: u32,
    data: &[u8],
    hash: gix::hash::Kind,
    trees: &gix::hashtable::HashMap<ObjectId, u32>,
    blobs: &BlobPresence,
    candidates: &gix::hashtable::HashMap<ObjectId, u32>,
    out: &mut LocalFacts,
) {
    let start = out.records.len();
    out.records.extend([number, 0]);
    let mut missing = None;
    let parsed = for_each_entry(data, hash.len_in_bytes(), |mode, id| {
        let id = gix::hash::oid::from_bytes_unchecked(id);
        match mode & MODE_TYPE {
            MODE_TREE => match trees.get(id) {
                Some(&sub) => out.records.push(sub),
                None => missing = Some(format!("tree {id}: not found")),
            },
            MODE_FILE => {
                if let Some(&candidate) = candidates.get(id) {
                    out.holds.push((number, candidate));
                } else if !blobs.contains(id) {
                    missing = Some(format!("object {id}: not found"));
                }
            }
            _ => {}
        }
    });
    match out.records.len() - start - 2 {
        // A tree without subtrees needs no record.
        0 => out.records.truncate(start),
        n => out.records[start + 1] = n as u32,
    }
    if parsed.is_none() {
        out.broken.push((number, "does not parse".to_string()));
    } else if let Some(problem) = missing {
        out.broken.push((number, problem));
    }
}

impl GitRepo {
    /// The object directories: the repository's own, then its alternates.
    fn object_dirs(&self) -> Result<Vec<std::path::PathBuf>> {
        let own = self.repo.common_dir().join("objects");
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut dirs = vec![own.clone()];
        dirs.extend(
            gix::odb::alternate::resolve(own, &cwd)
                .map_err(|e| git_error("objects/info/alternates", e))?,
        );
        Ok(dirs)
    }

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
        M: Fn(&[u8]) -> bool + Sync,
        N: Fn(&[u8]) -> bool + Sync,
    {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Mutex;
        if let Some(problem) = broken_pack(&self.repo) {
            return Err(Error::Git(problem));
        }
        let hash = self.repo.object_hash();
        let threads = rayon::current_num_threads().max(1);
        let db = ObjectDb::open(&self.object_dirs()?, hash)?;

        // Which objects are blobs and which are trees (a tree by its number: the first copy's,
        // if a tree is stored twice), sorted out on another thread while this one walks the
        // commits; both read the packs one object at a time.
        let (commits, classes) = std::thread::scope(|scope| {
            let classify = scope.spawn(|| {
                db.packs
                    .iter()
                    .map(|pack| pack.classify(max_size))
                    .collect::<Result<Vec<Classified>>>()
            });
            let commits = self.all_commits();
            let classes = classify
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (commits, classes)
        });
        let commits = commits?;
        if commits.is_empty() {
            return Ok(HistoryCandidates::default());
        }
        let mut classes = classes?;
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
        let tree_total = classes
            .iter()
            .map(|c| c.trees.iter().map(Vec::len).sum::<usize>())
            .sum::<usize>()
            + loose_trees.len();
        let mut blob_presence = BlobPresence::with_capacity(blob_total);
        let mut tree_numbers: gix::hashtable::HashMap<ObjectId, u32> =
            gix::hashtable::HashMap::with_capacity_and_hasher(tree_total, Default::default());
        for (pack, classified) in db.packs.iter().zip(&classes) {
            for &pos in classified.blobs.iter().flatten().chain(&classified.big) {
                blob_presence.insert(pack.index.oid_at_index(pos));
            }
            for &pos in classified.trees.iter().flatten() {
                tree_numbers
                    .entry(pack.index.oid_at_index(pos).to_owned())
                    .or_insert(pack.first + pos);
            }
        }
        for &(i, _) in &loose_blobs {
            blob_presence.insert(&db.loose[i].1);
        }
        for &i in &loose_trees {
            tree_numbers
                .entry(db.loose[i].1)
                .or_insert(db.loose_first + i as u32);
        }
        total.store(blob_total as u64, Ordering::Relaxed);

        // Every blob once: could it hold a secret?
        let skipped = AtomicU64::new(0);
        let found: Mutex<Vec<u32>> = Mutex::new(Vec::new());
        let judge = |number: u32, data: &[u8]| {
            let kind = content::sniff(data);
            if data.len() as u64 > max_size {
                skipped.fetch_add(1, Ordering::Relaxed);
            } else if let Kind::Archive(_) | Kind::Container(_) = kind {
                // What an archive holds is only known once it is opened: it is always placed
                // and scanned in full (`might_report` is asked only so the blob is counted).
                might_report(data);
                found.lock().unwrap().push(number);
            } else if !kind.is_text() {
                skipped.fetch_add(1, Ordering::Relaxed);
            } else if might_report(&content::decode(kind, data)) {
                found.lock().unwrap().push(number);
            }
        };
        let shared = self.repo.clone().into_sync();
        for (pack, classified) in db.packs.iter().zip(&mut classes) {
            for group in std::mem::take(&mut classified.blobs) {
                pack.traverse(group, threads, |number, data| judge(number, data))?;
            }
            // Over the size limit by their header, or deltas of such: one by one, by header.
            std::mem::take(&mut classified.big)
                .par_iter()
                .map_init(
                    || light_handle(&shared),
                    |repo, &pos| -> Result<()> {
                        let id = pack.index.oid_at_index(pos).to_owned();
                        match Self::read_blob(repo, id, max_size)? {
                            Blob::Text(data) => judge(pack.first + pos, &data),
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
                judge(db.loose_first + i as u32, &db.loose_data(i)?);
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
            skipped: skipped.into_inner() + messages.skipped.into_inner(),
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
        tree_numbers: gix::hashtable::HashMap<ObjectId, u32>,
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
                        .copied()
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
        let tree = repo
            .find_commit(commit)
            .map_err(|e| git_error(format!("commit {commit}"), e))?
            .tree()
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        Ok(recorder
            .records
            .into_iter()
            .find(|e| e.oid == blob && e.mode.is_blob())
            .map(|e| e.filepath))
    }
}

impl GitRepo {
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
