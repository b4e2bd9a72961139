//! The summary (`--report summary`, and the head of `--report text`): joins by outcome,
//! failures by step and cause, the top ms-diagnostics codes and who hit them, the failure
//! statuses and the first failed joins — in under 30 lines whatever the capture's size, because
//! every list is cut at a named bound and says how many more there were.
//!
//! [`Summary`] is computed from the typed model ([`Diagnosis`], [`Cause`], [`JoinStep`]); the
//! words are written by [`Summary::write_text`] and [`super::reason`].

use super::reason;
use super::select::Selection;
use crate::analysis::{Analysis, Cause, Conference, Diagnosis, JoinState, JoinStep, Participant};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

/// Diagnostics codes listed (the rest are counted): what explains most failures is in the top few.
pub const TOP_DIAGNOSTICS: usize = 5;
/// Users named per diagnostics code (the rest are counted): enough to recognise who.
pub const USERS_PER_CODE: usize = 3;
/// Failure statuses listed on their line (the rest are counted).
pub const TOP_STATUSES: usize = 5;
/// Failed joins listed one per line (the rest are counted; `--failed --report text` has all).
pub const FAILED_LISTED: usize = 5;

/// The outcome states in the order the summary lists them.
const OUTCOMES: [JoinState; 7] = [
    JoinState::Joined,
    JoinState::FocusJoined,
    JoinState::Left,
    JoinState::Invited,
    JoinState::Lobby,
    JoinState::Declined,
    JoinState::Failed,
];

const STEPS: [JoinStep; 3] = [JoinStep::Invitation, JoinStep::Focus, JoinStep::Media];

/// The failed joins of one step: the step, how many, and their causes (cause, joins) in order
/// of first appearance.
pub type StepFailures = (JoinStep, usize, Vec<(Cause, usize)>);

/// One ms-diagnostics code (or `ms-diagnostics-public`, `ms-client-diagnostics`) of the
/// failed or declined joins, with who hit it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagnosticCount<'a> {
    /// The ErrorId.
    pub code: u32,
    /// The header it came in (of the first join that had it).
    pub header: &'static str,
    /// Joins whose failing response carried it.
    pub joins: usize,
    /// The first users that hit it (AORs), at most [`USERS_PER_CODE`].
    pub users: Vec<&'a str>,
    /// Further distinct users not named.
    pub more_users: usize,
}

/// One failed join, for the summary's short list.
#[derive(Clone, Copy, Debug)]
pub struct FailedJoin<'a> {
    /// Its conference.
    pub conference: &'a Conference,
    /// The participant.
    pub participant: &'a Participant,
    /// Its diagnosis (state `failed`).
    pub diagnosis: Diagnosis<'a>,
}

/// The summary of the selected joins.
#[derive(Clone, Debug, Default)]
pub struct Summary<'a> {
    /// Conferences with a selected join (or all matching `--conference`).
    pub conferences: usize,
    /// Joins (participants) selected.
    pub joins: usize,
    /// Joins by state, in the summary's order; states without joins are left out.
    pub outcomes: Vec<(JoinState, usize)>,
    /// Invitations that rang and got no final answer while the capture went on (of the
    /// `invited` joins): a conference with one is not all well.
    pub rang_unanswered: usize,
    /// Failed joins by the step that failed first, each with its causes (cause, joins) in
    /// order of first appearance; steps without failures are left out.
    pub failed_steps: Vec<StepFailures>,
    /// The most frequent diagnostics codes of failed or declined joins, most frequent first.
    pub diagnostics: Vec<DiagnosticCount<'a>>,
    /// Further codes not listed.
    pub more_diagnostics: usize,
    /// Final statuses of the failing steps (300 and more), most frequent first.
    pub statuses: Vec<(u16, usize)>,
    /// Further statuses not listed.
    pub more_statuses: usize,
    /// The first failed joins, in capture order.
    pub failed: Vec<FailedJoin<'a>>,
    /// Further failed joins not listed.
    pub more_failed: usize,
}

#[derive(Default)]
struct CodeTally<'a> {
    header: &'static str,
    joins: usize,
    first: usize,
    users: Vec<&'a str>,
    seen: HashSet<&'a str>,
}

