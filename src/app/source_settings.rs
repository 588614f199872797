//! The remote query sources of the settings file (`kmon.yaml`): a `sources:` list and
//! `source: NAME`, the one the TUI starts on. `settings` hands both keys here; errors
//! name file:line:col and the key, as the rest of the file's do. `sources` turns each
//! entry into a client.
//!
//! ```yaml
//! source: thanos                       # the default (embedded when unset)
//! sources:
//!   - name: thanos
//!     url: https://thanos.example/prometheus   # a path prefix is kept
//!     bearer_token_file: /run/secrets/token    # or bearer_token: ...
//!   - name: lab
//!     url: http://10.0.0.5:9090
//!     basic_auth: {username: me, password_file: ~/.lab-pass}   # or password: ...
//!     tls_config: {ca_file: ca.pem, insecure_skip_verify: false, cert_file: c.pem, key_file: k.pem}
//! ```

use std::path::PathBuf;

use crate::config::yaml::{Node, Pos, Value};

/// One entry of `sources:`. Its `Debug` leaves the token out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceSetting {
    pub name: String,
    pub url: String,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    pub basic_auth: Option<BasicAuthSetting>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    /// Where the entry starts (`file:line` in messages about it later).
    pub line: u32,
}

/// `basic_auth` of a source. Its `Debug` leaves the password out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BasicAuthSetting {
    pub username: String,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// What `Debug` shows of a secret: whether there is one.
fn hidden(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<secret>")
}

impl std::fmt::Debug for SourceSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSetting")
            .field("name", &self.name)
            .field("url", &crate::remote::source::http::redact(&self.url))
            .field("bearer_token", &hidden(&self.bearer_token))
            .field("bearer_token_file", &self.bearer_token_file)
            .field("basic_auth", &self.basic_auth)
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("line", &self.line)
            .finish()
    }
}

impl std::fmt::Debug for BasicAuthSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuthSetting")
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("password_file", &self.password_file)
            .finish()
    }
}

fn at(file: &str, pos: Pos) -> String {
    format!("{file}:{}:{}", pos.line, pos.column)
}

fn scalar(n: &Node) -> Option<&str> {
    match &n.value {
        Value::Scalar(s) => Some(s.as_str()),
        _ => None,
    }
}

/// A path, with a leading `~/` expanded to the home directory.
fn path(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(s),
    }
}

/// Parses the `sources:` list; bad entries are left out with an error each.
pub fn parse_sources(node: &Node, file: &str, errors: &mut Vec<String>) -> Vec<SourceSetting> {
    let items = match &node.value {
        Value::Seq(items) => items,
        Value::Null => return Vec::new(),
        _ => {
            errors.push(format!(
                "{}: sources: expected a list of sources",
                at(file, node.pos)
            ));
            return Vec::new();
        }
    };
    let mut out: Vec<SourceSetting> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let before = errors.len();
        let s = parse_one(item, i, file, errors);
        if errors.len() > before {
            continue;
        }
        if out.iter().any(|o| o.name == s.name) {
            errors.push(format!(
                "{}: sources[{i}].name: {:?} is already used by another source",
                at(file, item.pos),
                s.name
            ));
            continue;
        }
        out.push(s);
    }
    out
}

fn parse_one(item: &Node, i: usize, file: &str, errors: &mut Vec<String>) -> SourceSetting {
    let mut s = SourceSetting {
        line: item.pos.line,
        ..SourceSetting::default()
    };
    let Value::Map(entries) = &item.value else {
        errors.push(format!(
            "{}: sources[{i}]: expected a mapping with name and url",
            at(file, item.pos)
        ));
        return s;
    };
    for e in entries {
        let key = format!("sources[{i}].{}", e.key);
        let mut bad = |what: &str| errors.push(format!("{}: {key}: {what}", at(file, e.value.pos)));
        match e.key.as_str() {
            "name" => match scalar(&e.value) {
                Some(n) if valid_name(n) => s.name = n.to_string(),
                _ => bad("expected a name of letters, digits and - _ . / : (not \"embedded\")"),
            },
            "url" => match scalar(&e.value) {
                Some(u) if !u.is_empty() => s.url = u.to_string(),
                _ => bad("expected a URL"),
            },
            "bearer_token" => match scalar(&e.value) {
                Some(t) => s.bearer_token = Some(t.to_string()),
                None => bad("expected a token"),
            },
            "bearer_token_file" => match scalar(&e.value) {
                Some(p) => s.bearer_token_file = Some(path(p)),
                None => bad("expected a file path"),
            },
            "basic_auth" => s.basic_auth = parse_basic(&e.value, &key, file, errors),
            "tls_config" => parse_tls(&e.value, &key, file, &mut s, errors),
            _ => errors.push(format!(
                "{}: {key}: unknown key (known: name, url, bearer_token, bearer_token_file, \
                 basic_auth, tls_config)",
                at(file, e.key_pos)
            )),
        }
    }
    if s.name.is_empty() {
        errors.push(format!("{}: sources[{i}]: no name", at(file, item.pos)));
    } else if s.url.is_empty() {
        errors.push(format!("{}: sources[{i}]: no url", at(file, item.pos)));
    } else if s.bearer_token.is_some() && s.bearer_token_file.is_some() {
        errors.push(format!(
            "{}: sources[{i}]: give bearer_token or bearer_token_file, not both",
            at(file, item.pos)
        ));
    } else if s.basic_auth.is_some() && (s.bearer_token.is_some() || s.bearer_token_file.is_some())
    {
        errors.push(format!(
            "{}: sources[{i}]: give basic_auth or a bearer token, not both",
            at(file, item.pos)
        ));
    }
    s
}

