//! Capture files: classic pcap, pcapng, gzip, standard input.
//!
//! [`CaptureFiles`] reads the inputs of a run one after the other and hands out their packets
//! as [`Frame`]s numbered across all of them, as Wireshark numbers frames. Every input is
//! untrusted, so:
//!
//! * inputs are identified by content when the run starts ([`CaptureFiles::open`]), so a
//!   wrong file is reported before any output;
//! * a problem inside a file (cut off, corrupt block, read error) ends that file with a
//!   one-line warning and the next input is read — what came before the problem is kept;
//! * memory is bounded: the read buffer grows for large records only up to a hard bound, and
//!   a record claiming more is taken as corruption;
//! * nothing the input controls can panic.
//!
//! Parsing is done by pcap-parser's streaming readers (pure Rust, no libpcap); frames borrow
//! the reader's buffer, so the steady state neither copies nor allocates per packet.
//! `source` identifies inputs, `reader` walks the records of one input.

mod reader;
mod source;
pub use source::{interrupt_reads, reads_interrupted};

#[cfg(test)]
mod tests;

use super::{InputWarning, WarningKind};
use std::sync::Arc;

use self::reader::{OpenCapture, Step};
use self::source::{Identified, IdentifyError, Progress};
use super::{Frame, Timestamp};

/// Why an input could not be used at all. Every variant names the input.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The input exists but is not a capture file (exit code 2).
    #[error("{path}: not a capture file ({what})")]
    NotACapture {
        /// The input's path, or a name for standard input.
        path: String,
        /// What the input holds instead (`"text file"`, …), or why a compressed one failed.
        what: String,
    },
    /// The input could not be opened or read (exit code 2).
    #[error("{path}: {message}")]
    Unreadable {
        /// The input's path, or a name for standard input.
        path: String,
        /// Why it could not be read (the I/O error, as text).
        message: String,
    },
}

/// Several capture files read one after the other; frames are numbered across them.
pub struct CaptureFiles {
    names: Vec<String>,
    inputs: Vec<Input>,
    warnings: Vec<InputWarning>,
    /// TLS key log text from Decryption Secrets Blocks of finished inputs, not taken yet.
    secrets: Vec<u8>,
    secrets_dropped: u64,
    /// Index of the next input to start.
    next_input: usize,
    current: Option<OpenCapture>,
    /// Number of the last frame handed out.
    frame_number: u64,
    /// Simple Packet Blocks carry no time; they get the time of the frame before.
    last_timestamp: Timestamp,
    /// Bytes of the inputs already finished.
    finished_bytes: u64,
    total_bytes: Option<u64>,
}

/// One input of the run.
struct Input {
    /// The name used in messages ("standard input" for `-`).
    display: String,
    /// Regular files are opened again when their turn comes (so that a run over thousands
    /// of files does not hold thousands of descriptors). Standard input, pipes (`<(zcat …)`)
    /// and devices cannot be read twice, so they are kept open as identified.
    kept: Option<(Identified, Arc<Progress>)>,
    is_stdin: bool,
    /// Size of a regular file; `None` for the inputs that are kept open.
    size: Option<u64>,
}

const STDIN_NAME: &str = "standard input";

impl CaptureFiles {
    /// Opens and identifies every input up front, so that a bad input is reported before any
    /// output. `"-"` is standard input.
    pub fn open(paths: &[String]) -> Result<Self, CaptureError> {
        let mut inputs: Vec<Input> = Vec::with_capacity(paths.len());
        for path in paths {
            if path == "-" {
                if inputs.iter().any(|i| i.is_stdin) {
                    return Err(CaptureError::Unreadable {
                        path: STDIN_NAME.to_string(),
                        message: "standard input can be read only once".to_string(),
                    });
                }
                let progress = Arc::new(Progress::default());
                let identified =
                    source::identify(source::stdin(&progress), "no data on standard input")
                        .map_err(|e| capture_error(STDIN_NAME, e))?;
                inputs.push(Input {
                    display: STDIN_NAME.to_string(),
                    kept: Some((identified, progress)),
                    is_stdin: true,
                    size: None,
                });
            } else {
                let progress = Arc::new(Progress::default());
                let raw = source::open_file(path, &progress)
                    .map_err(|e| capture_error(path, IdentifyError::Io(e)))?;
                let identified =
                    source::identify(raw, "empty file").map_err(|e| capture_error(path, e))?;
                let size = source::file_size(path);
                inputs.push(Input {
                    display: path.clone(),
                    // A regular file is closed here and opened again for reading.
                    kept: if size.is_some() {
                        None
                    } else {
                        Some((identified, progress))
                    },
                    is_stdin: false,
                    size,
                });
            }
        }
        let total_bytes = inputs
            .iter()
            .try_fold(0u64, |total, input| total.checked_add(input.size?));
        Ok(CaptureFiles {
            names: paths.to_vec(),
            inputs,
            warnings: Vec::new(),
            secrets: Vec::new(),
            secrets_dropped: 0,
            next_input: 0,
            current: None,
            frame_number: 0,
            last_timestamp: Timestamp::default(),
            finished_bytes: 0,
            total_bytes,
        })
    }

