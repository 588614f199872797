//! Key echo: the time from a key press to the end of the frame that shows it, at 200×50
//! with the fixture's overview boxes and six query panels of 20 series × 300 points in
//! the snapshot. The keys type `rate(node_network_receive_bytes_total{device=~"eth.*"}[1m])`
//! into the query bar one by one (each frame highlights and parses the line), then Ctrl-U
//! clears it, round and round. Two cases:
//!
//! - `drive`: the real event loop, `kmon::tui::drive`, on a 2-worker tokio runtime as in
//!   the app, with keys sent through a channel and a `TestBackend` that reports the end of
//!   each frame (`flush`); the time includes the loop's wake-ups;
//! - `render`: the same steps without the loop: the key table, `ViewState`, and
//!   `Terminal::draw` of `screens::draw`.
//!
//! The goal is one frame: `TuiOptions::default().frame_interval` (200 ms), since the loop
//! draws at once on input. A real terminal adds writing the changed cells.
//!
//! Run: `cargo bench --bench key_echo`. Results go to BENCHMARKS.md.

use std::io;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::{Stream, stream};
use kmon::app::{Action, UiSnapshot};
use kmon::tui::fixture::sample_snapshot;
use kmon::tui::{Keymap, Mode, Theme, TuiOptions, ViewState, keymap, screens};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::{mpsc, watch};

#[path = "common/panels.rs"]
mod panels;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
const PANELS: u64 = 6;
const QUERY: &str = r#"rate(node_network_receive_bytes_total{device=~"eth.*"}[1m])"#;

/// The fixture snapshot with six query panels.
fn snapshot() -> UiSnapshot {
    let mut snap = sample_snapshot();
    snap.panels = (0..PANELS).map(panels::panel).collect();
    snap
}

/// The keys, in a cycle: each character of `QUERY`, then Ctrl-U.
fn keys() -> impl Iterator<Item = KeyEvent> {
    QUERY
        .chars()
        .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
        .chain([KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)])
        .cycle()
}

fn slash() -> KeyEvent {
    KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE)
}

/// A `TestBackend` that says when a frame is complete (ratatui flushes once per frame).
struct Signalling {
    inner: TestBackend,
    frames: std_mpsc::Sender<()>,
}

impl Backend for Signalling {
    type Error = std::convert::Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        let _ = self.frames.send(());
        self.inner.flush()
    }
}

fn events(rx: mpsc::UnboundedReceiver<KeyEvent>) -> impl Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(stream::unfold(rx, |mut rx| async move {
        let key = rx.recv().await?;
        Some((Ok(Event::Key(key)), rx))
    }))
}

/// Through `tui::drive`: send a key, wait for the end of its frame.
fn through_the_loop(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (frame_tx, frame_rx) = std_mpsc::channel();
    let (key_tx, key_rx) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = watch::channel(Arc::new(snapshot()));
    let (action_tx, action_rx) = mpsc::channel::<Action>(16);
    let tui = rt.spawn(async move {
        let backend = Signalling {
            inner: TestBackend::new(WIDTH, HEIGHT),
            frames: frame_tx,
        };
        let mut terminal = Terminal::new(backend).expect("terminal");
        let theme = Theme::default();
        kmon::tui::drive(
            &mut terminal,
            events(key_rx),
            snap_rx,
            action_tx,
            &theme,
            TuiOptions::default(),
        )
        .await
    });
    let frame = || {
        frame_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a frame within 10 s")
    };
    frame(); // the first frame
    key_tx.send(slash()).expect("the loop runs");
    frame();
    let mut keys = keys();
    c.bench_function("key_echo/drive_200x50_6x20x300", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let key = keys.next().expect("an endless cycle");
                key_tx.send(key).expect("the loop runs");
                frame();
            }
            start.elapsed()
        })
    });
    drop(key_tx);
    drop(action_rx); // ends the loop
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), tui).await;
    });
    drop(snap_tx);
}

/// The same steps as the loop takes for a key, called directly.
fn without_the_loop(c: &mut Criterion) {
    let snap = snapshot();
    let theme = Theme::default();
    let keymap = Keymap::default();
    let mut view = ViewState::default();
    view.observe(&snap);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut press = |view: &mut ViewState, key: &KeyEvent| {
        match keymap.lookup(view.mode, key) {
            Some(intent) => {
                view.apply_with(intent, &snap);
            }
            None => {
                if let Some(ch) = keymap::typed_char(key) {
                    view.type_char(ch);
                }
            }
        }
        terminal
            .draw(|frame| screens::draw(frame, &snap, view, &theme))
            .expect("draw");
    };
    press(&mut view, &slash());
    assert_eq!(view.mode, Mode::Query);
    let mut keys = keys();
    c.bench_function("key_echo/render_200x50_6x20x300", |b| {
        b.iter(|| {
            let key = keys.next().expect("an endless cycle");
            press(&mut view, &key);
        })
    });
}

/// A key on the dashboard screen (the default-like fixture dashboard: gauges, stats,
/// graphs and a table): Tab moves the focus to the next panel, and the whole dashboard is
/// drawn again.
fn on_the_dashboard(c: &mut Criterion) {
    let snap = kmon::tui::fixture::sample_dashboard_snapshot();
    let theme = Theme::default();
    let keymap = Keymap::default();
    let mut view = ViewState::default();
    view.observe(&snap);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE);
    kmon::tui::press(&mut view, &keymap, &snap, &d);
    assert_eq!(view.mode, Mode::Dashboard);
    let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    c.bench_function("key_echo/dashboard_200x50_tab", |b| {
        b.iter(|| {
            kmon::tui::press(&mut view, &keymap, &snap, &tab);
            terminal
                .draw(|frame| screens::draw(frame, &snap, &view, &theme))
                .expect("draw");
        })
    });
}

criterion_group!(
    benches,
    through_the_loop,
    without_the_loop,
    on_the_dashboard
);
criterion_main!(benches);
