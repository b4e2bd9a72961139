//! The streaming reader: a bounded buffer over any [`Read`], a format scanner that finds one
//! record at a time in it, and records that borrow from the buffer.

/// Largest record kept: a SIP message is at most a few hundred KiB even with a big roster body,
/// so a record above 1 MiB is damage (a missing end marker); it is skipped and counted.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Longest line kept outside a record: a log line above 64 KiB is not a record start, so it is
/// dropped (and counted) instead of being buffered.
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// Bytes asked of the input per read: large enough to amortise the read call, small enough
/// that the buffer stays under `MAX_RECORD_BYTES + READ_CHUNK`.
pub const READ_CHUNK: usize = 256 << 10;
/// Bytes [`LogReader::open`] reads before deciding the format (the [`crate::detect()`] window).
pub const DETECT_BYTES: usize = 64 << 10;

use std::borrow::Cow;
use std::io::{self, Read};

use crate::bytes::sub;
use crate::detect::{detect, Detection};
use crate::{sipe, sipstack, uccapi, Format, LogStats, Record};

/// What a scanner found at the start of the unread data.
#[derive(Debug)]
pub(crate) enum Scan<P> {
    /// `[0, skip)` is passed over (already counted by the scanner), `[skip, skip + len)` is a
    /// record to yield, described by `plan` (offsets into the scanned slice).
    Record { skip: usize, len: usize, plan: P },
    /// A record that is not yielded (counted by the scanner).
    Other { skip: usize, len: usize },
    /// A record cut off (counted by the scanner).
    Cut { skip: usize, len: usize },
    /// No complete record: `[0, skip)` is passed over, the rest needs more input.
    /// `in_record` says whether the rest starts with a record start.
    NeedMore { skip: usize, in_record: bool },
}

enum Plan {
    Stack(Box<sipstack::Plan>),
    Ucc(uccapi::Plan),
    Sipe(sipe::Plan),
}

/// Reader options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Offset of the log's local time from UTC, in seconds (+3600 for UTC+01:00). Applied to
    /// UCCAPI (local time) and SIPStack (zone not documented) times; sipe writes UTC and
    /// ignores it.
    pub utc_offset_secs: i32,
    /// Follow a file still being written: at the end of the input, keep an incomplete record
    /// and return `None`; a later call reads on. Call [`LogReader::finish`] to end.
    pub follow: bool,
}

/// Streaming reader of one log. Memory is bounded by [`MAX_RECORD_BYTES`] + [`READ_CHUNK`].
pub struct LogReader<R> {
    inner: R,
    format: Format,
    opts: ReadOptions,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    eof: bool,
    finishing: bool,
    /// Line number of `buf[pos]`.
    line: u64,
    /// Dropping the rest of an over-long line.
    discard_line: bool,
    bom_checked: bool,
    /// After a scan that needed more input: how much of the unread data it saw, and whether
    /// it ended inside a record. Scanners decide on complete lines only, so the next scan waits
    /// for a line break past that point: a record arriving in small pieces is scanned once per
    /// line, not once per read (which made a record trickling in byte by byte quadratic).
    waiting: Option<Waiting>,
    /// Scans run (for the tests that hold the reader to linear work).
    scans: u64,
    stats: LogStats,
}

#[derive(Clone, Copy)]
struct Waiting {
    seen: usize,
    in_record: bool,
}

enum Step {
    Record {
        base: usize,
        end: usize,
        line: u64,
        plan: Plan,
    },
    Continue,
    End,
}

impl<R: Read> LogReader<R> {
    /// A reader of `inner` in a known format.
    pub fn new(inner: R, format: Format, opts: ReadOptions) -> Self {
        LogReader {
            inner,
            format,
            opts,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            eof: false,
            finishing: false,
            line: 1,
            discard_line: false,
            bom_checked: false,
            waiting: None,
            scans: 0,
            stats: LogStats::default(),
        }
    }

