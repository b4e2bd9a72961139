//! The loader: a reading thread reads frames from a source and runs them through the layers
//! before the analysis; the loader thread runs the analysis in batches, while the UI thread
//! draws from the same pipeline.
//!
//! Sharing: one `Mutex<Pipeline>`, locked by the loader for one batch's analysis at a time (a
//! few milliseconds) and by the UI for one update-and-draw; the reading thread never locks it
//! (it holds the layers it runs: `Pipeline::take_reading`). The analysis is append-mostly and
//! large (a million message records), so copying it into snapshots for the UI would cost more
//! than the brief waits on the lock; the UI draws only visible rows, so its hold is short too.
//!
//! The source is a closure that yields owned [`FrameBatch`]es: capture files (`file_source`) or
//! a live capture (`tui::live::LiveSource`), whose empty batches (nothing arrived) are passed
//! over.

use lyncscope::capture::Frame;
use lyncscope::inputs::Inputs;
use lyncscope::pipeline::{MessageBatch, MessageTap, Pipeline, Reading};
use lyncscope::source::{Input, Source, SourceMessage};
use lyncscope::transport::MsgContext;
use lyncscope::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The loader thread's name (its panics are caught and shown, not fatal to the terminal).
pub(crate) const LOADER_THREAD: &str = "lyncscope-loader";
/// The reading thread's name (its panics become the loader's).
pub(crate) const READER_THREAD: &str = "lyncscope-read";

/// Frames per batch, and the most bytes a batch gathers before it is handed over. Several
/// batches are alive at once (`IN_FLIGHT` waiting, one analysed, one being filled, the frames
/// read): at 2 MiB they held 16 MB of a 1M-message load; at 512 KiB, a lock every few hundred
/// frames costs nothing.
const BATCH_FRAMES: usize = 2048;
const BATCH_BYTES: usize = 512 * 1024;

/// Frames read from a source, owned, back to back in one buffer.
#[derive(Default)]
pub struct FrameBatch {
    frames: Vec<BatchFrame>,
    data: Vec<u8>,
    /// Server diagnostic records read with these inputs (from logs).
    events: Vec<lyncscope::logs::ServerEvent>,
}

struct BatchFrame {
    number: u64,
    timestamp: Timestamp,
    link_type: u32,
    original_len: u32,
    source: u32,
    start: usize,
    len: usize,
    /// A whole message (a log record, a HEP packet) rather than a captured frame.
    message: Option<MessageMeta>,
}

/// What a whole message carries besides its bytes.
#[derive(Clone, Copy)]
struct MessageMeta {
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
    transport: lyncscope::source::Transport,
    origin: lyncscope::source::Origin,
}

impl FrameBatch {
    pub fn push(&mut self, f: &Frame<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(f.data);
        self.frames.push(BatchFrame {
            number: f.number,
            timestamp: f.timestamp,
            link_type: f.link_type,
            original_len: f.original_len,
            source: f.source,
            start,
            len: f.data.len(),
            message: None,
        });
    }

    /// Adds a frame or a whole message.
    pub fn push_input(&mut self, input: &Input<'_>) {
        match input {
            Input::Frame(f) => self.push(f),
            Input::Message(m) => {
                let start = self.data.len();
                self.data.extend_from_slice(m.bytes);
                self.frames.push(BatchFrame {
                    number: m.number,
                    timestamp: m.time,
                    link_type: 0,
                    original_len: m.bytes.len() as u32,
                    source: 0,
                    start,
                    len: m.bytes.len(),
                    message: Some(MessageMeta {
                        src: m.src,
                        dst: m.dst,
                        transport: m.transport,
                        origin: m.origin,
                    }),
                });
            }
        }
    }

