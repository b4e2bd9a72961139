//! Property tests: writer → reader round trips in every format, records cut anywhere, garbage
//! between records, concatenated files, arbitrary bytes.

mod common;

use std::borrow::Cow;

use common::*;
use lyncscope_logs::{
    detect, write_sipe, write_sipstack, write_uccapi, Direction, Endpoint, Format, Host, LogReader,
    ReadOptions, Record, SipRecord, WriteMeta,
};
use proptest::prelude::*;

const FORMATS: [Format; 3] = [Format::SipStack, Format::UccApi, Format::Sipe];

/// A SIP message with a correct Content-Length, in the shapes logs meet.
#[derive(Clone, Debug)]
struct Msg {
    bytes: Vec<u8>,
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    // Bodies start with a visible character: a body that is only a line break, or the single
    // line "-", cannot be told from the SIPStack empty-body forms (documented limit).
    let line = "[a-zA-Z0-9=:;<>/ .\"-]{0,40}";
    (
        prop::collection::vec(line, 0..6),
        prop::bool::ANY,
        prop::bool::ANY,
        "[a-z]",
    )
        .prop_map(|(lines, lf_only, trailing, first)| {
            if lines.is_empty() {
                return Vec::new();
            }
            let eol = if lf_only { "\n" } else { "\r\n" };
            let mut b = format!("{first}{}", lines.join(eol));
            if trailing {
                b.push_str(eol);
            }
            b.into_bytes()
        })
}

fn msg_strategy() -> impl Strategy<Value = Msg> {
    (
        prop::bool::ANY,
        prop::bool::ANY,
        prop::bool::ANY,
        body_strategy(),
        "[a-f0-9]{8,32}",
    )
        .prop_map(|(request, upper, compact, body, callid)| {
            let mut m = String::new();
            if request {
                m.push_str("INVITE sip:bob@contoso.com SIP/2.0\r\n");
            } else {
                m.push_str("SIP/2.0 200 OK\r\n");
            }
            let name = |n: &str| {
                if upper {
                    n.to_ascii_uppercase()
                } else {
                    n.to_string()
                }
            };
            m.push_str(&format!(
                "{}: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK{callid}\r\n",
                name("Via")
            ));
            m.push_str(&format!("{}: {callid}\r\n", name("Call-ID")));
            m.push_str(&format!("{}: 1 INVITE\r\n", name("CSeq")));
            if !body.is_empty() {
                m.push_str(&format!("{}: application/sdp\r\n", name("Content-Type")));
            }
            let cl = if compact {
                "l".to_string()
            } else {
                name("Content-Length")
            };
            m.push_str(&format!("{cl}: {}\r\n\r\n", body.len()));
            let mut bytes = m.into_bytes();
            bytes.extend_from_slice(&body);
            Msg { bytes }
        })
}

fn endpoint(i: usize) -> Endpoint<'static> {
    match i % 3 {
        0 => Endpoint {
            host: Host::Ip(
                format!("10.1.{}.{}", i % 250, (i * 7) % 250)
                    .parse()
                    .unwrap(),
            ),
            port: Some(5061),
        },
        1 => Endpoint {
            host: Host::Ip("2001:db8::17".parse().unwrap()),
            port: Some(50_000 + (i % 1000) as u16),
        },
        _ => Endpoint {
            host: Host::Name(Cow::Owned(format!("fe{i}.contoso.com"))),
            port: Some(5061),
        },
    }
}

fn meta(i: usize, offset: i32) -> WriteMeta<'static> {
    WriteMeta {
        time_ns: 1_700_000_000_000_000_000 + i as i64 * 1_234_000_000 + (i as i64 % 7) * 1_000_000,
        utc_offset_secs: offset,
        direction: if i.is_multiple_of(2) {
            Direction::Sent
        } else {
            Direction::Received
        },
        local: Some(endpoint(i + 1)),
        remote: Some(endpoint(i)),
        server: "fe01\\pool01",
        pid: 0x1F68,
        tid: 0x0C14 + i as u32,
        sequence: i as u32,
    }
}

