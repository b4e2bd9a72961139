//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{self, Read};

use lyncscope_logs::{Format, LogReader, LogStats, ReadOptions, Record};

/// A reader that hands out at most `step` bytes per call, to cross every buffer boundary.
pub struct Trickle<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Every record of `data`, owned, and the stats.
pub fn read_all_from<R: Read>(
    r: R,
    format: Format,
    opts: ReadOptions,
) -> (Vec<Record<'static>>, LogStats) {
    let mut reader = LogReader::new(r, format, opts);
    let mut out = Vec::new();
    while let Some(rec) = reader.next_record().expect("in-memory read") {
        out.push(owned(rec));
    }
    (out, reader.stats().clone())
}

pub fn read_all(data: &[u8], format: Format) -> (Vec<Record<'static>>, LogStats) {
    read_all_from(data, format, ReadOptions::default())
}

pub fn owned(rec: Record<'_>) -> Record<'static> {
    match rec {
        Record::Sip(s) => Record::Sip(s.into_owned()),
        Record::ServerEvent(e) => Record::ServerEvent(lyncscope_logs::ServerEvent {
            line: e.line,
            time_ns: e.time_ns,
            origin: e.origin.into_owned(),
            severity: e.severity.map(|c| c.into_owned().into()),
            log_type: e.log_type.map(|c| c.into_owned().into()),
            result_code: e.result_code.map(|r| lyncscope_logs::ResultCode {
                value: r.value,
                name: r.name.map(|c| c.into_owned().into()),
            }),
            text: e.text.map(|c| c.into_owned().into()),
            start_line: e.start_line.map(|c| c.into_owned().into()),
            call_id: e.call_id.map(|c| c.into_owned().into()),
            cseq: e.cseq.map(|c| c.into_owned().into()),
            peer: e.peer.map(|p| p.into_owned()),
            data: e.data.map(|c| c.into_owned().into()),
            header_text: e.header_text.map(|c| c.into_owned().into()),
        }),
    }
}

pub fn sip<'r>(recs: &'r [Record<'static>]) -> Vec<&'r lyncscope_logs::SipRecord<'static>> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Sip(s) => Some(s),
            _ => None,
        })
        .collect()
}

pub fn events<'r>(recs: &'r [Record<'static>]) -> Vec<&'r lyncscope_logs::ServerEvent<'static>> {
    recs.iter()
        .filter_map(|r| match r {
            Record::ServerEvent(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// LF → CRLF (lines already CRLF stay so).
pub fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// CRLF → LF.
pub fn to_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

pub fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test data")
}
