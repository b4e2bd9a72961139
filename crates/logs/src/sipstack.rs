//! Server SIPStack trace text (CLS / OCSLogger formatted output).
//!
//! A record starts with a header line
//! `TL_<LEVEL>(TF_<FLAG>) [<machine>]<PID>.<TID>::<MM/DD/YYYY-HH:MM:SS.mmm>.<seq> (<Component>,<Class::Method>:<file>(<line>))[ text] [$$begin_record]`
//! followed by `Key: value` lines up to `$$end_record`. Protocol records carry the SIP message as
//! `Start-Line:`, the header lines, and `Message-Body:`. A header line without
//! `$$begin_record` may still end in `$$end_record` (the `TF_COMPONENT … LogType: diagnostic`
//! records do), or be a plain one-line trace, which ends where the next record starts.

use std::borrow::Cow;

use crate::bytes::{at, find, from, key_value, line_end, opt_text, parse_hex, strip_cr, sub, trim};
use crate::reader::Scan;
use crate::sip::{normalize, Out};
use crate::time::{apply_offset, parse_mdy};
use crate::{endpoint, Direction, Format, LogStats, Origin, ResultCode, ServerEvent, SipRecord};

type R = (usize, usize);

/// What a complete record holds, as offsets into the scanned slice.
#[derive(Debug, Default, Clone)]
pub(crate) struct Plan {
    header: R,
    is_event: bool,
    start_line: Option<R>,
    headers: R,
    /// Body text: first part (after `Message-Body:`), and the lines after it.
    body_inline: Option<R>,
    body_rest: R,
    /// Text before `$$end_record` on the end marker's line.
    end_tail: R,
    /// The section `end_tail` belongs to: 0 meta, 1 headers, 2 body.
    end_tail_section: u8,
    direction: Option<R>,
    peer: Option<R>,
    correlation: Option<R>,
    instance: Option<R>,
    severity: Option<R>,
    log_type: Option<R>,
    text: Option<R>,
    result_code: Option<R>,
    sip_start_line: Option<R>,
    call_id: Option<R>,
    cseq: Option<R>,
    data: Option<R>,
}

/// `TL_<LEVEL>(TF_` at the start of the line, or a line holding `$$begin_record`.
pub(crate) fn is_record_header(line: &[u8]) -> bool {
    if let Some(rest) = line.strip_prefix(b"TL_") {
        let n = rest
            .iter()
            .take_while(|c| c.is_ascii_uppercase() || **c == b'_')
            .count();
        if n > 0 && sub(rest, n, n + 4) == b"(TF_" {
            return true;
        }
    }
    memchr::memchr(b'$', line).is_some() && find(line, b"$$begin_record").is_some()
}

fn ieq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Flag of a header line (`TF_PROTOCOL`), for counting records by kind.
fn flag_of(header: &[u8]) -> &[u8] {
    let Some(open) = memchr::memchr(b'(', header) else {
        return b"";
    };
    let rest = from(header, open + 1);
    let close = memchr::memchr(b')', rest).unwrap_or(0);
    let f = sub(rest, 0, close);
    if f.starts_with(b"TF_") {
        f
    } else {
        b""
    }
}

