//! Text logs as a source of SIP messages: Lync / Skype for Business server SIPStack traces,
//! client UCCAPI logs and pidgin-sipe debug logs, read by `lyncscope-logs` and handed to the
//! pipeline as whole messages ([`SourceMessage`]) with their time, addresses and origin (the
//! log file and line).
//!
//! What a log does not say gets a **synthetic endpoint**: an address in the unique-local range
//! `fd6c:6f67::/32` ("log") made from a name — the server named in a SIPStack record header
//! for its own side, the log file's name for a client that does not give its address, the
//! host name a log gives instead of an address — always the same address for the same name,
//! and listed by [`LogInput::synthetic`] so that reports can say what it stands for.
//!
//! Server diagnostic records (SIPStack `TF_DIAG` / `TF_COMPONENT`) are kept as
//! [`ServerEvent`]s.

use crate::capture::CaptureError;
use crate::source::{Input, Origin, Source, SourceMessage, Transport};
use crate::Timestamp;
use lyncscope_logs::{Direction, Endpoint, Format, Host, LogReader, LogStats, ReadOptions, Record};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Most server events kept per log (each a few hundred bytes); further ones are counted.
pub const MAX_SERVER_EVENTS: usize = 100_000;
/// Most synthetic endpoints named per log (a log names a handful of hosts); beyond, the name
/// is not kept (the address still is the same for the same name).
const MAX_SYNTHETIC: usize = 10_000;

/// How to read logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Offset of the logs' local time from UTC in seconds (`--log-utc-offset`): UCCAPI logs
    /// are written in local time without a zone; sipe writes UTC (not affected).
    pub utc_offset_secs: i32,
    /// Follow logs still being written (`--follow`, like `tail -f`): at the end of what is
    /// written so far a log has no input *yet*, and is read again later.
    pub follow: bool,
}

pub use crate::source::ServerEvent;

/// One log file read as a [`Source`].
pub struct LogInput {
    reader: LogReader<Box<dyn Read + Send>>,
    input: u32,
    /// The log's file name, for synthetic endpoints of its own side.
    name: String,
    /// The message being handed out (copied: the reader moves on while it is used).
    bytes: Vec<u8>,
    last_time: Timestamp,
    events: Vec<ServerEvent>,
    /// Events read but not yet handed to the pipeline (which keeps them, with their dialogs);
    /// bounded, the overflow counted in `events_dropped`.
    events_dropped: u64,
    synthetic: BTreeMap<IpAddr, String>,
}

/// Is this prefix of a file (decompressed) a log lyncscope reads? The format, or `Err` with a
/// hint when it is recognisable but not readable (an ETW `.etl` binary, UTF-16 text).
pub fn detect(prefix: &[u8]) -> Option<Result<Format, &'static str>> {
    use lyncscope_logs::Detection;
    match lyncscope_logs::detect(prefix) {
        Detection::Log(f) => Some(Ok(f)),
        Detection::Unknown => None,
        other => Some(Err(other.hint())),
    }
}

impl LogInput {
    /// Reads the log `name` from `reader` (already decompressed), input number `input`.
    pub fn new(
        reader: Box<dyn Read + Send>,
        format: Format,
        name: &str,
        input: u32,
        options: &LogOptions,
    ) -> Self {
        let opts = ReadOptions {
            utc_offset_secs: options.utc_offset_secs,
            follow: options.follow,
        };
        LogInput {
            reader: LogReader::new(reader, format, opts),
            input,
            name: std::path::Path::new(name)
                .file_name()
                .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned()),
            bytes: Vec::new(),
            last_time: Timestamp(0),
            events: Vec::new(),
            events_dropped: 0,
            synthetic: BTreeMap::new(),
        }
    }

    /// Opens the log file at `path` (gzip-compressed or not), found to be `format`.
    pub fn open(
        path: &str,
        format: Format,
        input: u32,
        options: &LogOptions,
    ) -> Result<Self, CaptureError> {
        let reader =
            crate::capture::open_decompressed(path).map_err(|e| CaptureError::Unreadable {
                path: path.to_string(),
                message: e.to_string(),
            })?;
        Ok(Self::new(reader, format, path, input, options))
    }

    /// The reader's counters (records by kind, cut records, …).
    pub fn stats(&self) -> &LogStats {
        self.reader.stats()
    }

    /// Server events this log could not hand over (more than [`MAX_SERVER_EVENTS`] between two
    /// SIP messages).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// The synthetic endpoints this log's messages were given, by address.
    pub fn synthetic(&self) -> &BTreeMap<IpAddr, String> {
        &self.synthetic
    }

    fn endpoint(&mut self, e: Option<&Endpoint<'_>>, fallback: &str, port: u16) -> SocketAddr {
        let (ip, port) = match e {
            Some(Endpoint {
                host: Host::Ip(ip),
                port: p,
            }) => (*ip, p.unwrap_or(port)),
            Some(Endpoint {
                host: Host::Name(n),
                port: p,
            }) => (self.synthetic_ip(n), p.unwrap_or(port)),
            None => (self.synthetic_ip(fallback), port),
        };
        SocketAddr::new(ip, port)
    }

    fn synthetic_ip(&mut self, name: &str) -> IpAddr {
        let ip = IpAddr::V6(synthetic_address(name));
        if self.synthetic.len() < MAX_SYNTHETIC || self.synthetic.contains_key(&ip) {
            self.synthetic.entry(ip).or_insert_with(|| name.to_string());
        }
        ip
    }
}

