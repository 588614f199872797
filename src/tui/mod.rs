//! The terminal UI: takes the terminal over, draws the latest `UiSnapshot` the app publishes,
//! and turns key presses into view changes or `Action`s sent back to the app. `app` calls
//! `run` with the snapshot and action channels, a `Theme`, `TuiOptions` and a channel of
//! `Suspend` requests (the terminal lent to an exec plugin's sign-in); nothing else in
//! the crate talks to it. It sees only `app`'s snapshot and action types, `model`, and its
//! own theme.
//!
//! Inside: `terminal` (the guard), `keymap` (keys as data, per mode), `view` (view state),
//! `editor` (the query bar's line and history), `targets_view` (the targets pane's
//! filters and selection), `cluster_view` (the cluster browser's tables, sort, filter and
//! namespace), `dashboard_view` (the dashboard's focus), `theme`, `format`
//! (units), `widgets/` (graphs, legend, meter, box, big numbers), `screens/` (pure
//! drawing, and mouse hit-testing against it) and `export` (a drawn buffer as SVG, HTML,
//! ANSI or text).

pub mod cluster_view;
pub mod dashboard_view;
pub mod editor;
pub mod export;
pub mod fixture;
pub mod format;
pub mod keymap;
pub mod screens;
pub mod targets_view;
pub mod terminal;
pub mod theme;
pub mod view;
pub mod widgets;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::app::{Action, UiSnapshot};

pub use keymap::{Intent, KeyBinding, Keymap};
pub use theme::{ColorDepth, Gradient, Theme, ThemeError, ThemeSet};
pub use view::{BoxId, Flow, Mode, ViewState};

/// How long `run` waits to hand `Action::Quit` to a busy app before leaving anyway.
const QUIT_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// How the TUI runs, apart from its data.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// The shortest time between two redraws for new data: snapshots that arrive faster
    /// are drawn at this rate, the latest one each time. Input and resizes draw at once,
    /// and nothing draws while nothing changes (drawing is a pure function of snapshot,
    /// view and theme, so an unchanged frame would be the same cells).
    pub frame_interval: Duration,
    /// The key table.
    pub keymap: Keymap,
    /// The view state to start with (which boxes are shown).
    pub view: ViewState,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            frame_interval: Duration::from_millis(200),
            keymap: Keymap::default(),
            view: ViewState::default(),
        }
    }
}

/// Runs the TUI on this process's terminal until the user quits (after sending
/// `Action::Quit`), the app drops its end of either channel, or the terminal fails. The
/// terminal is restored on every one of those paths, and on panics. `theme` is the theme
/// to start with; `opts.view.themes` holds the ones `T` switches to and the colour depth.
pub async fn run(
    snapshots: watch::Receiver<Arc<UiSnapshot>>,
    actions: mpsc::Sender<Action>,
    theme: Theme,
    opts: TuiOptions,
    suspend: Option<mpsc::Receiver<Suspend>>,
) -> io::Result<()> {
    let mut guard = terminal::TerminalGuard::enter()?;
    let events = suspendable_events(suspend);
    drive(
        &mut guard.terminal,
        events,
        snapshots,
        actions,
        &theme,
        opts,
    )
    .await
}

/// A request to lend the terminal out (to an exec credential plugin that signs in): the
/// TUI leaves the screen, answers `ready`, and takes the screen back when `done` fires or
/// its sender goes away.
pub struct Suspend {
    pub ready: tokio::sync::oneshot::Sender<()>,
    pub done: tokio::sync::oneshot::Receiver<()>,
}

/// The terminal's events, pausing for [`Suspend`] requests: the event reader is dropped
/// (so it reads none of the other program's input), the terminal restored, and after the
/// lease the screen taken back and a resize event sent so everything is drawn afresh.
fn suspendable_events(
    suspend: Option<mpsc::Receiver<Suspend>>,
) -> impl Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(
        (Some(EventStream::new()), suspend),
        |(mut events, mut suspend)| async move {
            loop {
                let reader = events.get_or_insert_with(EventStream::new);
                let request = tokio::select! {
                    ev = reader.next() => return ev.map(|e| (e, (events, suspend))),
                    req = async {
                        match suspend.as_mut() {
                            Some(rx) => rx.recv().await,
                            None => std::future::pending().await,
                        }
                    } => req,
                };
                let Some(req) = request else {
                    suspend = None;
                    continue;
                };
                events = None;
                terminal::suspend();
                let _ = req.ready.send(());
                let _ = req.done.await;
                if let Err(e) = terminal::resume() {
                    return Some((Err(e), (events, suspend)));
                }
                let (w, h) = crossterm::terminal::size().unwrap_or((80, 24));
                return Some((Ok(Event::Resize(w, h)), (events, suspend)));
            }
        },
    ))
}

