//! Writing captures: classic pcap and pcapng.
//!
//! Two writers that turn packets back into files Wireshark, tcpdump and lyncscope itself can
//! read. They serve the `-w` option and the TUI's "save" (which copy the SIP-carrying packets
//! that were read), and the sample-capture generator in `lyncscope-synth`.
//!
//! * [`PcapWriter`] writes the classic libpcap format (version 2.4, little-endian), with
//!   microsecond (magic `a1b2c3d4`) or nanosecond (magic `a1b23c4d`) timestamps, one link type
//!   and a snapshot length (262144 by default, as tcpdump and Wireshark use).
//! * [`PcapNgWriter`] writes pcapng: one Section Header Block (optionally with a comment, the
//!   hardware, OS and application that wrote it), one Interface Description Block per
//!   interface (link type, snapshot length, name, description and `if_tsresol`), and one
//!   Enhanced Packet Block per packet (optionally with a comment). Every interface has its own
//!   timestamp resolution, so one file can mix microsecond and nanosecond interfaces.
//!
//! Both are byte-order explicit (they always write little-endian, which the byte-order magic
//! announces), buffer nothing themselves (wrap the sink in a [`std::io::BufWriter`] for
//! files), and truncate packets longer than the snapshot length the way a capture would: the
//! captured length shrinks, the original length is kept.
//!
//! ```
//! use lyncscope_base::writer::{Interface, PcapNgWriter, PcapWriter, TsResolution};
//! use lyncscope_base::{linktype, Timestamp};
//!
//! let ts = Timestamp::from_secs_nanos(1_767_261_600, 250_000);
//! let packet = [0u8; 60];
//!
//! let mut pcap = PcapWriter::new(Vec::new(), linktype::ETHERNET, TsResolution::Micro)?;
//! pcap.write_packet(ts, &packet, 60)?;
//! assert_eq!(pcap.into_inner().len(), 24 + 16 + 60);
//!
//! let mut ng = PcapNgWriter::new(Vec::new())?;
//! let eth0 = ng.add_interface(&Interface::new(linktype::ETHERNET).name("eth0"))?;
//! ng.write_packet(eth0, ts, &packet, 60)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::Timestamp;
use std::io::{self, Write};

/// The snapshot length written when none is given: large enough for any packet, including
/// offloaded (GRO/TSO) segments, as tcpdump and Wireshark default to.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Resolution of the timestamps written to a file (classic pcap) or an interface (pcapng).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TsResolution {
    /// Microseconds: the classic default; nanoseconds below a microsecond are dropped.
    #[default]
    Micro,
    /// Nanoseconds.
    Nano,
}

impl TsResolution {
    /// Timestamp units per second.
    pub fn units_per_sec(self) -> u64 {
        match self {
            TsResolution::Micro => 1_000_000,
            TsResolution::Nano => 1_000_000_000,
        }
    }

    /// The value of the pcapng `if_tsresol` option: the negative power of ten of the unit.
    pub fn if_tsresol(self) -> u8 {
        match self {
            TsResolution::Micro => 6,
            TsResolution::Nano => 9,
        }
    }

