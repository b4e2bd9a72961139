//! List filters: what was typed at the `f` prompt, parsed into a [`Filter`], and whether a
//! row passes it. The text matching here is also what `/` search uses on the lists.
//!
//! A filter is words that must all hold (`failed kind:media`, `step:focus diag:3014`): the
//! words `failed`, `kind:`, `step:`, `diag:`, `status:`, `c3p:`, `user:`, `conf:`, and any
//! other word as text. On the conference list the words about a join (`failed`, `step:`,
//! `diag:`, `status:`, `c3p:`, `user:`, `kind:`) must hold for one and the same participant:
//! `failed user:dave` is a conference where dave's join failed.

use super::lists::Tab;
use super::prompt::PromptKind;
use super::App;
use crate::model::{self, participant_dialogs};
use lyncscope::analysis::{
    Analysis, Conference, DialogKind, JoinState, JoinStep, Participant, StartKind, Step,
};

/// What a list shows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) enum Filter {
    #[default]
    None,
    /// Rows that pass every term.
    All(Vec<Term>),
}

/// One word of a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Term {
    /// Failed joins (conferences), failed dialogs, failure responses.
    Failed,
    /// Dialogs (or messages of dialogs) of one kind.
    Kind(DialogKind),
    /// The step that failed (conferences), dialogs and messages of that step.
    Step(JoinStep),
    /// An ms-diagnostics code on a step's final response.
    Diag(u32),
    /// A final status (a step's, a dialog's, a response's).
    Status(u16),
    /// A C3P outcome: its code or failure reason contains this.
    C3p(String),
    /// A participant's (a dialog's From or To) address contains this.
    User(String),
    /// The conference ID contains this.
    Conf(String),
    /// Rows whose text contains this (ASCII case ignored).
    Text(String),
}

const KINDS: [DialogKind; 7] = [
    DialogKind::Invitation,
    DialogKind::Focus,
    DialogKind::Roster,
    DialogKind::Media,
    DialogKind::Mcu,
    DialogKind::ConferenceControl,
    DialogKind::Other,
];

const STEPS: [JoinStep; 3] = [JoinStep::Invitation, JoinStep::Focus, JoinStep::Media];

/// The filter words, for the prompt and the notices.
pub(crate) const FILTER_WORDS: &str = "failed kind: step: diag: status: c3p: user: conf: text";

impl Term {
    fn parse(word: &str) -> Result<Term, String> {
        if word.eq_ignore_ascii_case("failed") {
            return Ok(Term::Failed);
        }
        let Some((key, value)) = word.split_once(':') else {
            return Ok(Term::Text(word.to_string()));
        };
        let value = value.trim();
        let number = |what: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what} wants a number: {word:?}"))
        };
        match key.to_ascii_lowercase().as_str() {
            "kind" => KINDS
                .into_iter()
                .find(|x| x.as_str().eq_ignore_ascii_case(value))
                .map(Term::Kind)
                .ok_or_else(|| {
                    format!(
                        "unknown kind {value:?}: invitation, focus, roster, media, mcu, conference-control, other"
                    )
                }),
            "step" => STEPS
                .into_iter()
                .find(|x| x.as_str().eq_ignore_ascii_case(value))
                .map(Term::Step)
                .ok_or_else(|| format!("unknown step {value:?}: invitation, focus, media")),
            "diag" => u32::try_from(number("diag:")?)
                .map(Term::Diag)
                .map_err(|_| format!("diag: code too large: {value}")),
            "status" => match number("status:")? {
                n @ 100..=699 => Ok(Term::Status(n as u16)),
                _ => Err(format!("status: a SIP status is 100 to 699: {value}")),
            },
            "c3p" if !value.is_empty() => Ok(Term::C3p(value.to_string())),
            "user" if !value.is_empty() => Ok(Term::User(value.to_string())),
            "conf" if !value.is_empty() => Ok(Term::Conf(value.to_string())),
            "c3p" | "user" | "conf" => Err(format!("{key}: wants a value")),
            // `sip:bob@…` and other words with a colon are text.
            _ => Ok(Term::Text(word.to_string())),
        }
    }

    fn describe(&self) -> String {
        match self {
            Term::Failed => "failed".into(),
            Term::Kind(k) => format!("kind:{}", k.as_str()),
            Term::Step(s) => format!("step:{}", s.as_str()),
            Term::Diag(d) => format!("diag:{d}"),
            Term::Status(s) => format!("status:{s}"),
            Term::C3p(c) => format!("c3p:{c}"),
            Term::User(u) => format!("user:{u}"),
            Term::Conf(c) => format!("conf:{c}"),
            Term::Text(t) => t.clone(),
        }
    }

    /// A word about one participant's join (on the conference list).
    fn about_a_join(&self) -> bool {
        !matches!(
            self,
            Term::Conf(_) | Term::Text(_) | Term::Kind(DialogKind::ConferenceControl)
        )
    }
}

