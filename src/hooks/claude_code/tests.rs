//! The Claude Code guard's payload reading and decisions, without a repository.

use super::*;

fn names(cwd: &str, root: Option<&str>) -> Names {
    Names {
        cwd: PathBuf::from(cwd),
        root: root.map(PathBuf::from),
    }
}

#[test]
fn paths_are_named_from_the_repository_root_then_cwd() {
    let repo = names("/repo/sub", Some("/repo"));
    assert_eq!(
        repo.of("/repo/src/a.py"),
        ("src/a.py".into(), Some("src/a.py".into()))
    );
    assert_eq!(
        repo.of("b.py"),
        ("sub/b.py".into(), Some("sub/b.py".into()))
    );
    assert_eq!(repo.of("/other/a.py"), ("/other/a.py".into(), None));
    let plain = names("/dir", None);
    assert_eq!(plain.of("/dir/a.py"), ("a.py".into(), None));
    assert_eq!(plain.of("/dir"), ("/dir".into(), None));
}

fn edit(old: &str, new: &str, all: bool) -> Edit {
    Edit {
        old: old.into(),
        new: new.into(),
        all,
    }
}

#[test]
fn edits_apply_in_order_and_keep_track_of_the_new_text() {
    let (text, touched) = apply_edits("a X b X c".into(), &[edit("X", "YY", true)]).unwrap();
    assert_eq!(text, "a YY b YY c");
    assert_eq!(touched, vec![2..4, 7..9]);
    // A later edit shifts, or swallows, the text of an earlier one.
    let (text, touched) = apply_edits(
        "one two three".into(),
        &[edit("two", "2", false), edit("one", "1111", false)],
    )
    .unwrap();
    assert_eq!(text, "1111 2 three");
    assert_eq!(touched, vec![5..6, 0..4]);
    let (text, touched) = apply_edits(
        "one two".into(),
        &[edit("two", "2", false), edit("e 2", "E-2", false)],
    )
    .unwrap();
    assert_eq!(text, "onE-2");
    assert_eq!(touched, vec![2..5, 2..5]);
    // Only the first occurrence without replace_all; a missing old text fails.
    assert_eq!(
        apply_edits("x x".into(), &[edit("x", "y", false)])
            .unwrap()
            .0,
        "y x"
    );
    assert!(apply_edits("abc".into(), &[edit("zz", "y", false)]).is_none());
    assert!(apply_edits("abc".into(), &[edit("", "y", false)]).is_none());
}

#[test]
fn a_deletion_touches_the_line_it_joins() {
    let (text, touched) = apply_edits("k = AB\nCD\n".into(), &[edit("\n", "", false)]).unwrap();
    assert_eq!(text, "k = ABCD\n");
    assert_eq!(touched_lines(&text, &touched), vec![1..=1]);
    let ranges = [2..4, 2..5];
    assert_eq!(touched_lines("a\nb\nc\n", &ranges), vec![2..=2, 2..=3]);
}

#[test]
fn unknown_tools_write_nothing_and_known_ones_need_their_fields() {
    let names = names("/r", None);
    let input = serde_json::json!({"file_path": "/r/a.py"});
    assert!(pieces("Read", &input, &names, 1 << 20).unwrap().is_none());
    let err = pieces("Write", &input, &names, 1 << 20)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("tool_input.content"), "{err}");
    let edits = serde_json::json!({"file_path": "/r/missing", "edits": [
        {"old_string": "a", "new_string": "b"}, {"old_string": "c", "new_string": "d"}]});
    let got = pieces("MultiEdit", &edits, &names, 1 << 20)
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].path, "missing");
    assert_eq!(got[1].text, "d");
    assert_eq!(got[1].place, Place::NewText);
}

#[test]
fn every_string_of_a_sending_tool_is_a_piece() {
    let input = serde_json::json!({"title": "t", "n": 3, "labels": ["x"], "a": {"b": "c"}});
    let got: Vec<(String, String)> = input_strings(&input)
        .into_iter()
        .map(|p| (p.path, p.text))
        .collect();
    assert_eq!(
        got,
        vec![
            ("tool_input.a.b".into(), "b: c".into()),
            ("tool_input.labels[0]".into(), "x".into()),
            ("tool_input.title".into(), "title: t".into()),
        ]
    );
}
