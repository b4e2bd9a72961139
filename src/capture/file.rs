//! Capture files: classic pcap, pcapng, gzip, standard input. (Being written.)

use super::Frame;

/// Why an input could not be used at all. Every variant names the input.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The input exists but is not a capture file (exit code 2).
    #[error("{path}: not a capture file ({what})")]
    NotACapture { path: String, what: String },
    /// The input could not be opened or read (exit code 2).
    #[error("{path}: {message}")]
    Unreadable { path: String, message: String },
}

/// Several capture files read one after the other; frames are numbered across them.
pub struct CaptureFiles {
    names: Vec<String>,
    warnings: Vec<String>,
}

impl CaptureFiles {
    /// Opens and identifies every input up front, so that a bad input is reported before any
    /// output. `"-"` is standard input.
    pub fn open(paths: &[String]) -> Result<Self, CaptureError> {
        Ok(CaptureFiles {
            names: paths.to_vec(),
            warnings: Vec::new(),
        })
    }

    /// The next frame of the run, or `None` at the end of the last input. Problems inside a
    /// file (a record cut off, a corrupt block) end that file with a warning; the next input
    /// is read after it.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        None
    }

    /// Problems met while reading, one line each, naming the input.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The inputs as given on the command line.
    pub fn source_names(&self) -> &[String] {
        &self.names
    }

    /// Bytes consumed so far (of the compressed file, for gzip), for progress display.
    pub fn bytes_read(&self) -> u64 {
        0
    }

    /// Total size of all inputs if known (not for standard input).
    pub fn total_bytes(&self) -> Option<u64> {
        None
    }
}
