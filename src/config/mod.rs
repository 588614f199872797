//! Loads `prometheus.yml`: reads the YAML into a position-aware tree, checks its keys against
//! Prometheus 3.5's (unknown keys are errors, keys kmon does not support yet are warnings),
//! deserializes the raw serde mirror, and validates it into a `Config` with Prometheus's
//! defaults. Errors name file, line, column and key path. `main` and `app` call `load_file`;
//! the module uses only `model`.

mod alerting;
mod client;
mod error;
mod http_client;
mod kubernetes_sd;
mod kubernetes_selector;
mod raw;
mod remote_write;
mod schema;
mod size;
mod types;
mod validate;
pub(crate) mod yaml;

use std::path::Path;

use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, UserMessageFormatter};

pub use alerting::{
    AlertingConfig, AlertmanagerApiVersion, AlertmanagerConfig, DEFAULT_ALERTMANAGER_TIMEOUT,
};
pub use client::{ClientAuth, ClientSetupError, client_builder};
pub use error::{ConfigError, ConfigErrorKind, Warning};
pub use kubernetes_sd::{KubernetesRole, KubernetesSdConfig, KubernetesSelector};
pub use remote_write::{
    MetadataConfig, QueueConfig, REMOTE_WRITE_PROTO_V1, REMOTE_WRITE_PROTO_V2, RemoteWriteConfig,
};
pub use size::{SizeError, parse_base2_bytes};
pub use types::{
    Authorization, BasicAuth, Config, FileSdConfig, GlobalConfig, Limits, PemSource, Scheme,
    ScrapeConfig, ScrapeProtocol, Secret, SecretSource, StaticConfig, TlsConfig, TlsVersion,
};

use schema::FindingKind;
use yaml::{Node, PathDisplay, Pos, Step};

/// Reads and validates a configuration file. Relative paths inside it (file SD patterns,
/// password and certificate files) are joined to the file's directory, as Prometheus does.
pub fn load_file(path: impl AsRef<Path>) -> Result<(Config, Vec<Warning>), ConfigError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        column: 0,
        key_path: String::new(),
        kind: ConfigErrorKind::Io(e),
    })?;
    let env = |name: &str| std::env::var(name).ok();
    let (mut config, warnings) = load(&text, &file, path.parent(), &env)?;
    config.source_file = Some(path.to_path_buf());
    Ok((config, warnings))
}

/// Validates configuration text. `path_for_messages` only names the source in errors and
/// warnings; relative paths inside stay as written.
pub fn load_str(
    text: &str,
    path_for_messages: impl AsRef<Path>,
) -> Result<(Config, Vec<Warning>), ConfigError> {
    let file = path_for_messages.as_ref().display().to_string();
    let env = |name: &str| std::env::var(name).ok();
    load(text, &file, None, &env)
}

fn load(
    text: &str,
    file: &str,
    dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<Warning>), ConfigError> {
    let located = |tree: &Node, path: &[Step], kind| {
        let pos = tree.locate(path);
        ConfigError {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            key_path: PathDisplay(path).to_string(),
            kind,
        }
    };

    // Duplicates are let through here so they can be reported with their key path.
    let lenient = serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::LastWins };
    let tree: Node = serde_saphyr::from_str_with_options::<Option<Node>>(text, lenient)
        .map_err(|e| yaml_error(&e, file, None))?
        .unwrap_or_else(Node::null);
    if let Some((path, pos)) = tree.first_duplicate() {
        let key = match path.last() {
            Some(Step::Key(k)) => k.clone(),
            _ => String::new(),
        };
        return Err(ConfigError {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            key_path: PathDisplay(&path).to_string(),
            kind: ConfigErrorKind::DuplicateKey(key),
        });
    }

    let (findings, first_error) = schema::check(&tree);
    if let Some(f) = first_error {
        let kind = match f.what {
            FindingKind::Unknown {
                field,
                go_type,
                hint,
            } => ConfigErrorKind::UnknownField {
                field,
                go_type,
                hint,
            },
            FindingKind::NullItem(what) => ConfigErrorKind::NullSection(what),
        };
        return Err(ConfigError {
            file: file.to_string(),
            line: f.pos.line,
            column: f.pos.column,
            key_path: PathDisplay(&f.path).to_string(),
            kind,
        });
    }
    let mut warnings: Vec<Warning> = findings
        .iter()
        .map(|f| {
            let key = match f.path.last() {
                Some(Step::Key(k)) => k.as_str(),
                _ => "this key",
            };
            Warning {
                file: file.to_string(),
                line: f.pos.line,
                column: f.pos.column,
                key_path: PathDisplay(&f.path).to_string(),
                message: format!("{key} is not supported by kmon yet; ignored"),
            }
        })
        .collect();

    let raw: raw::RawConfig = serde_saphyr::from_str::<Option<raw::RawConfig>>(text)
        .map_err(|e| yaml_error(&e, file, Some(&tree)))?
        .unwrap_or_default();

    let mut ctx = validate::Ctx {
        dir,
        env,
        notes: Vec::new(),
    };
    let config = validate::validate(raw, &mut ctx).map_err(|e| located(&tree, &e.path, e.kind))?;
    for (path, message) in ctx.notes {
        let pos = tree.locate(&path);
        warnings.push(Warning {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            key_path: PathDisplay(&path).to_string(),
            message,
        });
    }
    Ok((config, warnings))
}

/// A YAML library error, located: its own line and column, and the key path found there.
fn yaml_error(e: &serde_saphyr::Error, file: &str, tree: Option<&Node>) -> ConfigError {
    let inner = e.without_snippet();
    let pos = e
        .location()
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .unwrap_or_default();
    let kind = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(k), .. } => {
            ConfigErrorKind::DuplicateKey(k.clone())
        }
        _ => {
            let msg = UserMessageFormatter.format_message(inner);
            // One line, whatever the library put in it.
            let flat: String = msg
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            ConfigErrorKind::Yaml(plain_wording(&flat).unwrap_or(flat))
        }
    };
    let key_path = match tree {
        Some(t) if pos.is_known() => PathDisplay(&t.path_at(pos)).to_string(),
        _ => String::new(),
    };
    ConfigError {
        file: file.to_string(),
        line: pos.line,
        column: pos.column,
        key_path,
        kind,
    }
}

/// The YAML library's type errors, reworded for someone editing a config file. Messages not
/// listed pass through unchanged.
fn plain_wording(msg: &str) -> Option<String> {
    const WORDING: &[(&str, &str)] = &[
        ("expected sequence start", "expected a list"),
        ("expected mapping start", "expected a mapping"),
        ("expected string scalar", "expected a string"),
        ("invalid boolean", "expected true or false"),
        ("invalid u64", "expected a non-negative integer"),
        ("invalid u32", "expected a non-negative integer"),
    ];
    WORDING
        .iter()
        .find(|(lib, _)| msg == *lib)
        .map(|(_, plain)| (*plain).to_string())
}

#[cfg(test)]
mod tests;
