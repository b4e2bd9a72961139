//! WebSocket framing (RFC 6455) as used by SIP over WebSocket (RFC 7118).
//!
//! Only what a passive reader needs: the frame header (FIN, opcode, mask, the three length
//! forms), unmasking, and a check that a frame carries SIP so that a capture that starts after
//! the HTTP upgrade is still recognised.

use crate::sip::message;

/// The largest frame payload accepted; a longer claimed length means this is not WebSocket.
const MAX_FRAME: u64 = 16 * 1024 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WsFrame<'a> {
    Frame {
        fin: bool,
        opcode: u8,
        /// The payload as it is on the wire (still masked when `mask` is set).
        payload: &'a [u8],
        mask: Option<[u8; 4]>,
        /// Bytes of the whole frame.
        used: usize,
    },
    Incomplete,
    Invalid,
}

pub(crate) fn parse_frame(buf: &[u8]) -> WsFrame<'_> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return WsFrame::Incomplete;
    };
    let opcode = b0 & 0x0f;
    // Reserved bits (no extension is negotiated for SIP) and reserved opcodes.
    if b0 & 0x70 != 0 || matches!(opcode, 3..=7 | 11..=15) {
        return WsFrame::Invalid;
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => match buf.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()) {
            Some(b) => (u64::from(u16::from_be_bytes(b)), 4),
            None => return WsFrame::Incomplete,
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (u64::from_be_bytes(b), 10),
            None => return WsFrame::Incomplete,
        },
        n => (n as u64, 2),
    };
    if len > MAX_FRAME {
        return WsFrame::Invalid;
    }
    let mask = if masked {
        match buf
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        {
            Some(k) => {
                at += 4;
                Some(k)
            }
            None => return WsFrame::Incomplete,
        }
    } else {
        None
    };
    let end = at + len as usize;
    match buf.get(at..end) {
        Some(payload) => WsFrame::Frame {
            fin: b0 & 0x80 != 0,
            opcode,
            payload,
            mask,
            used: end,
        },
        None => WsFrame::Incomplete,
    }
}

pub(crate) fn unmask(data: &mut [u8], key: [u8; 4]) {
    for (b, k) in data.iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// True if `buf` starts with a text or binary WebSocket frame whose payload starts like SIP.
pub(crate) fn carries_sip(buf: &[u8]) -> bool {
    let WsFrame::Frame {
        opcode: 1 | 2,
        payload,
        mask,
        ..
    } = parse_frame(buf)
    else {
        // A frame still arriving: judge by its first payload bytes if they are there.
        return false;
    };
    // The start line must be complete within the frame's first bytes.
    let mut head = [0u8; 512];
    let n = payload.len().min(head.len());
    let (dst, src) = (
        head.get_mut(..n).unwrap_or_default(),
        payload.get(..n).unwrap_or_default(),
    );
    dst.copy_from_slice(src);
    if let Some(k) = mask {
        unmask(dst, k);
    }
    message::parse_start_line(dst).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_masks() {
        let mut f = vec![0x81, 0x85, 1, 2, 3, 4];
        f.extend(
            b"hello"
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
        match parse_frame(&f) {
            WsFrame::Frame {
                fin: true,
                opcode: 1,
                payload,
                mask: Some(k),
                used,
            } => {
                let mut p = payload.to_vec();
                unmask(&mut p, k);
                assert_eq!(p, b"hello");
                assert_eq!(used, f.len());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_frame(&f[..3]), WsFrame::Incomplete);
        let mut long = vec![0x82, 127];
        long.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse_frame(&long), WsFrame::Invalid);
        assert_eq!(parse_frame(&[0xf1, 0]), WsFrame::Invalid);
    }

    #[test]
    fn recognises_sip_in_a_frame() {
        let sip = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        let mut f = vec![0x81, sip.len() as u8];
        f.extend_from_slice(sip);
        assert!(carries_sip(&f));
        assert!(!carries_sip(b"\x81\x05hello"));
    }
}