/// Find and parse the next record in `data` (which starts at a line start).
pub(crate) fn scan(data: &[u8], eof: bool, stats: &mut LogStats) -> Scan<Plan> {
    let mut pos = 0;
    let rs = loop {
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
        if is_record_header(strip_cr(sub(data, pos, end))) {
            break pos;
        }
        stats.stray_lines += 1;
        pos = next;
    };
    let (hend, mut p) = line_end(data, rs);
    let header = strip_cr(sub(data, rs, hend));
    let had_begin = find(header, b"$$begin_record").is_some();

    let mut plan = Plan {
        header: (rs, rs + header.len()),
        ..Plan::default()
    };
    let mut section = 0u8;
    let mut end_found = false;
    let rec_end;
    loop {
        if p >= data.len() {
            if !eof {
                return Scan::NeedMore {
                    skip: rs,
                    in_record: true,
                };
            }
            rec_end = data.len();
            break;
        }
        let (e, n) = line_end(data, p);
        if n == e && !eof {
            return Scan::NeedMore {
                skip: rs,
                in_record: true,
            };
        }
        let raw = sub(data, p, e);
        let line = strip_cr(raw);
        if memchr::memchr(b'$', line).is_some() {
            if let Some(m) = find(line, b"$$end_record") {
                plan.end_tail = (p, p + m);
                plan.end_tail_section = section;
                if section == 1 {
                    plan.headers.1 = p;
                } else if section == 2 {
                    plan.body_rest.1 = p;
                }
                end_found = true;
                rec_end = n;
                break;
            }
        }
        if line.starts_with(b"TL_") && is_record_header(line) {
            if section == 1 {
                plan.headers.1 = p;
            } else if section == 2 {
                plan.body_rest.1 = p;
            }
            rec_end = p;
            break;
        }
        match section {
            0 => {
                if let Some((k, v)) = key_value(line) {
                    let colon = memchr::memchr(b':', line).unwrap_or(0);
                    let vs = p
                        + colon
                        + 1
                        + (from(line, colon + 1).len()
                            - from(line, colon + 1).trim_ascii_start().len());
                    let r = (vs, vs + v.len());
                    if ieq(k, b"Start-Line") {
                        plan.start_line = Some(r);
                        section = 1;
                        plan.headers = (n, n);
                    } else if ieq(k, b"Direction") {
                        plan.direction = Some(r);
                    } else if ieq(k, b"Peer") {
                        plan.peer = Some(r);
                    } else if ieq(k, b"Trace-Correlation-Id") {
                        plan.correlation = Some(r);
                    } else if ieq(k, b"Instance-Id") {
                        plan.instance = Some(r);
                    } else if ieq(k, b"Severity") {
                        plan.severity = Some(r);
                    } else if ieq(k, b"LogType") {
                        plan.log_type = Some(r);
                    } else if ieq(k, b"Text") {
                        plan.text = Some(r);
                    } else if ieq(k, b"Result-Code") {
                        plan.result_code = Some(r);
                    } else if ieq(k, b"SIP-Start-Line") {
                        plan.sip_start_line = Some(r);
                    } else if ieq(k, b"SIP-Call-ID") {
                        plan.call_id = Some(r);
                    } else if ieq(k, b"SIP-CSeq") {
                        plan.cseq = Some(r);
                    } else if ieq(k, b"Data") {
                        plan.data = Some(r);
                    }
                }
            }
            1 => {
                if line.len() >= 13 && ieq(sub(line, 0, 13), b"Message-Body:") {
                    plan.headers.1 = p;
                    // One space after the colon is the log's; the rest is the body's.
                    let mut vs = p + 13;
                    if at(data, vs) == b' ' {
                        vs += 1;
                    }
                    plan.body_inline = Some((vs, p + line.len()));
                    // The inline part keeps its own line break.
                    plan.body_rest = (p + line.len(), n);
                    section = 2;
                } else {
                    plan.headers.1 = n;
                }
            }
            _ => {
                plan.body_rest.1 = n;
            }
        }
        p = n;
    }

    if had_begin && !end_found {
        stats.cut_records += 1;
        return Scan::Cut {
            skip: rs,
            len: rec_end - rs,
        };
    }
    let flag = flag_of(header);
    if let (true, Some((a, b))) = (end_found, plan.start_line) {
        if !crate::sip::is_start_line(sub(data, a, b)) {
            stats.not_sip += 1;
            return Scan::Other {
                skip: rs,
                len: rec_end - rs,
            };
        }
        return Scan::Record {
            skip: rs,
            len: rec_end - rs,
            plan,
        };
    }
    let diag = ieq(flag, b"TF_DIAG")
        || plan
            .log_type
            .is_some_and(|r| ieq(trim(sub(data, r.0, r.1)), b"diagnostic"))
        || plan.result_code.is_some()
        || plan.call_id.is_some();
    if end_found && diag && plan.start_line.is_none() {
        plan.is_event = true;
        return Scan::Record {
            skip: rs,
            len: rec_end - rs,
            plan,
        };
    }
    let kind = if flag.is_empty() {
        Cow::Borrowed("record")
    } else {
        String::from_utf8_lossy(flag)
    };
    stats.other_records.add(&kind);
    Scan::Other {
        skip: rs,
        len: rec_end - rs,
    }
}