    /// The frames and whole messages held, in order.
    pub fn inputs(&self) -> impl Iterator<Item = Input<'_>> {
        self.frames.iter().map(|f| {
            let data = self
                .data
                .get(f.start..f.start.saturating_add(f.len))
                .unwrap_or_default();
            match f.message {
                None => Input::Frame(Frame {
                    number: f.number,
                    timestamp: f.timestamp,
                    link_type: f.link_type,
                    data,
                    original_len: f.original_len,
                    source: f.source,
                }),
                Some(m) => Input::Message(SourceMessage {
                    number: f.number,
                    time: f.timestamp,
                    src: m.src,
                    dst: m.dst,
                    transport: m.transport,
                    origin: m.origin,
                    bytes: data,
                }),
            }
        })
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Empties the batch, keeping its buffers (a headless loop hands it back to be refilled).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.data.clear();
        self.events.clear();
    }

    /// Numbers the frames and messages from index `from` on `next`, `next + 1`, … (two
    /// feeds read together are numbered in one sequence).
    pub(crate) fn renumber(&mut self, from: usize, next: &mut u64) {
        for f in self.frames.iter_mut().skip(from) {
            f.number = *next;
            *next += 1;
        }
    }

    /// Adds `by` to the numbers of the frames and messages held (a live feed read after
    /// files goes on from their last number).
    pub fn offset_numbers(&mut self, by: u64) {
        for f in &mut self.frames {
            f.number = f.number.saturating_add(by);
        }
    }

    /// The highest number held.
    pub(crate) fn last_number(&self) -> Option<u64> {
        self.frames.iter().map(|f| f.number).max()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes of the frames held.
    pub(crate) fn bytes(&self) -> usize {
        self.data.len()
    }

    /// The captured frames held (whole messages left out).
    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> {
        self.frames
            .iter()
            .filter(|f| f.message.is_none())
            .map(|f| Frame {
                number: f.number,
                timestamp: f.timestamp,
                link_type: f.link_type,
                data: self
                    .data
                    .get(f.start..f.start.saturating_add(f.len))
                    .unwrap_or_default(),
                original_len: f.original_len,
                source: f.source,
            })
    }
}

/// How far loading has come; written by the loader, read by the UI without locking.
#[derive(Default)]
pub(crate) struct Progress {
    pub(crate) bytes_read: AtomicU64,
    /// Total bytes of the input, or 0 when unknown (standard input, a live source).
    pub(crate) total_bytes: AtomicU64,
    pub(crate) frames: AtomicU64,
    pub(crate) done: AtomicBool,
    pub(crate) warnings: Mutex<Vec<String>>,
    /// Set by the UI while it waits for the pipeline's lock: the loader, which would otherwise
    /// take the lock again at once for its next batch (a mutex is not fair), lets it in first.
    pub(crate) ui_waiting: AtomicBool,
}

/// The longest the loader lets the UI go first: a frame is drawn in a few milliseconds.
const HAND_OVER_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// A snapshot of `Progress` for one drawn frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStatus {
    pub bytes_read: u64,
    pub total_bytes: Option<u64>,
    pub frames: u64,
    pub done: bool,
    pub warnings: Vec<String>,
}

impl Progress {
    pub(crate) fn status(&self) -> LoadStatus {
        let total = self.total_bytes.load(Ordering::Relaxed);
        LoadStatus {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            total_bytes: (total > 0).then_some(total),
            frames: self.frames.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Acquire),
            warnings: self.warnings.lock().map(|w| w.clone()).unwrap_or_default(),
        }
    }

    /// The UI's side of `ui_waiting`: `pipeline.lock()` with the flag up while it waits.
    pub(crate) fn lock_for_ui<'a>(
        &self,
        pipeline: &'a Mutex<Pipeline>,
    ) -> std::sync::LockResult<std::sync::MutexGuard<'a, Pipeline>> {
        self.ui_waiting.store(true, Ordering::Release);
        let guard = pipeline.lock();
        self.ui_waiting.store(false, Ordering::Release);
        guard
    }

    /// The loader's side, after it let the lock go: waits while the UI is waiting for it, so
    /// that the UI gets it (at most `HAND_OVER_WAIT`).
    fn let_the_ui_in(&self) {
        let asked = std::time::Instant::now();
        while self.ui_waiting.load(Ordering::Acquire) && asked.elapsed() < HAND_OVER_WAIT {
            std::thread::yield_now();
        }
    }
}

