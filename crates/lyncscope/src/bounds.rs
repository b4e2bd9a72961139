//! Every bound of the pipeline that can leave something out, as one list the views show.
//!
//! Each layer counts what its bounds drop in its own counters; [`hits`] gathers the counters
//! that are not zero into [`BoundHit`]s, so that every report (JSON `stats.bounds_hit`, the
//! text report's Problems line, the UI's status line) names every bound hit the same way. The
//! words are the views' (`report::reason::bound`); here a bound is a type, its value and count.

use crate::analysis::{Analysis, AnalysisStats, ConferenceStats, Limits};
use crate::net::NetStats;
use crate::sip::body::conference_info;
use crate::transport::{tcp, TransportStats};

/// A bound that left something out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Bound {
    /// Conferences tracked ([`Limits::conferences`]); the count is of conferences not tracked.
    Conferences,
    /// Participants per conference (10,000).
    Participants,
    /// Devices (`epid`s) per user per conference (8); more are folded into the first.
    Devices,
    /// Dial-out requests remembered per conference (64).
    DialOuts,
    /// Users in one roster document or one conference's roster (10,000).
    RosterUsers,
    /// Endpoints per roster user (64).
    RosterEndpoints,
    /// Media per roster endpoint (32).
    RosterMedia,
    /// Conference URI entries (64) and roles per user (16) of a roster.
    RosterEntries,
    /// Attempts remembered per participant's media or MCU step (16).
    Attempts,
    /// Dialogs tracked ([`Limits::dialogs`]).
    Dialogs,
    /// Dialogs under one Call-ID (64).
    DialogsPerCallId,
    /// Transactions remembered per dialog for retransmission detection (64).
    Transactions,
    /// Messages listed ([`Limits::messages`]).
    Messages,
    /// Distinct methods and content types interned (4,096).
    Symbols,
    /// Server diagnostic records kept from logs (100,000).
    ServerEvents,
    /// Extra origins of merged copies kept (1,048,576).
    Origins,
    /// TCP connection table (65,536 connections).
    TcpConnections,
    /// Bytes one TCP direction holds for an unfinished message (4 MiB).
    TcpMessage,
    /// Bytes all TCP connections hold together (256 MiB).
    TcpTotal,
    /// Segments (512) or bytes (1 MiB) one TCP direction holds out of order.
    TcpReorder,
    /// SCTP fragmented message (4 MiB) and streams reassembling at once (4,096).
    SctpMessage,
    /// WebSocket fragmented message (4 MiB).
    WebSocketMessage,
    /// IP fragment pool (4,096 datagrams, 64 MiB, 30 s).
    IpFragments,
    /// Media candidate addresses followed: 32 per SDP side, 8 A/V steps per address,
    /// 1,000,000 addresses; packets to a candidate left out are not counted.
    MediaCandidates,
    /// The analysis' byte budget ([`Limits::memory`]): finished dialogs evicted.
    MemoryEvicted,
    /// The analysis' byte budget: new dialogs and message rows refused when nothing was left
    /// to evict.
    MemoryRefused,
}

impl Bound {
    /// True when the bound's value is in bytes (else it counts items).
    pub fn in_bytes(self) -> bool {
        matches!(
            self,
            Bound::MemoryEvicted
                | Bound::MemoryRefused
                | Bound::TcpMessage
                | Bound::TcpTotal
                | Bound::SctpMessage
                | Bound::WebSocketMessage
        )
    }

    /// The name of the bound's counter in the JSON report's `stats`.
    pub fn key(self) -> &'static str {
        match self {
            Bound::Conferences => "conferences_dropped",
            Bound::Participants => "participants_dropped",
            Bound::Devices => "devices_dropped",
            Bound::DialOuts => "dial_outs_dropped",
            Bound::RosterUsers => "roster_users_dropped",
            Bound::RosterEndpoints => "roster_endpoints_dropped",
            Bound::RosterMedia => "roster_media_dropped",
            Bound::RosterEntries => "roster_entries_dropped",
            Bound::Attempts => "attempts_dropped",
            Bound::Dialogs => "dialogs_dropped_table_full",
            Bound::DialogsPerCallId => "dialogs_dropped_per_call_id",
            Bound::Transactions => "transactions_forgotten",
            Bound::Messages => "messages_not_listed",
            Bound::Symbols => "symbols_overflowed",
            Bound::ServerEvents => "server_events_dropped",
            Bound::Origins => "origins_dropped",
            Bound::TcpConnections => "tcp_streams_evicted",
            Bound::TcpMessage => "tcp_message_cap_hits",
            Bound::TcpTotal => "tcp_total_cap_hits",
            Bound::TcpReorder => "tcp_reorder_cap_hits",
            Bound::SctpMessage => "sctp_cap_hits",
            Bound::WebSocketMessage => "websocket_cap_hits",
            Bound::IpFragments => "ip_datagrams_evicted",
            Bound::MediaCandidates => "media_candidates_dropped",
            Bound::MemoryEvicted => "dialogs_evicted",
            Bound::MemoryRefused => "memory_refused",
        }
    }
}

/// A bound that was hit: which, its value in force, and how many items it left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundHit {
    /// The bound.
    pub bound: Bound,
    /// Its value (items, or bytes for the byte bounds).
    pub limit: u64,
    /// What it left out (see each counter's documentation).
    pub count: u64,
}

