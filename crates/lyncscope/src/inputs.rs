//! Opening what the user gives: capture files and logs in any mix, each found **by content**
//! (not by name), gzip-compressed or not.
//!
//! Captures alone are read one after the other with frames numbered across them, as before.
//! As soon as a log is among the inputs, every input is read at once and merged **by time**
//! into one timeline (frames and messages numbered in that order): a log and a capture, or
//! several machines' logs, describe the same minutes, and the analysis wants them in order.

use crate::capture::{CaptureError, CaptureFiles, Frame, InputWarning};
use crate::logs::{LogInput, LogOptions, ServerEvent};
use crate::source::{Input, Origin, Source, SourceMessage, Transport};
use crate::Timestamp;
use lyncscope_logs::{Format, LogStats};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Bytes looked at to tell a capture from a log.
const SNIFF: usize = 64 * 1024;

/// What an input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// pcap or pcapng.
    Capture,
    /// A text log of this format.
    Log(Format),
}

/// Finds what the input at `path` is by its content. Standard input (`-`), pipes and FIFOs
/// are taken as captures. An input that is neither is an error naming it (with a hint when it is a log
/// lyncscope recognises but cannot read, such as an ETW `.etl` binary).
pub fn classify(path: &str) -> Result<InputKind, CaptureError> {
    // A pipe, FIFO or device cannot be read twice: looking at its first bytes here would
    // take them from the reader. It is taken as a capture, like standard input.
    let regular = std::fs::metadata(path).map(|m| m.is_file()).unwrap_or(true);
    if path == "-" || !regular {
        return Ok(InputKind::Capture);
    }
    let head = crate::capture::peek(path, SNIFF).map_err(|e| CaptureError::Unreadable {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    let capture = matches!(
        head.get(..4),
        Some([0xd4, 0xc3, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0xc3, 0xd4])
            | Some([0x4d, 0x3c, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0x3c, 0x4d])
            | Some([0x0a, 0x0d, 0x0d, 0x0a])
    );
    if capture {
        return Ok(InputKind::Capture);
    }
    match crate::logs::detect(&head) {
        Some(Ok(format)) => Ok(InputKind::Log(format)),
        Some(Err(hint)) => Err(CaptureError::NotACapture {
            path: path.to_string(),
            what: hint.to_string(),
        }),
        // Not a log: let the capture reader say what it is (its messages name text files,
        // truncated headers, …).
        None => Ok(InputKind::Capture),
    }
}

/// The inputs of a run, as one [`Source`].
pub struct Inputs {
    names: Vec<String>,
    how: How,
}

enum How {
    /// Captures only: read in order.
    Captures(Box<CaptureFiles>),
    /// At least one log: every input merged by time.
    Merged(Merged),
}

impl Inputs {
    /// Opens every input (a bad one is reported before anything is read).
    pub fn open(paths: &[String], options: &LogOptions) -> Result<Inputs, CaptureError> {
        let kinds = paths
            .iter()
            .map(|p| classify(p))
            .collect::<Result<Vec<_>, _>>()?;
        if kinds.iter().all(|k| *k == InputKind::Capture) {
            return Ok(Inputs {
                names: paths.to_vec(),
                how: How::Captures(Box::new(CaptureFiles::open(paths)?)),
            });
        }
        let mut slots = Vec::with_capacity(paths.len());
        for (i, (path, kind)) in paths.iter().zip(&kinds).enumerate() {
            let input = u32::try_from(i).unwrap_or(u32::MAX);
            let source = match kind {
                InputKind::Capture => {
                    Slotted::Capture(Box::new(CaptureFiles::open(std::slice::from_ref(path))?))
                }
                InputKind::Log(format) => {
                    Slotted::Log(Box::new(LogInput::open(path, *format, input, options)?))
                }
            };
            slots.push(Slot {
                source,
                input,
                head: Head::Empty,
            });
        }
        Ok(Inputs {
            names: paths.to_vec(),
            how: How::Merged(Merged {
                slots,
                current: None,
                number: 0,
                follow: options.follow,
            }),
        })
    }

    /// The inputs as given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether any input is a log (the run merges by time).
    pub fn has_logs(&self) -> bool {
        matches!(&self.how, How::Merged(_))
    }

    /// Bytes read so far (of captures read in order; 0 when merging).
    pub fn bytes_read(&self) -> u64 {
        match &self.how {
            How::Captures(c) => c.bytes_read(),
            How::Merged(_) => 0,
        }
    }

    /// Total bytes of the inputs, when known (captures read in order from regular files).
    pub fn total_bytes(&self) -> Option<u64> {
        match &self.how {
            How::Captures(c) => c.total_bytes(),
            How::Merged(_) => None,
        }
    }

    /// Whether an input is ready now (for a followed log: whether more was written).
    pub fn ready(&mut self) -> bool {
        match &mut self.how {
            How::Captures(_) => true,
            How::Merged(m) => m.ready(),
        }
    }

    /// Whether logs are followed (`--follow`): then `None` from [`Source::next_input`] means
    /// "nothing more yet", and the caller asks again later.
    pub fn following(&self) -> bool {
        matches!(&self.how, How::Merged(m) if m.follow)
    }

    /// Whether standard input is among the inputs (it cannot be read a second time).
    pub fn has_stdin(&self) -> bool {
        self.names.iter().any(|n| n == "-")
    }

    /// Problems with capture inputs that did not stop the run.
    pub fn warnings(&self) -> Vec<InputWarning> {
        match &self.how {
            How::Captures(c) => c.warnings().to_vec(),
            How::Merged(m) => m
                .slots
                .iter()
                .filter_map(|s| match &s.source {
                    Slotted::Capture(c) => Some(c.warnings().to_vec()),
                    Slotted::Log(_) => None,
                })
                .flatten()
                .collect(),
        }
    }

    /// Every log's name and counters (records by kind, cut records, …).
    pub fn log_stats(&self) -> Vec<(&str, &LogStats, u64)> {
        self.logs()
            .map(|(i, l)| {
                (
                    self.names.get(i as usize).map_or("?", String::as_str),
                    l.stats(),
                    l.events_dropped(),
                )
            })
            .collect()
    }

    /// Server events the logs could not hand over to the pipeline (see
    /// [`LogInput::events_dropped`]).
    pub fn events_dropped(&self) -> u64 {
        self.logs().map(|(_, l)| l.events_dropped()).sum()
    }

    /// The synthetic endpoints the logs' messages were given, by address.
    pub fn synthetic(&self) -> BTreeMap<IpAddr, String> {
        let mut all = BTreeMap::new();
        for (_, l) in self.logs() {
            all.extend(l.synthetic().iter().map(|(a, n)| (*a, n.clone())));
        }
        all
    }

    fn logs(&self) -> impl Iterator<Item = (u32, &LogInput)> {
        let slots: &[Slot] = match &self.how {
            How::Merged(m) => &m.slots,
            How::Captures(_) => &[],
        };
        slots.iter().filter_map(|s| match &s.source {
            Slotted::Log(l) => Some((s.input, &**l)),
            Slotted::Capture(_) => None,
        })
    }
}

impl Source for Inputs {
    fn next_input(&mut self) -> Option<Input<'_>> {
        match &mut self.how {
            How::Captures(c) => c.next_frame().map(Input::Frame),
            How::Merged(m) => m.next_input(),
        }
    }

    fn take_events(&mut self) -> Vec<ServerEvent> {
        let mut all = Vec::new();
        if let How::Merged(m) = &mut self.how {
            for s in &mut m.slots {
                if let Slotted::Log(l) = &mut s.source {
                    all.extend(l.take_events());
                }
            }
        }
        all
    }

    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        match &mut self.how {
            How::Captures(c) => c.take_secrets(),
            How::Merged(m) => {
                let mut all = Vec::new();
                for s in &mut m.slots {
                    if let Slotted::Capture(c) = &mut s.source {
                        all.extend(c.take_secrets().unwrap_or_default());
                    }
                }
                (!all.is_empty()).then_some(all)
            }
        }
    }
}

