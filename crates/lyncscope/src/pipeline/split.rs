//! [`run_until`](super::run_until) on two threads: one reads the inputs and takes them through
//! every layer before the analysis (capture reading and decompression, link and IP decoding
//! with defragmentation, TCP reassembly, TLS decryption, SIP framing and header indexing); the
//! other runs the analysis. Messages cross in batches: their bytes copied into one buffer, their
//! parsed view as offsets ([`Detached`]), so nothing is parsed twice.
//!
//! The analysis sees the same calls in the same order as on one thread — messages, non-SIP
//! datagrams and servers' events, each after the input that completed it — so every report is
//! the same byte for byte whatever the thread count (tested in `tests/threads.rs`).

use super::{Front, MessageTap, Pipeline};
use crate::analysis::Analysis;
use crate::net::NetStats;
use crate::sip::message::{Detached, Message};
use crate::source::Input;
use crate::source::{ServerEvent, Source};
use crate::tls::TlsHandle;
use crate::transport::TransportStats;
use crate::transport::{MsgContext, SipSink};
use std::sync::mpsc;

/// Bytes of messages a batch holds before it is handed over: enough that the hand-over costs
/// nothing per message, little enough to stay in the cache.
const BATCH_BYTES: usize = 256 << 10;
/// Items a batch holds before it is handed over.
const BATCH_ITEMS: usize = 2048;
/// Batches on their way to the analysis: what bounds the memory between the threads (a batch
/// is over its bounds by one input at most, a reassembled message of up to 1 MiB).
const IN_FLIGHT: usize = 4;

/// What the analysis is given, in order.
enum Item {
    /// A SIP message: its bytes are `bytes[start..end]` of the batch.
    Message {
        ctx: MsgContext,
        start: usize,
        end: usize,
        shape: Detached,
    },
    /// A UDP datagram that is not SIP (media): `bytes[start..end]`.
    Datagram {
        ctx: MsgContext,
        start: usize,
        end: usize,
    },
    /// A server's diagnostic record from a log.
    Event(ServerEvent),
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl Batch {
    fn full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES || self.items.len() >= BATCH_ITEMS
    }
}

/// The reading thread's sink: messages and datagrams into the batch, and to the tap.
struct Collect<'a, T: MessageTap> {
    batch: &'a mut Batch,
    tap: &'a mut T,
    /// The analysis is behind (the last batch had to wait): this thread has time to find each
    /// message's dialog keys for it. When the analysis keeps up, finding them here would make
    /// this thread the slower one (a TCP capture's framing already is).
    find_keys: bool,
}

impl<T: MessageTap> SipSink for Collect<'_, T> {
    fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
        let start = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(msg.raw());
        self.batch.items.push(Item::Message {
            ctx: *ctx,
            start,
            end: self.batch.bytes.len(),
            shape: msg.detach_finding_keys(self.find_keys),
        });
        self.tap.message(ctx, msg.raw());
    }

    fn datagram(&mut self, ctx: &MsgContext, payload: &[u8]) {
        let start = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(payload);
        self.batch.items.push(Item::Datagram {
            ctx: *ctx,
            start,
            end: self.batch.bytes.len(),
        });
    }
}

