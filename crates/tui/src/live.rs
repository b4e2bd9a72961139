//! A live capture in the terminal UI: the batch source the loader pulls from, the capture's
//! state for the status line, and the message rate.
//!
//! ```text
//!  capture threads ─▶ LiveCapture (bounded channel) ─▶ LiveSource::next_batch ─▶ loader ─▶ Pipeline
//!                                                        (-c, --duration)        (-w tap)    │
//!  UI thread: Stopper::stats (libpcap counters), SourceState (why it stopped) ──▶ LiveStatus ◀┘
//! ```
//!
//! The source never blocks the loader for long: it waits at most `WAIT` for packets and
//! returns an empty batch when none came, so that the loader looks at its stop flag; it returns
//! `None` once the capture has ended (stopped and drained). It never touches the pipeline, so
//! nothing holds the pipeline's lock while waiting for packets.
//!
//! The capture is behind the `LiveFeed` trait (implemented for `LiveCapture` with the `live`
//! feature), so the source is tested with a fake feed and a fake clock.

use super::loader::FrameBatch;
use crate::loader::Progress;
use lyncscope::analysis::Limits;
use lyncscope::capture::LiveStats;
use lyncscope::hep::{message_of, Agents};
use lyncscope::report::HepSummary;
use lyncscope::source::Input;
use lyncscope_hep::{Listener, RecvError, StopHandle};
use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest the source waits for packets before it hands the loader an empty batch.
pub(crate) const WAIT: Duration = Duration::from_millis(50);
/// The rate in the status line covers about this much time.
pub(crate) const RATE_WINDOW: Duration = Duration::from_secs(2);
/// Frames gathered into one batch at most (what is already waiting is taken at once).
const BATCH_FRAMES: usize = 2048;
const BATCH_BYTES: usize = 2 * 1024 * 1024;

/// The analysis' bounds for a live capture in the UI, which may run for days: about 610 MB of
/// process memory once reached, on the shared generator's Lync traffic (README, "Live capture
/// in the UI"; `examples/live_sync.rs` measures it). Beyond them messages are still counted,
/// and the status line says what was not kept.
pub const LIVE_LIMITS: Limits = Limits {
    messages: 1_000_000,
    dialogs: 250_000,
    conferences: 20_000,
    memory: lyncscope::analysis::DEFAULT_MEMORY,
};

/// What one wait for packets gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// A batch arrived; its frames (at most the room given) are in the batch.
    Frames,
    /// Nothing arrived in time.
    Idle,
    /// The capture has ended: stopped and drained, or every interface failed.
    Ended,
}

/// A running capture (libpcap, a HEP collector, both) as the source sees it.
pub trait LiveFeed: Send {
    /// Waits up to `timeout` for the next batch of packets and appends at most `room` of its
    /// frames to `into` (the rest are read and dropped: `-c` reached).
    fn receive(&mut self, timeout: Duration, into: &mut FrameBatch, room: u64) -> Received;
    /// Asks the capture to stop; it drains and then [`Received::Ended`] comes.
    fn stop(&mut self);
    /// Why interfaces stopped on their own (gone, failed).
    fn errors(&self) -> Vec<String>;
}

/// The limits that stop a capture by themselves (`-c`, `--duration`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StopAt {
    pub count: Option<u64>,
    pub duration: Option<Duration>,
}

/// What the source tells the UI thread: why the capture stops, whether it ended, and the
/// interfaces' errors.
#[derive(Debug, Default)]
pub struct SourceState {
    inner: Mutex<SourceInner>,
}

#[derive(Debug, Default)]
struct SourceInner {
    reason: Option<String>,
    ended: bool,
    errors: Vec<String>,
}

impl SourceState {
    /// Why the capture stops or stopped, once it does.
    pub fn reason(&self) -> Option<String> {
        self.inner.lock().ok().and_then(|s| s.reason.clone())
    }

    /// The capture has ended: every packet it captured was handed over.
    #[cfg(test)]
    pub(crate) fn ended(&self) -> bool {
        self.inner.lock().is_ok_and(|s| s.ended)
    }

    /// The interfaces' errors, once the capture ended.
    pub fn errors(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|s| s.errors.clone())
            .unwrap_or_default()
    }

    /// Records why the capture stops; the first reason stays.
    pub fn stopping(&self, reason: String) {
        if let Ok(mut s) = self.inner.lock() {
            s.reason.get_or_insert(reason);
        }
    }

    fn end(&self, errors: Vec<String>) {
        if let Ok(mut s) = self.inner.lock() {
            if s.reason.is_none() {
                s.reason = Some(match errors.first() {
                    Some(e) => e.clone(),
                    None => "the capture ended".to_string(),
                });
            }
            s.ended = true;
            s.errors = errors;
        }
    }
}

