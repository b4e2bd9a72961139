//! HEP collector: UDP and TCP listeners on explicit addresses, std threads,
//! one bounded queue of packet batches to a single consumer.
//!
//! Every socket has its own thread; each accepted TCP connection too (up to
//! [`ListenerConfig::max_connections`]). A network thread decodes what it reads
//! and appends it to a [`PacketBatch`] (one buffer for every packet's bytes,
//! reused through a pool, so nothing is allocated per packet); the batch is
//! handed over when the socket has nothing more waiting or the batch is full.
//! While the queue is full the thread stops reading: the kernel's socket
//! buffer holds what comes meanwhile (UDP: raised to
//! [`ListenerConfig::udp_recv_buffer`]; what overflows it is the kernel's drop,
//! counted by [`Listener::udp_kernel_drops`]), and TCP flow control slows the
//! agent. On stop, the network threads read what the kernel already holds,
//! queue it (waiting for the consumer up to [`ListenerConfig::drain_timeout`])
//! and exit; the queue then reports [`RecvError::Closed`] once empty.

use std::cell::RefCell;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use crate::auth::auth_key_matches;
use crate::decode::{decode, proto_type, ErrorKind, HepMeta, HepVersion, MAX_HEP3_PACKET};
use crate::spec::{ListenSpec, Transport};
use crate::split::Hep3Splitter;

/// UDP receive buffer: one byte more than the largest HEP3 packet, so a
/// datagram the kernel truncated shows up as a length error, not as a packet.
pub const MAX_DATAGRAM: usize = MAX_HEP3_PACKET + 1;
/// Default queue length in packets: about 0.6 s of the 100k msg/s target.
pub const DEFAULT_QUEUE_PACKETS: usize = 65_536;
/// Default queue size in bytes (packet bytes plus their bookkeeping): caps the
/// memory a slow consumer can cost.
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Default maximum of concurrent TCP connections: one per agent in a large pool,
/// each costing a thread and a [`crate::split::SPLITTER_BUFFER`]-byte buffer.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Default idle timeout: agents keep TCP connections open and reconnect cheaply.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default time the network threads wait for the consumer while draining on stop.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default UDP socket receive buffer asked for: 0.1 s of 100k msg/s of 1 KB SIP
/// (the kernel charges about twice the datagram), so a consumer that pauses
/// (a UI holding the analysis, the scheduler on a busy host) loses nothing.
/// The kernel grants at most `net.core.rmem_max`.
pub const DEFAULT_UDP_RECV_BUFFER: usize = 32 * 1024 * 1024;
/// Packets a network thread gathers before it hands them over: one queue
/// operation (and at most one wake-up of the consumer) per batch, not per packet.
pub const BATCH_PACKETS: usize = 256;
/// Payload bytes a batch gathers before it is handed over; its buffer is
/// reserved at this plus one packet, so it never grows.
pub const BATCH_BYTES: usize = 128 * 1024;
/// Emptied batches kept for reuse (a batch's buffers cost ~150 KiB).
const POOL_BATCHES: usize = 64;
/// How often blocked network threads look at the stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Sleep between non-blocking accepts when no connection is pending.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// A busy UDP thread's nap when its socket is empty: 25 packets at 100k/s, well
/// inside the socket buffer, and the batches it then hands over are that large.
const UDP_NAP: Duration = Duration::from_micros(250);
/// A UDP socket quiet this long is read with blocking reads again.
const UDP_IDLE: Duration = Duration::from_millis(100);
/// Sleep of a network thread waiting for room in a full queue.
const FULL_POLL: Duration = Duration::from_millis(1);

/// Listener settings; [`Default`] gives the `DEFAULT_*` values, no password, SIP only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Queue capacity in packets.
    pub queue_packets: usize,
    /// Queue capacity in bytes (see [`PacketBatch::queued_size`]).
    pub queue_bytes: usize,
    /// Concurrent TCP connections over all TCP listeners; extra ones are
    /// accepted and closed at once, and counted.
    pub max_connections: usize,
    /// A TCP connection with no bytes for this long is closed.
    pub idle_timeout: Duration,
    /// When set, only packets whose auth key equals it are accepted
    /// (constant-time comparison); v1/v2 packets have no key and are refused.
    pub password: Option<Vec<u8>>,
    /// Deliver only payload type 1 (SIP); others are counted by type and dropped.
    pub sip_only: bool,
    /// How long, after stop, network threads wait for queue room.
    pub drain_timeout: Duration,
    /// `SO_RCVBUF` asked for on UDP sockets (`None`: the system default). The
    /// size granted is in [`Listener::udp_recv_buffers`].
    pub udp_recv_buffer: Option<usize>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            queue_packets: DEFAULT_QUEUE_PACKETS,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            password: None,
            sip_only: true,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            udp_recv_buffer: Some(DEFAULT_UDP_RECV_BUFFER),
        }
    }
}

