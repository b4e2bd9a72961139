//! Captures are assembled in memory by the helpers below and written to temporary files.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::linktype;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A temporary file, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, bytes: &[u8]) -> TempFile {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "lyncscope-capture-{}-{n}-{tag}",
            std::process::id()
        ));
        std::fs::write(&path, bytes).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A frame copied out of the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owned {
    number: u64,
    timestamp: i64,
    link_type: u32,
    data: Vec<u8>,
    original_len: u32,
    source: u32,
}

fn read_all(files: &[&TempFile]) -> (Vec<Owned>, Vec<String>) {
    let paths: Vec<String> = files.iter().map(|f| f.path()).collect();
    let mut capture = CaptureFiles::open(&paths).expect("open");
    let frames = drain(&mut capture);
    (
        frames,
        capture.warnings().iter().map(|w| w.to_string()).collect(),
    )
}

fn drain(capture: &mut CaptureFiles) -> Vec<Owned> {
    let mut frames = Vec::new();
    while let Some(f) = capture.next_frame() {
        frames.push(Owned {
            number: f.number,
            timestamp: f.timestamp.0,
            link_type: f.link_type,
            data: f.data.to_vec(),
            original_len: f.original_len,
            source: f.source,
        });
    }
    frames
}

fn open_err(bytes: &[u8]) -> (String, CaptureError) {
    let file = TempFile::new("bad", bytes);
    let err = CaptureFiles::open(&[file.path()])
        .err()
        .expect("should be refused");
    (file.path(), err)
}

fn put32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

/// A classic pcap file; `records` are (seconds, fraction, data).
fn pcap(nanos: bool, be: bool, link: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    put32(&mut out, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, be);
    put16(&mut out, 2, be);
    put16(&mut out, 4, be);
    put32(&mut out, 0, be);
    put32(&mut out, 0, be);
    put32(&mut out, 65535, be);
    put32(&mut out, link, be);
    for &(secs, frac, data) in records {
        pcap_record(
            &mut out,
            be,
            secs,
            frac,
            data.len() as u32,
            data.len() as u32 + 4,
        );
        out.extend_from_slice(data);
    }
    out
}

fn pcap_record(out: &mut Vec<u8>, be: bool, secs: u32, frac: u32, caplen: u32, orig: u32) {
    put32(out, secs, be);
    put32(out, frac, be);
    put32(out, caplen, be);
    put32(out, orig, be);
}

/// A pcapng file being assembled block by block.
struct Ng {
    out: Vec<u8>,
    be: bool,
}

impl Ng {
    fn new() -> Ng {
        Ng {
            out: Vec::new(),
            be: false,
        }
    }

    /// A block of any type: header, body padded to 32 bits, trailer.
    fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Ng {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        put32(&mut self.out, block_type, self.be);
        put32(&mut self.out, len, self.be);
        self.out.extend_from_slice(body);
        self.out.resize(self.out.len() + padded - body.len(), 0);
        put32(&mut self.out, len, self.be);
        self
    }

    fn shb(&mut self, be: bool) -> &mut Ng {
        self.be = be;
        let mut body = Vec::new();
        put32(&mut body, 0x1a2b_3c4d, be);
        put16(&mut body, 1, be);
        put16(&mut body, 0, be);
        body.extend_from_slice(&[0xff; 8]); // section length unknown
        self.options(&mut body, &[(4, b"lyncscope tests")]); // shb_userappl
        self.block(0x0a0d_0d0a, &body)
    }

