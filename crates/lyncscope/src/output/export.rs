//! Writing the packets of selected messages to a capture file (the TUI's `w`, and later the
//! CLI's `-w`).
//!
//! The analysis keeps no packets, only where each message was ([`MessageSpan`]: its frame range
//! and addresses). So the capture files are read again and a frame is written when
//! [`super::carried::Carrier`] says it carried a selected message — the same rule as `-w`.
//! Frames of a range are held until its completing frame is read, because that frame tells a
//! reassembled datagram's IP identification. Timestamps and link types are kept: one link
//! type gives a classic pcap file, several a pcapng file with one interface per link type.
//!
//! Standard input cannot be read a second time, so a run that read it cannot export.

use super::carried::Carrier;
use crate::capture::CaptureFiles;
use crate::net::{frame_flow, FrameFlow};
use crate::Timestamp;
use lyncscope_base::writer::{Interface, PcapNgWriter, PcapWriter, TsResolution};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use super::carried::MessageSpan;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// One of the inputs was standard input, which cannot be read a second time.
    #[error("standard input cannot be read again: save the capture to a file first")]
    StandardInput,
    /// No message was selected.
    #[error("nothing to write: no message selected")]
    Empty,
    /// An input could not be opened again (moved, deleted, or no longer a capture).
    #[error("{0}")]
    Capture(#[from] crate::capture::CaptureError),
    /// The output is one of the inputs (by identity: a symlink, a `../` path, a hard link).
    #[error("{0} is an input of this run: choose another file name")]
    Input(String),
    /// Writing the output failed.
    #[error("writing: {0}")]
    Io(#[from] io::Error),
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    /// Frames written.
    pub frames: usize,
    /// True when the output is pcapng (several link types), false for classic pcap.
    pub pcapng: bool,
}

/// A frame that may belong to an open span.
struct Held {
    number: u64,
    flow: Option<FrameFlow>,
    taken: bool,
    frame: Selected,
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
    // contains the current frame. Frames that may belong to an active span wait in `held`
    // until the spans over them complete.
    let mut next_span = 0;
    let mut active: Vec<MessageSpan> = Vec::new();
    let mut held: Vec<Held> = Vec::new();
    while let Some(frame) = files.next_frame() {
        let n = frame.number;
        if n > last_frame {
            break;
        }
        while let Some(s) = spans.get(next_span).filter(|s| s.first_frame <= n) {
            active.push(*s);
            next_span += 1;
        }
        if active.is_empty() {
            continue;
        }
        let flow = frame_flow(frame.link_type, frame.data);
        let maybe = |s: &MessageSpan| {
            s.frame == n
                || flow.as_ref().is_some_and(|f| {
                    f.fragment_id.is_some() || (f.src == s.src.ip() && f.dst == s.dst.ip())
                })
        };
        if active.iter().any(maybe) {
            held.push(Held {
                number: n,
                flow,
                taken: false,
                frame: Selected {
                    timestamp: frame.timestamp,
                    link_type: frame.link_type,
                    data: frame.data.to_vec(),
                    original_len: frame.original_len,
                },
            });
        }
        for s in active.iter().filter(|s| s.frame == n) {
            let carrier = Carrier::new(s, flow.as_ref());
            for h in held.iter_mut().filter(|h| h.number >= s.first_frame) {
                h.taken |= carrier.carried(h.number, h.flow.as_ref());
            }
        }
        active.retain(|s| s.frame > n);
        // Frames before every open range can no longer be taken: write or forget them.
        let keep_from = active
            .iter()
            .map(|s| s.first_frame)
            .min()
            .unwrap_or(u64::MAX);
        let done = held.partition_point(|h| h.number < keep_from);
        selected.extend(held.drain(..done).filter(|h| h.taken).map(|h| h.frame));
    }
    selected.extend(held.into_iter().filter(|h| h.taken).map(|h| h.frame));
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

/// Writes to the file `path`, replacing it whole at the end (an old file stays as it was if
/// anything fails). A `path` that is one of the inputs is refused before anything is opened.
pub fn write_file(
    paths: &[String],
    spans: &[MessageSpan],
    path: &str,
) -> Result<Exported, ExportError> {
    if let Some(input) = paths
        .iter()
        .find(|p| *p != "-" && same_file(Path::new(path), Path::new(p)))
    {
        return Err(ExportError::Input(input.clone()));
    }
    let (replacement, file) = Replacement::create(Path::new(path))?;
    let mut out = io::BufWriter::new(file);
    let done = write_frames(paths, spans, &mut out)?;
    out.flush()?;
    drop(out);
    replacement.commit()?;
    Ok(done)
}

/// Writes `text` (a ladder or a message saved as text) to the file `path` the way
/// [`write_file`] writes packets: an input is refused, an old file is replaced whole at the
/// end. Returns the bytes written.
pub fn write_text(paths: &[String], text: &[u8], path: &str) -> Result<u64, ExportError> {
    if let Some(input) = paths
        .iter()
        .find(|p| *p != "-" && same_file(Path::new(path), Path::new(p)))
    {
        return Err(ExportError::Input(input.clone()));
    }
    let (replacement, mut file) = Replacement::create(Path::new(path))?;
    file.write_all(text)?;
    file.flush()?;
    drop(file);
    replacement.commit()?;
    Ok(text.len() as u64)
}

/// True when `a` and `b` name one existing file: the same device and inode, so that a
/// symlink, a `../` path or a hard link is seen for what it is, not by its name.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => same_file_metadata(&a, &b),
        _ => false,
    }
}

