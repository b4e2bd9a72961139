//! Reading the records of one identified input.
//!
//! pcap-parser's streaming reader owns the buffer and the `Read` chain (`data` / `consume` /
//! `refill` / `grow`) and parses the file header, Section Header Blocks, Interface
//! Description Blocks and classic pcap records. Every record is first measured from its
//! length field and made whole in the buffer, so the parser only ever sees complete records:
//! "needs more bytes" then only happens at the end of the input (a cut-off file), and a
//! record's claimed length is checked against a hard bound before the buffer grows for it.
//!
//! pcapng packet blocks (EPB, SPB and the obsolete Packet Block) are decoded here from the
//! buffer instead: their fixed header is all that is needed, while pcap-parser would collect
//! their options into a `Vec`, an allocation per packet (and, on a hostile block of 64 MiB of
//! empty options, several hundred MiB).

use super::super::{InputWarning, WarningKind};
use std::sync::Arc;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::source::{be32, le32, Format, Identified, Progress, Source, MAX_SHB_LEN};
use crate::Timestamp;

/// Initial size of the read buffer: a full 256 KiB record plus its header needs one doubling,
/// smaller ones none.
const INITIAL_BUFFER: usize = 256 << 10;

/// Hard bound on a record (and so on the buffer): a record claiming more is corruption.
const MAX_RECORD: usize = 64 << 20;

/// Classic pcap records are capped like Wireshark does (262144 bytes for most link types),
/// unless the file's snapshot length is larger.
const PCAP_MAX_CAPLEN: u32 = 262_144;

/// An Interface Description Block larger than this is corruption (see [`MAX_SHB_LEN`]).
const MAX_IDB_LEN: usize = 1 << 20;

/// More interfaces than this in one section is corruption; it keeps the interface table (and
/// memory) bounded whatever the file size.
const MAX_INTERFACES: usize = 1 << 16;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// Decryption Secrets Block (pcapng 4.7).
const DSB: u32 = 0x0000_000a;
/// The DSB secrets type of a TLS key log (`TLSK`).
const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;
/// Most key log bytes taken from the DSBs of one run (a key log line is ~180 bytes: over
/// 300,000 sessions); beyond, they are counted.
pub(crate) const MAX_SECRETS: usize = 64 * 1024 * 1024;

/// A packet found in the buffer; `start..start + len` indexes [`OpenCapture::buffered`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Packet {
    pub start: usize,
    pub len: usize,
    /// `None` for a Simple Packet Block, which carries no time.
    pub timestamp: Option<Timestamp>,
    pub link_type: u32,
    pub original_len: u32,
}

/// What [`OpenCapture::advance`] found.
pub(super) enum Step {
    Packet(Packet),
    /// The input is finished; with a warning (already naming the input) if it ended badly.
    End(Option<InputWarning>),
}

/// One input being read.
pub(super) struct OpenCapture {
    /// The input as named in messages.
    name: String,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// pcap-parser cannot tell its buffer size, and it must be known to grow it in time.
    capacity: usize,
    progress: Arc<Progress>,
    compressed: bool,
    /// Length of the record last returned, consumed on the next call (the frame borrowed it).
    pending: usize,
    frames: u64,
    /// Packet blocks naming an interface that was not described; reported once at the end.
    unknown_interface: u64,
    layout: Layout,
    /// TLS key log text found in Decryption Secrets Blocks, not taken yet.
    secrets: Vec<u8>,
    /// Secrets bytes (TLS key log beyond the bound, or other secrets types) not used.
    pub(super) secrets_dropped: u64,
}

enum Layout {
    Pcap(PcapLayout),
    PcapNg(Section),
}

struct PcapLayout {
    /// pcap-parser returns the file header as the first "block"; records follow.
    header_read: bool,
    big_endian: bool,
    nanosecond: bool,
    /// 16, or 24 for the "modified" format.
    record_header: usize,
    max_caplen: u32,
    link_type: u32,
}