/// A batch source over capture files: reads up to a batch of frames per call and records
/// progress.
pub(crate) fn file_source(
    mut files: Inputs,
    progress: Arc<Progress>,
    tls: lyncscope::tls::TlsHandle,
) -> impl FnMut() -> Option<FrameBatch> + Send + 'static {
    progress
        .total_bytes
        .store(files.total_bytes().unwrap_or(0), Ordering::Relaxed);
    move || {
        let mut batch = FrameBatch::default();
        while batch.len() < BATCH_FRAMES && batch.data.len() < BATCH_BYTES {
            // Key log lines embedded in a pcapng go to the TLS layer before the frames they
            // decrypt are pushed (the batch is pushed after it is built).
            if let Some(secrets) = files.take_secrets() {
                tls.add_keylog(&secrets);
            }
            match files.next_input() {
                Some(input) => batch.push_input(&input),
                None => break,
            }
        }
        batch.events = files.take_events();
        progress
            .bytes_read
            .store(files.bytes_read(), Ordering::Relaxed);
        if let Ok(mut w) = progress.warnings.lock() {
            let now = files.warnings();
            if w.len() != now.len() {
                *w = now.iter().map(|w| w.to_string()).collect();
            }
        }
        if batch.is_empty() && batch.events.is_empty() && files.following() {
            // A followed log has nothing more yet: an empty batch (the loader skips it without
            // locking) after a short wait, so `q` is seen and the reading resumes.
            std::thread::sleep(std::time::Duration::from_millis(100));
            return Some(batch);
        }
        (!batch.is_empty() || !batch.events.is_empty()).then_some(batch)
    }
}

/// A tap that sees nothing, for a loader without one.
pub(crate) struct NoTap;

impl MessageTap for NoTap {
    fn frame(&mut self, _: &Frame<'_>) {}
    fn message(&mut self, _: &MsgContext, _: &[u8]) {}
}

/// Starts the loader: batches from `source` are pushed through the pipeline until the source
/// is exhausted or `stop` is set; then the pipeline is finished and `progress.done` set.
/// Only tests start a loader without a tap; the UI goes through [`spawn_tapped`].
#[cfg(test)]
pub(crate) fn spawn(
    pipeline: Arc<Mutex<Pipeline>>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    source: impl FnMut() -> Option<FrameBatch> + Send + 'static,
) -> std::io::Result<JoinHandle<Option<NoTap>>> {
    spawn_tapped::<NoTap>(pipeline, progress, stop, source, None)
}

/// `spawn`, showing every frame and message to `tap` (the `-w` writer) as well; the thread
/// hands the tap back when it ends, after the pipeline finished.
///
/// Two threads: the reading thread calls `source` and runs the layers before the analysis
/// (decoding, reassembly, decryption, SIP framing: [`Reading`]) outside the lock; the loader
/// thread locks the pipeline for one batch's analysis at a time. So the UI waits only for the
/// analysis, and reading and analysing use both cores. An empty batch (a live source that
/// waited and got nothing) is passed over; the stop flag is looked at after every batch.
pub(crate) fn spawn_tapped<T: MessageTap + Send + 'static>(
    pipeline: Arc<Mutex<Pipeline>>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    source: impl FnMut() -> Option<FrameBatch> + Send + 'static,
    tap: Option<T>,
) -> std::io::Result<JoinHandle<Option<T>>> {
    std::thread::Builder::new()
        .name(LOADER_THREAD.into())
        .spawn(move || {
            let mut tap = tap;
            // A bug must not leave the UI waiting for ever: the panic is caught, reported as a
            // warning, and loading ends with what was read.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                load(&pipeline, &progress, &stop, source, &mut tap)
            }));
            if read.is_err() {
                if let Ok(mut w) = progress.warnings.lock() {
                    w.push("internal error while reading the capture; stopped there".into());
                }
            }
            progress.done.store(true, Ordering::Release);
            tap
        })
}

/// Batches between the reading thread and the analysis: what bounds the memory between them.
const IN_FLIGHT: usize = 4;

