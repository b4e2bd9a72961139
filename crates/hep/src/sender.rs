//! HEP3 sender: a bounded queue drained by one background thread over UDP or
//! TCP, with TCP reconnects under capped exponential backoff.
//!
//! [`Sender::send`] encodes on the caller's thread and never blocks: a full
//! queue drops and counts. Over TCP, queued packets are coalesced into writes
//! of up to [`TCP_BATCH`] bytes. A TCP write that fails loses the packets of
//! that write (counted); packets still queued wait for the reconnect.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::encode::{encode_v3, encoded_len, EncodeError, HepOut};
use crate::spec::{SendSpec, Transport};

/// Default queue length in packets: about 0.6 s of the 100k msg/s target.
pub const DEFAULT_SEND_QUEUE_PACKETS: usize = 65_536;
/// Default queue size in bytes: caps what an unreachable collector can cost.
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Default first reconnect delay.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// Default cap of the reconnect delay: a restarted collector is found within this.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Default TCP connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default TCP write timeout: a collector that stops reading is treated as gone.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest coalesced TCP write: amortises syscalls without holding much memory.
pub const TCP_BATCH: usize = 64 * 1024;
/// How often the sending thread looks at the close deadline while idle or backing off.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Sender settings; [`Default`] gives the `DEFAULT_*` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConfig {
    /// Queue capacity in packets.
    pub queue_packets: usize,
    /// Queue capacity in bytes of encoded packets.
    pub queue_bytes: usize,
    /// First reconnect delay; doubled after each failure.
    pub backoff_initial: Duration,
    /// Cap of the reconnect delay.
    pub backoff_max: Duration,
    /// TCP connect timeout (per resolved address).
    pub connect_timeout: Duration,
    /// TCP write timeout.
    pub write_timeout: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            queue_packets: DEFAULT_SEND_QUEUE_PACKETS,
            queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

/// Why [`Sender::send`] did not queue a packet (each case is also counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The message does not fit in one HEP3 packet.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The queue is full (packets or bytes).
    #[error("send queue full")]
    QueueFull,
}

/// Counters of a [`Sender`] at one moment. Every packet not sent is in a `dropped_*` counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Packets accepted into the queue.
    pub queued: u64,
    /// Packets handed to the kernel (UDP) or written to the stream (TCP).
    pub sent_packets: u64,
    /// Bytes of those packets.
    pub sent_bytes: u64,
    /// Packets dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Messages refused because they do not fit in a HEP3 packet.
    pub dropped_too_large: u64,
    /// Packets lost in a failed send or write.
    pub dropped_send_error: u64,
    /// Packets still queued when the close deadline passed.
    pub dropped_at_close: u64,
    /// Successful connections (UDP: socket set-ups).
    pub connects: u64,
    /// Successful connections after the first one.
    pub reconnects: u64,
    /// Failed connection attempts (resolution or connect).
    pub connect_failures: u64,
    /// Send or write errors.
    pub send_errors: u64,
}

impl SenderStats {
    /// Every packet that was not sent.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_too_large
            + self.dropped_send_error
            + self.dropped_at_close
    }
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    sent_packets: AtomicU64,
    sent_bytes: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_too_large: AtomicU64,
    dropped_send_error: AtomicU64,
    dropped_at_close: AtomicU64,
    connects: AtomicU64,
    reconnects: AtomicU64,
    connect_failures: AtomicU64,
    send_errors: AtomicU64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

struct Shared {
    config: SenderConfig,
    counters: Counters,
    queued_bytes: AtomicUsize,
    close_deadline: Mutex<Option<Instant>>,
}

impl Shared {
    fn deadline_passed(&self) -> bool {
        let d = match self.close_deadline.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        };
        d.is_some_and(|d| Instant::now() >= d)
    }

    fn take(&self, p: &[u8]) {
        self.queued_bytes.fetch_sub(p.len(), Ordering::AcqRel);
    }
}

