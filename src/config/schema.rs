//! Which keys `prometheus.yml` may hold, as data: for each section, the keys kmon reads, the
//! keys Prometheus 3.5 accepts that kmon does not support yet (reported as warnings, never
//! dropped silently), and everything else is an unknown key, an error as in Prometheus. The
//! loader runs `check` on the position-aware tree before deserializing.

use super::yaml::{Node, Pos, Step, Value};

/// A mapping section and its keys. `go_type` names Prometheus's type, for messages that read
/// like Prometheus's own (`field xyz not found in type config.ScrapeConfig`).
pub struct Section {
    pub go_type: &'static str,
    pub fields: &'static [(&'static str, Kind)],
}

#[derive(Clone, Copy)]
pub enum Kind {
    /// A scalar, a list of scalars or a free-form map (labels, params): not checked further.
    Leaf,
    /// A mapping checked against a section.
    Map(&'static Section),
    /// A list of mappings, each checked against a section. The text names a null item, as
    /// in "empty or null <text>".
    List(&'static Section, &'static str),
    /// Valid in Prometheus 3.5, not supported by kmon yet: a warning, and the value is ignored.
    Unsupported,
}

use Kind::{Leaf, List, Map, Unsupported};

pub static ROOT: Section = Section {
    go_type: "config.Config",
    fields: &[
        ("global", Map(&GLOBAL)),
        ("scrape_configs", List(&SCRAPE, "scrape config section")),
        ("runtime", Unsupported),
        ("alerting", Map(&ALERTING)),
        ("rule_files", Leaf),
        ("scrape_config_files", Unsupported),
        ("storage", Unsupported),
        ("tracing", Unsupported),
        (
            "remote_write",
            List(&REMOTE_WRITE, "remote write config section"),
        ),
        ("remote_read", Unsupported),
        ("otlp", Unsupported),
    ],
};

static GLOBAL: Section = Section {
    go_type: "config.GlobalConfig",
    fields: &[
        ("scrape_interval", Leaf),
        ("scrape_timeout", Leaf),
        ("scrape_protocols", Leaf),
        ("evaluation_interval", Leaf),
        ("rule_query_offset", Leaf),
        ("external_labels", Leaf),
        ("body_size_limit", Leaf),
        ("sample_limit", Leaf),
        ("target_limit", Leaf),
        ("label_limit", Leaf),
        ("label_name_length_limit", Leaf),
        ("label_value_length_limit", Leaf),
        ("keep_dropped_targets", Leaf),
        ("query_log_file", Unsupported),
        ("scrape_failure_log_file", Unsupported),
        ("metric_name_validation_scheme", Unsupported),
        ("metric_name_escaping_scheme", Unsupported),
        ("convert_classic_histograms_to_nhcb", Unsupported),
        ("always_scrape_classic_histograms", Unsupported),
    ],
};

static SCRAPE: Section = Section {
    go_type: "config.ScrapeConfig",
    fields: &[
        ("job_name", Leaf),
        ("honor_labels", Leaf),
        ("honor_timestamps", Leaf),
        ("track_timestamps_staleness", Leaf),
        ("params", Leaf),
        ("scrape_interval", Leaf),
        ("scrape_timeout", Leaf),
        ("scrape_protocols", Leaf),
        ("fallback_scrape_protocol", Leaf),
        ("metrics_path", Leaf),
        ("scheme", Leaf),
        ("enable_compression", Leaf),
        ("body_size_limit", Leaf),
        ("sample_limit", Leaf),
        ("target_limit", Leaf),
        ("label_limit", Leaf),
        ("label_name_length_limit", Leaf),
        ("label_value_length_limit", Leaf),
        ("keep_dropped_targets", Leaf),
        ("always_scrape_classic_histograms", Unsupported),
        ("convert_classic_histograms_to_nhcb", Unsupported),
        ("scrape_failure_log_file", Unsupported),
        ("native_histogram_bucket_limit", Unsupported),
        ("native_histogram_min_bucket_factor", Unsupported),
        ("metric_name_validation_scheme", Unsupported),
        ("metric_name_escaping_scheme", Unsupported),
        // HTTP client settings (prometheus/common's HTTPClientConfig, inlined).
        ("basic_auth", Map(&BASIC_AUTH)),
        ("authorization", Map(&AUTHORIZATION)),
        ("bearer_token", Leaf),
        ("bearer_token_file", Leaf),
        ("tls_config", Map(&TLS)),
        ("follow_redirects", Leaf),
        ("enable_http2", Leaf),
        ("oauth2", Unsupported),
        ("proxy_url", Unsupported),
        ("no_proxy", Unsupported),
        ("proxy_from_environment", Unsupported),
        ("proxy_connect_header", Unsupported),
        ("http_headers", Unsupported),
        // Rules and service discovery.
        (
            "relabel_configs",
            List(&RELABEL, "target relabeling rule in scrape config"),
        ),
        (
            "metric_relabel_configs",
            List(&RELABEL, "metric relabeling rule in scrape config"),
        ),
        ("static_configs", List(&STATIC, "section in static_configs")),
        (
            "file_sd_configs",
            List(&FILE_SD, "section in file_sd_configs"),
        ),
        ("azure_sd_configs", Unsupported),
        ("consul_sd_configs", Unsupported),
        ("digitalocean_sd_configs", Unsupported),
        ("docker_sd_configs", Unsupported),
        ("dockerswarm_sd_configs", Unsupported),
        ("dns_sd_configs", Unsupported),
        ("ec2_sd_configs", Unsupported),
        ("eureka_sd_configs", Unsupported),
        ("gce_sd_configs", Unsupported),
        ("hetzner_sd_configs", Unsupported),
        ("http_sd_configs", Unsupported),
        ("ionos_sd_configs", Unsupported),
        (
            "kubernetes_sd_configs",
            List(&KUBERNETES_SD, "section in kubernetes_sd_configs"),
        ),
        ("kuma_sd_configs", Unsupported),
        ("lightsail_sd_configs", Unsupported),
        ("linode_sd_configs", Unsupported),
        ("marathon_sd_configs", Unsupported),
        ("nerve_sd_configs", Unsupported),
        ("nomad_sd_configs", Unsupported),
        ("openstack_sd_configs", Unsupported),
        ("ovhcloud_sd_configs", Unsupported),
        ("puppetdb_sd_configs", Unsupported),
        ("scaleway_sd_configs", Unsupported),
        ("serverset_sd_configs", Unsupported),
        ("stackit_sd_configs", Unsupported),
        ("triton_sd_configs", Unsupported),
        ("uyuni_sd_configs", Unsupported),
        ("vultr_sd_configs", Unsupported),
    ],
};

static KUBERNETES_SD: Section = Section {
    // Prometheus's messages name the `plain` alias its UnmarshalYAML decodes into.
    go_type: "kubernetes.plain",
    fields: &[
        ("role", Leaf),
        ("api_server", Leaf),
        ("kubeconfig_file", Leaf),
        ("namespaces", Map(&KUBERNETES_NAMESPACES)),
        (
            "selectors",
            List(&KUBERNETES_SELECTOR, "selector in kubernetes_sd_configs"),
        ),
        ("attach_metadata", Map(&KUBERNETES_ATTACH)),
        // HTTP client settings (prometheus/common's HTTPClientConfig, inlined).
        ("basic_auth", Map(&BASIC_AUTH)),
        ("authorization", Map(&AUTHORIZATION)),
        ("bearer_token", Leaf),
        ("bearer_token_file", Leaf),
        ("tls_config", Map(&TLS)),
        ("follow_redirects", Leaf),
        ("enable_http2", Leaf),
        ("oauth2", Unsupported),
        ("proxy_url", Unsupported),
        ("no_proxy", Unsupported),
        ("proxy_from_environment", Unsupported),
        ("proxy_connect_header", Unsupported),
        ("http_headers", Unsupported),
    ],
};

static KUBERNETES_NAMESPACES: Section = Section {
    go_type: "kubernetes.plain",
    fields: &[("own_namespace", Leaf), ("names", Leaf)],
};

static KUBERNETES_SELECTOR: Section = Section {
    go_type: "kubernetes.SelectorConfig",
    fields: &[("role", Leaf), ("label", Leaf), ("field", Leaf)],
};

static KUBERNETES_ATTACH: Section = Section {
    go_type: "kubernetes.AttachMetadataConfig",
    fields: &[("node", Leaf)],
};

static BASIC_AUTH: Section = Section {
    go_type: "config.BasicAuth",
    fields: &[
        ("username", Leaf),
        ("username_file", Leaf),
        ("password", Leaf),
        ("password_file", Leaf),
        ("username_ref", Unsupported),
        ("password_ref", Unsupported),
    ],
};

static AUTHORIZATION: Section = Section {
    go_type: "config.Authorization",
    fields: &[
        ("type", Leaf),
        ("credentials", Leaf),
        ("credentials_file", Leaf),
        ("credentials_ref", Unsupported),
    ],
};

static TLS: Section = Section {
    go_type: "config.TLSConfig",
    fields: &[
        ("ca", Leaf),
        ("ca_file", Leaf),
        ("cert", Leaf),
        ("cert_file", Leaf),
        ("key", Leaf),
        ("key_file", Leaf),
        ("server_name", Unsupported), // reqwest cannot override the verified name yet
        ("insecure_skip_verify", Leaf),
        ("min_version", Leaf),
        ("max_version", Leaf),
        ("ca_ref", Unsupported),
        ("cert_ref", Unsupported),
        ("key_ref", Unsupported),
    ],
};

static STATIC: Section = Section {
    go_type: "targetgroup.Group",
    fields: &[("targets", Leaf), ("labels", Leaf)],
};

static FILE_SD: Section = Section {
    go_type: "file.SDConfig",
    fields: &[("files", Leaf), ("refresh_interval", Leaf)],
};

static RELABEL: Section = Section {
    go_type: "relabel.Config",
    fields: &[
        ("source_labels", Leaf),
        ("separator", Leaf),
        ("regex", Leaf),
        ("modulus", Leaf),
        ("target_label", Leaf),
        ("replacement", Leaf),
        ("action", Leaf),
    ],
};

// `alerting:` (Prometheus's AlertingConfig and AlertmanagerConfig).

static ALERTING: Section = Section {
    go_type: "config.plain",
    fields: &[
        (
            "alert_relabel_configs",
            List(&RELABEL, "alert relabeling rule"),
        ),
        (
            "alertmanagers",
            List(&ALERTMANAGER, "Alertmanager config section"),
        ),
    ],
};

static ALERTMANAGER: Section = Section {
    go_type: "config.AlertmanagerConfig",
    fields: &[
        ("static_configs", List(&STATIC, "section in static_configs")),
        ("scheme", Leaf),
        ("path_prefix", Leaf),
        ("timeout", Leaf),
        ("api_version", Leaf),
        (
            "relabel_configs",
            List(&RELABEL, "Alertmanager target relabeling rule"),
        ),
        (
            "alert_relabel_configs",
            List(&RELABEL, "Alertmanager alert relabeling rule"),
        ),
        ("sigv4", Unsupported),
        // HTTP client settings (prometheus/common's HTTPClientConfig, inlined).
        ("basic_auth", Map(&BASIC_AUTH)),
        ("authorization", Map(&AUTHORIZATION)),
        ("bearer_token", Leaf),
        ("bearer_token_file", Leaf),
        ("tls_config", Map(&TLS)),
        ("follow_redirects", Leaf),
        ("enable_http2", Leaf),
        ("oauth2", Unsupported),
        ("proxy_url", Unsupported),
        ("no_proxy", Unsupported),
        ("proxy_from_environment", Unsupported),
        ("proxy_connect_header", Unsupported),
        ("http_headers", Unsupported),
        // Service discovery: only static targets so far.
        ("file_sd_configs", Unsupported),
        ("kubernetes_sd_configs", Unsupported),
        ("azure_sd_configs", Unsupported),
        ("consul_sd_configs", Unsupported),
        ("digitalocean_sd_configs", Unsupported),
        ("docker_sd_configs", Unsupported),
        ("dockerswarm_sd_configs", Unsupported),
        ("dns_sd_configs", Unsupported),
        ("ec2_sd_configs", Unsupported),
        ("eureka_sd_configs", Unsupported),
        ("gce_sd_configs", Unsupported),
        ("hetzner_sd_configs", Unsupported),
        ("http_sd_configs", Unsupported),
        ("ionos_sd_configs", Unsupported),
        ("kuma_sd_configs", Unsupported),
        ("lightsail_sd_configs", Unsupported),
        ("linode_sd_configs", Unsupported),
        ("marathon_sd_configs", Unsupported),
        ("nerve_sd_configs", Unsupported),
        ("nomad_sd_configs", Unsupported),
        ("openstack_sd_configs", Unsupported),
        ("ovhcloud_sd_configs", Unsupported),
        ("puppetdb_sd_configs", Unsupported),
        ("scaleway_sd_configs", Unsupported),
        ("serverset_sd_configs", Unsupported),
        ("stackit_sd_configs", Unsupported),
        ("triton_sd_configs", Unsupported),
        ("uyuni_sd_configs", Unsupported),
        ("vultr_sd_configs", Unsupported),
    ],
};

// `remote_write:` (Prometheus's RemoteWriteConfig, QueueConfig and MetadataConfig).

static REMOTE_WRITE: Section = Section {
    go_type: "config.plain",
    fields: &[
        ("url", Leaf),
        ("remote_timeout", Leaf),
        ("headers", Leaf),
        (
            "write_relabel_configs",
            List(&RELABEL, "relabeling rule in remote write config"),
        ),
        ("name", Leaf),
        ("send_exemplars", Unsupported),
        ("send_native_histograms", Unsupported),
        ("round_robin_dns", Unsupported),
        ("protobuf_message", Leaf),
        ("queue_config", Map(&QUEUE)),
        ("metadata_config", Map(&METADATA)),
        ("sigv4", Unsupported),
        ("azuread", Unsupported),
        ("google_iam", Unsupported),
        // HTTP client settings (prometheus/common's HTTPClientConfig, inlined).
        ("basic_auth", Map(&BASIC_AUTH)),
        ("authorization", Map(&AUTHORIZATION)),
        ("bearer_token", Leaf),
        ("bearer_token_file", Leaf),
        ("tls_config", Map(&TLS)),
        ("follow_redirects", Leaf),
        ("enable_http2", Leaf),
        ("oauth2", Unsupported),
        ("proxy_url", Unsupported),
        ("no_proxy", Unsupported),
        ("proxy_from_environment", Unsupported),
        ("proxy_connect_header", Unsupported),
        ("http_headers", Unsupported),
    ],
};

static QUEUE: Section = Section {
    go_type: "config.QueueConfig",
    fields: &[
        ("capacity", Leaf),
        ("max_shards", Leaf),
        ("min_shards", Leaf),
        ("max_samples_per_send", Leaf),
        ("batch_send_deadline", Leaf),
        ("min_backoff", Leaf),
        ("max_backoff", Leaf),
        ("retry_on_http_429", Leaf),
        ("sample_age_limit", Leaf),
    ],
};

static METADATA: Section = Section {
    go_type: "config.MetadataConfig",
    fields: &[
        ("send", Leaf),
        ("send_interval", Leaf),
        ("max_samples_per_send", Leaf),
    ],
};

/// Keys that older or newer Prometheus versions had, with what to do instead.
const RENAMED: &[(&str, &str)] = &[
    (
        "scrape_classic_histograms",
        "renamed to always_scrape_classic_histograms in Prometheus 3",
    ),
    (
        "scrape_config_file",
        "the top-level key is scrape_config_files, a list",
    ),
];

/// An error found by the schema check, located in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: Vec<Step>,
    pub pos: Pos,
    pub what: FindingKind,
}

