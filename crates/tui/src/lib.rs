//! The terminal UI: `lyncscope FILE`, or `lyncscope -i IF` (a live capture), on a terminal.
//!
//! A view layer over the analysis, in the ratatui component manner:
//!
//! * [`app`] — the state (screens, cursors, filters, prompt) and what keys do to it;
//! * [`views`] — rendering, a pure function of the state and the analysis, one module per
//!   screen or component;
//! * `ladder` and `dissect` — the models behind the ladder and the message detail;
//! * [`loader`] — the thread that reads the capture and runs the pipeline while the UI draws;
//! * [`live`] — a live capture as the loader's source, and its state in the status line.
//!
//! The UI opens at once: the loader pushes frames through the shared pipeline in batches and
//! the UI redraws from it at a steady rate, showing progress, until the input is read (a live
//! capture: until it stops; the status line shows the capture instead of the progress).
//! The terminal is restored on quit, on error and on panic (a panic hook); Ctrl-C is a key in
//! raw mode and quits like `q`.

pub mod app;
pub(crate) mod dissect;
pub(crate) mod ladder;
pub mod live;
pub mod loader;
pub(crate) mod model;
pub mod views;

use app::{Action, App};
use lyncscope::capture::LiveStats;
use lyncscope::inputs::Inputs;
use lyncscope::pipeline::{MessageTap, Pipeline};
use lyncscope::tls::TlsHandle;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Redraw interval while the capture is being read, and when idle.
const LOADING_TICK: Duration = Duration::from_millis(100);
const IDLE_TICK: Duration = Duration::from_millis(1000);

/// Leaves raw mode and the alternate screen; safe to call more than once.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped: on return and on error.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn setup_terminal() -> io::Result<(TerminalGuard, Terminal<CrosstermBackend<Stdout>>)> {
    // A panic anywhere (the loader thread too) restores the terminal before the message is
    // printed, so the message is readable and the shell usable.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The loader catches its own panics and its reading thread's, and the UI goes on
        // (showing a warning), so the terminal stays as it is for them.
        let name = std::thread::current().name().map(str::to_owned);
        if !matches!(
            name.as_deref(),
            Some(loader::LOADER_THREAD | loader::READER_THREAD)
        ) {
            restore_terminal();
            previous(info);
        }
    }));
    enable_raw_mode()?;
    let guard = TerminalGuard;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((guard, terminal))
}

/// Draw timings, reported with `LYNCSCOPE_FRAME_TIMES=1`.
#[derive(Default)]
struct FrameTimes {
    count: u64,
    total: Duration,
    max: Duration,
    max_lock_wait: Duration,
    over_50ms: u64,
    /// The longest a key took (a search over every message's text is the slow one).
    max_key: Duration,
    /// When the loader started, and how long until the first frame drawn after it finished.
    started: Option<Instant>,
    loaded: Option<Duration>,
}

impl FrameTimes {
    fn add(&mut self, draw: Duration, wait: Duration) {
        self.count += 1;
        self.total += draw;
        self.max = self.max.max(draw);
        self.max_lock_wait = self.max_lock_wait.max(wait);
        if draw + wait > Duration::from_millis(50) {
            self.over_50ms += 1;
        }
    }
}

/// Stops a live capture and reads its counters from the UI thread (libpcap's `Stopper`).
pub trait CaptureControl {
    /// Asks the capture to stop (it drains).
    fn stop(&self);
    /// libpcap's counters now.
    fn stats(&self) -> LiveStats;
}

/// No capture: a HEP collector alone.
pub(crate) struct NoCapture;

impl CaptureControl for NoCapture {
    fn stop(&self) {}
    fn stats(&self) -> LiveStats {
        LiveStats::default()
    }
}

/// What the UI runs on.
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub(crate) enum Input<'a> {
    /// Capture files; `paths` are read again by `w`.
    Files { title: String, paths: &'a [String] },
    /// A live capture, already open.
    Live {
        names: Vec<String>,
        control: &'a dyn CaptureControl,
        state: &'a live::SourceState,
        started: Instant,
        /// Set by SIGTERM / SIGINT: quit like `q`.
        quit: &'a AtomicBool,
        /// A HEP collector feeding the same pipeline.
        hep: Option<&'a live::HepShared>,
    },
}

/// How a UI run ended.
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub(crate) struct Run<T> {
    pub(crate) ui: Result<(), String>,
    pub(crate) tap: Option<T>,
    pub(crate) frames: u64,
    pub(crate) sip_messages: u64,
}

/// The pipeline the UI draws from: messages listed and stored, changes logged.
fn ui_pipeline(limits: lyncscope::analysis::Limits, tls: TlsHandle, merge: bool) -> Pipeline {
    Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        change_log: true,
        limits,
        // Several inputs (or a HEP stream from several agents) may carry the same message.
        merge_copies: merge,
        ..lyncscope::Options::default()
    })
    .with_tls(tls)
}