/// Fields of the header line.
fn parse_header<'a>(
    h: &'a [u8],
    utc_offset_secs: i32,
) -> (Origin<'a>, Option<i64>, Option<&'a [u8]>) {
    let mut o = Origin::default();
    let mut i = 0;
    if let Some(rest) = h.strip_prefix(b"TL_") {
        let open = memchr::memchr(b'(', rest).unwrap_or(0);
        o.level = opt_text(sub(rest, 0, open));
        let after = from(rest, open + 1);
        let close = memchr::memchr(b')', after).unwrap_or(0);
        o.flag = opt_text(sub(after, 0, close));
        i = 3 + open + 1 + close + 1;
    }
    while at(h, i) == b' ' {
        i += 1;
    }
    if at(h, i) == b'[' {
        let rest = from(h, i + 1);
        if let Some(close) = memchr::memchr(b']', rest) {
            o.machine = opt_text(sub(rest, 0, close));
            i += close + 2;
        }
    }
    // PID.TID::time
    let rest = from(h, i);
    let mut time = None;
    if let Some(dc) = find(rest, b"::") {
        let ids = sub(rest, 0, dc);
        if let Some(dot) = memchr::memchr(b'.', ids) {
            o.pid = parse_hex(sub(ids, 0, dot)).and_then(|v| u32::try_from(v).ok());
            o.tid = parse_hex(from(ids, dot + 1)).and_then(|v| u32::try_from(v).ok());
        }
        i += dc + 2;
    }
    let rest = from(h, i);
    if let Some((local, used)) = parse_mdy(rest, b'-') {
        time = apply_offset(local, utc_offset_secs);
        i += used;
        if at(h, i) == b'.' {
            let seq = from(h, i + 1);
            let n = seq.iter().take_while(|c| c.is_ascii_hexdigit()).count();
            o.sequence = parse_hex(sub(seq, 0, n));
            i += 1 + n;
        }
    }
    while at(h, i) == b' ' {
        i += 1;
    }
    if at(h, i) == b'(' {
        // (Component,Class::Method:file(line)) — find the matching parenthesis.
        let mut depth = 0usize;
        let mut close = None;
        for (k, &c) in from(h, i).iter().enumerate() {
            if c == b'(' {
                depth += 1;
            } else if c == b')' {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(i + k);
                    break;
                }
            }
        }
        if let Some(close) = close {
            let loc = sub(h, i + 1, close);
            if let Some(comma) = memchr::memchr(b',', loc) {
                o.component = opt_text(sub(loc, 0, comma));
                let f = from(loc, comma + 1);
                // The file follows the last single ':' (the method has '::' inside).
                let mut cut = f.len();
                let mut k = f.len();
                while k > 0 {
                    k -= 1;
                    if at(f, k) == b':' && at(f, k.wrapping_sub(1)) != b':' && at(f, k + 1) != b':'
                    {
                        cut = k;
                        break;
                    }
                }
                o.function = opt_text(sub(f, 0, cut));
            } else {
                o.component = opt_text(loc);
            }
            i = close + 1;
        }
    }
    let mut tail = from(h, i);
    if let Some(b) = find(tail, b"$$begin_record") {
        tail = sub(tail, 0, b);
    }
    let tail = trim(tail);
    (o, time, if tail.is_empty() { None } else { Some(tail) })
}

fn direction_fields<'a>(d: &'a [u8], o: &mut Origin<'a>) -> Option<Direction> {
    let mut parts = d.split(|&c| c == b';');
    let first = trim(parts.next().unwrap_or(b""));
    for p in parts {
        if let Some((k, v)) = key_eq(p) {
            let v = trim(v);
            let v = v.strip_prefix(b"\"").unwrap_or(v);
            let v = v.strip_suffix(b"\"").unwrap_or(v);
            if ieq(k, b"source") {
                o.interface_source = opt_text(v);
            } else if ieq(k, b"destination") {
                o.interface_destination = opt_text(v);
            }
        }
    }
    if ieq(first, b"incoming") {
        Some(Direction::Received)
    } else if ieq(first, b"outgoing") {
        Some(Direction::Sent)
    } else {
        None
    }
}

fn key_eq(p: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = memchr::memchr(b'=', p)?;
    Some((trim(sub(p, 0, eq)), from(p, eq + 1)))
}

fn range(data: &[u8], r: Option<R>) -> Option<&[u8]> {
    r.map(|(a, b)| sub(data, a, b))
}

