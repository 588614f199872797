//! Reloading on SIGHUP, as Prometheus does: `on_sighup` runs one part's reload (the rules',
//! remote_write's) every time the process gets SIGHUP, and logs what it says, until the
//! engine's token is cancelled. `run::Engine` spawns one per reloadable part.

use std::future::Future;

use tokio_util::sync::CancellationToken;

/// Runs `reload` on every SIGHUP until `cancel`, logging the message it returns.
pub async fn on_sighup<F, Fut>(cancel: CancellationToken, mut reload: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = String>,
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    let msg = reload().await;
                    tracing::info!("SIGHUP: {msg}");
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (cancel, &mut reload);
    }
}