/// A source name the picker and dashboards can name: not `embedded`, no spaces.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n != super::sources::EMBEDDED
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
}

fn parse_basic(
    node: &Node,
    key: &str,
    file: &str,
    errors: &mut Vec<String>,
) -> Option<BasicAuthSetting> {
    let Value::Map(entries) = &node.value else {
        errors.push(format!("{}: {key}: expected a mapping", at(file, node.pos)));
        return None;
    };
    let mut b = BasicAuthSetting::default();
    for e in entries {
        let v = scalar(&e.value);
        match (e.key.as_str(), v) {
            ("username", Some(u)) => b.username = u.to_string(),
            ("password", Some(p)) => b.password = Some(p.to_string()),
            ("password_file", Some(p)) => b.password_file = Some(path(p)),
            ("username" | "password" | "password_file", None) => errors.push(format!(
                "{}: {key}.{}: expected text",
                at(file, e.value.pos),
                e.key
            )),
            _ => errors.push(format!(
                "{}: {key}.{}: unknown key (known: username, password, password_file)",
                at(file, e.key_pos),
                e.key
            )),
        }
    }
    if b.password.is_some() && b.password_file.is_some() {
        errors.push(format!(
            "{}: {key}: give password or password_file, not both",
            at(file, node.pos)
        ));
    }
    Some(b)
}

fn parse_tls(node: &Node, key: &str, file: &str, s: &mut SourceSetting, errors: &mut Vec<String>) {
    let Value::Map(entries) = &node.value else {
        errors.push(format!("{}: {key}: expected a mapping", at(file, node.pos)));
        return;
    };
    for e in entries {
        let v = scalar(&e.value);
        match (e.key.as_str(), v) {
            ("ca_file", Some(p)) => s.ca_file = Some(path(p)),
            ("cert_file", Some(p)) => s.cert_file = Some(path(p)),
            ("key_file", Some(p)) => s.key_file = Some(path(p)),
            ("insecure_skip_verify", Some("true")) => s.insecure_skip_verify = true,
            ("insecure_skip_verify", Some("false")) => s.insecure_skip_verify = false,
            ("insecure_skip_verify", _) => errors.push(format!(
                "{}: {key}.insecure_skip_verify: expected true or false",
                at(file, e.value.pos)
            )),
            ("ca_file" | "cert_file" | "key_file", None) => errors.push(format!(
                "{}: {key}.{}: expected a file path",
                at(file, e.value.pos),
                e.key
            )),
            _ => errors.push(format!(
                "{}: {key}.{}: unknown key (known: ca_file, cert_file, key_file, \
                 insecure_skip_verify)",
                at(file, e.key_pos),
                e.key
            )),
        }
    }
    if s.cert_file.is_some() != s.key_file.is_some() {
        errors.push(format!(
            "{}: {key}: cert_file and key_file go together",
            at(file, node.pos)
        ));
    }
}