/// The state of the current pcapng section.
struct Section {
    big_endian: bool,
    interfaces: Vec<Interface>,
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    resolution: Resolution,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_secs: i64,
}

/// `if_tsresol`: the unit of the interface's timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolution {
    /// 10^-n seconds.
    Decimal(u8),
    /// 2^-n seconds.
    Binary(u8),
}

impl Resolution {
    fn from_option(byte: u8) -> Self {
        if byte & 0x80 == 0 {
            Resolution::Decimal(byte)
        } else {
            Resolution::Binary(byte & 0x7f)
        }
    }

    /// Nanoseconds in `units` ticks (truncated), as a wide integer so no input overflows it.
    fn to_nanos(self, units: u64) -> i128 {
        let units = units as i128;
        match self {
            Resolution::Decimal(n) if n <= 9 => units * 10i128.pow(9 - n as u32),
            Resolution::Decimal(n) => 10i128.checked_pow(n as u32 - 9).map_or(0, |d| units / d),
            Resolution::Binary(n) => (units * 1_000_000_000) >> n,
        }
    }
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = (u64::from(high) << 32) | u64::from(low);
        let nanos = self.resolution.to_nanos(units) + i128::from(self.offset_secs) * 1_000_000_000;
        Timestamp(nanos.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
    }
}

/// The size of the record at the head of the buffer, as far as it can be told.
enum Measure {
    /// At least this many bytes are needed to tell.
    Need(usize),
    /// A record of this many bytes, with its (section-native) block type for pcapng.
    Record {
        len: usize,
        block_type: u32,
    },
    Corrupt(String),
}

/// What the record at the head of the buffer turned out to be.
enum Decoded {
    Packet(Packet),
    Skip,
    Corrupt(String),
}

