//! Reading packs for the history scan: each pack decoded once in delta-tree order, its objects
//! classified by kind and size, loose objects alongside.

use super::*;

/// What a pack entry is once its delta chain is followed to a whole object. A delta has its
/// base's kind (git never deltifies across kinds, and it could not decode if it did).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Class {
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
pub(super) const PACK_HEADER_LEN: u64 = 12;

/// Objects decoded by one traversal at most: the traversal holds about 50 bytes for each, so a
/// large pack is decoded a group of whole delta chains at a time.
pub(super) const GROUP_OBJECTS: usize = 100_000;

/// A pack's objects as the history scan reads them (index positions, in pack order).
#[derive(Default)]
pub(super) struct Classified {
    pub(super) blobs: Vec<Vec<u32>>,
    /// For each index position, the index position of its delta base if it is a blob delta
    /// ([`NO_BASE`] otherwise): a delta of a blob judged clean is judged where it changed.
    pub(super) blob_bases: Vec<u32>,
    pub(super) big: Vec<u32>,
    pub(super) trees: Vec<Vec<u32>>,
}

/// In [`Classified::blob_bases`]: not a blob delta.
pub(super) const NO_BASE: u32 = u32::MAX;

/// One pack of the object database.
pub(super) struct Pack {
    pub(super) index: pack::index::File,
    pub(super) data: pack::data::File,
    /// Objects are numbered across the whole database: a pack object's number is `first` plus
    /// its position in the index, so a number is 4 bytes and no table of ids is needed.
    pub(super) first: u32,
}

impl Pack {
    pub(super) fn name(&self) -> String {
        self.data.path().display().to_string()
    }

    pub(super) fn error(&self, err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        git_error(format!("pack {}", self.name()), err)
    }

    /// The index positions of this pack's blobs, big blobs and trees, each in pack order; blobs
    /// and trees split into groups of whole delta chains (see [`GROUP_OBJECTS`]).
    pub(super) fn classify(&self, max_size: u64) -> Result<Classified> {
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
        let mut bases = vec![NO_BASE; by_offset.len()];
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
            bases[i] = base as u32;
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
        out.blob_bases = vec![NO_BASE; by_offset.len()];
        for (i, &(_, pos)) in by_offset.iter().enumerate() {
            if class[i] == Class::Big {
                out.big.push(pos);
            }
            if class[i] == Class::Blob && bases[i] != NO_BASE {
                out.blob_bases[pos as usize] = by_offset[bases[i] as usize].1;
            }
        }
        Ok(out)
    }

    /// What the delta at index position `pos` changes in the `len` bytes it builds (see
    /// [`delta::changed_ranges`]), or `None` if it is no delta or does not read as one.
    pub(super) fn delta_changes(
        &self,
        pos: u32,
        len: usize,
        reader: &mut DeltaReader,
    ) -> Option<Vec<std::ops::Range<usize>>> {
        let entry = self.data.entry(self.index.pack_offset_at_index(pos)).ok()?;
        if entry.header.is_base() {
            return None;
        }
        // A delta spends at most 8 bytes an op, and each op builds a byte at least.
        let size = usize::try_from(entry.decompressed_size).ok()?;
        if size > len.saturating_mul(8).saturating_add(64) {
            return None;
        }
        reader.delta.resize(size, 0);
        self.data
            .decompress_entry(&entry, &mut reader.inflate, &mut reader.delta)
            .ok()?;
        delta::changed_ranges(&reader.delta, len)
    }

    /// Decodes the objects at index positions `positions` (in pack order, closed under delta
    /// bases) once each, bases before deltas, on `threads` threads, and hands each to `visit`
    /// with its number. Memory is the delta tree (about 50 bytes an object) and the bases in
    /// flight.
    pub(super) fn traverse<V>(&self, positions: Vec<u32>, threads: usize, visit: V) -> Result<()>
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

/// One thread's buffers for reading deltas again (see [`Pack::delta_changes`]); a clone starts
/// empty, so each traversal thread has its own.
#[derive(Default)]
pub(super) struct DeltaReader {
    inflate: gix::zlib::Inflate,
    delta: Vec<u8>,
}

impl Clone for DeltaReader {
    fn clone(&self) -> Self {
        DeltaReader::default()
    }
}

/// Every pack and loose object of the repository and its alternates, numbered: a pack object is
/// its pack's `first` plus its index position, loose objects follow all packs.
pub(super) struct ObjectDb {
    pub(super) packs: Vec<Pack>,
    pub(super) stores: Vec<gix::odb::loose::Store>,
    /// (store, id) of each loose object, numbered from `loose_first` in this order.
    pub(super) loose: Vec<(usize, ObjectId)>,
    pub(super) loose_first: u32,
}

impl ObjectDb {
    pub(super) fn open(dirs: &[std::path::PathBuf], hash: gix::hash::Kind) -> Result<ObjectDb> {
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

    pub(super) fn len(&self) -> usize {
        self.loose_first as usize + self.loose.len()
    }

    pub(super) fn id(&self, number: u32) -> ObjectId {
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

    pub(super) fn loose_header(&self, i: usize) -> Result<Option<(u64, gix::objs::Kind)>> {
        let (store, id) = &self.loose[i];
        self.stores[*store]
            .try_header(id)
            .map_err(|e| git_error(format!("object {id}"), e))
    }

    pub(super) fn loose_data(&self, i: usize) -> Result<Vec<u8>> {
        let (store, id) = &self.loose[i];
        let mut buf = Vec::new();
        self.stores[*store]
            .try_find(id, &mut buf)
            .map_err(|e| git_error(format!("object {id}"), e))?
            .ok_or_else(|| Error::Git(format!("object {id}: not found")))?;
        Ok(buf)
    }
}

impl GitRepo {
    /// The object directories: the repository's own, then its alternates.
    pub(super) fn object_dirs(&self) -> Result<Vec<std::path::PathBuf>> {
        let own = self.repo.common_dir().join("objects");
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut dirs = vec![own.clone()];
        dirs.extend(
            gix::odb::alternate::resolve(own, &cwd)
                .map_err(|e| git_error("objects/info/alternates", e))?,
        );
        Ok(dirs)
    }
}
