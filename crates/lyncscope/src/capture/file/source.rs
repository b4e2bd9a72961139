//! Opening an input and identifying what it holds, before any frame is read.
//!
//! Identification looks at content, never at the name: a gzip stream is recognised by its
//! magic and decompressed transparently, then the first bytes must be a pcap file header or a
//! complete pcapng Section Header Block. Anything else is described in a few words ("text
//! file", "unknown magic 0x3c3f786d", "pcapng section header with an unknown byte-order magic
//! 0x12345678") so that the user learns why the input was refused.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use pcap_parser::pcap::parse_pcap_header;
use pcap_parser::pcapng::parse_sectionheaderblock;

/// How many leading bytes are examined to identify an input.
const PEEK_LEN: usize = 512;

/// A pcapng Section Header Block larger than this is taken as corruption. Real ones hold a few
/// short strings (hardware, OS, application, maybe a comment); the bound also caps what
/// pcap-parser's option list can cost in memory.
pub(super) const MAX_SHB_LEN: usize = 1 << 20;

/// A pipe, FIFO or standard input is read by a thread of its own, this many bytes per chunk,
/// with at most [`PIPE_CHUNKS`] chunks read ahead (1 MiB), so that the reading side can give up
/// waiting when the run is interrupted ([`interrupt_reads`]).
const PIPE_CHUNK: usize = 64 * 1024;
/// Chunks read ahead of the analysis from a pipe (the bound on the memory it holds).
const PIPE_CHUNKS: usize = 16;
/// How long a read of a pipe waits before it looks at the interruption flag again: how late at
/// most a stop request is acted on while the writer sends nothing.
const PIPE_WAKE: Duration = Duration::from_millis(50);

/// Set by [`interrupt_reads`]: pipes and standard input end where they are.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ends every read of a pipe, FIFO or standard input of this process where it is, even while it
/// waits for a writer that keeps the pipe open without writing: the read returns the end of the
/// input (what was already read stays read; a record cut in the middle is reported as cut).
/// For a program's stop request (Ctrl-C, SIGTERM); regular files are not affected (they never
/// block; the caller stops reading them itself). It cannot be undone.
pub fn interrupt_reads() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// True once [`interrupt_reads`] was called.
pub fn reads_interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A reader of a pipe that can be interrupted: a thread reads chunks into a bounded channel,
/// and `read` waits for the next chunk [`PIPE_WAKE`] at a time, looking at the flag between
/// waits. The thread stays blocked in its read until the writer writes or closes (std has no
/// safe way to cancel a read); it ends then, or with the process.
struct Interruptible {
    chunks: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    ended: bool,
}

/// `inner` read on a thread of its own, interruptible by [`interrupt_reads`]; `inner` itself
/// when no thread can be started.
fn interruptible(mut inner: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(PIPE_CHUNKS);
    let (give, back) = mpsc::channel::<Box<dyn Read + Send>>();
    let started = std::thread::Builder::new()
        .name("pipe reader".into())
        .spawn(move || {
            let Ok(mut inner) = back.recv() else { return };
            loop {
                let mut buf = vec![0; PIPE_CHUNK];
                match inner.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
    if started.is_err() {
        return inner;
    }
    match give.send(inner) {
        Ok(()) => Box::new(Interruptible {
            chunks: rx,
            chunk: Vec::new(),
            at: 0,
            ended: false,
        }),
        // The thread is gone: its receiver was dropped with the reader inside the error.
        Err(mpsc::SendError(reader)) => {
            inner = reader;
            inner
        }
    }
}

impl Read for Interruptible {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(rest) = self.chunk.get(self.at..).filter(|r| !r.is_empty()) {
                let n = rest.len().min(buf.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.at += n;
                return Ok(n);
            }
            if self.ended || reads_interrupted() {
                self.ended = true;
                return Ok(0);
            }
            match self.chunks.recv_timeout(PIPE_WAKE) {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Ok(0);
                }
            }
        }
    }
}

/// The file formats understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// Classic libpcap format (any byte order, µs or ns, or the "modified" Kuznetzov variant).
    Pcap,
    /// pcapng; the length of the first Section Header Block is needed to size the read buffer,
    /// because pcap-parser wants that block whole in its first read.
    PcapNg { shb_len: usize },
}

/// An input whose first bytes have been checked.
pub(super) struct Identified {
    pub format: Format,
    pub compressed: bool,
    /// The whole (decompressed) stream from its first byte: the bytes examined are replayed.
    pub reader: Box<dyn Read + Send>,
}

/// Why identification failed.
#[derive(Debug)]
pub(super) enum IdentifyError {
    NotACapture(String),
    Io(io::Error),
}

