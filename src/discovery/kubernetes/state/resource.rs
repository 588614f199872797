//! Resource names as kube-state-metrics labels them: which resources of a request, limit,
//! allocatable or capacity get a series, with which `unit`, under which sanitized
//! `resource` value. Used by the container and node generators.

/// kube-state-metrics' `SanitizeLabelName`: every character outside `[a-zA-Z0-9_]`
/// becomes `_` (used for resource names such as `nvidia.com/gpu`).
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The `unit` kube-state-metrics gives a resource name, or `None` when it emits no series
/// for it. `pods_unit` is the unit of the `pods` resource (nodes only; pods never emit it).
pub(crate) fn resource_unit(name: &str, pods_unit: Option<&'static str>) -> Option<&'static str> {
    match name {
        "cpu" => Some("core"),
        "memory" | "storage" | "ephemeral-storage" => Some("byte"),
        "pods" => pods_unit,
        _ if name.starts_with("hugepages-") || name.starts_with("attachable-volumes-") => {
            Some("byte")
        }
        _ if is_extended_resource(name) => Some("integer"),
        _ => None,
    }
}

/// Kubernetes' `IsExtendedResourceName`: a domain-prefixed name outside `kubernetes.io/`,
/// not starting with `requests.`, that is a valid qualified name once prefixed with
/// `requests.` (a DNS subdomain, `/`, and a name of at most 63 characters).
fn is_extended_resource(name: &str) -> bool {
    if !name.contains('/') || name.contains("kubernetes.io/") || name.starts_with("requests.") {
        return false;
    }
    let Some((prefix, local)) = name.split_once('/') else {
        return false;
    };
    // The quota form is "requests." + prefix: one more DNS label in front, 9 more bytes.
    prefix.len() + "requests.".len() <= 253
        && is_dns_subdomain(prefix)
        && is_qualified_local_name(local)
}

fn is_qualified_local_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            b.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns_subdomain(s: &str) -> bool {
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            match (b.first(), b.last()) {
                (Some(first), Some(last)) => {
                    b.len() <= 63
                        && alnum(first)
                        && alnum(last)
                        && b.iter().all(|c| alnum(c) || *c == b'-')
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_kube_state_metrics() {
        let node = Some("integer");
        for (name, pods_unit, want) in [
            ("cpu", None, Some("core")),
            ("memory", None, Some("byte")),
            ("ephemeral-storage", None, Some("byte")),
            ("storage", None, Some("byte")),
            ("pods", None, None),
            ("pods", node, Some("integer")),
            ("hugepages-1Gi", None, Some("byte")),
            ("attachable-volumes-csi-ebs", None, Some("byte")),
            ("nvidia.com/gpu", None, Some("integer")),
            ("example.com/dongle", node, Some("integer")),
            ("kubernetes.io/something", None, None),
            ("requests.example.com/foo", None, None),
            ("Example.com/foo", None, None),
            ("example.com/-foo", None, None),
            ("example.com/a/b", None, None),
            ("example..com/foo", None, None),
            ("foo", None, None),
            ("", None, None),
            ("/", None, None),
        ] {
            assert_eq!(resource_unit(name, pods_unit), want, "{name}");
        }
    }

    #[test]
    fn sanitize_replaces_everything_but_word_characters() {
        assert_eq!(sanitize("nvidia.com/gpu"), "nvidia_com_gpu");
        assert_eq!(sanitize("ephemeral-storage"), "ephemeral_storage");
        assert_eq!(sanitize("hugepages-2Mi"), "hugepages_2Mi");
        assert_eq!(sanitize("é"), "_");
    }
}
