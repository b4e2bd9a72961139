//! Capture sources: where frames come from.
//!
//! A source yields [`Frame`]s: the captured bytes of one packet with its link type and time.
//! Offline files are read in pure Rust (classic pcap in both byte orders and both timestamp
//! resolutions, pcapng with several sections and interfaces, gzip-compressed files, standard
//! input), so no system library is needed for the main job.
//!
//! Live capture ([`live`], cargo feature `live`) uses libpcap through the `pcap` crate: one
//! thread per interface hands batches of frames to the caller. [`sip_writer`] writes the
//! packets that carried SIP (`-w`).

mod file;
#[cfg(feature = "live")]
pub mod live;
pub mod sip_writer;
pub mod writer;

pub use file::{CaptureError, CaptureFiles};

/// Counters of a live capture, for the reports (defined in every build so that the reports
/// need no feature).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub interfaces: Vec<InterfaceStats>,
    /// The capture filter (`-f`), if any.
    pub filter: Option<String>,
}

impl LiveStats {
    /// Packets the kernel dropped (buffer full) plus those the interfaces dropped.
    pub fn dropped(&self) -> u64 {
        self.interfaces
            .iter()
            .map(|i| i.dropped + i.if_dropped)
            .sum()
    }
}

/// One interface of a live capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    pub name: String,
    /// `LINKTYPE_*` of its frames.
    pub link_type: u32,
    /// Frames handed to the pipeline.
    pub frames: u64,
    /// libpcap `ps_recv`: packets that passed the filter (including those dropped later).
    pub received: u64,
    /// libpcap `ps_drop`: packets dropped because the kernel buffer was full.
    pub dropped: u64,
    /// libpcap `ps_ifdrop`: packets dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// What `-w` wrote, for the reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    pub path: String,
    pub stats: sip_writer::SipWriterStats,
}

use std::fmt;

/// Nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(nanos as i64),
        )
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// Milliseconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0) / 1_000_000
    }

    /// RFC 3339, UTC, with microseconds: `2026-01-01T10:00:00.000000Z`.
    pub fn rfc3339(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.secs();
        let micros = self.subsec_nanos() / 1000;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            y,
            m,
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            micros
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Link-layer header types (the `LINKTYPE_*` registry used by pcap and pcapng).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
    /// Some old files use the DLT value 12 (or 14 on some BSDs) for raw IP.
    pub const RAW_DLT12: u32 = 12;
    pub const RAW_DLT14: u32 = 14;

    /// A person's name for a link type, as Wireshark shows it.
    pub fn name(link_type: u32) -> &'static str {
        match link_type {
            NULL => "BSD loopback (NULL)",
            ETHERNET => "Ethernet",
            RAW | RAW_DLT12 | RAW_DLT14 => "Raw IP",
            IPV4 => "Raw IPv4",
            IPV6 => "Raw IPv6",
            LOOP => "OpenBSD loopback",
            LINUX_SLL => "Linux cooked capture v1 (SLL)",
            LINUX_SLL2 => "Linux cooked capture v2 (SLL2)",
            9 | 50 => "PPP",
            104 => "Cisco HDLC",
            239 => "Linux netfilter log (NFLOG)",
            _ => "other link type",
        }
    }
}

/// One captured packet.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based, counted across every input of the run in order (as Wireshark numbers frames).
    pub number: u64,
    pub timestamp: Timestamp,
    /// `LINKTYPE_*` value of the interface the packet was captured on.
    pub link_type: u32,
    /// The captured bytes (may be shorter than `original_len` when a snapshot length cut it).
    pub data: &'a [u8],
    pub original_len: u32,
    /// Index of the input (file) this frame came from.
    pub source: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_with_micros() {
        let t = Timestamp::from_secs_nanos(1_709_629_200, 123_456_789);
        assert_eq!(t.rfc3339(), "2024-03-05T09:00:00.123456Z");
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        let before_epoch = Timestamp::from_secs_nanos(-1, 500_000_000);
        assert_eq!(before_epoch.rfc3339(), "1969-12-31T23:59:59.500000Z");
    }
}