/// One received HEP packet, owned: metadata plus one buffer holding the
/// payload, node name and correlation id. [`Listener::recv_timeout`] gives
/// these; [`Listener::recv_batch_timeout`] gives [`PacketBatch`]es, which copy
/// nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPacket {
    /// The listener it arrived on (with the port actually bound).
    pub listener: ListenSpec,
    /// The agent's address (UDP source or TCP peer).
    pub peer: SocketAddr,
    /// When the listener read it.
    pub received_at: SystemTime,
    /// The packet's addresses, ports, time, node id, ...
    pub meta: HepMeta,
    data: Vec<u8>,
    payload_len: usize,
    node_name_len: Option<usize>,
    correlation_id_len: Option<usize>,
}

impl ReceivedPacket {
    fn of(p: &PacketRef<'_>) -> ReceivedPacket {
        let mut data = Vec::with_capacity(
            p.payload.len()
                + p.node_name.map_or(0, <[u8]>::len)
                + p.correlation_id.map_or(0, <[u8]>::len),
        );
        data.extend_from_slice(p.payload);
        data.extend_from_slice(p.node_name.unwrap_or_default());
        data.extend_from_slice(p.correlation_id.unwrap_or_default());
        ReceivedPacket {
            listener: p.listener,
            peer: p.peer,
            received_at: p.received_at,
            meta: p.meta,
            data,
            payload_len: p.payload.len(),
            node_name_len: p.node_name.map(<[u8]>::len),
            correlation_id_len: p.correlation_id.map(<[u8]>::len),
        }
    }

    /// The captured message (for type 1, the SIP message text).
    pub fn payload(&self) -> &[u8] {
        self.data.get(..self.payload_len).unwrap_or_default()
    }

    /// The packet as a batch gives it, borrowed.
    pub fn as_packet(&self) -> PacketRef<'_> {
        PacketRef {
            listener: self.listener,
            peer: self.peer,
            received_at: self.received_at,
            meta: self.meta,
            payload: self.payload(),
            node_name: self.node_name(),
            correlation_id: self.correlation_id(),
        }
    }

    /// The agent's node name (chunk 0x0013), if sent.
    pub fn node_name(&self) -> Option<&[u8]> {
        let len = self.node_name_len?;
        self.data.get(self.payload_len..self.payload_len + len)
    }

    /// The correlation id (chunk 0x0011), if sent.
    pub fn correlation_id(&self) -> Option<&[u8]> {
        let len = self.correlation_id_len?;
        let from = self.payload_len + self.node_name_len.unwrap_or(0);
        self.data.get(from..from + len)
    }
}

/// One packet of a [`PacketBatch`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRef<'a> {
    /// The listener it arrived on (with the port actually bound).
    pub listener: ListenSpec,
    /// The agent's address (UDP source or TCP peer).
    pub peer: SocketAddr,
    /// When the listener read it.
    pub received_at: SystemTime,
    /// The packet's addresses, ports, time, node id, ...
    pub meta: HepMeta,
    /// The captured message (for type 1, the SIP message text).
    pub payload: &'a [u8],
    /// The agent's node name (chunk 0x0013), if sent.
    pub node_name: Option<&'a [u8]>,
    /// The correlation id (chunk 0x0011), if sent.
    pub correlation_id: Option<&'a [u8]>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    listener: ListenSpec,
    peer: SocketAddr,
    received_at: SystemTime,
    meta: HepMeta,
    start: usize,
    payload_len: usize,
    node_name_len: Option<usize>,
    correlation_id_len: Option<usize>,
}

/// Emptied batches' buffers, for reuse by the network threads.
type Pool = Mutex<Vec<(Vec<Entry>, Vec<u8>)>>;

/// Packets a network thread read, handed over at once: their bytes back to
/// back in one buffer. Dropping a batch gives its buffers back for reuse.
#[derive(Debug)]
pub struct PacketBatch {
    entries: Vec<Entry>,
    data: Vec<u8>,
    pool: Option<Arc<Pool>>,
}

impl PacketBatch {
    fn from_pool(pool: &Arc<Pool>) -> PacketBatch {
        let reused = pool.lock().ok().and_then(|mut p| p.pop());
        let (entries, data) = reused.unwrap_or_else(|| {
            (
                Vec::with_capacity(BATCH_PACKETS),
                Vec::with_capacity(BATCH_BYTES + MAX_DATAGRAM),
            )
        });
        PacketBatch {
            entries,
            data,
            pool: Some(Arc::clone(pool)),
        }
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No packet held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The packet at `i`.
    pub fn get(&self, i: usize) -> Option<PacketRef<'_>> {
        let e = self.entries.get(i)?;
        let payload_end = e.start + e.payload_len;
        let name_end = payload_end + e.node_name_len.unwrap_or(0);
        let cid_end = name_end + e.correlation_id_len.unwrap_or(0);
        Some(PacketRef {
            listener: e.listener,
            peer: e.peer,
            received_at: e.received_at,
            meta: e.meta,
            payload: self.data.get(e.start..payload_end).unwrap_or_default(),
            node_name: e
                .node_name_len
                .and_then(|_| self.data.get(payload_end..name_end)),
            correlation_id: e
                .correlation_id_len
                .and_then(|_| self.data.get(name_end..cid_end)),
        })
    }

