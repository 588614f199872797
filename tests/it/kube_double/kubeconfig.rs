//! Kubeconfig files pointing at doubles: one context for the token or the
//! client-certificate user, one with `insecure-skip-tls-verify`, or any number of
//! contexts over several doubles (context switching). Tests hand the file to kube-rs or
//! to the `kmon` binary (`--kubeconfig`, `KUBECONFIG`).

use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use super::{KubeDouble, User};

impl KubeDouble {
    /// Writes a kubeconfig with one context, `kube-double`, for `user`.
    pub fn kubeconfig(&self, path: &Path, user: User) -> std::io::Result<()> {
        write_kubeconfig(
            path,
            &[KubeContext::new("kube-double", self, user)],
            "kube-double",
        )
    }

    /// Writes a kubeconfig like [`KubeDouble::kubeconfig`] whose cluster has
    /// `insecure-skip-tls-verify: true` and no CA.
    pub fn kubeconfig_insecure(&self, path: &Path, user: User) -> std::io::Result<()> {
        let mut ctx = KubeContext::new("kube-double", self, user);
        ctx.insecure = true;
        write_kubeconfig(path, &[ctx], "kube-double")
    }

    pub(crate) fn user_entry(&self, user: User) -> Value {
        match user {
            User::Token => serde_json::json!({"token": self.token()}),
            User::Cert => serde_json::json!({
                "client-certificate-data": b64(&self.cert_pem),
                "client-key-data": b64(&self.key_pem),
            }),
        }
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// One context of a kubeconfig written by [`write_kubeconfig`].
pub struct KubeContext<'a> {
    pub name: String,
    pub double: &'a KubeDouble,
    pub user: User,
    pub namespace: Option<String>,
    pub insecure: bool,
}

impl<'a> KubeContext<'a> {
    pub fn new(name: &str, double: &'a KubeDouble, user: User) -> KubeContext<'a> {
        KubeContext {
            name: name.to_string(),
            double,
            user,
            namespace: None,
            insecure: false,
        }
    }
}

/// Writes a kubeconfig with one cluster, user and context per entry of `contexts`
/// (each named after its context), `current` as the current context.
pub fn write_kubeconfig(
    path: &Path,
    contexts: &[KubeContext<'_>],
    current: &str,
) -> std::io::Result<()> {
    let mut clusters = Vec::new();
    let mut users = Vec::new();
    let mut ctxs = Vec::new();
    for c in contexts {
        let cluster = if c.insecure {
            serde_json::json!({"server": c.double.url(), "insecure-skip-tls-verify": true})
        } else {
            serde_json::json!({
                "server": c.double.url(),
                "certificate-authority-data": b64(c.double.ca_pem()),
            })
        };
        clusters.push(serde_json::json!({"name": c.name, "cluster": cluster}));
        users.push(serde_json::json!({"name": c.name, "user": c.double.user_entry(c.user)}));
        let mut context = serde_json::json!({"cluster": c.name, "user": c.name});
        if let Some(ns) = &c.namespace {
            context["namespace"] = Value::from(ns.as_str());
        }
        ctxs.push(serde_json::json!({"name": c.name, "context": context}));
    }
    // JSON is YAML: kubeconfig readers (kube-rs, kubectl) accept it.
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": clusters,
        "users": users,
        "contexts": ctxs,
        "current-context": current,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
