//! Read the SIP messages out of Lync / Skype for Business text logs.
//!
//! Three formats are read, each found by content ([`detect()`]): the server's SIPStack trace text
//! (CLS / OCSLogger output, `TL_…(TF_PROTOCOL) … $$begin_record … $$end_record`), the client's
//! UCCAPI log (`Sending Packet - …` / `Data Received - …` blocks) and the pidgin-sipe debug log
//! (`MESSAGE START >>>>>>>>>> SIP - <time>` … `MESSAGE END …`). [`LogReader`] streams any
//! [`std::io::Read`] and yields one [`Record`] at a time: a SIP message normalised so that a SIP
//! parser frames exactly that message, or a server diagnostic event. The [`mod@write`] module writes
//! the same formats, for sample generation and round-trip tests.
//!
//! Every input is untrusted: nothing here panics on input, memory is bounded by the named
//! constants in [`reader`], and whatever a bound drops is counted in [`LogStats`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

mod bytes;
pub mod detect;
mod endpoint;
pub mod reader;
mod sip;
mod sipe;
mod sipstack;
mod time;
mod uccapi;
pub mod write;

pub use detect::{detect, Detection};
pub use reader::{LogReader, ReadOptions};
pub use time::{format_iso8601_utc, parse_iso8601};
pub use write::{write_sipe, write_sipstack, write_sipstack_event, write_uccapi, WriteMeta};

/// The log formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Server SIPStack trace text (CLS / OCSLogger formatted output, what Snooper reads).
    SipStack,
    /// Client UCCAPI log (`*.UccApilog`).
    UccApi,
    /// pidgin-sipe debug log.
    Sipe,
}

impl Format {
    /// A short lower-case name for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::SipStack => "sipstack",
            Format::UccApi => "uccapi",
            Format::Sipe => "sipe",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Direction of a message as the log states it, seen from the machine that wrote the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the logging machine (`outgoing`, `Sending Packet`, `>>>>>>>>>>`).
    Sent,
    /// Received by the logging machine (`incoming`, `Data Received`, `<<<<<<<<<<`).
    Received,
}

/// The transport of the hop a message travelled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TLS over TCP.
    Tls,
    /// Plain TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Where a [`Transport`] value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportSource {
    /// None of the formats states a transport outside the message; this is the transport of the
    /// message's top `Via`, which names the hop the message is on.
    TopVia,
}

/// A host as the log names it: an IP address when numeric, the name otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A numeric IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A host name (FQDN) kept as written.
    Name(Cow<'a, str>),
}

/// An address the log states: host and, when given, port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint<'a> {
    /// Host part.
    pub host: Host<'a>,
    /// Port, when the log gives one.
    pub port: Option<u16>,
}

impl Endpoint<'_> {
    /// A copy that owns its strings.
    pub fn into_owned(self) -> Endpoint<'static> {
        Endpoint {
            host: match self.host {
                Host::Ip(ip) => Host::Ip(ip),
                Host::Name(n) => Host::Name(Cow::Owned(n.into_owned())),
            },
            port: self.port,
        }
    }

    /// Parse `host:port`, `[v6]:port`, a bare IPv6 address or a bare host as logs write them.
    pub fn parse(text: &str) -> Option<Endpoint<'_>> {
        endpoint::parse(text.as_bytes())
    }
}

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.port) {
            (Host::Ip(IpAddr::V6(ip)), Some(p)) => write!(f, "[{ip}]:{p}"),
            (Host::Ip(ip), Some(p)) => write!(f, "{ip}:{p}"),
            (Host::Ip(ip), None) => write!(f, "{ip}"),
            (Host::Name(n), Some(p)) => write!(f, "{n}:{p}"),
            (Host::Name(n), None) => f.write_str(n),
        }
    }
}

