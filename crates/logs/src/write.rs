//! Write SIP messages as the real tools log them (layouts in `docs/inputs.md` §1 of the
//! project: the Microsoft support article's SIPStack record, the msxfaq UCCAPI lines, the
//! tieto/sipe `sipe_utils_message_debug` source). Used by the sample generator and by the
//! round-trip tests: what these write, [`crate::LogReader`] reads back byte for byte.

use std::io::{self, Write};

use crate::time::{apply_offset, split_ns};
use crate::{format_iso8601_utc, Direction, Endpoint, ServerEvent};

/// What a log states besides the message.
#[derive(Clone, Debug)]
pub struct WriteMeta<'a> {
    /// UTC time, ns since the Unix epoch.
    pub time_ns: i64,
    /// Offset of the logging machine's local time from UTC in seconds; UCCAPI and SIPStack
    /// write `time_ns + offset`, sipe writes UTC (its `(HH:MM:SS)` prefix is local).
    pub utc_offset_secs: i32,
    /// As seen by the logging machine.
    pub direction: Direction,
    /// The logging machine's address (UCCAPI `Local Address`).
    pub local: Option<Endpoint<'a>>,
    /// The other side (SIPStack `Peer:`, UCCAPI remote).
    pub remote: Option<Endpoint<'a>>,
    /// SIPStack: the bracket text naming the machine (`0` in OCS, `fe01\pool` in SfB).
    pub server: &'a str,
    /// Process id written in the line prefix.
    pub pid: u32,
    /// Thread id written in the line prefix.
    pub tid: u32,
    /// SIPStack record sequence number / instance id.
    pub sequence: u32,
}

fn local_fields(meta: &WriteMeta<'_>) -> (i64, u32, u32, u32, u32, u32, u32) {
    let t = apply_offset(meta.time_ns, meta.utc_offset_secs.wrapping_neg()).unwrap_or(meta.time_ns);
    split_ns(t)
}

/// Split a message into start line, header block (each line with its CRLF) and body.
fn split(message: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let (head, body) = match memchr::memmem::find(message, b"\r\n\r\n") {
        Some(k) => (
            message.get(..k + 2).unwrap_or(message),
            message.get(k + 4..).unwrap_or(&[]),
        ),
        None => (message, &[][..]),
    };
    let sl_end = memchr::memchr(b'\n', head).map_or(head.len(), |i| i + 1);
    let start = head.get(..sl_end).unwrap_or(head);
    let start = start.strip_suffix(b"\n").unwrap_or(start);
    let start = start.strip_suffix(b"\r").unwrap_or(start);
    (start, head.get(sl_end..).unwrap_or(&[]), body)
}

/// Write one SIPStack protocol record (`TL_INFO(TF_PROTOCOL)` … `$$end_record`, CRLF lines, as
/// the Microsoft support article shows it). The body follows `Message-Body: ` (`-` when empty)
/// and a line break is added before `$$end_record` when the body does not end with one.
pub fn write_sipstack<W: Write>(
    out: &mut W,
    message: &[u8],
    meta: &WriteMeta<'_>,
) -> io::Result<()> {
    let (y, mo, d, h, mi, s, ns) = local_fields(meta);
    let (start, headers, body) = split(message);
    write!(
        out,
        "TL_INFO(TF_PROTOCOL) [{}]{:04X}.{:04X}::{:02}/{:02}/{:04}-{:02}:{:02}:{:02}.{:03}.{:08X} (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n",
        meta.server, meta.pid, meta.tid, mo, d, y, h, mi, s, ns / 1_000_000, meta.sequence
    )?;
    write!(out, "Trace-Correlation-Id: {}\r\n", meta.sequence)?;
    write!(out, "Instance-Id: {:08X}\r\n", meta.sequence)?;
    let dir = match meta.direction {
        Direction::Sent => "outgoing",
        Direction::Received => "incoming",
    };
    write!(out, "Direction: {dir}\r\n")?;
    if let Some(peer) = &meta.remote {
        write!(out, "Peer: {peer}\r\n")?;
    }
    let kind = if start.starts_with(b"SIP/2.0 ") {
        "response"
    } else {
        "request"
    };
    write!(out, "Message-Type: {kind}\r\n")?;
    out.write_all(b"Start-Line: ")?;
    out.write_all(start)?;
    out.write_all(b"\r\n")?;
    out.write_all(headers)?;
    if !headers.is_empty() && !headers.ends_with(b"\n") {
        out.write_all(b"\r\n")?;
    }
    if body.is_empty() {
        out.write_all(b"Message-Body: -\r\n")?;
    } else {
        out.write_all(b"Message-Body: ")?;
        out.write_all(body)?;
        if !body.ends_with(b"\n") {
            out.write_all(b"\r\n")?;
        }
    }
    out.write_all(b"$$end_record\r\n")
}

