//! Live capture through libpcap (cargo feature `live`).
//!
//! [`LiveCapture::open`] opens every interface on the caller's thread, so that a missing
//! permission, an unknown interface or a bad filter is reported before anything starts, then
//! runs one capture thread per interface. Each thread reads with `pcap_dispatch` (a whole
//! kernel buffer block per call) into a [`Batch`] — the frames' bytes in one buffer — and sends
//! it through a bounded channel. The caller pulls batches with [`LiveCapture::recv_timeout`],
//! which numbers the frames 1, 2, … across all interfaces in the order the batches arrive.
//!
//! Back-pressure: when the consumer is slower than the traffic, the channel fills, the capture
//! thread blocks on it, the kernel buffer fills and the kernel drops packets; the drops are
//! counted by libpcap (`ps_drop`) and shown in [`LiveCapture::stats`]. Memory stays bounded by
//! the channel capacity times the batch size.
//!
//! Stopping: [`LiveCapture::stop`] (or a [`Stopper`] from another thread) sets a flag and calls
//! `pcap_breakloop` on every handle, which wakes a thread blocked in `poll` (on a quiet link
//! libpcap's TPACKET_V3 reads block until then: the read timeout only hands over blocks that
//! hold packets). Each thread then drains what the kernel still holds without blocking — it
//! reads until a read comes back empty after the read timeout has passed (the kernel hands
//! over the partly filled block by then), for at most [`DRAIN_LIMIT`] — sends its last batch
//! and its final statistics, and ends. The caller keeps pulling until [`Recv::Ended`], so
//! nothing that was captured is lost.

use super::{Frame, InterfaceStats, LiveStats};
use crate::{linktype, Timestamp};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use pcap::{Active, Capture, Device};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The snapshot length: large enough for any packet, offloaded (GRO/TSO) ones included.
pub const SNAPLEN: i32 = 262_144;
/// A capture filter for SIP that keeps what `udp port 5060` loses: IP fragments after the
/// first (they carry no UDP header, so no port — IPv4 fragments by their offset / MF bits,
/// IPv6 ones by a Fragment header right after the fixed header) and VLAN-tagged frames (a
/// plain expression looks at untagged offsets only; `vlan and …` repeats it one tag in). SIP
/// over TCP on 5060 and 5061 (plain-text TLS port in labs) too. For Ethernet interfaces (the
/// `vlan` part does not compile on Linux cooked captures, `-i any`: use
/// [`SIP_FILTER_NO_VLAN`] there).
pub const SIP_FILTER: &str = "(udp port 5060 or tcp port 5060 or tcp port 5061 \
     or (ip[6:2] & 0x3fff != 0) or ip6[6] == 44) or (vlan and (udp port 5060 or tcp port 5060 \
     or tcp port 5061 or (ip[6:2] & 0x3fff != 0) or ip6[6] == 44))";

/// [`SIP_FILTER`] without the VLAN part, for `-i any` and other non-Ethernet link types.
pub const SIP_FILTER_NO_VLAN: &str =
    "udp port 5060 or tcp port 5060 or tcp port 5061 or (ip[6:2] & 0x3fff != 0) or ip6[6] == 44";

/// How long a thread keeps reading after a stop, at most.
pub const DRAIN_LIMIT: Duration = Duration::from_millis(1500);
/// A batch is sent when it holds this many bytes of frames (or at the end of a read).
const BATCH_BYTES: usize = 256 * 1024;
/// … or this many frames.
const BATCH_FRAMES: usize = 1024;
/// How often a thread refreshes its libpcap statistics.
const STATS_EVERY: Duration = Duration::from_millis(250);

/// What to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    /// Interface names (`any` for all on Linux).
    pub interfaces: Vec<String>,
    /// A BPF capture filter (libpcap syntax); `None` captures everything.
    pub filter: Option<String>,
    /// Most bytes kept of each packet ([`SNAPLEN`] by default: whole packets).
    pub snaplen: i32,
    /// Whether to put the interfaces in promiscuous mode (default: yes).
    pub promiscuous: bool,
    /// Kernel buffer size in bytes (`None`: libpcap's default, 2 MiB on Linux).
    pub buffer_size: Option<i32>,
    /// Read timeout: the longest a packet waits in the kernel before it is handed over.
    pub timeout: Duration,
    /// Batches the channel holds before the capture threads wait.
    pub queue: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interfaces: Vec::new(),
            filter: None,
            snaplen: SNAPLEN,
            promiscuous: true,
            buffer_size: None,
            timeout: Duration::from_millis(100),
            queue: 256,
        }
    }
}

