//! Frames and a frame feeder shared by the pipeline-level TCP tests
//! (`framing_reliability.rs`, `tcp_accounting.rs`).
#![allow(dead_code)]

use lyncscope::capture::Frame;
use lyncscope::pipeline::Pipeline;
use lyncscope::report::{self, ReportInput};
use lyncscope::Timestamp;

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;

/// An Ethernet / IPv4 frame carrying one TCP segment or UDP datagram from 10.0.0.`from` port
/// `sport` to 10.0.0.200 port 5060.
pub fn frame(udp: bool, from: u8, sport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
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

pub struct Feeder {
    pub p: Pipeline,
    pub n: u64,
}

impl Feeder {
    pub fn new() -> Self {
        Feeder {
            p: Pipeline::new(&lyncscope::Options::with_messages()),
            n: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) -> u64 {
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
    pub fn tcp_messages(&mut self, msgs: &[Vec<u8>]) -> Vec<u64> {
        self.push(&frame(false, 1, 40000, 999, SYN, b""));
        let mut seq = 1000u32;
        let mut frames = Vec::new();
        for m in msgs {
            frames.push(self.push(&frame(false, 1, 40000, seq, ACK, m)));
            seq = seq.wrapping_add(m.len() as u32);
        }
        frames
    }

    pub fn text_report(&self) -> String {
        let input = ReportInput {
            hep: None,
            inputs: None,
            sources: &[],
            warnings: &[],
            messages: false,
            live: None,
            written: None,
            selection: None,
        };
        let mut out = Vec::new();
        report::text::write(&mut out, &input, &self.p.stats(), self.p.analysis())
            .expect("text report");
        String::from_utf8(out).expect("utf-8")
    }

    pub fn json_stats(&self) -> serde_json::Value {
        let input = ReportInput {
            hep: None,
            inputs: None,
            sources: &[],
            warnings: &[],
            messages: false,
            live: None,
            written: None,
            selection: None,
        };
        let mut out = Vec::new();
        report::json::write(&mut out, &input, &self.p.stats(), self.p.analysis())
            .expect("json report");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        v["stats"].clone()
    }
}
