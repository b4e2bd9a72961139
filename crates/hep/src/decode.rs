//! Zero-copy decoder for HEP v1, v2 and v3 packets.
//!
//! HEP3 layout (all big-endian): `"HEP3"`, total length u16 (whole packet,
//! header included), then chunks `vendor u16 | type u16 | length u16 | value`
//! where the chunk length includes its own 6-byte header.
//!
//! HEP v1/v2 layout (the legacy Kamailio/OpenSIPS `hep_hdr`): version u8,
//! header length u8, family u8, protocol u8, source port u16 BE, destination
//! port u16 BE, source and destination address (4 or 16 bytes each), then for
//! v2 a time header `tv_sec u32, tv_usec u32, captid u16`, then the payload.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Size of the HEP3 packet header (`"HEP3"` + total length); also the smallest
/// possible HEP3 packet.
pub const HEP3_HEADER_LEN: usize = 6;
/// Size of a chunk header (vendor, type, length).
pub const CHUNK_HEADER_LEN: usize = 6;
/// The largest HEP3 packet: the total length is a u16.
pub const MAX_HEP3_PACKET: usize = u16::MAX as usize;
/// The HEP3 magic.
pub const HEP3_MAGIC: &[u8; 4] = b"HEP3";

/// Address family values used by HEP (the Linux `AF_INET` / `AF_INET6`).
pub const FAMILY_IPV4: u8 = 0x02;
/// See [`FAMILY_IPV4`].
pub const FAMILY_IPV6: u8 = 0x0a;

/// HEP3 chunk type ids (vendor 0, the generic chunks).
pub mod chunk {
    /// IP protocol family (u8: 0x02 IPv4, 0x0a IPv6).
    pub const IP_FAMILY: u16 = 0x0001;
    /// IP protocol id (u8: 0x06 TCP, 0x11 UDP, 0x84 SCTP).
    pub const IP_PROTOCOL: u16 = 0x0002;
    /// IPv4 source address (4 bytes).
    pub const IPV4_SRC: u16 = 0x0003;
    /// IPv4 destination address (4 bytes).
    pub const IPV4_DST: u16 = 0x0004;
    /// IPv6 source address (16 bytes).
    pub const IPV6_SRC: u16 = 0x0005;
    /// IPv6 destination address (16 bytes).
    pub const IPV6_DST: u16 = 0x0006;
    /// Source port (u16).
    pub const SRC_PORT: u16 = 0x0007;
    /// Destination port (u16).
    pub const DST_PORT: u16 = 0x0008;
    /// Timestamp, Unix seconds (u32).
    pub const TS_SEC: u16 = 0x0009;
    /// Timestamp, microseconds (u32).
    pub const TS_USEC: u16 = 0x000a;
    /// Protocol type of the payload (u8: 1 SIP, 5 RTCP, 100 LOG, ...).
    pub const PROTO_TYPE: u16 = 0x000b;
    /// Capture agent / node id (u32).
    pub const NODE_ID: u16 = 0x000c;
    /// Keep-alive timer (sngrep enum; ignored).
    pub const KEEP_ALIVE: u16 = 0x000d;
    /// Authentication key / node password (bytes).
    pub const AUTH_KEY: u16 = 0x000e;
    /// Captured payload (bytes).
    pub const PAYLOAD: u16 = 0x000f;
    /// Compressed payload (bytes; compression not specified by the spec).
    pub const COMPRESSED_PAYLOAD: u16 = 0x0010;
    /// Correlation id (bytes, e.g. a Call-ID).
    pub const CORRELATION_ID: u16 = 0x0011;
    /// VLAN id (u16).
    pub const VLAN: u16 = 0x0012;
    /// Capture node name (bytes).
    pub const NODE_NAME: u16 = 0x0013;
}