/// `0xc3e93c5e SIPPROXY_E_ROUTING` or `0xC3E93C5E(SIPPROXY_E_ROUTING)`.
fn result_code(v: &[u8]) -> Option<ResultCode<'_>> {
    let v = trim(v);
    let n = v
        .iter()
        .enumerate()
        .take_while(|(k, c)| c.is_ascii_hexdigit() || (*k == 1 && matches!(c, b'x' | b'X')))
        .count();
    let value = u32::try_from(parse_hex(sub(v, 0, n))?).ok()?;
    let rest = trim(from(v, n));
    let rest = rest.strip_prefix(b"(").unwrap_or(rest);
    let name_len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    Some(ResultCode {
        value,
        name: opt_text(sub(rest, 0, name_len)),
    })
}

/// Build the SIP record of a plan made by [`scan`] on the same `data`.
pub(crate) fn build_sip<'a>(
    data: &'a [u8],
    plan: &Plan,
    line: u64,
    utc_offset_secs: i32,
    stats: &mut LogStats,
) -> SipRecord<'a> {
    let header = sub(data, plan.header.0, plan.header.1);
    let (mut origin, time_ns, _) = parse_header(header, utc_offset_secs);
    let start_line = range(data, plan.start_line).unwrap_or(b"");
    let mut raw = Vec::with_capacity(plan.body_rest.1.saturating_sub(plan.header.1) + 64);
    raw.extend_from_slice(start_line);
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(sub(data, plan.headers.0, plan.headers.1));
    if plan.end_tail_section == 1 {
        raw.extend_from_slice(sub(data, plan.end_tail.0, plan.end_tail.1));
    }
    if !raw.ends_with(b"\n") {
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    if let Some(inline) = range(data, plan.body_inline) {
        let rest = sub(data, plan.body_rest.0, plan.body_rest.1);
        let tail = if plan.end_tail_section == 2 {
            sub(data, plan.end_tail.0, plan.end_tail.1)
        } else {
            b""
        };
        let blank = |b: &[u8]| b.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
        // A body that starts on the next line: the `Message-Body:` line's break is the log's.
        let rest = if inline.is_empty() {
            memchr::memchr(b'\n', rest).map_or(rest, |i| from(rest, i + 1))
        } else {
            rest
        };
        // `Message-Body: -` is the empty body.
        if !(inline == b"-" && blank(rest) && blank(tail)) {
            raw.extend_from_slice(inline);
            raw.extend_from_slice(rest);
            raw.extend_from_slice(tail);
        }
    }
    // `scan` checked the start line, so this normalises; the fallback keeps the bytes anyway.
    let n = normalize(&raw).unwrap_or(crate::sip::Normalized {
        out: Out::Slice(0, raw.len()),
        logged_cl: None,
        cl_fixed: false,
        transport: None,
    });
    let message = match n.out {
        Out::Slice(a, b) => {
            if a == 0 && b == raw.len() {
                raw
            } else {
                sub(&raw, a, b).to_vec()
            }
        }
        Out::Owned(v) => v,
    };
    if n.cl_fixed {
        stats.content_length_fixed += 1;
    }
    if time_ns.is_none() {
        stats.bad_times += 1;
    }
    let direction = range(data, plan.direction).and_then(|d| direction_fields(d, &mut origin));
    origin.correlation_id = range(data, plan.correlation).and_then(opt_text);
    origin.instance_id = range(data, plan.instance).and_then(opt_text);
    SipRecord {
        format: Format::SipStack,
        line,
        time_ns,
        direction,
        local: None,
        remote: range(data, plan.peer).and_then(endpoint::parse),
        transport: n.transport,
        origin,
        message: Cow::Owned(message),
        logged_content_length: n.logged_cl,
        content_length_fixed: n.cl_fixed,
    }
}