impl OpenCapture {
    /// TLS key log text from the Decryption Secrets Blocks read since the last call.
    pub(super) fn take_secrets(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.secrets)
    }

    /// Builds the pcap-parser reader over an identified input.
    pub fn new(
        name: String,
        input: Identified,
        progress: Arc<Progress>,
    ) -> Result<OpenCapture, String> {
        let source = Source::new(input.reader, Arc::clone(&progress));
        let (reader, capacity, layout): (Box<dyn PcapReaderIterator + Send>, _, _) =
            match input.format {
                Format::Pcap => {
                    let reader = LegacyPcapReader::new(INITIAL_BUFFER, source)
                        .map_err(|e| format!("{name}: cannot read the pcap file header ({e:?})"))?;
                    let layout = Layout::Pcap(PcapLayout {
                        header_read: false,
                        big_endian: false,
                        nanosecond: false,
                        record_header: 16,
                        max_caplen: PCAP_MAX_CAPLEN,
                        link_type: 0,
                    });
                    (Box::new(reader), INITIAL_BUFFER, layout)
                }
                Format::PcapNg { shb_len } => {
                    // The whole first Section Header Block must come in the first read.
                    let capacity = INITIAL_BUFFER.max(shb_len.next_power_of_two());
                    let reader = PcapNGReader::new(capacity, source).map_err(|e| {
                        format!("{name}: cannot read the pcapng section header ({e:?})")
                    })?;
                    let layout = Layout::PcapNg(Section {
                        big_endian: false,
                        interfaces: Vec::new(),
                    });
                    (Box::new(reader), capacity, layout)
                }
            };
        Ok(OpenCapture {
            name,
            reader,
            capacity,
            progress,
            compressed: input.compressed,
            pending: 0,
            frames: 0,
            unknown_interface: 0,
            layout,
            secrets: Vec::new(),
            secrets_dropped: 0,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The buffered bytes, which [`Packet::start`] indexes.
    pub fn buffered(&self) -> &[u8] {
        self.reader.data()
    }

    /// Moves to the next packet of this input.
    pub fn advance(&mut self) -> Step {
        if self.pending > 0 {
            self.reader.consume(self.pending);
            self.pending = 0;
        }
        if let Layout::Pcap(pcap) = &mut self.layout {
            if !pcap.header_read {
                if let Err(what) = read_pcap_header(&mut *self.reader, pcap) {
                    return self.corrupt(&what);
                }
            }
        }
        loop {
            let available = self.reader.data().len();
            let need = match self.measure() {
                Measure::Corrupt(what) => return self.corrupt(&what),
                Measure::Need(n) => n,
                Measure::Record { len, .. } if len > available => len,
                Measure::Record { len, block_type } => match self.decode(len, block_type) {
                    Decoded::Packet(packet) => {
                        self.pending = len;
                        self.frames += 1;
                        return Step::Packet(packet);
                    }
                    Decoded::Skip => {
                        self.reader.consume(len);
                        continue;
                    }
                    Decoded::Corrupt(what) => return self.corrupt(&what),
                },
            };
            if let Err(end) = self.fill(need) {
                return end;
            }
        }
    }

    /// Reads more so that `need` bytes are buffered, growing the buffer if it is too small.
    /// Fails with the end of the input: clean between records, a warning inside one.
    fn fill(&mut self, need: usize) -> Result<(), Step> {
        if need > self.capacity {
            let size = need
                .next_power_of_two()
                .max(self.capacity.saturating_mul(2))
                .min(MAX_RECORD);
            if self.reader.grow(size) {
                self.capacity = size;
            }
            if need > self.capacity {
                // Unreachable as records are measured against MAX_RECORD first, but looping
                // on a buffer that cannot hold the record must not be possible.
                return Err(self.corrupt(&format!("record of {need} bytes")));
            }
        }
        if self.reader.reader_exhausted() {
            return Err(if self.reader.data().is_empty() {
                self.end(None)
            } else {
                self.cut_off("")
            });
        }
        if self.reader.refill().is_err() {
            return Err(match self.progress.last_error() {
                // A compressed stream that stops early is a cut-off file too.
                Some((std::io::ErrorKind::UnexpectedEof, message)) => {
                    self.cut_off(&format!("; the compressed data ends early: {message}"))
                }
                error => {
                    let message = error.map_or_else(|| "unknown error".to_string(), |(_, m)| m);
                    let warning = format!(
                        "{}: read error after {} frames (byte offset {}{}): {message}; \
                         stopped reading this file",
                        self.name,
                        self.frames,
                        self.reader.consumed(),
                        self.offset_note()
                    );
                    self.end(Some(InputWarning::new(WarningKind::ReadError, warning)))
                }
            });
        }
        Ok(())
    }

    /// Measures the record at the head of the buffer from its length field.
    fn measure(&self) -> Measure {
        let head = self.reader.data();
        match &self.layout {
            Layout::Pcap(pcap) => {
                let header = pcap.record_header;
                let Some(caplen) = read32(head, 8, pcap.big_endian) else {
                    return Measure::Need(header);
                };
                if caplen > pcap.max_caplen {
                    return Measure::Corrupt(format!(
                        "record header (claims {caplen} captured bytes, more than the maximum \
                         of {})",
                        pcap.max_caplen
                    ));
                }
                Measure::Record {
                    len: header + caplen as usize,
                    block_type: 0,
                }
            }
            Layout::PcapNg(section) => {
                let Some(raw_type) = le32(head, 0) else {
                    return Measure::Need(8);
                };
                // A Section Header Block announces its own byte order.
                let big_endian = if raw_type == SHB {
                    match be32(head, 8) {
                        None => return Measure::Need(12),
                        Some(0x1a2b_3c4d) => true,
                        Some(0x4d3c_2b1a) => false,
                        Some(bom) => {
                            return Measure::Corrupt(format!(
                                "pcapng section header with an unknown byte-order magic \
                                 0x{bom:08x}"
                            ))
                        }
                    }
                } else {
                    section.big_endian
                };
                let (Some(block_type), Some(len)) =
                    (read32(head, 0, big_endian), read32(head, 4, big_endian))
                else {
                    return Measure::Need(8);
                };
                let len = len as usize;
                let max = match block_type {
                    SHB => MAX_SHB_LEN,
                    IDB => MAX_IDB_LEN,
                    _ => MAX_RECORD,
                };
                if len < 12 || !len.is_multiple_of(4) || len > max {
                    return Measure::Corrupt(format!(
                        "block header (type 0x{block_type:08x}, length {len})"
                    ));
                }
                Measure::Record { len, block_type }
            }
        }
    }

    /// Decodes the complete record of `len` bytes at the head of the buffer.
    fn decode(&mut self, len: usize, block_type: u32) -> Decoded {
        match &mut self.layout {
            Layout::Pcap(pcap) => decode_pcap_record(&mut *self.reader, pcap, len),
            Layout::PcapNg(section) => {
                let Some(block) = self.reader.data().get(..len) else {
                    return Decoded::Corrupt("block (not buffered)".to_string());
                };
                let be = if block_type == SHB {
                    be32(block, 8) == Some(0x1a2b_3c4d)
                } else {
                    section.big_endian
                };
                if read32(block, len.saturating_sub(4), be) != Some(len as u32) {
                    return Decoded::Corrupt(format!(
                        "block (type 0x{block_type:08x}: its two length fields disagree)"
                    ));
                }
                match block_type {
                    EPB | PB => {
                        decode_packet_block(block, block_type, section, &mut self.unknown_interface)
                    }
                    SPB => decode_simple_packet_block(block, section, &mut self.unknown_interface),
                    DSB => {
                        let be = section.big_endian;
                        match (read32(block, 8, be), read32(block, 12, be)) {
                            (Some(kind), Some(n)) => {
                                let data = block.get(16..16 + n as usize).unwrap_or_default();
                                if kind == SECRETS_TLS_KEYLOG
                                    && self.secrets.len() + data.len() <= MAX_SECRETS
                                {
                                    self.secrets.extend_from_slice(data);
                                    if !data.ends_with(b"\n") {
                                        self.secrets.push(b'\n');
                                    }
                                } else {
                                    self.secrets_dropped += data.len() as u64;
                                }
                                Decoded::Skip
                            }
                            _ => Decoded::Corrupt("decryption secrets block".to_string()),
                        }
                    }
                    SHB | IDB => decode_with_parser(&mut *self.reader, section, len),
                    // Statistics, name resolution, secrets, custom blocks: not needed here.
                    _ => Decoded::Skip,
                }
            }
        }
    }

    /// Ends the input that stops inside the record at the head of the buffer.
    fn cut_off(&mut self, detail: &str) -> Step {
        let warning = format!(
            "{}: capture cut off inside a record after {} frames (byte offset {}{}{detail}); \
             frames up to the cut were read",
            self.name,
            self.frames,
            self.reader.consumed(),
            self.offset_note()
        );
        self.end(Some(InputWarning::new(WarningKind::CutOff, warning)))
    }

    /// Ends the input with a warning about a corrupt record at the head of the buffer.
    fn corrupt(&mut self, what: &str) -> Step {
        let warning = format!(
            "{}: corrupt {what} at byte offset {}{}; stopped reading this file after {} frames",
            self.name,
            self.reader.consumed(),
            self.offset_note(),
            self.frames
        );
        self.end(Some(InputWarning::new(WarningKind::Corrupt, warning)))
    }

    /// The end of this input, folding in the count of skipped blocks.
    fn end(&mut self, warning: Option<InputWarning>) -> Step {
        if self.unknown_interface == 0 {
            return Step::End(warning);
        }
        let skipped = format!(
            "{}: skipped {} packet blocks that refer to an undeclared interface",
            self.name, self.unknown_interface
        );
        self.unknown_interface = 0;
        Step::End(Some(match warning {
            Some(w) => InputWarning::new(w.kind, format!("{w}; {skipped}")),
            None => InputWarning::new(WarningKind::SkippedBlocks, skipped),
        }))
    }

    fn offset_note(&self) -> &'static str {
        if self.compressed {
            " in the decompressed data"
        } else {
            ""
        }
    }
}

/// Takes the classic pcap file header from pcap-parser (it returns it as the first block).
fn read_pcap_header(
    reader: &mut dyn PcapReaderIterator,
    pcap: &mut PcapLayout,
) -> Result<(), String> {
    let len = match reader.next() {
        Ok((len, PcapBlockOwned::LegacyHeader(header))) => {
            pcap.big_endian = header.is_bigendian();
            pcap.nanosecond = header.is_nanosecond_precision();
            if header.is_modified_format() {
                pcap.record_header = 24;
            }
            // The upper bits hold FCS information, not the link type (as libpcap's LT_LINKTYPE).
            pcap.link_type = (header.network.0 as u32) & 0xffff;
            pcap.max_caplen = header
                .snaplen
                .clamp(PCAP_MAX_CAPLEN, (MAX_RECORD - 24) as u32);
            len
        }
        Ok(_) => return Err("file header".to_string()),
        Err(e) => return Err(format!("file header ({})", describe(&e))),
    };
    reader.consume(len);
    pcap.header_read = true;
    Ok(())
}

fn decode_pcap_record(
    reader: &mut dyn PcapReaderIterator,
    pcap: &PcapLayout,
    len: usize,
) -> Decoded {
    match reader.next() {
        Ok((parsed, PcapBlockOwned::Legacy(record))) if parsed == len => {
            // The packet bytes end the record; their position is what the frame needs.
            let Some(start) = len.checked_sub(record.data.len()) else {
                return Decoded::Corrupt("record".to_string());
            };
            let fraction = i64::from(record.ts_usec) * if pcap.nanosecond { 1 } else { 1000 };
            let nanos = i64::from(record.ts_sec) * 1_000_000_000 + fraction;
            Decoded::Packet(Packet {
                start,
                len: record.data.len(),
                timestamp: Some(Timestamp(nanos)),
                link_type: pcap.link_type,
                original_len: record.origlen,
            })
        }
        Ok(_) => Decoded::Corrupt("record".to_string()),
        Err(e) => Decoded::Corrupt(format!("record ({})", describe(&e))),
    }
}

/// Section and Interface Description Blocks, through pcap-parser (which also follows the
/// section's byte order for the blocks after it).
fn decode_with_parser(
    reader: &mut dyn PcapReaderIterator,
    section: &mut Section,
    len: usize,
) -> Decoded {
    match reader.next() {
        Ok((parsed, PcapBlockOwned::NG(Block::SectionHeader(shb)))) if parsed == len => {
            section.big_endian = shb.big_endian();
            section.interfaces.clear();
            Decoded::Skip
        }
        Ok((_, PcapBlockOwned::NG(Block::InterfaceDescription(_))))
            if section.interfaces.len() >= MAX_INTERFACES =>
        {
            Decoded::Corrupt(format!(
                "interface description (more than {MAX_INTERFACES} in a section)"
            ))
        }
        Ok((parsed, PcapBlockOwned::NG(Block::InterfaceDescription(idb)))) if parsed == len => {
            let mut resolution = Resolution::Decimal(6);
            let mut offset_secs = 0;
            let mut seen_resolution = false;
            let mut seen_offset = false;
            for option in &idb.options {
                let value = option
                    .value()
                    .get(..usize::from(option.len))
                    .unwrap_or_default();
                match (option.code.0, value) {
                    (9, [byte, ..]) if !seen_resolution => {
                        resolution = Resolution::from_option(*byte);
                        seen_resolution = true;
                    }
                    // pcap-parser's own if_tsoffset ignores the section's byte order.
                    (14, &[a, b, c, d, e, f, g, h]) if !seen_offset => {
                        let bytes = [a, b, c, d, e, f, g, h];
                        offset_secs = if section.big_endian {
                            i64::from_be_bytes(bytes)
                        } else {
                            i64::from_le_bytes(bytes)
                        };
                        seen_offset = true;
                    }
                    _ => {}
                }
            }
            section.interfaces.push(Interface {
                link_type: idb.linktype.0 as u32,
                snaplen: idb.snaplen,
                resolution,
                offset_secs,
            });
            Decoded::Skip
        }
        Ok(_) => Decoded::Corrupt("block".to_string()),
        Err(e) => Decoded::Corrupt(format!("block ({})", describe(&e))),
    }
}

/// An Enhanced Packet Block, or the obsolete Packet Block (same layout but a 16-bit interface
/// id followed by a drop count).
fn decode_packet_block(
    block: &[u8],
    block_type: u32,
    section: &Section,
    unknown_interface: &mut u64,
) -> Decoded {
    let be = section.big_endian;
    if block.len() < 32 {
        return Decoded::Corrupt("packet block (too short)".to_string());
    }
    let fields = (
        if block_type == PB {
            read16(block, 8, be).map(u32::from)
        } else {
            read32(block, 8, be)
        },
        read32(block, 12, be),
        read32(block, 16, be),
        read32(block, 20, be),
        read32(block, 24, be),
    );
    let (Some(interface), Some(high), Some(low), Some(caplen), Some(original_len)) = fields else {
        return Decoded::Corrupt("packet block (too short)".to_string());
    };
    let caplen = caplen as usize;
    // Data starts at 28 and the trailing length takes the last 4 bytes.
    if caplen > block.len().saturating_sub(32) {
        return Decoded::Corrupt(format!(
            "packet block (claims {caplen} captured bytes in a block of {})",
            block.len()
        ));
    }
    let Some(interface) = section.interfaces.get(interface as usize) else {
        *unknown_interface += 1;
        return Decoded::Skip;
    };
    Decoded::Packet(Packet {
        start: 28,
        len: caplen,
        timestamp: Some(interface.timestamp(high, low)),
        link_type: interface.link_type,
        original_len,
    })
}

/// A Simple Packet Block: interface 0, no timestamp, captured length implied.
fn decode_simple_packet_block(
    block: &[u8],
    section: &Section,
    unknown_interface: &mut u64,
) -> Decoded {
    let (true, Some(original_len)) = (block.len() >= 16, read32(block, 8, section.big_endian))
    else {
        return Decoded::Corrupt("simple packet block (too short)".to_string());
    };
    let Some(interface) = section.interfaces.first() else {
        *unknown_interface += 1;
        return Decoded::Skip;
    };
    let mut len = block.len().saturating_sub(16).min(original_len as usize);
    if interface.snaplen != 0 {
        len = len.min(interface.snaplen as usize);
    }
    Decoded::Packet(Packet {
        start: 12,
        len,
        timestamp: None,
        link_type: interface.link_type,
        original_len,
    })
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("parser: {}", kind.description())
        }
        other => format!("{other:?}"),
    }
}

