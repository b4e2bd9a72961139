//! The header index: one pass over the header block that records where the headers the hot
//! path needs are, so that a [`Message`](super::Message) finds them without searching.

use super::framing::FrameError;
use super::limits;
use super::start_line::{looks_like_start, parse_start_line, StartLine};
use super::text::{line_end, trim, trim_end};

/// Headers indexed by the single parsing pass (the first occurrence of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Hdr {
    /// `Call-ID` (compact `i`).
    CallId,
    /// `CSeq`.
    CSeq,
    /// `From` (compact `f`).
    From,
    /// `To` (compact `t`).
    To,
    /// The first `Via` header (compact `v`); it may hold several comma-separated Vias.
    Via,
    /// `Content-Type` (compact `c`).
    ContentType,
    /// `Content-Length` (compact `l`); [`Message::content_length`](super::Message::content_length)
    /// gives its parsed value.
    ContentLength,
    /// `Contact` (compact `m`).
    Contact,
    /// `Event` (compact `o`).
    Event,
    /// `Expires`.
    Expires,
    /// `User-Agent`.
    UserAgent,
    /// `Server`.
    Server,
    /// `ms-diagnostics`: Lync / Skype for Business server diagnostics.
    MsDiagnostics,
    /// `ms-diagnostics-public`: the diagnostics a server lets leave its network.
    MsDiagnosticsPublic,
    /// `ms-client-diagnostics`: diagnostics reported by the client.
    MsClientDiagnostics,
    /// `ms-edge-proxy-message-trust`: what the Access Edge says about the sender (looked for
    /// on every message of a conference: a search through every header cost 4% of the
    /// analysis).
    MsEdgeProxyMessageTrust,
}

pub(super) const HDR_COUNT: usize = 16;

/// What the Content-Length header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentLength {
    /// No Content-Length header.
    Absent,
    /// Present but not a decimal number, or above
    /// [`limits::MAX_BODY_BYTES`](super::limits::MAX_BODY_BYTES).
    Invalid,
    /// The announced body length in bytes (the body itself may be shorter; see
    /// [`Message::body_complete`](super::Message::body_complete)).
    Value(usize),
}

/// Maps a header name (long or compact, any case) to the indexed header it is.
fn known(name: &[u8]) -> Option<Hdr> {
    let lower = |c: u8| c.to_ascii_lowercase();
    let eq = |s: &[u8]| name.eq_ignore_ascii_case(s);
    match name.len() {
        1 => match lower(*name.first()?) {
            b'i' => Some(Hdr::CallId),
            b'f' => Some(Hdr::From),
            b't' => Some(Hdr::To),
            b'v' => Some(Hdr::Via),
            b'c' => Some(Hdr::ContentType),
            b'l' => Some(Hdr::ContentLength),
            b'm' => Some(Hdr::Contact),
            b'o' => Some(Hdr::Event),
            _ => None,
        },
        2 if eq(b"to") => Some(Hdr::To),
        3 if eq(b"via") => Some(Hdr::Via),
        4 if eq(b"cseq") => Some(Hdr::CSeq),
        4 if eq(b"from") => Some(Hdr::From),
        5 if eq(b"event") => Some(Hdr::Event),
        6 if eq(b"server") => Some(Hdr::Server),
        7 if eq(b"call-id") => Some(Hdr::CallId),
        7 if eq(b"contact") => Some(Hdr::Contact),
        7 if eq(b"expires") => Some(Hdr::Expires),
        10 if eq(b"user-agent") => Some(Hdr::UserAgent),
        12 if eq(b"content-type") => Some(Hdr::ContentType),
        14 if eq(b"content-length") => Some(Hdr::ContentLength),
        14 if eq(b"ms-diagnostics") => Some(Hdr::MsDiagnostics),
        21 if eq(b"ms-diagnostics-public") => Some(Hdr::MsDiagnosticsPublic),
        21 if eq(b"ms-client-diagnostics") => Some(Hdr::MsClientDiagnostics),
        27 if eq(b"ms-edge-proxy-message-trust") => Some(Hdr::MsEdgeProxyMessageTrust),
        _ => None,
    }
}

/// The long form of a compact header name, for name comparison.
pub(super) fn canonical(name: &[u8]) -> Option<&'static [u8]> {
    if name.len() != 1 {
        return None;
    }
    Some(match name.first()?.to_ascii_lowercase() {
        b'i' => b"call-id",
        b'f' => b"from",
        b't' => b"to",
        b'v' => b"via",
        b'c' => b"content-type",
        b'l' => b"content-length",
        b'm' => b"contact",
        b'o' => b"event",
        b'e' => b"content-encoding",
        b's' => b"subject",
        b'k' => b"supported",
        b'r' => b"refer-to",
        b'b' => b"referred-by",
        b'u' => b"allow-events",
        b'x' => b"session-expires",
        _ => return None,
    })
}