/// Why a live capture could not start. The messages say how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveError {
    /// Capturing needs privileges the process does not have.
    PermissionDenied {
        /// The interface that could not be opened.
        interface: String,
        /// libpcap's message.
        detail: String,
    },
    /// No interface has that name.
    NoSuchInterface {
        /// The name asked for.
        interface: String,
        /// The interfaces libpcap can capture on (empty when it found none).
        available: Vec<String>,
    },
    /// The filter does not compile.
    BadFilter {
        /// The filter as given.
        filter: String,
        /// libpcap's message.
        detail: String,
    },
    /// Anything else libpcap reports.
    Other {
        /// The interface concerned.
        interface: String,
        /// What went wrong.
        detail: String,
    },
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::PermissionDenied { interface, detail } => write!(
                f,
                "{interface}: no permission to capture ({detail}): run as root, or grant the \
                 capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip {}",
                current_exe()
            ),
            LiveError::NoSuchInterface {
                interface,
                available,
            } => write!(
                f,
                "{interface}: no such interface; available: {}",
                if available.is_empty() {
                    "none found".to_owned()
                } else {
                    available.join(", ")
                }
            ),
            LiveError::BadFilter { filter, detail } => {
                write!(f, "capture filter \"{filter}\": {detail}")
            }
            LiveError::Other { interface, detail } => write!(f, "{interface}: {detail}"),
        }
    }
}

impl std::error::Error for LiveError {}

fn current_exe() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "lyncscope".to_owned())
}

/// The names of the interfaces libpcap can capture on (works without privileges).
pub fn interface_names() -> Vec<String> {
    Device::list()
        .map(|list| list.into_iter().map(|d| d.name).collect())
        .unwrap_or_default()
}

/// One interface being captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveInterface {
    /// The interface's name as given in [`LiveConfig::interfaces`].
    pub name: String,
    /// `LINKTYPE_*` of its frames (`any` gives Linux cooked SLL).
    pub link_type: u32,
    /// libpcap's name for the link type (`EN10MB`, `LINUX_SLL`, …).
    pub link_name: String,
}

/// Frames captured on one interface, their bytes in one buffer.
#[derive(Debug, Default)]
pub struct Batch {
    interface: u32,
    link_type: u32,
    data: Vec<u8>,
    frames: Vec<FrameMeta>,
    /// Number of the first frame, set when the batch is handed to the caller.
    first_number: u64,
}

#[derive(Clone, Copy, Debug)]
struct FrameMeta {
    timestamp: Timestamp,
    start: usize,
    len: usize,
    original_len: u32,
}

impl Batch {
    /// Index of the interface (in [`LiveCapture::interfaces`]) the frames came from.
    pub fn interface(&self) -> u32 {
        self.interface
    }

    /// Number of frames in the batch.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frames, numbered; `source` is the interface index.
    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> + '_ {
        self.frames.iter().enumerate().map(move |(i, m)| Frame {
            number: self.first_number + i as u64,
            timestamp: m.timestamp,
            link_type: self.link_type,
            data: self.data.get(m.start..m.start + m.len).unwrap_or_default(),
            original_len: m.original_len,
            source: self.interface,
        })
    }

    // time_t and suseconds_t are i64 on 64-bit Linux but not on every target.
    #[allow(clippy::unnecessary_cast)]
    fn push(&mut self, packet: &pcap::Packet<'_>) {
        let ts = packet.header.ts;
        self.push_raw(
            ts.tv_sec as i64,
            ts.tv_usec as i64,
            packet.data,
            packet.header.len,
        );
    }

    /// Appends a frame captured at `secs` + `micros` (libpcap's microsecond timestamps).
    fn push_raw(&mut self, secs: i64, micros: i64, data: &[u8], original_len: u32) {
        let start = self.data.len();
        self.data.extend_from_slice(data);
        self.frames.push(FrameMeta {
            timestamp: Timestamp::from_secs_nanos(secs, micros.clamp(0, 999_999) as u32 * 1000),
            start,
            len: data.len(),
            original_len,
        });
    }

    fn full(&self) -> bool {
        self.data.len() >= BATCH_BYTES || self.frames.len() >= BATCH_FRAMES
    }
}

