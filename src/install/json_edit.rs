//! Edits JSON text in place: adds an element to an array or a member to an object, or removes
//! one, touching no other byte. A user's settings file keeps its key order, indentation, line
//! endings and spacing; only the edited element is written by staunch, laid out like its
//! neighbours.
//!
//! The text is parsed only for where each value starts and ends; it must already be valid JSON
//! (the caller checks with serde_json, and checks that the edited text parses to the value it
//! wanted). Every edit is the inverse of another: appending an element writes `,` + the
//! whitespace that precedes the last element + the element right after the last one, and
//! removing an element that follows another deletes from the end of the one before it to its own
//! end, so adding then removing gives back the bytes that were there.

use serde::Serialize;

/// Where a value is, and where its parts are (byte offsets; `end` is exclusive).
#[derive(Debug)]
enum Node {
    Object {
        start: usize,
        end: usize,
        members: Vec<Member>,
    },
    Array {
        start: usize,
        end: usize,
        items: Vec<Node>,
    },
    Scalar {
        start: usize,
        end: usize,
    },
}

#[derive(Debug)]
struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value: Node,
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Object { start, .. } | Node::Array { start, .. } | Node::Scalar { start, .. } => {
                *start
            }
        }
    }

    fn end(&self) -> usize {
        match self {
            Node::Object { end, .. } | Node::Array { end, .. } | Node::Scalar { end, .. } => *end,
        }
    }

    /// (start, end) of each element: a member from its key to the end of its value.
    fn elements(&self) -> Vec<(usize, usize)> {
        match self {
            Node::Object { members, .. } => members
                .iter()
                .map(|m| (m.key_start, m.value.end()))
                .collect(),
            Node::Array { items, .. } => items.iter().map(|i| (i.start(), i.end())).collect(),
            Node::Scalar { .. } => Vec::new(),
        }
    }
}

/// One step into a value: an object's member (the last of that name, as serde_json reads
/// duplicates) or an array's element.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self
            .text
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some((start, self.at));
                }
                _ => self.at += 1,
            }
        }
    }

    fn value(&mut self) -> Option<Node> {
        self.skip_ws();
        let start = self.at;
        match self.peek()? {
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek()? != b'}' {
                    loop {
                        self.skip_ws();
                        let (key_start, key_end) = self.string()?;
                        let raw = std::str::from_utf8(&self.text[key_start..key_end]).ok()?;
                        let key: String = serde_json::from_str(raw).ok()?;
                        self.expect(b':')?;
                        let value = self.value()?;
                        members.push(Member {
                            key,
                            key_start,
                            key_end,
                            value,
                        });
                        self.skip_ws();
                        match self.peek()? {
                            b',' => self.at += 1,
                            b'}' => break,
                            _ => return None,
                        }
                    }
                }
                self.at += 1;
                Some(Node::Object {
                    start,
                    end: self.at,
                    members,
                })
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek()? != b']' {
                    loop {
                        items.push(self.value()?);
                        self.skip_ws();
                        match self.peek()? {
                            b',' => self.at += 1,
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
                self.at += 1;
                Some(Node::Array {
                    start,
                    end: self.at,
                    items,
                })
            }
            b'"' => {
                let (start, end) = self.string()?;
                Some(Node::Scalar { start, end })
            }
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                (self.at > start).then_some(Node::Scalar {
                    start,
                    end: self.at,
                })
            }
        }
    }
}

fn parse(text: &str) -> Option<Node> {
    let mut parser = Parser {
        text: text.as_bytes(),
        at: 0,
    };
    let root = parser.value()?;
    parser.skip_ws();
    (parser.at == text.len()).then_some(root)
}