/// The counters every bound is read from.
pub struct Counters<'a> {
    /// Link and IP layer counters.
    pub net: &'a NetStats,
    /// Transport layer counters.
    pub transport: &'a TransportStats,
    /// Analysis counters.
    pub analysis: &'a AnalysisStats,
    /// Conference analysis counters.
    pub conferences: &'a ConferenceStats,
    /// Strings the symbol table could not intern.
    pub symbols_overflowed: u64,
    /// Extra origins of merged copies not kept.
    pub origins_dropped: u64,
    /// Media candidate addresses not followed.
    pub media_candidates_dropped: u64,
    /// The analysis' bounds in force.
    pub limits: Limits,
}

impl<'a> Counters<'a> {
    /// The counters of an analysis, with those of the layers before it.
    pub fn new(net: &'a NetStats, transport: &'a TransportStats, analysis: &'a Analysis) -> Self {
        Counters {
            net,
            transport,
            analysis: analysis.stats(),
            conferences: &analysis.conferences().stats,
            symbols_overflowed: analysis.symbols.overflowed,
            origins_dropped: analysis.origins_dropped(),
            media_candidates_dropped: analysis.conferences().media_stats().candidates_dropped,
            limits: analysis.limits(),
        }
    }
}

/// Every bound that was hit, the most serious first (what the analysis left out, then what a
/// layer gave up, then memory of the past that was forgotten).
pub fn hits(c: &Counters<'_>) -> Vec<BoundHit> {
    let (a, cs, t, n, l) = (c.analysis, c.conferences, c.transport, c.net, c.limits);
    let usize64 = |v: usize| v as u64;
    let all = [
        (
            Bound::MemoryRefused,
            usize64(l.memory),
            a.dialogs_refused_memory + a.messages_refused_memory,
        ),
        (Bound::MemoryEvicted, usize64(l.memory), a.dialogs_evicted),
        (
            Bound::Conferences,
            usize64(l.conferences),
            cs.conferences_dropped,
        ),
        (
            Bound::Participants,
            usize64(crate::analysis::MAX_PARTICIPANTS),
            cs.participants_dropped,
        ),
        (
            Bound::Devices,
            usize64(crate::analysis::MAX_DEVICES),
            cs.devices_dropped,
        ),
        (
            Bound::DialOuts,
            usize64(crate::analysis::MAX_DIAL_OUTS),
            cs.dial_outs_dropped,
        ),
        (
            Bound::Dialogs,
            usize64(l.dialogs),
            a.dialogs_dropped
                .saturating_sub(a.dialogs_dropped_per_call_id),
        ),
        (
            Bound::DialogsPerCallId,
            usize64(crate::analysis::MAX_DIALOGS_PER_CALL_ID),
            a.dialogs_dropped_per_call_id,
        ),
        (Bound::Messages, usize64(l.messages), a.messages_not_listed),
        (
            Bound::RosterUsers,
            usize64(conference_info::MAX_USERS),
            cs.roster_users_dropped,
        ),
        (
            Bound::RosterEndpoints,
            usize64(conference_info::MAX_ENDPOINTS),
            cs.roster_endpoints_dropped,
        ),
        (
            Bound::RosterMedia,
            usize64(conference_info::MAX_MEDIA),
            cs.roster_media_dropped,
        ),
        (
            Bound::RosterEntries,
            usize64(conference_info::MAX_CONF_URIS),
            cs.roster_entries_dropped,
        ),
        (
            Bound::Attempts,
            usize64(crate::analysis::MAX_ATTEMPTS),
            cs.attempts_dropped,
        ),
        (
            Bound::ServerEvents,
            usize64(crate::logs::MAX_SERVER_EVENTS),
            a.server_events_dropped,
        ),
        (
            Bound::Origins,
            usize64(crate::analysis::copies::MAX_EXTRA_ORIGINS),
            c.origins_dropped,
        ),
        (
            Bound::TcpTotal,
            usize64(tcp::MAX_TOTAL_BUFFERED),
            t.tcp_total_cap_hits,
        ),
        (
            Bound::TcpMessage,
            usize64(tcp::MAX_PENDING),
            t.tcp_message_cap_hits,
        ),
        (
            Bound::TcpReorder,
            usize64(tcp::MAX_OOO_SEGMENTS),
            t.tcp_reorder_cap_hits,
        ),
        (
            Bound::TcpConnections,
            usize64(tcp::MAX_CONNECTIONS),
            t.tcp_streams_evicted,
        ),
        (
            Bound::SctpMessage,
            usize64(crate::transport::sctp::MAX_MESSAGE),
            t.sctp_cap_hits,
        ),
        (
            Bound::WebSocketMessage,
            usize64(tcp::MAX_WS_MESSAGE),
            t.websocket_cap_hits,
        ),
        (
            Bound::IpFragments,
            usize64(crate::net::DefragConfig::default().max_datagrams),
            n.datagrams_evicted,
        ),
        (
            Bound::MediaCandidates,
            usize64(crate::analysis::media::MAX_CANDIDATES),
            c.media_candidates_dropped,
        ),
        (
            Bound::Symbols,
            usize64(crate::analysis::symbols::MAX_SYMBOLS),
            c.symbols_overflowed,
        ),
        (
            Bound::Transactions,
            usize64(crate::analysis::dialog::MAX_SEEN),
            a.transactions_forgotten,
        ),
    ];
    all.into_iter()
        .filter(|&(_, _, count)| count > 0)
        .map(|(bound, limit, count)| BoundHit {
            bound,
            limit,
            count,
        })
        .collect()
}
