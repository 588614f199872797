//! The data dir's lock: an exclusive OS lock (`flock`) on `<data dir>/lock`, the file
//! Prometheus locks too, so two writers — two kmons, or a kmon and a Prometheus — never
//! share a data dir. The lock belongs to the open file: a process that dies releases it,
//! so a lock file left behind never blocks a start. When the lock is taken, the error
//! names the process holding it (found in `/proc/locks` on Linux). Whoever opens the data
//! dir for writing holds a `DirLock` for as long as it writes; read-only opening takes
//! none.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file's name in the data dir (Prometheus's too).
pub const LOCK_FILE: &str = "lock";

/// Why the data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another open file holds the lock.
    #[error(
        "data dir {dir} is in use{}: stop it, or open the data dir read-only (--read-only)",
        holder_text(.holder)
    )]
    Held {
        dir: PathBuf,
        /// The holding process, when the OS says: (pid, its command name).
        holder: Option<(u32, String)>,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn holder_text(holder: &Option<(u32, String)>) -> String {
    match holder {
        Some((pid, name)) if !name.is_empty() => format!(" by {name} (pid {pid})"),
        Some((pid, _)) => format!(" by process {pid}"),
        None => " by another process".to_string(),
    }
}

/// An exclusive lock on a data dir, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    // Kept open: closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Locks `dir` (which must exist) for writing, without waiting.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held {
                dir: dir.to_path_buf(),
                holder: holder_of(&file),
            }),
            Err(TryLockError::Error(e)) => Err(io_err(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The process holding a lock on `file`, from `/proc/locks` (Linux); `None` elsewhere or
/// when it cannot be told.
fn holder_of(file: &File) -> Option<(u32, String)> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().ok()?;
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = holder_in(&locks, meta.dev(), meta.ino())?;
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Some((pid, name))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

/// In the text of `/proc/locks`, the pid of the first lock on the file with device `dev`
/// and inode `ino`. Lines read `1: FLOCK  ADVISORY  WRITE 4242 fd:01:131090 0 EOF`, the
/// device as hex major:minor; lines of waiters (`->`) are skipped.
pub fn holder_in(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    let (major, minor) = split_dev(dev);
    locks.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let _id = f.next()?;
        let kind = f.next()?;
        if kind == "->" {
            return None;
        }
        let _advisory = f.next()?;
        let _mode = f.next()?;
        let pid: u32 = f.next()?.parse().ok()?;
        let mut id = f.next()?.split(':');
        let maj = u64::from_str_radix(id.next()?, 16).ok()?;
        let min = u64::from_str_radix(id.next()?, 16).ok()?;
        let inode: u64 = id.next()?.parse().ok()?;
        (maj == major && min == minor && inode == ino).then_some(pid)
    })
}

/// Linux's split of a `dev_t` into major and minor numbers.
fn split_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
    (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time_and_the_holder_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DirLock::acquire(dir.path()).expect("the first lock");
        assert_eq!(first.path(), dir.path().join("lock"));
        // A second open file is a second would-be writer, even in this process.
        let err = DirLock::acquire(dir.path()).expect_err("already locked");
        match &err {
            LockError::Held { dir: d, holder } => {
                assert_eq!(d, dir.path());
                if cfg!(target_os = "linux") {
                    let (pid, _) = holder.as_ref().expect("the holder from /proc/locks");
                    assert_eq!(*pid, std::process::id());
                }
            }
            other => panic!("{other}"),
        }
        let text = err.to_string();
        assert!(text.starts_with(&format!("data dir {} is in use by ", dir.path().display())));
        assert!(text.ends_with(": stop it, or open the data dir read-only (--read-only)"));
        // Released on drop; the file left behind does not block the next start.
        drop(first);
        assert!(dir.path().join("lock").is_file());
        DirLock::acquire(dir.path()).expect("free again");
    }

    #[test]
    fn another_process_holding_the_lock_is_named() {
        // util-linux's flock(1) takes the same kind of lock from another process.
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("lock");
        // -o: the command does not inherit the lock, so flock(1) alone holds it.
        let Ok(mut child) = std::process::Command::new("flock")
            .args(["-n", "-o"])
            .arg(&lock)
            .args(["sleep", "5"])
            .spawn()
        else {
            eprintln!("flock(1) is not installed: skipping");
            return;
        };
        // Bounded wait for the child to take it (watched without taking it ourselves).
        let start = std::time::Instant::now();
        while cfg!(target_os = "linux")
            && File::open(&lock).ok().and_then(|f| holder_of(&f)).is_none()
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "flock(1) never took the lock"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let err = DirLock::acquire(dir.path()).expect_err("flock(1) holds it");
        let _ = child.kill();
        let _ = child.wait();
        if cfg!(target_os = "linux") {
            let LockError::Held {
                holder: Some((pid, name)),
                ..
            } = &err
            else {
                panic!("{err:?}");
            };
            assert_eq!(*pid, child.id(), "{err}");
            assert_eq!(name, "flock", "{err}");
        }
        // The holder is gone: the lock is free.
        DirLock::acquire(dir.path()).expect("released with its process");
    }

    #[test]
    fn a_dir_that_cannot_hold_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = DirLock::acquire(&missing).expect_err("no such dir");
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", missing.join("lock").display())),
            "{err}"
        );
    }

    #[test]
    fn proc_locks_lines() {
        // dev 0xfd01 (major 0xfd, minor 1), inode 131090.
        let dev = (0xfd << 8) | 1;
        let locks = "1: POSIX  ADVISORY  WRITE 100 00:1a:5 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 4242 fd:01:131090 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 4343 fd:01:131090 0 EOF\n";
        assert_eq!(holder_in(locks, dev, 131090), Some(4242));
        assert_eq!(holder_in(locks, dev, 131091), None);
        assert_eq!(holder_in("garbage\n\n1: FLOCK", dev, 131090), None);
        assert_eq!(split_dev(dev), (0xfd, 1));
        assert_eq!(
            holder_text(&Some((7, "prometheus".into()))),
            " by prometheus (pid 7)"
        );
        assert_eq!(holder_text(&None), " by another process");
    }
}