/// A running HEP3 sender. See the module documentation.
pub struct Sender {
    tx: Option<SyncSender<Vec<u8>>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    spec: SendSpec,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// Starts the sending thread. Connecting happens in the background (and
    /// again after failures), so an unreachable collector is not an error here.
    pub fn start(spec: SendSpec, config: SenderConfig) -> io::Result<Sender> {
        let (tx, rx) = mpsc::sync_channel(config.queue_packets.max(1));
        let shared = Arc::new(Shared {
            config,
            counters: Counters::default(),
            queued_bytes: AtomicUsize::new(0),
            close_deadline: Mutex::new(None),
        });
        let sh = Arc::clone(&shared);
        let sp = spec.clone();
        let thread = thread::Builder::new()
            .name(format!("hep-send-{spec}"))
            .spawn(move || run(&sh, &sp, &rx))?;
        Ok(Sender {
            tx: Some(tx),
            shared,
            thread: Some(thread),
            spec,
        })
    }

    /// The destination.
    pub fn spec(&self) -> &SendSpec {
        &self.spec
    }

    /// Encodes `m` as HEP3 and queues it.
    pub fn send(&self, m: &HepOut<'_>) -> Result<(), SendError> {
        let mut buf = Vec::with_capacity(encoded_len(m));
        if let Err(e) = encode_v3(m, &mut buf) {
            add(&self.shared.counters.dropped_too_large, 1);
            return Err(e.into());
        }
        self.send_encoded(buf)
    }

    /// Queues an already encoded packet (any HEP version; sent as is).
    pub fn send_encoded(&self, packet: Vec<u8>) -> Result<(), SendError> {
        let c = &self.shared.counters;
        let size = packet.len();
        let fits = self
            .shared
            .queued_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                let n = q.checked_add(size)?;
                (n <= self.shared.config.queue_bytes).then_some(n)
            })
            .is_ok();
        let sent = fits
            && match &self.tx {
                Some(tx) => match tx.try_send(packet) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        self.shared.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                        false
                    }
                },
                None => false,
            };
        if sent {
            add(&c.queued, 1);
            Ok(())
        } else {
            add(&c.dropped_queue_full, 1);
            Err(SendError::QueueFull)
        }
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> SenderStats {
        let c = &self.shared.counters;
        SenderStats {
            queued: get(&c.queued),
            sent_packets: get(&c.sent_packets),
            sent_bytes: get(&c.sent_bytes),
            dropped_queue_full: get(&c.dropped_queue_full),
            dropped_too_large: get(&c.dropped_too_large),
            dropped_send_error: get(&c.dropped_send_error),
            dropped_at_close: get(&c.dropped_at_close),
            connects: get(&c.connects),
            reconnects: get(&c.reconnects),
            connect_failures: get(&c.connect_failures),
            send_errors: get(&c.send_errors),
        }
    }

    /// Sends what is queued, waiting at most `deadline`; what is still queued
    /// then is counted in `dropped_at_close`. Returns the final counters.
    pub fn close(mut self, deadline: Duration) -> SenderStats {
        self.shutdown(deadline);
        self.stats()
    }

    fn shutdown(&mut self, deadline: Duration) {
        {
            let mut d = match self.shared.close_deadline.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *d = Some(Instant::now() + deadline);
        }
        // Disconnecting the queue tells the thread to finish once it is empty.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown(Duration::from_secs(1));
        }
    }
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

fn connect(spec: &SendSpec, config: &SenderConfig) -> io::Result<Conn> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
    for addr in (spec.host.as_str(), spec.port).to_socket_addrs()? {
        let r = match spec.transport {
            Transport::Udp => udp_connect(addr).map(Conn::Udp),
            Transport::Tcp => tcp_connect(addr, config).map(Conn::Tcp),
        };
        match r {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn udp_connect(addr: SocketAddr) -> io::Result<UdpSocket> {
    let local: IpAddr = if addr.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let s = UdpSocket::bind((local, 0))?;
    s.connect(addr)?;
    Ok(s)
}

fn tcp_connect(addr: SocketAddr, config: &SenderConfig) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, config.connect_timeout)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(config.write_timeout))?;
    Ok(s)
}