/// Runs the UI on the capture `files` (already opened, so input errors were reported before
/// the terminal changed). `paths` are re-read by `w`.
/// `tls` holds the key material for SIP over TLS.
pub fn run(files: Inputs, paths: &[String], tls: TlsHandle) -> Result<(), String> {
    let title = files.names().join(", ");
    let progress = Arc::new(loader::Progress::default());
    let source = loader::file_source(files, progress.clone(), tls.clone());
    run_source::<loader::NoTap>(Input::Files { title, paths }, progress, source, None, tls).ui
}

/// Runs the UI on a stream of inputs that comes from elsewhere (a HEP collector): `source`
/// returns a batch (empty when nothing arrived for a while) until the stream ends; `title`
/// names it. The stream is read until the user quits.
pub fn run_stream(
    title: String,
    source: impl FnMut() -> Option<loader::FrameBatch> + Send + 'static,
    tls: TlsHandle,
) -> Result<(), String> {
    let progress = Arc::new(loader::Progress::default());
    run_source::<loader::NoTap>(
        Input::Files { title, paths: &[] },
        progress,
        source,
        None,
        tls,
    )
    .ui
}

/// Runs the loader on `source` and the UI until the user quits; then stops the input (a live
/// capture is stopped and drained, so `tap` gets every packet it captured), restores the
/// terminal and joins the loader, which hands `tap` back.
pub(crate) fn run_source<T: MessageTap + Send + 'static>(
    input: Input<'_>,
    progress: Arc<loader::Progress>,
    source: impl FnMut() -> Option<loader::FrameBatch> + Send + 'static,
    tap: Option<T>,
    tls: TlsHandle,
) -> Run<T> {
    let pipeline = match &input {
        Input::Files { paths, .. } => {
            ui_pipeline(Default::default(), tls.clone(), paths.len() != 1)
        }
        // Several agents (or an agent and the capture) may carry the same message.
        Input::Live { hep, .. } => ui_pipeline(live::LIVE_LIMITS, tls.clone(), hep.is_some()),
    };
    let pipeline = Arc::new(Mutex::new(pipeline));
    let stop = Arc::new(AtomicBool::new(false));
    let stop_input = || match &input {
        Input::Files { .. } => stop.store(true, Ordering::Relaxed),
        Input::Live { control, hep, .. } => {
            control.stop();
            if let Some(h) = hep {
                h.stop();
            }
        }
    };
    let handle = match loader::spawn_tapped(
        pipeline.clone(),
        progress.clone(),
        stop.clone(),
        source,
        tap,
    ) {
        Ok(h) => h,
        Err(e) => {
            stop_input();
            return Run {
                ui: Err(format!("starting the loader: {e}")),
                tap: None,
                frames: 0,
                sip_messages: 0,
            };
        }
    };
    let mut times = FrameTimes {
        started: Some(Instant::now()),
        ..FrameTimes::default()
    };
    let ui = (|| {
        let (guard, mut terminal) =
            setup_terminal().map_err(|e| format!("setting up the terminal: {e}"))?;
        let mut app = match &input {
            Input::Files { title, paths } => {
                let mut app = App::new(title.clone(), paths.iter().any(|p| p == "-"));
                app.sources = paths.to_vec();
                app
            }
            Input::Live { names, hep, .. } => {
                let mut title = names.clone();
                if let Some(h) = hep {
                    title.extend(h.listeners().iter().map(|l| format!("HEP {l}")));
                }
                let mut app = App::new(format!("live: {}", title.join(", ")), false);
                app.live = Some(live::LiveStatus::new(names));
                app
            }
        };
        app.tls = Some(tls.clone());
        let outcome = event_loop(
            &mut terminal,
            &mut app,
            &pipeline,
            &progress,
            &input,
            &mut times,
        );
        drop(terminal);
        drop(guard);
        outcome
    })();
    stop_input();
    let tap = handle.join().unwrap_or(None);
    if std::env::var_os("LYNCSCOPE_FRAME_TIMES").is_some() && times.count > 0 {
        eprintln!(
            "lyncscope: loaded in {:.2} s; {} frames drawn: mean {:.2} ms, max {:.2} ms, longest \
             wait for the analysis {:.2} ms, {} frames over 50 ms, longest key {:.1} ms",
            times.loaded.unwrap_or_default().as_secs_f64(),
            times.count,
            times.total.as_secs_f64() * 1000.0 / times.count as f64,
            times.max.as_secs_f64() * 1000.0,
            times.max_lock_wait.as_secs_f64() * 1000.0,
            times.over_50ms,
            times.max_key.as_secs_f64() * 1000.0
        );
    }
    let sip_messages = pipeline
        .lock()
        .map_or(0, |p| p.analysis().stats().sip_messages);
    // Freeing a loaded analysis piece by piece takes a noticeable part of a second at a
    // million messages: done on a thread of its own, so quitting is immediate (the process
    // exit ends it; a library caller gets the memory back shortly after).
    let _ = std::thread::Builder::new()
        .name("lyncscope-free".into())
        .spawn(move || drop(pipeline));
    Run {
        ui,
        tap,
        frames: progress.frames.load(Ordering::Relaxed),
        sip_messages,
    }
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    pipeline: &Mutex<Pipeline>,
    progress: &loader::Progress,
    input: &Input<'_>,
    times: &mut FrameTimes,
) -> Result<(), String> {
    let poisoned = |_| "internal error: the loader thread failed".to_string();
    let (export_tx, export_rx) = mpsc::channel::<String>();
    let paths = match input {
        Input::Files { paths, .. } => *paths,
        Input::Live { .. } => &[],
    };
    loop {
        if let Input::Live { quit, .. } = input {
            if quit.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
        let size = terminal.size().map_err(|e| e.to_string())?;
        app.size = (size.width, size.height);
        let status = progress.status();
        let loading = !status.done;
        let done = status.done;
        {
            let asked = Instant::now();
            let p = progress.lock_for_ui(pipeline).map_err(poisoned)?;
            let started = Instant::now();
            if let (
                Input::Live {
                    control,
                    state,
                    started: capture_started,
                    hep,
                    ..
                },
                Some(live),
            ) = (input, app.live.as_mut())
            {
                live.set_hep(hep.map(|h| h.status()));
                live.update(
                    capture_started.elapsed(),
                    p.analysis().stats().sip_messages,
                    &control.stats(),
                    state.reason(),
                    status.done,
                );
            }
            app.bounds_hit = p.stats().bounds_hit;
            app.sync(p.analysis(), status);
            terminal
                .draw(|f| views::render(f, app, p.analysis()))
                .map_err(|e| format!("drawing: {e}"))?;
            times.add(started.elapsed(), started - asked);
        }
        if done && times.loaded.is_none() {
            times.loaded = times.started.map(|t| t.elapsed());
            // For benchmarks (`benches/ui.sh`): the load time, then out.
            if std::env::var_os("LYNCSCOPE_QUIT_WHEN_LOADED").is_some() {
                return Ok(());
            }
        }
        let tick = if loading { LOADING_TICK } else { IDLE_TICK };
        if !event::poll(tick).map_err(|e| e.to_string())? {
            if let Ok(done) = export_rx.try_recv() {
                app.notice = Some(done);
            }
            continue;
        }
        // Take every pending event before drawing again, so key repeat never lags.
        loop {
            let ev = event::read().map_err(|e| e.to_string())?;
            let action = match ev {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    let p = pipeline.lock().map_err(poisoned)?;
                    let started = Instant::now();
                    let action = app.handle_key(k, p.analysis());
                    times.max_key = times.max_key.max(started.elapsed());
                    action
                }
                Event::Mouse(m) => {
                    let p = pipeline.lock().map_err(poisoned)?;
                    app.handle_mouse(m, p.analysis());
                    None
                }
                _ => None,
            };
            match action {
                Some(Action::Quit) => return Ok(()),
                Some(Action::Export { spans, path, what }) => {
                    let tx = export_tx.clone();
                    let paths = paths.to_vec();
                    std::thread::spawn(move || {
                        let msg = match lyncscope::output::export::write_file(&paths, &spans, &path)
                        {
                            Ok(done) => format!(
                                "✓ wrote {} frames of {what} to {path}{}",
                                done.frames,
                                if done.pcapng { " (pcapng)" } else { "" }
                            ),
                            Err(e) => format!("✗ writing {path}: {e}"),
                        };
                        let _ = tx.send(msg);
                    });
                }
                Some(Action::SaveText { text, path, what }) => {
                    app.notice = Some(
                        match lyncscope::output::export::write_text(paths, text.as_bytes(), &path) {
                            Ok(n) => format!("✓ saved {what} as text to {path} ({n} bytes)"),
                            Err(e) => format!("✗ saving {path}: {e}"),
                        },
                    );
                }
                Some(Action::Copy { text }) => {
                    // The terminal takes the sequence; nothing shows.
                    let mut out = io::stdout();
                    let _ = out
                        .write_all(app::osc52(&text).as_bytes())
                        .and_then(|()| out.flush());
                }
                None => {}
            }
            if !event::poll(Duration::ZERO).map_err(|e| e.to_string())? {
                break;
            }
        }
        if let Ok(done) = export_rx.try_recv() {
            app.notice = Some(done);
        }
    }
}
