//! Exec credential plugins (`users[].user.exec` in a kubeconfig: aws, gke-gcloud-auth-plugin,
//! kubelogin, …), run by kmon itself rather than by kube-client so that a token that stops
//! working is fetched again: the plugin runs once before the first request, again shortly
//! before the token's `expirationTimestamp`, and again after any request comes back 401.
//!
//! A refresh first runs the plugin without a terminal. When that fails and the plugin may
//! be interactive (a browser sign-in, an MFA prompt), it runs again with the terminal: the
//! TUI, if one is up, hands the terminal over for the run (see [`set_terminal_handoff`])
//! and takes it back after, and the plugin gets a minute.
//!
//! Tokens never leave this module except in the `Authorization` header of a request; plugin
//! errors are passed through `connect::scrub`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::BoxFuture;
use kube::config::{ExecConfig, ExecInteractiveMode};
use tokio::sync::{Notify, mpsc, oneshot};

use super::connect::scrub;

/// How long a plugin may run without a terminal.
const QUIET_LIMIT: Duration = Duration::from_secs(30);
/// How long a plugin that has the terminal may run (a sign-in in a browser, an MFA code).
const TERMINAL_LIMIT: Duration = Duration::from_secs(60);
/// Refresh this long before the token expires.
const EARLY: Duration = Duration::from_secs(30);
/// Runs caused by 401s are at least this far apart.
const MIN_GAP: Duration = Duration::from_secs(10);

/// The terminal lent to a plugin: the TUI leaves the screen, answers `ready`, and takes the
/// screen back when `done` fires (or its sender is dropped).
pub struct TerminalLease {
    pub ready: oneshot::Sender<()>,
    pub done: oneshot::Receiver<()>,
}

static HANDOFF: Mutex<Option<mpsc::Sender<TerminalLease>>> = Mutex::new(None);

/// Registers (or with `None` removes) who lends the terminal to interactive plugins; the
/// TUI's app does while the screen is up. Without one, a plugin gets the terminal directly
/// when standard input is one.
pub fn set_terminal_handoff(tx: Option<mpsc::Sender<TerminalLease>>) {
    match HANDOFF.lock() {
        Ok(mut g) => *g = tx,
        Err(p) => *p.into_inner() = tx,
    }
}

fn handoff() -> Option<mpsc::Sender<TerminalLease>> {
    match HANDOFF.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

#[derive(Clone)]
struct Token {
    value: String,
    expires: Option<SystemTime>,
}

/// What [`ExecCredentials::prime`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primed {
    Token,
    Certificate,
}

/// The end of the error of a plugin that answers with a client certificate.
const CERTIFICATE_ONLY: &str = "returns a client certificate";

/// One kubeconfig user's exec plugin and the token it last gave.
pub struct ExecCredentials {
    exec: ExecConfig,
    command: String,
    token: RwLock<Option<Token>>,
    refresh: Arc<Notify>,
    refresher: AtomicBool,
    runs: AtomicU64,
    last_401: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for ExecCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecCredentials")
            .field("command", &self.command)
            .field("runs", &self.runs())
            .finish_non_exhaustive()
    }
}

impl ExecCredentials {
    /// Takes the exec plugin out of `config` (kube-client then adds no credentials of its
    /// own); `None` when the user has none.
    pub fn take_from(config: &mut kube::Config) -> Option<Arc<ExecCredentials>> {
        let exec = config.auth_info.exec.take()?;
        let command = exec.command.clone().unwrap_or_default();
        Some(Arc::new(ExecCredentials {
            exec,
            command,
            token: RwLock::new(None),
            refresh: Arc::new(Notify::new()),
            refresher: AtomicBool::new(false),
            runs: AtomicU64::new(0),
            last_401: Mutex::new(None),
        }))
    }

    /// How many times the plugin has run.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs the plugin when there is no token yet, with the terminal when it needs one (no
    /// TUI is up yet at start). A plugin that hands out a client certificate instead of a
    /// token is [`Primed::Certificate`]: kube-client then runs it itself (its TLS needs the
    /// certificate), without kmon's refresh after a 401.
    pub async fn prime(self: &Arc<Self>) -> Result<Primed, String> {
        if self.current().is_some() {
            return Ok(Primed::Token);
        }
        match self.fetch().await {
            Ok(token) => {
                self.store(token);
                Ok(Primed::Token)
            }
            Err(e) if e.ends_with(CERTIFICATE_ONLY) => Ok(Primed::Certificate),
            Err(e) => Err(e),
        }
    }

