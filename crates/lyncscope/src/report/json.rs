//! The JSON report (`--report json`), following the contract in docs/json.md exactly; fields
//! beyond the contract are additive. Lists are streamed from the analysis, not copied.

use super::ReportInput;
use crate::analysis::{Analysis, StartKind};
use crate::pipeline::Stats;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Bytes of dialogs a chunk rendered ahead holds ([`write_split`]); it is handed over after
/// the dialog that passes this.
const CHUNK_BYTES: usize = 64 << 10;
/// Chunks rendered ahead and not yet written: what bounds the memory the second thread holds
/// (~4 MB, whatever the number of dialogs: the report of a million messages is written at the
/// end of the analysis, whose memory is all still held, and must stay under its 150 MB).
const CHUNKS_AHEAD: usize = 56;
/// The raw JSON the dialogs' field holds in place of the dialogs rendered ahead: a string no
/// other value of the report can write as raw JSON (strings are written escaped, not raw).
const AHEAD: &str = "\"lyncscope: the dialogs rendered ahead\"";

/// Writes the JSON report of `analysis` (one object, then a newline) to `out`.
pub fn write(
    out: &mut impl Write,
    input: &ReportInput<'_>,
    stats: &Stats<'_>,
    analysis: &Analysis,
) -> io::Result<()> {
    let sel = input.selection();
    // Computed once, only when something is selected away.
    let selected = (!sel.is_empty()).then(|| sel.dialogs(analysis));
    let dialogs = DialogsField::Here(Dialogs::of(analysis, selected.as_ref()));
    let report = report(input, stats, analysis, selected.as_ref(), dialogs);
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// [`write()`] on two threads, the same bytes: a second thread renders the dialog list (a
/// third of a report) while this one writes everything before it, at most ~4 MB ahead.
pub fn write_split(
    out: &mut impl Write,
    input: &ReportInput<'_>,
    stats: &Stats<'_>,
    analysis: &Analysis,
) -> io::Result<()> {
    let sel = input.selection();
    let selected = (!sel.is_empty()).then(|| sel.dialogs(analysis));
    let marker =
        serde_json::value::RawValue::from_string(AHEAD.to_string()).map_err(io::Error::other)?;
    let all = Dialogs::of(analysis, selected.as_ref());
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(CHUNKS_AHEAD);
        let ahead = std::thread::Builder::new()
            .name("lyncscope-json".into())
            .spawn_scoped(scope, move || {
                let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 2);
                for i in 0..all.list.len() {
                    let one = Dialogs {
                        first: i,
                        list: all.list.get(i..=i).unwrap_or_default(),
                        ..all
                    };
                    let before = chunk.len();
                    if before > 0 {
                        chunk.extend_from_slice(b",\n");
                    }
                    if !rendered_in_field(&one, &mut chunk) {
                        chunk.truncate(before);
                        continue;
                    }
                    if chunk.len() >= CHUNK_BYTES {
                        let full = std::mem::replace(
                            &mut chunk,
                            Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 2),
                        );
                        // The writer stopped (an error): nothing more is wanted.
                        if tx.send(full).is_err() {
                            return;
                        }
                    }
                }
                if !chunk.is_empty() {
                    let _ = tx.send(chunk);
                }
            });
        let Ok(_ahead) = ahead else {
            // No thread to be had: the same report on this one.
            return write(out, input, stats, analysis);
        };
        let report = report(
            input,
            stats,
            analysis,
            selected.as_ref(),
            DialogsField::Ahead(marker),
        );
        let mut ser = serde_json::Serializer::with_formatter(
            &mut *out,
            Splice {
                pretty: serde_json::ser::PrettyFormatter::new(),
                chunks: &rx,
            },
        );
        report.serialize(&mut ser).map_err(io::Error::other)?;
        out.write_all(b"\n")
    })
}