/// The event loop behind `run`, on any backend and any event source (tests feed it a
/// `TestBackend` and a list of events). Redraws at once on input and resize; on a new
/// snapshot at once too, unless the last frame is younger than `frame_interval`, when the
/// snapshot waits for that frame's end. Idle (no input, no new data) it neither wakes nor
/// draws.
pub async fn drive<B, E>(
    terminal: &mut Terminal<B>,
    mut events: E,
    mut snapshots: watch::Receiver<Arc<UiSnapshot>>,
    actions: mpsc::Sender<Action>,
    theme: &Theme,
    opts: TuiOptions,
) -> io::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    E: Stream<Item = io::Result<Event>> + Unpin,
{
    let TuiOptions {
        frame_interval,
        keymap,
        mut view,
    } = opts;
    let mut snapshot = snapshots.borrow_and_update().clone();
    view.themes.adopt(theme);
    view.observe(&snapshot);
    view.help = keymap.help_rows();
    view.keys = keymap.clone();
    let mut input_open = true;
    let mut frames = Frames::new(frame_interval);
    frames.draw(terminal, &snapshot, &view)?;
    loop {
        let pending = frames.pending;
        tokio::select! {
            biased;
            () = actions.closed() => return Ok(()),
            event = events.next(), if input_open => match event {
                Some(Ok(Event::Key(key))) => {
                    match press(&mut view, &keymap, &snapshot, &key) {
                        Flow::Quit => {
                            // A closed channel or a stuck app must not keep the user waiting.
                            let _ = tokio::time::timeout(QUIT_SEND_TIMEOUT, actions.send(Action::Quit)).await;
                            return Ok(());
                        }
                        Flow::Export => {
                            let (screen, shown) = render_screen(terminal, &snapshot, &view)?;
                            let theme = Box::new(view.themes.full().clone());
                            // A full queue means an export is still pending: never block input.
                            let _ = actions.try_send(Action::Export { screen, theme, shown });
                        }
                        Flow::Send(action) => {
                            // Queries and ranges are small and rare; a full queue drops one
                            // rather than stall the keyboard.
                            if actions.try_send(action).is_err() {
                                view.message = Some("kmon is busy: try again".into());
                            }
                        }
                        Flow::Continue => {}
                    }
                    frames.draw(terminal, &snapshot, &view)?;
                }
                Some(Ok(Event::Mouse(mouse))) => {
                    let size = terminal.size().map_err(io::Error::other)?;
                    let area = Rect::new(0, 0, size.width, size.height);
                    if screens::mouse(area, &snapshot, &mut view, mouse) {
                        frames.draw(terminal, &snapshot, &view)?;
                    }
                }
                // Drawn afresh: after a resize, or after the terminal was lent out, the
                // screen holds nothing of the last frame.
                Some(Ok(Event::Resize(..))) => {
                    terminal.clear().map_err(io::Error::other)?;
                    frames.draw(terminal, &snapshot, &view)?
                }
                Some(Ok(_)) => {}
                // A read interrupted by a signal (SIGWINCH on resize) is not an error.
                Some(Err(err))
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                    ) => {}
                Some(Err(err)) => {
                    tracing::error!("terminal input: {err}");
                    return Err(err);
                }
                // No more input (stdin closed): keep drawing until the app ends us.
                None => input_open = false,
            },
            changed = snapshots.changed() => match changed {
                Ok(()) => {
                    snapshot = snapshots.borrow_and_update().clone();
                    view.observe(&snapshot);
                    // A newly firing alert rings the bell when the options say so.
                    if std::mem::take(&mut view.alerts.ring) {
                        terminal::bell();
                    }
                    frames.data_changed(terminal, &snapshot, &view)?;
                }
                // The app dropped the sender: it is shutting down. Show what it last sent.
                Err(_) => {
                    if frames.pending.is_some() {
                        frames.draw(terminal, &snapshot, &view)?;
                    }
                    return Ok(());
                }
            },
            () = until(pending), if pending.is_some() => {
                frames.draw(terminal, &snapshot, &view)?;
            }
        }
    }
}

/// One key press: the view changes as the keymap says (or the key types a character),
/// and what the event loop must do next comes back. `drive` calls it for every key, and
/// `kmon export-screen --keys` for scripted ones.
pub fn press(
    view: &mut ViewState,
    keymap: &Keymap,
    snapshot: &UiSnapshot,
    key: &crossterm::event::KeyEvent,
) -> Flow {
    match keymap.lookup(view.mode, key) {
        Some(intent @ (Intent::Complete | Intent::CompletePrev)) if view.mode == Mode::Query => {
            complete(view, snapshot, intent == Intent::CompletePrev);
            Flow::Continue
        }
        Some(intent) => view.apply_with(intent, snapshot),
        None => {
            if let Some(c) = keymap::typed_char(key) {
                view.type_char(c);
            }
            Flow::Continue
        }
    }
}