/// Several inputs merged by time: each holds its next item (copied, since an input's item
/// borrows its reader); the earliest goes out, ties in input order.
struct Merged {
    slots: Vec<Slot>,
    current: Option<usize>,
    number: u64,
    /// Logs are followed: one that has nothing more *yet* is asked again next time.
    follow: bool,
}

struct Slot {
    source: Slotted,
    input: u32,
    head: Head,
}

enum Slotted {
    Capture(Box<CaptureFiles>),
    Log(Box<LogInput>),
}

impl Slotted {
    fn next(&mut self) -> Option<Input<'_>> {
        match self {
            Slotted::Capture(c) => c.next_frame().map(Input::Frame),
            Slotted::Log(l) => l.next_input(),
        }
    }
}

/// An input item kept until its turn; the buffers are reused.
enum Head {
    Empty,
    Done,
    Frame {
        time: Timestamp,
        link_type: u32,
        data: Vec<u8>,
        original_len: u32,
    },
    Message {
        time: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        transport: Transport,
        origin: Origin,
        bytes: Vec<u8>,
    },
}

impl Head {
    fn time(&self) -> Option<Timestamp> {
        match self {
            Head::Frame { time, .. } | Head::Message { time, .. } => Some(*time),
            Head::Empty | Head::Done => None,
        }
    }

