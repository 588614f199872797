//! `statfs(2)` with a deadline. A hung network mount blocks `statfs` for as long as the
//! server is gone; the filesystem subsystem must not hang the whole collect with it. Calls
//! run on a worker thread; one that does not answer within the timeout marks its mount
//! point as stuck, the worker is abandoned (a fresh one serves the next call), and the
//! mount point is reported as stuck until the hung call finally returns — node_exporter's
//! behaviour, with its 5 second default.

use std::collections::HashSet;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

/// Sizes of one filesystem, in node_exporter's units (bytes and inode counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FsStats {
    pub size: f64,
    pub free: f64,
    pub avail: f64,
    pub files: f64,
    pub files_free: f64,
}

/// The result of one call.
#[derive(Debug)]
pub(crate) enum Outcome {
    Stats(FsStats),
    Failed(io::Error),
    /// No answer within the timeout (now, or a previous call still hangs).
    Stuck,
}

type Reply = (PathBuf, io::Result<FsStats>);

struct Worker {
    requests: mpsc::Sender<PathBuf>,
    replies: mpsc::Receiver<Reply>,
}

/// Runs `statfs` calls with a deadline; see the module comment.
pub(crate) struct StatfsRunner {
    worker: Option<Worker>,
    /// Paths whose call has not returned yet. Shared with the workers, which remove a
    /// path (under the lock, before replying) when its call returns.
    stuck: Arc<Mutex<HashSet<PathBuf>>>,
    timeout: Duration,
}

impl StatfsRunner {
    pub(crate) fn new(timeout: Duration) -> Self {
        StatfsRunner {
            worker: None,
            stuck: Arc::default(),
            timeout,
        }
    }

    /// `statfs(path)`, or `Stuck` when it takes longer than the timeout.
    pub(crate) fn stat(&mut self, path: &Path) -> Outcome {
        if self.stuck.lock().contains(path) {
            return Outcome::Stuck;
        }
        let worker = match self.worker.take() {
            Some(w) => w,
            None => match self.spawn() {
                Ok(w) => w,
                Err(e) => return Outcome::Failed(e),
            },
        };
        if worker.requests.send(path.to_path_buf()).is_err() {
            return Outcome::Failed(io::Error::other("statfs worker exited"));
        }
        let reply = match worker.replies.recv_timeout(self.timeout) {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => {
                // The worker removes a path and replies under this lock, so either the
                // reply is already queued or the worker will see our insertion.
                let mut stuck = self.stuck.lock();
                match worker.replies.try_recv() {
                    Ok(reply) => reply,
                    Err(_) => {
                        // Abandon the worker (dropped here); the next call gets a new one.
                        stuck.insert(path.to_path_buf());
                        return Outcome::Stuck;
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Outcome::Failed(io::Error::other("statfs worker exited"));
            }
        };
        self.worker = Some(worker);
        match reply {
            (p, Ok(stats)) if p == path => Outcome::Stats(stats),
            (p, Err(e)) if p == path => Outcome::Failed(e),
            // Cannot happen: one request is in flight at a time.
            _ => Outcome::Failed(io::Error::other("statfs reply for another path")),
        }
    }

    fn spawn(&self) -> io::Result<Worker> {
        let (req_tx, req_rx) = mpsc::channel::<PathBuf>();
        let (rep_tx, rep_rx) = mpsc::channel::<Reply>();
        let stuck = Arc::clone(&self.stuck);
        thread::Builder::new()
            .name("kmon-statfs".into())
            .spawn(move || {
                for path in req_rx {
                    let result = statfs(&path);
                    let mut s = stuck.lock();
                    s.remove(&path);
                    if rep_tx.send((path, result)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Worker {
            requests: req_tx,
            replies: rep_rx,
        })
    }
}

/// One `statfs(2)` call. Sizes are blocks × `f_bsize`, exactly as node_exporter computes
/// them; `statvfs(3)` would scale by `f_frsize` instead, which differs from `f_bsize` on a
/// few filesystems, so kmon uses the same call as node_exporter to report the same numbers.
pub(crate) fn statfs(path: &Path) -> io::Result<FsStats> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: `statfs` is plain old data; all-zero is a valid value.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated string and `buf` a valid, writable `statfs`.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut buf) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let bsize = buf.f_bsize as f64;
    Ok(FsStats {
        size: buf.f_blocks as f64 * bsize,
        free: buf.f_bfree as f64 * bsize,
        avail: buf.f_bavail as f64 * bsize,
        files: buf.f_files as f64,
        files_free: buf.f_ffree as f64,
    })
}

/// An OS error as Go prints it (node_exporter puts this text in the `device_error`
/// label): the C library's message without Rust's " (os error N)" suffix, first letter in
/// lower case ("no such file or directory").
pub(crate) fn error_text(e: &io::Error) -> String {
    let full = e.to_string();
    let msg = match full.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => &full[..i],
        _ => full.as_str(),
    };
    let mut chars = msg.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_the_root_and_errors_in_go_wording() {
        let mut r = StatfsRunner::new(Duration::from_secs(5));
        match r.stat(Path::new("/")) {
            Outcome::Stats(s) => assert!(s.size > 0.0 && s.avail <= s.free),
            other => panic!("{other:?}"),
        }
        match r.stat(Path::new("/no/such/kmon/dir")) {
            Outcome::Failed(e) => assert_eq!(error_text(&e), "no such file or directory"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_call_past_the_deadline_marks_the_path_stuck() {
        // A zero timeout almost always expires before the worker answers; when it does
        // not, the call simply succeeded, which is also correct.
        let mut r = StatfsRunner::new(Duration::ZERO);
        if let Outcome::Stuck = r.stat(Path::new("/")) {
            // Until the worker's call returns, the path stays stuck; then it recovers.
            let mut recovered = false;
            for _ in 0..200 {
                thread::sleep(Duration::from_millis(5));
                if !r.stuck.lock().contains(Path::new("/")) {
                    recovered = true;
                    break;
                }
            }
            assert!(recovered, "the stuck mark is cleared when the call returns");
        }
    }
}