/// Sleeps for `d` in slices, returning early once the close deadline passes.
fn backoff_sleep(shared: &Shared, d: Duration) {
    let until = Instant::now() + d;
    while !shared.deadline_passed() {
        let now = Instant::now();
        if now >= until {
            return;
        }
        thread::sleep((until - now).min(POLL_INTERVAL));
    }
}

/// Counts everything still queued (and `pending` packets) as dropped at close.
fn drop_rest(shared: &Shared, rx: &Receiver<Vec<u8>>, pending: u64) {
    let mut n = pending;
    while let Ok(p) = rx.try_recv() {
        shared.take(&p);
        n += 1;
    }
    add(&shared.counters.dropped_at_close, n);
}

fn run(shared: &Shared, spec: &SendSpec, rx: &Receiver<Vec<u8>>) {
    let c = &shared.counters;
    let mut conn: Option<Conn> = None;
    let mut ever_connected = false;
    let mut backoff = shared.config.backoff_initial;
    // Packets taken from the queue but not yet sent, concatenated (TCP) or one (UDP).
    let mut batch: Vec<u8> = Vec::new();
    let mut batch_packets: u64 = 0;
    let mut batch_bounds: Vec<usize> = Vec::new();
    loop {
        if batch_packets == 0 {
            match rx.recv_timeout(POLL_INTERVAL) {
                Ok(p) => {
                    shared.take(&p);
                    batch.extend_from_slice(&p);
                    batch_bounds.push(batch.len());
                    batch_packets = 1;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if shared.deadline_passed() {
                        drop_rest(shared, rx, 0);
                        return;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        if spec.transport == Transport::Tcp {
            while batch.len() < TCP_BATCH {
                match rx.try_recv() {
                    Ok(p) => {
                        shared.take(&p);
                        batch.extend_from_slice(&p);
                        batch_bounds.push(batch.len());
                        batch_packets += 1;
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
        }
        let Some(active) = conn.as_mut() else {
            if shared.deadline_passed() {
                drop_rest(shared, rx, batch_packets);
                return;
            }
            match connect(spec, &shared.config) {
                Ok(new) => {
                    add(&c.connects, 1);
                    if ever_connected {
                        add(&c.reconnects, 1);
                    }
                    ever_connected = true;
                    backoff = shared.config.backoff_initial;
                    conn = Some(new);
                }
                Err(_) => {
                    add(&c.connect_failures, 1);
                    backoff_sleep(shared, backoff);
                    backoff = (backoff * 2).min(shared.config.backoff_max);
                }
            }
            continue;
        };
        match active {
            Conn::Udp(s) => {
                let mut from = 0;
                for &end in &batch_bounds {
                    let pkt = batch.get(from..end).unwrap_or_default();
                    from = end;
                    match s.send(pkt) {
                        Ok(_) => {
                            add(&c.sent_packets, 1);
                            add(&c.sent_bytes, pkt.len() as u64);
                        }
                        Err(_) => {
                            // Datagrams are independent: one lost send (e.g. an ICMP
                            // port unreachable echo) does not need a new socket.
                            add(&c.send_errors, 1);
                            add(&c.dropped_send_error, 1);
                        }
                    }
                }
            }
            Conn::Tcp(s) => match s.write_all(&batch) {
                Ok(()) => {
                    add(&c.sent_packets, batch_packets);
                    add(&c.sent_bytes, batch.len() as u64);
                }
                Err(_) => {
                    add(&c.send_errors, 1);
                    add(&c.dropped_send_error, batch_packets);
                    conn = None;
                }
            },
        }
        batch.clear();
        batch_bounds.clear();
        batch_packets = 0;
    }
}