    /// The plugin's configuration, to give back to kube-client.
    pub fn config(&self) -> &ExecConfig {
        &self.exec
    }

    fn current(&self) -> Option<String> {
        let g = match self.token.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.as_ref().map(|t| t.value.clone())
    }

    fn store(&self, t: Token) {
        match self.token.write() {
            Ok(mut g) => *g = Some(t),
            Err(p) => *p.into_inner() = Some(t),
        }
    }

    fn expires(&self) -> Option<SystemTime> {
        let g = match self.token.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.as_ref().and_then(|t| t.expires)
    }

    /// A request sent with `used` came back 401: fetch again, unless a newer token already
    /// replaced it.
    fn unauthorized(&self, used: Option<&str>) {
        if used.is_some() && self.current().as_deref() != used {
            return;
        }
        self.refresh.notify_one();
    }

    /// Starts the background refresher once (needs a tokio runtime).
    fn ensure_refresher(self: &Arc<Self>) {
        if self.refresher.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = Arc::downgrade(self);
        let notify = self.refresh.clone();
        tokio::spawn(async move {
            loop {
                // Only a weak reference while waiting: when the clients are dropped (a
                // context switch), the task ends at its next wake-up.
                let Some(wait) = me.upgrade().map(|this| {
                    this.expires().map(|e| {
                        e.checked_sub(EARLY)
                            .and_then(|at| at.duration_since(SystemTime::now()).ok())
                            .unwrap_or(Duration::ZERO)
                    })
                }) else {
                    return;
                };
                let woke_by_401 = tokio::select! {
                    _ = notify.notified() => true,
                    _ = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(300))) => {
                        if wait.is_none() {
                            continue;
                        }
                        false
                    }
                };
                let Some(this) = me.upgrade() else { return };
                if woke_by_401 {
                    let last = *this.last_401.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(gap) = last.map(|t| t.elapsed()).filter(|g| *g < MIN_GAP) {
                        tokio::time::sleep(MIN_GAP - gap).await;
                    }
                    *this.last_401.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                }
                match this.fetch().await {
                    Ok(t) => this.store(t),
                    Err(e) => {
                        tracing::error!("exec credential plugin {}: {e}", this.command);
                        tokio::time::sleep(MIN_GAP).await;
                    }
                }
            }
        });
    }

    /// Runs the plugin: quietly first, then with the terminal when that fails and the
    /// plugin may be interactive.
    async fn fetch(&self) -> Result<Token, String> {
        let mode = self.exec.interactive_mode.clone();
        let may_prompt = !matches!(mode, Some(ExecInteractiveMode::Never));
        if !matches!(mode, Some(ExecInteractiveMode::Always)) {
            match self.run(false).await {
                Ok(t) => return Ok(t),
                // A certificate is an answer, not a failure: the terminal would not help.
                Err(e) if !may_prompt || e.ends_with(CERTIFICATE_ONLY) => return Err(e),
                Err(e) => tracing::info!(
                    "exec credential plugin {} failed without a terminal ({e}); running it with the terminal",
                    self.command
                ),
            }
        }
        match handoff() {
            Some(tx) => {
                let (ready_tx, ready_rx) = oneshot::channel();
                let (done_tx, done_rx) = oneshot::channel();
                let lease = TerminalLease {
                    ready: ready_tx,
                    done: done_rx,
                };
                if tx.send(lease).await.is_err() || ready_rx.await.is_err() {
                    return Err("the terminal is not available for the sign-in".into());
                }
                let result = self.run(true).await;
                let _ = done_tx.send(());
                result
            }
            None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => self.run(true).await,
            None => Err("the plugin needs a terminal and there is none".into()),
        }
    }

    async fn run(&self, terminal: bool) -> Result<Token, String> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let exec = self.exec.clone();
        let limit = if terminal {
            TERMINAL_LIMIT
        } else {
            QUIET_LIMIT
        };
        tokio::task::spawn_blocking(move || run_plugin(&exec, terminal, limit))
            .await
            .map_err(|e| format!("the plugin task failed: {e}"))?
    }
}