    /// Takes the buffer back for reuse.
    fn take_buffer(&mut self) -> Vec<u8> {
        match std::mem::replace(self, Head::Empty) {
            Head::Frame { mut data, .. } => {
                data.clear();
                data
            }
            Head::Message { mut bytes, .. } => {
                bytes.clear();
                bytes
            }
            Head::Empty | Head::Done => Vec::new(),
        }
    }
}

impl Merged {
    /// Is an input ready (after reading what the inputs have now)?
    fn ready(&mut self) -> bool {
        self.fill();
        self.slots.iter().any(|s| s.head.time().is_some())
    }

    /// Lets go of the input handed out last and reads the next item of every input that has
    /// none waiting.
    fn fill(&mut self) {
        if let Some(slot) = self.current.take().and_then(|i| self.slots.get_mut(i)) {
            slot.head = Head::Empty;
        }
        for slot in &mut self.slots {
            if matches!(slot.head, Head::Empty) {
                let mut buf = slot.head.take_buffer();
                let following = self.follow && matches!(slot.source, Slotted::Log(_));
                slot.head = match slot.source.next() {
                    None if following => Head::Empty,
                    None => Head::Done,
                    Some(Input::Frame(f)) => {
                        buf.extend_from_slice(f.data);
                        Head::Frame {
                            time: f.timestamp,
                            link_type: f.link_type,
                            data: buf,
                            original_len: f.original_len,
                        }
                    }
                    Some(Input::Message(m)) => {
                        buf.extend_from_slice(m.bytes);
                        Head::Message {
                            time: m.time,
                            src: m.src,
                            dst: m.dst,
                            transport: m.transport,
                            origin: m.origin,
                            bytes: buf,
                        }
                    }
                };
            }
        }
    }

    fn next_input(&mut self) -> Option<Input<'_>> {
        self.fill();
        let (i, _) = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.head.time().map(|t| (i, t)))
            .min_by_key(|(i, t)| (*t, *i))?;
        self.current = Some(i);
        self.number += 1;
        let slot = self.slots.get(i)?;
        match &slot.head {
            Head::Frame {
                time,
                link_type,
                data,
                original_len,
            } => Some(Input::Frame(Frame {
                number: self.number,
                timestamp: *time,
                link_type: *link_type,
                data,
                original_len: *original_len,
                source: slot.input,
            })),
            Head::Message {
                time,
                src,
                dst,
                transport,
                origin,
                bytes,
            } => Some(Input::Message(SourceMessage {
                number: self.number,
                time: *time,
                src: *src,
                dst: *dst,
                transport: *transport,
                origin: *origin,
                bytes,
            })),
            Head::Empty | Head::Done => None,
        }
    }
}

/// Followed inputs (`--follow`) as a source that waits for more: when the logs have nothing
/// more yet, it sleeps a little and asks again, until `stop` says to end.
pub struct Following<'a, F: FnMut() -> bool> {
    inputs: &'a mut Inputs,
    stop: F,
}

impl<'a, F: FnMut() -> bool> Following<'a, F> {
    /// Follows `inputs` until `stop()` is true (a signal, a deadline).
    pub fn new(inputs: &'a mut Inputs, stop: F) -> Self {
        Following { inputs, stop }
    }
}

impl<F: FnMut() -> bool> Source for Following<'_, F> {
    fn next_input(&mut self) -> Option<Input<'_>> {
        while !self.inputs.ready() {
            if (self.stop)() {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.inputs.next_input()
    }

    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        self.inputs.take_secrets()
    }

    fn take_events(&mut self) -> Vec<ServerEvent> {
        self.inputs.take_events()
    }
}