/// Payload protocol types (chunk 0x000b).
pub mod proto_type {
    /// SIP.
    pub const SIP: u8 = 1;
    /// RTCP.
    pub const RTCP: u8 = 5;
    /// RTP agent statistics.
    pub const RTP_AGENT: u8 = 34;
    /// RTCP-XR.
    pub const RTCP_XR: u8 = 35;
    /// horaclifix.
    pub const HORACLIFIX: u8 = 38;
    /// DNS.
    pub const DNS: u8 = 53;
    /// Log lines.
    pub const LOG: u8 = 100;
}

/// HEP protocol version of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HepVersion {
    /// Legacy v1 (no timestamp, no capture id).
    V1,
    /// Legacy v2 (timestamp and a 16-bit capture id).
    V2,
    /// HEP3 / EEP3 chunked format.
    V3,
}

/// Everything fixed-size a HEP packet says about the captured message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HepMeta {
    /// Wire version the packet came in.
    pub version: HepVersion,
    /// IP protocol of the captured packet (6 TCP, 17 UDP, 132 SCTP, ...).
    pub ip_protocol: u8,
    /// Source address of the captured packet.
    pub src_ip: IpAddr,
    /// Destination address of the captured packet.
    pub dst_ip: IpAddr,
    /// Source port of the captured packet.
    pub src_port: u16,
    /// Destination port of the captured packet.
    pub dst_port: u16,
    /// Capture time, Unix seconds (0 in HEP v1: it has no timestamp).
    pub ts_sec: u32,
    /// Capture time, microseconds part.
    pub ts_usec: u32,
    /// Payload protocol type (see [`proto_type`]); v1/v2 carry SIP only.
    pub proto_type: u8,
    /// Capture agent id (v2's capture id is 16 bits wide).
    pub node_id: u32,
    /// VLAN id, when the agent sent one.
    pub vlan: Option<u16>,
}

/// A decoded HEP packet; every byte field borrows from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HepPacket<'a> {
    /// Fixed-size fields.
    pub meta: HepMeta,
    /// The payload (chunk 0x000f, or 0x0010 when `payload_compressed`).
    pub payload: &'a [u8],
    /// The payload came in the compressed-payload chunk and was not decoded.
    pub payload_compressed: bool,
    /// Authentication key (chunk 0x000e).
    pub auth_key: Option<&'a [u8]>,
    /// Correlation id (chunk 0x0011).
    pub correlation_id: Option<&'a [u8]>,
    /// Capture node name (chunk 0x0013).
    pub node_name: Option<&'a [u8]>,
    /// Chunks skipped: vendor-specific ones and types this decoder does not read.
    pub skipped_chunks: u16,
}

/// Which mandatory piece of a HEP3 packet is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MissingChunk {
    /// IP family (0x0001).
    IpFamily,
    /// IP protocol (0x0002).
    IpProtocol,
    /// Source address (0x0003 or 0x0005, matching the family).
    SrcAddress,
    /// Destination address (0x0004 or 0x0006, matching the family).
    DstAddress,
    /// Source port (0x0007).
    SrcPort,
    /// Destination port (0x0008).
    DstPort,
    /// Timestamp seconds (0x0009).
    Timestamp,
    /// Protocol type (0x000b).
    ProtoType,
    /// Payload (0x000f or 0x0010).
    Payload,
}

