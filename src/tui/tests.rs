//! Event-loop tests: `drive` on a `TestBackend` with scripted input, checking that keys
//! change the view, quitting sends `Action::Quit`, `e` sends the drawn screen in
//! `Action::Export`, and closed channels end the loop.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream;
use ratatui::backend::TestBackend;

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