/// Sets the stop flag when dropped unless disarmed: if the analysis side unwinds or fails, the
/// reading thread stops too (a live source yields empty batches for ever and would not notice).
struct StopOnDrop<'a>(&'a AtomicBool, bool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// The loader thread's work (see [`spawn_tapped`]).
fn load<T: MessageTap + Send>(
    pipeline: &Mutex<Pipeline>,
    progress: &Progress,
    stop: &AtomicBool,
    mut source: impl FnMut() -> Option<FrameBatch> + Send,
    tap: &mut Option<T>,
) {
    let Ok(mut reading) = pipeline.lock().map(|mut p| p.take_reading()) else {
        return;
    };
    let analyse = |batch: &mut MessageBatch, frames: usize| -> bool {
        let Ok(mut p) = pipeline.lock() else {
            return false;
        };
        p.deliver(batch);
        drop(p);
        progress.frames.fetch_add(frames as u64, Ordering::Relaxed);
        progress.let_the_ui_in();
        true
    };
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(MessageBatch, usize)>(IN_FLIGHT);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<MessageBatch>();
    let split = std::thread::scope(|scope| {
        let (reading, tap, source) = (&mut reading, &mut *tap, &mut source);
        let reader = std::thread::Builder::new()
            .name(READER_THREAD.into())
            .spawn_scoped(scope, move || {
                read_batches(
                    source,
                    reading,
                    tap,
                    stop,
                    |batch, frames| full_tx.send((batch, frames)).is_ok(),
                    || empty_rx.try_recv().unwrap_or_default(),
                );
            });
        let Ok(reader) = reader else {
            return false;
        };
        let mut guard = StopOnDrop(stop, true);
        for (mut batch, frames) in full_rx {
            if !analyse(&mut batch, frames) {
                return true;
            }
            // Back for reuse; gone only when the reader has finished.
            let _ = empty_tx.send(batch);
        }
        guard.1 = false;
        // The reading thread's panic is the loader's (caught and shown by the caller).
        if let Err(panic) = reader.join() {
            std::panic::resume_unwind(panic);
        }
        true
    });
    if !split {
        // The system refused a thread: this one reads and analyses in turn.
        read_batches(
            &mut source,
            &mut reading,
            tap,
            stop,
            |mut batch, frames| analyse(&mut batch, frames),
            MessageBatch::default,
        );
    }
    if let Ok(mut p) = pipeline.lock() {
        p.rejoin(reading);
    }
}