/// The loader's source over a live capture (see the module documentation).
pub struct LiveSource<F, C> {
    feed: F,
    stop_at: StopAt,
    /// Time since the capture started.
    clock: C,
    /// Frames handed over so far.
    taken: u64,
    stopping: bool,
    ended: bool,
    state: Arc<SourceState>,
    wait: Duration,
    /// A batch handed back by the caller ([`LiveSource::recycle`]), refilled next.
    spare: Option<FrameBatch>,
}

impl<F: LiveFeed, C: FnMut() -> Duration> LiveSource<F, C> {
    /// A source over `feed` that stops it at `stop_at` (`clock`: the time since it started)
    /// and tells `state` why.
    pub fn new(feed: F, stop_at: StopAt, clock: C, state: Arc<SourceState>) -> Self {
        LiveSource {
            feed,
            stop_at,
            clock,
            taken: 0,
            stopping: false,
            ended: false,
            state,
            wait: WAIT,
            spare: None,
        }
    }

    /// Hands a batch back once its inputs were used: the next one is gathered in its buffers
    /// (a busy feed would otherwise grow a new buffer for every batch).
    pub fn recycle(&mut self, mut batch: FrameBatch) {
        batch.clear();
        self.spare = Some(batch);
    }

    /// The next frames: what arrived within [`WAIT`] (and whatever was already waiting, up to
    /// a batch), possibly none; `None` once the capture has ended.
    pub fn next_batch(&mut self) -> Option<FrameBatch> {
        if self.ended {
            return None;
        }
        if let Some(limit) = self.stop_at.duration {
            if !self.stopping && (self.clock)() >= limit {
                self.stop(format!("--duration {}s reached", limit.as_secs_f64()));
            }
        }
        let mut batch = self.spare.take().unwrap_or_default();
        let mut wait = self.wait;
        loop {
            let room = match self.stop_at.count {
                Some(c) => c.saturating_sub(self.taken),
                None => u64::MAX,
            };
            let before = batch.len();
            match self.feed.receive(wait, &mut batch, room) {
                Received::Frames => {
                    self.taken += (batch.len() - before) as u64;
                    if let Some(c) = self.stop_at.count {
                        if self.taken >= c && !self.stopping {
                            self.stop(format!("-c {c} reached"));
                        }
                    }
                    if batch.len() >= BATCH_FRAMES || batch.bytes() >= BATCH_BYTES {
                        break;
                    }
                    // Take what is already waiting, without waiting again.
                    wait = Duration::ZERO;
                }
                Received::Idle => break,
                Received::Ended => {
                    self.ended = true;
                    self.state.end(self.feed.errors());
                    return (!batch.is_empty()).then_some(batch);
                }
            }
        }
        Some(batch)
    }

    /// Stops the feed now (a signal), saying why; what it already received still comes.
    pub fn stop(&mut self, reason: String) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.state.stopping(reason);
        self.feed.stop();
    }
}

/// A HEP collector as a feed: each packet with a SIP payload is a whole message, its agent
/// noted for the status line and the report.
pub struct HepFeed {
    listener: Listener,
    hep: HepShared,
    number: u64,
}

/// What the UI thread (and the report, at the end) reads of a running HEP collector.
#[derive(Clone)]
pub struct HepShared {
    stop: StopHandle,
    agents: Arc<Mutex<Agents>>,
    listeners: Vec<String>,
    udp_recv_buffers: Vec<(String, usize)>,
}

impl HepFeed {
    /// A feed over `listener`, and the handle the UI reads it by.
    pub fn new(listener: Listener) -> (HepFeed, HepShared) {
        let hep = HepShared {
            stop: listener.stop_handle(),
            agents: Arc::default(),
            listeners: listener
                .local_specs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            udp_recv_buffers: listener
                .udp_recv_buffers()
                .iter()
                .map(|(l, n)| (l.to_string(), *n))
                .collect(),
        };
        let feed = HepFeed {
            listener,
            hep: hep.clone(),
            number: 0,
        };
        (feed, hep)
    }
}

impl LiveFeed for HepFeed {
    fn receive(&mut self, timeout: Duration, into: &mut FrameBatch, room: u64) -> Received {
        match self.listener.recv_batch_timeout(timeout) {
            Ok(batch) => {
                let room = usize::try_from(room).unwrap_or(usize::MAX);
                let Ok(mut agents) = self.hep.agents.lock() else {
                    return Received::Ended;
                };
                for p in batch.iter().take(room) {
                    agents.note(&p);
                    self.number += 1;
                    into.push_input(&Input::Message(message_of(p, self.number)));
                }
                Received::Frames
            }
            Err(RecvError::Timeout) => Received::Idle,
            Err(RecvError::Closed) => Received::Ended,
        }
    }

    fn stop(&mut self) {
        self.listener.stop();
    }

    fn errors(&self) -> Vec<String> {
        Vec::new()
    }
}

