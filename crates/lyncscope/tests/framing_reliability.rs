//! Issue 16, SIP framing and the TCP accounting, through the whole pipeline: a bad start line
//! that looks like SIP does not swallow a TCP stream; a status line without a reason phrase is
//! a status line on every transport; the text report shows the bytes TCP skipped; with the
//! memory bounds hit, each lost message, each connection and each dropped byte is counted once,
//! in a counter that names the bound.

use lyncscope::analysis::StartKind;
use lyncscope::capture::Frame;
use lyncscope::pipeline::Pipeline;
use lyncscope::report::{self, ReportInput};
use lyncscope::Timestamp;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// An Ethernet / IPv4 frame carrying one TCP segment or UDP datagram from 10.0.0.`from` port
/// `sport` to 10.0.0.200 port 5060.
fn frame(udp: bool, from: u8, sport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let l4 = if udp { 8 } else { 20 };
    let total = (20 + l4 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, if udp { 17 } else { 6 }, 0, 0]);
    f.extend_from_slice(&[10, 0, 0, from, 10, 0, 0, 200]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&5060u16.to_be_bytes());
    if udp {
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    } else {
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

struct Feeder {
    p: Pipeline,
    n: u64,
}

impl Feeder {
    fn new() -> Self {
        Feeder {
            p: Pipeline::new(&lyncscope::Options::with_messages()),
            n: 0,
        }
    }

    fn push(&mut self, data: &[u8]) -> u64 {
        self.n += 1;
        self.p.push(&Frame {
            number: self.n,
            timestamp: Timestamp(self.n as i64 * 1_000_000),
            link_type: 1,
            data,
            original_len: data.len() as u32,
            source: 0,
        });
        self.n
    }

    /// Sends `msgs` on one TCP connection, one segment each, after a SYN; the frame of each.
    fn tcp_messages(&mut self, msgs: &[Vec<u8>]) -> Vec<u64> {
        self.push(&frame(false, 1, 40000, 999, SYN, b""));
        let mut seq = 1000u32;
        let mut frames = Vec::new();
        for m in msgs {
            frames.push(self.push(&frame(false, 1, 40000, seq, ACK, m)));
            seq = seq.wrapping_add(m.len() as u32);
        }
        frames
    }

    fn text_report(&self) -> String {
        let input = ReportInput {
            hep: None,
            inputs: None,
            sources: &[],
            warnings: &[],
            messages: false,
            live: None,
            written: None,
        };
        let mut out = Vec::new();
        report::text::write(&mut out, &input, &self.p.stats(), self.p.analysis())
            .expect("text report");
        String::from_utf8(out).expect("utf-8")
    }

    fn json_stats(&self) -> serde_json::Value {
        let input = ReportInput {
            hep: None,
            inputs: None,
            sources: &[],
            warnings: &[],
            messages: false,
            live: None,
            written: None,
        };
        let mut out = Vec::new();
        report::json::write(&mut out, &input, &self.p.stats(), self.p.analysis())
            .expect("json report");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        v["stats"].clone()
    }
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK{i}\r\nFrom: <sip:a@example.com>;tag=a{i}\r\nTo: <sip:b@example.com>\r\nCall-ID: call-{i}\r\nCSeq: {i} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    )
    .into_bytes()
}

fn status(line: &str, i: usize) -> Vec<u8> {
    format!(
        "{line}\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK{i}\r\nFrom: <sip:a@example.com>;tag=a{i}\r\nTo: <sip:b@example.com>;tag=b{i}\r\nCall-ID: call-{i}\r\nCSeq: {i} MESSAGE\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn a_bad_status_line_does_not_swallow_the_stream() {
    // In one segment and one segment per message.
    for split in [false, true] {
        let mut msgs = vec![status("SIP/2.0 99999999 OK", 0)];
        msgs.extend((1..=3).map(message));
        let mut f = Feeder::new();
        if split {
            f.tcp_messages(&msgs);
        } else {
            f.tcp_messages(&[msgs.concat()]);
        }
        f.p.finish();
        let s = f.p.stats();
        assert_eq!(s.analysis.sip_messages, 3, "split {split}");
        assert_eq!(s.transport.incomplete_messages, 0, "split {split}");
        assert_eq!(s.transport.malformed_messages, 1, "split {split}");
    }
}

#[test]
fn a_status_line_without_reason_phrase_is_a_status_line() {
    for line in ["SIP/2.0 200", "SIP/2.0 200 ", "SIP/2.0 486\t"] {
        let mut msgs = vec![message(0), status(line, 0)];
        msgs.extend((1..=3).map(message));
        // TCP, one segment per message: each is reported at its own frame, not later.
        let mut f = Feeder::new();
        let frames = f.tcp_messages(&msgs);
        let a = f.p.analysis();
        let got: Vec<u64> = a.messages().iter().map(|m| m.frame).collect();
        assert_eq!(got, frames, "{line:?}: reported at their own frames");
        let code: u16 = line[8..11].parse().unwrap();
        assert_eq!(a.messages()[1].start, StartKind::Response(code), "{line:?}");
        f.p.finish();
        assert_eq!(f.p.stats().transport.incomplete_messages, 0);
        assert_eq!(f.p.stats().transport.malformed_messages, 0);
        // TCP, all in one segment.
        let mut f = Feeder::new();
        f.tcp_messages(&[msgs.concat()]);
        assert_eq!(f.p.analysis().messages().len(), msgs.len(), "{line:?}");
        // UDP: alone, and several in one datagram.
        let mut f = Feeder::new();
        for m in &msgs {
            f.push(&frame(true, 1, 40000, 0, 0, m));
        }
        f.push(&frame(true, 1, 40000, 0, 0, &msgs.concat()));
        f.p.finish();
        let a = f.p.analysis();
        assert_eq!(a.messages().len(), 2 * msgs.len(), "{line:?}");
        assert_eq!(a.messages()[1].start, StartKind::Response(code));
        assert_eq!(f.p.stats().transport.udp_not_sip, 0);
    }
}

#[test]
fn the_text_report_shows_the_bytes_tcp_skipped() {
    let mut f = Feeder::new();
    // The capture starts inside a message: its tail is skipped to resynchronise.
    let tail = b"this is the end of a body the capture did not start with\r\n".repeat(3);
    let mut first = tail.clone();
    first.extend(message(1));
    f.push(&frame(false, 1, 40000, 5000, ACK, &first));
    f.p.finish();
    let skipped = f.p.stats().transport.tcp_bytes_skipped;
    assert_eq!(skipped, tail.len() as u64);
    assert_eq!(f.json_stats()["tcp_bytes_skipped"], skipped);
    let text = f.text_report();
    let tcp = text
        .lines()
        .find(|l| l.trim_start().starts_with("TCP:"))
        .expect("TCP line");
    assert!(
        tcp.contains(&format!("{skipped} bytes skipped")),
        "TCP line: {tcp}"
    );
    let problems = text
        .lines()
        .find(|l| l.trim_start().starts_with("Problems:"))
        .expect("Problems line");
    assert!(
        problems.contains(&format!("{skipped} TCP bytes skipped")),
        "Problems line: {problems}"
    );
}