/// A key kmon does not support yet, located in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedKey {
    pub path: Vec<Step>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    Unknown {
        field: String,
        go_type: &'static str,
        hint: Option<String>,
    },
    NullItem(&'static str),
}

/// Checks `root` against `ROOT`. Returns the first error (unknown key, null list item), in
/// document order, and every unsupported key seen before it.
pub fn check(root: &Node) -> (Vec<UnsupportedKey>, Option<Finding>) {
    let mut warnings = Vec::new();
    let mut path = Vec::new();
    let err = check_section(root, &ROOT, &mut path, &mut warnings).err();
    (warnings, err)
}

fn check_section(
    node: &Node,
    section: &'static Section,
    path: &mut Vec<Step>,
    warnings: &mut Vec<UnsupportedKey>,
) -> Result<(), Finding> {
    // Anything but a mapping is a type error, reported by deserialization with its position.
    let Value::Map(entries) = &node.value else {
        return Ok(());
    };
    for entry in entries {
        path.push(Step::Key(entry.key.clone()));
        let finding = |what| Finding {
            path: path.clone(),
            pos: entry.key_pos,
            what,
        };
        match section.fields.iter().find(|(name, _)| *name == entry.key) {
            None => {
                return Err(finding(FindingKind::Unknown {
                    field: entry.key.clone(),
                    go_type: section.go_type,
                    hint: hint(&entry.key, section),
                }));
            }
            Some((_, Leaf)) => {}
            Some((_, Unsupported)) => warnings.push(UnsupportedKey {
                path: path.clone(),
                pos: entry.key_pos,
            }),
            Some((_, Map(inner))) => check_section(&entry.value, inner, path, warnings)?,
            Some((_, List(inner, null_text))) => {
                if let Value::Seq(items) = &entry.value.value {
                    for (idx, item) in items.iter().enumerate() {
                        path.push(Step::Index(idx));
                        if matches!(item.value, Value::Null) {
                            return Err(Finding {
                                path: path.clone(),
                                pos: if item.pos.is_known() {
                                    item.pos
                                } else {
                                    entry.key_pos
                                },
                                what: FindingKind::NullItem(null_text),
                            });
                        }
                        check_section(item, inner, path, warnings)?;
                        path.pop();
                    }
                }
            }
        }
        path.pop();
    }
    Ok(())
}