    /// `ts` as whole seconds and the fraction in this resolution's units. Capture formats
    /// cannot represent times before 1970.
    fn split(self, ts: Timestamp) -> io::Result<(u64, u32)> {
        if ts.0 < 0 {
            return Err(invalid(format!("timestamp {ts} is before 1970")));
        }
        let divisor = 1_000_000_000 / self.units_per_sec() as u32;
        Ok((ts.secs() as u64, ts.subsec_nanos() / divisor))
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Captured length of a packet under a snapshot length, and its original length (never less
/// than what was captured).
fn lengths(data: &[u8], orig_len: u32, snaplen: u32) -> (usize, u32) {
    let captured = data.len().min(snaplen as usize);
    (captured, orig_len.max(captured as u32))
}

// ---------------------------------------------------------------------------------------------
// classic pcap

/// Magic number of a classic pcap file with microsecond timestamps.
pub const PCAP_MAGIC_MICRO: u32 = 0xa1b2_c3d4;
/// Magic number of a classic pcap file with nanosecond timestamps.
pub const PCAP_MAGIC_NANO: u32 = 0xa1b2_3c4d;

/// Writes a classic pcap file: a 24-byte file header, then a 16-byte record header and the
/// captured bytes for each packet. All fields are little-endian.
///
/// ```text
/// file header:   magic u32 | version 2 u16 | 4 u16 | thiszone 0 i32 | sigfigs 0 u32
///                | snaplen u32 | link type u32
/// record header: seconds u32 | microseconds or nanoseconds u32 | captured length u32
///                | original length u32
/// ```
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    resolution: TsResolution,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `link_type` (a `LINKTYPE_*` value, see
    /// [`crate::linktype`]) with the [`DEFAULT_SNAPLEN`].
    pub fn new(out: W, link_type: u32, resolution: TsResolution) -> io::Result<Self> {
        Self::with_snaplen(out, link_type, resolution, DEFAULT_SNAPLEN)
    }

    /// Writes the file header with an explicit snapshot length; longer packets are cut to it.
    pub fn with_snaplen(
        mut out: W,
        link_type: u32,
        resolution: TsResolution,
        snaplen: u32,
    ) -> io::Result<Self> {
        let magic = match resolution {
            TsResolution::Micro => PCAP_MAGIC_MICRO,
            TsResolution::Nano => PCAP_MAGIC_NANO,
        };
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&magic.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone (8..12) and sigfigs (12..16) stay 0
        header[16..20].copy_from_slice(&snaplen.to_le_bytes());
        header[20..24].copy_from_slice(&link_type.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            resolution,
            snaplen,
        })
    }

    /// Appends one packet. `orig_len` is its length on the wire (raised to the captured
    /// length if smaller); `data` beyond the snapshot length is not written. Fails for times
    /// the format cannot hold (before 1970 or after 2106).
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let (secs, frac) = self.resolution.split(ts)?;
        let secs = u32::try_from(secs)
            .map_err(|_| invalid(format!("timestamp {ts} does not fit classic pcap")))?;
        let (captured, orig_len) = lengths(data, orig_len, self.snaplen);
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&secs.to_le_bytes());
        record[4..8].copy_from_slice(&frac.to_le_bytes());
        record[8..12].copy_from_slice(&(captured as u32).to_le_bytes());
        record[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(&data[..captured])
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer (not flushed).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Gives the underlying writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

// ---------------------------------------------------------------------------------------------
// pcapng

/// pcapng block types written here.
pub mod block {
    /// Section Header Block.
    pub const SECTION_HEADER: u32 = 0x0a0d_0d0a;
    /// Interface Description Block.
    pub const INTERFACE_DESCRIPTION: u32 = 0x0000_0001;
    /// Enhanced Packet Block.
    pub const ENHANCED_PACKET: u32 = 0x0000_0006;
    /// Decryption Secrets Block.
    pub const DECRYPTION_SECRETS: u32 = 0x0000_000a;
    /// The secrets type of a TLS key log in a Decryption Secrets Block (`TLSK`).
    pub const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;
    /// The byte-order magic of the Section Header Block.
    pub const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
}

/// pcapng option codes written here.
pub mod option {
    /// `opt_endofopt`: ends an option list.
    pub const END_OF_OPT: u16 = 0;
    /// `opt_comment`, valid in every block.
    pub const COMMENT: u16 = 1;
    /// `shb_hardware`.
    pub const SHB_HARDWARE: u16 = 2;
    /// `shb_os`.
    pub const SHB_OS: u16 = 3;
    /// `shb_userappl`: the writing application.
    pub const SHB_USERAPPL: u16 = 4;
    /// `if_name`.
    pub const IF_NAME: u16 = 2;
    /// `if_description`.
    pub const IF_DESCRIPTION: u16 = 3;
    /// `if_tsresol`: the timestamp resolution.
    pub const IF_TSRESOL: u16 = 9;
}

/// The optional descriptive fields of a pcapng section (all UTF-8 strings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// `opt_comment`: free text about the whole file.
    pub comment: Option<String>,
    /// `shb_hardware`.
    pub hardware: Option<String>,
    /// `shb_os`.
    pub os: Option<String>,
    /// `shb_userappl`: the application that wrote the file.
    pub user_application: Option<String>,
}

/// Description of one capture interface of a pcapng file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// `LINKTYPE_*` value of the packets captured on it.
    pub link_type: u32,
    /// Snapshot length; longer packets are cut to it.
    pub snaplen: u32,
    /// Resolution of its packets' timestamps, written as the `if_tsresol` option (always,
    /// even for microseconds, the pcapng default, so that readers need not assume).
    pub resolution: TsResolution,
    /// `if_name`, e.g. `eth0`.
    pub name: Option<String>,
    /// `if_description`.
    pub description: Option<String>,
}

impl Interface {
    /// An interface with the given link type, the [`DEFAULT_SNAPLEN`] and microseconds.
    pub fn new(link_type: u32) -> Self {
        Interface {
            link_type,
            snaplen: DEFAULT_SNAPLEN,
            resolution: TsResolution::Micro,
            name: None,
            description: None,
        }
    }