/// Runs the plugin once and reads its ExecCredential.
fn run_plugin(exec: &ExecConfig, terminal: bool, limit: Duration) -> Result<Token, String> {
    let command = exec.command.as_deref().ok_or("exec has no command")?;
    let mut cmd = Command::new(command);
    cmd.args(exec.args.iter().flatten());
    for pair in exec.env.iter().flatten() {
        if let (Some(n), Some(v)) = (pair.get("name"), pair.get("value")) {
            cmd.env(n, v);
        }
    }
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    let api_version = exec
        .api_version
        .clone()
        .unwrap_or_else(|| "client.authentication.k8s.io/v1beta1".into());
    let info = serde_json::json!({
        "apiVersion": api_version, "kind": "ExecCredential",
        "spec": {"interactive": terminal},
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string());
    cmd.stdout(Stdio::piped());
    if terminal {
        cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| match (e.kind(), &exec.install_hint) {
            (std::io::ErrorKind::NotFound, Some(hint)) => format!("{command} not found: {hint}"),
            _ => format!("starting {command}: {e}"),
        })?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > limit => {
                // Our own child, by its PID.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{command} did not finish within {}s",
                    limit.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {command}: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(scrub(&format!("{command} exited with {status}: {last}")));
    }
    parse_credential(&stdout).map_err(|e| format!("{command}: {e}"))
}

/// Reads an ExecCredential: `status.token` and `status.expirationTimestamp`.
fn parse_credential(stdout: &[u8]) -> Result<Token, String> {
    let v: serde_json::Value = serde_json::from_slice(stdout)
        .map_err(|e| format!("the output is not an ExecCredential (JSON: {e})"))?;
    let status = &v["status"];
    let Some(token) = status["token"].as_str().filter(|t| !t.is_empty()) else {
        return Err(if status["clientCertificateData"].is_string() {
            format!("the plugin {CERTIFICATE_ONLY}")
        } else {
            "the ExecCredential has no status.token".into()
        });
    };
    let expires = match status["expirationTimestamp"].as_str() {
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|e| format!("expirationTimestamp {s:?}: {e}"))?
                .into(),
        ),
        None => None,
    };
    Ok(Token {
        value: token.to_string(),
        expires,
    })
}

/// The tower layer that puts the plugin's token on every request and reports 401s.
#[derive(Clone)]
pub struct ExecAuthLayer(pub Arc<ExecCredentials>);

impl<S> tower::Layer<S> for ExecAuthLayer {
    type Service = ExecAuth<S>;
    fn layer(&self, inner: S) -> ExecAuth<S> {
        self.0.ensure_refresher();
        ExecAuth {
            inner,
            creds: self.0.clone(),
        }
    }
}

/// See [`ExecAuthLayer`].
pub struct ExecAuth<S> {
    inner: S,
    creds: Arc<ExecCredentials>,
}

impl<S, B> tower::Service<http::Request<kube::client::Body>> for ExecAuth<S>
where
    S: tower::Service<http::Request<kube::client::Body>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<http::Response<B>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<kube::client::Body>) -> Self::Future {
        let token = self.creds.current();
        if let Some(t) = &token
            && let Ok(mut v) = http::HeaderValue::from_str(&format!("Bearer {t}"))
        {
            v.set_sensitive(true);
            req.headers_mut().insert(http::header::AUTHORIZATION, v);
        }
        let fut = self.inner.call(req);
        let creds = self.creds.clone();
        Box::pin(async move {
            let resp = fut.await?;
            if resp.status() == http::StatusCode::UNAUTHORIZED {
                creds.unauthorized(token.as_deref());
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_token_and_expiry() {
        let t = parse_credential(
            br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"abc","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#,
        )
        .unwrap();
        assert_eq!(t.value, "abc");
        let want: SystemTime = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .into();
        assert_eq!(t.expires, Some(want));
        let e =
            parse_credential(br#"{"status":{"clientCertificateData":"x","clientKeyData":"y"}}"#)
                .err()
                .unwrap();
        assert!(e.ends_with(CERTIFICATE_ONLY), "{e}");
        assert!(parse_credential(b"Please sign in").is_err());
    }

    #[test]
    fn a_failing_plugin_names_itself_and_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("plugin.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho 'login failed: token: hunter2' >&2\nexit 3\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let exec = ExecConfig {
            command: Some(script.display().to_string()),
            ..ExecConfig::default()
        };
        let e = run_plugin(&exec, false, Duration::from_secs(10))
            .err()
            .unwrap();
        assert!(
            e.contains("plugin.sh") && e.contains("exit status: 3"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }
}