/// Write one SIPStack diagnostic record (`TL_<LEVEL>(TF_DIAG)` … `$$end_record`, as the Cisco
/// TAC document shows it). Fields of `event` that are `None` are left out; the level defaults
/// to `ERROR`, the result code name to none.
pub fn write_sipstack_event<W: Write>(
    out: &mut W,
    event: &ServerEvent<'_>,
    meta: &WriteMeta<'_>,
) -> io::Result<()> {
    let (y, mo, d, h, mi, s, ns) = local_fields(meta);
    let level = event.origin.level.as_deref().unwrap_or("ERROR");
    write!(
        out,
        "TL_{level}(TF_DIAG) [{}]{:04X}.{:04X}::{:02}/{:02}/{:04}-{:02}:{:02}:{:02}.{:03}.{:08X} (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(833)) [{}] $$begin_record\r\n",
        meta.server, meta.pid, meta.tid, mo, d, y, h, mi, s, ns / 1_000_000, meta.sequence, meta.sequence
    )?;
    let mut field = |k: &str, v: Option<&str>| -> io::Result<()> {
        match v {
            Some(v) => write!(out, "{k}: {v}\r\n"),
            None => Ok(()),
        }
    };
    field("Severity", event.severity.as_deref())?;
    field("Text", event.text.as_deref())?;
    if let Some(rc) = &event.result_code {
        let v = match &rc.name {
            Some(n) => format!("0x{:08x} {n}", rc.value),
            None => format!("0x{:08x}", rc.value),
        };
        field("Result-Code", Some(&v))?;
    }
    field("SIP-Start-Line", event.start_line.as_deref())?;
    field("SIP-Call-ID", event.call_id.as_deref())?;
    field("SIP-CSeq", event.cseq.as_deref())?;
    let peer = event.peer.as_ref().map(|p| p.to_string());
    field("Peer", peer.as_deref())?;
    field("Data", event.data.as_deref())?;
    out.write_all(b"$$end_record\r\n")
}

/// Write one UCCAPI block: the start line, the message with the line prefix on its first line,
/// and the `End of …` line (CRLF lines; the `End of` line as on msxfaq's verbatim sample).
pub fn write_uccapi<W: Write>(out: &mut W, message: &[u8], meta: &WriteMeta<'_>) -> io::Result<()> {
    let (y, mo, d, h, mi, s, ns) = local_fields(meta);
    let prefix = format!(
        "{:02}/{:02}/{:04}|{:02}:{:02}:{:02}.{:03} {:X}:{:X} INFO :: ",
        mo,
        d,
        y,
        h,
        mi,
        s,
        ns / 1_000_000,
        meta.pid,
        meta.tid
    );
    let remote = meta
        .remote
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let local = meta
        .local
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let marker = match meta.direction {
        Direction::Sent => format!(
            "Sending Packet - {remote} (From Local Address: {local}) {} bytes",
            message.len()
        ),
        Direction::Received => format!(
            "Data Received -{remote} (To Local Address: {local}) {} bytes",
            message.len()
        ),
    };
    write!(out, "{prefix}{marker}:\r\n{prefix}")?;
    out.write_all(message)?;
    if !message.ends_with(b"\n") {
        out.write_all(b"\r\n")?;
    }
    write!(out, "{prefix}End of {marker}\r\n")
}