fn write(format: Format, msgs: &[Msg], offset: i32) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let meta = meta(i, offset);
        match format {
            Format::SipStack => write_sipstack(&mut out, &m.bytes, &meta),
            Format::UccApi => write_uccapi(&mut out, &m.bytes, &meta),
            Format::Sipe => write_sipe(&mut out, &m.bytes, &meta),
        }
        .unwrap();
        ends.push(out.len());
    }
    (out, ends)
}

fn check_meta(format: Format, i: usize, r: &SipRecord<'_>) {
    let m = meta(i, 0);
    assert_eq!(r.format, format);
    assert_eq!(r.direction, Some(m.direction));
    assert_eq!(r.time_ns, Some(m.time_ns));
    match format {
        Format::SipStack => {
            assert_eq!(r.remote.clone().map(Endpoint::into_owned), m.remote);
            assert_eq!(r.origin.machine.as_deref(), Some("fe01\\pool01"));
            assert_eq!(r.origin.tid, Some(m.tid));
        }
        Format::UccApi => {
            assert_eq!(r.remote.clone().map(Endpoint::into_owned), m.remote);
            assert_eq!(r.local.clone().map(Endpoint::into_owned), m.local);
            assert_eq!(r.origin.pid, Some(m.pid));
        }
        Format::Sipe => assert_eq!(r.remote, None),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// What the writers write, the reader reads back: same bytes, same metadata, any read size.
    #[test]
    fn round_trip(msgs in prop::collection::vec(msg_strategy(), 1..6), step in 1usize..400, offset in -43_200i32..50_400) {
        for format in FORMATS {
            let (log, _) = write(format, &msgs, offset);
            prop_assert_eq!(detect(&log).format(), Some(format));
            let opts = ReadOptions { utc_offset_secs: offset, follow: false };
            let (recs, stats) = read_all_from(Trickle { data: &log, step }, format, opts);
            let s = sip(&recs);
            prop_assert_eq!(s.len(), msgs.len(), "{:?} {:?}", format, stats);
            for (i, (r, m)) in s.iter().zip(&msgs).enumerate() {
                prop_assert_eq!(r.message.as_ref(), &m.bytes[..], "{:?} #{}\n{}", format, i, String::from_utf8_lossy(&log));
                prop_assert!(!r.content_length_fixed);
                check_meta(format, i, r);
            }
            prop_assert_eq!(stats.cut_records, 0);
            prop_assert_eq!(stats.bytes, log.len() as u64);
        }
    }

    /// Cut anywhere: never a panic; every record that ends before the cut is read unchanged;
    /// a record cut after its first line and before its end marker line is counted as cut.
    #[test]
    fn cut_anywhere(msgs in prop::collection::vec(msg_strategy(), 1..4), frac in 0.0f64..1.0) {
        for format in FORMATS {
            let (log, ends) = write(format, &msgs, 0);
            let cut = ((log.len() as f64) * frac) as usize;
            let (recs, stats) = read_all(&log[..cut], format);
            let s = sip(&recs);
            let complete = ends.iter().filter(|&&e| e <= cut).count();
            prop_assert!(s.len() == complete || s.len() == complete + 1, "{:?} {} {}", format, s.len(), complete);
            for (r, m) in s.iter().zip(&msgs).take(complete) {
                prop_assert_eq!(r.message.as_ref(), &m.bytes[..]);
            }
            if s.len() == complete && complete < msgs.len() {
                let start = if complete == 0 { 0 } else { ends[complete - 1] };
                let rec = &log[start..ends[complete]];
                let first_line = rec.iter().position(|&b| b == b'\n').unwrap() + 1;
                // The line holding the end marker.
                let marker: &[u8] = match format {
                    Format::SipStack => b"$$end_record",
                    Format::UccApi => b"End of ",
                    Format::Sipe => b"MESSAGE END ",
                };
                let last_line = memchr::memmem::rfind(rec, marker).unwrap();
                let last_line = rec[..last_line].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                // sipe's record includes the Pidgin prefix line before the start marker.
                let first_line = if format == Format::Sipe {
                    first_line + rec[first_line..].iter().position(|&b| b == b'\n').unwrap() + 1
                } else { first_line };
                if cut >= start + first_line && cut < start + last_line {
                    prop_assert_eq!(stats.cut_records, 1, "{:?} cut {} in {}..{}", format, cut, start, ends[complete]);
                }
            }
        }
    }

    /// Garbage lines between records: every record still read, nothing panics.
    #[test]
    fn garbage_between_records(
        msgs in prop::collection::vec(msg_strategy(), 1..5),
        garbage in prop::collection::vec(prop::collection::vec(garbage_line(), 0..4), 6),
    ) {
        for format in FORMATS {
            let mut log = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                for g in &garbage[i] {
                    log.extend_from_slice(g);
                    log.push(b'\n');
                }
                let meta = meta(i, 0);
                match format {
                    Format::SipStack => write_sipstack(&mut log, &m.bytes, &meta),
                    Format::UccApi => write_uccapi(&mut log, &m.bytes, &meta),
                    Format::Sipe => write_sipe(&mut log, &m.bytes, &meta),
                }.unwrap();
            }
            for g in &garbage[5] {
                log.extend_from_slice(g);
            }
            let (recs, _) = read_all(&log, format);
            let s = sip(&recs);
            // Garbage lines can themselves make a record (a start marker, `SIP/2.0 200 OK`, an
            // end marker): such a record is read too, so the written messages must be there,
            // unchanged and in order, among at most one extra record per garbage start marker.
            let starts = garbage.iter().flatten().filter(|g| is_start_marker(g)).count();
            prop_assert!(s.len() >= msgs.len() && s.len() <= msgs.len() + starts,
                "{:?} {} read, {} written\n{}", format, s.len(), msgs.len(), String::from_utf8_lossy(&log));
            let mut read = s.iter();
            for (i, m) in msgs.iter().enumerate() {
                prop_assert!(read.any(|r| r.message.as_ref() == &m.bytes[..]),
                    "{:?}: message #{} not read\n{}", format, i, String::from_utf8_lossy(&log));
            }
        }
    }

    /// Two files concatenated read as one: all records, lines counted on.
    #[test]
    fn concatenated(a in prop::collection::vec(msg_strategy(), 1..3), b in prop::collection::vec(msg_strategy(), 1..3)) {
        for format in FORMATS {
            let (mut log, _) = write(format, &a, 0);
            let lines_a = log.iter().filter(|&&c| c == b'\n').count() as u64;
            let (log_b, _) = write(format, &b, 0);
            log.extend_from_slice(&log_b);
            let (recs, _) = read_all(&log, format);
            let s = sip(&recs);
            prop_assert_eq!(s.len(), a.len() + b.len());
            let (recs_b, _) = read_all(&log_b, format);
            prop_assert_eq!(s[a.len()].line, sip(&recs_b)[0].line + lines_a);
        }
    }

    /// Arbitrary bytes in every format, in any read size: no panic, stats consistent.
    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..4096), step in 1usize..64) {
        let _ = detect(&data);
        for format in FORMATS {
            let (recs, stats) = read_all_from(Trickle { data: &data, step }, format, ReadOptions::default());
            prop_assert_eq!(stats.sip_messages + stats.server_events, recs.len() as u64);
            prop_assert_eq!(stats.bytes, data.len() as u64);
        }
        let _ = LogReader::open(&data[..], ReadOptions::default()).unwrap();
    }

    /// How the input is cut into reads changes nothing: the records and every counter are those
    /// of one read (format fragments with whole written records among them).
    #[test]
    fn read_size_changes_nothing(
        lines in prop::collection::vec(garbage_line(), 0..40),
        msgs in prop::collection::vec(msg_strategy(), 0..3),
        step in 1usize..300,
        crlf in prop::bool::ANY,
    ) {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let text = |ls: &[Vec<u8>]| -> Vec<u8> {
            ls.iter().flat_map(|l| l.iter().copied().chain(eol.iter().copied())).collect()
        };
        let half = lines.len() / 2;
        for format in FORMATS {
            let mut data = text(&lines[..half]);
            data.extend_from_slice(&write(format, &msgs, 0).0);
            data.extend_from_slice(&text(&lines[half..]));
            let whole = read_all(&data, format);
            let pieces = read_all_from(Trickle { data: &data, step }, format, ReadOptions::default());
            prop_assert_eq!(&whole.0, &pieces.0);
            prop_assert_eq!(&whole.1, &pieces.1);
        }
    }

    /// Arbitrary lines built from format fragments (more likely to reach deep states).
    #[test]
    fn fragment_soup(lines in prop::collection::vec(garbage_line(), 0..60), crlf in prop::bool::ANY) {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let data: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain(eol.iter().copied())).collect();
        for format in FORMATS {
            let (recs, stats) = read_all(&data, format);
            prop_assert_eq!(stats.sip_messages + stats.server_events, recs.len() as u64);
            for r in &recs {
                if let Record::Sip(s) = r {
                    prop_assert!(s.message.ends_with(b"\r\n") || !s.message.is_empty());
                }
            }
        }
    }
}