    /// The next frame of the run, or `None` at the end of the last input. Problems inside a
    /// file (a record cut off, a corrupt block) end that file with a warning; the next input
    /// is read after it.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        // The frame borrows the reader's buffer, so the loop only finds the packet and the
        // borrow is taken once the loop is left.
        let (source, packet) = loop {
            let Some(current) = self.current.as_mut() else {
                if !self.start_next_input() {
                    return None;
                }
                continue;
            };
            match current.advance() {
                Step::Packet(packet) => {
                    let in_buffer = packet
                        .start
                        .checked_add(packet.len)
                        .is_some_and(|end| end <= current.buffered().len());
                    if in_buffer {
                        break (self.next_input.saturating_sub(1), packet);
                    }
                    // Defensive: the reader only reports packets inside the buffer.
                    let warning = format!(
                        "{}: internal error: packet outside the read buffer; stopped reading \
                         this file",
                        current.name()
                    );
                    self.finish_input(Some(InputWarning::new(WarningKind::Internal, warning)));
                }
                Step::End(warning) => self.finish_input(warning),
            }
        };
        let timestamp = packet.timestamp.unwrap_or(self.last_timestamp);
        self.last_timestamp = timestamp;
        self.frame_number += 1;
        let data = self
            .current
            .as_ref()
            .and_then(|c| {
                c.buffered()
                    .get(packet.start..packet.start.saturating_add(packet.len))
            })
            .unwrap_or_default();
        Some(Frame {
            number: self.frame_number,
            timestamp,
            link_type: packet.link_type,
            data,
            original_len: packet.original_len,
            source: u32::try_from(source).unwrap_or(u32::MAX),
        })
    }

    /// Starts the next input; false when there is none left. An input that cannot be started
    /// any more (deleted or changed since [`open`](Self::open)) is skipped with a warning.
    fn start_next_input(&mut self) -> bool {
        let Some(input) = self.inputs.get_mut(self.next_input) else {
            return false;
        };
        self.next_input += 1;
        let name = input.display.clone();
        let opened = match input.kept.take() {
            Some((identified, progress)) => OpenCapture::new(name, identified, progress),
            None if input.size.is_none() => Err(format!("{name}: already read")),
            None => {
                let progress = Arc::new(Progress::default());
                source::open_file(&name, &progress)
                    .map_err(IdentifyError::Io)
                    .and_then(|raw| source::identify(raw, "empty file"))
                    .map_err(|e| format!("{}; skipped", capture_error(&name, e)))
                    .and_then(|identified| OpenCapture::new(name, identified, progress))
            }
        };
        match opened {
            Ok(capture) => self.current = Some(capture),
            Err(warning) => {
                self.warnings
                    .push(InputWarning::new(WarningKind::Unreadable, warning));
                self.finished_bytes = self.finished_bytes.saturating_add(input.size.unwrap_or(0));
            }
        }
        true
    }

    /// TLS key log text from pcapng Decryption Secrets Blocks read so far and not taken yet
    /// (the blocks come before the packets they decrypt; take them before each frame is used).
    pub fn take_secrets(&mut self) -> Option<Vec<u8>> {
        if let Some(current) = self.current.as_mut() {
            let more = current.take_secrets();
            self.secrets.extend_from_slice(&more);
        }
        (!self.secrets.is_empty()).then(|| std::mem::take(&mut self.secrets))
    }

    /// Secrets bytes not used: TLS key logs beyond the bound, and other secrets types.
    pub fn secrets_dropped(&self) -> u64 {
        self.secrets_dropped + self.current.as_ref().map_or(0, |c| c.secrets_dropped)
    }

    /// Closes the current input, recording its warning.
    fn finish_input(&mut self, warning: Option<InputWarning>) {
        if let Some(mut current) = self.current.take() {
            let more = current.take_secrets();
            self.secrets.extend_from_slice(&more);
            self.secrets_dropped += current.secrets_dropped;
            let size = self
                .inputs
                .get(self.next_input.saturating_sub(1))
                .and_then(|i| i.size);
            // Progress reaches the whole file even when reading stopped early.
            let read = size.unwrap_or_else(|| current.progress().raw_bytes());
            self.finished_bytes = self.finished_bytes.saturating_add(read);
        }
        self.warnings.extend(warning);
    }

    /// Problems met while reading, one per input at most, each naming the input.
    pub fn warnings(&self) -> &[InputWarning] {
        &self.warnings
    }

    /// The inputs as given on the command line.
    pub fn source_names(&self) -> &[String] {
        &self.names
    }

    /// Bytes consumed so far (of the compressed file, for gzip), for progress display.
    pub fn bytes_read(&self) -> u64 {
        let current = self
            .current
            .as_ref()
            .map_or(0, |c| c.progress().raw_bytes());
        self.finished_bytes.saturating_add(current)
    }

    /// Total size of all inputs if known (not for standard input).
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }
}

fn capture_error(path: &str, e: IdentifyError) -> CaptureError {
    match e {
        IdentifyError::NotACapture(what) => CaptureError::NotACapture {
            path: path.to_string(),
            what,
        },
        IdentifyError::Io(e) => CaptureError::Unreadable {
            path: path.to_string(),
            message: e.to_string(),
        },
    }
}