/// Appends the dialogs of `part` to `out` as the pretty printer writes them in the report's
/// `dialogs` array (one level in): the elements with their separators, without the brackets;
/// false (and `out` as it was) when none of them is listed. Rendered as the one field of an
/// object, the field's value is at the report's depth, so only the object's and the array's
/// own lines are cut.
fn rendered_in_field(part: &Dialogs<'_>, out: &mut Vec<u8>) -> bool {
    const HEAD: &[u8] = b"{\n  \"dialogs\": [\n";
    const TAIL: &[u8] = b"\n  ]\n}";
    struct Field<'p, 'a>(&'p Dialogs<'a>);
    impl Serialize for Field<'_, '_> {
        fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            let mut map = ser.serialize_map(Some(1))?;
            map.serialize_entry("dialogs", self.0)?;
            map.end()
        }
    }
    let at = out.len();
    let written = serde_json::to_writer_pretty(&mut *out, &Field(part)).is_ok();
    let text = out.get(at..).unwrap_or_default();
    if !(written && text.starts_with(HEAD) && text.ends_with(TAIL)) {
        out.truncate(at);
        return false;
    }
    out.truncate(out.len() - TAIL.len());
    out.drain(at..at + HEAD.len());
    true
}

/// The pretty printer, which writes the dialogs rendered ahead where the report holds their
/// marker.
struct Splice<'r> {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    chunks: &'r std::sync::mpsc::Receiver<Vec<u8>>,
}

impl serde_json::ser::Formatter for Splice<'_> {
    fn write_raw_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment != AHEAD {
            return w.write_all(fragment.as_bytes());
        }
        // The array one level in, as the pretty printer writes it: `[]` when empty.
        let mut any = false;
        for chunk in self.chunks.iter() {
            w.write_all(if any { b",\n" } else { b"[\n" })?;
            w.write_all(&chunk)?;
            any = true;
        }
        w.write_all(if any { b"\n  ]" } else { b"[]" })
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// The report of one run.
fn report<'a>(
    input: &'a ReportInput<'a>,
    stats: &'a Stats<'a>,
    analysis: &'a Analysis,
    selected: Option<&'a super::select::DialogSet>,
    dialogs: DialogsField<'a>,
) -> Report<'a> {
    let sel = input.selection();
    Report {
        lyncscope: env!("CARGO_PKG_VERSION"),
        sources: input.sources,
        selection: (!sel.is_empty()).then_some(SelectionOut {
            failed: sel.failed,
            conference: sel.conference.as_deref(),
            user: sel.user.as_deref(),
        }),
        stats: StatsOut::new(stats, analysis),
        summary: super::summary::Summary::new(analysis, sel),
        conferences: super::conferences::Conferences(analysis, sel),
        dialogs,
        messages: input
            .messages
            .then_some(Messages(analysis, input.sources, selected)),
        warnings: input.warnings,
        capture: input.live.map(LiveOut),
        written: input.written.map(WrittenOut::new),
        logs: input.inputs.filter(|i| i.has_logs()).map(|i| {
            i.log_stats()
                .into_iter()
                .map(|(file, s, events_dropped)| LogOut {
                    file,
                    sip_messages: s.sip_messages,
                    server_events: s.server_events,
                    other_records: s
                        .other_records
                        .iter()
                        .map(|(k, n)| (k.to_string(), n))
                        .collect(),
                    cut_records: s.cut_records,
                    oversized_records: s.oversized_records,
                    long_lines: s.long_lines,
                    stray_lines: s.stray_lines,
                    content_length_fixed: s.content_length_fixed,
                    not_sip: s.not_sip,
                    bad_times: s.bad_times,
                    events_dropped,
                })
                .collect()
        }),
        server_events: input.inputs.filter(|i| i.has_logs()).map(|_| {
            analysis
                .server_events()
                .iter()
                .map(|e| EventOut::new(e, input.sources))
                .collect()
        }),
        hep: input.hep.map(HepOut::new),
        endpoints: input.inputs.filter(|i| i.has_logs()).map(|i| {
            i.synthetic()
                .into_iter()
                .map(|(address, name)| EndpointOut {
                    address: address.to_string(),
                    name,
                    synthetic: true,
                })
                .collect()
        }),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    lyncscope: &'static str,
    sources: &'a [String],
    /// With `--failed`, `--conference` or `--user` (additive): what the lists cover; `stats`
    /// stays the whole input's.
    #[serde(skip_serializing_if = "Option::is_none")]
    selection: Option<SelectionOut<'a>>,
    stats: StatsOut<'a>,
    /// The summary of the selected joins (additive): `--report summary`'s tallies.
    summary: super::summary::Summary<'a>,
    conferences: super::conferences::Conferences<'a>,
    dialogs: DialogsField<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Messages<'a>>,
    warnings: &'a [String],
    /// Live capture only (additive).
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<LiveOut<'a>>,
    /// With `-w` only (additive).
    #[serde(skip_serializing_if = "Option::is_none")]
    written: Option<WrittenOut<'a>>,
    /// With logs among the inputs (additive): each log's counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    logs: Option<Vec<LogOut<'a>>>,
    /// With logs among the inputs (additive): the servers' diagnostic records.
    #[serde(skip_serializing_if = "Option::is_none")]
    server_events: Option<Vec<EventOut<'a>>>,
    /// With logs among the inputs (additive): the synthetic addresses given to what a log
    /// names without an address.
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoints: Option<Vec<EndpointOut>>,
    /// With `--hep-listen` or `--hep-send` (additive).
    #[serde(skip_serializing_if = "Option::is_none")]
    hep: Option<HepOut<'a>>,
}

