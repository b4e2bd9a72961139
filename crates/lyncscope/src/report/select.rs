//! What a report (and `-w`) covers: `--failed`, `--conference ID`, `--user AOR`.
//!
//! The selection is decided on the typed model, never on display text:
//!
//! * a **conference** matches `--conference` when its ID (from the focus URI,
//!   `…;opaque=app:conf:focus:id:ID`) or its whole focus URI equals the argument, ASCII case
//!   ignored;
//! * a **participant** (one join) matches `--user` when its address-of-record, or the user
//!   part of it, equals the argument, ASCII case ignored, with or without `sip:`
//!   (`dave`, `dave@example.com` and `sip:Dave@example.com` all find `sip:dave@example.com`);
//!   and `--failed` when the diagnosis says `failed` (a declined invitation is not a failure);
//! * the **dialogs** selected are those of the selected participants' steps (invitation,
//!   focus, roster, A/V and other MCU attempts); `--conference` alone selects every dialog of
//!   the conference (conference control too). Dialogs outside any conference are selected
//!   only when no `--conference` is given: by `--user` when the From or To AOR matches, by
//!   `--failed` when their final status is a failure (300 or more, except the 401/407
//!   challenges).
//!
//! Criteria combine with AND. An empty selection selects everything.

use crate::analysis::{Analysis, Conference, Dialog, JoinState, Participant};

/// The selection flags of a run. `Default` selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--failed`: failed joins only (and failed dialogs outside conferences).
    pub failed: bool,
    /// `--conference ID`: one conference, by its ID or focus URI.
    pub conference: Option<String>,
    /// `--user AOR`: one user's joins (AOR or its user part).
    pub user: Option<String>,
}

impl Selection {
    /// Nothing is selected away.
    pub fn is_empty(&self) -> bool {
        !self.failed && self.conference.is_none() && self.user.is_none()
    }

    /// The flags as typed, for the reports' headers (`--failed --user dave`); empty when
    /// nothing is selected.
    pub fn flags(&self) -> String {
        let mut parts = Vec::new();
        if self.failed {
            parts.push("--failed".to_string());
        }
        if let Some(c) = &self.conference {
            parts.push(format!("--conference {c}"));
        }
        if let Some(u) = &self.user {
            parts.push(format!("--user {u}"));
        }
        parts.join(" ")
    }

    /// The conference passes `--conference` (its participants may still be selected away).
    pub fn conference_matches(&self, c: &Conference) -> bool {
        self.conference.as_deref().is_none_or(|want| {
            c.id.eq_ignore_ascii_case(want.trim()) || c.focus_uri.eq_ignore_ascii_case(want.trim())
        })
    }

    /// The join of `p` in `c` is selected.
    pub fn participant(&self, c: &Conference, p: &Participant) -> bool {
        self.conference_matches(c)
            && self.user.as_deref().is_none_or(|u| user_matches(&p.uri, u))
            && (!self.failed || c.diagnose(p).state == JoinState::Failed)
    }

    /// The conference is shown: it passes `--conference`, and with `--user` or `--failed` at
    /// least one of its participants is selected.
    pub fn conference(&self, c: &Conference) -> bool {
        if !self.conference_matches(c) {
            return false;
        }
        if self.user.is_none() && !self.failed {
            return true;
        }
        c.participants.iter().any(|p| self.participant(c, p))
    }

    /// A dialog outside every conference is selected (the rule in the module's text).
    fn loose_dialog(&self, d: &Dialog) -> bool {
        self.conference.is_none()
            && self
                .user
                .as_deref()
                .is_none_or(|u| user_matches(&d.from, u) || user_matches(&d.to, u))
            && (!self.failed || d.final_status.is_some_and(is_failure_status))
    }

    /// The dialogs selected, as a set over [`Analysis::dialogs`].
    pub fn dialogs(&self, a: &Analysis) -> DialogSet {
        let n = a.dialogs().len();
        if self.is_empty() {
            return DialogSet::all(n);
        }
        let mut set = DialogSet::none(n);
        let whole_conference = self.user.is_none() && !self.failed;
        for c in a.conferences().list() {
            if !self.conference_matches(c) {
                continue;
            }
            if whole_conference {
                for &d in &c.dialogs {
                    set.insert(d);
                }
                continue;
            }
            for p in c.participants.iter().filter(|p| self.participant(c, p)) {
                for d in participant_dialogs(p) {
                    set.insert(d);
                }
            }
        }
        for (i, d) in a.dialogs().iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            if a.conferences().conference_of(i).is_none() && self.loose_dialog(d) {
                set.insert(i);
            }
        }
        set
    }
}

