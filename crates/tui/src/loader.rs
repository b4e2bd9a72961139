//! The loader thread: reads frames from a source and runs them through the pipeline in
//! batches, while the UI thread draws from the same pipeline.
//!
//! Sharing: one `Mutex<Pipeline>`, locked by the loader for one batch at a time (a few
//! milliseconds) and by the UI for one update-and-draw. The analysis is append-mostly and large
//! (a million message records), so copying it into snapshots for the UI would cost more than
//! the brief waits on the lock; the UI draws only visible rows, so its hold is short too.
//!
//! The source is a closure that yields owned [`FrameBatch`]es, so reading (I/O, gzip, waiting
//! for packets) happens outside the lock: capture files (`file_source`) or a live capture
//! (`tui::live::LiveSource`), whose empty batches (nothing arrived) are skipped without locking.

use lyncscope::capture::Frame;
use lyncscope::inputs::Inputs;
use lyncscope::pipeline::{MessageTap, Pipeline};
use lyncscope::source::{Input, Source, SourceMessage};
use lyncscope::transport::MsgContext;
use lyncscope::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The loader thread's name (its panics are caught and shown, not fatal to the terminal).
pub(crate) const LOADER_THREAD: &str = "lyncscope-loader";

/// Frames per batch, and the most bytes a batch gathers before it is handed over.
const BATCH_FRAMES: usize = 2048;
const BATCH_BYTES: usize = 2 * 1024 * 1024;

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
}

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
/// An empty batch (a live source that waited and got nothing) is skipped without locking the
/// pipeline; the stop flag is looked at after every batch.
pub(crate) fn spawn_tapped<T: MessageTap + Send + 'static>(
    pipeline: Arc<Mutex<Pipeline>>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    mut source: impl FnMut() -> Option<FrameBatch> + Send + 'static,
    mut tap: Option<T>,
) -> std::io::Result<JoinHandle<Option<T>>> {
    std::thread::Builder::new()
        .name(LOADER_THREAD.into())
        .spawn(move || {
            // A bug must not leave the UI waiting for ever: the panic is caught, reported as a
            // warning, and loading ends with what was read.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                while !stop.load(Ordering::Relaxed) {
                    let Some(mut batch) = source() else { break };
                    if batch.is_empty() && batch.events.is_empty() {
                        continue;
                    }
                    let Ok(mut p) = pipeline.lock() else { return };
                    for e in std::mem::take(&mut batch.events) {
                        p.add_server_event(e);
                    }
                    for input in batch.inputs() {
                        match tap.as_mut() {
                            Some(t) => p.push_input_tapped(&input, t),
                            None => p.push_input(&input),
                        }
                    }
                    drop(p);
                    progress
                        .frames
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                if let Ok(mut p) = pipeline.lock() {
                    match tap.as_mut() {
                        Some(t) => p.finish_tapped(t),
                        None => p.finish(),
                    }
                }
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
}