/// Write one pidgin-sipe block as Pidgin's debug output shows `sipe_utils_message_debug`:
/// `(HH:MM:SS) sipe: ` + `\nMESSAGE START … - <UTC ISO time>\n` + the message with CRLF made LF
/// + `\nMESSAGE END … - <time>\n`.
pub fn write_sipe<W: Write>(out: &mut W, message: &[u8], meta: &WriteMeta<'_>) -> io::Result<()> {
    let (_, _, _, h, mi, s, _) = local_fields(meta);
    let marker = match meta.direction {
        Direction::Sent => ">>>>>>>>>>",
        Direction::Received => "<<<<<<<<<<",
    };
    let iso = format_iso8601_utc(meta.time_ns);
    write!(
        out,
        "({h:02}:{mi:02}:{s:02}) sipe: \nMESSAGE START {marker} SIP - {iso}\n"
    )?;
    let mut last = 0;
    for i in memchr::memmem::find_iter(message, b"\r\n") {
        out.write_all(message.get(last..i).unwrap_or(&[]))?;
        out.write_all(b"\n")?;
        last = i + 2;
    }
    out.write_all(message.get(last..).unwrap_or(&[]))?;
    write!(out, "\nMESSAGE END {marker} SIP - {iso}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Host, ResultCode};
    use std::borrow::Cow;

    fn meta() -> WriteMeta<'static> {
        WriteMeta {
            time_ns: 1_326_862_843_101_000_000,
            utc_offset_secs: 0,
            direction: Direction::Received,
            local: Some(Endpoint {
                host: Host::Ip("192.168.103.35".parse().unwrap()),
                port: Some(20323),
            }),
            remote: Some(Endpoint {
                host: Host::Name(Cow::Borrowed("lyncservr.contoso.com")),
                port: Some(61182),
            }),
            server: "0",
            pid: 0x06E4,
            tid: 0x0EB4,
            sequence: 0x5386,
        }
    }

    #[test]
    fn sipstack_header_matches_the_article_layout() {
        let mut out = Vec::new();
        write_sipstack(
            &mut out,
            b"OPTIONS sip:Options_User@fabrikam.com SIP/2.0\r\nCONTENT-LENGTH: 0\r\n\r\n",
            &meta(),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n"), "{text}");
        assert!(text.contains("\r\nDirection: incoming\r\nPeer: lyncservr.contoso.com:61182\r\nMessage-Type: request\r\nStart-Line: OPTIONS sip:Options_User@fabrikam.com SIP/2.0\r\nCONTENT-LENGTH: 0\r\nMessage-Body: -\r\n$$end_record\r\n"));
    }

    #[test]
    fn uccapi_end_line_matches_msxfaq() {
        let mut m = meta();
        m.time_ns = 1_366_082_250_168_000_000;
        m.direction = Direction::Sent;
        m.remote = Some(Endpoint {
            host: Host::Ip("192.168.100.100".parse().unwrap()),
            port: Some(5061),
        });
        m.pid = 0x1F68;
        m.tid = 0xC14;
        let msg = vec![b'x'; 1503];
        let mut out = Vec::new();
        write_uccapi(&mut out, &msg, &m).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("04/16/2013|03:17:30.168 1F68:C14 INFO :: End of Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 1503 bytes\r\n"), "{text}");
    }

    #[test]
    fn sipe_layout() {
        let mut m = meta();
        m.time_ns = 1_366_082_250_168_000_000;
        let mut out = Vec::new();
        write_sipe(&mut out, b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", &m).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(03:17:30) sipe: \nMESSAGE START <<<<<<<<<< SIP - 2013-04-16T03:17:30.168000Z\nSIP/2.0 200 OK\nContent-Length: 0\n\n\nMESSAGE END <<<<<<<<<< SIP - 2013-04-16T03:17:30.168000Z\n"
        );
    }

    #[test]
    fn event_layout() {
        let ev = ServerEvent {
            severity: Some(Cow::Borrowed("error")),
            text: Some(Cow::Borrowed("Message cannot be routed")),
            result_code: Some(ResultCode {
                value: 0xc3e9_3d67,
                name: Some(Cow::Borrowed("SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH")),
            }),
            call_id: Some(Cow::Borrowed("abc")),
            ..ServerEvent::default()
        };
        let mut out = Vec::new();
        write_sipstack_event(&mut out, &ev, &meta()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("TL_ERROR(TF_DIAG) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(833)) [21382] $$begin_record\r\nSeverity: error\r\nText: Message cannot be routed\r\nResult-Code: 0xc3e93d67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH\r\nSIP-Call-ID: abc\r\n$$end_record\r\n"), "{text}");
    }
}