impl Filter {
    /// Parses what was typed at the `f` prompt: words that must all hold, or nothing.
    pub(crate) fn parse(input: &str) -> Result<Filter, String> {
        let terms = input
            .split_whitespace()
            .map(Term::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if terms.is_empty() {
            return Ok(Filter::None);
        }
        Ok(Filter::All(terms))
    }

    /// The filter as it would be typed (`failed kind:media`).
    pub(crate) fn text(&self) -> String {
        match self {
            Filter::None => String::new(),
            Filter::All(terms) => terms
                .iter()
                .map(Term::describe)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub(crate) fn describe(&self) -> Option<String> {
        match self {
            Filter::None => None,
            Filter::All(_) => Some(self.text()),
        }
    }
}

impl App {
    /// `f`: opens the filter prompt with the current list's filter, selected: typing replaces
    /// it, a movement key keeps it to be edited.
    pub(super) fn open_filter(&mut self) {
        if self.stack.is_empty() {
            let current = self.list(self.tab).filter.text();
            self.open_prompt(PromptKind::Filter, current);
        } else {
            self.notice = Some("filters apply to the lists: Esc back to a list".into());
        }
    }

    /// Enter at the filter prompt: the list shows what passes `input`, or a notice says why
    /// `input` is not a filter (and the filter stays).
    pub(super) fn apply_filter(&mut self, input: &str, a: &Analysis) {
        match Filter::parse(input) {
            Ok(f) => {
                let tab = self.tab;
                self.list_mut(tab).set_filter(f);
                self.sync_filter_now(a);
            }
            Err(e) => self.notice = Some(e),
        }
    }

    /// Runs the new filter over the rows at once (within the budget) so the list is not
    /// empty for a frame.
    fn sync_filter_now(&mut self, a: &Analysis) {
        let status = self.status.clone();
        self.sync(a, status);
    }
}

/// ASCII case-insensitive substring test.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    bytes_contain_ci(hay.as_bytes(), needle.as_bytes())
}

pub(super) fn bytes_contain_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether row `i` of a list passes a filter.
pub(super) fn row_passes(a: &Analysis, tab: Tab, i: usize, f: &Filter) -> bool {
    let terms = match f {
        Filter::None => return true,
        Filter::All(terms) => terms,
    };
    match tab {
        Tab::Conferences => {
            let Some(c) = a.conferences().list().get(i) else {
                return false;
            };
            let (join, conf): (Vec<&Term>, Vec<&Term>) =
                terms.iter().partition(|t| t.about_a_join());
            conf.iter().all(|t| conference_passes(a, i, c, t))
                && (join.is_empty()
                    || c.participants
                        .iter()
                        .any(|p| join.iter().all(|t| participant_passes(c, p, t))))
        }
        Tab::Dialogs => terms.iter().all(|t| dialog_passes(a, i, t)),
        Tab::Messages => terms.iter().all(|t| message_passes(a, i, t)),
    }
}

fn conference_passes(a: &Analysis, i: usize, c: &Conference, t: &Term) -> bool {
    match t {
        Term::Conf(id) => contains_ci(&c.id, id),
        Term::Text(text) => row_matches_text(a, Tab::Conferences, i, text, true),
        Term::Kind(DialogKind::ConferenceControl) => !c.control.is_empty(),
        // Words about a join are asked of the participants.
        _ => true,
    }
}

/// The steps of a participant's join, every attempt.
fn steps(p: &Participant) -> impl Iterator<Item = &Step> {
    p.invitation
        .as_deref()
        .into_iter()
        .chain(p.earlier_focus.iter())
        .chain(p.focus.as_deref())
        .chain(p.roster.as_deref())
        .chain(p.media.iter())
        .chain(p.mcus.iter().map(|(_, s)| s))
}

fn step_has_diag(s: &Step, code: u32) -> bool {
    s.diagnostic
        .as_deref()
        .into_iter()
        .chain(s.more_diagnostics())
        .any(|(_, d)| d.code == code)
}

fn step_has_c3p(s: &Step, text: &str) -> bool {
    s.c3p.as_ref().is_some_and(|c| {
        c.code
            .as_ref()
            .is_some_and(|k| contains_ci(k.as_str(), text))
            || c.reason.as_deref().is_some_and(|r| contains_ci(r, text))
    })
}

fn participant_passes(c: &Conference, p: &Participant, t: &Term) -> bool {
    match t {
        Term::Failed => c.diagnose(p).state == JoinState::Failed,
        Term::Kind(k) => participant_dialogs(p).iter().any(|(_, kind)| kind == k),
        Term::Step(s) => c.diagnose(p).failed_step == Some(*s),
        Term::Diag(code) => steps(p).any(|s| step_has_diag(s, *code)),
        Term::Status(n) => steps(p).any(|s| s.status == Some(*n)),
        Term::C3p(text) => steps(p).any(|s| step_has_c3p(s, text)),
        Term::User(u) => contains_ci(&p.uri, u),
        Term::Conf(_) | Term::Text(_) => true,
    }
}

/// The join step a dialog is part of (an A/V or MCU attempt; the roster belongs to the
/// focus step).
fn step_of_kind(kind: DialogKind) -> Option<JoinStep> {
    match kind {
        DialogKind::Invitation => Some(JoinStep::Invitation),
        DialogKind::Focus | DialogKind::Roster => Some(JoinStep::Focus),
        DialogKind::Media | DialogKind::Mcu => Some(JoinStep::Media),
        DialogKind::ConferenceControl | DialogKind::Other => None,
    }
}

/// The join step whose dialog is `d`, found through its conference.
fn step_of_dialog(a: &Analysis, d: u32) -> Option<&Step> {
    let c = a
        .conferences()
        .list()
        .get(a.conferences().conference_of(d)?)?;
    c.participants
        .iter()
        .find_map(|p| steps(p).find(|s| s.dialog == d))
}

fn dialog_passes(a: &Analysis, i: usize, t: &Term) -> bool {
    let Some(d) = a.dialogs().get(i) else {
        return false;
    };
    let id = i as u32;
    match t {
        Term::Failed => d.final_status.is_some_and(model::is_failure_status),
        Term::Kind(k) => d.kind == *k,
        Term::Step(s) => step_of_kind(d.kind) == Some(*s),
        Term::Diag(code) => step_of_dialog(a, id).is_some_and(|s| step_has_diag(s, *code)),
        Term::Status(n) => d.final_status == Some(*n),
        Term::C3p(text) => step_of_dialog(a, id).is_some_and(|s| step_has_c3p(s, text)),
        Term::User(u) => contains_ci(&d.from, u) || contains_ci(&d.to, u),
        Term::Conf(c) => d
            .conference_id
            .as_deref()
            .is_some_and(|x| contains_ci(x, c)),
        Term::Text(text) => row_matches_text(a, Tab::Dialogs, i, text, true),
    }
}

fn message_passes(a: &Analysis, i: usize, t: &Term) -> bool {
    let Some(m) = a.messages().get(i) else {
        return false;
    };
    let dialog = m.dialog().and_then(|d| a.dialogs().get(d as usize));
    let step = || m.dialog().and_then(|d| step_of_dialog(a, d));
    match t {
        Term::Failed => {
            matches!(m.start(), StartKind::Response(s) if model::is_failure_status(s))
        }
        Term::Kind(k) => dialog.is_some_and(|d| d.kind == *k),
        Term::Step(s) => dialog.is_some_and(|d| step_of_kind(d.kind) == Some(*s)),
        // The final response of a step that carried the code.
        Term::Diag(code) => step().is_some_and(|s| {
            step_has_diag(s, *code)
                && s.status
                    .is_some_and(|st| m.start() == StartKind::Response(st))
        }),
        Term::Status(n) => m.start() == StartKind::Response(*n),
        Term::C3p(text) => step().is_some_and(|s| step_has_c3p(s, text)),
        Term::User(u) => dialog.is_some_and(|d| contains_ci(&d.from, u) || contains_ci(&d.to, u)),
        Term::Conf(c) => dialog
            .and_then(|d| d.conference_id.as_deref())
            .is_some_and(|x| contains_ci(x, c)),
        Term::Text(text) => row_matches_text(a, Tab::Messages, i, text, true),
    }
}

/// Whether row `i` of a list mentions `t`: IDs, URIs, addresses, methods. `deep` also looks
/// at a conference's participants.
pub(super) fn row_matches_text(a: &Analysis, tab: Tab, i: usize, t: &str, deep: bool) -> bool {
    match tab {
        Tab::Conferences => a.conferences().list().get(i).is_some_and(|c| {
            contains_ci(&c.id, t)
                || contains_ci(&c.organizer, t)
                || contains_ci(&c.focus_uri, t)
                || c.subject.as_deref().is_some_and(|s| contains_ci(s, t))
                || (deep && c.participants.iter().any(|p| contains_ci(&p.uri, t)))
                // A Call-ID found from the conference list: the conference it belongs to.
                || (deep
                    && c.dialogs.iter().any(|&d| {
                        a.dialogs()
                            .get(d as usize)
                            .is_some_and(|d| contains_ci(&d.call_id, t))
                    }))
        }),
        Tab::Dialogs => a.dialogs().get(i).is_some_and(|d| {
            contains_ci(&d.call_id, t)
                || contains_ci(&d.from, t)
                || contains_ci(&d.to, t)
                || contains_ci(d.kind.as_str(), t)
                || contains_ci(a.symbols.name(d.method), t)
                || d.conference_id
                    .as_deref()
                    .is_some_and(|c| contains_ci(c, t))
        }),
        Tab::Messages => a.messages().get(i).is_some_and(|m| {
            let dialog = m.dialog().and_then(|d| a.dialogs().get(d as usize));
            let flow = a.flow(m.flow());
            contains_ci(&a.start_text(m.start()), t)
                || contains_ci(&flow.src.to_string(), t)
                || contains_ci(&flow.dst.to_string(), t)
                || m.content_type()
                    .is_some_and(|c| contains_ci(a.symbols.name(c), t))
                || dialog.is_some_and(|d| {
                    contains_ci(&d.call_id, t)
                        || contains_ci(&d.from, t)
                        || contains_ci(&d.to, t)
                        || d.conference_id
                            .as_deref()
                            .is_some_and(|c| contains_ci(c, t))
                })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key, load, typed};
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn search_filter_and_failed_only() {
        let p = load("multi-conference.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // Failed joins only: in this capture heidi declined, nobody failed.
        app.handle_key(key(KeyCode::Char('f')), a);
        typed(&mut app, a, "failed");
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.list(Tab::Conferences).len(3), 0);
        // Conferences where someone joined the A/V MCU: frank's and ivan's (judy).
        app.handle_key(key(KeyCode::Char('f')), a);
        for _ in 0..10 {
            app.handle_key(key(KeyCode::Backspace), a);
        }
        typed(&mut app, a, "kind:media");
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.list(Tab::Conferences).len(3), 2);
        // Dialogs of one kind.
        app.handle_key(key(KeyCode::Char('2')), a);
        app.handle_key(key(KeyCode::Char('f')), a);
        typed(&mut app, a, "kind:media");
        app.handle_key(key(KeyCode::Enter), a);
        let media = a
            .dialogs()
            .iter()
            .filter(|d| d.kind == DialogKind::Media)
            .count();
        assert_eq!(app.list(Tab::Dialogs).len(a.dialogs().len()), media);
        // A bad kind is refused with a notice, the filter stays.
        app.handle_key(key(KeyCode::Char('f')), a);
        for _ in 0..20 {
            app.handle_key(key(KeyCode::Backspace), a);
        }
        typed(&mut app, a, "kind:nope");
        app.handle_key(key(KeyCode::Enter), a);
        assert!(app
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("unknown kind")));
        assert_eq!(
            app.list(Tab::Dialogs).filter,
            Filter::All(vec![Term::Kind(DialogKind::Media)])
        );
        // Clearing.
        app.handle_key(key(KeyCode::Char('f')), a);
        for _ in 0..20 {
            app.handle_key(key(KeyCode::Backspace), a);
        }
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.list(Tab::Dialogs).filter, Filter::None);
        // Search a Call-ID-free word that only the REGISTER dialog has: the user.
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "victor");
        app.handle_key(key(KeyCode::Enter), a);
        let sel = app.selected_item(Tab::Dialogs, a).expect("a row");
        let d = &a.dialogs()[sel];
        assert!(d.from.contains("victor") || d.to.contains("victor"));
        // n finds the next one, wrapping.
        app.handle_key(key(KeyCode::Char('n')), a);
        let next = app.selected_item(Tab::Dialogs, a).expect("a row");
        let d = &a.dialogs()[next];
        assert!(d.from.contains("victor") || d.to.contains("victor"));
        // A search that finds nothing says so.
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "zzzz-nothing");
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.notice.as_deref(), Some("not found: zzzz-nothing"));
    }

    fn filtered(app: &mut App, a: &Analysis, tab: char, filter: &str) -> Vec<usize> {
        app.handle_key(key(KeyCode::Char(tab)), a);
        app.handle_key(key(KeyCode::Char('f')), a);
        app.handle_key(
            ratatui::crossterm::event::KeyEvent::new(
                KeyCode::Char('u'),
                ratatui::crossterm::event::KeyModifiers::CONTROL,
            ),
            a,
        );
        typed(app, a, filter);
        app.handle_key(key(KeyCode::Enter), a);
        let t = app.tab;
        let total = app.total(t, a);
        let list = app.list(t);
        (0..list.len(total))
            .filter_map(|i| list.item(i, total))
            .collect()
    }

    #[test]
    fn words_combine_and_aim_at_joins() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // bob's A/V join failed (488, ms-diagnostics 7008); carol retried and joined.
        assert_eq!(filtered(&mut app, a, '1', "failed kind:media"), vec![0]);
        assert_eq!(
            filtered(&mut app, a, '1', "step:media diag:7008 status:488"),
            vec![0]
        );
        assert_eq!(filtered(&mut app, a, '1', "failed user:bob"), vec![0]);
        // One participant must match every word about a join: alice did not fail.
        assert!(filtered(&mut app, a, '1', "failed user:alice").is_empty());
        assert!(filtered(&mut app, a, '1', "step:focus").is_empty());
        let id = a.conferences().list()[0].id.clone();
        assert_eq!(
            filtered(&mut app, a, '1', &format!("conf:{id} failed")),
            vec![0]
        );
        // Messages: the 488s that carried 7008.
        let msgs = filtered(&mut app, a, '3', "diag:7008");
        assert!(!msgs.is_empty());
        assert!(msgs
            .iter()
            .all(|&i| a.messages()[i].start() == StartKind::Response(488)));
        // Dialogs: bob's A/V dialog.
        let dialogs = filtered(&mut app, a, '2', "status:488 user:bob");
        assert_eq!(dialogs.len(), 1);
        assert_eq!(a.dialogs()[dialogs[0]].kind, DialogKind::Media);
        // A bad word is refused with a notice.
        filtered(&mut app, a, '2', "status:abc");
        assert!(app.notice.as_deref().is_some_and(|n| n.contains("status:")));
    }

    #[test]
    fn c3p_outcomes() {
        let p = load("focus-c3p-failure.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        assert_eq!(filtered(&mut app, a, '1', "c3p:failure user:bob"), vec![0]);
        assert!(filtered(&mut app, a, '1', "c3p:failure user:erin").is_empty());
        let dialogs = filtered(&mut app, a, '2', "c3p:otherFailure");
        assert_eq!(dialogs.len(), 1);
        assert_eq!(a.dialogs()[dialogs[0]].kind, DialogKind::Focus);
        assert_eq!(
            filtered(&mut app, a, '1', "step:focus diag:3014 user:erin"),
            vec![0]
        );
    }

    #[test]
    fn search_finds_a_call_id_from_the_conference_list() {
        let p = load("multi-conference.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // The last conference's focus dialog, by its Call-ID.
        let last = a.conferences().list().len() - 1;
        let c = &a.conferences().list()[last];
        let d = c
            .participants
            .iter()
            .find_map(|p| p.focus.as_ref())
            .expect("a focus join")
            .dialog;
        let call_id = a.dialogs()[d as usize].call_id.to_string();
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, &call_id);
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.selected_item(Tab::Conferences, a), Some(last));
    }
}
