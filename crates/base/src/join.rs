//! The join vocabulary shared by the analysis and the sample generator's expectations: where a
//! participant stands and which step of the join failed. The analysis decides these; the
//! generator states them for the scenarios it writes, so both take them from here.

/// Where a participant stands (the states of the JSON contract, docs/json.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JoinState {
    /// Invited; no join attempt (yet) seen.
    Invited,
    /// Waiting in the lobby: the focus answered the join C3P `pending`, or the roster shows
    /// the user's focus endpoint `on-hold` or `pending`; not admitted (yet).
    Lobby,
    /// Declined the invitation.
    Declined,
    /// Joined the focus; no A/V MCU leg (yet), or an IM-only conference.
    FocusJoined,
    /// Joined the focus and the A/V MCU.
    Joined,
    /// A step failed; the failed step says which.
    Failed,
    /// Was in the conference and left (BYE).
    Left,
}

impl JoinState {
    /// The name used in the JSON report and the filters.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinState::Invited => "invited",
            JoinState::Lobby => "lobby",
            JoinState::Declined => "declined",
            JoinState::FocusJoined => "focus-joined",
            JoinState::Joined => "joined",
            JoinState::Failed => "failed",
            JoinState::Left => "left",
        }
    }
}

/// The step of a join that failed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JoinStep {
    /// The invitation dialog (inviter to invitee).
    Invitation,
    /// The focus dialog (C3P `addUser`, then the roster).
    Focus,
    /// The A/V MCU dialog.
    Media,
}

impl JoinStep {
    /// The name used in the JSON report and the filters.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinStep::Invitation => "invitation",
            JoinStep::Focus => "focus",
            JoinStep::Media => "media",
        }
    }
}