/// A suggestion for an unknown key: a known rename, or a close spelling of a key the section
/// has.
fn hint(key: &str, section: &Section) -> Option<String> {
    if let Some((_, text)) = RENAMED.iter().find(|(old, _)| *old == key) {
        return Some((*text).to_string());
    }
    section
        .fields
        .iter()
        .map(|(name, _)| (edit_distance(key, name), *name))
        .filter(|(d, name)| *d <= 2 && *d < name.len() / 2)
        .min()
        .map(|(_, name)| format!("did you mean {name:?}?"))
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::super::yaml::PathDisplay;
    use super::*;

    fn run(doc: &str) -> (Vec<String>, Option<String>) {
        let root: Node = serde_saphyr::from_str(doc).expect("test YAML parses");
        let (warnings, err) = check(&root);
        let show = |f: &Finding| {
            format!(
                "{}:{} {} {:?}",
                f.pos.line,
                f.pos.column,
                PathDisplay(&f.path),
                f.what
            )
        };
        let warn = |u: &UnsupportedKey| {
            format!(
                "{}:{} {} Unsupported",
                u.pos.line,
                u.pos.column,
                PathDisplay(&u.path)
            )
        };
        (warnings.iter().map(warn).collect(), err.as_ref().map(show))
    }

    #[test]
    fn unsupported_keys_are_warnings_with_positions() {
        let doc = "\
global:
  scrape_interval: 15s
  query_log_file: q.log
remote_read: []
scrape_configs:
  - job_name: k
    consul_sd_configs:
      - server: x
    oauth2:
      client_id: x
";
        let (warnings, err) = run(doc);
        assert_eq!(err, None);
        assert_eq!(
            warnings,
            [
                "3:3 global.query_log_file Unsupported",
                "4:1 remote_read Unsupported",
                "7:5 scrape_configs[0].consul_sd_configs Unsupported",
                "9:5 scrape_configs[0].oauth2 Unsupported",
            ]
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_hints() {
        let cases: &[(&str, &str)] = &[
            (
                "scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n",
                "3:5 scrape_configs[0].scrape_intervall Unknown { field: \"scrape_intervall\", go_type: \"config.ScrapeConfig\", hint: Some(\"did you mean \\\"scrape_interval\\\"?\") }",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    tls_config:\n      insecure: true\n",
                "4:7 scrape_configs[0].tls_config.insecure Unknown { field: \"insecure\", go_type: \"config.TLSConfig\", hint: None }",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    scrape_classic_histograms: true\n",
                "3:5 scrape_configs[0].scrape_classic_histograms Unknown { field: \"scrape_classic_histograms\", go_type: \"config.ScrapeConfig\", hint: Some(\"renamed to always_scrape_classic_histograms in Prometheus 3\") }",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [x]\n        label: {a: b}\n",
                "5:9 scrape_configs[0].static_configs[0].label Unknown { field: \"label\", go_type: \"targetgroup.Group\", hint: Some(\"did you mean \\\"labels\\\"?\") }",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      -\n",
                "4:8 scrape_configs[0].relabel_configs[0] NullItem(\"target relabeling rule in scrape config\")",
            ),
            (
                "foo: 1\n",
                "1:1 foo Unknown { field: \"foo\", go_type: \"config.Config\", hint: None }",
            ),
        ];
        for (doc, want) in cases {
            let (_, err) = run(doc);
            assert_eq!(err.as_deref(), Some(*want), "{doc}");
        }
    }

    #[test]
    fn free_form_maps_are_not_checked() {
        let doc = "global:\n  external_labels:\n    anything: goes\nscrape_configs:\n  - job_name: a\n    params:\n      module: [x]\n";
        assert_eq!(run(doc), (vec![], None));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