    /// The packets, in the order they were read.
    pub fn iter(&self) -> impl Iterator<Item = PacketRef<'_>> {
        (0..self.entries.len()).filter_map(|i| self.get(i))
    }

    /// Bytes this batch is charged against [`ListenerConfig::queue_bytes`]:
    /// the packets' bytes and their bookkeeping.
    pub fn queued_size(&self) -> usize {
        self.data.len() + self.entries.len() * std::mem::size_of::<Entry>()
    }

    fn push(&mut self, listener: ListenSpec, peer: SocketAddr, p: &crate::decode::HepPacket<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(p.payload);
        self.data.extend_from_slice(p.node_name.unwrap_or_default());
        self.data
            .extend_from_slice(p.correlation_id.unwrap_or_default());
        self.entries.push(Entry {
            listener,
            peer,
            received_at: SystemTime::now(),
            meta: p.meta,
            start,
            payload_len: p.payload.len(),
            node_name_len: p.node_name.map(<[u8]>::len),
            correlation_id_len: p.correlation_id.map(<[u8]>::len),
        });
    }

    /// Full: hand it over before adding more.
    fn full(&self, max_packets: usize, max_bytes: usize) -> bool {
        self.entries.len() >= max_packets || self.queued_size() >= max_bytes
    }
}

impl Drop for PacketBatch {
    fn drop(&mut self) {
        let Some(pool) = self.pool.take() else { return };
        let Ok(mut p) = pool.lock() else { return };
        if p.len() < POOL_BATCHES {
            let mut entries = std::mem::take(&mut self.entries);
            let mut data = std::mem::take(&mut self.data);
            entries.clear();
            data.clear();
            p.push((entries, data));
        }
    }
}

/// Why [`Listener::recv_timeout`] returned no packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing arrived in time.
    #[error("timed out")]
    Timeout,
    /// Stopped and fully drained: no packet will come any more.
    #[error("listener stopped and drained")]
    Closed,
}

/// Counters of a [`Listener`] at one moment. Every packet a bound drops is in one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerStats {
    /// HEP packets read (datagrams, and frames cut from TCP streams), valid or not.
    pub packets_received: u64,
    /// Bytes read from sockets, garbage included.
    pub bytes_received: u64,
    /// Packets handed to the queue.
    pub packets_queued: u64,
    /// Packets taken by the consumer.
    pub packets_delivered: u64,
    /// Authenticated, decoded packets by version: `[v1, v2, v3]`.
    pub by_version: [u64; 3],
    /// Authenticated, decoded packets by payload type (index = type, 1 = SIP).
    pub by_proto_type: Box<[u64; 256]>,
    /// Undecodable packets by [`ErrorKind`] (index = [`ErrorKind::index`]).
    pub errors: [u64; ErrorKind::COUNT],
    /// Packets refused for a missing or wrong auth key.
    pub auth_failures: u64,
    /// Packets whose payload came compressed (chunk 0x0010): not decoded, dropped.
    pub compressed_unsupported: u64,
    /// Non-SIP packets dropped because of [`ListenerConfig::sip_only`].
    pub filtered_non_sip: u64,
    /// Packets dropped because they could never fit the queue (one packet larger than
    /// [`ListenerConfig::queue_bytes`]). A full queue drops nothing here: the network
    /// threads stop reading until there is room, and the kernel's buffers hold or drop
    /// (UDP: [`Listener::udp_kernel_drops`]).
    pub dropped_queue_full: u64,
    /// Packets dropped on stop because the consumer did not take them within the drain timeout.
    pub dropped_at_stop: u64,
    /// TCP connections accepted and served.
    pub tcp_accepted: u64,
    /// TCP connections closed at once because of [`ListenerConfig::max_connections`].
    pub tcp_refused: u64,
    /// TCP connections closed by the idle timeout.
    pub tcp_idle_closed: u64,
    /// TCP connections open now.
    pub tcp_active: u64,
    /// Garbage bytes skipped in TCP streams while resynchronising on `HEP3`.
    pub tcp_skipped_bytes: u64,
    /// Times a TCP stream had to be resynchronised.
    pub tcp_resyncs: u64,
    /// `HEP3` magics in TCP streams followed by a total length below 6 (skipped).
    pub tcp_bad_lengths: u64,
    /// Bytes of incomplete packets left when a TCP connection ended.
    pub tcp_partial_bytes_at_close: u64,
    /// Socket errors (other than timeouts).
    pub io_errors: u64,
}

impl ListenerStats {
    /// Undecodable packets of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors.get(kind.index()).copied().unwrap_or(0)
    }

    /// All undecodable packets.
    pub fn decode_errors(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// All packets dropped by a bound or a check (not counting TCP garbage bytes).
    pub fn dropped(&self) -> u64 {
        self.decode_errors()
            + self.auth_failures
            + self.compressed_unsupported
            + self.filtered_non_sip
            + self.dropped_queue_full
            + self.dropped_at_stop
    }
}