/// The reading thread: batches of frames from `source` through the layers before the
/// analysis, each handed over as one batch of messages (so a live source's packets reach the
/// analysis as soon as it yields them); at the end, the streams still open are closed.
fn read_batches<T: MessageTap>(
    source: &mut impl FnMut() -> Option<FrameBatch>,
    reading: &mut Reading,
    tap: &mut Option<T>,
    stop: &AtomicBool,
    mut hand_over: impl FnMut(MessageBatch, usize) -> bool,
    mut fresh: impl FnMut() -> MessageBatch,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(mut frames) = source() else { break };
        if frames.is_empty() && frames.events.is_empty() {
            continue;
        }
        let mut batch = fresh();
        for e in std::mem::take(&mut frames.events) {
            batch.add_server_event(e);
        }
        for input in frames.inputs() {
            reading.push_input(&input, &mut batch, tap);
        }
        reading.stamp(&mut batch);
        if !hand_over(batch, frames.len()) {
            return;
        }
    }
    let mut batch = fresh();
    reading.finish(&mut batch, tap);
    reading.stamp(&mut batch);
    hand_over(batch, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_sample_in_batches() {
        let path = format!(
            "{}/captures/conference-join.pcapng",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let files = Inputs::open(&[path], &Default::default()).expect("sample opens");
        let progress = Arc::new(Progress::default());
        let pipeline = Arc::new(Mutex::new(Pipeline::new(&lyncscope::Options {
            keep_messages: true,
            message_store: true,
            ..lyncscope::Options::default()
        })));
        let source = file_source(files, progress.clone(), Default::default());
        let handle = spawn(
            pipeline.clone(),
            progress.clone(),
            Arc::new(AtomicBool::new(false)),
            source,
        )
        .expect("thread starts");
        handle.join().expect("loader finishes");
        let status = progress.status();
        assert!(status.done);
        assert_eq!(status.frames, 117);
        assert_eq!(Some(status.bytes_read), status.total_bytes);
        let p = pipeline.lock().expect("not poisoned");
        assert_eq!(p.analysis().messages().len(), 62);
        assert_eq!(p.analysis().store().map(|s| s.len()), Some(62));
    }

    fn json(p: &Pipeline) -> String {
        let sources = ["x".to_string()];
        let input = lyncscope::report::ReportInput {
            sources: &sources,
            messages: true,
            ..Default::default()
        };
        let mut out = Vec::new();
        lyncscope::report::json::write(&mut out, &input, &p.stats(), p.analysis())
            .expect("to memory");
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// The loader runs the layers before the analysis on a reading thread and the analysis on
    /// its own: the pipeline it leaves is the one a single thread leaves (the JSON report with
    /// every message, and every stored message's bytes), for captures, TLS with a key log and
    /// with secrets inside the capture, and several logs merged.
    #[test]
    fn two_threads_load_what_one_thread_does() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../captures");
        let logs = |d: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(format!("{root}/logs/{d}"))
                .expect("log sample")
                .filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
                .collect();
            v.sort();
            v
        };
        let cases: Vec<(Vec<String>, Option<&str>)> = vec![
            (vec![format!("{root}/conference-join.pcapng")], None),
            (vec![format!("{root}/join-udp-fragments.pcap")], None),
            (
                vec![format!("{root}/devices-sharing-escalation.pcapng")],
                None,
            ),
            (
                vec![format!("{root}/tls/join-tls12-ecdhe.pcap")],
                Some("tls/join-tls12-ecdhe.keylog"),
            ),
            (vec![format!("{root}/tls/join-tls13-dsb.pcapng")], None),
            (logs("av-mcu-rejected"), None),
            (
                vec![format!(
                    "{root}/../crates/logs/tests/data/sipstack_diag_cisco.log"
                )],
                None,
            ),
            (
                vec![
                    format!("{root}/av-mcu-rejected.pcapng"),
                    format!("{root}/focus-c3p-failure.pcapng"),
                ],
                None,
            ),
        ];
        let options = lyncscope::Options {
            keep_messages: true,
            message_store: true,
            ..lyncscope::Options::default()
        };
        for (paths, keylog) in cases {
            let tls = lyncscope::tls::TlsHandle::default();
            if let Some(k) = keylog {
                tls.add_keylog(&std::fs::read(format!("{root}/{k}")).expect("key log"));
            }
            let mut one = Pipeline::new(&options).with_tls(tls.clone());
            let mut files = Inputs::open(&paths, &Default::default()).expect("opens");
            lyncscope::pipeline::run(&mut files, &mut one);

            let progress = Arc::new(Progress::default());
            let two = Arc::new(Mutex::new(Pipeline::new(&options).with_tls(tls.clone())));
            let files = Inputs::open(&paths, &Default::default()).expect("opens");
            let source = file_source(files, progress.clone(), tls.clone());
            let stop = Arc::new(AtomicBool::new(false));
            spawn(two.clone(), progress.clone(), stop, source)
                .expect("thread starts")
                .join()
                .expect("loader finishes");
            let two = two.lock().expect("not poisoned");
            let a = one.analysis();
            assert!(
                a.stats().sip_messages > 0 || !a.server_events().is_empty(),
                "{paths:?}"
            );
            assert_eq!(json(&two), json(&one), "{paths:?}");
            let events = |p: &Pipeline| format!("{:?}", p.analysis().server_events());
            assert_eq!(events(&two), events(&one), "{paths:?}");
            let (a, b) = (one.analysis().store(), two.analysis().store());
            let (a, b) = (a.expect("store"), b.expect("store"));
            assert_eq!(a.len(), b.len());
            for i in 0..a.len() {
                assert_eq!(a.get(i), b.get(i), "{paths:?} message {i}");
            }
        }
    }
}
