//! Event-loop tests: `drive` on a `TestBackend` with scripted input, checking that keys
//! change the view, quitting sends `Action::Quit`, `e` sends the drawn screen in
//! `Action::Export`, closed channels end the loop, and (with a backend that counts frames)
//! that an idle loop does not redraw and snapshots faster than the frame rate wait for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream;
use ratatui::backend::{ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

use super::*;
use crate::tui::fixture::sample_snapshot;

fn key(c: char) -> io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

const LIMIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn keys_toggle_boxes_and_q_quits() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, mut action_rx) = mpsc::channel(4);
    let events = stream::iter(vec![key('2'), key('x'), key('q')]);
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        events,
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert_eq!(action_rx.recv().await, Some(Action::Quit));
    let text = screen_text(&terminal);
    assert!(text.contains("¹cpu"));
    assert!(!text.contains("²mem"), "2 hid the memory box:\n{text}");
    assert!(text.contains("⁴disks"));
}

#[tokio::test]
async fn e_sends_the_screen_as_drawn_to_the_app() {
    let mut terminal = Terminal::new(TestBackend::new(90, 30)).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, mut action_rx) = mpsc::channel(4);
    let events = stream::iter(vec![key('3'), key('e'), key('q')]);
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        events,
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    let Some(Action::Export {
        screen,
        theme: drawn_in,
        shown,
    }) = action_rx.recv().await
    else {
        panic!("expected an export first");
    };
    assert_eq!(screen.area, Rect::new(0, 0, 90, 30));
    assert_eq!(*drawn_in, theme);
    // The data of exactly the boxes on screen: 3 hid network.
    use crate::app::Shown;
    assert_eq!(
        shown,
        [Shown::Cpu, Shown::Memory, Shown::Disks, Shown::Panel(0)]
    );
    // The same cells as the terminal shows, with the view state applied (3 hid network).
    assert_eq!(&screen, terminal.backend().buffer());
    assert_eq!(action_rx.recv().await, Some(Action::Quit));
}

#[tokio::test]
async fn ctrl_c_quits() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(UiSnapshot::default()));
    let (action_tx, mut action_rx) = mpsc::channel(4);
    let ctrl_c = Ok(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    let events = stream::iter(vec![ctrl_c]).chain(stream::pending());
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        events,
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert_eq!(action_rx.recv().await, Some(Action::Quit));
}

#[tokio::test]
async fn new_snapshots_redraw_and_a_closed_snapshot_channel_ends_the_loop() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (snap_tx, snap_rx) = watch::channel(Arc::new(UiSnapshot::default()));
    let (action_tx, _action_rx) = mpsc::channel(4);
    let mut next = sample_snapshot();
    next.host.hostname = "fresh-host".to_string();
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        stream::pending(),
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    let app = async move {
        // Let the loop draw the empty snapshot first, then publish and shut down.
        tokio::task::yield_now().await;
        snap_tx.send(Arc::new(next)).unwrap();
        drop(snap_tx);
    };
    let (result, ()) = tokio::time::timeout(LIMIT, async { tokio::join!(run, app) })
        .await
        .unwrap();
    result.unwrap();
    assert!(screen_text(&terminal).contains("fresh-host"));
}

#[tokio::test]
async fn a_closed_action_channel_ends_the_loop() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(UiSnapshot::default()));
    let (action_tx, action_rx) = mpsc::channel(4);
    drop(action_rx);
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        stream::pending(),
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
}

#[tokio::test]
async fn input_errors_end_the_loop_with_the_error() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(UiSnapshot::default()));
    let (action_tx, _action_rx) = mpsc::channel(4);
    let events = stream::iter(vec![Err(io::Error::other("tty gone"))]);
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        events,
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    let err = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "tty gone");
}

#[tokio::test]
async fn resize_redraws_at_the_new_size() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, _action_rx) = mpsc::channel(4);
    terminal.backend_mut().resize(30, 10);
    let events = stream::iter(vec![Ok(Event::Resize(30, 10))]);
    drop(snap_tx);
    let theme = Theme::default();
    let run = drive(
        &mut terminal,
        events,
        snap_rx,
        action_tx,
        &theme,
        TuiOptions::default(),
    );
    tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert!(screen_text(&terminal).contains("terminal too small"));
}

/// A `TestBackend` that counts the frames drawn on it.
struct Counting {
    inner: TestBackend,
    frames: Arc<AtomicUsize>,
}

impl Counting {
    fn new(width: u16, height: u16) -> (Counting, Arc<AtomicUsize>) {
        let frames = Arc::new(AtomicUsize::new(0));
        let backend = Counting {
            inner: TestBackend::new(width, height),
            frames: frames.clone(),
        };
        (backend, frames)
    }
}