    /// Read up to [`DETECT_BYTES`] of `inner`, find the format by content, and return a reader
    /// that starts with those bytes; or the [`Detection`] when it is not a supported log.
    pub fn open(mut inner: R, opts: ReadOptions) -> io::Result<Result<Self, Detection>> {
        let mut buf = vec![0u8; DETECT_BYTES.max(READ_CHUNK)];
        let mut filled = 0;
        let mut eof = false;
        while filled < DETECT_BYTES {
            let Some(dst) = buf.get_mut(filled..) else {
                break;
            };
            match inner.read(dst) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match detect(sub(&buf, 0, filled)) {
            Detection::Log(format) => {
                let mut r = LogReader::new(inner, format, opts);
                r.buf = buf;
                r.filled = filled;
                r.stats.bytes = filled as u64;
                r.eof = eof && !opts.follow;
                Ok(Ok(r))
            }
            other => Ok(Err(other)),
        }
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What was read so far.
    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    /// How many times the format scanner ran: at most about once per line of input however
    /// small the reads are (a cost bound the tests check).
    pub fn scans(&self) -> u64 {
        self.scans
    }

    /// The input back.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// In follow mode: take the end of the input as final, so that a record still incomplete
    /// there is counted as cut. The next [`LogReader::next_record`] calls read what is left.
    pub fn finish(&mut self) {
        self.finishing = true;
    }

    /// The next SIP message or server event; `Ok(None)` at the end of the input (in follow mode:
    /// at the end of what is written so far). Records that are neither are counted in
    /// [`LogReader::stats`] and passed over.
    pub fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        let (base, end, line, plan) = loop {
            match self.step()? {
                Step::Record {
                    base,
                    end,
                    line,
                    plan,
                } => break (base, end, line, plan),
                Step::Continue => {}
                Step::End => return Ok(None),
            }
        };
        let offset = self.opts.utc_offset_secs;
        let data = sub(&self.buf, base, self.filled);
        let stats = &mut self.stats;
        let rec = match plan {
            Plan::Stack(p) => {
                if sipstack::is_event(&p) {
                    stats.server_events += 1;
                    Record::ServerEvent(sipstack::build_event(data, &p, line, offset, stats))
                } else {
                    stats.sip_messages += 1;
                    Record::Sip(sipstack::build_sip(data, &p, line, offset, stats))
                }
            }
            Plan::Ucc(p) => {
                stats.sip_messages += 1;
                Record::Sip(uccapi::build(data, p, line, offset, stats))
            }
            Plan::Sipe(p) => {
                stats.sip_messages += 1;
                Record::Sip(sipe::build(data, p, line, stats))
            }
        };
        self.pos = end;
        Ok(Some(rec))
    }

    fn count_lines(&mut self, from: usize, to: usize) -> u64 {
        let n = memchr::memchr_iter(b'\n', sub(&self.buf, from, to)).count() as u64;
        self.line += n;
        self.stats.lines += n;
        n
    }

    fn consume(&mut self, n: usize) {
        let to = (self.pos + n).min(self.filled);
        self.count_lines(self.pos, to);
        self.pos = to;
    }

    /// Drop the first line of the unread data (or all of it, and the rest of that line later).
    fn drop_line(&mut self) {
        self.waiting = None;
        match memchr::memchr(b'\n', sub(&self.buf, self.pos, self.filled)) {
            Some(i) => self.consume(i + 1),
            None => {
                self.pos = self.filled;
                self.discard_line = true;
            }
        }
    }

    fn refill(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
        let want = self.filled + READ_CHUNK;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        loop {
            let Some(dst) = self.buf.get_mut(self.filled..) else {
                return Ok(0);
            };
            match self.inner.read(dst) {
                Ok(n) => {
                    self.filled += n;
                    self.stats.bytes += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Read more; at the end of the input decide whether it is final.
    fn more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let n = self.refill()?;
        if n == 0 {
            if self.opts.follow && !self.finishing {
                return Ok(false);
            }
            self.eof = true;
        }
        Ok(true)
    }

    fn step(&mut self) -> io::Result<Step> {
        if self.opts.follow && self.finishing && !self.eof {
            // Whatever the input still has is read before the end is final.
            if self.refill()? == 0 {
                self.eof = true;
            }
        }
        if !self.bom_checked {
            if self.filled - self.pos < 3 && !self.eof {
                return Ok(if self.more()? {
                    Step::Continue
                } else {
                    Step::End
                });
            }
            self.bom_checked = true;
            if sub(&self.buf, self.pos, self.filled).starts_with(b"\xEF\xBB\xBF") {
                self.pos += 3;
            }
        }
        if self.discard_line {
            match memchr::memchr(b'\n', sub(&self.buf, self.pos, self.filled)) {
                Some(i) => {
                    self.consume(i + 1);
                    self.discard_line = false;
                }
                None => {
                    self.pos = self.filled;
                    return Ok(if self.more()? {
                        Step::Continue
                    } else {
                        Step::End
                    });
                }
            }
        }
        if let Some(w) = self.waiting.take() {
            if !self.eof {
                let new = sub(&self.buf, self.pos + w.seen, self.filled);
                if memchr::memchr(b'\n', new).is_none() {
                    // Nothing a scanner would decide on has arrived.
                    self.waiting = Some(Waiting {
                        seen: self.filled - self.pos,
                        in_record: w.in_record,
                    });
                    return self.need_more(w.in_record);
                }
            }
        }
        self.scans += 1;
        let base = self.pos;
        let data = sub(&self.buf, base, self.filled);
        // In follow mode the end of the input is not final until `finish`.
        let eof = self.eof;
        let stats = &mut self.stats;
        let scan = match self.format {
            Format::SipStack => map(sipstack::scan(data, eof, stats), |p| {
                Plan::Stack(Box::new(p))
            }),
            Format::UccApi => map(uccapi::scan(data, eof, stats), Plan::Ucc),
            Format::Sipe => map(sipe::scan(data, eof, stats), Plan::Sipe),
        };
        match scan {
            Scan::Record { len, skip, .. } if len > MAX_RECORD_BYTES => {
                // A record can end inside the last read chunk; the bound is on the record.
                self.stats.oversized_records += 1;
                self.consume(skip + len);
                Ok(Step::Continue)
            }
            Scan::Record { skip, len, plan } => {
                self.consume(skip);
                let line = self.line;
                let start = self.pos;
                let end = (start + len).min(self.filled);
                self.count_lines(start, end);
                Ok(Step::Record {
                    base,
                    end,
                    line,
                    plan,
                })
            }
            Scan::Other { skip, len } | Scan::Cut { skip, len } => {
                // A scanner that found nothing to pass over must not stall the reader.
                self.consume((skip + len).max(1));
                Ok(Step::Continue)
            }
            Scan::NeedMore { skip, in_record } => {
                self.consume(skip);
                let rest = self.filled - self.pos;
                if self.eof {
                    if rest > 0 {
                        // Scanners consume everything at the end; this guards progress.
                        self.stats.stray_lines += 1;
                        self.consume(rest);
                    }
                    return Ok(Step::End);
                }
                self.waiting = Some(Waiting {
                    seen: rest,
                    in_record,
                });
                self.need_more(in_record)
            }
        }
    }

    /// The unread data holds no complete record: enforce the bounds on it, then read more.
    fn need_more(&mut self, in_record: bool) -> io::Result<Step> {
        let rest = self.filled - self.pos;
        if in_record && rest > MAX_RECORD_BYTES {
            self.stats.oversized_records += 1;
            self.drop_line();
            return Ok(Step::Continue);
        }
        if !in_record && rest > MAX_LINE_BYTES {
            self.stats.long_lines += 1;
            self.drop_line();
            return Ok(Step::Continue);
        }
        Ok(if self.more()? {
            Step::Continue
        } else {
            Step::End
        })
    }
}

fn map<P>(s: Scan<P>, f: impl FnOnce(P) -> Plan) -> Scan<Plan> {
    match s {
        Scan::Record { skip, len, plan } => Scan::Record {
            skip,
            len,
            plan: f(plan),
        },
        Scan::Other { skip, len } => Scan::Other { skip, len },
        Scan::Cut { skip, len } => Scan::Cut { skip, len },
        Scan::NeedMore { skip, in_record } => Scan::NeedMore { skip, in_record },
    }
}

/// Message bytes of a normalised region: borrowed from `data` or owned.
pub(crate) fn message_bytes(
    data: &[u8],
    region_start: usize,
    out: crate::sip::Out,
) -> Cow<'_, [u8]> {
    match out {
        crate::sip::Out::Slice(a, b) => {
            Cow::Borrowed(sub(data, region_start + a, region_start + b))
        }
        crate::sip::Out::Owned(v) => Cow::Owned(v),
    }
}