/// Reading progress of one input, shared between the reader chain (which pcap-parser owns
/// once it is built) and [`super::CaptureFiles`], which reports it.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Bytes read from the file or standard input itself (compressed bytes for gzip).
    raw_bytes: AtomicU64,
    /// The last read error: pcap-parser reduces I/O errors to a bare `ReadError`, so the
    /// message is kept here to be shown to the user.
    error: Mutex<Option<(io::ErrorKind, String)>>,
}

impl Progress {
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<(io::ErrorKind, String)> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn set_error(&self, e: &io::Error) {
        if let Ok(mut slot) = self.error.lock() {
            *slot = Some((e.kind(), e.to_string()));
        }
    }
}

/// Counts the raw bytes read, for progress.
struct Counting<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress
            .raw_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The reader handed to pcap-parser.
///
/// Its first `read` fills the whole buffer (pcap-parser parses the file header from that
/// single read, and a pipe or a gzip decoder may return little per call); later reads pass
/// through. Interrupted reads are retried and other errors are recorded in [`Progress`].
pub(super) struct Source {
    inner: Box<dyn Read + Send>,
    progress: Arc<Progress>,
    first_read_done: bool,
    /// An error met by the first read after it had data to return, returned next time.
    deferred: Option<io::Error>,
}

impl Source {
    pub fn new(inner: Box<dyn Read + Send>, progress: Arc<Progress>) -> Self {
        Source {
            inner,
            progress,
            first_read_done: false,
            deferred: None,
        }
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = if let Some(e) = self.deferred.take() {
            Err(e)
        } else if self.first_read_done {
            loop {
                match self.inner.read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            }
        } else {
            self.first_read_done = true;
            match read_up_to(&mut self.inner, buf) {
                (0, Some(e)) => Err(e),
                (n, deferred) => {
                    self.deferred = deferred;
                    Ok(n)
                }
            }
        };
        if let Err(e) = &result {
            self.progress.set_error(e);
        }
        result
    }
}

/// Opens a file for counting reads. The error message is the OS one.
/// A FIFO, a character device or a process substitution (`<(zcat …)`) is read on a thread
/// of its own so that an interruption ends a read that waits for its writer.
pub(super) fn open_file(path: &str, progress: &Arc<Progress>) -> io::Result<Box<dyn Read + Send>> {
    let file = File::open(path)?;
    let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    let counting = Box::new(Counting {
        inner: file,
        progress: Arc::clone(progress),
    });
    Ok(if regular {
        counting
    } else {
        interruptible(counting)
    })
}

/// Standard input, counting reads, on a thread of its own (it may be a pipe whose writer
/// keeps it open: see [`interrupt_reads`]).
pub(super) fn stdin(progress: &Arc<Progress>) -> Box<dyn Read + Send> {
    interruptible(Box::new(Counting {
        inner: io::stdin(),
        progress: Arc::clone(progress),
    }))
}

/// Size of a regular file, for progress; `None` for pipes, devices and the like.
pub(super) fn file_size(path: &str) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// Examines the first bytes of `raw` (decompressing gzip) and says what it is.
pub(super) fn identify(
    mut raw: Box<dyn Read + Send>,
    empty: &str,
) -> Result<Identified, IdentifyError> {
    let mut head = vec![0; PEEK_LEN];
    let n = peek_up_to(&mut raw, &mut head).map_err(IdentifyError::Io)?;
    head.truncate(n);
    if !head.starts_with(&[0x1f, 0x8b]) {
        let format = classify(&mut head, &mut raw).map_err(|what| {
            IdentifyError::NotACapture(if what.is_empty() {
                empty.to_string()
            } else {
                what
            })
        })?;
        return Ok(Identified {
            format,
            compressed: false,
            reader: replay(head, raw),
        });
    }

    let mut gz: Box<dyn Read + Send> = Box::new(MultiGzDecoder::new(replay(head, raw)));
    let mut head = vec![0; PEEK_LEN];
    let n = peek_up_to(&mut gz, &mut head).map_err(|e| {
        // Decompression errors are about the content; a failing device is not.
        match e.kind() {
            io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof => {
                IdentifyError::NotACapture(format!("gzip data that cannot be decompressed: {e}"))
            }
            _ => IdentifyError::Io(e),
        }
    })?;
    head.truncate(n);
    let format = classify(&mut head, &mut gz).map_err(|what| {
        let what = if what.is_empty() { "nothing" } else { &what };
        IdentifyError::NotACapture(format!("gzip data that is not a capture (it holds {what})"))
    })?;
    Ok(Identified {
        format,
        compressed: true,
        reader: replay(head, gz),
    })
}

/// Puts the examined bytes back in front of the rest of the stream.
fn replay(head: Vec<u8>, rest: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    Box::new(Cursor::new(head).chain(rest))
}