/// Why a buffer is not a valid HEP packet. Each malformation has its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HepError {
    /// The buffer is empty.
    #[error("empty buffer")]
    Empty,
    /// The first bytes are neither `HEP3` nor a v1/v2 version byte.
    #[error("not a HEP packet (first byte {0:#04x})")]
    UnknownVersion(u8),
    /// Shorter than the fixed header of its version.
    #[error("truncated header: need {need} bytes, have {have}")]
    TruncatedHeader {
        /// Bytes the header needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The HEP3 total length is below the 6-byte header.
    #[error("HEP3 total length {0} is smaller than the header")]
    BadTotalLength(u16),
    /// The HEP3 total length says more bytes than the buffer holds.
    #[error("truncated packet: length field says {declared}, buffer has {actual}")]
    Truncated {
        /// Length from the header.
        declared: usize,
        /// Buffer length.
        actual: usize,
    },
    /// The buffer holds bytes past the HEP3 total length.
    #[error("trailing bytes: length field says {declared}, buffer has {actual}")]
    TrailingBytes {
        /// Length from the header.
        declared: usize,
        /// Buffer length.
        actual: usize,
    },
    /// Fewer than 6 bytes left where a chunk header should start.
    #[error("chunk header truncated at offset {offset}")]
    ChunkHeaderTruncated {
        /// Offset of the chunk in the packet.
        offset: usize,
    },
    /// A chunk length below its own 6-byte header.
    #[error("chunk type {chunk_type:#06x} at offset {offset} has length {len} < 6")]
    ChunkLengthTooSmall {
        /// Offset of the chunk in the packet.
        offset: usize,
        /// Chunk type id.
        chunk_type: u16,
        /// Declared chunk length.
        len: u16,
    },
    /// A chunk that runs past the end of the packet.
    #[error("chunk type {chunk_type:#06x} at offset {offset} has length {len}, only {remaining} bytes left")]
    ChunkOverrun {
        /// Offset of the chunk in the packet.
        offset: usize,
        /// Chunk type id.
        chunk_type: u16,
        /// Declared chunk length.
        len: u16,
        /// Bytes left in the packet from the chunk's start.
        remaining: usize,
    },
    /// A fixed-size chunk with the wrong value size.
    #[error("chunk type {chunk_type:#06x} must carry {expected} bytes, carries {got}")]
    BadChunkSize {
        /// Chunk type id.
        chunk_type: u16,
        /// Required value size.
        expected: usize,
        /// Actual value size.
        got: usize,
    },
    /// The same generic chunk twice: which one to believe is ambiguous.
    #[error("chunk type {0:#06x} appears twice")]
    DuplicateChunk(u16),
    /// An IP family other than IPv4 (0x02) or IPv6 (0x0a).
    #[error("unknown IP family {0:#04x}")]
    UnknownFamily(u8),
    /// Address chunks of the other family than the family chunk says.
    #[error("address chunks do not match IP family {0:#04x}")]
    FamilyMismatch(u8),
    /// A mandatory chunk is absent.
    #[error("missing mandatory chunk: {0:?}")]
    MissingChunk(MissingChunk),
}

/// A fieldless view of [`HepError`], for counting errors by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant mirrors the HepError variant of the same name.
pub enum ErrorKind {
    Empty,
    UnknownVersion,
    TruncatedHeader,
    BadTotalLength,
    Truncated,
    TrailingBytes,
    ChunkHeaderTruncated,
    ChunkLengthTooSmall,
    ChunkOverrun,
    BadChunkSize,
    DuplicateChunk,
    UnknownFamily,
    FamilyMismatch,
    MissingChunk,
}

impl ErrorKind {
    /// Number of kinds (the size of a per-kind counter array).
    pub const COUNT: usize = 14;
    /// Every kind, in [`ErrorKind::index`] order.
    pub const ALL: [ErrorKind; Self::COUNT] = [
        ErrorKind::Empty,
        ErrorKind::UnknownVersion,
        ErrorKind::TruncatedHeader,
        ErrorKind::BadTotalLength,
        ErrorKind::Truncated,
        ErrorKind::TrailingBytes,
        ErrorKind::ChunkHeaderTruncated,
        ErrorKind::ChunkLengthTooSmall,
        ErrorKind::ChunkOverrun,
        ErrorKind::BadChunkSize,
        ErrorKind::DuplicateChunk,
        ErrorKind::UnknownFamily,
        ErrorKind::FamilyMismatch,
        ErrorKind::MissingChunk,
    ];