    /// Sets the timestamp resolution.
    pub fn resolution(mut self, resolution: TsResolution) -> Self {
        self.resolution = resolution;
        self
    }

    /// Sets the snapshot length.
    pub fn snaplen(mut self, snaplen: u32) -> Self {
        self.snaplen = snaplen;
        self
    }

    /// Sets `if_name`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Sets `if_description`.
    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }
}

/// Options of one block, encoded as pcapng wants them: code u16, length u16, value padded
/// to 32 bits, and `opt_endofopt` after the last one.
#[derive(Default)]
struct Options(Vec<u8>);

impl Options {
    fn push(&mut self, code: u16, value: &[u8]) -> io::Result<()> {
        let len = u16::try_from(value.len())
            .map_err(|_| invalid(format!("pcapng option {code} longer than 65535 bytes")))?;
        self.0.extend_from_slice(&code.to_le_bytes());
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(value);
        pad32(&mut self.0);
        Ok(())
    }

    fn push_str(&mut self, code: u16, value: Option<&str>) -> io::Result<()> {
        match value {
            Some(text) => self.push(code, text.as_bytes()),
            None => Ok(()),
        }
    }

    /// Appends the options (terminated) to a block body; nothing if there are none.
    fn finish_into(self, body: &mut Vec<u8>) {
        if !self.0.is_empty() {
            body.extend_from_slice(&self.0);
            body.extend_from_slice(&option::END_OF_OPT.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
        }
    }
}

fn pad32(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Writes one block: type, total length, body (already padded), total length again.
fn write_block<W: Write>(out: &mut W, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(body.len() + 12)
        .map_err(|_| invalid("pcapng block larger than 4 GiB".to_owned()))?;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

/// Writes a pcapng file: one section, interfaces added with [`PcapNgWriter::add_interface`],
/// packets as Enhanced Packet Blocks. All blocks are little-endian.
///
/// ```text
/// SHB: 0a0d0d0a | len | 1a2b3c4d | major 1 u16 | minor 0 u16 | section length -1 i64 | options | len
/// IDB: 00000001 | len | link type u16 | reserved u16 | snaplen u32 | options | len
/// EPB: 00000006 | len | interface u32 | ts high u32 | ts low u32 | captured u32 | original u32
///      | data padded to 32 bits | options | len
/// ```
#[derive(Debug)]
pub struct PcapNgWriter<W: Write> {
    out: W,
    /// Resolution and snapshot length of every interface, by interface id.
    interfaces: Vec<(TsResolution, u32)>,
}

impl<W: Write> PcapNgWriter<W> {
    /// Writes a Section Header Block without options.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_section(out, &Section::default())
    }

    /// Writes a Section Header Block with the given descriptive options.
    pub fn with_section(mut out: W, section: &Section) -> io::Result<Self> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&block::BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length not specified
        let mut options = Options::default();
        options.push_str(option::COMMENT, section.comment.as_deref())?;
        options.push_str(option::SHB_HARDWARE, section.hardware.as_deref())?;
        options.push_str(option::SHB_OS, section.os.as_deref())?;
        options.push_str(option::SHB_USERAPPL, section.user_application.as_deref())?;
        options.finish_into(&mut body);
        write_block(&mut out, block::SECTION_HEADER, &body)?;
        Ok(PcapNgWriter {
            out,
            interfaces: Vec::new(),
        })
    }

    /// Writes an Interface Description Block and returns the interface id to give to
    /// [`PcapNgWriter::write_packet`] (0 for the first interface, then 1, …).
    pub fn add_interface(&mut self, interface: &Interface) -> io::Result<u32> {
        let link_type = u16::try_from(interface.link_type).map_err(|_| {
            invalid(format!(
                "link type {} does not fit pcapng",
                interface.link_type
            ))
        })?;
        let mut body = Vec::with_capacity(32);
        body.extend_from_slice(&link_type.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&interface.snaplen.to_le_bytes());
        let mut options = Options::default();
        options.push_str(option::IF_NAME, interface.name.as_deref())?;
        options.push_str(option::IF_DESCRIPTION, interface.description.as_deref())?;
        options.push(option::IF_TSRESOL, &[interface.resolution.if_tsresol()])?;
        options.finish_into(&mut body);
        write_block(&mut self.out, block::INTERFACE_DESCRIPTION, &body)?;
        let id = self.interfaces.len() as u32;
        self.interfaces
            .push((interface.resolution, interface.snaplen));
        Ok(id)
    }

    /// Appends one packet captured on `interface`. `orig_len` is its length on the wire
    /// (raised to the captured length if smaller); `data` beyond the interface's snapshot
    /// length is not written.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        self.write_packet_with_comment(interface, ts, data, orig_len, None)
    }