/// What the capture threads send.
enum Event {
    Batch(Batch),
    /// A thread stopped on an error (the interface went away, …).
    Failed {
        interface: u32,
        message: String,
    },
}

/// What [`LiveCapture::recv_timeout`] returns.
#[derive(Debug)]
pub enum Recv {
    /// Frames of one interface, numbered in the order they are handed out.
    Batch(Batch),
    /// Nothing arrived within the timeout.
    Idle,
    /// Every capture thread has ended (after a stop, or on errors) and every batch was handed
    /// over.
    Ended,
}

/// Shared between the capture threads and the caller.
struct Shared {
    stop: AtomicBool,
    /// Per interface: received, dropped, if_dropped (libpcap), frames sent.
    counters: Vec<[AtomicU64; 4]>,
}

/// Stops a live capture and reads its counters from any thread (a signal watcher, the TUI's
/// status line), while another thread owns the [`LiveCapture`] and pulls its batches.
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
    breakers: Arc<Vec<pcap::BreakLoop>>,
    interfaces: Arc<[LiveInterface]>,
    filter: Option<Arc<str>>,
}

impl Stopper {
    /// The latest libpcap counters of every interface (refreshed every 250 ms, and at the end).
    pub fn stats(&self) -> LiveStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LiveStats {
            interfaces: self
                .interfaces
                .iter()
                .zip(&self.shared.counters)
                .map(|(i, c)| InterfaceStats {
                    name: i.name.clone(),
                    link_type: i.link_type,
                    received: load(&c[0]),
                    dropped: load(&c[1]),
                    if_dropped: load(&c[2]),
                    frames: load(&c[3]),
                })
                .collect(),
            filter: self.filter.as_deref().map(str::to_owned),
        }
    }

    /// Asks every capture thread to drain what libpcap holds and end; later calls do nothing.
    pub fn stop(&self) {
        // Only the first stop breaks the loops: a second pcap_breakloop would cut the drain.
        if !self.shared.stop.swap(true, Ordering::SeqCst) {
            for b in self.breakers.iter() {
                b.breakloop();
            }
        }
    }

    /// True once [`Stopper::stop`] (or [`LiveCapture::stop`]) was called.
    pub fn is_stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }
}

/// A running live capture (see the module documentation).
pub struct LiveCapture {
    interfaces: Vec<LiveInterface>,
    rx: Receiver<Event>,
    stopper: Stopper,
    threads: Vec<JoinHandle<()>>,
    next_number: u64,
    errors: Vec<String>,
}