#[derive(Serialize)]
struct SelectionOut<'a> {
    failed: bool,
    conference: Option<&'a str>,
    user: Option<&'a str>,
}

#[derive(Serialize)]
struct HepOut<'a> {
    listeners: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<HepReceivedOut<'a>>,
    agents: Vec<AgentOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent: Option<HepSentOut<'a>>,
}

#[derive(Serialize)]
struct HepReceivedOut<'a> {
    packets: u64,
    bytes: u64,
    delivered: u64,
    /// Packets of other payload types than SIP, by type number.
    other_payloads: BTreeMap<String, u64>,
    /// Malformed packets by what was wrong.
    errors: BTreeMap<&'static str, u64>,
    auth_failures: u64,
    compressed_unsupported: u64,
    dropped_queue_full: u64,
    dropped_at_stop: u64,
    /// UDP datagrams the kernel dropped before lyncscope could read them (Linux).
    kernel_drops: Option<u64>,
    /// Each UDP listener's socket receive buffer as granted (bytes).
    udp_recv_buffers: BTreeMap<&'a str, usize>,
    tcp_accepted: u64,
    tcp_refused: u64,
    tcp_idle_closed: u64,
    tcp_skipped_bytes: u64,
}

#[derive(Serialize)]
struct AgentOut<'a> {
    node_id: u32,
    name: Option<&'a str>,
    address: String,
    packets: u64,
}

#[derive(Serialize)]
struct HepSentOut<'a> {
    to: &'a str,
    sent: u64,
    bytes: u64,
    dropped_queue_full: u64,
    dropped_too_large: u64,
    dropped_send_error: u64,
    dropped_at_close: u64,
    reconnects: u64,
    connect_failures: u64,
}

