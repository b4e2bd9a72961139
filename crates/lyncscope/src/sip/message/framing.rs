//! Framing: where a message ends, which depends on the transport.

use super::index::{parse_head, parse_head_from, ContentLength, Hdr, Head, HeadProgress};
use super::start_line::{parse_start_line, parse_start_line_text};
use super::text::{line_end, next_line};
use super::view::{build, Message};

/// Why bytes that looked like SIP could not be framed as a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes do not begin with a SIP request or status line.
    NotSip,
    /// More bytes are needed (stream transports only).
    Incomplete,
    /// The header block exceeds [`limits::MAX_HEADER_BYTES`](super::limits::MAX_HEADER_BYTES) without ending.
    HeaderTooLong,
    /// Content-Length exceeds [`limits::MAX_BODY_BYTES`](super::limits::MAX_BODY_BYTES).
    BodyTooLong,
}

/// How far a stream got with an unfinished message, so that more bytes continue the work
/// instead of starting over (the bytes already seen are the same; only more are appended).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StreamProgress {
    /// Header lines indexed so far.
    head: HeadProgress,
    /// The message's full length, once its header block is complete; 0 before.
    need: usize,
}

impl StreamProgress {
    /// The buffer length below which framing cannot succeed yet (0: unknown).
    pub fn need(&self) -> usize {
        self.need
    }
}

/// Frames one message at the start of a datagram (UDP, SCTP chunk, WebSocket message).
///
/// The datagram bounds the message: without a usable Content-Length the body is the rest of
/// the datagram; with one that promises more than is there, the body is what is there and
/// `body_complete` is false. Returns the message and the bytes it used; the caller looks for
/// another message after skipping line breaks.
pub fn frame_datagram(buf: &[u8]) -> Result<(Message<'_>, usize), FrameError> {
    let head = match parse_head(buf) {
        Ok(h) => h,
        // In a datagram a missing blank line means the headers run to the end.
        Err(FrameError::Incomplete) => return frame_headers_only(buf),
        Err(e) => return Err(e),
    };
    let body_at = head.body_at;
    let avail = buf.len().saturating_sub(body_at);
    let (end, complete) = match head.content_length {
        ContentLength::Value(n) if n <= avail => (body_at + n, true),
        ContentLength::Value(_) => (buf.len(), false),
        ContentLength::Absent | ContentLength::Invalid => (buf.len(), true),
    };
    Ok((build(buf, head, end, complete), end))
}

/// A datagram whose header block never ends with a blank line: everything is headers.
fn frame_headers_only(buf: &[u8]) -> Result<(Message<'_>, usize), FrameError> {
    let mut padded_head = None;
    // Re-run the indexer on the bytes as if a blank line followed; the index stays valid for
    // `buf` because offsets only point into the prefix that exists.
    let mut tmp = Vec::with_capacity(buf.len() + 4);
    tmp.extend_from_slice(buf);
    tmp.extend_from_slice(b"\r\n\r\n");
    if let Ok(h) = parse_head(&tmp) {
        padded_head = Some((h.index, h.content_length, h.bad_header_lines, h.headers_at));
    }
    let (index, content_length, bad, headers_at) = padded_head.ok_or(FrameError::NotSip)?;
    let (start, _) = match parse_start_line(buf) {
        Some(v) => v,
        None => {
            let (line, _) = next_line(buf);
            (
                parse_start_line_text(line).ok_or(FrameError::NotSip)?,
                buf.len(),
            )
        }
    };
    let mut index = index;
    for slot in index.iter_mut() {
        if slot.1 as usize > buf.len() {
            *slot = (0, 0);
        }
    }
    let head = Head {
        start,
        headers_at: headers_at.min(buf.len()),
        body_at: buf.len(),
        index,
        content_length,
        bad_header_lines: bad,
    };
    Ok((build(buf, head, buf.len(), false), buf.len()))
}

/// Frames one message at the start of a stream buffer (TCP).
///
/// Returns `Incomplete` until the header block and the Content-Length bytes of body have
/// arrived. A message without Content-Length has an empty body (RFC 3261 makes the header
/// mandatory on streams); an invalid one is treated the same way.
pub fn frame_stream(buf: &[u8]) -> Result<(Message<'_>, usize), FrameError> {
    frame_stream_resume(buf, &mut StreamProgress::default())
}

/// [`frame_stream`] for a message that arrives in pieces: `progress` (start with the default,
/// keep it while the same message is pending, reset it when the buffer changes other than by
/// appending) carries the header lines already indexed and, once the header block is complete,
/// the message's length — so each segment of a long message costs only its own bytes instead
/// of indexing the same headers again. The result is the same as [`frame_stream`]'s.
pub(crate) fn frame_stream_resume<'a>(
    buf: &'a [u8],
    progress: &mut StreamProgress,
) -> Result<(Message<'a>, usize), FrameError> {
    let head = parse_head_from(buf, &mut progress.head)?;
    let body_len = match head.content_length {
        ContentLength::Value(n) => n,
        ContentLength::Absent | ContentLength::Invalid => 0,
    };
    let end = head.body_at + body_len;
    if end > buf.len() {
        if body_len > IMPLAUSIBLE_BODY {
            match body_begins_a_message(buf, &head) {
                // The Content-Length is wrong: the next message follows the header block. Frame
                // this one without a body (incomplete) rather than hold the stream.
                Some(true) => {
                    let at = head.body_at;
                    return Ok((build(buf, head, at, false), at));
                }
                Some(false) => {}
                None => return Err(FrameError::Incomplete), // look again with more bytes
            }
        }
        progress.need = end;
        return Err(FrameError::Incomplete);
    }
    Ok((build(buf, head, end, true), end))
}

