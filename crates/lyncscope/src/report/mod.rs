//! Reports: the analysis rendered for a script ([`json`]) or a person ([`text`]).
//!
//! Both read the pipeline's analysis and counters; neither parses packets.

mod conferences;
pub mod json;
pub mod reason;
pub mod text;

/// What a report covers besides the analysis itself.
pub struct ReportInput<'a> {
    /// The inputs analysed (paths, `-`, or interface names), listed in the report.
    pub sources: &'a [String],
    /// Problems met on the way that did not stop the run, one sentence each.
    pub warnings: &'a [String],
    /// Include the per-message list (`--messages`).
    pub messages: bool,
    /// The counters of a live capture (interfaces, kernel drops).
    pub live: Option<&'a crate::capture::LiveStats>,
    /// What `-w` wrote.
    pub written: Option<&'a crate::output::WriteSummary>,
    /// The inputs, when logs are among them: their counters, server events and the synthetic
    /// endpoints their messages were given.
    pub inputs: Option<&'a crate::inputs::Inputs>,
}
