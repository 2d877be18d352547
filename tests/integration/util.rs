//! Test helpers: a temporary directory or git repository and a way to run the real binary in it.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn staunch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_staunch"))
}

/// A temporary directory that may become a git repository, with an isolated git environment
/// (no system or global config, fixed identity and dates).
pub struct TestRepo {
    pub dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl TestRepo {
    /// A plain temporary directory.
    pub fn dir() -> TestRepo {
        TestRepo {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// A new git repository with an unborn `main` branch.
    pub fn git_init() -> TestRepo {
        let repo = TestRepo::dir();
        repo.git(&["init", "-q", "-b", "main", "."]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The environment every command in a test runs with.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.path().join("gitconfig"))
            .env("HOME", self.home.path())
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@test.invalid")
            .env("GIT_COMMITTER_NAME", "Test Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@test.invalid")
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
            .env("NO_COLOR", "1")
            .env_remove("STAUNCH_SKIP");
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs git in the repository and panics with its output if it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(self.path());
        self.env(&mut cmd);
        let out = cmd.output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs git with `input` on its standard input and panics with its output if it fails.
    pub fn git_with_input(&self, args: &[&str], input: &[u8]) -> String {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(self.path());
        self.env(&mut cmd);
        let out = run_with_stdin(cmd, Some(input));
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Writes a blob into the object database only (no file, no index) and returns its id.
    pub fn write_blob(&self, content: &str) -> String {
        self.git_with_input(&["hash-object", "-w", "--stdin"], content.as_bytes())
    }

    /// Writes a tree of `(name, id)` entries (blobs as regular files, trees as directories)
    /// and returns its id. Names are passed NUL-terminated, so any byte but `/` and NUL goes.
    pub fn make_tree(&self, entries: &[(&str, &str)]) -> String {
        let mut input = Vec::new();
        for (name, id) in entries {
            let kind = self.git(&["cat-file", "-t", id]);
            let mode = if kind.trim() == "tree" {
                "040000 tree"
            } else {
                "100644 blob"
            };
            input.extend_from_slice(format!("{mode} {id}\t{name}\0").as_bytes());
        }
        self.git_with_input(&["mktree", "-z"], &input)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
    }

    pub fn add(&self, rel: &str) {
        self.git(&["add", "--", rel]);
    }

    pub fn commit(&self, message: &str) -> String {
        self.git(&["commit", "-q", "--no-verify", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Writes one file, stages it and commits: the step most history tests repeat. Returns the
    /// commit id.
    pub fn commit_file(&self, rel: &str, content: impl AsRef<[u8]>, message: &str) -> String {
        self.write(rel, content);
        self.add(rel);
        self.commit(message)
    }

    /// A `staunch` command that runs in the repository.
    pub fn staunch(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(staunch_bin());
        cmd.args(args).current_dir(self.path());
        self.env(&mut cmd);
        cmd
    }

    /// Runs `staunch` with `args` (and `stdin` if given) and returns its output.
    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        run_with_stdin(self.staunch(args), stdin)
    }

    /// Runs `staunch ... --format json` and parses the report.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.run(&all, None);
        let code = out.status.code().unwrap_or(-1);
        let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, doc)
    }
}

pub fn run_with_stdin(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("staunch runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        // Write from a thread so a large input cannot deadlock against a full stdout pipe.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    child.wait_with_output().unwrap()
}

/// (rule_id, path, line) of every finding in a JSON report.
pub fn findings(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A fake AWS access key id, built at run time so this file holds no secret-shaped literal.
pub fn fake_aws_key() -> String {
    format!("AKIA{}", "QX7TZ4MB2WLRN5PD")
}

/// A fake GitHub classic token with a valid checksum, built at run time.
pub fn fake_github_token() -> String {
    let random = "Zq8LmT3vXw9RkP2nB7cY4hJ6dF1sGa";
    format!("ghp_{random}{}", base62_crc32(random.as_bytes()))
}

/// The 6-character base62 CRC-32 a classic GitHub token ends with.
pub fn base62_crc32(body: &[u8]) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast_hash(body);
    let mut sum = [b'0'; 6];
    for slot in sum.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(sum.to_vec()).unwrap()
}

/// CRC-32 (IEEE), written out so the tests need no extra crate.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