/// Identifies the format from the first bytes of a (decompressed) stream. A pcapng Section
/// Header Block longer than those bytes is read whole into `head` so that it can be checked.
/// The error is a short description of the content; empty means no content at all.
fn classify(head: &mut Vec<u8>, rest: &mut dyn Read) -> Result<Format, String> {
    let Some(magic) = be32(head, 0) else {
        return Err(if head.is_empty() {
            String::new()
        } else if looks_like_text(head) {
            "text file".to_string()
        } else {
            format!("too short to be a capture ({} bytes)", head.len())
        });
    };
    match magic {
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 => {
            return match parse_pcap_header(head) {
                Ok(_) => Ok(Format::Pcap),
                Err(_) => Err(format!(
                    "pcap file header cut off after {} bytes",
                    head.len()
                )),
            };
        }
        0x34cd_b2a1 => return Err("big-endian \"modified\" pcap (not supported)".to_string()),
        0x0a0d_0d0a => {
            if let Some(shb_len) = pcapng_shb_len(head) {
                return check_shb(head, rest, shb_len);
            }
            // The block type is pcapng's; what is wrong is the byte-order magic after it, and
            // naming the valid block type instead would send the user looking elsewhere. (A
            // text file that happens to start with "\n\r\r\n" is still called text below.)
            if !looks_like_text(head) {
                return Err(match be32(head, 8) {
                    Some(bom) => format!(
                        "pcapng section header with an unknown byte-order magic 0x{bom:08x}"
                    ),
                    None => format!(
                        "pcapng file cut off inside its section header ({} bytes)",
                        head.len()
                    ),
                });
            }
        }
        _ => {}
    }
    if let Some(what) = known_magic(head) {
        return Err(what.to_string());
    }
    if looks_like_text(head) {
        return Err("text file".to_string());
    }
    Err(format!("unknown magic 0x{magic:08x}"))
}

/// The length of a Section Header Block at the start of `head`, read in the byte order its
/// byte-order magic announces; `None` if the byte-order magic is not there.
fn pcapng_shb_len(head: &[u8]) -> Option<u32> {
    match be32(head, 8)? {
        0x1a2b_3c4d => be32(head, 4),
        0x4d3c_2b1a => le32(head, 4),
        _ => None,
    }
}

fn check_shb(head: &mut Vec<u8>, rest: &mut dyn Read, shb_len: u32) -> Result<Format, String> {
    let len = shb_len as usize;
    if len < 28 || !len.is_multiple_of(4) || len > MAX_SHB_LEN {
        return Err(format!(
            "pcapng file with a corrupt section header (length {shb_len})"
        ));
    }
    if head.len() < len {
        let have = head.len();
        head.resize(len, 0);
        let got = head
            .get_mut(have..)
            .map_or(Ok(0), |tail| peek_up_to(rest, tail))
            .map_err(|e| format!("pcapng file that cannot be read: {e}"))?;
        head.truncate(have + got);
    }
    if head.len() < len {
        return Err(format!(
            "pcapng file cut off inside its section header ({} bytes)",
            head.len()
        ));
    }
    match parse_sectionheaderblock(head) {
        Ok(_) => Ok(Format::PcapNg { shb_len: len }),
        Err(_) => Err("pcapng file with a corrupt section header".to_string()),
    }
}

/// A few formats users are likely to pass by mistake.
fn known_magic(head: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"PK\x03\x04", "zip archive"),
        (b"BZh", "bzip2-compressed data (decompress it first)"),
        (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
        (
            b"\x28\xb5\x2f\xfd",
            "zstd-compressed data (decompress it first)",
        ),
        (
            b"snoop\x00\x00\x00",
            "snoop capture (not supported; convert it to pcap)",
        ),
        (b"\x7fELF", "ELF executable"),
    ];
    KNOWN
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|&(_, what)| what)
}

/// UTF-8 (possibly cut inside a character at the end) without control characters other than
/// the usual white space.
fn looks_like_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            // Cut inside a multi-byte character by the peek; the valid part decides.
            match head.get(..e.valid_up_to()).map(std::str::from_utf8) {
                Some(Ok(text)) => text,
                _ => return false,
            }
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

/// Reads until `buf` is full or the stream ends; returns how much was read. An error after
/// some bytes were read is returned beside them, so that what came before it is not lost
/// (a cut-off gzip stream decompresses up to the cut, then fails).
fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while let Some(space) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
        match reader.read(space) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// [`read_up_to`] for examining the start of a stream: an error is only an error if nothing
/// came before it (otherwise the reading proper meets it again and reports it).
fn peek_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    match read_up_to(reader, buf) {
        (0, Some(e)) => Err(e),
        (n, _) => Ok(n),
    }
}

pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

pub(super) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
