//! pidgin-sipe debug log.
//!
//! `sipe_utils_message_debug()` (tieto/sipe src/core/sipe-utils.c) writes every message as
//! `\nMESSAGE START <marker> <type> - <ISO-8601 UTC>\n` + message with CRLF replaced by LF +
//! `\n` + `MESSAGE END <marker> <type> - <same time>`, marker `>>>>>>>>>>` when sending and
//! `<<<<<<<<<<` when receiving, type `SIP` or `HTTP`. Pidgin's debug output puts
//! `(HH:MM:SS) sipe: ` before the leading `\n`, so the start marker begins a line. No addresses
//! are logged.

use crate::bytes::{find, from, line_end, strip_cr, sub, trim};
use crate::reader::{message_bytes, Scan};
use crate::sip::{normalize, Normalized};
use crate::time::parse_iso8601;
use crate::{Direction, Format, LogStats, Origin, SipRecord};

const START: &[u8] = b"MESSAGE START ";
const END: &[u8] = b"MESSAGE END ";
const SEND: &[u8] = b">>>>>>>>>>";
const RECV: &[u8] = b"<<<<<<<<<<";

/// A complete block, as offsets into the scanned slice.
#[derive(Debug)]
pub(crate) struct Plan {
    direction: Direction,
    time_ns: Option<i64>,
    region_start: usize,
    norm: Normalized,
}

/// Marker, type and time of a start line (the text from `MESSAGE START ` on).
fn start_fields(text: &[u8]) -> Option<(Direction, &[u8], &[u8])> {
    let rest = from(text, START.len());
    let dir = if rest.starts_with(SEND) {
        Direction::Sent
    } else if rest.starts_with(RECV) {
        Direction::Received
    } else {
        return None;
    };
    let rest = trim(from(rest, SEND.len()));
    let dash = find(rest, b" - ")?;
    Some((dir, trim(sub(rest, 0, dash)), trim(from(rest, dash + 3))))
}

/// Find and parse the next block in `data` (which starts at a line start).
pub(crate) fn scan(data: &[u8], eof: bool, stats: &mut LogStats) -> Scan<Plan> {
    let mut pos = 0;
    let (rs, marker_at, he, first, dir, kind, time) = loop {
        let Some(k) = find(from(data, pos), START).map(|k| k + pos) else {
            // Keep a last partial line: it may be the start of a marker.
            let keep = if eof {
                data.len()
            } else {
                memchr::memrchr(b'\n', data).map_or(0, |i| i + 1).max(pos)
            };
            stats.stray_lines += lines(sub(data, pos, keep));
            return Scan::NeedMore {
                skip: keep,
                in_record: false,
            };
        };
        let ls = memchr::memrchr(b'\n', sub(data, 0, k))
            .map_or(0, |i| i + 1)
            .max(pos);
        let (e, n) = line_end(data, ls);
        if n == e && !eof {
            stats.stray_lines += lines(sub(data, pos, ls));
            return Scan::NeedMore {
                skip: ls,
                in_record: false,
            };
        }
        let line = strip_cr(sub(data, k, e));
        match start_fields(line) {
            Some((dir, kind, time)) => {
                stats.stray_lines += lines(sub(data, pos, ls));
                break (ls, k, e, n, dir, kind.to_vec(), parse_iso8601(time));
            }
            None => {
                // Text that only looks like a marker: part of the stray lines.
                let next = n.max(k + 1);
                stats.stray_lines += lines(sub(data, pos, next));
                pos = next;
            }
        }
    };
    let _ = (marker_at, he);
    // The block ends at the next "MESSAGE END"; another start first means this one was cut.
    let end_at = find(from(data, first), END).map(|k| k + first);
    let next_start = find(from(data, first), START).map(|k| k + first);
    let end_at = match (end_at, next_start) {
        (Some(e), Some(s)) if s < e => {
            stats.cut_records += 1;
            let ls = memchr::memrchr(b'\n', sub(data, 0, s))
                .map_or(0, |i| i + 1)
                .max(first);
            return Scan::Cut {
                skip: rs,
                len: ls - rs,
            };
        }
        (Some(e), _) => e,
        (None, _) if !eof => {
            return Scan::NeedMore {
                skip: rs,
                in_record: true,
            };
        }
        (None, _) => {
            stats.cut_records += 1;
            return Scan::Cut {
                skip: rs,
                len: data.len() - rs,
            };
        }
    };
    let (ee, en) = line_end(data, end_at);
    if en == ee && !eof {
        return Scan::NeedMore {
            skip: rs,
            in_record: true,
        };
    }
    // The content ends with the "\n" sipe adds after the message.
    let mut content = sub(data, first, end_at);
    if let Some(c) = content.strip_suffix(b"\n") {
        content = c.strip_suffix(b"\r").unwrap_or(c);
    }
    if kind != b"SIP" {
        stats
            .other_records
            .add(&format!("sipe {}", String::from_utf8_lossy(&kind)));
        return Scan::Other {
            skip: rs,
            len: en - rs,
        };
    }
    let Some(norm) = normalize(content) else {
        stats.not_sip += 1;
        return Scan::Other {
            skip: rs,
            len: en - rs,
        };
    };
    Scan::Record {
        skip: rs,
        len: en - rs,
        plan: Plan {
            direction: dir,
            time_ns: time,
            region_start: first,
            norm,
        },
    }
}

fn lines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Build the record of a plan made by [`scan`] on the same `data`.
pub(crate) fn build<'a>(
    data: &'a [u8],
    plan: Plan,
    line: u64,
    stats: &mut LogStats,
) -> SipRecord<'a> {
    if plan.time_ns.is_none() {
        stats.bad_times += 1;
    }
    if plan.norm.cl_fixed {
        stats.content_length_fixed += 1;
    }
    SipRecord {
        format: Format::Sipe,
        line,
        time_ns: plan.time_ns,
        direction: Some(plan.direction),
        local: None,
        remote: None,
        transport: plan.norm.transport,
        origin: Origin::default(),
        logged_content_length: plan.norm.logged_cl,
        content_length_fixed: plan.norm.cl_fixed,
        message: message_bytes(data, plan.region_start, plan.norm.out),
    }
}