impl LiveCapture {
    /// Opens every interface of `config` and starts capturing.
    pub fn open(config: &LiveConfig) -> Result<LiveCapture, LiveError> {
        let mut opened = Vec::new();
        for name in &config.interfaces {
            opened.push(open_one(name, config)?);
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            counters: opened.iter().map(|_| Default::default()).collect(),
        });
        let (tx, rx) = bounded(config.queue.max(1));
        let mut breakers = Vec::new();
        let mut interfaces = Vec::new();
        let mut caps = Vec::new();
        for (mut cap, info) in opened {
            breakers.push(cap.breakloop_handle());
            interfaces.push(info);
            caps.push(cap);
        }
        let stopper = Stopper {
            shared: Arc::clone(&shared),
            breakers: Arc::new(breakers),
            interfaces: interfaces.clone().into(),
            filter: config.filter.as_deref().map(Arc::from),
        };
        let mut threads = Vec::new();
        // `caps` and `interfaces` were filled together, one entry per opened interface.
        for (i, (cap, info)) in caps.into_iter().zip(&interfaces).enumerate() {
            let ctx = ThreadCtx {
                index: i as u32,
                link_type: info.link_type,
                tx: tx.clone(),
                shared: Arc::clone(&shared),
                timeout: config.timeout,
            };
            let spawned = std::thread::Builder::new()
                .name(format!("capture {}", info.name))
                .spawn(move || capture_thread(cap, ctx));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    stopper.stop();
                    return Err(LiveError::Other {
                        interface: info.name.clone(),
                        detail: format!("cannot start the capture thread: {e}"),
                    });
                }
            }
        }
        Ok(LiveCapture {
            interfaces,
            rx,
            stopper,
            threads,
            next_number: 1,
            errors: Vec::new(),
        })
    }

    /// The interfaces being captured, in the order of [`LiveConfig::interfaces`]; a batch's
    /// [`Batch::interface`] indexes this.
    pub fn interfaces(&self) -> &[LiveInterface] {
        &self.interfaces
    }

    /// Waits up to `timeout` for the next batch; its frames are numbered on the way out.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Recv {
        match self.rx.recv_timeout(timeout) {
            Ok(event) => self.handle(event),
            Err(RecvTimeoutError::Timeout) => Recv::Idle,
            Err(RecvTimeoutError::Disconnected) => self.ended(),
        }
    }

    /// The next batch if one is waiting.
    pub fn try_recv(&mut self) -> Recv {
        match self.rx.try_recv() {
            Ok(event) => self.handle(event),
            Err(TryRecvError::Empty) => Recv::Idle,
            Err(TryRecvError::Disconnected) => self.ended(),
        }
    }

    fn handle(&mut self, event: Event) -> Recv {
        match event {
            Event::Batch(mut b) => {
                b.first_number = self.next_number;
                self.next_number += b.frames.len() as u64;
                Recv::Batch(b)
            }
            Event::Failed { interface, message } => {
                let name = self
                    .interfaces
                    .get(interface as usize)
                    .map_or("?", |i| i.name.as_str());
                self.errors
                    .push(format!("{name}: capture stopped: {message}"));
                Recv::Idle
            }
        }
    }

    fn ended(&mut self) -> Recv {
        for t in self.threads.drain(..) {
            // A capture thread that panicked has already reported nothing more to send.
            let _ = t.join();
        }
        Recv::Ended
    }

    /// Asks every capture thread to drain and end; keep calling [`LiveCapture::recv_timeout`]
    /// until [`Recv::Ended`].
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// A handle that stops this capture from another thread.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Frames handed out so far.
    pub fn frames(&self) -> u64 {
        self.next_number - 1
    }

    /// Errors of threads that stopped on their own (an interface that went away).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// The latest libpcap counters of every interface (refreshed every 250 ms, and at the end).
    pub fn stats(&self) -> LiveStats {
        self.stopper.stats()
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        self.stopper.stop();
        // Let blocked senders finish so that the threads can end.
        while !self.threads.is_empty() {
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// libpcap's `DLT_*` value as a `LINKTYPE_*` value (they differ for raw IP).
fn dlt_to_linktype(dlt: i32) -> u32 {
    match dlt {
        // DLT_RAW is 12 on most systems, 14 on some BSDs; LINKTYPE_RAW is 101.
        12 | 14 => linktype::RAW,
        d => d.max(0) as u32,
    }
}

/// Opens one interface: checks the name, activates, sets the filter.
fn open_one(
    name: &str,
    config: &LiveConfig,
) -> Result<(Capture<Active>, LiveInterface), LiveError> {
    let other = |detail: String| LiveError::Other {
        interface: name.to_owned(),
        detail,
    };
    // Checked first: without privileges libpcap fails on the socket before it looks at the
    // name, and "no permission" would hide the typo. Listing needs no privileges.
    let available = interface_names();
    if name != "any" && !available.is_empty() && !available.iter().any(|a| a == name) {
        return Err(LiveError::NoSuchInterface {
            interface: name.to_owned(),
            available,
        });
    }
    let mut inactive = Capture::from_device(name)
        .map_err(|e| other(e.to_string()))?
        .snaplen(config.snaplen)
        .promisc(config.promiscuous)
        .timeout(config.timeout.as_millis().clamp(1, 60_000) as i32);
    if let Some(size) = config.buffer_size {
        inactive = inactive.buffer_size(size);
    }
    let mut cap = inactive
        .open()
        .map_err(|e| classify(name, &e.to_string()))?;
    if let Some(filter) = &config.filter {
        cap.filter(filter, true).map_err(|e| LiveError::BadFilter {
            filter: filter.clone(),
            detail: e.to_string(),
        })?;
    }
    let dlt = cap.get_datalink();
    let info = LiveInterface {
        name: name.to_owned(),
        link_type: dlt_to_linktype(dlt.0),
        link_name: dlt.get_name().unwrap_or_else(|_| format!("DLT {}", dlt.0)),
    };
    Ok((cap, info))
}

/// Turns libpcap's activation error text into the error the user can act on (the `pcap` crate
/// keeps only the text, not `PCAP_ERROR_PERM_DENIED` / `PCAP_ERROR_NO_SUCH_DEVICE`).
fn classify(name: &str, detail: &str) -> LiveError {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        return LiveError::PermissionDenied {
            interface: name.to_owned(),
            detail: detail.to_owned(),
        };
    }
    let available = interface_names();
    if lower.contains("no such device") || !available.iter().any(|a| a == name) {
        return LiveError::NoSuchInterface {
            interface: name.to_owned(),
            available,
        };
    }
    LiveError::Other {
        interface: name.to_owned(),
        detail: detail.to_owned(),
    }
}

struct ThreadCtx {
    index: u32,
    link_type: u32,
    tx: Sender<Event>,
    shared: Arc<Shared>,
    timeout: Duration,
}

impl ThreadCtx {
    fn new_batch(&self) -> Batch {
        Batch {
            interface: self.index,
            link_type: self.link_type,
            data: Vec::with_capacity(64 * 1024),
            frames: Vec::with_capacity(256),
            first_number: 0,
        }
    }

    /// One `pcap_dispatch`: every packet of the next kernel buffer block goes into `batch`;
    /// a full batch is sent on the way.
    fn read(&self, cap: &mut Capture<Active>, batch: &mut Batch) -> Result<usize, pcap::Error> {
        let mut receiver_gone = false;
        let result = cap.dispatch(None, |packet| {
            batch.push(&packet);
            if batch.full() && !receiver_gone {
                receiver_gone = !self.send(batch);
            }
        });
        if receiver_gone {
            // The caller is gone: nothing will read further batches.
            self.shared.stop.store(true, Ordering::SeqCst);
        }
        result
    }

    /// Sends a non-empty batch; false when the receiver is gone.
    fn send(&self, batch: &mut Batch) -> bool {
        if batch.is_empty() {
            return true;
        }
        let full = std::mem::replace(batch, self.new_batch());
        if let Some(c) = self.counter(3) {
            c.fetch_add(full.len() as u64, Ordering::Relaxed);
        }
        self.tx.send(Event::Batch(full)).is_ok()
    }

    /// Counter `i` of this thread's interface; the vector has one entry per interface, so
    /// this is always `Some`.
    fn counter(&self, i: usize) -> Option<&AtomicU64> {
        self.shared.counters.get(self.index as usize)?.get(i)
    }

    fn record_stats(&self, cap: &mut Capture<Active>) {
        if let Ok(s) = cap.stats() {
            let counts = [s.received, s.dropped, s.if_dropped];
            for (i, n) in counts.into_iter().enumerate() {
                if let Some(c) = self.counter(i) {
                    c.store(u64::from(n), Ordering::Relaxed);
                }
            }
        }
    }
}

fn capture_thread(mut cap: Capture<Active>, ctx: ThreadCtx) {
    let mut batch = ctx.new_batch();
    let mut last_stats = Instant::now();
    // Capture until stopped. A read blocks until the kernel hands over a buffer block (when it
    // is full or its read timeout expired with packets in it); on a quiet link it blocks until
    // pcap_breakloop wakes it.
    while !ctx.shared.stop.load(Ordering::SeqCst) {
        let result = ctx.read(&mut cap, &mut batch);
        if !ctx.send(&mut batch) {
            return;
        }
        if last_stats.elapsed() >= STATS_EVERY {
            ctx.record_stats(&mut cap);
            last_stats = Instant::now();
        }
        match result {
            Ok(_) => {}
            // pcap_breakloop makes the read return an error; the stop flag tells it apart.
            Err(_) if ctx.shared.stop.load(Ordering::SeqCst) => break,
            Err(e) => {
                ctx.record_stats(&mut cap);
                let _ = ctx.tx.send(Event::Failed {
                    interface: ctx.index,
                    message: e.to_string(),
                });
                return;
            }
        }
    }
    // Drain without blocking: read what the kernel holds until a read comes back empty after
    // the read timeout has passed (by then the kernel has handed over the block that was
    // filling when the stop came), or for at most DRAIN_LIMIT on a busy link.
    ctx.record_stats(&mut cap);
    let mut cap = match cap.setnonblock() {
        Ok(cap) => cap,
        // The handle is gone with the error; its last counters are recorded.
        Err(_) => return,
    };
    let since = Instant::now();
    let settled = ctx.timeout + ctx.timeout / 2;
    let mut break_seen = false;
    while since.elapsed() < DRAIN_LIMIT {
        let result = ctx.read(&mut cap, &mut batch);
        if !ctx.send(&mut batch) {
            return;
        }
        match result {
            Ok(0) if since.elapsed() >= settled => break,
            Ok(0) => std::thread::sleep(Duration::from_millis(5)),
            Ok(_) => {}
            // A stop that came between two reads leaves libpcap's break flag set for the
            // next read; that one error is expected.
            Err(_) if !break_seen => break_seen = true,
            Err(_) => break,
        }
    }
    ctx.record_stats(&mut cap);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SIP messages the pipeline finds in a scenario's frames that pass `filter` (compiled by
    /// libpcap for Ethernet, as on a live Ethernet interface).
    fn sip_through_filter(scenario: &str, filter: &str) -> (u64, usize) {
        let s = lyncscope_synth::scenarios()
            .into_iter()
            .find(|s| s.name == scenario)
            .expect("scenario");
        let g = (s.build)();
        let program = Capture::dead(pcap::Linktype(1))
            .and_then(|c| c.compile(filter, true))
            .expect("filter compiles");
        let mut p = crate::pipeline::Pipeline::new(&crate::Options::default());
        let mut n = 0;
        for (ts, _, data) in g.packets() {
            if program.filter(data) {
                n += 1;
                p.push(&Frame {
                    number: n,
                    timestamp: ts,
                    link_type: linktype::ETHERNET,
                    data,
                    original_len: data.len() as u32,
                    source: 0,
                });
            }
        }
        p.finish();
        (p.stats().analysis.sip_messages, g.sip_messages)
    }

    #[test]
    fn the_recommended_filter_keeps_fragments_and_vlan_frames() {
        for s in lyncscope_synth::scenarios() {
            let (kept, all) = sip_through_filter(s.name, SIP_FILTER);
            assert_eq!(kept as usize, all, "{}", s.name);
        }
        // `port 5060` loses the datagrams whose later fragments carry no UDP header …
        let (kept, all) = sip_through_filter("join-udp-fragments", "port 5060");
        assert!((kept as usize) < all, "{kept} of {all}");
        // … and every VLAN-tagged frame.
        let (kept, all) = sip_through_filter("multi-conference", SIP_FILTER_NO_VLAN);
        assert!((kept as usize) < all, "{kept} of {all}");
        // The filter without VLAN compiles for Linux cooked captures (`-i any`).
        let sll = Capture::dead(pcap::Linktype(113)).expect("dead");
        assert!(sll.compile(SIP_FILTER_NO_VLAN, true).is_ok());
    }

    #[test]
    fn a_loader_thread_can_own_the_capture() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<LiveCapture>();
        send::<Batch>();
        send_sync::<Stopper>();
    }

    #[test]
    fn raw_ip_dlt_maps_to_linktype_raw() {
        assert_eq!(dlt_to_linktype(12), linktype::RAW);
        assert_eq!(dlt_to_linktype(1), linktype::ETHERNET);
        assert_eq!(dlt_to_linktype(113), linktype::LINUX_SLL);
        assert_eq!(dlt_to_linktype(276), linktype::LINUX_SLL2);
    }

    #[test]
    fn errors_say_how_to_fix_them() {
        let e = classify(
            "eth0",
            "You don't have permission to perform this capture on that device (socket: Operation not permitted)",
        );
        assert!(matches!(e, LiveError::PermissionDenied { .. }));
        assert!(e
            .to_string()
            .contains("setcap cap_net_raw,cap_net_admin=eip"));
        let e = classify("nosuchif0", "No such device exists");
        match &e {
            LiveError::NoSuchInterface { available, .. } => {
                assert!(e.to_string().contains("available: "));
                // `lo` is always there on Linux.
                if cfg!(target_os = "linux") {
                    assert!(available.iter().any(|a| a == "lo"), "{available:?}");
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn batches_number_their_frames() {
        let mut b = Batch {
            interface: 1,
            link_type: linktype::ETHERNET,
            ..Batch::default()
        };
        b.push_raw(5, 250_000, b"abc", 10);
        b.push_raw(5, 250_000, b"de", 10);
        b.first_number = 7;
        let frames: Vec<_> = b.frames().collect();
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].number, frames[1].number), (7, 8));
        assert_eq!(frames[1].data, b"de");
        assert_eq!(frames[0].original_len, 10);
        assert_eq!(frames[0].source, 1);
        assert_eq!(frames[0].timestamp, Timestamp(5_250_000_000));
    }
}