impl Backend for Counting {
    type Error = std::convert::Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.frames.fetch_add(1, Ordering::SeqCst);
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
        self.inner.flush()
    }
}

fn counting_text(terminal: &Terminal<Counting>) -> String {
    let buf = terminal.backend().inner.buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

/// Key events fed from a channel, so a test decides when each one arrives.
fn keys_from(rx: mpsc::UnboundedReceiver<char>) -> impl Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(stream::unfold(rx, |mut rx| async move {
        let c = rx.recv().await?;
        Some((key(c), rx))
    }))
}

/// Waits (bounded) until `frames` reaches `n`.
async fn frames_reach(frames: &AtomicUsize, n: usize) {
    tokio::time::timeout(LIMIT, async {
        while frames.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} frames, expected {n}", frames.load(Ordering::SeqCst)));
}

#[tokio::test]
async fn an_idle_loop_draws_once_and_then_not_at_every_frame() {
    let (backend, frames) = Counting::new(80, 24);
    let mut terminal = Terminal::new(backend).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, _action_rx) = mpsc::channel(4);
    let theme = Theme::default();
    let opts = TuiOptions {
        frame_interval: Duration::from_millis(10),
        ..TuiOptions::default()
    };
    let run = drive(
        &mut terminal,
        stream::pending(),
        snap_rx,
        action_tx,
        &theme,
        opts,
    );
    // Thirty frame intervals with nothing new: the first frame only.
    let idle = tokio::time::timeout(Duration::from_millis(300), run).await;
    assert!(
        idle.is_err(),
        "the loop runs until the app or the user ends it"
    );
    assert_eq!(frames.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_snapshot_inside_a_frame_waits_and_a_key_draws_it_at_once() {
    let (backend, frames) = Counting::new(80, 24);
    let mut terminal = Terminal::new(backend).unwrap();
    let (snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, mut action_rx) = mpsc::channel(4);
    let (key_tx, key_rx) = mpsc::unbounded_channel();
    let theme = Theme::default();
    // A frame interval far longer than the test: only input can draw the snapshot.
    let opts = TuiOptions {
        frame_interval: Duration::from_secs(3600),
        ..TuiOptions::default()
    };
    let run = drive(
        &mut terminal,
        keys_from(key_rx),
        snap_rx,
        action_tx,
        &theme,
        opts,
    );
    let frames_seen = frames.clone();
    let app = async move {
        frames_reach(&frames_seen, 1).await;
        let mut next = sample_snapshot();
        next.host.hostname = "fresh-host".to_string();
        snap_tx.send(Arc::new(next)).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = frames_seen.load(Ordering::SeqCst);
        key_tx.send('2').unwrap();
        frames_reach(&frames_seen, 2).await;
        key_tx.send('q').unwrap();
        (waiting, snap_tx)
    };
    let (result, (waiting, _snap_tx)) =
        tokio::time::timeout(LIMIT, async { tokio::join!(run, app) })
            .await
            .unwrap();
    result.unwrap();
    assert_eq!(waiting, 1, "the snapshot waits for the frame interval");
    assert_eq!(
        frames.load(Ordering::SeqCst),
        2,
        "the key drew it: no other frame"
    );
    assert_eq!(action_rx.recv().await, Some(Action::Quit));
    let text = counting_text(&terminal);
    assert!(text.contains("fresh-host"), "{text}");
    assert!(!text.contains("²mem"), "and the key's own change:\n{text}");
}

#[tokio::test]
async fn a_waiting_snapshot_is_drawn_when_its_frame_ends() {
    let (backend, frames) = Counting::new(80, 24);
    let mut terminal = Terminal::new(backend).unwrap();
    let (snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, _action_rx) = mpsc::channel(4);
    let (key_tx, key_rx) = mpsc::unbounded_channel();
    let theme = Theme::default();
    let opts = TuiOptions {
        frame_interval: Duration::from_millis(100),
        ..TuiOptions::default()
    };
    let run = drive(
        &mut terminal,
        keys_from(key_rx),
        snap_rx,
        action_tx,
        &theme,
        opts,
    );
    let frames_seen = frames.clone();
    let app = async move {
        frames_reach(&frames_seen, 1).await;
        let mut next = sample_snapshot();
        next.host.hostname = "fresh-host".to_string();
        snap_tx.send(Arc::new(next)).unwrap();
        frames_reach(&frames_seen, 2).await;
        key_tx.send('q').unwrap();
        snap_tx
    };
    let (result, _snap_tx) = tokio::time::timeout(LIMIT, async { tokio::join!(run, app) })
        .await
        .unwrap();
    result.unwrap();
    assert_eq!(frames.load(Ordering::SeqCst), 2);
    assert!(counting_text(&terminal).contains("fresh-host"));
}