/// The dialogs of one participant's join, in step order: invitation, focus, roster, A/V
/// attempts, other MCU attempts.
pub fn participant_dialogs(p: &Participant) -> impl Iterator<Item = u32> + '_ {
    p.invitation
        .iter()
        .chain(&p.focus)
        .chain(&p.roster)
        .map(|s| s.dialog)
        .chain(p.media.iter().map(|s| s.dialog))
        .chain(p.mcus.iter().map(|(_, s)| s.dialog))
}

/// A failure status: 300 or more, except the 401 and 407 challenges a client answers and
/// retries (the UI's `failed` filter uses the same rule).
pub fn is_failure_status(status: u16) -> bool {
    status >= 300 && status != 401 && status != 407
}

/// `uri` (an AOR such as `sip:dave@example.com`) is the user `want`: the whole AOR or its
/// user part, ASCII case ignored, `sip:`/`sips:` optional on either side.
pub fn user_matches(uri: &str, want: &str) -> bool {
    let strip = |s: &str| -> String {
        let s = s.trim();
        let lower = s.to_ascii_lowercase();
        let s = lower
            .strip_prefix("sip:")
            .or_else(|| lower.strip_prefix("sips:"))
            .unwrap_or(&lower);
        // An AOR from a header may keep parameters (`;gruu`): the user is before them.
        s.split(';').next().unwrap_or(s).to_string()
    };
    let (have, want) = (strip(uri), strip(want));
    if want.is_empty() {
        return false;
    }
    if have == want {
        return true;
    }
    !want.contains('@') && have.split_once('@').is_some_and(|(user, _)| user == want)
}

/// A set of dialog indices (one bit each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialogSet {
    bits: Vec<u64>,
    len: usize,
    /// The dialogs the set is over (`0..universe`).
    universe: usize,
}

impl DialogSet {
    /// Every dialog of `n`.
    pub fn all(n: usize) -> Self {
        let mut s = DialogSet::none(n);
        s.bits.iter_mut().for_each(|w| *w = u64::MAX);
        s.len = n;
        s
    }

    /// No dialog of `n`.
    pub fn none(n: usize) -> Self {
        DialogSet {
            bits: vec![0; n.div_ceil(64)],
            len: 0,
            universe: n,
        }
    }

    fn insert(&mut self, d: u32) {
        if d as usize >= self.universe {
            return;
        }
        if let Some(w) = self.bits.get_mut(d as usize / 64) {
            let bit = 1u64 << (d % 64);
            if *w & bit == 0 {
                *w |= bit;
                self.len += 1;
            }
        }
    }

    /// Dialog `d` is in the set.
    pub fn contains(&self, d: u32) -> bool {
        (d as usize) < self.universe
            && self
                .bits
                .get(d as usize / 64)
                .is_some_and(|w| w & (1u64 << (d % 64)) != 0)
    }

    /// How many dialogs the set holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_match_by_aor_or_user_part_case_ignored() {
        let dave = "sip:dave@example.com";
        for want in [
            "dave",
            "DAVE",
            "dave@example.com",
            "sip:Dave@Example.com",
            " dave ",
        ] {
            assert!(user_matches(dave, want), "{want}");
        }
        for want in ["dav", "dave@example.org", "david", "", "sip:"] {
            assert!(!user_matches(dave, want), "{want}");
        }
        assert!(user_matches("sip:dave@example.com;gruu", "dave"));
        assert!(!user_matches("sip:example.com", "dave"));
    }

    #[test]
    fn dialog_sets_count_and_test_bounds() {
        let mut s = DialogSet::none(130);
        s.insert(129);
        s.insert(129);
        s.insert(0);
        s.insert(500);
        assert_eq!(s.len(), 2);
        assert!(s.contains(129) && s.contains(0) && !s.contains(64) && !s.contains(500));
        assert_eq!(DialogSet::all(3).len(), 3);
        assert!(DialogSet::all(3).contains(2));
    }

    #[test]
    fn flags_are_written_as_typed() {
        let s = Selection {
            failed: true,
            conference: Some("X".into()),
            user: Some("dave".into()),
        };
        assert_eq!(s.flags(), "--failed --conference X --user dave");
        assert!(Selection::default().flags().is_empty());
    }
}
