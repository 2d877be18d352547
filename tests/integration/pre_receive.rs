//! The server-side hook: `hooks/pre-receive` installed in a real bare repository, and real
//! `git push`es to it over a local path. The pushed objects are in git's quarantine directory
//! while the hook runs, so every finding asserted here proves staunch read them there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::*;

/// A bare "server" repository with staunch's pre-receive hook, and a client pushing to it.
struct Server {
    client: TestRepo,
    _dir: tempfile::TempDir,
    bare: PathBuf,
}

impl Server {
    fn new() -> Server {
        let client = TestRepo::git_init();
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("server.git");
        client.git(&["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
        client.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        Server {
            client,
            _dir: dir,
            bare,
        }
    }

    fn install_hook(&self) {
        let hook = self.bare.join("hooks/pre-receive");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/pre-receive"),
            &hook,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `git push` from the client; the server's hook finds the binary through STAUNCH_BIN.
    fn push(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("git");
        cmd.arg("push").args(args).current_dir(self.client.path());
        self.client.env(&mut cmd);
        cmd.env("STAUNCH_BIN", staunch_bin());
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    /// Runs git in the server repository.
    fn server_git(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(&self.bare).args(args);
        self.client.env(&mut cmd);
        cmd.output().unwrap()
    }

    fn server_ref(&self, name: &str) -> Option<String> {
        let out = self.server_git(&["rev-parse", "--verify", "-q", name]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn commit(&self, rel: &str, content: &str) -> String {
        self.client.write(rel, content);
        self.client.add(rel);
        self.client.commit(rel)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_rejected_for(out: &Output, place: &str) {
    let all = text(out);
    assert!(!out.status.success(), "push accepted: {all}");
    assert!(all.contains("pre-receive hook declined"), "{all}");
    assert!(all.contains(place), "{place} not named: {all}");
    assert!(all.contains("aws-access-key-id"), "no rule: {all}");
    assert!(all.contains("push rejected"), "{all}");
    assert!(
        !all.contains(&fake_aws_key()),
        "secret shown to the pusher: {all}"
    );
}

fn assert_accepted(out: &Output) {
    assert!(out.status.success(), "push rejected: {}", text(out));
}

#[test]
fn a_push_with_a_secret_is_rejected_and_a_clean_one_accepted() {
    let server = Server::new();
    server.install_hook();
    let base = server.commit("app.py", "print('hello')\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    assert_eq!(server.server_ref("main").as_deref(), Some(base.as_str()));

    let leak = server.commit("config/prod.env", &format!("AWS_KEY={}\n", fake_aws_key()));
    let out = server.push(&["origin", "main"], &[]);
    assert_rejected_for(&out, "config/prod.env:1");
    assert!(text(&out).contains("AKIA****"), "{}", text(&out));
    assert_eq!(server.server_ref("main").as_deref(), Some(base.as_str()));
    // the quarantined objects were thrown away
    assert!(!server
        .server_git(&["cat-file", "-e", &leak])
        .status
        .success());

    // removing the secret in a later commit does not help: it is in the pushed history
    server.client.git(&["rm", "-q", "config/prod.env"]);
    server.client.commit("remove it");
    assert_rejected_for(&server.push(&["origin", "main"], &[]), "config/prod.env:1");

    // rewritten without it, the push goes through
    server.client.git(&["reset", "-q", "--hard", &base]);
    let clean = server.commit("app.py", "print('hello, world')\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    assert_eq!(server.server_ref("main").as_deref(), Some(clean.as_str()));
}

#[test]
fn new_branches_tags_deletions_and_several_refs_at_once() {
    let server = Server::new();
    server.install_hook();
    let base = server.commit("a.txt", "a\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));

    // a new branch carrying a secret
    server.client.git(&["checkout", "-q", "-b", "feature"]);
    let leak = server.commit("notes.md", &format!("key: {}\n", fake_aws_key()));
    assert_rejected_for(&server.push(&["origin", "feature"], &[]), "notes.md:1");
    assert_eq!(server.server_ref("feature"), None);

    // a new branch at a commit the server has: nothing new, accepted
    assert_accepted(&server.push(&["-q", "origin", &format!("{base}:refs/heads/copy")], &[]));

    // an annotated tag on the secret commit brings it too
    server.client.git(&["tag", "-a", "-m", "v1", "v1", &leak]);
    assert_rejected_for(&server.push(&["origin", "v1"], &[]), "notes.md:1");

    // several refs in one push: one bad ref rejects the push
    server.client.git(&["checkout", "-q", "main"]);
    server.commit("b.txt", "b\n");
    let out = server.push(&["origin", "main", "feature"], &[]);
    assert_rejected_for(&out, "notes.md:1");
    assert_eq!(server.server_ref("main").as_deref(), Some(base.as_str()));

    // deleting a branch brings nothing
    assert_accepted(&server.push(&["-q", "origin", "--delete", "copy"], &[]));
    assert_eq!(server.server_ref("copy"), None);
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
}

#[test]
fn what_the_server_already_has_is_not_scanned_again() {
    let server = Server::new();
    // accepted before the hook existed
    server.commit("old.env", &format!("AWS={}\n", fake_aws_key()));
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    server.install_hook();
    server.commit("a.txt", "a\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    // a new branch whose only new commit is clean, on top of the old history
    server.client.git(&["checkout", "-q", "-b", "topic"]);
    server.commit("b.txt", "b\n");
    assert_accepted(&server.push(&["-q", "origin", "topic"], &[]));
}

#[test]
fn packs_kept_in_quarantine_are_read() {
    let server = Server::new();
    server.install_hook();
    server.commit("a.txt", "a\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    // receive.unpackLimit 1: the push stays a pack instead of loose objects
    assert!(server
        .server_git(&["config", "receive.unpackLimit", "1"])
        .status
        .success());
    server.commit(
        "deep/dir/creds.json",
        &format!("{{\"key\": \"{}\"}}\n", fake_aws_key()),
    );
    assert_rejected_for(
        &server.push(&["origin", "main"], &[]),
        "deep/dir/creds.json:1",
    );
    server.client.git(&["reset", "-q", "--hard", "HEAD~1"]);
    server.commit("c.txt", "c\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
}

#[test]
fn no_binary_on_the_server_rejects_every_push() {
    let server = Server::new();
    server.install_hook();
    server.commit("a.txt", "a\n");
    let path: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|dir| !dir.join("staunch").exists())
        .collect();
    let path = std::env::join_paths(path).unwrap();
    let out = server.push(
        &["origin", "main"],
        &[
            ("STAUNCH_BIN", "/nonexistent/staunch"),
            ("PATH", path.to_str().unwrap()),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("secret scan is not available"),
        "{}",
        text(&out)
    );
    assert_eq!(server.server_ref("main"), None);
}

#[test]
fn the_server_keeps_an_audit_log_and_ignores_staunch_skip() {
    let server = Server::new();
    server.install_hook();
    let log = server.client.home().join("server-audit.jsonl");
    server.commit("k.txt", &format!("k = {}\n", fake_aws_key()));
    let out = server.push(
        &["origin", "main"],
        &[
            ("STAUNCH_AUDIT_LOG", log.to_str().unwrap()),
            ("STAUNCH_SKIP", "1"),
            ("GL_USERNAME", "alice"),
        ],
    );
    assert_rejected_for(&out, "k.txt:1");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1]["component"], "hook.pre-receive");
    assert_eq!(lines[1]["result"], "blocked");
    assert_eq!(lines[1]["metadata"]["pusher"], "alice");
    assert_eq!(lines[1]["metadata"]["locations"][0]["path"], "k.txt");
}

#[test]
fn a_marker_the_push_adds_to_its_own_line_does_not_get_the_secret_in() {
    let server = Server::new();
    server.install_hook();
    server.commit("app.py", "print('hello')\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    server.commit(
        "config/prod.env",
        &format!("AWS_KEY={} # staunch:allow\n", fake_aws_key()),
    );
    let out = server.push(&["origin", "main"], &[]);
    assert_rejected_for(&out, "config/prod.env:1");
    // The server's own policy may choose to trust such markers.
    std::fs::write(
        server.bare.join(".staunch.toml"),
        "[policy]\nhonour_inline_allows_in_range = true\n",
    )
    .unwrap();
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
}

#[test]
fn commit_and_tag_messages_are_scanned() {
    let server = Server::new();
    server.install_hook();
    let base = server.commit("a.txt", "a\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));

    // A commit whose only secret is in its message.
    server.client.write("a.txt", "b\n");
    server.client.add("a.txt");
    let leak = server
        .client
        .commit(&format!("rotate\n\nold key was {}\n", fake_aws_key()));
    let out = server.push(&["origin", "main"], &[]);
    assert_rejected_for(&out, "<commit message>:3");
    assert!(text(&out).contains(&leak), "{}", text(&out));
    server.client.git(&["reset", "-q", "--hard", &base]);

    // An annotated tag on a commit the server already has: only its message is new.
    let message = format!("v1\n\ndeploy with {}\n", fake_aws_key());
    server
        .client
        .git(&["tag", "-a", "v1", "-m", &message, &base]);
    let tag = server.client.git(&["rev-parse", "v1"]).trim().to_string();
    let out = server.push(&["origin", "v1"], &[]);
    assert_rejected_for(&out, "<tag message>:3");
    assert!(text(&out).contains(&tag), "{}", text(&out));
    assert_eq!(server.server_ref("refs/tags/v1"), None);

    // A clean tag message goes through.
    server
        .client
        .git(&["tag", "-a", "v2", "-m", "release 2", &base]);
    assert_accepted(&server.push(&["-q", "origin", "v2"], &[]));
}

#[test]
fn a_blob_too_large_to_scan_rejects_the_push_naming_it() {
    let server = Server::new();
    server.install_hook();
    std::fs::write(
        server.bare.join(".staunch.toml"),
        "[scan]\nmax_file_size = 1000\n",
    )
    .unwrap();
    server.commit("a.txt", "a\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));

    // Over max_file_size: its added lines are still scanned.
    let filler = "x,y,z\n".repeat(500);
    server.commit("data.csv", &format!("{filler}key,{}\n", fake_aws_key()));
    assert_rejected_for(&server.push(&["origin", "main"], &[]), "data.csv:501");
    server.client.git(&["reset", "-q", "--hard", "HEAD~1"]);

    // Over 10 x max_file_size: it cannot be scanned, and the push is rejected naming it.
    let leak = server.commit("dump.sql", &"insert into t values (1);\n".repeat(500));
    let out = server.push(&["origin", "main"], &[]);
    let all = text(&out);
    assert!(!out.status.success(), "push accepted: {all}");
    assert!(
        all.contains(&format!("not scanned: dump.sql in commit {leak}")),
        "{all}"
    );
    assert!(all.contains("push rejected"), "{all}");
    assert!(all.contains("could not be scanned"), "{all}");

    // The server's policy can let it through, named.
    std::fs::write(
        server.bare.join(".staunch.toml"),
        "[scan]\nmax_file_size = 1000\n[policy]\nfail_on_unscannable = false\n",
    )
    .unwrap();
    let out = server.push(&["origin", "main"], &[]);
    assert_accepted(&out);
    assert!(
        text(&out).contains("warning: not scanned"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("dump.sql"), "{}", text(&out));
}

#[test]
fn a_pushed_archive_is_opened_on_the_server() {
    use std::io::Write;
    let server = Server::new();
    server.install_hook();
    server.commit("README", "hello\n");
    assert_accepted(&server.push(&["-q", "origin", "main"], &[]));
    let mut jar = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    jar.start_file(
        "BOOT-INF/classes/application.properties",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    writeln!(jar, "aws.key={}", fake_aws_key()).unwrap();
    server
        .client
        .write("lib/app.jar", jar.finish().unwrap().into_inner());
    server.client.add("lib/app.jar");
    server.client.commit("add the jar");
    assert_rejected_for(
        &server.push(&["origin", "main"], &[]),
        "lib/app.jar!BOOT-INF/classes/application.properties:1",
    );
}
