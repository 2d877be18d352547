//! Where hooks live and what a receiving repository sees: the hooks directory for `install`,
//! and for pre-receive the quarantined objects git has not yet moved into place.

use super::*;

/// Where hooks live and what a receiving repository can see: used by `install` and the
/// pre-receive hook.
impl GitRepo {
    /// The hooks directory git uses: `core.hooksPath` (relative to where hooks run: the work
    /// tree's root, or the git dir of a bare repository), else `hooks` in the common dir, which
    /// linked worktrees share and which is `.git/modules/<name>` for a submodule.
    pub fn hooks_dir(&self) -> Result<std::path::PathBuf> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(|e| git_error("core.hooksPath", e))?;
        let dir = match configured {
            Some(path) if !path.as_os_str().is_empty() => {
                let base = self.repo.workdir().unwrap_or_else(|| self.repo.git_dir());
                base.join(path)
            }
            _ => self.repo.common_dir().join("hooks"),
        };
        Ok(if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io(".", e))?
                .join(dir)
        })
    }

    /// Like [`GitRepo::discover`], and also sees the objects of a push being received. During
    /// pre-receive git keeps them in a quarantine directory named by `GIT_OBJECT_DIRECTORY`, with
    /// the repository's own store in `GIT_ALTERNATE_OBJECT_DIRECTORIES`; gix reads neither
    /// variable, so this opens the objects through an empty directory of our own (in the
    /// system's temporary directory, never in the repository) whose `info/alternates` lists
    /// them all.
    pub fn discover_receiving(dir: &Path) -> Result<GitRepo> {
        let found = Self::discover(dir)?;
        let Some(quarantine) = std::env::var_os("GIT_OBJECT_DIRECTORY").filter(|v| !v.is_empty())
        else {
            return Ok(found);
        };
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut stores = vec![cwd.join(quarantine)];
        if let Some(alternates) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
            stores.extend(
                std::env::split_paths(&alternates)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|p| cwd.join(p)),
            );
        }
        stores.push(cwd.join(found.repo.common_dir()).join("objects"));
        let overlay = ObjectsOverlay::create(&stores)?;
        let hash = found.repo.object_hash();
        let store = gix::odb::Store::at_opts(
            overlay.dir.clone(),
            hash,
            &mut std::iter::empty(),
            gix::odb::store::init::Options::default(),
        )
        .map_err(|e| git_error("objects being received", e))?;
        let mut shared = found.repo.into_sync();
        shared.objects = std::sync::Arc::new(store);
        let mut repo = shared.to_thread_local();
        repo.object_cache_size_if_unset(OBJECT_CACHE);
        Ok(GitRepo {
            repo,
            _overlay: Some(overlay),
        })
    }

    /// The commit every reference points at (tags peeled; refs to other objects left out):
    /// what a repository already holds.
    pub fn ref_tips(&self) -> Result<Vec<ObjectId>> {
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut tips = HashSet::new();
        for reference in refs.all().map_err(|e| git_error("references", e))? {
            let mut reference = reference.map_err(|e| git_error("references", &*e))?;
            let Ok(id) = reference.peel_to_id() else {
                continue;
            };
            if let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) {
                tips.insert(commit.id);
            }
        }
        let mut tips: Vec<ObjectId> = tips.into_iter().collect();
        tips.sort();
        Ok(tips)
    }
}

/// A temporary, empty object directory whose alternates are the real stores; removed on drop.
pub(super) struct ObjectsOverlay {
    pub(super) dir: std::path::PathBuf,
}

impl ObjectsOverlay {
    pub(super) fn create(stores: &[std::path::PathBuf]) -> Result<ObjectsOverlay> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "staunch-objects-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let info = dir.join("info");
        std::fs::create_dir_all(&info).map_err(|e| Error::io(&info, e))?;
        let overlay = ObjectsOverlay { dir };
        let mut list = String::new();
        for store in stores {
            list.push_str(&store.to_string_lossy());
            list.push('\n');
        }
        let file = info.join("alternates");
        std::fs::write(&file, list).map_err(|e| Error::io(&file, e))?;
        Ok(overlay)
    }
}

impl Drop for ObjectsOverlay {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