fn read32(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    if big_endian {
        be32(b, at)
    } else {
        le32(b, at)
    }
}

fn read16(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interface(resolution: u8, offset_secs: i64) -> Interface {
        Interface {
            link_type: 1,
            snaplen: 0,
            resolution: Resolution::from_option(resolution),
            offset_secs,
        }
    }

    #[test]
    fn timestamps_follow_if_tsresol_and_if_tsoffset() {
        let ts = |resolution, offset, units: u64| {
            interface(resolution, offset)
                .timestamp((units >> 32) as u32, units as u32)
                .0
        };
        assert_eq!(ts(6, 0, 1_500_000), 1_500_000_000);
        assert_eq!(ts(9, 0, 1_500_000), 1_500_000);
        assert_eq!(ts(3, 10, 1_500), 11_500_000_000);
        assert_eq!(ts(12, 0, 1_500_000), 1_500);
        assert_eq!(ts(0x80 | 10, 0, 1536), 1_500_000_000);
        assert_eq!(ts(0x80 | 20, -1, 1 << 19), -500_000_000);
        // Extreme units and offsets saturate instead of overflowing.
        assert_eq!(ts(0, 0, u64::MAX), i64::MAX);
        assert_eq!(ts(0, i64::MIN, 0), i64::MIN);
        assert_eq!(ts(127, 0, u64::MAX), 0);
        assert_eq!(ts(0xff, 0, u64::MAX), 0);
    }
}