impl<'a> HepOut<'a> {
    fn new(h: &'a super::HepSummary) -> Self {
        HepOut {
            listeners: &h.listeners,
            received: h.received.as_ref().map(|r| HepReceivedOut {
                packets: r.packets_received,
                bytes: r.bytes_received,
                delivered: r.packets_delivered,
                other_payloads: r
                    .by_proto_type
                    .iter()
                    .enumerate()
                    .filter(|(t, n)| *t != 1 && **n > 0)
                    .map(|(t, n)| (t.to_string(), *n))
                    .collect(),
                errors: lyncscope_hep::ErrorKind::ALL
                    .iter()
                    .filter_map(|k| {
                        let n = r.errors.get(k.index()).copied().unwrap_or(0);
                        (n > 0).then(|| (k.as_str(), n))
                    })
                    .collect(),
                auth_failures: r.auth_failures,
                compressed_unsupported: r.compressed_unsupported,
                dropped_queue_full: r.dropped_queue_full,
                dropped_at_stop: r.dropped_at_stop,
                kernel_drops: h.kernel_drops,
                udp_recv_buffers: h
                    .udp_recv_buffers
                    .iter()
                    .map(|(l, n)| (l.as_str(), *n))
                    .collect(),
                tcp_accepted: r.tcp_accepted,
                tcp_refused: r.tcp_refused,
                tcp_idle_closed: r.tcp_idle_closed,
                tcp_skipped_bytes: r.tcp_skipped_bytes,
            }),
            agents: h
                .agents
                .iter()
                .map(|(id, name, addr, n)| AgentOut {
                    node_id: *id,
                    name: name.as_deref(),
                    address: addr.to_string(),
                    packets: *n,
                })
                .collect(),
            sent: h.sent.as_ref().map(|(to, s)| HepSentOut {
                to,
                sent: s.sent_packets,
                bytes: s.sent_bytes,
                dropped_queue_full: s.dropped_queue_full,
                dropped_too_large: s.dropped_too_large,
                dropped_send_error: s.dropped_send_error,
                dropped_at_close: s.dropped_at_close,
                reconnects: s.reconnects,
                connect_failures: s.connect_failures,
            }),
        }
    }
}

#[derive(Serialize)]
struct LogOut<'a> {
    file: &'a str,
    sip_messages: u64,
    server_events: u64,
    other_records: BTreeMap<String, u64>,
    cut_records: u64,
    oversized_records: u64,
    long_lines: u64,
    stray_lines: u64,
    content_length_fixed: u64,
    not_sip: u64,
    bad_times: u64,
    events_dropped: u64,
}

#[derive(Serialize)]
struct EndpointOut {
    address: String,
    name: String,
    synthetic: bool,
}

#[derive(Serialize)]
struct EventOut<'a> {
    source: &'a str,
    line: u32,
    machine: Option<&'a str>,
    time: Option<super::Ts>,
    level: Option<&'a str>,
    result_code: Option<ResultCodeOut<'a>>,
    text: Option<&'a str>,
    call_id: Option<&'a str>,
    cseq: Option<&'a str>,
    start_line: Option<&'a str>,
    peer: Option<&'a str>,
    data: Option<&'a str>,
}

#[derive(Serialize)]
struct ResultCodeOut<'a> {
    hex: String,
    name: Option<&'a str>,
}

impl<'a> EventOut<'a> {
    fn new(e: &'a crate::logs::ServerEvent, sources: &'a [String]) -> Self {
        let (source, line) = match e.origin {
            crate::source::Origin::Log { input, line } => (
                sources.get(input as usize).map_or("?", String::as_str),
                line,
            ),
            _ => ("?", 0),
        };
        EventOut {
            source,
            line,
            machine: e.source.as_deref(),
            time: e.time.map(super::Ts),
            level: e.level.as_deref(),
            result_code: e.result_code.as_ref().map(|(v, n)| ResultCodeOut {
                hex: format!("0x{v:08X}"),
                name: n.as_deref(),
            }),
            text: e.text.as_deref(),
            call_id: e.call_id.as_deref(),
            cseq: e.cseq.as_deref(),
            start_line: e.start_line.as_deref(),
            peer: e.peer.as_deref(),
            data: e.data.as_deref(),
        }
    }
}

/// Where a message was seen, for `messages[].origin`.
#[derive(Serialize)]
struct OriginOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<u32>,
}

fn origin_out<'a>(o: crate::source::Origin, frame: u64, sources: &'a [String]) -> OriginOut<'a> {
    use crate::source::Origin;
    let file = |input: u32| sources.get(input as usize).map(String::as_str);
    match o {
        Origin::Capture { input } => OriginOut {
            file: file(input),
            frame: Some(frame),
            line: None,
            agent: None,
        },
        Origin::Log { input, line } => OriginOut {
            file: file(input),
            frame: None,
            line: Some(line),
            agent: None,
        },
        Origin::Agent { node } => OriginOut {
            file: None,
            frame: None,
            line: None,
            agent: Some(node),
        },
    }
}

