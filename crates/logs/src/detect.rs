//! Find a log's format by its content, not its name.

use crate::bytes::{at, find, from, line_end, strip_cr, sub};
use crate::reader::DETECT_BYTES;
use crate::{sipstack, Format};

/// What the first bytes of an input are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// A log this crate reads.
    Log(Format),
    /// A binary ETW trace (`.etl`, what OCSLogger / CLS / the client write before formatting):
    /// it needs the logging tools' formatting information, convert it to text with them first.
    Etl,
    /// Text in UTF-16 (what Windows PowerShell 5 `>` / `Out-File` write): save it as UTF-8.
    Utf16,
    /// None of the above.
    Unknown,
}

impl Detection {
    /// The format, when it is one this crate reads.
    pub fn format(self) -> Option<Format> {
        match self {
            Detection::Log(f) => Some(f),
            _ => None,
        }
    }

    /// One line for the user when the input is not a readable log.
    pub fn hint(self) -> &'static str {
        match self {
            Detection::Log(_) => "a supported log",
            Detection::Etl => "an ETW binary trace (.etl): convert it to text with the logging tools first (Snooper / OCSLogger \"Analyze Log Files\", or Search-CsClsLogging -OutputFilePath)",
            Detection::Utf16 => "UTF-16 text: save it as UTF-8 first (for example Get-Content in.log | Set-Content -Encoding UTF8 out.log)",
            Detection::Unknown => "not a SIPStack, UCCAPI or pidgin-sipe log",
        }
    }
}

/// The ETW file layout: a 0x48-byte WMI_BUFFER_HEADER, then the logfile header event whose
/// SYSTEM_TRACE_HEADER marker has flags 0xC0 (TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE),
/// header type 1 or 2 (system trace header, 32/64-bit) and hook id 0 (EVENT_TRACE_GROUP_HEADER,
/// type INFO). Built from the ETW structure definitions (ntwmi.h), not checked against a
/// stored .etl sample.
fn is_etl(p: &[u8]) -> bool {
    p.len() >= 0x50
        && at(p, 0x4B) == 0xC0
        && matches!(at(p, 0x4A), 1 | 2)
        && at(p, 0x4E) == 0
        && at(p, 0x4F) == 0
}

fn is_utf16(p: &[u8]) -> bool {
    if p.starts_with(b"\xFF\xFE") || p.starts_with(b"\xFE\xFF") {
        return true;
    }
    // No BOM: ASCII text in UTF-16LE has a NUL at every odd position.
    let n = p.len().min(512) / 2;
    n >= 8 && (0..n).all(|i| at(p, 2 * i + 1) == 0 && at(p, 2 * i) != 0)
}

/// Offset of the first SIPStack record header line.
fn first_sipstack(p: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while pos < p.len() {
        let (e, n) = line_end(p, pos);
        let line = strip_cr(sub(p, pos, e));
        if line.starts_with(b"TL_") && sipstack::is_record_header(line) {
            return Some(pos);
        }
        if line.ends_with(b"$$begin_record") {
            return Some(pos);
        }
        pos = n;
    }
    None
}

/// Offset of the first UCCAPI start or end line (with the UCCAPI time prefix).
fn first_uccapi(p: &[u8]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for m in [&b"Sending Packet -"[..], b"Data Received -"] {
        let mut from_at = 0;
        while let Some(k) = find(from(p, from_at), m).map(|k| k + from_at) {
            let ls = memchr::memrchr(b'\n', sub(p, 0, k)).map_or(0, |i| i + 1);
            if crate::time::parse_mdy(from(p, ls), b'|').is_some() {
                best = Some(best.map_or(ls, |b: usize| b.min(ls)));
                break;
            }
            from_at = k + 1;
        }
    }
    best
}

/// Offset of the first sipe start marker.
fn first_sipe(p: &[u8]) -> Option<usize> {
    [
        &b"MESSAGE START >>>>>>>>>> "[..],
        b"MESSAGE START <<<<<<<<<< ",
    ]
    .iter()
    .filter_map(|m| find(p, m))
    .min()
}

/// The format of an input from its first bytes (up to [`DETECT_BYTES`] are looked at). When
/// several formats appear, the one seen first wins.
pub fn detect(prefix: &[u8]) -> Detection {
    let p = sub(prefix, 0, DETECT_BYTES.min(prefix.len()));
    if is_utf16(p) {
        return Detection::Utf16;
    }
    if is_etl(p) {
        return Detection::Etl;
    }
    let candidates = [
        (first_sipstack(p), Format::SipStack),
        (first_uccapi(p), Format::UccApi),
        (first_sipe(p), Format::Sipe),
    ];
    candidates
        .iter()
        .filter_map(|(at, f)| at.map(|a| (a, *f)))
        .min_by_key(|(a, _)| *a)
        .map_or(Detection::Unknown, |(_, f)| Detection::Log(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_content() {
        assert_eq!(
            detect(b"junk\r\nTL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n"),
            Detection::Log(Format::SipStack)
        );
        assert_eq!(
            detect(b"04/16/2013|03:17:30.168 1F68:C14 INFO :: End of Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 1503 bytes\n"),
            Detection::Log(Format::UccApi)
        );
        assert_eq!(
            detect(
                b"(03:17:30) sipe: \nMESSAGE START <<<<<<<<<< SIP - 2013-04-16T03:17:30.168000Z\n"
            ),
            Detection::Log(Format::Sipe)
        );
        assert_eq!(detect(b"hello world\n"), Detection::Unknown);
        assert_eq!(detect(b""), Detection::Unknown);
        assert_eq!(detect(b"\xFF\xFEh\0i\0"), Detection::Utf16);
        let u16: Vec<u8> = "TL_INFO(TF_PROTOCOL) [0]06E4"
            .bytes()
            .flat_map(|b| [b, 0])
            .collect();
        assert_eq!(detect(&u16), Detection::Utf16);
        // "Sending Packet -" without the UCCAPI time prefix is not enough.
        assert_eq!(detect(b"Sending Packet - 1.2.3.4:5 x"), Detection::Unknown);
    }

    #[test]
    fn etl_layout() {
        let mut etl = vec![0u8; 0x100];
        etl[0x48] = 2;
        etl[0x4A] = 2;
        etl[0x4B] = 0xC0;
        etl[0x4C] = 0x10;
        assert_eq!(detect(&etl), Detection::Etl);
        assert!(Detection::Etl.hint().contains("convert it to text"));
    }
}