/// A body longer than this is unusual enough that a SIP start line right after the header block
/// is taken to mean a wrong Content-Length (a 500-user roster NOTIFY is about 215 KB).
const IMPLAUSIBLE_BODY: usize = 1024 * 1024;

/// Whether the body begins with a complete SIP start line (`None`: its first line has not
/// arrived). A `message/*` body (sipfrag, a whole message) may begin with one by design.
fn body_begins_a_message(buf: &[u8], head: &Head<'_>) -> Option<bool> {
    let (s, e) = head
        .index
        .get(Hdr::ContentType as usize)
        .copied()
        .unwrap_or_default();
    let content_type = buf.get(s as usize..e as usize).unwrap_or_default();
    if content_type
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"message/"))
    {
        return Some(false);
    }
    let body = buf.get(head.body_at..).unwrap_or_default();
    line_end(body)?;
    Some(parse_start_line(body).is_some())
}

/// Number of leading CR / LF bytes (keep-alives and separators between messages).
pub(crate) fn leading_line_breaks(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::super::samples::{INVITE, SEED};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stream_waits_for_body_and_headers() {
        for cut in 0..INVITE.len() {
            match frame_stream(&INVITE[..cut]) {
                Err(FrameError::Incomplete) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn datagram_content_length_shorter_and_longer() {
        let short =
            b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 5\r\n\r\nHelloGARBAGE";
        let (m, used) = frame_datagram(short).unwrap();
        assert_eq!(m.body(), b"Hello");
        assert_eq!(used, short.len() - 7);
        let long = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 500\r\n\r\nHello";
        let (m, used) = frame_datagram(long).unwrap();
        assert_eq!(m.body(), b"Hello");
        assert!(!m.body_complete);
        assert_eq!(used, long.len());
        let bad = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: bad\r\n\r\nbody";
        let (m, _) = frame_datagram(bad).unwrap();
        assert_eq!(m.content_length(), ContentLength::Invalid);
        assert_eq!(m.body(), b"body");
    }

    #[test]
    fn datagram_without_blank_line_is_all_headers() {
        let m = b"REGISTER sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 REGISTER";
        let (msg, used) = frame_datagram(m).unwrap();
        assert_eq!(used, m.len());
        assert_eq!(msg.call_id(), Some(&b"x"[..]));
        assert_eq!(msg.cseq(), Some((1, &b"REGISTER"[..])));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
        /// Framing a message that arrives in pieces, resuming each time, gives what framing
        /// the bytes at once gives, at every step (also for mutated, folded, LF-only input).
        #[test]
        fn resumed_framing_equals_framing_at_once(
            edits in proptest::collection::vec((0usize..300, any::<u8>()), 0..6),
            cuts in proptest::collection::vec(0usize..400, 1..8),
            folded in any::<bool>(),
            lf_only in any::<bool>(),
        ) {
            let mut buf = SEED.to_vec();
            if folded {
                buf = String::from_utf8_lossy(&buf).replacen("\r\nCSeq:", "\r\n  \r\nCSeq:", 1).into_bytes();
            }
            if lf_only {
                buf.retain(|&c| c != b'\r');
            }
            for (at, byte) in edits {
                let at = at % buf.len();
                buf[at] = byte;
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (buf.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(buf.len());
            let mut progress = StreamProgress::default();
            for cut in cuts {
                let part = &buf[..cut];
                let resumed = frame_stream_resume(part, &mut progress).map(|(m, u)| (format!("{m:?}"), u));
                let at_once = frame_stream(part).map(|(m, u)| (format!("{m:?}"), u));
                prop_assert_eq!(&resumed, &at_once);
                if resumed.is_ok() {
                    break;
                }
            }
        }
    }

    #[test]
    fn resumed_framing_skips_indexed_lines() {
        let cut = SEED.len() / 2;
        let mut progress = StreamProgress::default();
        assert_eq!(
            frame_stream_resume(&SEED[..cut], &mut progress).err(),
            Some(FrameError::Incomplete)
        );
        assert!(progress.head.pos > 0, "indexed lines are remembered");
        let (m, used) = frame_stream_resume(SEED, &mut progress).unwrap();
        assert_eq!(used, SEED.len());
        assert_eq!(m.call_id(), frame_stream(SEED).unwrap().0.call_id());
        // With the header block complete and the body not, the message's length is known.
        let body_at = SEED.len() - frame_stream(SEED).unwrap().0.body().len();
        let mut progress = StreamProgress::default();
        let _ = frame_stream_resume(&SEED[..body_at + 1], &mut progress);
        assert_eq!(progress.need(), SEED.len());
    }
}