    /// Like [`PcapNgWriter::write_packet`], with an optional `opt_comment` on the packet
    /// (Wireshark shows it as the packet comment).
    pub fn write_packet_with_comment(
        &mut self,
        interface: u32,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
        comment: Option<&str>,
    ) -> io::Result<()> {
        let &(resolution, snaplen) = self
            .interfaces
            .get(interface as usize)
            .ok_or_else(|| invalid(format!("pcapng interface {interface} was not added")))?;
        let (secs, frac) = resolution.split(ts)?;
        let units = secs
            .checked_mul(resolution.units_per_sec())
            .and_then(|u| u.checked_add(u64::from(frac)))
            .ok_or_else(|| invalid(format!("timestamp {ts} does not fit pcapng")))?;
        let (captured, orig_len) = lengths(data, orig_len, snaplen);
        let mut body = Vec::with_capacity(20 + captured + 4);
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(units as u32).to_le_bytes());
        body.extend_from_slice(&(captured as u32).to_le_bytes());
        body.extend_from_slice(&orig_len.to_le_bytes());
        body.extend_from_slice(&data[..captured]);
        pad32(&mut body);
        let mut options = Options::default();
        options.push_str(option::COMMENT, comment)?;
        options.finish_into(&mut body);
        write_block(&mut self.out, block::ENHANCED_PACKET, &body)
    }

    /// Writes a Decryption Secrets Block (pcapng §4.7) of `secrets_type` (for example
    /// [`block::SECRETS_TLS_KEYLOG`]): readers such as Wireshark decrypt the packets after it.
    pub fn write_decryption_secrets(&mut self, secrets_type: u32, data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .map_err(|_| invalid("decryption secrets over 4 GiB".to_string()))?;
        let mut body = Vec::with_capacity(8 + data.len() + 4);
        body.extend_from_slice(&secrets_type.to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(data);
        pad32(&mut body);
        write_block(&mut self.out, block::DECRYPTION_SECRETS, &body)
    }

    /// The underlying writer, to append blocks written elsewhere (they must be pcapng
    /// blocks of this section, in its byte order: little-endian).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer (not flushed).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Gives the underlying writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linktype;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    const TS: Timestamp = Timestamp(1_767_261_600_123_456_789); // 2026-01-01T10:00:00.123456789Z

    #[test]
    fn pcap_micro_header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET, TsResolution::Micro).unwrap();
        w.write_packet(TS, b"abcdef", 6).unwrap();
        let b = w.into_inner();
        assert_eq!(
            &b[..24],
            &[
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x04, 0x00,
                1, 0, 0, 0
            ]
        );
        assert_eq!(u32_at(&b, 24), 1_767_261_600);
        assert_eq!(u32_at(&b, 28), 123_456); // microseconds, nanoseconds dropped
        assert_eq!(u32_at(&b, 32), 6);
        assert_eq!(u32_at(&b, 36), 6);
        assert_eq!(&b[40..], b"abcdef");
    }

    #[test]
    fn pcap_nano_magic_and_fraction() {
        let mut w = PcapWriter::new(Vec::new(), linktype::RAW, TsResolution::Nano).unwrap();
        w.write_packet(TS, b"x", 1).unwrap();
        let b = w.into_inner();
        assert_eq!(u32_at(&b, 0), PCAP_MAGIC_NANO);
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32_at(&b, 20), linktype::RAW);
        assert_eq!(u32_at(&b, 28), 123_456_789);
    }

    #[test]
    fn pcap_snaplen_truncates_but_keeps_original_length() {
        let mut w =
            PcapWriter::with_snaplen(Vec::new(), linktype::ETHERNET, TsResolution::Micro, 4)
                .unwrap();
        w.write_packet(TS, b"abcdefgh", 8).unwrap();
        // original length below the captured length is raised
        w.write_packet(TS, b"ab", 0).unwrap();
        let b = w.into_inner();
        assert_eq!(u32_at(&b, 16), 4);
        assert_eq!((u32_at(&b, 32), u32_at(&b, 36)), (4, 8));
        assert_eq!(&b[40..44], b"abcd");
        assert_eq!((u32_at(&b, 52), u32_at(&b, 56)), (2, 2));
        assert_eq!(b.len(), 24 + 16 + 4 + 16 + 2);
    }

    #[test]
    fn pcap_rejects_times_it_cannot_hold() {
        let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET, TsResolution::Micro).unwrap();
        assert!(w.write_packet(Timestamp(-1), b"", 0).is_err());
        assert!(w
            .write_packet(Timestamp::from_secs_nanos(1 << 33, 0), b"", 0)
            .is_err());
    }

    #[test]
    fn pcapng_minimal_section_interface_packet() {
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        let id = w
            .add_interface(&Interface::new(linktype::ETHERNET))
            .unwrap();
        assert_eq!(id, 0);
        w.write_packet(0, TS, b"abcde", 5).unwrap();
        let b = w.into_inner();

        // SHB without options: 28 bytes
        assert_eq!(u32_at(&b, 0), block::SECTION_HEADER);
        assert_eq!(u32_at(&b, 4), 28);
        assert_eq!(&b[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
        assert_eq!((u16_at(&b, 12), u16_at(&b, 14)), (1, 0));
        assert_eq!(&b[16..24], &[0xff; 8]);
        assert_eq!(u32_at(&b, 24), 28);

        // IDB: 8 header + 8 fixed + if_tsresol (4 + 4) + end (4) + 4 trailer = 32
        let i = 28;
        assert_eq!(u32_at(&b, i), block::INTERFACE_DESCRIPTION);
        assert_eq!(u32_at(&b, i + 4), 32);
        assert_eq!(u16_at(&b, i + 8), 1); // Ethernet
        assert_eq!(u16_at(&b, i + 10), 0);
        assert_eq!(u32_at(&b, i + 12), DEFAULT_SNAPLEN);
        assert_eq!(&b[i + 16..i + 24], &[9, 0, 1, 0, 6, 0, 0, 0]);
        assert_eq!(&b[i + 24..i + 28], &[0, 0, 0, 0]);
        assert_eq!(u32_at(&b, i + 28), 32);

        // EPB: 8 + 20 + 8 (5 bytes padded) + 4 = 40, no options
        let e = i + 32;
        assert_eq!(u32_at(&b, e), block::ENHANCED_PACKET);
        assert_eq!(u32_at(&b, e + 4), 40);
        assert_eq!(u32_at(&b, e + 8), 0);
        let units = (u64::from(u32_at(&b, e + 12)) << 32) | u64::from(u32_at(&b, e + 16));
        assert_eq!(units, 1_767_261_600_123_456);
        assert_eq!((u32_at(&b, e + 20), u32_at(&b, e + 24)), (5, 5));
        assert_eq!(&b[e + 28..e + 36], b"abcde\0\0\0");
        assert_eq!(u32_at(&b, e + 36), 40);
        assert_eq!(b.len(), e + 40);
    }

    #[test]
    fn pcapng_options_comments_and_nanosecond_interface() {
        let section = Section {
            comment: Some("hi".into()),
            user_application: Some("lyncscope".into()),
            ..Section::default()
        };
        let mut w = PcapNgWriter::with_section(Vec::new(), &section).unwrap();
        let shb_len = u32_at(w.get_ref(), 4) as usize;
        // 28 + comment (4 + 4) + userappl (4 + 12) + end (4)
        assert_eq!(shb_len, 28 + 8 + 16 + 4);
        let b = w.get_ref();
        assert_eq!(&b[24..32], &[1, 0, 2, 0, b'h', b'i', 0, 0]);
        assert_eq!(&b[32..36], &[4, 0, 9, 0]);
        assert_eq!(&b[36..48], b"lyncscope\0\0\0");
        assert_eq!(&b[48..52], &[0, 0, 0, 0]);
        assert_eq!(u32_at(b, 52), shb_len as u32);

        w.add_interface(&Interface::new(linktype::ETHERNET).name("eth0"))
            .unwrap();
        let nano = Interface::new(linktype::IPV6)
            .resolution(TsResolution::Nano)
            .snaplen(3);
        assert_eq!(w.add_interface(&nano).unwrap(), 1);
        w.write_packet_with_comment(1, TS, b"abcdef", 6, Some("A1"))
            .unwrap();
        assert!(w.write_packet(2, TS, b"", 0).is_err());
        let b = w.into_inner();

        let idb0 = shb_len;
        let idb0_len = u32_at(&b, idb0 + 4) as usize;
        // 20 + if_name (4 + 4) + if_tsresol (8) + end (4)
        assert_eq!(idb0_len, 20 + 8 + 8 + 4);
        assert_eq!(
            &b[idb0 + 16..idb0 + 24],
            &[2, 0, 4, 0, b'e', b't', b'h', b'0']
        );

        let idb1 = idb0 + idb0_len;
        assert_eq!(u16_at(&b, idb1 + 8), linktype::IPV6 as u16);
        assert_eq!(u32_at(&b, idb1 + 12), 3);
        assert_eq!(&b[idb1 + 16..idb1 + 24], &[9, 0, 1, 0, 9, 0, 0, 0]);

        let e = idb1 + u32_at(&b, idb1 + 4) as usize;
        assert_eq!(u32_at(&b, e + 8), 1);
        let units = (u64::from(u32_at(&b, e + 12)) << 32) | u64::from(u32_at(&b, e + 16));
        assert_eq!(units, TS.0 as u64);
        assert_eq!((u32_at(&b, e + 20), u32_at(&b, e + 24)), (3, 6)); // snaplen 3
        assert_eq!(&b[e + 28..e + 32], b"abc\0");
        assert_eq!(&b[e + 32..e + 40], &[1, 0, 2, 0, b'A', b'1', 0, 0]);
        assert_eq!(&b[e + 40..e + 44], &[0, 0, 0, 0]);
        let epb_len = u32_at(&b, e + 4) as usize;
        assert_eq!(epb_len, 48);
        assert_eq!(u32_at(&b, e + epb_len - 4), 48);
        assert_eq!(b.len(), e + epb_len);
    }
}