/// `capture`: the interfaces of a live capture and libpcap's counters.
struct LiveOut<'a>(&'a crate::capture::LiveStats);

impl Serialize for LiveOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Interface<'a> {
            name: &'a str,
            link_type: u32,
            packets: u64,
            received: u64,
            dropped: u64,
            if_dropped: u64,
        }
        let s = self.0;
        let mut map = ser.serialize_map(Some(3))?;
        map.serialize_entry("filter", &s.filter)?;
        map.serialize_entry("dropped", &s.dropped())?;
        let interfaces: Vec<Interface<'_>> = s
            .interfaces
            .iter()
            .map(|i| Interface {
                name: &i.name,
                link_type: i.link_type,
                packets: i.frames,
                received: i.received,
                dropped: i.dropped,
                if_dropped: i.if_dropped,
            })
            .collect();
        map.serialize_entry("interfaces", &interfaces)?;
        map.end()
    }
}

/// `written`: what `-w` wrote.
#[derive(Serialize)]
struct WrittenOut<'a> {
    file: &'a str,
    format: &'static str,
    packets: u64,
    sip_messages: u64,
    packets_lost: u64,
    messages_cut: u64,
}

impl<'a> WrittenOut<'a> {
    fn new(w: &'a crate::output::WriteSummary) -> Self {
        WrittenOut {
            file: &w.path,
            format: if w.stats.pcapng { "pcapng" } else { "pcap" },
            packets: w.stats.packets_written,
            sip_messages: w.stats.messages,
            packets_lost: w.stats.packets_lost,
            messages_cut: w.stats.messages_cut,
        }
    }
}

#[derive(Serialize)]
struct StatsOut<'a> {
    packets: u64,
    bytes: u64,
    sip_messages: u64,
    sip_requests: u64,
    sip_responses: u64,
    dialogs: u64,
    conferences: u64,
    ip_fragments: u64,
    ip_reassembled: u64,
    tcp_streams: u64,
    tcp_out_of_order: u64,
    tcp_retransmissions: u64,
    incomplete_messages: u64,
    malformed_messages: u64,
    undecoded_packets: u64,
    // Additive detail.
    sip_retransmissions: u64,
    not_ip_packets: u64,
    udp_not_sip: u64,
    keepalives: u64,
    tcp_gaps: u64,
    tcp_bytes_skipped: u64,
    tcp_streams_evicted: u64,
    tcp_bytes_dropped_by_cap: u64,
    tcp_message_cap_hits: u64,
    tcp_total_cap_hits: u64,
    tcp_reorder_cap_hits: u64,
    websocket_frames: u64,
    sctp_data_chunks: u64,
    ip_fragments_expired: u64,
    messages_without_call_id: u64,
    dialogs_dropped: u64,
    undecoded_reasons: &'a BTreeMap<String, u64>,
    tls: TlsOut,
    /// Copies of a message seen by another source, merged into the first (not counted in
    /// `sip_messages`).
    copies_merged: u64,
    /// Server diagnostic records and extra origins of merged copies not kept because of their
    /// bounds (a log's own overflow is in `logs[].events_dropped`).
    server_events_dropped: u64,
    origins_dropped: u64,
    // What each bound left out (README, "Bounds"); `bounds_hit` lists the ones that are not 0.
    conferences_dropped: u64,
    conference_dialogs_dropped: u64,
    participants_dropped: u64,
    devices_dropped: u64,
    dial_outs_dropped: u64,
    roster_users_dropped: u64,
    roster_endpoints_dropped: u64,
    roster_media_dropped: u64,
    roster_entries_dropped: u64,
    attempts_dropped: u64,
    dialogs_dropped_table_full: u64,
    dialogs_dropped_per_call_id: u64,
    transactions_forgotten: u64,
    messages_not_listed: u64,
    symbols_overflowed: u64,
    sctp_cap_hits: u64,
    websocket_cap_hits: u64,
    ip_datagrams_evicted: u64,
    dialogs_evicted: u64,
    dialogs_refused_memory: u64,
    messages_refused_memory: u64,
    memory_refused: u64,
    memory_limit: u64,
    memory_used: u64,
    media_datagrams: u64,
    media_candidates_dropped: u64,
    bounds_hit: Vec<BoundOut>,
}