/// The `sources:` list as YAML, for writing the settings file back.
pub fn render_sources(sources: &[SourceSetting]) -> String {
    let q = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let p = |v: &PathBuf| q(&v.display().to_string());
    let mut out = String::from("sources:\n");
    for s in sources {
        out.push_str(&format!(
            "  - name: {}\n    url: {}\n",
            q(&s.name),
            q(&s.url)
        ));
        if let Some(t) = &s.bearer_token {
            out.push_str(&format!("    bearer_token: {}\n", q(t)));
        }
        if let Some(f) = &s.bearer_token_file {
            out.push_str(&format!("    bearer_token_file: {}\n", p(f)));
        }
        if let Some(b) = &s.basic_auth {
            out.push_str(&format!(
                "    basic_auth:\n      username: {}\n",
                q(&b.username)
            ));
            if let Some(pw) = &b.password {
                out.push_str(&format!("      password: {}\n", q(pw)));
            }
            if let Some(f) = &b.password_file {
                out.push_str(&format!("      password_file: {}\n", p(f)));
            }
        }
        let tls = [
            ("ca_file", &s.ca_file),
            ("cert_file", &s.cert_file),
            ("key_file", &s.key_file),
        ];
        if s.insecure_skip_verify || tls.iter().any(|(_, v)| v.is_some()) {
            out.push_str("    tls_config:\n");
            for (k, v) in tls {
                if let Some(v) = v {
                    out.push_str(&format!("      {k}: {}\n", p(v)));
                }
            }
            if s.insecure_skip_verify {
                out.push_str("      insecure_skip_verify: true\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::settings::parse;
    use super::*;

    #[test]
    fn debug_leaves_secrets_out() {
        let s = SourceSetting {
            name: "lab".into(),
            url: "https://me:hunter2@lab.example/".into(),
            bearer_token: Some("tok-s3cret".into()),
            basic_auth: Some(BasicAuthSetting {
                username: "me".into(),
                password: Some("pw-s3cret".into()),
                password_file: None,
            }),
            ..SourceSetting::default()
        };
        let text = format!("{s:?}");
        for secret in ["hunter2", "tok-s3cret", "pw-s3cret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("lab.example") && text.contains("<secret>"),
            "{text}"
        );
    }

    #[test]
    fn sources_parse_with_auth_and_tls() {
        let text = "source: lab\nsources:\n  - name: thanos\n    url: https://t/prometheus\n    \
                    bearer_token_file: /tok\n  - name: lab\n    url: http://10.0.0.5:9090\n    \
                    basic_auth: {username: me, password: pw}\n    \
                    tls_config: {ca_file: /ca.pem, insecure_skip_verify: true}\n";
        let (s, errors) = parse(text, "kmon.yaml");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(s.source.as_deref(), Some("lab"));
        assert_eq!(s.sources.len(), 2);
        assert_eq!(s.sources[0].bearer_token_file, Some(PathBuf::from("/tok")));
        assert_eq!(s.sources[0].line, 3);
        let lab = &s.sources[1];
        assert_eq!(
            lab.basic_auth.as_ref().unwrap().password.as_deref(),
            Some("pw")
        );
        assert!(lab.insecure_skip_verify);
        assert_eq!(lab.ca_file, Some(PathBuf::from("/ca.pem")));
        // Written back, the list reads the same.
        let (again, errors) = parse(&super::super::settings::render(&s), "kmon.yaml");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            again.sources,
            s.sources
                .iter()
                .cloned()
                .map(|mut x| {
                    x.line = again
                        .sources
                        .iter()
                        .find(|a| a.name == x.name)
                        .map_or(0, |a| a.line);
                    x
                })
                .collect::<Vec<_>>()
        );
        assert_eq!(again.source, s.source);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "sources:\n  - name: a\n    url: http://a\n  - name: a\n    url: http://b\n  \
                    - url: http://c\n  - name: embedded\n    url: x\n  - name: d\n    \
                    url: http://d\n    bearer: x\n  - name: e\n    url: http://e\n    \
                    tls_config: {cert_file: c}\n";
        let (s, errors) = parse(text, "kmon.yaml");
        assert_eq!(s.sources.len(), 1, "{:?}", s.sources);
        assert_eq!(
            errors,
            [
                "kmon.yaml:4:5: sources[1].name: \"a\" is already used by another source",
                "kmon.yaml:6:5: sources[2]: no name",
                "kmon.yaml:7:11: sources[3].name: expected a name of letters, digits and - _ . / : \
                 (not \"embedded\")",
                "kmon.yaml:7:5: sources[3]: no name",
                "kmon.yaml:11:5: sources[4].bearer: unknown key (known: name, url, bearer_token, \
                 bearer_token_file, basic_auth, tls_config)",
                "kmon.yaml:14:17: sources[5].tls_config: cert_file and key_file go together",
            ]
        );
    }
}
