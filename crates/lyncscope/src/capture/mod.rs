//! Capture sources: where frames come from.
//!
//! A source yields [`Frame`]s: the captured bytes of one packet with its link type and time.
//! Offline files are read in pure Rust (classic pcap in both byte orders and both timestamp
//! resolutions, pcapng with several sections and interfaces, gzip-compressed files, standard
//! input), so no system library is needed for the main job.
//!
//! Live capture (module `live`, cargo feature `live`) uses libpcap through the `pcap` crate: one
//! thread per interface hands batches of frames to the caller. Writing packets back out is
//! [`crate::output`]'s job.

// Parsing layers: input bytes can be anything, so no indexing or unwrapping may panic on them.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

mod file;
#[cfg(feature = "live")]
pub mod live;

pub use file::{interrupt_reads, reads_interrupted, CaptureError, CaptureFiles};

/// Opens a file for reading, decompressing it when it starts like gzip (any input may be
/// gzip-compressed: captures and logs alike).
pub fn open_decompressed(path: &str) -> std::io::Result<Box<dyn std::io::Read + Send>> {
    use std::io::{BufRead, BufReader};
    let mut file = BufReader::new(std::fs::File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// The first bytes of a file (decompressed when gzip): what input detection looks at.
pub fn peek(path: &str, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(len);
    open_decompressed(path)?
        .take(len as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// What kind of problem ended (or skipped) an input that was otherwise read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// The file ends inside a record (a capture cut short, a compressed stream that stops).
    CutOff,
    /// A record is corrupt (an impossible length, a bad block); reading stopped there.
    Corrupt,
    /// Reading failed (an I/O error) after some frames.
    ReadError,
    /// pcapng packet blocks referred to interfaces the file never declared; they were skipped.
    SkippedBlocks,
    /// An input could not be read when its turn came (changed or removed since it was opened,
    /// or not a capture).
    Unreadable,
    /// A fault of lyncscope itself; reading of that input stopped.
    Internal,
}

/// A problem with one input that did not stop the run: typed for programs, one line for
/// people (`Display`, naming the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputWarning {
    /// What happened.
    pub kind: WarningKind,
    text: String,
}

impl InputWarning {
    pub(crate) fn new(kind: WarningKind, text: String) -> Self {
        InputWarning { kind, text }
    }
}

impl std::fmt::Display for InputWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Counters of a live capture, for the reports (defined in every build so that the reports
/// need no feature).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// One entry per interface captured on, in the order they were opened.
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
    /// The interface's name as libpcap knows it (`eth0`, `any`, …).
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

use crate::Timestamp;

/// One captured packet.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based, counted across every input of the run in order (as Wireshark numbers frames).
    pub number: u64,
    /// When the packet was captured, as the capture file or libpcap recorded it.
    pub timestamp: Timestamp,
    /// `LINKTYPE_*` value of the interface the packet was captured on.
    pub link_type: u32,
    /// The captured bytes (may be shorter than `original_len` when a snapshot length cut it).
    pub data: &'a [u8],
    /// The packet's length on the wire, in bytes.
    pub original_len: u32,
    /// Index of the input (file) this frame came from.
    pub source: u32,
}