/// `stats.bounds_hit[]`: a bound that left something out.
#[derive(Serialize)]
struct BoundOut {
    /// The counter's name in `stats`.
    bound: &'static str,
    limit: u64,
    count: u64,
}

/// `stats.tls`: TLS connections found by their ClientHello, decrypted or not and why.
#[derive(Serialize)]
struct TlsOut {
    connections: u64,
    decrypted: u64,
    no_key: u64,
    /// Of `no_key`: (EC)DHE or TLS 1.3, which only a key log decrypts.
    ecdhe_without_key_log: u64,
    handshake_not_captured: u64,
    unsupported_suite: u64,
    unsupported_suites: Vec<SuiteOut>,
    wrong_key: u64,
    records: u64,
    bad_records: u64,
    // Additive detail.
    gaps: u64,
    malformed: u64,
    unsupported_version: u64,
    rsa_decrypt_failures: u64,
    resumptions: u64,
    resumptions_missed: u64,
    bytes_decrypted: u64,
    bytes_dropped: u64,
}

#[derive(Serialize)]
struct SuiteOut {
    id: String,
    name: String,
    connections: u64,
}

impl TlsOut {
    fn new(t: &lyncscope_tls::TlsStats) -> Self {
        TlsOut {
            connections: t.connections,
            decrypted: t.decrypted,
            no_key: t.no_key,
            ecdhe_without_key_log: t.no_key_forward_secret,
            handshake_not_captured: t.handshake_not_captured,
            unsupported_suite: t.unsupported_suite,
            unsupported_suites: t
                .unsupported_suites
                .iter()
                .map(|(id, n)| SuiteOut {
                    id: format!("0x{id:04x}"),
                    name: crate::tls::suite_name(*id),
                    connections: *n,
                })
                .collect(),
            wrong_key: t.wrong_key,
            records: t.records_decrypted,
            bad_records: t.bad_records,
            gaps: t.gaps,
            malformed: t.malformed,
            unsupported_version: t.unsupported_version,
            rsa_decrypt_failures: t.rsa_decrypt_failures,
            resumptions: t.resumptions_hit,
            resumptions_missed: t.resumptions_missed,
            bytes_decrypted: t.bytes_decrypted,
            bytes_dropped: t.bytes_dropped,
        }
    }
}