struct Counters {
    packets_received: AtomicU64,
    bytes_received: AtomicU64,
    packets_queued: AtomicU64,
    packets_delivered: AtomicU64,
    by_version: [AtomicU64; 3],
    by_proto_type: Box<[AtomicU64; 256]>,
    errors: [AtomicU64; ErrorKind::COUNT],
    auth_failures: AtomicU64,
    compressed_unsupported: AtomicU64,
    filtered_non_sip: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_at_stop: AtomicU64,
    tcp_accepted: AtomicU64,
    tcp_refused: AtomicU64,
    tcp_idle_closed: AtomicU64,
    tcp_skipped_bytes: AtomicU64,
    tcp_resyncs: AtomicU64,
    tcp_bad_lengths: AtomicU64,
    tcp_partial_bytes_at_close: AtomicU64,
    io_errors: AtomicU64,
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Counters {
    fn new() -> Self {
        Self {
            packets_received: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            packets_queued: AtomicU64::new(0),
            packets_delivered: AtomicU64::new(0),
            by_version: Default::default(),
            by_proto_type: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            errors: Default::default(),
            auth_failures: AtomicU64::new(0),
            compressed_unsupported: AtomicU64::new(0),
            filtered_non_sip: AtomicU64::new(0),
            dropped_queue_full: AtomicU64::new(0),
            dropped_at_stop: AtomicU64::new(0),
            tcp_accepted: AtomicU64::new(0),
            tcp_refused: AtomicU64::new(0),
            tcp_idle_closed: AtomicU64::new(0),
            tcp_skipped_bytes: AtomicU64::new(0),
            tcp_resyncs: AtomicU64::new(0),
            tcp_bad_lengths: AtomicU64::new(0),
            tcp_partial_bytes_at_close: AtomicU64::new(0),
            io_errors: AtomicU64::new(0),
        }
    }
}

struct Shared {
    config: ListenerConfig,
    counters: Counters,
    queued_packets: AtomicUsize,
    queued_bytes: AtomicUsize,
    tcp_active: AtomicUsize,
    stop: AtomicBool,
    /// The Listener is gone: nobody takes batches any more, a network thread waiting for
    /// room gives up at once.
    closed: AtomicBool,
    /// Kernel drops of UDP sockets already closed, read just before closing them.
    udp_kernel_drops_closed: AtomicU64,
    pool: Arc<Pool>,
    /// The UDP sockets' inodes, to find their kernel drop counters.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    udp_inodes: Vec<u64>,
    /// A batch is handed over at this many packets / bytes (the queue's own
    /// bounds when they are smaller, so that a batch always fits an empty queue).
    batch_packets: usize,
    batch_bytes: usize,
}

/// What became of a batch handed to the queue.
enum Flushed {
    /// Queued (or nothing to queue).
    Done,
    /// The consumer is gone or the drain deadline passed: dropped, counted.
    Lost,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn new_batch(&self) -> PacketBatch {
        PacketBatch::from_pool(&self.pool)
    }

    /// Decodes and checks one HEP packet and appends it to `batch`.
    fn handle(&self, raw: &[u8], listener: ListenSpec, peer: SocketAddr, batch: &mut PacketBatch) {
        let c = &self.counters;
        inc(&c.packets_received);
        let p = match decode(raw) {
            Ok(p) => p,
            Err(e) => {
                if let Some(slot) = c.errors.get(e.kind().index()) {
                    inc(slot);
                }
                return;
            }
        };
        if let Some(pw) = &self.config.password {
            if !auth_key_matches(p.auth_key, pw) {
                inc(&c.auth_failures);
                return;
            }
        }
        let v = match p.meta.version {
            HepVersion::V1 => 0,
            HepVersion::V2 => 1,
            HepVersion::V3 => 2,
        };
        if let Some(slot) = c.by_version.get(v) {
            inc(slot);
        }
        if let Some(slot) = c.by_proto_type.get(usize::from(p.meta.proto_type)) {
            inc(slot);
        }
        if p.payload_compressed {
            inc(&c.compressed_unsupported);
            return;
        }
        if self.config.sip_only && p.meta.proto_type != proto_type::SIP {
            inc(&c.filtered_non_sip);
            return;
        }
        let size = p.payload.len()
            + p.node_name.map_or(0, <[u8]>::len)
            + p.correlation_id.map_or(0, <[u8]>::len)
            + std::mem::size_of::<Entry>();
        if size > self.config.queue_bytes {
            // Would never fit, however empty the queue.
            inc(&c.dropped_queue_full);
            return;
        }
        batch.push(listener, peer, &p);
    }

    fn batch_full(&self, batch: &PacketBatch) -> bool {
        batch.full(self.batch_packets, self.batch_bytes)
    }

