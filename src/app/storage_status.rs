//! Storage errors in the status line: a task that asks the data dir's `Db` every second
//! whether a write is failing (a full disk makes WAL writes fail) and shows that in the
//! TUI's status line, then clears it once writes succeed again; also corrupt chunks that
//! queries skipped. `Engine::start` runs it.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::tsdb::db::Db;

/// How often the data dir is asked.
const EVERY: Duration = Duration::from_secs(1);

/// Shows `current` (the storage error now, if any) in `status`, or clears the note this
/// task showed before when there is none. `shown` is the note this task last set; a
/// status someone else set meanwhile is left alone.
pub(super) fn update(
    shown: &mut Option<String>,
    current: Option<String>,
    status: &watch::Sender<String>,
) {
    match current {
        Some(e) => {
            let note = format!("storage error: {e}");
            if shown.as_ref() != Some(&note) {
                status.send_replace(note.clone());
                *shown = Some(note);
            }
        }
        None => {
            if let Some(n) = shown.take()
                && *status.borrow() == n
            {
                status.send_replace(String::new());
            }
        }
    }
}

/// What is wrong with the data dir now: a failing write, else the corrupt chunks queries
/// had to skip (each named once in kmon.log).
fn current_problem(db: &Db) -> Option<String> {
    db.storage_error().or_else(|| match db.corrupt_chunks_seen() {
        0 => None,
        1 => Some("1 corrupt chunk skipped by queries (kmon.log names it; `kmon tsdb check` lists all)".into()),
        n => Some(format!("{n} corrupt chunks skipped by queries (kmon.log names them; `kmon tsdb check` lists all)")),
    })
}

/// Runs `update` every second until `cancel` fires or the `Db` is gone.
pub(super) async fn watch_storage(
    db: Weak<Db>,
    status: watch::Sender<String>,
    cancel: CancellationToken,
) {
    let mut shown = None;
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(current) = db.upgrade().map(|db| current_problem(&db)) else {
            return;
        };
        update(&mut shown, current, &status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_shows_while_writes_fail_and_clears_after() {
        let (tx, rx) = watch::channel(String::new());
        let mut shown = None;
        update(&mut shown, None, &tx);
        assert_eq!(*rx.borrow(), "");
        update(
            &mut shown,
            Some("WAL wal/00000001: No space left".into()),
            &tx,
        );
        assert_eq!(
            *rx.borrow(),
            "storage error: WAL wal/00000001: No space left"
        );
        update(&mut shown, None, &tx);
        assert_eq!(*rx.borrow(), "");
        // A status set by something else (an export) is not cleared.
        update(&mut shown, Some("full".into()), &tx);
        tx.send_replace("exported to /x".into());
        update(&mut shown, None, &tx);
        assert_eq!(*rx.borrow(), "exported to /x");
    }
}