impl<'a> Summary<'a> {
    /// Tallies the joins of `a` that `sel` selects.
    pub fn new(a: &'a Analysis, sel: &Selection) -> Self {
        let mut s = Summary::default();
        let mut outcomes: HashMap<JoinState, usize> = HashMap::new();
        let mut steps: Vec<StepFailures> = Vec::new();
        let mut codes: HashMap<u32, CodeTally<'a>> = HashMap::new();
        let mut statuses: HashMap<u16, (usize, usize)> = HashMap::new();
        for c in a.conferences().list() {
            if !sel.conference(c) {
                continue;
            }
            s.conferences += 1;
            for p in c.participants.iter().filter(|p| sel.participant(c, p)) {
                s.joins += 1;
                let d = c.diagnose(p);
                *outcomes.entry(d.state).or_default() += 1;
                if matches!(d.cause, Some(Cause::Ringing { .. })) {
                    s.rang_unanswered += 1;
                }
                if let (Some(step), Some(cause)) = (d.failed_step, d.cause) {
                    let i = match steps.iter().position(|(st, _, _)| *st == step) {
                        Some(i) => i,
                        None => {
                            steps.push((step, 0, Vec::new()));
                            steps.len() - 1
                        }
                    };
                    if let Some((_, n, causes)) = steps.get_mut(i) {
                        *n += 1;
                        match causes.iter_mut().find(|(k, _)| same_kind(*k, cause)) {
                            Some((_, n)) => *n += 1,
                            None => causes.push((cause, 1)),
                        }
                    }
                    if s.failed.len() < FAILED_LISTED {
                        s.failed.push(FailedJoin {
                            conference: c,
                            participant: p,
                            diagnosis: d,
                        });
                    } else {
                        s.more_failed += 1;
                    }
                }
                let explained = matches!(d.state, JoinState::Failed | JoinState::Declined);
                let Some(e) = d.evidence.filter(|_| explained) else {
                    continue;
                };
                if let Some(status) = e.status.filter(|s| *s >= 300) {
                    let order = statuses.len();
                    statuses.entry(status).or_insert((0, order)).0 += 1;
                }
                if let Some((header, diag)) = e.diagnostic.as_deref() {
                    let order = codes.len();
                    let t = codes.entry(diag.code).or_insert_with(|| CodeTally {
                        header,
                        first: order,
                        ..CodeTally::default()
                    });
                    t.joins += 1;
                    if t.seen.insert(p.uri.as_str()) && t.users.len() < USERS_PER_CODE {
                        t.users.push(p.uri.as_str());
                    }
                }
            }
        }
        s.outcomes = OUTCOMES
            .iter()
            .filter_map(|st| outcomes.get(st).map(|n| (*st, *n)))
            .collect();
        steps.sort_by_key(|(st, _, _)| STEPS.iter().position(|x| x == st));
        s.failed_steps = steps;
        let mut codes: Vec<(u32, CodeTally<'a>)> = codes.into_iter().collect();
        codes.sort_by(|(ca, a), (cb, b)| {
            b.joins
                .cmp(&a.joins)
                .then(a.first.cmp(&b.first))
                .then(ca.cmp(cb))
        });
        s.more_diagnostics = codes.len().saturating_sub(TOP_DIAGNOSTICS);
        s.diagnostics = codes
            .into_iter()
            .take(TOP_DIAGNOSTICS)
            .map(|(code, t)| DiagnosticCount {
                code,
                header: t.header,
                joins: t.joins,
                more_users: t.seen.len().saturating_sub(t.users.len()),
                users: t.users,
            })
            .collect();
        let mut statuses: Vec<(u16, (usize, usize))> = statuses.into_iter().collect();
        statuses.sort_by(|(_, (na, fa)), (_, (nb, fb))| nb.cmp(na).then(fa.cmp(fb)));
        s.more_statuses = statuses.len().saturating_sub(TOP_STATUSES);
        s.statuses = statuses
            .into_iter()
            .take(TOP_STATUSES)
            .map(|(code, (n, _))| (code, n))
            .collect();
        s
    }

    /// Failed joins in all.
    pub fn failed_joins(&self) -> usize {
        self.failed.len() + self.more_failed
    }

    /// Writes the summary block as text (at most 19 lines: see the bounds above).
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "Summary: {}, {}",
            plural(self.conferences, "conference", "conferences"),
            plural(self.joins, "join", "joins")
        )?;
        if self.joins == 0 {
            return Ok(());
        }
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(st, n)| format!("{n} {}", st.as_str()))
            .collect();
        let rang = match self.rang_unanswered {
            0 => String::new(),
            n => format!(" ({n} rang without an answer)"),
        };
        writeln!(out, "  Outcomes: {}{rang}", outcomes.join(", "))?;
        if self.failed_steps.is_empty() {
            writeln!(out, "  Failures: none")?;
        } else {
            let steps: Vec<String> = self
                .failed_steps
                .iter()
                .map(|(st, n, causes)| {
                    let causes: Vec<String> = causes
                        .iter()
                        .map(|(c, n)| format!("{n} {}", reason::cause_name(*c)))
                        .collect();
                    format!("{} {n} ({})", st.as_str(), causes.join(", "))
                })
                .collect();
            writeln!(out, "  Failed at: {}", steps.join("; "))?;
        }
        if !self.statuses.is_empty() {
            let list: Vec<String> = self
                .statuses
                .iter()
                .map(|(code, n)| format!("{code} ×{n}"))
                .collect();
            writeln!(
                out,
                "  Failure statuses: {}{}",
                list.join(", "),
                more(self.more_statuses, "status", "statuses")
            )?;
        }
        if !self.diagnostics.is_empty() {
            writeln!(out, "  Top diagnostics codes:")?;
            for d in &self.diagnostics {
                let meaning = crate::sip::body::diagnostics::meaning(d.code)
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "    {} {} ×{}{meaning}: {}{}",
                    d.header,
                    d.code,
                    d.joins,
                    d.users.join(", "),
                    more(d.more_users, "user", "users")
                )?;
            }
            if self.more_diagnostics > 0 {
                writeln!(out, "   {}", more(self.more_diagnostics, "code", "codes"))?;
            }
        }
        if !self.failed.is_empty() {
            writeln!(out, "  Failed joins:")?;
            for f in &self.failed {
                let d = &f.diagnosis;
                let why = d
                    .evidence
                    .map(|e| {
                        let diag = e
                            .diagnostic
                            .as_deref()
                            .map(|(h, x)| format!(", {h} {}", x.code))
                            .unwrap_or_default();
                        format!("{}{diag}", reason::status_text(e))
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "    {} in {} at {}: {}: {why}",
                    f.participant.uri,
                    f.conference.id,
                    d.failed_step.map_or("?", |s| s.as_str()),
                    d.cause.map_or("?", reason::cause_name),
                )?;
            }
            if self.more_failed > 0 {
                writeln!(
                    out,
                    "    and {} more (--failed --report text lists every one)",
                    self.more_failed
                )?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Summary<'_> {
    /// The JSON report's `summary` (docs/json.md): the same tallies, with tokens.
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(serde::Serialize)]
        struct StepOut {
            step: &'static str,
            joins: usize,
            causes: std::collections::BTreeMap<&'static str, usize>,
        }
        #[derive(serde::Serialize)]
        struct CodeOut<'a> {
            code: u32,
            header: &'static str,
            joins: usize,
            users: &'a [&'a str],
            more_users: usize,
        }
        #[derive(serde::Serialize)]
        struct StatusOut {
            status: u16,
            joins: usize,
        }
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("conferences", &self.conferences)?;
        map.serialize_entry("joins", &self.joins)?;
        let outcomes: std::collections::BTreeMap<&str, usize> = self
            .outcomes
            .iter()
            .map(|(st, n)| (st.as_str(), *n))
            .collect();
        map.serialize_entry("outcomes", &outcomes)?;
        map.serialize_entry("rang_unanswered", &self.rang_unanswered)?;
        let steps: Vec<StepOut> = self
            .failed_steps
            .iter()
            .map(|(st, n, causes)| StepOut {
                step: st.as_str(),
                joins: *n,
                causes: causes
                    .iter()
                    .map(|(c, n)| (super::csv::cause_token(*c), *n))
                    .collect(),
            })
            .collect();
        map.serialize_entry("failed_steps", &steps)?;
        let codes: Vec<CodeOut<'_>> = self
            .diagnostics
            .iter()
            .map(|d| CodeOut {
                code: d.code,
                header: d.header,
                joins: d.joins,
                users: &d.users,
                more_users: d.more_users,
            })
            .collect();
        map.serialize_entry("diagnostics", &codes)?;
        map.serialize_entry("more_diagnostics", &self.more_diagnostics)?;
        let statuses: Vec<StatusOut> = self
            .statuses
            .iter()
            .map(|(status, joins)| StatusOut {
                status: *status,
                joins: *joins,
            })
            .collect();
        map.serialize_entry("statuses", &statuses)?;
        map.serialize_entry("more_statuses", &self.more_statuses)?;
        map.serialize_entry("failed_joins", &self.failed_joins())?;
        map.end()
    }
}

