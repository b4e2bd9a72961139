//! The SIP parser and framer: `frame_datagram` and `frame_stream` over the input, every
//! message found in it (as the transport layer scans a datagram or a stream), and every
//! accessor of the message view, plus the URI helpers run on what the headers hold. A view
//! detached and attached to a copy of its bytes (as messages cross between threads, their
//! dialog keys found once) answers as the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::conf_uri::{self, ConfUri};
use lyncscope::sip::message::{self, FrameError, Hdr, Message, StartLine};
use lyncscope::sip::uri;

const HDRS: [Hdr; 16] = [
    Hdr::CallId,
    Hdr::CSeq,
    Hdr::From,
    Hdr::To,
    Hdr::Via,
    Hdr::ContentType,
    Hdr::ContentLength,
    Hdr::Contact,
    Hdr::Event,
    Hdr::Expires,
    Hdr::UserAgent,
    Hdr::Server,
    Hdr::MsDiagnostics,
    Hdr::MsDiagnosticsPublic,
    Hdr::MsClientDiagnostics,
    Hdr::MsEdgeProxyMessageTrust,
];

fn exercise(m: &Message<'_>, buf: &[u8]) {
    let raw = m.raw();
    assert!(raw.len() <= buf.len());
    match m.start() {
        StartLine::Request { method, uri: u } => {
            assert!(m.is_request());
            assert_eq!(m.method(), Some(method));
            assert_eq!(m.request_uri(), Some(u));
            let u = String::from_utf8_lossy(u);
            if let Some(c) = ConfUri::parse(&u) {
                let _ = (
                    c.key(),
                    c.focus_uri(),
                    c.organizer_aor(),
                    c.same_conference(&c),
                );
            }
        }
        StartLine::Response { status, .. } => {
            assert!(!m.is_request());
            assert_eq!(m.status(), Some(status));
        }
    }
    let _ = (m.header_block(), m.body(), m.content_length());
    for h in HDRS {
        if let Some(v) = m.header(h) {
            let _ = message::unfold(v);
        }
    }
    for (i, (name, value)) in m.headers().enumerate() {
        if i > 200 {
            break;
        }
        let _ = (name, message::unfold(value));
    }
    let _ = m.headers_named("Via").count();
    let _ = m.headers_named("ms-diagnostics").count();
    let _ = (
        m.call_id(),
        m.cseq(),
        m.from_tag(),
        m.to_tag(),
        m.via_branch(),
    );
    let _ = m.content_type();
    let copy = raw.to_vec();
    let again = m.detach().attach(&copy).expect("a copy of the same length");
    assert_eq!(
        (again.call_id(), again.from_tag(), again.to_tag(), again.via_branch()),
        (m.call_id(), m.from_tag(), m.to_tag(), m.via_branch()),
        "the keys found at detaching"
    );
    assert_eq!(again.cseq(), m.cseq());
    for h in HDRS {
        assert_eq!(again.header(h), m.header(h));
    }
    for v in [
        m.header(Hdr::From),
        m.header(Hdr::To),
        m.header(Hdr::Contact),
    ]
    .into_iter()
    .flatten()
    {
        let _ = uri::aor_bytes(v);
        let _ = uri::may_be_conference(v);
        let s = String::from_utf8_lossy(v);
        let inner = conf_uri::uri_in_header(&s);
        let _ = conf_uri::aor(inner);
        let _ = ConfUri::parse(inner);
    }
}

fn skip_line_breaks(mut buf: &[u8]) -> &[u8] {
    while let Some((b'\r' | b'\n', rest)) = buf.split_first() {
        buf = rest;
    }
    buf
}

fuzz_target!(|data: &[u8]| {
    // As a datagram: every message in it.
    let mut buf = data;
    for _ in 0..64 {
        buf = skip_line_breaks(buf);
        match message::frame_datagram(buf) {
            Ok((m, used)) => {
                assert!(
                    used > 0 && used <= buf.len(),
                    "datagram framing used {used}"
                );
                exercise(&m, buf);
                buf = &buf[used..];
            }
            Err(_) => break,
        }
    }
    // As a stream: messages until more bytes are needed.
    let mut buf = data;
    for _ in 0..64 {
        buf = skip_line_breaks(buf);
        match message::frame_stream(buf) {
            Ok((m, used)) => {
                assert!(used > 0 && used <= buf.len(), "stream framing used {used}");
                exercise(&m, buf);
                // The message alone frames the same way, unless it ends in a CR (whether that
                // is a bare-CR line end or the start of a CRLF takes the byte after it) or was
                // cut at its header block because the next message starts there (a wrong,
                // implausibly large Content-Length: known only from the bytes after it).
                if !buf[..used].ends_with(b"\r") && m.body_complete {
                    let again = message::frame_stream(&buf[..used]).map(|(_, n)| n);
                    assert_eq!(again, Ok(used), "a framed message frames alone");
                }
                buf = &buf[used..];
            }
            Err(FrameError::Incomplete | FrameError::NotSip) => break,
            Err(FrameError::HeaderTooLong | FrameError::BodyTooLong) => break,
        }
    }
});
