//! Smaller faults found by trying hostile names and paths: each test failed before its fix.

use crate::util::*;

/// An I/O error's cause is printed once, not once by the error and again by the chain.
#[test]
fn an_io_error_cause_is_printed_once() {
    let repo = TestRepo::dir();
    let out = repo.run(&["scan", ".", "--output", "no/such/dir/report.json"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("no/such/dir/report.json"), "{stderr}");
}
