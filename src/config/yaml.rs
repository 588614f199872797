//! A YAML document as a tree that remembers where every key and value sits (line, column),
//! read through serde-saphyr. The schema check walks it to find unknown and unsupported keys,
//! and validation errors find their line by key path (`scrape_configs[0].scrape_timeout`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A 1-based line and column; `0:0` when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    fn from_location(l: Location) -> Pos {
        Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        }
    }

    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

/// One node: a value and where it starts.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    /// Any scalar, as text (`15s`, `true`, `3`).
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry: the key's text and position, and the value.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    pub fn null() -> Node {
        Node {
            value: Value::Null,
            pos: Pos::default(),
        }
    }

    /// The position of the node at `path` (keys and `[index]` steps, as `path::Path`
    /// renders them): the key's position for a mapping entry, the node's own otherwise.
    /// Falls back to the deepest ancestor that exists.
    pub fn locate(&self, path: &[Step]) -> Pos {
        let mut node = self;
        let mut best = self.pos;
        for step in path {
            let next = match (step, &node.value) {
                (Step::Key(k), Value::Map(entries)) => entries
                    .iter()
                    .rev()
                    .find(|e| e.key == *k)
                    .map(|e| (e.key_pos, &e.value)),
                (Step::Index(i), Value::Seq(items)) => items.get(*i).map(|n| (n.pos, n)),
                _ => None,
            };
            match next {
                Some((pos, n)) => {
                    if pos.is_known() {
                        best = pos;
                    }
                    node = n;
                }
                None => break,
            }
        }
        best
    }

    /// The first key that appears twice in one mapping, anywhere in the tree (Prometheus
    /// rejects these, and YAML says keys are unique): its path and position.
    pub fn first_duplicate(&self) -> Option<(Vec<Step>, Pos)> {
        let mut found = None;
        let mut stack = Vec::new();
        self.find_duplicate(&mut stack, &mut found);
        found
    }

    fn find_duplicate(&self, stack: &mut Vec<Step>, found: &mut Option<(Vec<Step>, Pos)>) {
        match &self.value {
            Value::Map(entries) => {
                for (i, e) in entries.iter().enumerate() {
                    if found.is_some() {
                        return;
                    }
                    stack.push(Step::Key(e.key.clone()));
                    if entries[..i].iter().any(|prev| prev.key == e.key) {
                        *found = Some((stack.clone(), e.key_pos));
                    } else {
                        e.value.find_duplicate(stack, found);
                    }
                    stack.pop();
                }
            }
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    if found.is_some() {
                        return;
                    }
                    stack.push(Step::Index(i));
                    n.find_duplicate(stack, found);
                    stack.pop();
                }
            }
            Value::Null | Value::Scalar(_) => {}
        }
    }

    /// The path of the deepest node that starts at or before `pos`, for errors the YAML
    /// library reports by position only.
    pub fn path_at(&self, pos: Pos) -> Vec<Step> {
        let mut best: (Pos, Vec<Step>) = (Pos::default(), Vec::new());
        let mut stack = Vec::new();
        self.visit_paths(&mut stack, &mut |p, path| {
            if p <= pos && p >= best.0 {
                best = (p, path.to_vec());
            }
        });
        best.1
    }

    fn visit_paths(&self, stack: &mut Vec<Step>, f: &mut impl FnMut(Pos, &[Step])) {
        match &self.value {
            Value::Map(entries) => {
                for e in entries {
                    stack.push(Step::Key(e.key.clone()));
                    f(e.key_pos, stack);
                    e.value.visit_paths(stack, f);
                    stack.pop();
                }
            }
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    stack.push(Step::Index(i));
                    f(n.pos, stack);
                    n.visit_paths(stack, f);
                    stack.pop();
                }
            }
            Value::Null | Value::Scalar(_) => {}
        }
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Renders a path as `scrape_configs[0].static_configs[1].labels`; a key that is not a plain
/// word (empty, or with dots or spaces) is quoted in brackets: `labels["a.b"]`.
pub struct PathDisplay<'a>(pub &'a [Step]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if !is_plain_key(k) => write!(f, "[{k:?}]")?,
                Step::Key(k) if i == 0 => f.write_str(k)?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<Value> = Spanned::deserialize(d)?;
        Ok(Node {
            value: s.value,
            pos: Pos::from_location(s.referenced),
        })
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Scalar(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Scalar(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Scalar(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Node>()?;
            entries.push(Entry {
                key: key.value.0,
                key_pos: Pos::from_location(key.referenced),
                value,
            });
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// A mapping key of any scalar kind, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Scalar(s) => Ok(KeyText(s)),
            Value::Null => Ok(KeyText(String::new())),
            Value::Seq(_) | Value::Map(_) => Err(de::Error::custom(
                "a mapping key must be a scalar, not a sequence or mapping",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Node {
        serde_saphyr::from_str(s).expect("test YAML parses")
    }

    fn key(k: &str) -> Step {
        Step::Key(k.to_string())
    }

    #[test]
    fn keys_and_items_know_their_positions() {
        let doc = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['x:1']\n";
        let root = parse(doc);
        let at = |p: &[Step]| root.locate(p);
        assert_eq!(at(&[key("global")]), Pos { line: 1, column: 1 });
        assert_eq!(
            at(&[key("global"), key("scrape_interval")]),
            Pos { line: 2, column: 3 }
        );
        let job = [key("scrape_configs"), Step::Index(0)];
        assert_eq!(at(&job).line, 4);
        let sc = [
            key("scrape_configs"),
            Step::Index(0),
            key("static_configs"),
            Step::Index(0),
            key("targets"),
        ];
        assert_eq!(at(&sc), Pos { line: 6, column: 9 });
        // A missing key falls back to its deepest existing ancestor.
        let missing = [key("scrape_configs"), Step::Index(0), key("nope")];
        assert_eq!(at(&missing).line, 4);
    }

    #[test]
    fn path_at_finds_the_deepest_node_before_a_position() {
        let doc = "a:\n  b: 1\n  c:\n    - x\n    - y\n";
        let root = parse(doc);
        let p = root.path_at(Pos { line: 5, column: 7 });
        assert_eq!(PathDisplay(&p).to_string(), "a.c[1]");
        let p = root.path_at(Pos { line: 2, column: 6 });
        assert_eq!(PathDisplay(&p).to_string(), "a.b");
    }

    #[test]
    fn scalars_keep_their_text_and_aliases_resolve() {
        let doc = "base: &b\n  x: 1\nother: *b\nflag: true\nempty:\n";
        let root = parse(doc);
        let Value::Map(entries) = &root.value else {
            panic!("root is a map");
        };
        assert_eq!(entries.len(), 4);
        assert!(matches!(&entries[1].value.value, Value::Map(m) if m[0].key == "x"));
        assert!(matches!(&entries[2].value.value, Value::Scalar(s) if s == "true"));
        assert!(matches!(entries[3].value.value, Value::Null));
    }
}