fn find<'n>(mut node: &'n Node, path: &[Step<'_>]) -> Option<&'n Node> {
    for step in path {
        node = match (node, step) {
            (Node::Object { members, .. }, Step::Key(key)) => {
                &members.iter().rev().find(|m| m.key == *key)?.value
            }
            (Node::Array { items, .. }, Step::Index(i)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The layout of a file: its line ending, one level of indentation, what follows a key, and
/// whether it is laid out over lines at all.
struct Layout {
    newline: &'static str,
    unit: String,
    colon: String,
    multiline: bool,
}

fn layout(text: &str, root: &Node) -> Layout {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut layout = Layout {
        newline,
        unit: "  ".into(),
        colon: ": ".into(),
        multiline: true,
    };
    if let Node::Object { start, members, .. } = root {
        if let Some(first) = members.first() {
            let before = &text[start + 1..first.key_start];
            layout.multiline = before.contains('\n');
            if layout.multiline {
                let indent = before.rsplit('\n').next().unwrap_or("");
                let outer = line_indent(text, *start);
                if let Some(unit) = indent.strip_prefix(outer).filter(|u| !u.is_empty()) {
                    layout.unit = unit.to_string();
                }
            }
            layout.colon = text[first.key_end..first.value.start()].to_string();
        }
    }
    layout
}

/// The whitespace that starts the line `pos` is on.
fn line_indent(text: &str, pos: usize) -> &str {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// `value` as the file would lay it out, at `indent`.
fn render(value: &impl Serialize, layout: &Layout, indent: &str) -> Option<String> {
    if !layout.multiline {
        return serde_json::to_string(value).ok();
    }
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(layout.unit.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).ok()?;
    let text = String::from_utf8(out).ok()?;
    Some(text.replace('\n', &format!("{}{indent}", layout.newline)))
}

/// Adds `element` (already rendered, at `indent`) as the last element of `container`.
fn add_last(
    text: &str,
    container: &Node,
    layout: &Layout,
    element: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let (open, close) = (container.start(), container.end() - 1);
    let elements = container.elements();
    let mut out = String::with_capacity(text.len() + 256);
    match elements.last() {
        Some(&(last_start, last_end)) => {
            let before_last = text[..last_start].trim_end_matches([' ', '\t', '\n', '\r']);
            let mut gap = &text[before_last.len()..last_start];
            if elements.len() == 1 && !gap.contains('\n') && layout.multiline {
                // `["x"]` says nothing about what follows a comma; a file laid out for people
                // writes `, `.
                gap = " ";
            }
            let indent = gap.rsplit('\n').next().unwrap_or("");
            out.push_str(&text[..last_end]);
            out.push(',');
            out.push_str(gap);
            out.push_str(&element(if gap.contains('\n') { indent } else { "" })?);
            out.push_str(&text[last_end..]);
        }
        None => {
            out.push_str(&text[..=open]);
            if layout.multiline {
                let outer = line_indent(text, open);
                let inner = format!("{outer}{}", layout.unit);
                out.push_str(layout.newline);
                out.push_str(&inner);
                out.push_str(&element(&inner)?);
                out.push_str(layout.newline);
                out.push_str(outer);
            } else {
                out.push_str(&element("")?);
            }
            out.push_str(&text[close..]);
        }
    }
    Some(out)
}

/// `text` with `value` appended to the array at `path`.
pub fn append(text: &str, path: &[Step<'_>], value: &impl Serialize) -> Option<String> {
    let root = parse(text)?;
    let layout = layout(text, &root);
    let array = find(&root, path)?;
    if !matches!(array, Node::Array { .. }) {
        return None;
    }
    add_last(text, array, &layout, |indent| {
        render(value, &layout, indent)
    })
}

/// `text` with a member `key` (which must not be there) added last to the object at `path`.
pub fn insert(text: &str, path: &[Step<'_>], key: &str, value: &impl Serialize) -> Option<String> {
    let root = parse(text)?;
    let layout = layout(text, &root);
    let object = find(&root, path)?;
    let Node::Object { members, .. } = object else {
        return None;
    };
    if members.iter().any(|m| m.key == key) {
        return None;
    }
    let key = serde_json::to_string(key).ok()?;
    add_last(text, object, &layout, |indent| {
        Some(format!(
            "{key}{}{}",
            layout.colon,
            render(value, &layout, indent)?
        ))
    })
}

/// `text` without element `index` of the array at `path`, or without the member `key` of the
/// object there (`index` ignored), separators included.
pub fn remove(text: &str, path: &[Step<'_>], index: usize, key: Option<&str>) -> Option<String> {
    let root = parse(text)?;
    let container = find(&root, path)?;
    let index = match (container, key) {
        (Node::Object { members, .. }, Some(key)) => members.iter().rposition(|m| m.key == key)?,
        (Node::Array { .. }, None) => index,
        _ => return None,
    };
    let elements = container.elements();
    let (start, end) = *elements.get(index)?;
    let (cut_from, cut_to) = if elements.len() == 1 {
        (container.start() + 1, container.end() - 1)
    } else if index > 0 {
        (elements[index - 1].1, end)
    } else {
        (start, elements[1].0)
    };
    Some(format!("{}{}", &text[..cut_from], &text[cut_to..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "{\n    \"permissions\": {\"allow\": [\"Bash(ls:*)\"]},\n    \"env\": {\n        \"Z\": \"1\",\n        \"A\": \"2\"\n    }\n}\n";

    #[test]
    fn adding_a_member_writes_it_like_its_neighbours_and_removing_it_restores_the_bytes() {
        let added = insert(FILE, &[], "hooks", &json!({"Stop": [1]})).unwrap();
        assert_eq!(
            added,
            "{\n    \"permissions\": {\"allow\": [\"Bash(ls:*)\"]},\n    \"env\": {\n        \"Z\": \"1\",\n        \"A\": \"2\"\n    },\n    \"hooks\": {\n        \"Stop\": [\n            1\n        ]\n    }\n}\n"
        );
        assert_eq!(remove(&added, &[], 0, Some("hooks")).unwrap(), FILE);
    }

    #[test]
    fn appending_to_an_array_and_removing_the_element_restores_the_bytes() {
        let path = [Step::Key("permissions"), Step::Key("allow")];
        let added = append(FILE, &path, &"Read").unwrap();
        assert!(added.contains("[\"Bash(ls:*)\", \"Read\"]"), "{added}");
        assert_eq!(remove(&added, &path, 1, None).unwrap(), FILE);
        let first_gone = remove(&added, &path, 0, None).unwrap();
        assert!(first_gone.contains("[\"Read\"]"), "{first_gone}");
        assert_eq!(
            remove(FILE, &[Step::Key("env")], 0, Some("Z")).unwrap(),
            FILE.replace("\"Z\": \"1\",\n        ", "")
        );
    }

    #[test]
    fn compact_files_and_crlf_files_keep_their_layout() {
        let compact = "{\"a\":1}";
        let added = insert(compact, &[], "b", &json!([2])).unwrap();
        assert_eq!(added, "{\"a\":1,\"b\":[2]}");
        assert_eq!(remove(&added, &[], 0, Some("b")).unwrap(), compact);
        let crlf = "{\r\n\t\"a\": 1\r\n}\r\n";
        let added = insert(crlf, &[], "b", &json!([2])).unwrap();
        assert_eq!(
            added,
            "{\r\n\t\"a\": 1,\r\n\t\"b\": [\r\n\t\t2\r\n\t]\r\n}\r\n"
        );
        assert_eq!(remove(&added, &[], 0, Some("b")).unwrap(), crlf);
    }

    #[test]
    fn empty_containers_and_the_last_element() {
        let added = insert("{}\n", &[], "a", &1).unwrap();
        assert_eq!(added, "{\n  \"a\": 1\n}\n");
        assert_eq!(remove(&added, &[], 0, Some("a")).unwrap(), "{}\n");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&append("[ ]", &[], &1).unwrap()).unwrap(),
            json!([1])
        );
    }

    #[test]
    fn strings_with_brackets_and_escapes_are_skipped_whole() {
        let text = r#"{"a": "x\"}]", "b": [ "[", {"c": "\\"} ]}"#;
        let added = append(text, &[Step::Key("b")], &"d").unwrap();
        let value: serde_json::Value = serde_json::from_str(&added).unwrap();
        assert_eq!(value, json!({"a": "x\"}]", "b": ["[", {"c": "\\"}, "d"]}));
        assert!(insert(text, &[], "a", &1).is_none(), "a key that is there");
        assert!(
            append(text, &[Step::Key("a")], &1).is_none(),
            "not an array"
        );
    }
}