impl HepShared {
    /// Stops the collector (it drains what the sockets hold).
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// The listening endpoints, as bound.
    pub fn listeners(&self) -> &[String] {
        &self.listeners
    }

    /// The collector's counters now, for the status line.
    pub fn status(&self) -> HepStatus {
        let stats = self.stop.stats();
        HepStatus {
            listeners: self.listeners.join(", "),
            agents: self.agents.lock().map_or(0, |a| a.len()),
            packets: stats.packets_received,
            decode_errors: stats.decode_errors(),
            auth_failures: stats.auth_failures,
            dropped: stats.dropped_queue_full + stats.dropped_at_stop,
            kernel_drops: self.stop.udp_kernel_drops().unwrap_or(0),
        }
    }

    /// What the collector received, for the report (taken once it ended).
    pub fn summary(&self) -> HepSummary {
        HepSummary {
            listeners: self.listeners.clone(),
            received: Some(self.stop.stats()),
            kernel_drops: self.stop.udp_kernel_drops(),
            udp_recv_buffers: self.udp_recv_buffers.clone(),
            agents: self
                .agents
                .lock()
                .map(|a| {
                    a.list()
                        .map(|(id, n, addr, c)| (id, n.map(str::to_string), addr, c))
                        .collect()
                })
                .unwrap_or_default(),
            sent: None,
        }
    }
}

/// Two feeds read as one (a live capture and a HEP collector): whichever has something is
/// taken, the wait shared between them; frames and messages are numbered in the order they
/// are taken. It ends when both have ended.
pub struct Both<A, B> {
    a: Option<A>,
    b: Option<B>,
    next: u64,
    /// Errors of a feed that has ended (it is gone, its errors are kept).
    ended_errors: Vec<String>,
}

impl<A: LiveFeed, B: LiveFeed> Both<A, B> {
    /// Reads `a` and `b` together.
    pub fn new(a: A, b: B) -> Self {
        Both {
            a: Some(a),
            b: Some(b),
            next: 1,
            ended_errors: Vec::new(),
        }
    }

    fn take<F: LiveFeed>(
        feed: &mut Option<F>,
        wait: Duration,
        into: &mut FrameBatch,
        room: u64,
        next: &mut u64,
        errors: &mut Vec<String>,
    ) -> Option<Received> {
        let f = feed.as_mut()?;
        let before = into.len();
        let r = f.receive(wait, into, room);
        into.renumber(before, next);
        if r == Received::Ended {
            errors.extend(f.errors());
            *feed = None;
        }
        Some(r)
    }
}

impl<A: LiveFeed, B: LiveFeed> LiveFeed for Both<A, B> {
    fn receive(&mut self, timeout: Duration, into: &mut FrameBatch, room: u64) -> Received {
        let mut ended = Vec::new();
        // First what is already waiting in either, then the wait split between them.
        for wait in [Duration::ZERO, timeout / 2] {
            let before = into.len() as u64;
            let ra = Self::take(&mut self.a, wait, into, room, &mut self.next, &mut ended);
            let left = room.saturating_sub(into.len() as u64 - before);
            let rb = Self::take(&mut self.b, wait, into, left, &mut self.next, &mut ended);
            if self.a.is_none() && self.b.is_none() {
                self.ended_errors.extend(ended);
                return Received::Ended;
            }
            if ra == Some(Received::Frames) || rb == Some(Received::Frames) {
                self.ended_errors.extend(ended);
                return Received::Frames;
            }
        }
        self.ended_errors.extend(ended);
        Received::Idle
    }

    fn stop(&mut self) {
        if let Some(a) = self.a.as_mut() {
            a.stop();
        }
        if let Some(b) = self.b.as_mut() {
            b.stop();
        }
    }

    fn errors(&self) -> Vec<String> {
        let mut e = self.ended_errors.clone();
        e.extend(self.a.iter().flat_map(LiveFeed::errors));
        e.extend(self.b.iter().flat_map(LiveFeed::errors));
        e
    }
}

/// Messages per second over the last [`RATE_WINDOW`], from samples of a running total.
#[derive(Clone, Debug)]
pub(crate) struct RateMeter {
    window: Duration,
    /// (time, total), oldest first; the first one at or before the window's start.
    samples: VecDeque<(Duration, u64)>,
}

/// Samples kept at most (a sample per drawn frame; far more than the window needs).
const MAX_SAMPLES: usize = 256;