/// [`run_until`](super::run_until) with the layers before the analysis on a thread of their
/// own (see the module documentation). The same result; the tap and `keep_going` are called
/// on the reading thread.
pub fn run_until_split<S, T>(
    source: &mut S,
    pipeline: &mut Pipeline,
    tap: &mut T,
    mut keep_going: impl FnMut(u64) -> bool + Send,
) -> u64
where
    S: Source + Send,
    T: MessageTap + Send,
{
    let (front, analysis) = pipeline.parts();
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let read = std::thread::scope(|scope| {
        let (source, tap, keep_going) = (&mut *source, &mut *tap, &mut keep_going);
        let read = move || read_all(source, front, tap, keep_going, &full_tx, &empty_rx);
        // Named, for profilers and `top -H`. When the system refuses a thread, the caller's
        // thread does it all (below).
        let reader = match std::thread::Builder::new()
            .name("lyncscope-read".into())
            .spawn_scoped(scope, read)
        {
            Ok(r) => r,
            Err(_) => return None,
        };
        for mut batch in full_rx {
            deliver(analysis, &mut batch);
            // Back for reuse; gone only when the reader has finished.
            let _ = empty_tx.send(batch);
        }
        // The reader's panic, if any, is this thread's (as on one thread).
        Some(
            reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    match read {
        Some(read) => read,
        None => super::run_until(source, pipeline, tap, keep_going),
    }
}

/// The reading thread: every input through the front layers, batches to the analysis.
fn read_all<S: Source, T: MessageTap>(
    source: &mut S,
    front: &mut Front,
    tap: &mut T,
    keep_going: &mut impl FnMut(u64) -> bool,
    full: &mpsc::SyncSender<Batch>,
    empty: &mpsc::Receiver<Batch>,
) -> u64 {
    let mut read = 0u64;
    let mut batch = Batch::default();
    let mut find_keys = false;
    loop {
        if let Some(secrets) = source.take_secrets() {
            front.tls().add_keylog(&secrets);
        }
        let Some(input) = source.next_input() else {
            break;
        };
        // The tap sees the frame before the messages it completes (the sink holds the tap).
        if let crate::source::Input::Frame(f) = &input {
            tap.frame(f);
        }
        front.push_input(
            &input,
            &mut Collect {
                batch: &mut batch,
                tap: &mut *tap,
                find_keys,
            },
        );
        read += 1;
        let events = source.take_events();
        batch.items.extend(events.into_iter().map(Item::Event));
        if batch.full() {
            let next = empty.try_recv().unwrap_or_default();
            match full.try_send(std::mem::replace(&mut batch, next)) {
                Ok(()) => find_keys = false,
                Err(mpsc::TrySendError::Full(waiting)) => {
                    find_keys = true;
                    if full.send(waiting).is_err() {
                        return read; // the analysis is gone (it panicked)
                    }
                }
                // The analysis is gone (it panicked): nothing to read for.
                Err(mpsc::TrySendError::Disconnected(_)) => return read,
            }
        }
        if !keep_going(read) {
            break;
        }
    }
    batch
        .items
        .extend(source.take_events().into_iter().map(Item::Event));
    front.finish(&mut Collect {
        batch: &mut batch,
        tap: &mut *tap,
        find_keys,
    });
    let _ = full.send(batch);
    read
}

/// What the layers before the analysis counted, as of a batch.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrontCounters {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) net: NetStats,
    pub(crate) transport: TransportStats,
}

impl FrontCounters {
    pub(crate) fn of(front: &Front) -> Self {
        FrontCounters {
            packets: front.packets,
            bytes: front.bytes,
            net: front.net.stats().clone(),
            transport: front.transport.stats().clone(),
        }
    }
}

/// The layers before the analysis, out of their [`Pipeline`] ([`Pipeline::take_reading`]):
/// reading, link and IP decoding, reassembly, decryption and SIP framing, on a thread of the
/// caller's, into [`MessageBatch`]es for [`Pipeline::deliver`].
pub struct Reading {
    front: Front,
}

impl Reading {
    pub(super) fn new(front: Front) -> Self {
        Reading { front }
    }

    pub(super) fn into_front(self) -> Front {
        self.front
    }

    /// One input through the layers: what it completes goes into `batch`; `tap` sees the
    /// frame, then the messages (as [`Pipeline::push_input_tapped`] shows them).
    pub fn push_input(
        &mut self,
        input: &Input<'_>,
        batch: &mut MessageBatch,
        tap: &mut impl MessageTap,
    ) {
        if let Input::Frame(f) = input {
            tap.frame(f);
        }
        self.front.push_input(
            input,
            &mut Collect {
                batch: &mut batch.batch,
                tap,
                // The UI's analysis also lists and stores every message: it is the slower.
                find_keys: true,
            },
        );
    }

    /// End of input: streams still waiting for bytes are closed into `batch`.
    pub fn finish(&mut self, batch: &mut MessageBatch, tap: &mut impl MessageTap) {
        self.front.finish(&mut Collect {
            batch: &mut batch.batch,
            tap,
            find_keys: true,
        });
    }

    /// Marks `batch` with the layers' counters so far, for [`Pipeline::stats`] once it is
    /// delivered: call it before handing the batch over.
    pub fn stamp(&self, batch: &mut MessageBatch) {
        batch.counters = Some(FrontCounters::of(&self.front));
    }

    /// The TLS layer's key material (shared with the pipeline's).
    pub fn tls(&self) -> &TlsHandle {
        self.front.tls()
    }
}

/// What [`Reading`] produced for the analysis, in order: messages with their parsed view,
/// non-SIP datagrams, servers' diagnostic records. Reused: [`Pipeline::deliver`] empties it.
#[derive(Default)]
pub struct MessageBatch {
    batch: Batch,
    counters: Option<FrontCounters>,
}

impl MessageBatch {
    /// A server's diagnostic record (from a log), after what the batch holds.
    pub fn add_server_event(&mut self, event: ServerEvent) {
        self.batch.items.push(Item::Event(event));
    }

    /// Items held (messages, datagrams, records).
    pub fn len(&self) -> usize {
        self.batch.items.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.batch.items.is_empty()
    }

    /// Bytes of messages and datagrams held.
    pub fn bytes(&self) -> usize {
        self.batch.bytes.len()
    }

    /// Into `analysis`, in order; the counters stamped, if any.
    pub(super) fn deliver(&mut self, analysis: &mut Analysis) -> Option<FrontCounters> {
        deliver(analysis, &mut self.batch);
        self.counters.take()
    }
}

/// The analysis thread: a batch's items, in order.
fn deliver(analysis: &mut Analysis, batch: &mut Batch) {
    let bytes = &batch.bytes;
    for item in batch.items.drain(..) {
        match item {
            Item::Message {
                ctx,
                start,
                end,
                shape,
            } => {
                // The bytes the view was detached from: it always attaches.
                if let Some(msg) = bytes.get(start..end).and_then(|b| shape.attach(b)) {
                    analysis.message(&ctx, &msg);
                }
            }
            Item::Datagram { ctx, start, end } => {
                if let Some(payload) = bytes.get(start..end) {
                    analysis.datagram(&ctx, payload);
                }
            }
            Item::Event(e) => analysis.add_server_event(e),
        }
    }
    batch.bytes.clear();
}