/// Tab in the query bar: the next candidate of a completion under way, or fresh
/// candidates for the word at the cursor from the snapshot's index.
fn complete(view: &mut ViewState, snapshot: &UiSnapshot, backwards: bool) {
    if view.completing() {
        view.cycle_completion(backwards);
        return;
    }
    if snapshot.completion.is_empty() {
        view.message = Some("nothing to complete from yet: no series stored".into());
        return;
    }
    let found =
        crate::app::assist::complete(&snapshot.completion, view.query.text(), view.query.cursor());
    let candidates = found
        .items
        .into_iter()
        .map(|i| view::Candidate {
            text: i.text,
            label: i.label,
            detail: i.detail,
        })
        .collect();
    view.start_completion(candidates, found.replace);
}

/// The screen drawn afresh into a buffer of the terminal's size, and the boxes on it, for
/// an export: in the theme's full colours, whatever this terminal shows.
fn render_screen<B>(
    terminal: &Terminal<B>,
    snapshot: &UiSnapshot,
    view: &ViewState,
) -> io::Result<(Buffer, Vec<crate::app::Shown>)>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let size = terminal.size().map_err(io::Error::other)?;
    let area = Rect::new(0, 0, size.width, size.height);
    let mut buf = Buffer::empty(area);
    screens::render(area, &mut buf, snapshot, view, view.themes.full());
    Ok((buf, screens::shown(area, snapshot, view)))
}

/// When the loop draws: the time of the last frame, and the deadline of a change that
/// waits for the frame interval to pass.
struct Frames {
    interval: Duration,
    last: Option<Instant>,
    /// A new snapshot is not drawn yet; it will be at this instant.
    pending: Option<Instant>,
    /// Frames drawn, the slowest, and how many took longer than [`SLOW_FRAME`]: logged
    /// when the loop ends (and each slow frame at debug level).
    drawn: u64,
    slowest: Duration,
    slow: u64,
}

/// A frame slower than this is noted: a 60 Hz terminal would drop it.
const SLOW_FRAME: Duration = Duration::from_millis(16);

impl Drop for Frames {
    fn drop(&mut self) {
        tracing::info!(
            "frames: {} drawn, slowest {:.1} ms, {} over {} ms",
            self.drawn,
            self.slowest.as_secs_f64() * 1000.0,
            self.slow,
            SLOW_FRAME.as_millis()
        );
    }
}

impl Frames {
    fn new(interval: Duration) -> Frames {
        Frames {
            interval,
            last: None,
            pending: None,
            drawn: 0,
            slowest: Duration::ZERO,
            slow: 0,
        }
    }

    /// Draws now; whatever was pending is in this frame.
    fn draw<B>(
        &mut self,
        terminal: &mut Terminal<B>,
        snapshot: &UiSnapshot,
        view: &ViewState,
    ) -> io::Result<()>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        self.pending = None;
        self.last = Some(Instant::now());
        if terminal::is_suspended() {
            // The screen is lent out; the resume redraws.
            return Ok(());
        }
        let start = std::time::Instant::now();
        let result = draw(terminal, snapshot, view);
        let took = start.elapsed();
        self.drawn += 1;
        self.slowest = self.slowest.max(took);
        if took > SLOW_FRAME {
            self.slow += 1;
            tracing::debug!("slow frame: {:.1} ms", took.as_secs_f64() * 1000.0);
        }
        result
    }

    /// New data: drawn now if the last frame is at least an interval old, else at the
    /// end of that interval (a change already waiting keeps its deadline).
    fn data_changed<B>(
        &mut self,
        terminal: &mut Terminal<B>,
        snapshot: &UiSnapshot,
        view: &ViewState,
    ) -> io::Result<()>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        match self.last.map(|t| t + self.interval) {
            Some(next) if next > Instant::now() => {
                self.pending.get_or_insert(next);
                Ok(())
            }
            _ => self.draw(terminal, snapshot, view),
        }
    }
}

/// Resolves at `at` (never without one).
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Draws a frame in the theme as this terminal shows it; without colours (NO_COLOR) the
/// frame is stripped and marked with attributes instead (`theme::monochrome`).
fn draw<B>(terminal: &mut Terminal<B>, snapshot: &UiSnapshot, view: &ViewState) -> io::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    terminal
        .draw(|frame| {
            screens::draw(frame, snapshot, view, view.themes.shown());
            if view.themes.depth() == ColorDepth::None {
                let theme = view.themes.full();
                let series = view.legend_selected.and_then(|i| {
                    let palette = widgets::linegraph::series_palette(theme);
                    palette.get(i % palette.len().max(1)).copied()
                });
                theme::monochrome(frame.buffer_mut(), theme, series);
            }
        })
        .map(|_| ())
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests;
