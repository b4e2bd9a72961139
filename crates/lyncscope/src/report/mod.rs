//! Reports: the analysis rendered for a script ([`json`], [`csv`]) or a person ([`text`],
//! [`summary`], [`html`]).
//!
//! All read the pipeline's analysis and counters; none parses packets. Each covers what the
//! [`select::Selection`] of the run selects.

pub mod conferences;
pub mod csv;
pub mod html;
pub mod json;
pub mod reason;
pub mod select;
pub mod summary;
pub mod text;

/// A time as JSON: its RFC 3339 text, written without an allocation (a report writes several
/// per step and per dialog).
#[derive(Clone, Copy)]
pub(crate) struct Ts(pub(crate) crate::Timestamp);

impl serde::Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.rfc3339_text().as_str())
    }
}

/// The selection of a run without selection flags: everything.
static EVERYTHING: select::Selection = select::Selection {
    failed: false,
    conference: None,
    user: None,
};

/// What a report covers besides the analysis itself.
#[derive(Clone, Copy, Default)]
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
    /// HEP collected and sent (`--hep-listen`, `--hep-send`).
    pub hep: Option<&'a HepSummary>,
    /// What the report covers (`--failed`, `--conference`, `--user`); `None` is everything.
    pub selection: Option<&'a select::Selection>,
}

impl ReportInput<'_> {
    /// The selection, everything when none was given.
    pub fn selection(&self) -> &select::Selection {
        self.selection.unwrap_or(&EVERYTHING)
    }
}

/// What the HEP collector received and the HEP sender sent, for the reports.
#[derive(Clone, Debug, Default)]
pub struct HepSummary {
    /// The listening endpoints (`udp:127.0.0.1:9060`).
    pub listeners: Vec<String>,
    /// The collector's counters (packets, errors by kind, auth failures, drops).
    pub received: Option<lyncscope_hep::ListenerStats>,
    /// Datagrams the kernel dropped on the UDP listeners (socket buffer full), when the system
    /// tells (Linux).
    pub kernel_drops: Option<u64>,
    /// Each UDP listener's socket receive buffer as the kernel granted it (bytes).
    pub udp_recv_buffers: Vec<(String, usize)>,
    /// The capture agents seen: node id, name, address, packets.
    pub agents: Vec<(u32, Option<String>, std::net::SocketAddr, u64)>,
    /// Where `--hep-send` sent, and its counters.
    pub sent: Option<(String, lyncscope_hep::SenderStats)>,
}