/// The synthetic address of a name: `fd6c:6f67::/32` and 96 bits of a fixed hash (FNV-1a), so
/// that the same name gets the same address in every run and every log.
pub fn synthetic_address(name: &str) -> Ipv6Addr {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in name.to_ascii_lowercase().bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let low = h & ((1u128 << 96) - 1);
    Ipv6Addr::from((0xfd6c_6f67u128 << 96) | low)
}

/// Is this address one [`synthetic_address`] makes?
pub fn is_synthetic(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[..2] == [0xfd6c, 0x6f67])
}

impl Source for LogInput {
    fn take_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.events)
    }

    fn next_input(&mut self) -> Option<Input<'_>> {
        loop {
            let record = match self.reader.next_record() {
                Ok(Some(r)) => r,
                // An I/O error ends this log; what was read stays.
                Ok(None) | Err(_) => return None,
            };
            match record {
                Record::ServerEvent(e) => {
                    let owned = ServerEvent {
                        origin: Origin::Log {
                            input: self.input,
                            line: u32::try_from(e.line).unwrap_or(u32::MAX),
                        },
                        source: e.origin.machine.as_deref().map(str::to_string),
                        time: e.time_ns.map(Timestamp),
                        level: e.origin.level.as_deref().map(str::to_string),
                        result_code: e
                            .result_code
                            .as_ref()
                            .map(|r| (r.value, r.name.as_deref().map(str::to_string))),
                        text: e.text.as_deref().map(str::to_string),
                        call_id: e.call_id.as_deref().map(str::to_string),
                        cseq: e.cseq.as_deref().map(str::to_string),
                        start_line: e.start_line.as_deref().map(str::to_string),
                        peer: e.peer.as_ref().map(|p| p.to_string()),
                        data: e.data.as_deref().map(str::to_string),
                    };
                    if self.events.len() < MAX_SERVER_EVENTS {
                        self.events.push(owned);
                    } else {
                        self.events_dropped += 1;
                    }
                }
                Record::Sip(r) => {
                    let time = r.time_ns.map_or(self.last_time, Timestamp);
                    self.last_time = time;
                    let transport = match r.transport {
                        Some(lyncscope_logs::Transport::Udp) => Transport::Udp,
                        Some(lyncscope_logs::Transport::Tcp) => Transport::Tcp,
                        Some(lyncscope_logs::Transport::Tls) | None => Transport::Tls,
                    };
                    let port = if transport == Transport::Tls {
                        5061
                    } else {
                        5060
                    };
                    // The logging machine's own side: a server record names its machine; a
                    // client log that gives no address is named after the file.
                    let own_name = r
                        .origin
                        .machine
                        .as_deref()
                        .filter(|m| !m.is_empty() && *m != "0")
                        .map_or_else(|| self.name.clone(), str::to_string);
                    let (local, remote, direction, line) = (
                        r.local.clone().map(Endpoint::into_owned),
                        r.remote.clone().map(Endpoint::into_owned),
                        r.direction,
                        r.line,
                    );
                    self.bytes.clear();
                    self.bytes.extend_from_slice(&r.message);
                    let local = self.endpoint(local.as_ref(), &own_name, port);
                    let remote = self.endpoint(remote.as_ref(), "peer", port);
                    let (src, dst) = match direction {
                        Some(Direction::Received) => (remote, local),
                        _ => (local, remote),
                    };
                    return Some(Input::Message(SourceMessage {
                        number: 0,
                        time,
                        src,
                        dst,
                        transport,
                        origin: Origin::Log {
                            input: self.input,
                            line: u32::try_from(line).unwrap_or(u32::MAX),
                        },
                        bytes: &self.bytes,
                    }));
                }
            }
        }
    }
}
