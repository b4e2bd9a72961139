//! Writing the packets of selected messages to a capture file (the TUI's `w`, and later the
//! CLI's `-w`).
//!
//! The analysis keeps no packets, only where each message was: [`MessageRecord::first_frame`]
//! ..= [`MessageRecord::frame`] and its addresses. So the capture files are read again and a
//! frame is written when it lies in a selected message's range and belongs to the message's
//! flow: same IP source and destination and, when the frame carries them, the same ports (a
//! fragment after the first has no ports and is matched by its IP pair). A message carried by
//! one frame is written whatever that frame is (an ICMP error quoting it, say). Timestamps and
//! link types are kept: one link type gives a classic pcap file, several a pcapng file with one
//! interface per link type.
//!
//! Standard input cannot be read a second time, so a run that read it cannot export.

use crate::analysis::MessageRecord;
use crate::capture::CaptureFiles;
use crate::net::frame_flow;
use crate::Timestamp;
use lyncscope_base::writer::{Interface, PcapNgWriter, PcapWriter, TsResolution};
use std::io::{self, Write};
use std::net::SocketAddr;

/// Where one message was in the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSpan {
    pub first_frame: u64,
    pub frame: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

impl From<&MessageRecord> for MessageSpan {
    fn from(r: &MessageRecord) -> Self {
        MessageSpan {
            first_frame: r.first_frame.min(r.frame),
            frame: r.frame,
            src: r.src,
            dst: r.dst,
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("standard input cannot be read again: save the capture to a file first")]
    StandardInput,
    #[error("nothing to write: no message selected")]
    Empty,
    #[error("{0}")]
    Capture(#[from] crate::capture::CaptureError),
    #[error("writing: {0}")]
    Io(#[from] io::Error),
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub frames: usize,
    /// True when the output is pcapng (several link types), false for classic pcap.
    pub pcapng: bool,
}

struct Selected {
    timestamp: Timestamp,
    link_type: u32,
    data: Vec<u8>,
    original_len: u32,
}

/// Reads `paths` again and writes the frames that carried `spans` to `out`.
pub fn write_frames(
    paths: &[String],
    spans: &[MessageSpan],
    out: impl Write,
) -> Result<Exported, ExportError> {
    if paths.iter().any(|p| p == "-") {
        return Err(ExportError::StandardInput);
    }
    if spans.is_empty() {
        return Err(ExportError::Empty);
    }
    let mut spans = spans.to_vec();
    spans.sort_by_key(|s| (s.first_frame, s.frame));
    let last_frame = spans.iter().map(|s| s.frame).max().unwrap_or(0);
    let mut files = CaptureFiles::open(paths)?;
    let mut selected: Vec<Selected> = Vec::new();
    // Spans are visited in order of their first frame; `active` holds those whose range
    // contains the current frame.
    let mut next_span = 0;
    let mut active: Vec<MessageSpan> = Vec::new();
    while let Some(frame) = files.next_frame() {
        let n = frame.number;
        if n > last_frame {
            break;
        }
        while let Some(s) = spans.get(next_span).filter(|s| s.first_frame <= n) {
            active.push(*s);
            next_span += 1;
        }
        active.retain(|s| s.frame >= n);
        if active.is_empty() {
            continue;
        }
        let take = active.iter().any(|s| s.first_frame == n && s.frame == n) || {
            match frame_flow(frame.link_type, frame.data) {
                Some(flow) => active.iter().any(|s| {
                    flow.src == s.src.ip()
                        && flow.dst == s.dst.ip()
                        && flow
                            .ports
                            .is_none_or(|(sp, dp)| sp == s.src.port() && dp == s.dst.port())
                }),
                None => false,
            }
        };
        if take {
            selected.push(Selected {
                timestamp: frame.timestamp,
                link_type: frame.link_type,
                data: frame.data.to_vec(),
                original_len: frame.original_len,
            });
        }
    }
    write_selected(&selected, out)
}

fn write_selected(selected: &[Selected], out: impl Write) -> Result<Exported, ExportError> {
    let mut link_types: Vec<u32> = Vec::new();
    for s in selected {
        if !link_types.contains(&s.link_type) {
            link_types.push(s.link_type);
        }
    }
    // Microseconds when no timestamp needs more, as most tools expect; else nanoseconds.
    let resolution = if selected
        .iter()
        .all(|s| s.timestamp.subsec_nanos() % 1000 == 0)
    {
        TsResolution::Micro
    } else {
        TsResolution::Nano
    };
    match link_types.as_slice() {
        [] => Ok(Exported {
            frames: 0,
            pcapng: false,
        }),
        [one] => {
            let mut w = PcapWriter::new(out, *one, resolution)?;
            for s in selected {
                w.write_packet(s.timestamp, &s.data, s.original_len)?;
            }
            w.flush()?;
            Ok(Exported {
                frames: selected.len(),
                pcapng: false,
            })
        }
        several => {
            let mut w = PcapNgWriter::new(out)?;
            let mut ids = Vec::with_capacity(several.len());
            for lt in several {
                ids.push(w.add_interface(&Interface::new(*lt).resolution(resolution))?);
            }
            for s in selected {
                let id = link_types
                    .iter()
                    .position(|l| *l == s.link_type)
                    .and_then(|i| ids.get(i).copied())
                    .unwrap_or(0);
                w.write_packet(id, s.timestamp, &s.data, s.original_len)?;
            }
            w.flush()?;
            Ok(Exported {
                frames: selected.len(),
                pcapng: true,
            })
        }
    }
}

/// Writes to the file `path` (created or truncated).
pub fn write_file(
    paths: &[String],
    spans: &[MessageSpan],
    path: &str,
) -> Result<Exported, ExportError> {
    let file = std::fs::File::create(path)?;
    let mut out = io::BufWriter::new(file);
    let done = write_frames(paths, spans, &mut out)?;
    out.flush()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::DialogKind;
    use crate::pipeline::Pipeline;

    fn analyse(paths: &[String]) -> Pipeline {
        let mut files = CaptureFiles::open(paths).expect("sample capture opens");
        let mut p = Pipeline::new(true);
        while let Some(f) = files.next_frame() {
            p.push(&f);
        }
        p.finish();
        p
    }

    fn sample(name: &str) -> Vec<String> {
        vec![format!(
            "{}/captures/{name}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        )]
    }

    fn temp(name: &str) -> String {
        let dir = std::env::temp_dir().join(format!("lyncscope-export-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir.join(name).to_string_lossy().into_owned()
    }

    /// Exporting a dialog's messages and analysing the result gives back the same messages.
    fn round_trip(capture: &str, kind: DialogKind) {
        let paths = sample(capture);
        let p = analyse(&paths);
        let a = p.analysis();
        let dialog = a
            .dialogs()
            .iter()
            .position(|d| d.kind == kind)
            .expect("a dialog of that kind") as u32;
        let msgs: Vec<&MessageRecord> = a
            .messages()
            .iter()
            .filter(|m| m.dialog == Some(dialog))
            .collect();
        let spans: Vec<MessageSpan> = msgs.iter().map(|m| MessageSpan::from(*m)).collect();
        let out = temp(&format!("{capture}-{}.pcap", kind.as_str()));
        let done = write_file(&paths, &spans, &out).expect("export");
        assert!(done.frames >= msgs.len(), "{done:?}");
        let again = analyse(std::slice::from_ref(&out));
        let b = again.analysis();
        let call_id = &a.dialogs()[dialog as usize].call_id;
        let starts = |an: &crate::analysis::Analysis| -> Vec<String> {
            an.messages()
                .iter()
                .filter(|m| an.call_id_of(m) == Some(call_id))
                .map(|m| an.start_text(m.start))
                .collect()
        };
        assert_eq!(starts(b), starts(a));
        let _ = std::fs::remove_file(out);
    }

    #[test]
    fn tcp_segments_round_trip() {
        round_trip("conference-join.pcapng", DialogKind::Focus);
        round_trip("conference-join.pcapng", DialogKind::Roster);
    }

    #[test]
    fn ip_fragments_round_trip() {
        round_trip("join-udp-fragments.pcap", DialogKind::Media);
        round_trip("join-udp-fragments.pcap", DialogKind::Roster);
    }

    #[test]
    fn several_link_types_give_pcapng() {
        let frame = |link_type| Selected {
            timestamp: Timestamp::from_secs_nanos(1_767_261_600, 5),
            link_type,
            data: vec![0; 40],
            original_len: 40,
        };
        let mut out = Vec::new();
        let done = write_selected(&[frame(1), frame(101), frame(1)], &mut out).expect("write");
        assert_eq!(
            done,
            Exported {
                frames: 3,
                pcapng: true
            }
        );
        assert_eq!(out.get(..4), Some(&[0x0a, 0x0d, 0x0d, 0x0a][..]));
    }

    #[test]
    fn whole_capture_round_trip() {
        let paths = sample("multi-conference.pcapng");
        let p = analyse(&paths);
        let spans: Vec<MessageSpan> = p.analysis().messages().iter().map(Into::into).collect();
        let mut out = Vec::new();
        let done = write_frames(&paths, &spans, &mut out).expect("export");
        // Everything written is SIP-carrying; the count matches a fresh analysis.
        let path = temp("multi.pcapng");
        std::fs::write(&path, &out).expect("write temp");
        let again = analyse(std::slice::from_ref(&path));
        assert_eq!(
            again.analysis().messages().len(),
            p.analysis().messages().len()
        );
        assert!(done.frames > 0);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn standard_input_and_nothing_selected() {
        let span = MessageSpan {
            first_frame: 1,
            frame: 1,
            src: "192.0.2.1:5060".parse().expect("address"),
            dst: "192.0.2.2:5060".parse().expect("address"),
        };
        assert!(matches!(
            write_frames(&["-".to_string()], &[span], Vec::new()),
            Err(ExportError::StandardInput)
        ));
        assert!(matches!(
            write_frames(&sample("conference-join.pcapng"), &[], Vec::new()),
            Err(ExportError::Empty)
        ));
    }
}
