//! Client UCCAPI log (`*.UccApilog`).
//!
//! Every line starts `MM/DD/YYYY|HH:MM:SS.mmm PID:TID LEVEL :: text` (local time). A message is
//! bracketed by `Sending Packet - <remote> (From Local Address: <local>) N bytes:` or
//! `Data Received -<remote> (To Local Address: <local>) N bytes:` and the same text after
//! `End of `. The verbatim public sample (msxfaq Parse-UCCAPILog) shows the `End of` lines only;
//! the start line form and whether the first SIP line carries the prefix are unverified, so both
//! are accepted, and N is used to cut the message only where it fits.

use crate::bytes::{find, from, line_end, parse_dec, parse_hex, strip_cr, sub, trim};
use crate::reader::{message_bytes, Scan};
use crate::sip::{normalize, Normalized};
use crate::time::{apply_offset, parse_mdy};
use crate::{endpoint, Direction, Format, LogStats, Origin, SipRecord};

const SENDING: &[u8] = b"Sending Packet -";
const RECEIVED: &[u8] = b"Data Received -";
const END_OF: &[u8] = b"End of ";

type R = (usize, usize);

/// A complete block, as offsets into the scanned slice.
#[derive(Debug)]
pub(crate) struct Plan {
    start_line: R,
    direction: Direction,
    region_start: usize,
    norm: Normalized,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LineKind {
    /// Block start; the offset is where the marker text starts.
    Start(Direction, usize),
    End(Direction),
    /// A trace line with a prefix (level range).
    Trace(usize, usize),
    Other,
}

/// Prefix `MM/DD/YYYY|HH:MM:SS.mmm PID:TID LEVEL :: `: the offset of the text after it.
fn prefix_len(line: &[u8]) -> Option<usize> {
    parse_mdy(line, b'|')?;
    let k = find(line, b" :: ")?;
    Some(k + 4)
}

fn classify(line: &[u8]) -> LineKind {
    for (marker, dir) in [(SENDING, Direction::Sent), (RECEIVED, Direction::Received)] {
        if let Some(k) = find(line, marker) {
            if k >= END_OF.len() && sub(line, k - END_OF.len(), k) == END_OF {
                return LineKind::End(dir);
            }
            return LineKind::Start(dir, k);
        }
    }
    if let Some(text_at) = prefix_len(line) {
        // The level is the last word before "::".
        let head = trim(sub(line, 0, text_at.saturating_sub(4)));
        let ls = memchr::memrchr(b' ', head).map_or(0, |i| i + 1);
        return LineKind::Trace(ls, head.len());
    }
    LineKind::Other
}

/// Remote, local and byte count of a start/end line, from the marker on.
fn addresses(text: &[u8]) -> (Option<R>, Option<R>, Option<u64>) {
    // text = "<marker> <remote> (From Local Address: <local>) N bytes[:]" (offsets into text)
    let dash = memchr::memchr(b'-', text).map_or(0, |i| i + 1);
    let open = memchr::memchr(b'(', from(text, dash)).map(|i| i + dash);
    let remote_end = open.unwrap_or(text.len());
    let remote = Some((dash, remote_end));
    let mut local = None;
    let mut count = None;
    if let Some(open) = open {
        if let Some(close) = memchr::memchr(b')', from(text, open)).map(|i| i + open) {
            let inside = sub(text, open + 1, close);
            if let Some(c) = memchr::memchr(b':', inside) {
                local = Some((open + 1 + c + 1, close));
            }
            let tail = trim(from(text, close + 1));
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            count = parse_dec(sub(tail, 0, n));
        }
    }
    (remote, local, count)
}

/// Find and parse the next block in `data` (which starts at a line start).
pub(crate) fn scan(data: &[u8], eof: bool, stats: &mut LogStats) -> Scan<Plan> {
    let mut pos = 0;
    let (rs, direction, marker_at) = loop {
        if pos >= data.len() {
            return Scan::NeedMore {
                skip: pos,
                in_record: false,
            };
        }
        let (end, next) = line_end(data, pos);
        if next == end && !eof {
            return Scan::NeedMore {
                skip: pos,
                in_record: false,
            };
        }
        let line = strip_cr(sub(data, pos, end));
        match classify(line) {
            LineKind::Start(d, k) => break (pos, d, pos + k),
            LineKind::Trace(a, b) => stats.other_records.add(&format!(
                "trace {}",
                String::from_utf8_lossy(sub(line, a, b))
            )),
            LineKind::End(_) | LineKind::Other => stats.stray_lines += 1,
        }
        pos = next;
    };
    let (he, first) = line_end(data, rs);
    let start_line = strip_cr(sub(data, rs, he));
    let mut p = first;
    let (sip_end, rec_end) = loop {
        if p >= data.len() {
            if !eof {
                return Scan::NeedMore {
                    skip: rs,
                    in_record: true,
                };
            }
            stats.cut_records += 1;
            return Scan::Cut {
                skip: rs,
                len: data.len() - rs,
            };
        }
        let (e, n) = line_end(data, p);
        if n == e && !eof {
            return Scan::NeedMore {
                skip: rs,
                in_record: true,
            };
        }
        let line = strip_cr(sub(data, p, e));
        match classify(line) {
            LineKind::End(d) if d == direction => break (p, n),
            LineKind::Start(..) => {
                stats.cut_records += 1;
                return Scan::Cut {
                    skip: rs,
                    len: p - rs,
                };
            }
            LineKind::End(_) => {
                stats.cut_records += 1;
                return Scan::Cut {
                    skip: rs,
                    len: n - rs,
                };
            }
            _ => {}
        }
        p = n;
    };

    // Where the SIP text starts: after "bytes:" on the start line, or on the next non-blank
    // line, after its prefix when it has one.
    let text = from(start_line, marker_at - rs);
    let (_, _, count) = addresses(text);
    let mut sip_start = None;
    if let Some(k) = find(text, b"bytes:") {
        let after = from(text, k + 6);
        let lead = after.len() - after.trim_ascii_start().len();
        if lead < after.len() {
            sip_start = Some(marker_at + k + 6 + lead);
        }
    }
    let sip_start = match sip_start {
        Some(s) => s,
        None => {
            let mut q = first;
            loop {
                if q >= sip_end {
                    break q;
                }
                let (e, n) = line_end(data, q);
                let line = strip_cr(sub(data, q, e));
                if line.trim_ascii().is_empty() {
                    q = n;
                    continue;
                }
                break q + prefix_len(line).unwrap_or(0);
            }
        }
    };
    let mut region_end = sip_end;
    if let Some(n) = count.and_then(|c| usize::try_from(c).ok()) {
        let cut = sip_start.saturating_add(n);
        if cut <= sip_end
            && sub(data, cut, sip_end)
                .iter()
                .all(|c| matches!(c, b'\r' | b'\n'))
        {
            region_end = cut;
        }
    }
    let Some(norm) = normalize(sub(data, sip_start, region_end)) else {
        stats.not_sip += 1;
        return Scan::Other {
            skip: rs,
            len: rec_end - rs,
        };
    };
    Scan::Record {
        skip: rs,
        len: rec_end - rs,
        plan: Plan {
            start_line: (rs, he),
            direction,
            region_start: sip_start,
            norm,
        },
    }
}

/// Build the record of a plan made by [`scan`] on the same `data`.
pub(crate) fn build<'a>(
    data: &'a [u8],
    plan: Plan,
    line: u64,
    utc_offset_secs: i32,
    stats: &mut LogStats,
) -> SipRecord<'a> {
    let start_line = strip_cr(sub(data, plan.start_line.0, plan.start_line.1));
    let mut origin = Origin::default();
    let time_ns = parse_mdy(start_line, b'|').and_then(|(t, _)| apply_offset(t, utc_offset_secs));
    if time_ns.is_none() {
        stats.bad_times += 1;
    }
    // "… 1F68:C14 INFO :: …": ids and level between the time and "::".
    if let Some(k) = find(start_line, b" :: ") {
        let head = sub(start_line, 0, k);
        let mut words = head.split(|&c| c == b' ').filter(|w| !w.is_empty()).skip(1);
        if let Some(ids) = words.next() {
            if let Some(c) = memchr::memchr(b':', ids) {
                origin.pid = parse_hex(sub(ids, 0, c)).and_then(|v| u32::try_from(v).ok());
                origin.tid = parse_hex(from(ids, c + 1)).and_then(|v| u32::try_from(v).ok());
            }
        }
        if let Some(level) = words.next() {
            origin.level = Some(String::from_utf8_lossy(level));
        }
    }
    let marker = [SENDING, RECEIVED]
        .iter()
        .find_map(|m| find(start_line, m))
        .unwrap_or(0);
    let text = from(start_line, marker);
    let (remote, local, _) = addresses(text);
    let ep = |r: Option<R>| r.and_then(|(a, b)| endpoint::parse(sub(text, a, b)));
    if plan.norm.cl_fixed {
        stats.content_length_fixed += 1;
    }
    SipRecord {
        format: Format::UccApi,
        line,
        time_ns,
        direction: Some(plan.direction),
        local: ep(local),
        remote: ep(remote),
        transport: plan.norm.transport,
        origin,
        logged_content_length: plan.norm.logged_cl,
        content_length_fixed: plan.norm.cl_fixed,
        message: message_bytes(data, plan.region_start, plan.norm.out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_kinds() {
        let end = b"04/16/2013|03:17:30.168 1F68:C14 INFO :: End of Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 1503 bytes";
        assert_eq!(classify(end), LineKind::End(Direction::Sent));
        let end = b"04/16/2013|03:17:31.555 1F68:C14 INFO :: End of Data Received -192.168.100.100:5061 (To Local Address: 192.168.103.35:20323) 1096 bytes";
        assert_eq!(classify(end), LineKind::End(Direction::Received));
        assert!(matches!(
            classify(b"04/16/2013|03:17:30.160 1F68:C14 INFO  :: Sending Packet - 1.2.3.4:5061 (From Local Address: 5.6.7.8:1) 3 bytes:"),
            LineKind::Start(Direction::Sent, _)
        ));
        assert!(matches!(
            classify(b"04/16/2013|03:17:30.160 1F68:C14 TRACE :: something"),
            LineKind::Trace(..)
        ));
        assert_eq!(classify(b"Via: SIP/2.0/TLS"), LineKind::Other);
    }

    #[test]
    fn address_fields() {
        let t = b"Data Received -192.168.100.100:5061 (To Local Address: 192.168.103.35:20323) 1096 bytes";
        let (r, l, n) = addresses(t);
        let (r, l) = (r.unwrap(), l.unwrap());
        assert_eq!(trim(&t[r.0..r.1]), b"192.168.100.100:5061");
        assert_eq!(trim(&t[l.0..l.1]), b"192.168.103.35:20323");
        assert_eq!(n, Some(1096));
        let (_, l, n) = addresses(b"Sending Packet - x");
        assert!(l.is_none() && n.is_none());
    }
}