impl RateMeter {
    pub(crate) fn new(window: Duration) -> Self {
        RateMeter {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Records the running total at time `now` (times never go back; one that does is
    /// ignored).
    pub(crate) fn record(&mut self, now: Duration, total: u64) {
        if self.samples.back().is_some_and(|&(t, _)| now < t) {
            return;
        }
        self.samples.push_back((now, total));
        // Keep one sample at or before the start of the window, so the rate spans all of it.
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|&(t, _)| now.saturating_sub(t) >= self.window)
        {
            self.samples.pop_front();
        }
        while self.samples.len() > MAX_SAMPLES {
            self.samples.pop_front();
        }
    }

    /// Per second over the samples kept; 0 until two samples are apart in time.
    pub(crate) fn per_second(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, n0)), Some(&(t1, n1))) if t1 > t0 => {
                n1.saturating_sub(n0) as f64 / (t1 - t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Where the capture stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CaptureState {
    Capturing,
    /// Asked to stop (the reason); draining what the kernel holds.
    Stopping(String),
    /// Ended; the UI stays open on what was captured.
    Stopped(String),
}

/// The live capture's part of the UI state, for the status line.
#[derive(Clone, Debug)]
pub struct LiveStatus {
    /// The interfaces, as given (`eth0, eth1`).
    pub(crate) interfaces: String,
    /// libpcap's `ps_drop` (kernel buffer full) and `ps_ifdrop` (interface), summed over the
    /// interfaces.
    pub(crate) dropped: u64,
    pub(crate) if_dropped: u64,
    pub(crate) state: CaptureState,
    /// SIP messages per second.
    pub(crate) rate: RateMeter,
    /// The HEP collector's counters, when one runs.
    pub(crate) hep: Option<HepStatus>,
}

/// A HEP collector's counters as the status line shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HepStatus {
    /// The listening endpoints (`udp:127.0.0.1:9060, tcp:…`).
    pub listeners: String,
    /// Capture agents seen.
    pub agents: usize,
    /// HEP packets read, valid or not.
    pub packets: u64,
    /// Malformed packets.
    pub decode_errors: u64,
    /// Packets refused for a wrong or missing auth key.
    pub auth_failures: u64,
    /// Packets lyncscope dropped (one too large for the queue, or not taken within the drain
    /// time at stop).
    pub dropped: u64,
    /// Datagrams the kernel dropped on the UDP sockets (buffer full).
    pub kernel_drops: u64,
}

impl LiveStatus {
    pub fn new(interfaces: &[String]) -> Self {
        LiveStatus {
            interfaces: interfaces.join(", "),
            dropped: 0,
            if_dropped: 0,
            state: CaptureState::Capturing,
            rate: RateMeter::new(RATE_WINDOW),
            hep: None,
        }
    }

    /// The HEP collector's counters now (`None`: no collector runs).
    pub fn set_hep(&mut self, hep: Option<HepStatus>) {
        self.hep = hep;
    }

    /// Brings the state up to date at time `now` (since the capture started): the SIP
    /// messages analysed so far, libpcap's counters, and the source's state (`reason` it
    /// stops, `ended` when the loader has finished).
    pub fn update(
        &mut self,
        now: Duration,
        sip_messages: u64,
        stats: &LiveStats,
        reason: Option<String>,
        ended: bool,
    ) {
        self.rate.record(now, sip_messages);
        self.dropped = stats.interfaces.iter().map(|i| i.dropped).sum();
        self.if_dropped = stats.interfaces.iter().map(|i| i.if_dropped).sum();
        self.state = match (reason, ended) {
            (r, true) => CaptureState::Stopped(r.unwrap_or_else(|| "ended".into())),
            (Some(r), false) => CaptureState::Stopping(r),
            (None, false) => CaptureState::Capturing,
        };
    }
}

#[cfg(feature = "live")]
pub use capture::run_live;

#[cfg(feature = "live")]
mod capture {
    use super::{LiveFeed, LiveOutcome, LiveSource, Received, SourceState, StopAt};
    use crate::loader::{FrameBatch, Progress};
    use lyncscope::capture::live::{LiveCapture, Recv, Stopper};
    use lyncscope::capture::LiveStats;
    use lyncscope::pipeline::MessageTap;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    impl LiveFeed for LiveCapture {
        fn receive(&mut self, timeout: Duration, into: &mut FrameBatch, room: u64) -> Received {
            match self.recv_timeout(timeout) {
                Recv::Batch(b) => {
                    let room = usize::try_from(room).unwrap_or(usize::MAX);
                    for f in b.frames().take(room) {
                        into.push(&f);
                    }
                    Received::Frames
                }
                Recv::Idle => Received::Idle,
                Recv::Ended => Received::Ended,
            }
        }

        fn stop(&mut self) {
            LiveCapture::stop(self);
        }

        fn errors(&self) -> Vec<String> {
            LiveCapture::errors(self).to_vec()
        }
    }

    impl super::super::CaptureControl for Stopper {
        fn stop(&self) {
            Stopper::stop(self);
        }

        fn stats(&self) -> LiveStats {
            Stopper::stats(self)
        }
    }

    /// Runs the UI on a live capture, already open (so that permission and interface errors
    /// were reported before the terminal changed). `tap` sees every frame and message (`-w`);
    /// `quit` (set by SIGTERM / SIGINT) quits like `q`. On quit the capture is stopped and
    /// drained, the loader finishes the pipeline, and the tap is handed back to be closed.
    pub fn run_live<T: MessageTap + Send + 'static>(
        cap: LiveCapture,
        stop_at: StopAt,
        tap: Option<T>,
        quit: Arc<AtomicBool>,
        tls: lyncscope::tls::TlsHandle,
    ) -> LiveOutcome<T> {
        let names: Vec<String> = cap.interfaces().iter().map(|i| i.name.clone()).collect();
        let stopper = cap.stopper();
        let state = Arc::new(SourceState::default());
        let started = Instant::now();
        let mut source = LiveSource::new(cap, stop_at, move || started.elapsed(), state.clone());
        let run = crate::run_source(
            crate::Input::Live {
                names,
                control: &stopper,
                state: &state,
                started,
                quit: &quit,
                hep: None,
            },
            Arc::new(Progress::default()),
            move || source.next_batch(),
            tap,
            tls,
        );
        LiveOutcome {
            ui: run.ui,
            tap: run.tap,
            stats: stopper.stats(),
            errors: state.errors(),
            packets: run.frames,
            sip_messages: run.sip_messages,
        }
    }
}

/// How a live UI run ended.
pub struct LiveOutcome<T> {
    /// The UI's own outcome (an error drawing, reading keys).
    pub ui: Result<(), String>,
    /// The tap (`-w` writer) back, after the pipeline finished: to be closed.
    pub tap: Option<T>,
    /// libpcap's final counters.
    pub stats: LiveStats,
    /// Interfaces that stopped on their own.
    pub errors: Vec<String>,
    /// Frames analysed, and the SIP messages found in them.
    pub packets: u64,
    /// SIP messages analysed.
    pub sip_messages: u64,
}

/// What a HEP run in the UI reads besides the collector.
pub struct HepRun<'a> {
    /// A live capture read with it (`-i`): its controls and interface names.
    pub capture: Option<(&'a dyn crate::CaptureControl, Vec<String>)>,
    /// Files read first (their messages merged with what the agents send).
    pub files: Option<lyncscope::inputs::Inputs>,
}

/// Runs the UI on a HEP collector (`feed`: a [`HepFeed`], or [`Both`] with a live capture),
/// after reading `run.files` if any. The status line shows the collector's counters
/// (`hep`); `-c` and `--duration` (`stop_at`) stop the feed and leave the UI open; `quit`
/// (SIGTERM / SIGINT) quits like `q`. On quit the feed is stopped and drained into the
/// pipeline.
pub fn run_hep<F: LiveFeed + 'static>(
    feed: F,
    hep: &HepShared,
    run: HepRun<'_>,
    stop_at: StopAt,
    quit: Arc<AtomicBool>,
    tls: lyncscope::tls::TlsHandle,
) -> LiveOutcome<()> {
    let (control, names) = match run.capture {
        Some((c, n)) => (c, n),
        None => (&crate::NoCapture as &dyn crate::CaptureControl, Vec::new()),
    };
    let state = Arc::new(SourceState::default());
    let started = Instant::now();
    let progress = Arc::new(Progress::default());
    let mut files = run
        .files
        .map(|f| crate::loader::file_source(f, progress.clone(), tls.clone()));
    let mut source = LiveSource::new(feed, stop_at, move || started.elapsed(), state.clone());
    // Files first; the live inputs are numbered on from the files' last frame.
    let mut offset = 0u64;
    let next = move || {
        if let Some(read) = files.as_mut() {
            match read() {
                Some(b) => {
                    offset = offset.max(b.last_number().unwrap_or(0));
                    return Some(b);
                }
                None => files = None,
            }
        }
        let mut b = source.next_batch()?;
        b.offset_numbers(offset);
        Some(b)
    };
    let stats = || control.stats();
    let run = crate::run_source::<crate::loader::NoTap>(
        crate::Input::Live {
            names,
            control,
            state: &state,
            started,
            quit: &quit,
            hep: Some(hep),
        },
        progress,
        next,
        None,
        tls,
    );
    LiveOutcome {
        ui: run.ui,
        tap: None,
        stats: stats(),
        errors: state.errors(),
        packets: run.frames,
        sip_messages: run.sip_messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lyncscope::capture::{Frame, InterfaceStats};
    use lyncscope::Timestamp;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A capture that hands over scripted events; stopping it turns the rest of the script
    /// into what a real capture does: the batches already queued, then the end.
    struct FakeFeed {
        script: VecDeque<Option<Vec<u8>>>,
        stopped: Arc<AtomicU64>,
        waits: Vec<Duration>,
        errors: Vec<String>,
        next_number: u64,
    }

    /// `Some(n)`: a batch of `n` one-byte frames; `None`: nothing within the wait.
    fn feed(script: &[Option<usize>]) -> FakeFeed {
        FakeFeed {
            script: script.iter().map(|s| s.map(|n| vec![0u8; n])).collect(),
            stopped: Arc::new(AtomicU64::new(0)),
            waits: Vec::new(),
            errors: Vec::new(),
            next_number: 1,
        }
    }

    impl LiveFeed for FakeFeed {
        fn receive(&mut self, timeout: Duration, into: &mut FrameBatch, room: u64) -> Received {
            self.waits.push(timeout);
            match self.script.pop_front() {
                Some(Some(frames)) => {
                    for (i, _) in frames.iter().enumerate() {
                        let number = self.next_number;
                        self.next_number += 1;
                        if (i as u64) < room {
                            into.push(&Frame {
                                number,
                                timestamp: Timestamp(0),
                                link_type: 1,
                                data: b"x",
                                original_len: 1,
                                source: 0,
                            });
                        }
                    }
                    Received::Frames
                }
                Some(None) => Received::Idle,
                None => Received::Ended,
            }
        }

        fn stop(&mut self) {
            self.stopped.fetch_add(1, Ordering::Relaxed);
        }

        fn errors(&self) -> Vec<String> {
            self.errors.clone()
        }
    }

    fn source(
        f: FakeFeed,
        stop_at: StopAt,
        now: Arc<AtomicU64>,
    ) -> (
        LiveSource<FakeFeed, impl FnMut() -> Duration>,
        Arc<SourceState>,
    ) {
        let state = Arc::new(SourceState::default());
        let clock = move || Duration::from_millis(now.load(Ordering::Relaxed));
        (LiveSource::new(f, stop_at, clock, state.clone()), state)
    }

    #[test]
    fn idle_waits_give_empty_batches_and_the_end_gives_none() {
        let (mut s, state) = source(
            feed(&[None, Some(3), None]),
            StopAt::default(),
            Arc::new(AtomicU64::new(0)),
        );
        // Nothing within the wait: an empty batch, so the loader looks at its stop flag.
        assert_eq!(s.next_batch().map(|b| b.len()), Some(0));
        // A batch, then nothing more waiting: handed over.
        assert_eq!(s.next_batch().map(|b| b.len()), Some(3));
        assert_eq!(s.feed.waits, [WAIT, WAIT, Duration::ZERO]);
        // The script is over: the capture ended.
        assert!(!state.ended());
        assert!(s.next_batch().is_none());
        assert!(state.ended());
        assert_eq!(state.reason().as_deref(), Some("the capture ended"));
        assert!(s.next_batch().is_none(), "stays ended");
        // Never waits longer than WAIT.
        assert!(s.feed.waits.iter().all(|w| *w <= WAIT));
    }

    #[test]
    fn batches_already_waiting_are_gathered() {
        let (mut s, _) = source(
            feed(&[Some(1000), Some(1000), Some(1000), None]),
            StopAt::default(),
            Arc::new(AtomicU64::new(0)),
        );
        // 2,000 frames fill less than a batch, the third makes it full.
        assert_eq!(s.next_batch().map(|b| b.len()), Some(3000));
        assert_eq!(s.next_batch().map(|b| b.len()), Some(0));
    }

    #[test]
    fn count_stops_the_capture_and_keeps_exactly_n_frames() {
        let (mut s, state) = source(
            feed(&[Some(4), None, Some(4), Some(4), None, Some(3)]),
            StopAt {
                count: Some(6),
                duration: None,
            },
            Arc::new(AtomicU64::new(0)),
        );
        let stopped = s.feed.stopped.clone();
        assert_eq!(s.next_batch().map(|b| b.len()), Some(4));
        assert_eq!(stopped.load(Ordering::Relaxed), 0);
        // Two of the next four fit, none of the four after; the capture is asked to stop once.
        assert_eq!(s.next_batch().map(|b| b.len()), Some(2));
        assert_eq!(stopped.load(Ordering::Relaxed), 1);
        assert_eq!(state.reason().as_deref(), Some("-c 6 reached"));
        assert!(!state.ended(), "still draining");
        // What the drain brings is dropped; the end comes.
        assert!(s.next_batch().is_none());
        assert_eq!(stopped.load(Ordering::Relaxed), 1);
        assert!(state.ended());
        assert_eq!(state.reason().as_deref(), Some("-c 6 reached"));
    }

    #[test]
    fn duration_stops_the_capture_by_the_clock() {
        let now = Arc::new(AtomicU64::new(0));
        let (mut s, state) = source(
            feed(&[Some(2), Some(2), Some(2), None]),
            StopAt {
                count: None,
                duration: Some(Duration::from_millis(2500)),
            },
            now.clone(),
        );
        let stopped = s.feed.stopped.clone();
        now.store(2499, Ordering::Relaxed);
        assert_eq!(s.next_batch().map(|b| b.len()), Some(6));
        assert_eq!(stopped.load(Ordering::Relaxed), 0);
        now.store(2500, Ordering::Relaxed);
        assert!(s.next_batch().is_none());
        assert_eq!(stopped.load(Ordering::Relaxed), 1);
        assert_eq!(state.reason().as_deref(), Some("--duration 2.5s reached"));
        assert!(state.ended());
    }

    #[test]
    fn an_interface_error_is_the_reason() {
        let mut f = feed(&[Some(1)]);
        f.errors = vec!["eth0: capture stopped: The interface went down".into()];
        let (mut s, state) = source(f, StopAt::default(), Arc::new(AtomicU64::new(0)));
        // The last frames come with the end.
        assert_eq!(s.next_batch().map(|b| b.len()), Some(1));
        assert!(s.next_batch().is_none());
        assert_eq!(
            state.reason().as_deref(),
            Some("eth0: capture stopped: The interface went down")
        );
        assert_eq!(state.errors().len(), 1);
    }

    #[test]
    fn the_loader_drains_a_live_source_into_the_pipeline() {
        // The loader with a live source: empty batches are skipped without locking, frames
        // are analysed, the end finishes the pipeline.
        use crate::loader::{self, Progress};
        use lyncscope::pipeline::Pipeline;
        use std::sync::atomic::AtomicBool;
        let path = format!(
            "{}/captures/conference-join.pcapng",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let mut files = lyncscope::capture::CaptureFiles::open(&[path]).expect("sample opens");
        let mut script = VecDeque::new();
        loop {
            let mut b = FrameBatch::default();
            while b.len() < 10 {
                match files.next_frame() {
                    Some(f) => b.push(&f),
                    None => break,
                }
            }
            if b.is_empty() {
                break;
            }
            script.push_back(Some(b));
            script.push_back(None);
        }
        struct Replay(VecDeque<Option<FrameBatch>>);
        impl LiveFeed for Replay {
            fn receive(&mut self, _: Duration, into: &mut FrameBatch, _: u64) -> Received {
                match self.0.pop_front() {
                    Some(Some(b)) => {
                        for f in b.frames() {
                            into.push(&f);
                        }
                        Received::Frames
                    }
                    Some(None) => Received::Idle,
                    None => Received::Ended,
                }
            }
            fn stop(&mut self) {}
            fn errors(&self) -> Vec<String> {
                Vec::new()
            }
        }
        let state = Arc::new(SourceState::default());
        let mut src = LiveSource::new(
            Replay(script),
            StopAt::default(),
            || Duration::ZERO,
            state.clone(),
        );
        let pipeline = Arc::new(Mutex::new(Pipeline::new(&lyncscope::Options {
            keep_messages: true,
            message_store: true,
            ..lyncscope::Options::default()
        })));
        let progress = Arc::new(Progress::default());
        let handle = loader::spawn(
            pipeline.clone(),
            progress.clone(),
            Arc::new(AtomicBool::new(false)),
            move || src.next_batch(),
        )
        .expect("thread starts");
        handle.join().expect("loader ends");
        assert!(progress.status().done);
        assert!(state.ended());
        assert_eq!(progress.status().frames, 117);
        let p = pipeline.lock().expect("not poisoned");
        assert_eq!(p.analysis().messages().len(), 62);
        assert_eq!(p.analysis().conferences().list().len(), 1);
    }

    #[test]
    fn two_feeds_read_as_one_are_numbered_in_one_sequence_and_end_together() {
        let a = feed(&[Some(2), None, None]);
        let mut b = feed(&[None, Some(3), Some(1)]);
        b.errors = vec!["hep: gone".into()];
        let mut both = Both::new(a, b);
        let mut batch = FrameBatch::default();
        // What is waiting in either is taken at once: a's two frames.
        assert_eq!(both.receive(WAIT, &mut batch, u64::MAX), Received::Frames);
        // Then b's three; b's one more with a's end (a's script is over).
        assert_eq!(both.receive(WAIT, &mut batch, u64::MAX), Received::Frames);
        assert_eq!(both.receive(WAIT, &mut batch, u64::MAX), Received::Frames);
        let numbers: Vec<u64> = batch
            .inputs()
            .map(|i| match i {
                Input::Frame(f) => f.number,
                Input::Message(m) => m.number,
            })
            .collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
        // Both scripts over: the end, with b's errors kept after it went.
        assert_eq!(both.receive(WAIT, &mut batch, u64::MAX), Received::Ended);
        assert_eq!(both.errors(), ["hep: gone"]);
        // -c room is shared: one frame of room takes one frame in all. Stopping stops both.
        let (a, b) = (feed(&[Some(2)]), feed(&[Some(2)]));
        let stopped = (a.stopped.clone(), b.stopped.clone());
        let mut both = Both::new(a, b);
        let mut batch = FrameBatch::default();
        both.receive(WAIT, &mut batch, 1);
        assert_eq!(batch.len(), 1);
        both.stop();
        assert_eq!(
            (
                stopped.0.load(Ordering::Relaxed),
                stopped.1.load(Ordering::Relaxed)
            ),
            (1, 1)
        );
    }

    #[test]
    fn a_hep_feed_gives_whole_messages_from_its_agents() {
        use lyncscope_hep::{encode_v3, HepOut, ListenerConfig};
        let listener = Listener::bind(
            &["udp:127.0.0.1:0".parse().expect("spec")],
            ListenerConfig::default(),
        )
        .expect("binds");
        let to = listener.local_specs()[0].addr;
        let (mut feed, hep) = HepFeed::new(listener);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
        let sip = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        for node in [7, 8, 7] {
            let mut packet = Vec::new();
            encode_v3(
                &HepOut {
                    ip_protocol: 17,
                    src_ip: [10, 0, 0, 1].into(),
                    dst_ip: [10, 0, 0, 2].into(),
                    src_port: 5060,
                    dst_port: 5060,
                    ts_sec: 1_700_000_000,
                    ts_usec: 0,
                    proto_type: 1,
                    node_id: node,
                    password: None,
                    correlation_id: None,
                    vlan: None,
                    node_name: Some(b"fe01"),
                    payload: sip,
                },
                &mut packet,
            )
            .expect("encodes");
            sock.send_to(&packet, to).expect("sends");
        }
        let mut batch = FrameBatch::default();
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while batch.len() < 3 && std::time::Instant::now() < until {
            feed.receive(WAIT, &mut batch, u64::MAX);
        }
        let agents: Vec<(u64, lyncscope::source::Origin)> = batch
            .inputs()
            .filter_map(|i| match i {
                Input::Message(m) => Some((m.number, m.origin)),
                Input::Frame(_) => None,
            })
            .collect();
        use lyncscope::source::Origin::Agent;
        assert_eq!(
            agents,
            [
                (1, Agent { node: 7 }),
                (2, Agent { node: 8 }),
                (3, Agent { node: 7 })
            ]
        );
        let status = hep.status();
        assert_eq!((status.agents, status.packets), (2, 3));
        assert_eq!(hep.summary().agents.len(), 2);
        feed.stop();
        assert_eq!(feed.receive(WAIT, &mut batch, u64::MAX), Received::Ended);
    }

    #[test]
    fn rate_over_the_recent_window() {
        let ms = Duration::from_millis;
        let mut r = RateMeter::new(ms(2000));
        assert_eq!(r.per_second(), 0.0);
        r.record(ms(0), 0);
        assert_eq!(r.per_second(), 0.0, "one sample has no rate");
        // 100 messages per 100 ms: 1,000/s.
        for i in 1..=10 {
            r.record(ms(i * 100), i * 100);
        }
        assert_eq!(r.per_second(), 1000.0);
        // Then quiet for three seconds: the old burst leaves the window.
        for i in 11..=40 {
            r.record(ms(i * 100), 1000);
        }
        assert_eq!(r.per_second(), 0.0);
        // A new pace: 50 per 100 ms over more than the window.
        for i in 41..=70 {
            r.record(ms(i * 100), 1000 + (i - 40) * 50);
        }
        assert_eq!(r.per_second(), 500.0);
        // Samples kept stay bounded, and a clock going back is ignored.
        assert!(r.samples.len() <= 22, "{}", r.samples.len());
        r.record(ms(10), 0);
        assert_eq!(r.per_second(), 500.0);
        let mut fast = RateMeter::new(ms(2000));
        for i in 0..10_000u64 {
            fast.record(Duration::from_micros(i), i);
        }
        assert!(fast.samples.len() <= MAX_SAMPLES);
    }

    #[test]
    fn live_status_follows_the_capture() {
        let mut s = LiveStatus::new(&["eth0".into(), "eth1".into()]);
        assert_eq!(s.interfaces, "eth0, eth1");
        let stats = LiveStats {
            interfaces: vec![
                InterfaceStats {
                    dropped: 3,
                    if_dropped: 1,
                    ..Default::default()
                },
                InterfaceStats {
                    dropped: 2,
                    ..Default::default()
                },
            ],
            filter: None,
        };
        s.update(Duration::from_secs(1), 10, &stats, None, false);
        assert_eq!((s.dropped, s.if_dropped), (5, 1));
        assert_eq!(s.state, CaptureState::Capturing);
        s.update(
            Duration::from_secs(2),
            30,
            &stats,
            Some("-c 5 reached".into()),
            false,
        );
        assert_eq!(s.state, CaptureState::Stopping("-c 5 reached".into()));
        assert_eq!(s.rate.per_second(), 20.0);
        s.update(
            Duration::from_secs(3),
            30,
            &stats,
            Some("-c 5 reached".into()),
            true,
        );
        assert_eq!(s.state, CaptureState::Stopped("-c 5 reached".into()));
    }
}