/// The fields of a record header that name the machine, process and component that logged it.
/// Each is `None` when the format or the record does not give it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin<'a> {
    /// SIPStack: the bracket after the flag (`0` in OCS, `machine\pool`-like text in SfB).
    pub machine: Option<Cow<'a, str>>,
    /// Process id (hex in every format).
    pub pid: Option<u32>,
    /// Thread id (hex in every format).
    pub tid: Option<u32>,
    /// Trace level: SIPStack `TL_<LEVEL>` without `TL_` (`INFO`, `WARN`, `ERROR`), UCCAPI level.
    pub level: Option<Cow<'a, str>>,
    /// SIPStack trace flag as written (`TF_PROTOCOL`, `TF_DIAG`, `TF_COMPONENT`).
    pub flag: Option<Cow<'a, str>>,
    /// SIPStack component (`SIPStack`).
    pub component: Option<Cow<'a, str>>,
    /// SIPStack `Class::Method` that wrote the record.
    pub function: Option<Cow<'a, str>>,
    /// SIPStack record sequence number (the hex field after the milliseconds).
    pub sequence: Option<u64>,
    /// SIPStack `Trace-Correlation-Id:`.
    pub correlation_id: Option<Cow<'a, str>>,
    /// SIPStack `Instance-Id:`.
    pub instance_id: Option<Cow<'a, str>>,
    /// SIPStack `Direction:` parameter `source=` (edge interface name).
    pub interface_source: Option<Cow<'a, str>>,
    /// SIPStack `Direction:` parameter `destination=` (edge interface name).
    pub interface_destination: Option<Cow<'a, str>>,
}

impl Origin<'_> {
    /// A copy that owns its strings.
    pub fn into_owned(self) -> Origin<'static> {
        fn o(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            c.map(|c| Cow::Owned(c.into_owned()))
        }
        Origin {
            machine: o(self.machine),
            pid: self.pid,
            tid: self.tid,
            level: o(self.level),
            flag: o(self.flag),
            component: o(self.component),
            function: o(self.function),
            sequence: self.sequence,
            correlation_id: o(self.correlation_id),
            instance_id: o(self.instance_id),
            interface_source: o(self.interface_source),
            interface_destination: o(self.interface_destination),
        }
    }
}

/// One SIP message read from a log, with what the log says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipRecord<'a> {
    /// The format it was read from.
    pub format: Format,
    /// 1-based line in the file where the record (SIPStack, sipe) or block (UCCAPI) starts.
    pub line: u64,
    /// Time in nanoseconds since the Unix epoch, UTC (the caller's offset applied where the
    /// format writes local time); `None` when the record's time could not be read.
    pub time_ns: Option<i64>,
    /// Direction as the log states it.
    pub direction: Option<Direction>,
    /// The logging machine's side, when stated (UCCAPI `From/To Local Address:`).
    pub local: Option<Endpoint<'a>>,
    /// The other side, when stated (SIPStack `Peer:`, UCCAPI remote address).
    pub remote: Option<Endpoint<'a>>,
    /// Transport of the hop, see [`TransportSource`].
    pub transport: Option<Transport>,
    /// Record header fields that name the machine / component.
    pub origin: Origin<'a>,
    /// The SIP message: CRLF line endings, nothing before the start line, header names as
    /// written, the body kept, `Content-Length` equal to the body present. Borrowed from the
    /// reader's buffer when the log held exactly these bytes.
    pub message: Cow<'a, [u8]>,
    /// The `Content-Length` the log had, when it had one.
    pub logged_content_length: Option<u64>,
    /// `Content-Length` was rewritten (or added) because the logged value did not match the body.
    pub content_length_fixed: bool,
}

impl SipRecord<'_> {
    /// A copy that owns everything, to keep after the reader moves on.
    pub fn into_owned(self) -> SipRecord<'static> {
        SipRecord {
            format: self.format,
            line: self.line,
            time_ns: self.time_ns,
            direction: self.direction,
            local: self.local.map(Endpoint::into_owned),
            remote: self.remote.map(Endpoint::into_owned),
            transport: self.transport,
            origin: self.origin.into_owned(),
            message: Cow::Owned(self.message.into_owned()),
            logged_content_length: self.logged_content_length,
            content_length_fixed: self.content_length_fixed,
        }
    }
}

/// A server result code (`Result-Code: 0xc3e93c5e SIPPROXY_E_ROUTING`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultCode<'a> {
    /// The numeric value.
    pub value: u32,
    /// The symbolic name when the record gives it.
    pub name: Option<Cow<'a, str>>,
}