/// [`same_file`] on metadata already read (e.g. of standard input redirected from a file).
#[cfg(unix)]
pub fn same_file_metadata(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// [`same_file`] on metadata already read: without inode numbers, the best that can be said is
/// nothing (callers compare canonical paths too).
#[cfg(not(unix))]
pub fn same_file_metadata(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// An output file written under a temporary name beside it and renamed over it at the end, so
/// that a failure (a full disk, an error, an interrupted run) never leaves a half-written file
/// in place of an old one. Dropped without [`Replacement::commit`], it removes the temporary
/// file. A process killed outright (a second Ctrl-C) leaves the temporary file, never a
/// damaged output.
pub(crate) struct Replacement {
    /// Where the output goes: the file a symlink points to, so that the link stays a link.
    target: PathBuf,
    /// The temporary file, `None` when writing in place (see [`Replacement::create`]).
    temp: Option<PathBuf>,
    /// A handle on the written file, to make it durable before the rename.
    file: File,
}

impl Replacement {
    /// Opens the temporary file for `path` (for reading too, as `-w` may rewrite what it
    /// wrote). Something that is not a regular file (`/dev/null`, a FIFO) is written in place:
    /// it holds nothing to lose, and renaming over it would replace the device or FIFO.
    pub(crate) fn create(path: &Path) -> io::Result<(Self, File)> {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        // A dangling symlink is replaced by the file.
        let target = match is_link {
            true => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            false => path.to_path_buf(),
        };
        let existing = std::fs::metadata(&target).ok();
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory; give a file name",
            ));
        }
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            let file = OpenOptions::new().read(true).write(true).open(&target)?;
            let handle = file.try_clone()?;
            let r = Replacement {
                target,
                temp: None,
                file: handle,
            };
            return Ok((r, file));
        }
        let Some(name) = target.file_name() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file name",
            ));
        };
        // Beside the output, so that the rename never crosses file systems; named for what it
        // is if a killed run leaves it; never an existing file (create_new).
        let mut temp_name = name.to_os_string();
        temp_name.push(format!(".lyncscope-{}.tmp", std::process::id()));
        let temp = target.with_file_name(temp_name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let r = Replacement {
            target,
            temp: Some(temp),
            file: file.try_clone()?,
        };
        // The replacement keeps the old file's permissions (a capture may be private).
        if let Some(m) = existing {
            r.file.set_permissions(m.permissions())?;
        }
        Ok((r, file))
    }

    /// Makes the written file durable and renames it over the output. Call after the last
    /// write was flushed.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        let done = self
            .file
            .sync_all()
            .and_then(|()| std::fs::rename(&temp, &self.target));
        if done.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        done
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_written_whole_and_never_over_an_input() {
        let dir = std::env::temp_dir().join(format!("lyncscope-text-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let input = dir.join("in.pcap");
        std::fs::write(&input, b"capture").expect("input");
        let out = dir.join("ladder.txt");
        let paths = vec![input.to_string_lossy().into_owned()];
        let n = write_text(&paths, b"a ladder\n", &out.to_string_lossy()).expect("written");
        assert_eq!(n, 9);
        assert_eq!(std::fs::read(&out).expect("read"), b"a ladder\n");
        // The input by another name is refused and left as it was.
        let link = dir.join("link.pcap");
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        #[cfg(unix)]
        assert!(matches!(
            write_text(&paths, b"x", &link.to_string_lossy()),
            Err(ExportError::Input(_))
        ));
        assert_eq!(std::fs::read(&input).expect("read"), b"capture");
        let _ = std::fs::remove_dir_all(&dir);
    }
    use crate::analysis::DialogKind;
    use crate::analysis::MessageRecord;
    use crate::pipeline::Pipeline;

    fn analyse(paths: &[String]) -> Pipeline {
        let mut files = CaptureFiles::open(paths).expect("sample capture opens");
        let mut p = Pipeline::new(&crate::Options::with_messages());
        crate::pipeline::run(&mut files, &mut p);
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
            .filter(|m| m.dialog() == Some(dialog))
            .collect();
        let spans: Vec<MessageSpan> = msgs.iter().map(|m| MessageSpan::of(a, m)).collect();
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
                .map(|m| an.start_text(m.start()))
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

    /// Raw IPv4 fragments of one UDP datagram 10.0.0.1:5060 → 10.0.0.2:5060 with `id`.
    fn fragments(id: u16, sip: &[u8]) -> Vec<Vec<u8>> {
        let mut udp = Vec::new();
        udp.extend_from_slice(&5060u16.to_be_bytes());
        udp.extend_from_slice(&5060u16.to_be_bytes());
        udp.extend_from_slice(&(8 + sip.len() as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(sip);
        let half = (udp.len() / 2) & !7;
        let (a, b) = udp.split_at(half);
        [(a, 0usize, true), (b, half, false)]
            .iter()
            .map(|(data, offset, more)| {
                let mut p = vec![0x45, 0];
                p.extend_from_slice(&(20 + data.len() as u16).to_be_bytes());
                p.extend_from_slice(&id.to_be_bytes());
                let fo = (*offset / 8) as u16 | if *more { 0x2000 } else { 0 };
                p.extend_from_slice(&fo.to_be_bytes());
                p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
                p.extend_from_slice(data);
                p
            })
            .collect()
    }

    /// The frames of a capture file as (time, bytes), in order.
    fn frames_of(path: &str) -> Vec<(Timestamp, Vec<u8>)> {
        let mut files = CaptureFiles::open(&[path.to_string()]).expect("opens");
        let mut out = Vec::new();
        while let Some(f) = files.next_frame() {
            out.push((f.timestamp, f.data.to_vec()));
        }
        out
    }

    /// `-w` and the export apply one rule: two fragmented datagrams of the same flow,
    /// interleaved, are told apart by their IP identification (the export once took the
    /// other datagram's first fragment, whose ports match).
    #[test]
    fn export_and_dash_w_write_the_same_frames() {
        let msg = |n: u32| {
            format!(
                "MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{n}\r\n\
                 From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c{n}\r\n\
                 CSeq: {n} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n{}",
                "x".repeat(64)
            )
        };
        let a = fragments(1, msg(1).as_bytes());
        let b = fragments(2, msg(2).as_bytes());
        let order = [&a[0], &b[0], &a[1], &b[1]];
        let input = temp("interleaved-fragments.pcap");
        {
            let file = std::fs::File::create(&input).expect("temp file");
            let mut w =
                PcapWriter::new(file, crate::linktype::RAW, TsResolution::Micro).expect("header");
            for (i, f) in order.iter().enumerate() {
                let ts = Timestamp::from_secs_nanos(1_767_261_600 + i as i64, 0);
                w.write_packet(ts, f, f.len() as u32).expect("packet");
            }
            w.flush().expect("flush");
        }
        // -w during the run.
        let mut writer = crate::output::sip_writer::SipWriter::new(
            std::io::Cursor::new(Vec::new()),
            TsResolution::Micro,
            Default::default(),
        );
        let mut files = CaptureFiles::open(std::slice::from_ref(&input)).expect("opens");
        let mut p = Pipeline::new(&crate::Options::with_messages());
        while let Some(f) = files.next_frame() {
            p.push_tapped(&f, &mut writer);
        }
        p.finish_tapped(&mut writer);
        writer.finish().expect("writes");
        let dash_w = temp("interleaved-dash-w.pcap");
        let bytes = writer.into_inner().expect("no error").into_inner();
        std::fs::write(&dash_w, bytes).expect("write");
        // The export after it, of every message and of the first alone.
        let records = p.analysis().messages();
        assert_eq!(records.len(), 2);
        let all: Vec<MessageSpan> = records
            .iter()
            .map(|r| MessageSpan::of(p.analysis(), r))
            .collect();
        let exported = temp("interleaved-export.pcap");
        write_file(std::slice::from_ref(&input), &all, &exported).expect("export");
        let mut got = frames_of(&exported);
        let mut want = frames_of(&dash_w);
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(got.len(), 4);
        let first = temp("interleaved-first.pcap");
        let span = MessageSpan::of(p.analysis(), &records[0]);
        write_file(std::slice::from_ref(&input), &[span], &first).expect("export");
        let one = frames_of(&first);
        assert_eq!(one.len(), 2, "only the fragments of the first datagram");
        assert!(one.iter().all(|(_, d)| d.get(4..6) == Some(&[0u8, 1][..])));
        for f in [input, dash_w, exported, first] {
            let _ = std::fs::remove_file(f);
        }
    }

    #[test]
    fn an_input_is_refused_and_a_failure_keeps_the_old_file() {
        let dir =
            std::env::temp_dir().join(format!("lyncscope-export-same-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        let input = dir.join("in.pcapng");
        let original = std::fs::read(&sample("conference-join.pcapng")[0]).expect("sample");
        std::fs::write(&input, &original).expect("copy");
        let paths = vec![input.to_string_lossy().into_owned()];
        let p = analyse(&paths);
        let a = p.analysis();
        let spans: Vec<MessageSpan> = a.messages().iter().map(|m| MessageSpan::of(a, m)).collect();
        let link = dir.join("link.pcapng");
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        for out in [input.clone(), link, dir.join("sub/../in.pcapng")] {
            let err = write_file(&paths, &spans, &out.to_string_lossy()).expect_err("refused");
            assert!(matches!(err, ExportError::Input(_)), "{err}");
            assert_eq!(std::fs::read(&input).expect("input"), original);
        }
        // A failure after the output was started (the input is gone) leaves the old file.
        let old = dir.join("old.pcap");
        std::fs::write(&old, b"old").expect("old file");
        let missing = vec![dir.join("gone.pcapng").to_string_lossy().into_owned()];
        let err = write_file(&missing, &spans, &old.to_string_lossy()).expect_err("fails");
        assert!(matches!(err, ExportError::Capture(_)), "{err}");
        assert_eq!(std::fs::read(&old).expect("old"), b"old");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("lists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["in.pcapng", "link.pcapng", "old.pcap", "sub"]);
        let _ = std::fs::remove_dir_all(&dir);
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
        let a = p.analysis();
        let spans: Vec<MessageSpan> = a.messages().iter().map(|m| MessageSpan::of(a, m)).collect();
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
            ip_reassembled: false,
            icmp_quoted: false,
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
