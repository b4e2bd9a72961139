//! List filters: what was typed at the `f` prompt, parsed into a [`Filter`], and whether a
//! row passes it. The text matching here is also what `/` search uses on the lists.

use super::lists::Tab;
use super::prompt::PromptKind;
use super::App;
use crate::model::{self, participant_dialogs};
use lyncscope::analysis::{Analysis, DialogKind, JoinState, StartKind};

/// What a list shows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) enum Filter {
    #[default]
    None,
    /// Failed joins (conferences), failed dialogs, failure responses.
    Failed,
    /// Dialogs (or messages of dialogs) of one kind.
    Kind(DialogKind),
    /// Rows whose text contains this (ASCII case ignored).
    Text(String),
}

impl Filter {
    /// Parses what was typed at the `f` prompt: `failed`, `kind:<kind>`, text, or nothing.
    pub(crate) fn parse(input: &str) -> Result<Filter, String> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(Filter::None);
        }
        if s.eq_ignore_ascii_case("failed") {
            return Ok(Filter::Failed);
        }
        if let Some(k) = s.strip_prefix("kind:") {
            let kinds = [
                DialogKind::Invitation,
                DialogKind::Focus,
                DialogKind::Roster,
                DialogKind::Media,
                DialogKind::Mcu,
                DialogKind::ConferenceControl,
                DialogKind::Other,
            ];
            return kinds
                .into_iter()
                .find(|x| x.as_str().eq_ignore_ascii_case(k.trim()))
                .map(Filter::Kind)
                .ok_or_else(|| {
                    format!(
                        "unknown kind {:?}: invitation, focus, roster, media, mcu, conference-control, other",
                        k.trim()
                    )
                });
        }
        Ok(Filter::Text(s.to_string()))
    }

    pub(crate) fn describe(&self) -> Option<String> {
        match self {
            Filter::None => None,
            Filter::Failed => Some("failed".into()),
            Filter::Kind(k) => Some(format!("kind:{}", k.as_str())),
            Filter::Text(t) => Some(format!("\"{t}\"")),
        }
    }
}

impl App {
    /// `f`: opens the filter prompt with the current list's filter, to be edited.
    pub(super) fn open_filter(&mut self) {
        if self.stack.is_empty() {
            let current = match &self.list(self.tab).filter {
                Filter::None => String::new(),
                Filter::Failed => "failed".into(),
                Filter::Kind(k) => format!("kind:{}", k.as_str()),
                Filter::Text(t) => t.clone(),
            };
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
    match f {
        Filter::None => true,
        Filter::Text(t) => row_matches_text(a, tab, i, t, true),
        Filter::Failed => match tab {
            Tab::Conferences => a.conferences().list().get(i).is_some_and(|c| {
                c.participants
                    .iter()
                    .any(|p| c.diagnose(p).state == JoinState::Failed)
            }),
            Tab::Dialogs => a
                .dialogs()
                .get(i)
                .is_some_and(|d| d.final_status.is_some_and(model::is_failure_status)),
            Tab::Messages => a.messages().get(i).is_some_and(
                |m| matches!(m.start, StartKind::Response(s) if model::is_failure_status(s)),
            ),
        },
        Filter::Kind(k) => match tab {
            // From the participants' steps, not by scanning every dialog per conference.
            Tab::Conferences => a.conferences().list().get(i).is_some_and(|c| {
                (*k == DialogKind::ConferenceControl && !c.control.is_empty())
                    || c.participants
                        .iter()
                        .any(|p| participant_dialogs(p).iter().any(|(_, kind)| kind == k))
            }),
            Tab::Dialogs => a.dialogs().get(i).is_some_and(|d| d.kind == *k),
            Tab::Messages => a
                .messages()
                .get(i)
                .and_then(|m| m.dialog)
                .and_then(|d| a.dialogs().get(d as usize))
                .is_some_and(|d| d.kind == *k),
        },
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
            let dialog = m.dialog.and_then(|d| a.dialogs().get(d as usize));
            contains_ci(&a.start_text(m.start), t)
                || contains_ci(&m.src.to_string(), t)
                || contains_ci(&m.dst.to_string(), t)
                || m.content_type
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
            Filter::Kind(DialogKind::Media)
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
}