/// A server diagnostic record (SIPStack `TF_DIAG`, or `TF_COMPONENT` with `LogType: diagnostic`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerEvent<'a> {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Time in nanoseconds since the Unix epoch, UTC (caller's offset applied).
    pub time_ns: Option<i64>,
    /// Record header fields (level, flag, machine, component, …).
    pub origin: Origin<'a>,
    /// `Severity:` (`warning`, `error`).
    pub severity: Option<Cow<'a, str>>,
    /// `LogType:` (`diagnostic`).
    pub log_type: Option<Cow<'a, str>>,
    /// `Result-Code:` value and name (or the header line's `Result 0x…(NAME)`).
    pub result_code: Option<ResultCode<'a>>,
    /// `Text:` without an embedded `Result-Code:` tail.
    pub text: Option<Cow<'a, str>>,
    /// `SIP-Start-Line:`.
    pub start_line: Option<Cow<'a, str>>,
    /// `SIP-Call-ID:`.
    pub call_id: Option<Cow<'a, str>>,
    /// `SIP-CSeq:`.
    pub cseq: Option<Cow<'a, str>>,
    /// `Peer:` parsed.
    pub peer: Option<Endpoint<'a>>,
    /// `Data:` as written.
    pub data: Option<Cow<'a, str>>,
    /// Free text after the header line's source location (`Exit - route headers from …`).
    pub header_text: Option<Cow<'a, str>>,
}

/// One item read from a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// A SIP message.
    Sip(SipRecord<'a>),
    /// A server diagnostic record.
    ServerEvent(ServerEvent<'a>),
}

/// Maximum number of distinct kinds counted by name in [`KindCounts`]; further kinds go to
/// `overflow` so that a log with arbitrary flag names cannot grow the stats.
pub const MAX_KINDS: usize = 64;
/// Maximum length of a kind name; longer names are cut (at a char boundary).
pub const MAX_KIND_LEN: usize = 48;

/// Counts of records that are not SIP messages, by kind (bounded, see [`MAX_KINDS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    entries: Vec<(String, u64)>,
    /// Records whose kind did not fit in the table.
    pub overflow: u64,
}

impl KindCounts {
    pub(crate) fn add(&mut self, kind: &str) {
        let mut end = kind.len().min(MAX_KIND_LEN);
        while !kind.is_char_boundary(end) {
            end -= 1;
        }
        let kind = kind.get(..end).unwrap_or("");
        if let Some(e) = self.entries.iter_mut().find(|(k, _)| k == kind) {
            e.1 += 1;
        } else if self.entries.len() < MAX_KINDS {
            self.entries.push((kind.to_owned(), 1));
        } else {
            self.overflow += 1;
        }
    }

    /// The count for one kind (0 when never seen).
    pub fn get(&self, kind: &str) -> u64 {
        self.entries
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// Kinds and counts in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.entries.iter().map(|(k, n)| (k.as_str(), *n))
    }

    /// Sum of all counts, overflow included.
    pub fn total(&self) -> u64 {
        self.entries.iter().map(|(_, n)| n).sum::<u64>() + self.overflow
    }
}

/// What a reader saw. Nothing is dropped without being counted here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Bytes read from the input.
    pub bytes: u64,
    /// Lines passed over (records and everything between them).
    pub lines: u64,
    /// SIP messages yielded.
    pub sip_messages: u64,
    /// Server diagnostic events yielded.
    pub server_events: u64,
    /// Records that are not SIP messages, by kind (SIPStack flag, UCCAPI trace level, sipe type).
    pub other_records: KindCounts,
    /// Lines outside any record that are not a record of their own (garbage, blank lines,
    /// the rest of an oversized record, a stray end marker).
    pub stray_lines: u64,
    /// Records cut off: a start without its end (next record started, or end of file).
    pub cut_records: u64,
    /// Records longer than [`reader::MAX_RECORD_BYTES`], skipped.
    pub oversized_records: u64,
    /// Lines outside records longer than [`reader::MAX_LINE_BYTES`], dropped.
    pub long_lines: u64,
    /// Messages whose `Content-Length` was rewritten or added.
    pub content_length_fixed: u64,
    /// Message blocks whose text is not a SIP message (no SIP start line).
    pub not_sip: u64,
    /// Records yielded without a time because their timestamp could not be read.
    pub bad_times: u64,
}