impl<'a> StatsOut<'a> {
    fn new(s: &'a Stats<'a>, analysis: &Analysis) -> Self {
        let cs = &analysis.conferences().stats;
        StatsOut {
            packets: s.packets,
            bytes: s.bytes,
            sip_messages: s.analysis.sip_messages,
            sip_requests: s.analysis.sip_requests,
            sip_responses: s.analysis.sip_responses,
            dialogs: analysis.dialogs_kept() as u64,
            conferences: analysis.conferences().list().len() as u64,
            ip_fragments: s.net.ip_fragments,
            ip_reassembled: s.net.ip_reassembled,
            tcp_streams: s.transport.tcp_streams,
            tcp_out_of_order: s.transport.tcp_out_of_order,
            tcp_retransmissions: s.transport.tcp_retransmissions,
            incomplete_messages: s.transport.incomplete_messages,
            malformed_messages: s.transport.malformed_messages + s.analysis.defective_messages,
            undecoded_packets: s.net.undecoded + s.transport.bad_transport_headers,
            sip_retransmissions: s.analysis.retransmissions,
            not_ip_packets: s.net.not_ip,
            udp_not_sip: s.transport.udp_not_sip,
            keepalives: s.transport.keepalives,
            tcp_gaps: s.transport.tcp_gaps,
            tcp_bytes_skipped: s.transport.tcp_bytes_skipped,
            tcp_streams_evicted: s.transport.tcp_streams_evicted,
            tcp_bytes_dropped_by_cap: s.transport.tcp_bytes_dropped_by_cap,
            tcp_message_cap_hits: s.transport.tcp_message_cap_hits,
            tcp_total_cap_hits: s.transport.tcp_total_cap_hits,
            tcp_reorder_cap_hits: s.transport.tcp_reorder_cap_hits,
            websocket_frames: s.transport.websocket_frames,
            sctp_data_chunks: s.transport.sctp_data_chunks,
            ip_fragments_expired: s.net.fragments_expired,
            messages_without_call_id: s.analysis.without_call_id,
            dialogs_dropped: s.analysis.dialogs_dropped,
            undecoded_reasons: &s.net.undecoded_reasons,
            tls: TlsOut::new(&s.tls),
            copies_merged: s.analysis.copies_merged,
            server_events_dropped: s.analysis.server_events_dropped,
            origins_dropped: analysis.origins_dropped(),
            conferences_dropped: cs.conferences_dropped,
            conference_dialogs_dropped: cs.conference_dialogs_dropped,
            participants_dropped: cs.participants_dropped,
            devices_dropped: cs.devices_dropped,
            dial_outs_dropped: cs.dial_outs_dropped,
            roster_users_dropped: cs.roster_users_dropped,
            roster_endpoints_dropped: cs.roster_endpoints_dropped,
            roster_media_dropped: cs.roster_media_dropped,
            roster_entries_dropped: cs.roster_entries_dropped,
            attempts_dropped: cs.attempts_dropped,
            dialogs_dropped_table_full: s
                .analysis
                .dialogs_dropped
                .saturating_sub(s.analysis.dialogs_dropped_per_call_id),
            dialogs_dropped_per_call_id: s.analysis.dialogs_dropped_per_call_id,
            transactions_forgotten: s.analysis.transactions_forgotten,
            messages_not_listed: s.analysis.messages_not_listed,
            symbols_overflowed: analysis.symbols.overflowed,
            sctp_cap_hits: s.transport.sctp_cap_hits,
            websocket_cap_hits: s.transport.websocket_cap_hits,
            ip_datagrams_evicted: s.net.datagrams_evicted,
            dialogs_evicted: s.analysis.dialogs_evicted,
            dialogs_refused_memory: s.analysis.dialogs_refused_memory,
            messages_refused_memory: s.analysis.messages_refused_memory,
            memory_refused: s.analysis.dialogs_refused_memory + s.analysis.messages_refused_memory,
            memory_limit: analysis.limits().memory as u64,
            memory_used: analysis.memory_used() as u64,
            media_datagrams: analysis.conferences().media_stats().datagrams,
            media_candidates_dropped: analysis.conferences().media_stats().candidates_dropped,
            bounds_hit: s
                .bounds_hit
                .iter()
                .map(|h| BoundOut {
                    bound: h.bound.key(),
                    limit: h.limit,
                    count: h.count,
                })
                .collect(),
        }
    }
}

/// The dialogs, all or those selected: a run of the analysis' dialog list from `first`.
#[derive(Clone, Copy)]
struct Dialogs<'a> {
    list: &'a [crate::analysis::Dialog],
    first: usize,
    symbols: &'a crate::analysis::Symbols,
    selected: Option<&'a super::select::DialogSet>,
}

impl<'a> Dialogs<'a> {
    fn of(a: &'a Analysis, selected: Option<&'a super::select::DialogSet>) -> Self {
        Dialogs {
            list: a.dialogs(),
            first: 0,
            symbols: &a.symbols,
            selected,
        }
    }
}

/// The report's dialog list, written here or rendered ahead on another thread.
enum DialogsField<'a> {
    Here(Dialogs<'a>),
    Ahead(Box<serde_json::value::RawValue>),
}