/// The start line and indexed headers of a message whose header block is complete.
pub(super) struct Head<'a> {
    pub(super) start: StartLine<'a>,
    pub(super) headers_at: usize,
    pub(super) body_at: usize,
    pub(super) index: [(u32, u32); HDR_COUNT],
    pub(super) content_length: ContentLength,
    pub(super) bad_header_lines: u16,
}

/// The state of indexing a header block whose end has not arrived.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct HeadProgress {
    /// Offset of the first line not indexed yet; 0 when nothing was indexed.
    pub(super) pos: usize,
    index: [(u32, u32); HDR_COUNT],
    last: Option<usize>,
    bad_header_lines: u16,
}

/// Indexes the header block. `Err(Incomplete)` if the blank line has not arrived.
pub(super) fn parse_head(buf: &[u8]) -> Result<Head<'_>, FrameError> {
    parse_head_from(buf, &mut HeadProgress::default())
}

/// [`parse_head`], resuming at `progress` and saving it when the block is unfinished.
pub(super) fn parse_head_from<'a>(
    buf: &'a [u8],
    progress: &mut HeadProgress,
) -> Result<Head<'a>, FrameError> {
    let (start, headers_at) = match parse_start_line(buf) {
        Some(v) => v,
        None if !looks_like_start(buf) => return Err(FrameError::NotSip),
        None if buf.len() > limits::MAX_HEADER_BYTES => return Err(FrameError::HeaderTooLong),
        None => return Err(FrameError::Incomplete),
    };
    let resume = progress.pos >= headers_at && progress.pos <= buf.len();
    let HeadProgress {
        mut pos,
        mut index,
        mut last, // index slot of the previous header, for folding
        mut bad_header_lines,
    } = if resume {
        *progress
    } else {
        HeadProgress {
            pos: headers_at,
            ..HeadProgress::default()
        }
    };
    loop {
        let Some(rest) = buf.get(pos..) else {
            return Err(FrameError::Incomplete);
        };
        let Some((end, after)) = line_end(rest) else {
            if buf.len() > limits::MAX_HEADER_BYTES {
                return Err(FrameError::HeaderTooLong);
            }
            *progress = HeadProgress {
                pos,
                index,
                last,
                bad_header_lines,
            };
            return Err(FrameError::Incomplete);
        };
        let line = rest.get(..end).unwrap_or_default();
        let next = pos + after;
        if line.is_empty() {
            // Kept for a body still on its way: the next try starts at this blank line.
            *progress = HeadProgress {
                pos,
                index,
                last,
                bad_header_lines,
            };
            let content_length = content_length_of(buf, &index);
            return Ok(Head {
                start,
                headers_at,
                body_at: next,
                index,
                content_length,
                bad_header_lines,
            });
        }
        if next > limits::MAX_HEADER_BYTES {
            return Err(FrameError::HeaderTooLong);
        }
        match line.first() {
            Some(b' ') | Some(b'\t') => {
                // A folded continuation extends the previous header's value.
                if let Some(slot) = last.and_then(|i| index.get_mut(i)) {
                    let end = pos + trim_end(line).len();
                    if slot.1 != 0 && end > slot.1 as usize {
                        slot.1 = end as u32;
                    }
                }
            }
            // Header names are short: a plain loop finds the colon sooner than a vector
            // search gets going (this runs for every header line of every message).
            _ => match line.iter().position(|&c| c == b':') {
                Some(colon) => {
                    let name = trim(line.get(..colon).unwrap_or_default());
                    last = None;
                    if let Some(h) = known(name) {
                        // Only the first occurrence of a header is indexed.
                        if let Some(slot) = index.get_mut(h as usize).filter(|s| s.1 == 0) {
                            let v_start = pos + colon + 1;
                            let raw_v = line.get(colon + 1..).unwrap_or_default();
                            let lead = raw_v.iter().take_while(|c| c.is_ascii_whitespace()).count();
                            let v_end = pos + trim_end(line).len();
                            let s = (v_start + lead).min(v_end);
                            *slot = (s as u32, v_end.max(s) as u32);
                            if slot.1 == 0 {
                                // An empty value at offset 0 cannot happen (start line comes
                                // first), but keep "present" distinguishable anyway.
                                *slot = (s as u32, s as u32);
                            }
                            last = Some(h as usize);
                        }
                    }
                }
                None => bad_header_lines = bad_header_lines.saturating_add(1),
            },
        }
        pos = next;
    }
}