/// Two causes of the same kind (a `NoAnswer` of any wait).
fn same_kind(a: Cause, b: Cause) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

/// `1 conference`, `2 conferences`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// ` and N more users`, or nothing for 0.
fn more(n: usize, one: &str, many: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" and {n} more {}", if n == 1 { one } else { many })
    }
}

/// Writes `--report summary`: the text report's totals and Problems line, then the summary
/// block — nothing that grows with the capture.
pub fn write(
    out: &mut impl Write,
    input: &super::ReportInput<'_>,
    stats: &crate::pipeline::Stats<'_>,
    analysis: &Analysis,
) -> io::Result<()> {
    super::text::write_head(out, input, stats, analysis)?;
    Summary::new(analysis, input.selection()).write_text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_more() {
        assert_eq!(plural(1, "conference", "conferences"), "1 conference");
        assert_eq!(plural(0, "conference", "conferences"), "0 conferences");
        assert_eq!(more(0, "user", "users"), "");
        assert_eq!(more(2, "user", "users"), " and 2 more users");
    }

    #[test]
    fn causes_of_one_kind_are_one_line() {
        assert!(same_kind(
            Cause::NoAnswer { waited_ms: 1 },
            Cause::NoAnswer { waited_ms: 90_000 }
        ));
        assert!(!same_kind(Cause::Rejected, Cause::Cancelled));
    }
}