    fn options(&self, body: &mut Vec<u8>, options: &[(u16, &[u8])]) {
        if options.is_empty() {
            return;
        }
        for &(code, value) in options {
            put16(body, code, self.be);
            put16(body, value.len() as u16, self.be);
            body.extend_from_slice(value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        body.extend_from_slice(&[0; 4]); // opt_endofopt
    }

    fn idb(&mut self, link: u16, snaplen: u32, options: &[(u16, &[u8])]) -> &mut Ng {
        let mut body = Vec::new();
        put16(&mut body, link, self.be);
        put16(&mut body, 0, self.be);
        put32(&mut body, snaplen, self.be);
        self.options(&mut body, options);
        self.block(1, &body)
    }

    fn epb(&mut self, interface: u32, ts: u64, data: &[u8]) -> &mut Ng {
        let mut body = Vec::new();
        put32(&mut body, interface, self.be);
        put32(&mut body, (ts >> 32) as u32, self.be);
        put32(&mut body, ts as u32, self.be);
        put32(&mut body, data.len() as u32, self.be);
        put32(&mut body, data.len() as u32 + 10, self.be);
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        // epb_flags, to exercise options after the data.
        self.options(&mut body, &[(2, &[1, 0, 0, 0])]);
        self.block(6, &body)
    }

    fn spb(&mut self, original_len: u32, data: &[u8]) -> &mut Ng {
        let mut body = Vec::new();
        put32(&mut body, original_len, self.be);
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    /// The obsolete Packet Block.
    fn pb(&mut self, interface: u16, ts: u64, data: &[u8]) -> &mut Ng {
        let mut body = Vec::new();
        put16(&mut body, interface, self.be);
        put16(&mut body, 0, self.be);
        put32(&mut body, (ts >> 32) as u32, self.be);
        put32(&mut body, ts as u32, self.be);
        put32(&mut body, data.len() as u32, self.be);
        put32(&mut body, data.len() as u32, self.be);
        body.extend_from_slice(data);
        self.block(2, &body)
    }

    fn bytes(&self) -> Vec<u8> {
        self.out.clone()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// Deterministic pseudo-random bytes (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const SEC: i64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------------
// Classic pcap

#[test]
fn pcap_microsecond_and_nanosecond_in_both_byte_orders() {
    for nanos in [false, true] {
        for be in [false, true] {
            let bytes = pcap(
                nanos,
                be,
                linktype::ETHERNET,
                &[
                    (1_700_000_000, 123_456, b"first"),
                    (1_700_000_001, 999_999, b"second!"),
                ],
            );
            let file = TempFile::new("pcap", &bytes);
            let (frames, warnings) = read_all(&[&file]);
            assert!(warnings.is_empty(), "{warnings:?}");
            let unit = if nanos { 1 } else { 1000 };
            assert_eq!(
                frames,
                vec![
                    Owned {
                        number: 1,
                        timestamp: 1_700_000_000 * SEC + 123_456 * unit,
                        link_type: linktype::ETHERNET,
                        data: b"first".to_vec(),
                        original_len: 9,
                        source: 0,
                    },
                    Owned {
                        number: 2,
                        timestamp: 1_700_000_001 * SEC + 999_999 * unit,
                        link_type: linktype::ETHERNET,
                        data: b"second!".to_vec(),
                        original_len: 11,
                        source: 0,
                    },
                ],
                "nanos={nanos} be={be}"
            );
        }
    }
}

#[test]
fn pcap_link_type_ignores_fcs_bits_and_empty_capture_has_no_frames() {
    let bytes = pcap(
        false,
        false,
        0x1400_0000 | linktype::RAW,
        &[(1, 0, b"\x45")],
    );
    let file = TempFile::new("fcs", &bytes);
    let (frames, _) = read_all(&[&file]);
    assert_eq!(frames[0].link_type, linktype::RAW);

    let header_only = TempFile::new("hdr", &pcap(false, true, 1, &[]));
    let (frames, warnings) = read_all(&[&header_only]);
    assert!(frames.is_empty() && warnings.is_empty(), "{warnings:?}");
}

#[test]
fn records_up_to_256_kib_and_larger_pcapng_blocks_grow_the_buffer() {
    let big: Vec<u8> = (0..262_144u32).map(|i| i as u8).collect();
    let mut bytes = pcap(false, false, 1, &[(1, 0, &big), (2, 0, b"after")]);
    // snaplen 262144, as tcpdump writes.
    bytes.splice(16..20, 262_144u32.to_le_bytes());
    let file = TempFile::new("big", &bytes);
    let (frames, warnings) = read_all(&[&file]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].data, big);
    assert_eq!(frames[1].data, b"after");

    let huge: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
    let mut ng = Ng::new();
    ng.shb(false)
        .idb(1, 0, &[])
        .epb(0, 1, &huge)
        .epb(0, 2, b"tail");
    let file = TempFile::new("bigng", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].data, huge);
    assert_eq!(frames[1].data, b"tail");
}

// ---------------------------------------------------------------------------------------------
// pcapng

#[test]
fn pcapng_sections_interfaces_and_timestamp_resolutions() {
    let t0: i64 = 1_700_000_000;
    let mut ng = Ng::new();
    // Section 1, little-endian: µs Ethernet (explicit if_tsresol 6) and ns raw IP with an
    // if_tsoffset of 100 s.
    ng.shb(false)
        .idb(1, 65535, &[(2, b"eth0"), (9, &[6])])
        .idb(101, 0, &[(9, &[9]), (14, &100i64.to_le_bytes())])
        .epb(0, (t0 as u64) * 1_000_000 + 250_000, b"eth-us")
        .epb(1, ((t0 - 100) as u64) * 1_000_000_000 + 7, b"raw-ns")
        .spb(35, b"simple packet block of 35 bytes....");
    // Section 2, big-endian: interfaces start again; interface 0 counts in 2^-10 s with an
    // offset of t0 seconds, interface 1 has no if_tsresol (µs).
    ng.shb(true)
        .idb(113, 0, &[(14, &t0.to_be_bytes()), (9, &[0x80 | 10])])
        .idb(228, 0, &[])
        .epb(0, 3 * 1024 + 512, b"sll-binary")
        .pb(1, (t0 as u64) * 1_000_000 + 1, b"obsolete packet block")
        .spb(4, b"cut to origlen");
    let file = TempFile::new("ng", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let got: Vec<(u64, i64, u32, &[u8], u32)> = frames
        .iter()
        .map(|f| {
            (
                f.number,
                f.timestamp,
                f.link_type,
                f.data.as_slice(),
                f.original_len,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, t0 * SEC + 250_000_000, 1, &b"eth-us"[..], 16),
            (2, t0 * SEC + 7, 101, &b"raw-ns"[..], 16),
            // The SPB has no time: it takes the last one seen.
            (
                3,
                t0 * SEC + 7,
                1,
                &b"simple packet block of 35 bytes...."[..],
                35
            ),
            (4, (t0 + 3) * SEC + 500_000_000, 113, &b"sll-binary"[..], 20),
            (5, t0 * SEC + 1000, 228, &b"obsolete packet block"[..], 21),
            (6, t0 * SEC + 1000, 113, &b"cut "[..], 4),
        ]
    );
}

#[test]
fn simple_packet_block_is_cut_to_the_interface_snaplen() {
    let mut ng = Ng::new();
    ng.shb(false).idb(1, 3, &[]).spb(10, b"0123456789");
    let file = TempFile::new("spb", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(frames[0].data, b"012");
    assert_eq!(frames[0].original_len, 10);
}

#[test]
fn packet_blocks_for_undeclared_interfaces_are_skipped_with_one_counted_warning() {
    let mut ng = Ng::new();
    ng.shb(false).spb(3, b"abc").idb(1, 0, &[]).epb(0, 1, b"ok");
    for _ in 0..5 {
        ng.epb(7, 2, b"nowhere");
    }
    ng.epb(0, 3, b"ok again");
    let file = TempFile::new("unk", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(
        frames.iter().map(|f| f.number).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(frames[1].data, b"ok again");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("skipped 6 packet blocks"),
        "{warnings:?}"
    );
    assert!(warnings[0].starts_with(&file.path()), "{warnings:?}");
}

#[test]
fn unknown_and_metadata_blocks_are_skipped() {
    let mut ng = Ng::new();
    ng.shb(true)
        .block(0x0000_0bad, b"custom block!")
        .idb(1, 0, &[])
        .block(5, &[0; 28]) // interface statistics
        .block(4, &[0; 4]) // name resolution, end of records only
        .epb(0, 1, b"x")
        .block(0x1234_5678, &[]);
    let file = TempFile::new("meta", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(frames.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// gzip, several inputs

#[test]
fn gzip_is_detected_by_content_and_progress_counts_compressed_bytes() {
    let plain = pcap(true, false, 1, &[(10, 5, b"one"), (11, 6, b"two")]);
    let mut ng = Ng::new();
    ng.shb(false).idb(1, 0, &[]).epb(0, 1_000_000, b"three");
    // Two gzip members (as `cat a.gz b.gz` makes), cut in the middle of a record.
    let mut compressed = gzip(&plain[..30]);
    compressed.extend_from_slice(&gzip(&plain[30..]));
    let gz = TempFile::new("capture.bin", &compressed);
    let ng_gz = TempFile::new("ng.pcapng.gz", &gzip(&ng.bytes()));

    let paths = [gz.path(), ng_gz.path()];
    let mut capture = CaptureFiles::open(&paths).expect("open");
    let total =
        (compressed.len() + std::fs::metadata(&ng_gz.0).expect("size").len() as usize) as u64;
    assert_eq!(capture.total_bytes(), Some(total));
    assert_eq!(capture.bytes_read(), 0);
    let frames = drain(&mut capture);
    assert_eq!(capture.bytes_read(), total);
    assert!(capture.warnings().is_empty(), "{:?}", capture.warnings());
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].timestamp, 10 * SEC + 5);
    assert_eq!(frames[2].data, b"three");
    assert_eq!(frames[2].timestamp, SEC);
    assert_eq!(frames[2].source, 1);
}

#[test]
fn frames_are_numbered_across_inputs() {
    let a = TempFile::new("a", &pcap(false, false, 1, &[(1, 0, b"a1"), (2, 0, b"a2")]));
    let mut ng = Ng::new();
    ng.shb(true).idb(101, 0, &[]).epb(0, 3_000_000, b"b1");
    let b = TempFile::new("b", &ng.bytes());
    let c = TempFile::new("c", &pcap(true, true, 113, &[(4, 0, b"c1"), (5, 0, b"c2")]));
    let (frames, warnings) = read_all(&[&a, &b, &c]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let got: Vec<(u64, u32, &[u8], u32)> = frames
        .iter()
        .map(|f| (f.number, f.source, f.data.as_slice(), f.link_type))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 0, &b"a1"[..], 1),
            (2, 0, &b"a2"[..], 1),
            (3, 1, &b"b1"[..], 101),
            (4, 2, &b"c1"[..], 113),
            (5, 2, &b"c2"[..], 113),
        ]
    );
    let mut capture = CaptureFiles::open(&[a.path(), b.path()]).expect("open");
    assert_eq!(capture.source_names(), &[a.path(), b.path()]);
    drain(&mut capture);
}

// ---------------------------------------------------------------------------------------------
// Damaged inputs

#[test]
fn truncated_file_yields_frames_up_to_the_cut_and_a_warning() {
    let full = pcap(
        false,
        false,
        1,
        &[(1, 0, b"complete"), (2, 0, b"complete too"), (3, 0, b"cut")],
    );
    let cut = &full[..full.len() - 2];
    let file = TempFile::new("cut", cut);
    let next = TempFile::new("next", &pcap(false, false, 1, &[(9, 0, b"next file")]));
    let (frames, warnings) = read_all(&[&file, &next]);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2].data, b"next file");
    assert_eq!(frames[2].number, 3);
    let record_start = 24 + 16 + 8 + 16 + 12;
    assert_eq!(
        warnings,
        vec![format!(
            "{}: capture cut off inside a record after 2 frames (byte offset {record_start}); \
             frames up to the cut were read",
            file.path()
        )]
    );

    // Cut inside a record header, in a gzip'd pcapng.
    let mut ng = Ng::new();
    ng.shb(false)
        .idb(1, 0, &[])
        .epb(0, 1, b"whole")
        .epb(0, 2, b"partial");
    let bytes = ng.bytes();
    let cut = &bytes[..bytes.len() - 40];
    let file = TempFile::new("cutng", &gzip(cut));
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(frames.len(), 1);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("cut off inside a record after 1 frames"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains("in the decompressed data"),
        "{warnings:?}"
    );
}

#[test]
fn truncated_gzip_stream_keeps_the_frames_before_the_cut() {
    let records: Vec<(u32, u32, Vec<u8>)> = (0..2000)
        .map(|i| (i, 0, format!("packet number {i}").into_bytes()))
        .collect();
    let records: Vec<(u32, u32, &[u8])> =
        records.iter().map(|(s, f, d)| (*s, *f, &d[..])).collect();
    let compressed = gzip(&pcap(false, false, 1, &records));
    let file = TempFile::new("cutgz", &compressed[..compressed.len() * 2 / 3]);
    let (frames, warnings) = read_all(&[&file]);
    assert!(
        !frames.is_empty() && frames.len() < 2000,
        "{}",
        frames.len()
    );
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.data, format!("packet number {i}").into_bytes());
    }
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let expected = format!(
        "{}: capture cut off inside a record after {} frames (byte offset ",
        file.path(),
        frames.len()
    );
    assert!(warnings[0].starts_with(&expected), "{warnings:?}");
    assert!(warnings[0].contains("in the decompressed data; the compressed data ends early"));
}

#[test]
fn garbage_after_a_valid_header_is_a_warning() {
    let mut rng = Rng(42);
    let mut bytes = pcap(false, false, 1, &[(1, 0, b"good")]);
    bytes.extend(rng.bytes(5000));
    let file = TempFile::new("garbage", &bytes);
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(frames.len(), 1);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("corrupt record header"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("byte offset 44"), "{warnings:?}");

    let mut ng = Ng::new();
    ng.shb(false).idb(1, 0, &[]).epb(0, 1, b"good");
    let mut bytes = ng.bytes();
    bytes.extend(rng.bytes(5000));
    let file = TempFile::new("garbageng", &bytes);
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(frames.len(), 1);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn huge_claimed_lengths_are_corruption_not_allocations() {
    let mut bytes = pcap(false, false, 1, &[(1, 0, b"good")]);
    pcap_record(&mut bytes, false, 2, 0, 0xffff_fff0, 0xffff_fff0);
    bytes.extend_from_slice(&[0; 100]);
    let file = TempFile::new("hugepcap", &bytes);
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(frames.len(), 1);
    assert!(
        warnings[0].contains("claims 4294967280 captured bytes"),
        "{warnings:?}"
    );

    for claimed in [0x7fff_fff0u32, 0xffff_fffc, (64 << 20) + 4] {
        let mut ng = Ng::new();
        ng.shb(false).idb(1, 0, &[]).epb(0, 1, b"good");
        let mut bytes = ng.bytes();
        put32(&mut bytes, 6, false);
        put32(&mut bytes, claimed, false);
        bytes.extend_from_slice(&[0; 100]);
        let file = TempFile::new("hugeng", &bytes);
        let (frames, warnings) = read_all(&[&file]);
        assert_eq!(frames.len(), 1);
        assert!(
            warnings[0].contains(&format!("length {claimed}")),
            "{warnings:?}"
        );
    }

    // Within the bound but beyond the end of the file: read until the end, then cut off.
    let mut ng = Ng::new();
    ng.shb(false).idb(1, 0, &[]).epb(0, 1, b"good");
    let mut bytes = ng.bytes();
    put32(&mut bytes, 6, false);
    put32(&mut bytes, 32 << 20, false);
    bytes.extend_from_slice(&[0; 100]);
    let file = TempFile::new("bigclaim", &bytes);
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(frames.len(), 1);
    assert!(warnings[0].contains("cut off"), "{warnings:?}");
}

#[test]
fn inconsistent_blocks_are_corruption() {
    // Captured length larger than the block.
    let mut ng = Ng::new();
    ng.shb(false).idb(1, 0, &[]).epb(0, 1, b"good");
    let good_len = ng.out.len();
    ng.epb(0, 2, b"liar");
    let caplen_at = good_len + 20;
    ng.out
        .splice(caplen_at..caplen_at + 4, 1000u32.to_le_bytes());
    let file = TempFile::new("liar", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert_eq!(frames.len(), 1);
    assert!(
        warnings[0].contains("claims 1000 captured bytes"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains(&format!("byte offset {good_len}")),
        "{warnings:?}"
    );

    // Trailing length differs from the leading one.
    let mut ng = Ng::new();
    ng.shb(false).idb(1, 0, &[]).epb(0, 1, b"good");
    let end = ng.out.len();
    ng.out.splice(end - 4..end, 8u32.to_le_bytes());
    let file = TempFile::new("lens", &ng.bytes());
    let (frames, warnings) = read_all(&[&file]);
    assert!(frames.is_empty());
    assert!(
        warnings[0].contains("two length fields disagree"),
        "{warnings:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Refused inputs

#[test]
fn text_file_is_not_a_capture() {
    let (path, err) = open_err(b"INVITE sip:bob@example.com SIP/2.0\r\nVia: ...\r\n");
    assert!(
        matches!(&err, CaptureError::NotACapture { what, .. } if what == "text file"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{path}: not a capture file (text file)")
    );

    let (_, err) = open_err(b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<caf\xc3\xa9");
    assert!(err.to_string().ends_with("(text file)"), "{err}");
}

#[test]
fn empty_and_unknown_files_are_described() {
    let (path, err) = open_err(b"");
    assert_eq!(
        err.to_string(),
        format!("{path}: not a capture file (empty file)")
    );

    let (_, err) = open_err(&[0x3c, 0x3f, 0x78, 0x6d, 0, 1, 2, 3]);
    assert!(
        err.to_string().ends_with("(unknown magic 0x3c3f786d)"),
        "{err}"
    );

    let (_, err) = open_err(&gzip(b"just some text\n"));
    assert!(
        err.to_string()
            .contains("gzip data that is not a capture (it holds text file)"),
        "{err}"
    );

    let (_, err) = open_err(&[0x1f, 0x8b, 8, 0, 0, 0]);
    assert!(
        err.to_string()
            .contains("gzip data that cannot be decompressed"),
        "{err}"
    );

    let (_, err) = open_err(&pcap(false, false, 1, &[])[..20]);
    assert!(
        err.to_string()
            .contains("pcap file header cut off after 20 bytes"),
        "{err}"
    );

    let mut ng = Ng::new();
    ng.shb(true);
    let (_, err) = open_err(&ng.bytes()[..30]);
    assert!(
        err.to_string()
            .contains("cut off inside its section header"),
        "{err}"
    );

    let (_, err) = open_err(b"BZh91AY&SY\x12\x9c\xf0");
    assert!(err.to_string().contains("bzip2"), "{err}");

    let (_, err) = open_err(&[0xd4]);
    assert!(
        err.to_string()
            .contains("too short to be a capture (1 bytes)"),
        "{err}"
    );

    assert!(!err.to_string().contains('\n'));
}

#[test]
fn missing_file_is_unreadable_with_the_os_message() {
    let path = std::env::temp_dir().join("lyncscope-capture-does-not-exist.pcap");
    let path = path.to_string_lossy().into_owned();
    let good = TempFile::new("good", &pcap(false, false, 1, &[]));
    let err = CaptureFiles::open(&[good.path(), path.clone()])
        .err()
        .expect("missing");
    assert!(matches!(err, CaptureError::Unreadable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{path}: No such file or directory (os error 2)")
    );

    let dir = std::env::temp_dir().to_string_lossy().into_owned();
    let err = CaptureFiles::open(std::slice::from_ref(&dir))
        .err()
        .expect("directory");
    assert!(matches!(err, CaptureError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&dir), "{err}");
}

#[test]
fn input_removed_after_open_is_a_warning() {
    let a = TempFile::new("gone", &pcap(false, false, 1, &[(1, 0, b"x")]));
    let b = TempFile::new("stays", &pcap(false, false, 1, &[(1, 0, b"y")]));
    let mut capture = CaptureFiles::open(&[a.path(), b.path()]).expect("open");
    drop(a);
    let frames = drain(&mut capture);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].source, 1);
    assert_eq!(capture.warnings().len(), 1);
    assert!(
        capture.warnings()[0].to_string().contains("No such file"),
        "{:?}",
        capture.warnings()
    );
}

/// A pipe (as `<(zcat capture.gz)` gives) can be read only once: it is identified and read
/// from the same opening.
#[cfg(target_os = "linux")]
#[test]
fn pipe_input_is_read_once() {
    use std::os::fd::AsRawFd;
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    let bytes = gzip(&pcap(
        false,
        false,
        1,
        &[(1, 0, b"through a pipe"), (2, 0, b"two")],
    ));
    writer.write_all(&bytes).expect("write to pipe");
    drop(writer);
    let path = format!("/dev/fd/{}", reader.as_raw_fd());
    let mut capture = CaptureFiles::open(std::slice::from_ref(&path)).expect("open");
    assert_eq!(capture.total_bytes(), None);
    let frames = drain(&mut capture);
    assert!(capture.warnings().is_empty(), "{:?}", capture.warnings());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].data, b"through a pipe");
    assert_eq!(capture.bytes_read(), bytes.len() as u64);
}

#[test]
fn capture_files_can_move_to_another_thread() {
    fn is_send<T: Send>() {}
    is_send::<CaptureFiles>();
}

// ---------------------------------------------------------------------------------------------
// Robustness

/// Random inputs behind every magic, random bytes after valid headers, and valid files with
/// random damage: nothing may panic, every frame must lie inside what was read.
#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ng_le = Ng::new();
    ng_le
        .shb(false)
        .idb(1, 0, &[(9, &[9])])
        .epb(0, 5, b"hello")
        .spb(3, b"abc")
        .pb(0, 1, b"pb");
    let mut ng_be = Ng::new();
    ng_be
        .shb(true)
        .idb(113, 64, &[(9, &[0x8a])])
        .epb(0, 5, b"hello")
        .epb(1, 5, b"no if");
    let valid = [
        pcap(false, false, 1, &[(1, 2, b"abcdef"), (3, 4, b"ghij")]),
        pcap(true, true, 101, &[(1, 2, b"abcdef"), (3, 4, b"ghij")]),
        ng_le.bytes(),
        ng_be.bytes(),
    ];
    let magics: [&[u8]; 8] = [
        &[0xd4, 0xc3, 0xb2, 0xa1],
        &[0xa1, 0xb2, 0xc3, 0xd4],
        &[0x4d, 0x3c, 0xb2, 0xa1],
        &[0xa1, 0xb2, 0x3c, 0x4d],
        &[0x34, 0xcd, 0xb2, 0xa1],
        &[
            0x0a, 0x0d, 0x0d, 0x0a, 0x40, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a,
        ],
        &[
            0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0x40, 0x1a, 0x2b, 0x3c, 0x4d,
        ],
        &[0x1f, 0x8b],
    ];
    let mut inputs = Vec::new();
    for magic in magics {
        for _ in 0..200 {
            let mut bytes = magic.to_vec();
            let n = rng.below(300);
            bytes.extend(rng.bytes(n));
            inputs.push(bytes);
        }
    }
    for base in &valid {
        for _ in 0..200 {
            let mut bytes = base.clone();
            match rng.below(3) {
                0 => {
                    let n = rng.below(400);
                    bytes.extend(rng.bytes(n));
                }
                1 => {
                    for _ in 0..=rng.below(4) {
                        let at = rng.below(bytes.len());
                        bytes[at] ^= 1 << rng.below(8);
                    }
                }
                _ => bytes.truncate(rng.below(bytes.len())),
            }
            if rng.below(4) == 0 {
                bytes = gzip(&bytes);
            }
            inputs.push(bytes);
        }
    }
    let mut opened = 0;
    for bytes in &inputs {
        let file = TempFile::new("fuzz", bytes);
        let Ok(mut capture) = CaptureFiles::open(&[file.path()]) else {
            continue;
        };
        opened += 1;
        let mut count = 0;
        while let Some(frame) = capture.next_frame() {
            count += 1;
            assert_eq!(frame.number, count);
            assert!(frame.data.len() <= bytes.len().max(1 << 20));
        }
        for w in capture.warnings() {
            let w = w.to_string();
            assert!(w.starts_with(&file.path()) && !w.contains('\n'), "{w}");
        }
    }
    assert!(opened > 500, "only {opened} random inputs were captures");
}

// ---------------------------------------------------------------------------------------------
// Real captures

#[test]
fn public_captures_have_the_expected_frame_counts() {
    let dir = std::path::Path::new("/work/shared/captures/public");
    let summary = std::path::Path::new("/work/shared/captures/oracle/summary.tsv");
    if !dir.is_dir() || !summary.is_file() {
        println!(
            "note: {} not present; real-capture check skipped",
            dir.display()
        );
        return;
    }
    let summary = std::fs::read_to_string(summary).expect("summary.tsv");
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let file_col = header
        .iter()
        .position(|&c| c == "file")
        .expect("file column");
    let frames_col = header
        .iter()
        .position(|&c| c == "frames")
        .expect("frames column");
    let mut checked = 0;
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(expected)) = (cols.get(file_col), cols.get(frames_col)) else {
            continue;
        };
        let expected: u64 = expected.parse().expect("frames is a number");
        let path = dir.join(name).to_string_lossy().into_owned();
        let mut capture =
            CaptureFiles::open(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{e}"));
        let mut frames = 0;
        while let Some(frame) = capture.next_frame() {
            frames += 1;
            assert!(frame.data.len() as u64 <= u64::from(frame.original_len).max(262_144));
        }
        assert_eq!(frames, expected, "{name}: {:?}", capture.warnings());
        assert_eq!(Some(capture.bytes_read()), capture.total_bytes(), "{name}");
        checked += 1;
    }
    assert!(checked > 0);
}

/// Throughput check, to be run by hand in an optimised build:
/// `cargo test --lib capture::file::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    const PACKETS: u32 = 2_000_000;
    let packet = [0x5a; 64];
    let records: Vec<(u32, u32, &[u8])> = (0..PACKETS).map(|i| (i, 0, &packet[..])).collect();
    let mut ng = Ng::new();
    ng.shb(false).idb(1, 0, &[]);
    for i in 0..PACKETS {
        ng.epb(0, u64::from(i), &packet);
    }
    for (what, bytes) in [
        ("pcap", pcap(false, false, 1, &records)),
        ("pcapng", ng.bytes()),
    ] {
        let file = TempFile::new("throughput", &bytes);
        let start = std::time::Instant::now();
        let mut capture = CaptureFiles::open(&[file.path()]).expect("open");
        let mut total = 0usize;
        while let Some(frame) = capture.next_frame() {
            total += frame.data.len();
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(total, PACKETS as usize * packet.len());
        println!("{what}: {:.1} M packets/s", f64::from(PACKETS) / secs / 1e6);
    }
}
