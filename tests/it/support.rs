//! What the integration tests share: finding the reference binaries (`KMON_REF_BIN`), a
//! free loopback port, and a guard that kills a spawned child process when a test ends,
//! however it ends.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;

/// The reference binary `name` from the folder `KMON_REF_BIN` names. When the variable is
/// unset or the binary is missing, a test that needs it is skipped (prints why and
/// returns `None`) — except under `CI=true`, where that is a failure.
pub fn ref_bin(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("KMON_REF_BIN")
        .map(|dir| PathBuf::from(dir).join(name))
        .filter(|p| p.is_file());
    if found.is_none() {
        let why = match std::env::var_os("KMON_REF_BIN") {
            None => "KMON_REF_BIN not set".to_string(),
            Some(dir) => format!("{name} not found in KMON_REF_BIN={}", dir.to_string_lossy()),
        };
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "{why}: CI must run the interop tests (install with \
                 ../shared/tools/install-reference-prometheus.sh)"
            );
        }
        println!("skipping: {why} (install with ../shared/tools/install-reference-prometheus.sh)");
    }
    found
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    l.local_addr()
        .expect("local address of a bound socket")
        .port()
}

/// Owns a child process and kills it (by its PID) when dropped, so a failing test leaves
/// nothing running.
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    pub fn new(child: Child) -> Self {
        ChildGuard { child }
    }

    /// `Some(status)` when the child has already exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to exactly this PID; wait reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True under CI (`CI=true`), where a missing tool or binary is a failure, not a skip.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether the program `name` is on PATH. When it is not, a test that needs it is skipped
/// (prints why and returns false), except under `CI=true`, where that is a failure.
pub fn require_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        if ci() {
            panic!("{name} not found on PATH: CI must run this test (.ci/run installs it)");
        }
        println!("skipping: {name} not found on PATH");
    }
    found
}
