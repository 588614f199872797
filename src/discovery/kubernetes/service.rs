//! The `service` role: one target per service port at `<name>.<namespace>.svc:<port>`, with
//! the port, type, cluster IP (external name for ExternalName services) and load-balancer IP.
//! Also builds the service labels the endpoints and endpointslice roles attach.

use k8s_openapi::api::core::v1::Service;

use super::{
    LabelMap, META_PREFIX, NAMESPACE_LABEL, Role, add_object_meta, join_host_port, name_of,
    namespace_of, str_or_empty,
};
use crate::discovery::{ADDRESS_LABEL, TargetGroup};

/// Namespace, name, labels and annotations of a service.
pub(crate) fn service_labels(svc: &Service) -> LabelMap {
    let mut ls = LabelMap::new();
    ls.set(NAMESPACE_LABEL, namespace_of(&svc.metadata));
    add_object_meta(&mut ls, &svc.metadata, Role::Service);
    ls
}

/// The group for a service (source `svc/<ns>/<name>`). A service without ports has no
/// targets (and so deletes its group).
pub fn service_group(svc: &Service) -> TargetGroup {
    let namespace = namespace_of(&svc.metadata);
    let name = name_of(&svc.metadata);
    let spec = svc.spec.as_ref();
    let ty = spec.map_or("", |s| str_or_empty(&s.type_));
    let p = format!("{META_PREFIX}service");
    let targets = spec
        .into_iter()
        .flat_map(|spec| spec.ports.iter().flatten().map(move |port| (spec, port)))
        .map(|(spec, port)| {
            let mut t = LabelMap::new();
            let host = format!("{name}.{namespace}.svc");
            t.set(ADDRESS_LABEL, join_host_port(&host, port.port));
            t.set(format!("{p}_port_name"), str_or_empty(&port.name));
            t.set(format!("{p}_port_number"), port.port.to_string());
            t.set(format!("{p}_port_protocol"), str_or_empty(&port.protocol));
            t.set(format!("{p}_type"), ty);
            if ty == "ExternalName" {
                t.set(
                    format!("{p}_external_name"),
                    str_or_empty(&spec.external_name),
                );
            } else {
                t.set(format!("{p}_cluster_ip"), str_or_empty(&spec.cluster_ip));
            }
            if ty == "LoadBalancer" {
                t.set(
                    format!("{p}_loadbalancer_ip"),
                    str_or_empty(&spec.load_balancer_ip),
                );
            }
            t.into_labels()
        })
        .collect();
    TargetGroup {
        source: Role::Service.source(namespace, name),
        labels: service_labels(svc).into_labels(),
        targets,
    }
}