    /// Hands `batch` to the queue (an empty one is left as it is), waiting
    /// while the queue is full. Once stopping, the wait ends at the drain
    /// deadline (set here if it was not yet); what is then left is dropped
    /// and counted.
    fn flush(
        &self,
        batch: &mut PacketBatch,
        tx: &SyncSender<PacketBatch>,
        drain_deadline: &mut Option<Instant>,
    ) -> Flushed {
        if batch.is_empty() {
            return Flushed::Done;
        }
        let (n, size) = (batch.len(), batch.queued_size());
        loop {
            let fits = |q: usize, add: usize, max: usize| {
                // An empty queue takes any batch: the batch bounds are the queue's.
                q == 0 || q.checked_add(add).is_some_and(|t| t <= max)
            };
            let room = self
                .queued_packets
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                    fits(q, n, self.config.queue_packets).then_some(q + n)
                })
                .is_ok();
            if room {
                let bytes_room = self
                    .queued_bytes
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                        fits(q, size, self.config.queue_bytes).then_some(q + size)
                    })
                    .is_ok();
                if bytes_room {
                    let full = std::mem::replace(batch, self.new_batch());
                    match tx.try_send(full) {
                        Ok(()) => {
                            add(&self.counters.packets_queued, n as u64);
                            return Flushed::Done;
                        }
                        Err(TrySendError::Full(b)) => {
                            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                            self.queued_packets.fetch_sub(n, Ordering::AcqRel);
                            *batch = b;
                        }
                        Err(TrySendError::Disconnected(_)) => {
                            // The Listener (and its receiver) is gone: nobody to deliver to.
                            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                            self.queued_packets.fetch_sub(n, Ordering::AcqRel);
                            add(&self.counters.dropped_at_stop, n as u64);
                            return Flushed::Lost;
                        }
                    }
                } else {
                    self.queued_packets.fetch_sub(n, Ordering::AcqRel);
                }
            }
            if drain_deadline.is_none() && self.stopping() {
                *drain_deadline = Some(Instant::now() + self.config.drain_timeout);
            }
            if self.closed.load(Ordering::Acquire)
                || drain_deadline.is_some_and(|d| Instant::now() >= d)
            {
                add(&self.counters.dropped_at_stop, batch.len() as u64);
                *batch = self.new_batch();
                return Flushed::Lost;
            }
            thread::sleep(FULL_POLL);
        }
    }
}

/// Stops a [`Listener`] from any thread.
#[derive(Clone)]
pub struct StopHandle(Arc<Shared>);

impl StopHandle {
    /// Asks every network thread to drain its socket and exit. The consumer
    /// keeps calling [`Listener::recv_timeout`] until [`RecvError::Closed`].
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::Release);
    }

    /// Whether [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopping()
    }
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.0.stopping())
            .finish()
    }
}

/// A running HEP collector. See the module documentation.
pub struct Listener {
    rx: Receiver<PacketBatch>,
    shared: Arc<Shared>,
    bound: Vec<ListenSpec>,
    udp_buffers: Vec<(ListenSpec, usize)>,
    threads: Vec<JoinHandle<()>>,
    /// The batch [`Listener::recv_timeout`] is taking packets from, and the next one's index.
    current: RefCell<Option<(PacketBatch, usize)>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

enum Bound {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

/// A UDP socket bound to `addr` with `SO_RCVBUF` asked for (`None`: left as
/// the system sets it); the socket and the receive buffer the kernel granted.
fn udp_socket(addr: SocketAddr, recv_buffer: Option<usize>) -> io::Result<(UdpSocket, usize)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Some(size) = recv_buffer {
        // Capped by the system (`net.core.rmem_max` on Linux) without an error: the
        // size granted is read back below and reported.
        let _ = s.set_recv_buffer_size(size);
    }
    s.bind(&addr.into())?;
    let granted = s.recv_buffer_size()?;
    Ok((s.into(), granted))
}

impl Listener {
    /// Binds every spec, then starts the threads. Fails without starting
    /// anything if one address cannot be bound.
    pub fn bind(specs: &[ListenSpec], config: ListenerConfig) -> io::Result<Listener> {
        let mut sockets = Vec::with_capacity(specs.len());
        let mut bound = Vec::with_capacity(specs.len());
        let mut udp_buffers = Vec::new();
        let mut udp_inodes = Vec::new();
        for spec in specs {
            let (sock, addr) = match spec.transport {
                Transport::Udp => {
                    let (s, granted) = udp_socket(spec.addr, config.udp_recv_buffer)?;
                    let a = s.local_addr()?;
                    udp_inodes.extend(kernel::socket_inode(&s));
                    udp_buffers.push((
                        ListenSpec {
                            transport: Transport::Udp,
                            addr: a,
                        },
                        granted,
                    ));
                    (Bound::Udp(s), a)
                }
                Transport::Tcp => {
                    let s = TcpListener::bind(spec.addr)?;
                    let a = s.local_addr()?;
                    (Bound::Tcp(s), a)
                }
            };
            sockets.push(sock);
            bound.push(ListenSpec {
                transport: spec.transport,
                addr,
            });
        }
        let batch_packets = BATCH_PACKETS.min(config.queue_packets.max(1));
        let batch_bytes = BATCH_BYTES.min(config.queue_bytes.max(1));
        // The packet and byte counters bound the queue; the channel only needs room for
        // as many batches as that allows (a batch holds at least one packet).
        let (tx, rx) = mpsc::sync_channel(config.queue_packets.max(1));
        let shared = Arc::new(Shared {
            config,
            counters: Counters::new(),
            queued_packets: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            tcp_active: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            udp_kernel_drops_closed: AtomicU64::new(0),
            pool: Arc::new(Mutex::new(Vec::new())),
            udp_inodes,
            batch_packets,
            batch_bytes,
        });
        let mut threads = Vec::with_capacity(sockets.len());
        // Threads already started must not outlive a failed bind.
        let fail = |e: io::Error, threads: Vec<JoinHandle<()>>| {
            shared.stop.store(true, Ordering::Release);
            for t in threads {
                let _ = t.join();
            }
            e
        };
        for (sock, spec) in sockets.into_iter().zip(bound.iter().copied()) {
            let sh = Arc::clone(&shared);
            let tx = tx.clone();
            let name = format!("hep-{spec}");
            let started = match sock {
                Bound::Udp(s) => {
                    let inode = kernel::socket_inode(&s);
                    s.set_read_timeout(Some(POLL_INTERVAL)).and_then(|()| {
                        thread::Builder::new().name(name).spawn(move || {
                            udp_loop(&sh, &s, spec, &tx);
                            // The /proc row disappears with the socket: keep its count.
                            let closing = inode.and_then(|i| kernel::udp_drops(&[i]));
                            add(&sh.udp_kernel_drops_closed, closing.unwrap_or(0));
                        })
                    })
                }
                Bound::Tcp(l) => l.set_nonblocking(true).and_then(|()| {
                    thread::Builder::new()
                        .name(name)
                        .spawn(move || accept_loop(&sh, &l, spec, &tx))
                }),
            };
            match started {
                Ok(h) => threads.push(h),
                Err(e) => return Err(fail(e, threads)),
            }
        }
        Ok(Listener {
            rx,
            shared,
            bound,
            udp_buffers,
            threads,
            current: RefCell::new(None),
        })
    }

