//! Outputs that write packets back out: above the pipeline, because they follow the messages it
//! completes to the frames that carried them.
//!
//! * [`sip_writer`] is `-w`: during a run, every frame that carried a completed SIP message;
//! * [`export`] writes the frames of selected messages after the run (the UI's `w`);
//! * [`decrypted`] is `--write-decrypted`: every frame, with the TLS secrets in the file.
//!
//! Both decide "which frames carried this message" with one rule, [`carried::Carrier`].

pub mod carried;
pub mod decrypted;
pub mod export;
pub mod sip_writer;

/// What `-w` wrote, for the reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    /// The file written, as given on the command line.
    pub path: String,
    /// What was written to it.
    pub stats: sip_writer::SipWriterStats,
}