    /// Position in [`ErrorKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A stable snake_case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Empty => "empty",
            ErrorKind::UnknownVersion => "unknown_version",
            ErrorKind::TruncatedHeader => "truncated_header",
            ErrorKind::BadTotalLength => "bad_total_length",
            ErrorKind::Truncated => "truncated",
            ErrorKind::TrailingBytes => "trailing_bytes",
            ErrorKind::ChunkHeaderTruncated => "chunk_header_truncated",
            ErrorKind::ChunkLengthTooSmall => "chunk_length_too_small",
            ErrorKind::ChunkOverrun => "chunk_overrun",
            ErrorKind::BadChunkSize => "bad_chunk_size",
            ErrorKind::DuplicateChunk => "duplicate_chunk",
            ErrorKind::UnknownFamily => "unknown_family",
            ErrorKind::FamilyMismatch => "family_mismatch",
            ErrorKind::MissingChunk => "missing_chunk",
        }
    }
}

impl HepError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HepError::Empty => ErrorKind::Empty,
            HepError::UnknownVersion(_) => ErrorKind::UnknownVersion,
            HepError::TruncatedHeader { .. } => ErrorKind::TruncatedHeader,
            HepError::BadTotalLength(_) => ErrorKind::BadTotalLength,
            HepError::Truncated { .. } => ErrorKind::Truncated,
            HepError::TrailingBytes { .. } => ErrorKind::TrailingBytes,
            HepError::ChunkHeaderTruncated { .. } => ErrorKind::ChunkHeaderTruncated,
            HepError::ChunkLengthTooSmall { .. } => ErrorKind::ChunkLengthTooSmall,
            HepError::ChunkOverrun { .. } => ErrorKind::ChunkOverrun,
            HepError::BadChunkSize { .. } => ErrorKind::BadChunkSize,
            HepError::DuplicateChunk(_) => ErrorKind::DuplicateChunk,
            HepError::UnknownFamily(_) => ErrorKind::UnknownFamily,
            HepError::FamilyMismatch(_) => ErrorKind::FamilyMismatch,
            HepError::MissingChunk(_) => ErrorKind::MissingChunk,
        }
    }
}

/// Decodes one HEP packet (v3, or legacy v1/v2) that fills `buf` exactly.
///
/// For HEP3 the total length must equal `buf.len()` (a UDP datagram, or a
/// frame cut by [`crate::Hep3Splitter`]). Nothing is allocated; byte fields
/// borrow from `buf`.
pub fn decode(buf: &[u8]) -> Result<HepPacket<'_>, HepError> {
    match buf.first() {
        None => Err(HepError::Empty),
        Some(b'H') if buf.starts_with(HEP3_MAGIC) => decode_v3(buf),
        Some(&v @ (1 | 2)) => decode_v12(buf, v),
        Some(&other) => Err(HepError::UnknownVersion(other)),
    }
}

fn be16(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(..2)?.try_into().ok()?))
}

fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn ipv6(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// Sets a chunk's slot once; a second occurrence is an error.
fn once<T>(slot: &mut Option<T>, v: T, chunk_type: u16) -> Result<(), HepError> {
    if slot.is_some() {
        return Err(HepError::DuplicateChunk(chunk_type));
    }
    *slot = Some(v);
    Ok(())
}

fn fixed<const N: usize>(value: &[u8], chunk_type: u16) -> Result<[u8; N], HepError> {
    value.try_into().map_err(|_| HepError::BadChunkSize {
        chunk_type,
        expected: N,
        got: value.len(),
    })
}

fn decode_v3(buf: &[u8]) -> Result<HepPacket<'_>, HepError> {
    let declared = buf
        .get(4..6)
        .and_then(be16)
        .ok_or(HepError::TruncatedHeader {
            need: HEP3_HEADER_LEN,
            have: buf.len(),
        })?;
    let total = usize::from(declared);
    if total < HEP3_HEADER_LEN {
        return Err(HepError::BadTotalLength(declared));
    }
    if total > buf.len() {
        return Err(HepError::Truncated {
            declared: total,
            actual: buf.len(),
        });
    }
    if total < buf.len() {
        return Err(HepError::TrailingBytes {
            declared: total,
            actual: buf.len(),
        });
    }

    let mut family: Option<u8> = None;
    let mut ip_protocol: Option<u8> = None;
    let mut src4: Option<Ipv4Addr> = None;
    let mut dst4: Option<Ipv4Addr> = None;
    let mut src6: Option<Ipv6Addr> = None;
    let mut dst6: Option<Ipv6Addr> = None;
    let mut src_port: Option<u16> = None;
    let mut dst_port: Option<u16> = None;
    let mut ts_sec: Option<u32> = None;
    let mut ts_usec: Option<u32> = None;
    let mut ptype: Option<u8> = None;
    let mut node_id: Option<u32> = None;
    let mut vlan: Option<u16> = None;
    let mut auth_key: Option<&[u8]> = None;
    let mut payload: Option<&[u8]> = None;
    let mut compressed: Option<&[u8]> = None;
    let mut correlation_id: Option<&[u8]> = None;
    let mut node_name: Option<&[u8]> = None;
    let mut skipped: u16 = 0;

    let mut offset = HEP3_HEADER_LEN;
    while offset < total {
        let rest = buf.get(offset..).unwrap_or_default();
        let (Some(vendor), Some(chunk_type), Some(len)) = (
            be16(rest),
            rest.get(2..).and_then(be16),
            rest.get(4..).and_then(be16),
        ) else {
            return Err(HepError::ChunkHeaderTruncated { offset });
        };
        let clen = usize::from(len);
        if clen < CHUNK_HEADER_LEN {
            return Err(HepError::ChunkLengthTooSmall {
                offset,
                chunk_type,
                len,
            });
        }
        let Some(value) = rest.get(CHUNK_HEADER_LEN..clen) else {
            return Err(HepError::ChunkOverrun {
                offset,
                chunk_type,
                len,
                remaining: rest.len(),
            });
        };
        offset += clen;

        // Vendor chunks may reuse generic type ids with other meanings (sngrep skips them too).
        if vendor != 0 {
            skipped = skipped.saturating_add(1);
            continue;
        }
        match chunk_type {
            chunk::IP_FAMILY => once(&mut family, fixed::<1>(value, chunk_type)?[0], chunk_type)?,
            chunk::IP_PROTOCOL => once(
                &mut ip_protocol,
                fixed::<1>(value, chunk_type)?[0],
                chunk_type,
            )?,
            chunk::IPV4_SRC => once(
                &mut src4,
                Ipv4Addr::from(fixed::<4>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::IPV4_DST => once(
                &mut dst4,
                Ipv4Addr::from(fixed::<4>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::IPV6_SRC => once(
                &mut src6,
                Ipv6Addr::from(fixed::<16>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::IPV6_DST => once(
                &mut dst6,
                Ipv6Addr::from(fixed::<16>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::SRC_PORT => once(
                &mut src_port,
                u16::from_be_bytes(fixed::<2>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::DST_PORT => once(
                &mut dst_port,
                u16::from_be_bytes(fixed::<2>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::TS_SEC => once(
                &mut ts_sec,
                u32::from_be_bytes(fixed::<4>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::TS_USEC => once(
                &mut ts_usec,
                u32::from_be_bytes(fixed::<4>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::PROTO_TYPE => once(&mut ptype, fixed::<1>(value, chunk_type)?[0], chunk_type)?,
            chunk::NODE_ID => once(
                &mut node_id,
                u32::from_be_bytes(fixed::<4>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::VLAN => once(
                &mut vlan,
                u16::from_be_bytes(fixed::<2>(value, chunk_type)?),
                chunk_type,
            )?,
            chunk::AUTH_KEY => once(&mut auth_key, value, chunk_type)?,
            chunk::PAYLOAD => once(&mut payload, value, chunk_type)?,
            chunk::COMPRESSED_PAYLOAD => once(&mut compressed, value, chunk_type)?,
            chunk::CORRELATION_ID => once(&mut correlation_id, value, chunk_type)?,
            chunk::NODE_NAME => once(&mut node_name, value, chunk_type)?,
            _ => skipped = skipped.saturating_add(1),
        }
    }

    let family = family.ok_or(HepError::MissingChunk(MissingChunk::IpFamily))?;
    let (src_ip, dst_ip) = match family {
        FAMILY_IPV4 => {
            if src6.is_some() || dst6.is_some() {
                return Err(HepError::FamilyMismatch(family));
            }
            (
                IpAddr::V4(src4.ok_or(HepError::MissingChunk(MissingChunk::SrcAddress))?),
                IpAddr::V4(dst4.ok_or(HepError::MissingChunk(MissingChunk::DstAddress))?),
            )
        }
        FAMILY_IPV6 => {
            if src4.is_some() || dst4.is_some() {
                return Err(HepError::FamilyMismatch(family));
            }
            (
                IpAddr::V6(src6.ok_or(HepError::MissingChunk(MissingChunk::SrcAddress))?),
                IpAddr::V6(dst6.ok_or(HepError::MissingChunk(MissingChunk::DstAddress))?),
            )
        }
        other => return Err(HepError::UnknownFamily(other)),
    };
    let meta = HepMeta {
        version: HepVersion::V3,
        ip_protocol: ip_protocol.ok_or(HepError::MissingChunk(MissingChunk::IpProtocol))?,
        src_ip,
        dst_ip,
        src_port: src_port.ok_or(HepError::MissingChunk(MissingChunk::SrcPort))?,
        dst_port: dst_port.ok_or(HepError::MissingChunk(MissingChunk::DstPort))?,
        ts_sec: ts_sec.ok_or(HepError::MissingChunk(MissingChunk::Timestamp))?,
        // Agents always send both; a missing fraction is harmless, so it defaults to 0.
        ts_usec: ts_usec.unwrap_or(0),
        proto_type: ptype.ok_or(HepError::MissingChunk(MissingChunk::ProtoType))?,
        node_id: node_id.unwrap_or(0),
        vlan,
    };
    let (payload, payload_compressed) = match (payload, compressed) {
        (Some(p), _) => (p, false),
        (None, Some(c)) => (c, true),
        (None, None) => return Err(HepError::MissingChunk(MissingChunk::Payload)),
    };
    Ok(HepPacket {
        meta,
        payload,
        payload_compressed,
        auth_key,
        correlation_id,
        node_name,
        skipped_chunks: skipped,
    })
}

/// Fixed part of the v1/v2 header before the addresses.
const V12_HEADER_LEN: usize = 8;
/// v2 time header: tv_sec u32, tv_usec u32, captid u16.
const V2_TIME_LEN: usize = 10;

fn decode_v12(buf: &[u8], version: u8) -> Result<HepPacket<'_>, HepError> {
    let truncated = |need: usize| HepError::TruncatedHeader {
        need,
        have: buf.len(),
    };
    let family = *buf.get(2).ok_or(truncated(V12_HEADER_LEN))?;
    let addr_len = match family {
        FAMILY_IPV4 => 4,
        FAMILY_IPV6 => 16,
        other => {
            if buf.len() < V12_HEADER_LEN {
                return Err(truncated(V12_HEADER_LEN));
            }
            return Err(HepError::UnknownFamily(other));
        }
    };
    let time_len = if version == 2 { V2_TIME_LEN } else { 0 };
    let need = V12_HEADER_LEN + 2 * addr_len + time_len;
    let head = buf.get(..need).ok_or(truncated(need))?;
    // Byte 1 (hp_l) is not checked: hep-c writes the header length there, but
    // sngrep writes a byte of the byte-swapped total length, so it is unreliable.
    let field = |at: usize| head.get(at..).unwrap_or_default();
    let ip_protocol = head.get(3).copied().unwrap_or_default();
    let src_port = be16(field(4)).unwrap_or_default();
    let dst_port = be16(field(6)).unwrap_or_default();
    let (src_ip, dst_ip) = if addr_len == 4 {
        (
            IpAddr::V4(ipv4(field(8)).unwrap_or(Ipv4Addr::UNSPECIFIED)),
            IpAddr::V4(ipv4(field(12)).unwrap_or(Ipv4Addr::UNSPECIFIED)),
        )
    } else {
        (
            IpAddr::V6(ipv6(field(8)).unwrap_or(Ipv6Addr::UNSPECIFIED)),
            IpAddr::V6(ipv6(field(24)).unwrap_or(Ipv6Addr::UNSPECIFIED)),
        )
    };
    let (ts_sec, ts_usec, node_id) = if version == 2 {
        // The C agents (hep-c, sngrep, Kamailio) memcpy the time header in host
        // order without htonl, i.e. little-endian on every common host.
        let t = field(V12_HEADER_LEN + 2 * addr_len);
        let le32 = |b: &[u8]| {
            b.get(..4)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map_or(0, u32::from_le_bytes)
        };
        let sec = le32(t);
        let usec = le32(t.get(4..).unwrap_or_default());
        let capt = t
            .get(8..10)
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
            .map_or(0, u16::from_le_bytes);
        (sec, usec, u32::from(capt))
    } else {
        (0, 0, 0)
    };
    Ok(HepPacket {
        meta: HepMeta {
            version: if version == 1 {
                HepVersion::V1
            } else {
                HepVersion::V2
            },
            ip_protocol,
            src_ip,
            dst_ip,
            src_port,
            dst_port,
            ts_sec,
            ts_usec,
            proto_type: proto_type::SIP,
            node_id,
            vlan: None,
        },
        payload: buf.get(need..).unwrap_or_default(),
        payload_compressed: false,
        auth_key: None,
        correlation_id: None,
        node_name: None,
        skipped_chunks: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kind_matches_variant() {
        let cases = [
            (HepError::Empty, ErrorKind::Empty),
            (HepError::UnknownVersion(9), ErrorKind::UnknownVersion),
            (
                HepError::TruncatedHeader { need: 6, have: 1 },
                ErrorKind::TruncatedHeader,
            ),
            (HepError::BadTotalLength(1), ErrorKind::BadTotalLength),
            (
                HepError::Truncated {
                    declared: 9,
                    actual: 8,
                },
                ErrorKind::Truncated,
            ),
            (
                HepError::TrailingBytes {
                    declared: 8,
                    actual: 9,
                },
                ErrorKind::TrailingBytes,
            ),
            (
                HepError::ChunkHeaderTruncated { offset: 6 },
                ErrorKind::ChunkHeaderTruncated,
            ),
            (
                HepError::ChunkLengthTooSmall {
                    offset: 6,
                    chunk_type: 1,
                    len: 2,
                },
                ErrorKind::ChunkLengthTooSmall,
            ),
            (
                HepError::ChunkOverrun {
                    offset: 6,
                    chunk_type: 1,
                    len: 9,
                    remaining: 7,
                },
                ErrorKind::ChunkOverrun,
            ),
            (
                HepError::BadChunkSize {
                    chunk_type: 1,
                    expected: 1,
                    got: 2,
                },
                ErrorKind::BadChunkSize,
            ),
            (HepError::DuplicateChunk(1), ErrorKind::DuplicateChunk),
            (HepError::UnknownFamily(3), ErrorKind::UnknownFamily),
            (HepError::FamilyMismatch(2), ErrorKind::FamilyMismatch),
            (
                HepError::MissingChunk(MissingChunk::Payload),
                ErrorKind::MissingChunk,
            ),
        ];
        assert_eq!(cases.len(), ErrorKind::COUNT);
        for (i, (e, k)) in cases.iter().enumerate() {
            assert_eq!(e.kind(), *k);
            assert_eq!(ErrorKind::ALL[i], *k);
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn v3_header_only_packet_lacks_family() {
        assert_eq!(
            decode(b"HEP3\x00\x06"),
            Err(HepError::MissingChunk(MissingChunk::IpFamily))
        );
    }

    #[test]
    fn v1_unknown_family_needs_full_fixed_header_first() {
        assert_eq!(
            decode(&[1, 16, 9, 17, 0]),
            Err(HepError::TruncatedHeader { need: 8, have: 5 })
        );
        assert_eq!(
            decode(&[1, 16, 9, 17, 0, 1, 0, 2]),
            Err(HepError::UnknownFamily(9))
        );
    }
}