/// Build the server event of a plan made by [`scan`] on the same `data`.
pub(crate) fn build_event<'a>(
    data: &'a [u8],
    plan: &Plan,
    line: u64,
    utc_offset_secs: i32,
    stats: &mut LogStats,
) -> ServerEvent<'a> {
    let header = sub(data, plan.header.0, plan.header.1);
    let (mut origin, time_ns, header_text) = parse_header(header, utc_offset_secs);
    if time_ns.is_none() {
        stats.bad_times += 1;
    }
    origin.correlation_id = range(data, plan.correlation).and_then(opt_text);
    origin.instance_id = range(data, plan.instance).and_then(opt_text);
    let mut text = range(data, plan.text);
    let mut code = range(data, plan.result_code).and_then(result_code);
    // Some copies run `Result-Code:` into the `Text:` line.
    if let Some(t) = text {
        if let Some(k) = find(t, b"Result-Code:") {
            if code.is_none() {
                code = result_code(from(t, k + 12));
            }
            text = Some(sub(t, 0, k));
        }
    }
    if code.is_none() {
        if let Some(h) = header_text {
            if let Some(k) = find(h, b"Result 0x") {
                code = result_code(from(h, k + 7));
            }
        }
    }
    ServerEvent {
        line,
        time_ns,
        origin,
        severity: range(data, plan.severity).and_then(opt_text),
        log_type: range(data, plan.log_type).and_then(opt_text),
        result_code: code,
        text: text.and_then(opt_text),
        start_line: range(data, plan.sip_start_line).and_then(opt_text),
        call_id: range(data, plan.call_id).and_then(opt_text),
        cseq: range(data, plan.cseq).and_then(opt_text),
        peer: range(data, plan.peer).and_then(endpoint::parse),
        data: range(data, plan.data).and_then(opt_text),
        header_text: header_text.and_then(opt_text),
    }
}

/// Whether a plan is a server event (else a SIP message).
pub(crate) fn is_event(plan: &Plan) -> bool {
    plan.is_event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let h = b"TL_WARN(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184] $$begin_record";
        let (o, t, tail) = parse_header(h, 0);
        assert_eq!(o.level.as_deref(), Some("WARN"));
        assert_eq!(o.flag.as_deref(), Some("TF_DIAG"));
        assert_eq!(o.machine.as_deref(), Some("sfvedge\\sfvedge"));
        assert_eq!(o.pid, Some(0x584));
        assert_eq!(o.tid, Some(0xa44));
        assert_eq!(o.sequence, Some(0x773e));
        assert_eq!(o.component.as_deref(), Some("SIPStack"));
        assert_eq!(
            o.function.as_deref(),
            Some("SIPAdminLog::WriteDiagnosticEvent")
        );
        assert_eq!(t, Some(1_488_438_646_230_000_000));
        assert_eq!(tail, Some(&b"[156659184]"[..]));
        let (_, t2, _) = parse_header(h, 3600);
        assert_eq!(t2, Some(1_488_438_646_230_000_000 - 3_600_000_000_000));
    }

    #[test]
    fn header_garbage_does_not_panic() {
        for h in [
            &b"TL_"[..],
            b"TL_(",
            b"TL_X(TF_Y) [",
            b"TL_X(TF_Y) [a]::",
            b"TL_X(TF_Y) [a]1.2::01/01/2020-00:00:00.000.",
            b"TL_X(TF_Y) [a]1.2::01/01/2020-00:00:00.000.1 (",
            b"TL_X(TF_Y) [a]1.2::01/01/2020-00:00:00.000.1 (a,b::c:",
            b"$$begin_record",
        ] {
            let _ = parse_header(h, 0);
        }
    }

    #[test]
    fn result_codes() {
        let c = result_code(b"0xc3e93c5e SIPPROXY_E_ROUTING").unwrap();
        assert_eq!(c.value, 0xc3e9_3c5e);
        assert_eq!(c.name.as_deref(), Some("SIPPROXY_E_ROUTING"));
        let c = result_code(b"0xC3E93C5E(SIPPROXY_E_ROUTING)").unwrap();
        assert_eq!(c.value, 0xc3e9_3c5e);
        assert_eq!(c.name.as_deref(), Some("SIPPROXY_E_ROUTING"));
        assert!(result_code(b"zz").is_none());
        assert!(result_code(b"0x123456789").is_none());
    }

    #[test]
    fn record_header_recognition() {
        assert!(is_record_header(
            b"TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012"
        ));
        assert!(is_record_header(b"01/08/2022-11:36:14.354 [0x000021ac] - --> Message to Send (Dest Address IP:  10.50.14.2:4165):$$begin_record"));
        assert!(!is_record_header(b"TL_ is not a header"));
        assert!(!is_record_header(b"To: <sip:a@b>"));
    }
}