/// A garbage line that opens a record in one of the formats.
fn is_start_marker(line: &[u8]) -> bool {
    let has = |n: &[u8]| memchr::memmem::find(line, n).is_some();
    has(b"$$begin_record") || has(b"Sending Packet") || has(b"MESSAGE START")
}

fn garbage_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..80),
        Just(b"TL_INFO(TF_CONNECTION) [0]0001.0002::01/01/2020-00:00:00.000.1 (SIPStack,A::B:c.cpp(1)) text".to_vec()),
        Just(b"TL_INFO(TF_PROTOCOL) [0]0001.0002::01/01/2020-00:00:00.000.1 (SIPStack,A::B:c.cpp(1))$$begin_record".to_vec()),
        Just(b"Start-Line: INVITE sip:x SIP/2.0".to_vec()),
        Just(b"Message-Body: -".to_vec()),
        Just(b"$$end_record".to_vec()),
        Just(b"01/01/2020|00:00:00.000 1:2 INFO :: Sending Packet - 1.2.3.4:5 (From Local Address: 1.1.1.1:1) 10 bytes:".to_vec()),
        Just(b"01/01/2020|00:00:00.000 1:2 INFO :: End of Data Received -1.2.3.4:5 (To Local Address: 1.1.1.1:1) 10 bytes".to_vec()),
        Just(b"01/01/2020|00:00:00.000 1:2 INFO :: some trace".to_vec()),
        Just(b"MESSAGE START >>>>>>>>>> SIP - 2020-01-01T00:00:00Z".to_vec()),
        Just(b"MESSAGE END >>>>>>>>>> SIP - 2020-01-01T00:00:00Z".to_vec()),
        Just(b"SIP/2.0 200 OK".to_vec()),
        Just(b"Content-Length: 5".to_vec()),
        Just(Vec::new()),
    ]
}

/// A record arriving a byte at a time is scanned about once per line, not once per byte: the
/// reader's work stays linear in the input however small the reads (a record of 4,000 body lines
/// took 200,000 scans of up to 150 KB each before).
#[test]
fn a_record_read_byte_by_byte_is_scanned_once_per_line() {
    let body: Vec<u8> = (0..4000)
        .flat_map(|i| format!("a=x-line:{i:05} {}\r\n", "v".repeat(20)).into_bytes())
        .collect();
    let mut bytes = format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: big\r\nCSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    let msgs = [Msg { bytes }];
    for format in FORMATS {
        let data = write(format, &msgs, 0).0;
        let lines = data.iter().filter(|b| **b == b'\n').count() as u64;
        let mut reader = LogReader::new(
            Trickle {
                data: &data,
                step: 1,
            },
            format,
            ReadOptions::default(),
        );
        let mut got = Vec::new();
        while let Some(rec) = reader.next_record().unwrap() {
            got.push(owned(rec));
        }
        assert_eq!(got, read_all(&data, format).0, "{format:?}");
        assert_eq!(got.len(), 1, "{format:?}");
        assert!(
            reader.scans() <= lines + 4,
            "{format:?}: {} scans for {lines} lines",
            reader.scans()
        );
    }
}
