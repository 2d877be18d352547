//! Walking trees for the history scan: which blobs each tree holds, gathered per thread in
//! chunks, and a compact set of blob ids for presence tests.

use super::*;

/// What the trees of the object database say, gathered while they are decoded.
#[derive(Default)]
pub(super) struct TreeFacts {
    /// Subtrees as records `[tree, n, subtree 1, ..., subtree n]` by object number, in chunks
    /// (one per batch a traversal thread hands over), so nothing is copied as they grow.
    pub(super) chunks: Vec<Vec<u32>>,
    /// (tree, candidate blob) for every candidate a tree holds as a regular file.
    pub(super) holds: Vec<(u32, u32)>,
    /// Trees that name a missing object or do not parse: an error if a commit reaches them.
    pub(super) broken: Vec<(u32, String)>,
}

/// One thread's facts in the making: the records of its current chunk, the rest as in
/// [`TreeFacts`].
#[derive(Default)]
pub(super) struct LocalFacts {
    pub(super) records: Vec<u32>,
    pub(super) holds: Vec<(u32, u32)>,
    pub(super) broken: Vec<(u32, String)>,
}

/// Records per chunk handed over at once.
pub(super) const CHUNK_RECORDS: usize = 1 << 16;

impl TreeFacts {
    pub(super) fn take(&mut self, local: &mut LocalFacts) {
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
pub(super) struct Gather<'a> {
    pub(super) local: LocalFacts,
    pub(super) into: &'a std::sync::Mutex<TreeFacts>,
}

impl Gather<'_> {
    pub(super) fn visit(&mut self, read: impl FnOnce(&mut LocalFacts)) {
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
pub(super) struct TreeGraph {
    pub(super) chunks: Vec<Vec<u32>>,
    /// Where each object's record starts: (chunk << 32) | offset, or `u64::MAX`.
    pub(super) at: Vec<u64>,
}

impl TreeGraph {
    pub(super) fn new(chunks: Vec<Vec<u32>>, objects: usize) -> TreeGraph {
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

    pub(super) fn subtrees(&self, tree: u32) -> &[u32] {
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
pub(super) fn for_each_entry(
    data: &[u8],
    hash_len: usize,
    mut f: impl FnMut(u32, &[u8]),
) -> Option<()> {
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
pub(super) const MODE_TYPE: u32 = 0o170000;
pub(super) const MODE_TREE: u32 = 0o040000;
pub(super) const MODE_FILE: u32 = 0o100000;

/// The object number of each tree, by id. A map of every tree id would be one of the largest
/// things a history scan holds (about 13 MB for git/git's 380 000 trees), so the table holds
/// numbers only: a slot is a tree's number and 4 more bytes of its id, placed by the id's first
/// 8 bytes, and a match is confirmed against the id the object database gives for the number
/// (from the pack index, which is memory-mapped). 8 bytes a slot, exact answers.
pub(super) struct TreeNumbers<'a> {
    db: &'a ObjectDb,
    /// 0 for an empty slot, else `tag << 32 | (number + 1)`.
    slots: Vec<u64>,
}

impl<'a> TreeNumbers<'a> {
    pub(super) fn with_capacity(db: &'a ObjectDb, n: usize) -> TreeNumbers<'a> {
        TreeNumbers {
            db,
            slots: vec![0; (n + n / 2 + 1).next_power_of_two()],
        }
    }

    fn home_and_tag(id: &gix::hash::oid) -> (usize, u32) {
        let bytes = id.as_bytes();
        let home = u64::from_le_bytes(bytes[..8].try_into().expect("ids are longer than 12 bytes"));
        let tag = u32::from_le_bytes(
            bytes[8..12]
                .try_into()
                .expect("ids are longer than 12 bytes"),
        );
        (home as usize, tag)
    }

    /// The slot that holds `id`, or the empty one where it would go. Ids are uniformly random,
    /// so their low bits are a good hash.
    fn slot(&self, id: &gix::hash::oid) -> usize {
        let mask = self.slots.len() - 1;
        let (home, tag) = Self::home_and_tag(id);
        let mut i = home & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return i;
            }
            if (slot >> 32) as u32 == tag && self.db.id((slot as u32) - 1).as_ref() == id {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Records tree `id` as object `number`; a tree several packs hold keeps its first number.
    pub(super) fn insert(&mut self, id: &gix::hash::oid, number: u32) {
        let i = self.slot(id);
        if self.slots[i] == 0 {
            let (_, tag) = Self::home_and_tag(id);
            self.slots[i] = (u64::from(tag) << 32) | u64::from(number + 1);
        }
    }

    pub(super) fn get(&self, id: &gix::hash::oid) -> Option<u32> {
        match self.slots[self.slot(id)] {
            0 => None,
            slot => Some((slot as u32) - 1),
        }
    }
}

/// The blobs present, by the first 8 bytes of their ids: the question asked of every file entry of
/// every tree is only whether its blob is there, and a full table of ids would be three times
/// the size. (A missing blob passes only if its id shares 64 bits with a blob that is there.)
pub(super) struct BlobPresence {
    pub(super) slots: Vec<u64>,
    pub(super) zero: bool,
}

impl BlobPresence {
    pub(super) fn with_capacity(n: usize) -> BlobPresence {
        BlobPresence {
            slots: vec![0; (n + n / 2 + 1).next_power_of_two()],
            zero: false,
        }
    }

    pub(super) fn key(id: &gix::hash::oid) -> u64 {
        let bytes = id.as_bytes();
        u64::from_le_bytes(bytes[..8].try_into().expect("ids are longer than 8 bytes"))
    }

    /// The slot holding `key`, or the empty one where it would go (ids are uniformly random,
    /// so their low bits are a good hash).
    pub(super) fn slot(&self, key: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        while self.slots[i] != 0 && self.slots[i] != key {
            i = (i + 1) & mask;
        }
        i
    }

    pub(super) fn insert(&mut self, id: &gix::hash::oid) {
        match Self::key(id) {
            0 => self.zero = true,
            key => {
                let i = self.slot(key);
                self.slots[i] = key;
            }
        }
    }

    pub(super) fn contains(&self, id: &gix::hash::oid) -> bool {
        match Self::key(id) {
            0 => self.zero,
            key => self.slots[self.slot(key)] == key,
        }
    }
}

/// The facts one tree adds: its subtrees, the candidates it holds and what it names that is not
/// there.
pub(super) fn read_tree(
    number: u32,
    data: &[u8],
    hash: gix::hash::Kind,
    trees: &TreeNumbers<'_>,
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
                Some(sub) => out.records.push(sub),
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