    /// The listeners, with the addresses actually bound (port 0 resolved).
    pub fn local_specs(&self) -> &[ListenSpec] {
        &self.bound
    }

    /// Each UDP listener's socket receive buffer as the kernel granted it (Linux
    /// reports twice the size asked for, its bookkeeping included, and caps the
    /// request at `net.core.rmem_max`).
    pub fn udp_recv_buffers(&self) -> &[(ListenSpec, usize)] {
        &self.udp_buffers
    }

    /// The next batch of packets, waiting at most `timeout`: every packet a
    /// network thread read since its last batch, in order. Do not mix with
    /// [`Listener::recv_timeout`] on one listener: a batch it has started is
    /// not given here.
    pub fn recv_batch_timeout(&self, timeout: Duration) -> Result<PacketBatch, RecvError> {
        match self.rx.recv_timeout(timeout) {
            Ok(b) => {
                self.release(&b);
                add(&self.shared.counters.packets_delivered, b.len() as u64);
                Ok(b)
            }
            Err(RecvTimeoutError::Timeout) => Err(RecvError::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(RecvError::Closed),
        }
    }

    fn release(&self, b: &PacketBatch) {
        self.shared
            .queued_bytes
            .fetch_sub(b.queued_size(), Ordering::AcqRel);
        self.shared
            .queued_packets
            .fetch_sub(b.len(), Ordering::AcqRel);
    }

    /// The next packet, waiting at most `timeout` (one copy per packet; a
    /// consumer that keeps up with a busy collector takes batches instead).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<ReceivedPacket, RecvError> {
        let mut current = self.current.borrow_mut();
        loop {
            if let Some((batch, next)) = current.as_mut() {
                if let Some(p) = batch.get(*next) {
                    *next += 1;
                    inc(&self.shared.counters.packets_delivered);
                    return Ok(ReceivedPacket::of(&p));
                }
            }
            match self.rx.recv_timeout(timeout) {
                Ok(b) => {
                    self.release(&b);
                    *current = Some((b, 0));
                }
                Err(RecvTimeoutError::Timeout) => return Err(RecvError::Timeout),
                Err(RecvTimeoutError::Disconnected) => return Err(RecvError::Closed),
            }
        }
    }

    /// A handle that stops the listener from another thread (e.g. a signal handler thread).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.shared))
    }

    /// Same as `self.stop_handle().stop()`.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> ListenerStats {
        stats_of(&self.shared)
    }

    /// Datagrams the kernel dropped on this listener's UDP sockets because
    /// their receive buffers were full (Linux `/proc/net/udp*` `drops`), or
    /// `None` where that is not available. Still valid after stop: a socket's
    /// count is kept when its thread closes it.
    pub fn udp_kernel_drops(&self) -> Option<u64> {
        kernel_drops_of(&self.shared)
    }
}

fn kernel_drops_of(shared: &Shared) -> Option<u64> {
    if shared.udp_inodes.is_empty() {
        return None;
    }
    let open = kernel::udp_drops(&shared.udp_inodes).unwrap_or(0);
    Some(open + get(&shared.udp_kernel_drops_closed))
}

impl StopHandle {
    /// [`Listener::udp_kernel_drops`], from any thread.
    pub fn udp_kernel_drops(&self) -> Option<u64> {
        kernel_drops_of(&self.0)
    }

