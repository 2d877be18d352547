//! What a change can do to its own scan: in `scan --range A..B` every allow mechanism comes from
//! the base commit A.

use crate::util::*;

fn allowed_by(doc: &serde_json::Value, key: &str) -> u64 {
    doc["stats"]["allowed_by"][key].as_u64().unwrap()
}

fn range(base: &str) -> String {
    format!("{base}..HEAD")
}

#[test]
fn a_range_cannot_allow_its_own_secret_with_an_ignore_file_or_a_baseline() {
    let repo = TestRepo::git_init();
    repo.write("README.md", "hi\n");
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    repo.write(
        ".staunch-baseline.json",
        "{\"version\": 1, \"findings\": []}\n",
    );
    repo.add(".");
    let base = repo.commit("base");
    let leak = format!("x=1\nAWS={}\n", fake_aws_key());

    // A pull request adds a secret and a `.gitleaksignore` line for it.
    repo.git(&["checkout", "-q", "-b", "pr-ignore"]);
    repo.write("deploy/app.env", &leak);
    repo.write(".gitleaksignore", "deploy/app.env:aws-access-token:2\n");
    repo.add(".");
    repo.commit("add a deploy config");
    let (code, doc) = repo.json(&["scan", "--range", &range(&base)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "deploy/app.env".into(), 2)]
    );

    // Another adds a secret and its fingerprint to the baseline.
    repo.git(&["checkout", "-q", "-b", "pr-baseline", &base]);
    repo.write("deploy/app.env", &leak);
    repo.add(".");
    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    repo.add(".");
    repo.commit("add a deploy config");
    // The work tree's baseline does silence it, so what follows shows where it is read from.
    let (code, doc) = repo.json(&["scan", "deploy/app.env"]);
    assert_eq!((code, allowed_by(&doc, "baseline")), (0, 1), "{doc}");
    let (code, doc) = repo.json(&["scan", "--range", &range(&base)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "deploy/app.env".into(), 2)]
    );
}