impl Serialize for DialogsField<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            DialogsField::Here(d) => d.serialize(ser),
            DialogsField::Ahead(marker) => marker.serialize(ser),
        }
    }
}

impl Serialize for Dialogs<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(None)?;
        // Evicted dialogs (the byte budget) are counted in `stats.dialogs_evicted`, not listed.
        for (i, d) in self.list.iter().enumerate() {
            if d.evicted {
                continue;
            }
            if let Some(set) = self.selected {
                if !u32::try_from(self.first + i).is_ok_and(|i| set.contains(i)) {
                    continue;
                }
            }
            seq.serialize_element(&DialogOut {
                call_id: &d.call_id,
                kind: d.kind.as_str(),
                conference_id: d.conference_id.as_deref(),
                from: &d.from,
                to: &d.to,
                method: self.symbols.name(d.method),
                final_status: d.final_status,
                messages: d.messages,
                first_frame: d.first_frame,
                last_frame: d.last_frame,
                state: d.state.as_str(),
                retransmissions: d.retransmissions,
                first_time: super::Ts(d.first_time),
                last_time: super::Ts(d.last_time),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct DialogOut<'a> {
    call_id: &'a str,
    kind: &'static str,
    conference_id: Option<&'a str>,
    from: &'a str,
    to: &'a str,
    method: &'a str,
    final_status: Option<u16>,
    messages: u32,
    first_frame: u64,
    last_frame: u64,
    state: &'static str,
    retransmissions: u32,
    first_time: super::Ts,
    last_time: super::Ts,
}

/// The messages, all or those of the selected dialogs.
struct Messages<'a>(
    &'a Analysis,
    &'a [String],
    Option<&'a super::select::DialogSet>,
);

impl Serialize for Messages<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut seq = ser.serialize_seq(None)?;
        for (index, m) in a.messages().iter().enumerate() {
            if let Some(set) = self.2 {
                if !m.dialog().is_some_and(|d| set.contains(d)) {
                    continue;
                }
            }
            seq.serialize_element(&MessageOut {
                a,
                m,
                index,
                sources: self.1,
            })?;
        }
        seq.end()
    }
}

struct MessageOut<'a> {
    a: &'a Analysis,
    m: &'a crate::analysis::MessageRecord,
    index: usize,
    sources: &'a [String],
}

impl Serialize for MessageOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let (a, m) = (self.a, self.m);
        let dialog = m
            .dialog()
            .and_then(|d| a.dialogs().get(d as usize))
            .filter(|d| !d.evicted);
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("frame", &m.frame())?;
        map.serialize_entry("time", &super::Ts(m.time()))?;
        let flow = a.flow(m.flow());
        map.serialize_entry("src", &flow.src.to_string())?;
        map.serialize_entry("dst", &flow.dst.to_string())?;
        map.serialize_entry("transport", flow.transport.as_str())?;
        match m.start() {
            StartKind::Request(method) => {
                map.serialize_entry("method", a.symbols.name(method))?;
                map.serialize_entry("status", &None::<u16>)?;
            }
            StartKind::Response(status) => {
                map.serialize_entry("method", &None::<&str>)?;
                map.serialize_entry("status", &status)?;
            }
        }
        map.serialize_entry("call_id", &dialog.map(|d| &*d.call_id))?;
        map.serialize_entry("cseq", &m.cseq_text(a))?;
        map.serialize_entry("content_type", &m.content_type().map(|c| a.symbols.name(c)))?;
        map.serialize_entry("dialog_kind", &dialog.map(|d| d.kind.as_str()))?;
        map.serialize_entry("retransmission", &m.retransmission())?;
        map.serialize_entry("size", &m.size(a))?;
        map.serialize_entry("icmp_quoted", &m.icmp_quoted())?;
        map.serialize_entry("first_frame", &m.first_frame(a))?;
        let origins: Vec<OriginOut<'_>> = a
            .origins(self.index)
            .into_iter()
            .map(|(o, frame)| origin_out(o, frame, self.sources))
            .collect();
        map.serialize_entry("origin", &origins)?;
        map.end()
    }
}