    /// A snapshot of the listener's counters, from any thread (a UI's status line).
    pub fn stats(&self) -> ListenerStats {
        stats_of(&self.0)
    }
}

fn stats_of(shared: &Shared) -> ListenerStats {
    let c = &shared.counters;
    ListenerStats {
        packets_received: get(&c.packets_received),
        bytes_received: get(&c.bytes_received),
        packets_queued: get(&c.packets_queued),
        packets_delivered: get(&c.packets_delivered),
        by_version: std::array::from_fn(|i| c.by_version.get(i).map_or(0, get)),
        by_proto_type: Box::new(std::array::from_fn(|i| {
            c.by_proto_type.get(i).map_or(0, get)
        })),
        errors: std::array::from_fn(|i| c.errors.get(i).map_or(0, get)),
        auth_failures: get(&c.auth_failures),
        compressed_unsupported: get(&c.compressed_unsupported),
        filtered_non_sip: get(&c.filtered_non_sip),
        dropped_queue_full: get(&c.dropped_queue_full),
        dropped_at_stop: get(&c.dropped_at_stop),
        tcp_accepted: get(&c.tcp_accepted),
        tcp_refused: get(&c.tcp_refused),
        tcp_idle_closed: get(&c.tcp_idle_closed),
        tcp_active: shared.tcp_active.load(Ordering::Relaxed) as u64,
        tcp_skipped_bytes: get(&c.tcp_skipped_bytes),
        tcp_resyncs: get(&c.tcp_resyncs),
        tcp_bad_lengths: get(&c.tcp_bad_lengths),
        tcp_partial_bytes_at_close: get(&c.tcp_partial_bytes_at_close),
        io_errors: get(&c.io_errors),
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
        // Network threads waiting for queue room give up: nobody will take it.
        self.shared.closed.store(true, Ordering::Release);
        let (_, rx) = mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.rx, rx));
        for t in self.threads.drain(..) {
            // A panicked network thread has nothing left to clean up.
            let _ = t.join();
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Reads datagrams into a batch and hands it over whenever the socket is empty
/// (or the batch full). While traffic flows the socket stays non-blocking and
/// the thread naps [`UDP_NAP`] when it is empty, so a busy collector hands
/// over batches of what arrived meanwhile; after [`UDP_IDLE`] without a
/// datagram it waits in a blocking read instead (with a timeout, to see the
/// stop flag), so an idle collector costs nothing.
fn udp_loop(shared: &Shared, sock: &UdpSocket, spec: ListenSpec, tx: &SyncSender<PacketBatch>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let c = &shared.counters;
    let mut batch = shared.new_batch();
    let mut nonblocking = false;
    let mut last_datagram = Instant::now();
    let mut drain_deadline: Option<Instant> = None;
    loop {
        if drain_deadline.is_none() && shared.stopping() {
            // Stop: take what the kernel already holds, then exit.
            drain_deadline = Some(Instant::now() + shared.config.drain_timeout);
        }
        // A sender that never pauses would keep the socket readable forever, hence the deadline.
        if drain_deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let want_nonblocking =
            drain_deadline.is_some() || !batch.is_empty() || last_datagram.elapsed() < UDP_IDLE;
        if want_nonblocking != nonblocking {
            if sock.set_nonblocking(want_nonblocking).is_err() {
                inc(&c.io_errors);
                break;
            }
            nonblocking = want_nonblocking;
        }
        match sock.recv_from(&mut buf) {
            Ok((n, peer)) => {
                last_datagram = Instant::now();
                add(&c.bytes_received, n as u64);
                shared.handle(buf.get(..n).unwrap_or_default(), spec, peer, &mut batch);
                if shared.batch_full(&batch) {
                    if let Flushed::Lost = shared.flush(&mut batch, tx, &mut drain_deadline) {
                        return;
                    }
                }
            }
            Err(e) if is_timeout(&e) => {
                if let Flushed::Lost = shared.flush(&mut batch, tx, &mut drain_deadline) {
                    return;
                }
                if nonblocking && e.kind() == io::ErrorKind::WouldBlock {
                    if drain_deadline.is_some() {
                        break; // Drained: the kernel holds nothing more.
                    }
                    thread::sleep(UDP_NAP);
                }
            }
            Err(_) => {
                // e.g. ICMP port unreachable reported on Windows; keep serving.
                inc(&c.io_errors);
                if drain_deadline.is_some() {
                    break;
                }
                thread::sleep(POLL_INTERVAL);
            }
        }
    }
    let _ = shared.flush(&mut batch, tx, &mut drain_deadline);
}

fn accept_loop(
    shared: &Arc<Shared>,
    listener: &TcpListener,
    spec: ListenSpec,
    tx: &SyncSender<PacketBatch>,
) {
    let c = &shared.counters;
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, peer)) => {
                conns.retain(|h| !h.is_finished());
                let admitted = shared
                    .tcp_active
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                        (n < shared.config.max_connections).then_some(n + 1)
                    })
                    .is_ok();
                if !admitted {
                    inc(&c.tcp_refused);
                    let _ = stream.shutdown(Shutdown::Both);
                    continue;
                }
                inc(&c.tcp_accepted);
                let sh = Arc::clone(shared);
                let tx = tx.clone();
                let spawned = thread::Builder::new()
                    .name(format!("hep-tcp-{peer}"))
                    .spawn(move || {
                        conn_loop(&sh, stream, spec, peer, &tx);
                        sh.tcp_active.fetch_sub(1, Ordering::AcqRel);
                    });
                match spawned {
                    Ok(h) => conns.push(h),
                    Err(_) => {
                        // The closure (and the stream) was dropped: release the slot.
                        shared.tcp_active.fetch_sub(1, Ordering::AcqRel);
                        inc(&c.io_errors);
                    }
                }
            }
            Err(e) if is_timeout(&e) => thread::sleep(ACCEPT_POLL),
            Err(_) => {
                inc(&c.io_errors);
                thread::sleep(ACCEPT_POLL);
            }
        }
    }
    for h in conns {
        let _ = h.join();
    }
}