fn content_length_of(buf: &[u8], index: &[(u32, u32); HDR_COUNT]) -> ContentLength {
    // (0, 0) is what an absent header's slot holds anyway.
    let (s, e) = index
        .get(Hdr::ContentLength as usize)
        .copied()
        .unwrap_or_default();
    if e == 0 {
        return ContentLength::Absent;
    }
    let v = trim(buf.get(s as usize..e as usize).unwrap_or_default());
    if v.is_empty() || v.len() > 12 || !v.iter().all(u8::is_ascii_digit) {
        return ContentLength::Invalid;
    }
    let n = v.iter().fold(0usize, |a, &d| a * 10 + (d - b'0') as usize);
    if n > limits::MAX_BODY_BYTES {
        ContentLength::Invalid
    } else {
        ContentLength::Value(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{frame_stream, unfold};
    use super::Hdr;

    #[test]
    fn an_indexed_header_is_the_first_one_a_search_finds() {
        let names = [
            (Hdr::CallId, "call-id"),
            (Hdr::CSeq, "cseq"),
            (Hdr::From, "from"),
            (Hdr::To, "to"),
            (Hdr::Via, "via"),
            (Hdr::ContentType, "content-type"),
            (Hdr::ContentLength, "content-length"),
            (Hdr::Contact, "contact"),
            (Hdr::Event, "event"),
            (Hdr::Expires, "expires"),
            (Hdr::UserAgent, "user-agent"),
            (Hdr::Server, "server"),
            (Hdr::MsDiagnostics, "ms-diagnostics"),
            (Hdr::MsDiagnosticsPublic, "ms-diagnostics-public"),
            (Hdr::MsClientDiagnostics, "ms-client-diagnostics"),
            (Hdr::MsEdgeProxyMessageTrust, "ms-edge-proxy-message-trust"),
        ];
        assert_eq!(names.len(), super::HDR_COUNT);
        let messages: [&[u8]; 4] = [
            b"SIP/2.0 403 Forbidden\r\nVia: SIP/2.0/TLS e;branch=z9\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMS-Edge-Proxy-Message-Trust: ms-source-type=EdgeProxyGenerated;ms-ep-fqdn=edge.example.com\r\nms-edge-proxy-message-trust: second\r\nContent-Length: 0\r\n\r\n",
            b"INVITE sip:a SIP/2.0\r\nms-edge-proxy-message-trust:   ms-source-type=InternetUser;\r\n  ms-source-network=federation  \r\nUser-Agent: UCCAPI/16\r\nServer:\r\nms-diagnostics: 1;reason=x\r\nms-diagnostics-public: 2\r\nms-client-diagnostics: 3\r\nExpires: 60\r\nEvent: conference\r\nm: <sip:x>\r\nc: text/plain\r\nl: 2\r\n\r\nok",
            b"BYE sip:a SIP/2.0\r\nno colon here\r\nms-edge-proxy-message-trust\r\n\r\n",
            b"ACK sip:a SIP/2.0\r\n\r\n",
        ];
        for msg in messages {
            let (m, _) = frame_stream(msg).expect("frames");
            for (h, name) in names {
                assert_eq!(
                    m.header(h),
                    m.headers_named(name).next(),
                    "{name} in {}",
                    String::from_utf8_lossy(msg)
                );
            }
        }
    }

    #[test]
    fn compact_lf_only_folded_and_space_before_colon() {
        let msg = b"OPTIONS sip:x@y SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\ni: abc@h\nf: <sip:a@h>;tag=1\nt : sip:b@h\nSubject: one\n  two\nCSeq : 7 OPTIONS\nl: 0\n\n";
        let (m, used) = frame_stream(msg).unwrap();
        assert_eq!(used, msg.len());
        assert_eq!(m.call_id(), Some(&b"abc@h"[..]));
        assert_eq!(m.cseq(), Some((7, &b"OPTIONS"[..])));
        assert_eq!(m.from_tag(), Some(&b"1"[..]));
        assert_eq!(m.via_branch(), Some(&b"z9hG4bK1"[..]));
        let subject: Vec<_> = m.headers_named("subject").collect();
        assert_eq!(subject.len(), 1);
        assert_eq!(unfold(subject[0]), "one two");
        assert_eq!(m.headers_named("Call-ID").next(), Some(&b"abc@h"[..]));
    }
}