fn conn_loop(
    shared: &Shared,
    mut stream: TcpStream,
    spec: ListenSpec,
    peer: SocketAddr,
    tx: &SyncSender<PacketBatch>,
) {
    let c = &shared.counters;
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(POLL_INTERVAL)).is_err()
    {
        inc(&c.io_errors);
        return;
    }
    let mut splitter = Hep3Splitter::new();
    let mut seen = splitter.stats();
    let mut last_data = Instant::now();
    let mut drain_deadline: Option<Instant> = None;
    let mut batch = shared.new_batch();
    let mut nonblocking = false;
    'read: loop {
        if drain_deadline.is_some_and(|d| Instant::now() >= d) {
            break; // A peer that never pauses cannot hold the stop up.
        }
        if drain_deadline.is_none() && shared.stopping() {
            drain_deadline = Some(Instant::now() + shared.config.drain_timeout);
        }
        let want_nonblocking = drain_deadline.is_some();
        if want_nonblocking != nonblocking {
            if stream.set_nonblocking(want_nonblocking).is_err() {
                inc(&c.io_errors);
                break;
            }
            nonblocking = want_nonblocking;
        }
        match stream.read(splitter.spare_mut()) {
            Ok(0) => break,
            Ok(n) => {
                splitter.commit(n);
                add(&c.bytes_received, n as u64);
                last_data = Instant::now();
                while let Some(frame) = splitter.next_packet() {
                    shared.handle(frame, spec, peer, &mut batch);
                    if shared.batch_full(&batch) {
                        if let Flushed::Lost = shared.flush(&mut batch, tx, &mut drain_deadline) {
                            break 'read;
                        }
                    }
                }
                // One read is one batch at most: the next read may wait.
                if let Flushed::Lost = shared.flush(&mut batch, tx, &mut drain_deadline) {
                    break;
                }
                let now = splitter.stats();
                add(&c.tcp_skipped_bytes, now.skipped_bytes - seen.skipped_bytes);
                add(&c.tcp_resyncs, now.resyncs - seen.resyncs);
                add(&c.tcp_bad_lengths, now.bad_lengths - seen.bad_lengths);
                seen = now;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if drain_deadline.is_some() {
                    break; // Drained: nothing more in the kernel buffer.
                }
                if last_data.elapsed() >= shared.config.idle_timeout {
                    inc(&c.tcp_idle_closed);
                    break;
                }
            }
            Err(_) => {
                inc(&c.io_errors);
                break;
            }
        }
    }
    let _ = shared.flush(&mut batch, tx, &mut drain_deadline);
    add(&c.tcp_partial_bytes_at_close, splitter.buffered() as u64);
    let _ = stream.shutdown(Shutdown::Both);
}

#[cfg(target_os = "linux")]
mod kernel {
    //! Kernel UDP drop counters from `/proc/net/udp` and `/proc/net/udp6`.
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    pub(super) fn socket_inode(s: &UdpSocket) -> Option<u64> {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", s.as_raw_fd())).ok()?;
        let link = link.to_str()?;
        link.strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    }

    /// Sums the `drops` column (the last) of the rows whose `inode` column (the 10th) matches.
    pub(super) fn udp_drops(inodes: &[u64]) -> Option<u64> {
        if inodes.is_empty() {
            return None;
        }
        let mut total = 0u64;
        let mut found = 0usize;
        for path in ["/proc/net/udp", "/proc/net/udp6"] {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                let inode = cols.get(9).and_then(|v| v.parse::<u64>().ok());
                if inode.is_some_and(|i| inodes.contains(&i)) {
                    total += cols.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
                    found += 1;
                }
            }
        }
        (found > 0).then_some(total)
    }
}

#[cfg(not(target_os = "linux"))]
mod kernel {
    use std::net::UdpSocket;

    pub(super) fn socket_inode(_: &UdpSocket) -> Option<u64> {
        None
    }

    pub(super) fn udp_drops(_: &[u64]) -> Option<u64> {
        None
    }
}
