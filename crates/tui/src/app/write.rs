//! `w`: writes the packets of what is selected (a conference, a join, a ladder, a dialog or a
//! message) to a capture file. This module picks the messages and proposes the file name;
//! the run loop does the writing, from the [`Action::Export`] it gets.

use super::lists::Tab;
use super::prompt::{Prompt, PromptKind};
use super::screens::Screen;
use super::{Action, App};
use crate::model::{self, conference_dialogs, participant_dialogs};
use lyncscope::analysis::Analysis;
use lyncscope::output::export::MessageSpan;

impl App {
    /// `w`: asks where to write the packets of what is selected.
    pub(super) fn open_write(&mut self, a: &Analysis) {
        if self.live.is_some() {
            self.notice = Some(
                "w: a live capture cannot be read again; start lyncscope with -w FILE to keep \
                 its SIP packets"
                    .into(),
            );
            return;
        }
        if self.from_stdin {
            self.notice = Some(
                "w: standard input cannot be read again; save the capture to a file and open that"
                    .into(),
            );
            return;
        }
        let (what, name, dialogs, messages) = self.write_selection(a);
        if dialogs.is_empty() && messages.is_empty() {
            self.notice = Some("w: nothing selected".into());
            return;
        }
        self.write_target = dialogs;
        let mut msgs = messages;
        if !self.write_target.is_empty() {
            msgs.extend(model::messages_of(a, &self.write_target));
            msgs.sort_unstable();
            msgs.dedup();
        }
        self.write_messages = msgs;
        let about = format!("packets of {what} ({} messages)", self.write_messages.len());
        self.prompt = Some(Prompt {
            kind: PromptKind::Write,
            input: format!("{}.pcap", sanitize_file_name(&name)),
            about,
        });
    }

    /// Enter at the write prompt: what the run loop must write, and where.
    pub(super) fn export(&mut self, p: Prompt, a: &Analysis) -> Option<Action> {
        let path = p.input.trim().to_string();
        if path.is_empty() {
            return None;
        }
        let spans: Vec<MessageSpan> = self
            .write_messages
            .iter()
            .filter_map(|&i| a.messages().get(i))
            .map(MessageSpan::from)
            .collect();
        self.notice = Some(format!("writing {} to {path}…", p.about));
        Some(Action::Export {
            spans,
            path,
            what: p.about,
        })
    }

    /// What `w` writes on the current screen: (description, file name stem, dialogs,
    /// single messages).
    fn write_selection(&self, a: &Analysis) -> (String, String, Vec<u32>, Vec<usize>) {
        let confs = a.conferences().list();
        let dialog_of = |d: u32| {
            let call = a
                .dialogs()
                .get(d as usize)
                .map_or(String::new(), |x| crate::views::clip(&x.call_id, 16));
            (
                format!("dialog {call}"),
                format!("dialog-{call}"),
                vec![d],
                Vec::new(),
            )
        };
        match self.stack.last() {
            None => match self.tab {
                Tab::Conferences => match self
                    .selected_item(Tab::Conferences, a)
                    .and_then(|c| confs.get(c))
                {
                    Some(c) => (
                        format!("conference {}", crate::views::clip(&c.id, 24)),
                        format!("conference-{}", c.id),
                        conference_dialogs(a, c),
                        Vec::new(),
                    ),
                    None => Default::default(),
                },
                Tab::Dialogs => match self.selected_item(Tab::Dialogs, a) {
                    Some(d) => dialog_of(d as u32),
                    None => Default::default(),
                },
                Tab::Messages => match self.selected_item(Tab::Messages, a) {
                    Some(m) => match a.messages().get(m).and_then(|r| r.dialog) {
                        Some(d) => dialog_of(d),
                        None => (
                            format!("message {m}"),
                            format!("message-{m}"),
                            Vec::new(),
                            vec![m],
                        ),
                    },
                    None => Default::default(),
                },
            },
            Some(Screen::Conference(g)) => {
                match confs
                    .get(g.conference)
                    .and_then(|c| Some((c, c.participants.get(g.selected)?)))
                {
                    Some((c, p)) => (
                        format!("{}'s join", model::short_user(&p.uri)),
                        format!("{}-{}", c.id, model::short_user(&p.uri)),
                        participant_dialogs(p).into_iter().map(|(d, _)| d).collect(),
                        Vec::new(),
                    ),
                    None => Default::default(),
                }
            }
            Some(Screen::Ladder(l)) => (
                "this ladder".to_string(),
                "ladder".to_string(),
                l.ladder.dialogs.iter().map(|d| d.dialog).collect(),
                Vec::new(),
            ),
            Some(Screen::Detail(d)) => match a.messages().get(d.message).and_then(|r| r.dialog) {
                Some(dlg) => dialog_of(dlg),
                None => (
                    format!("message {}", d.message),
                    format!("message-{}", d.message),
                    Vec::new(),
                    vec![d.message],
                ),
            },
        }
    }
}

fn sanitize_file_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{capturing, done, key, load};
    use super::*;
    use crate::live::LiveStatus;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn write_prompt_and_standard_input() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('w')), a);
        let prompt = app.prompt.clone().expect("write prompt");
        assert_eq!(prompt.input, "conference-Q9ZL4PJE.pcap");
        let action = app.handle_key(key(KeyCode::Enter), a);
        let Some(Action::Export { spans, path, .. }) = action else {
            panic!("export expected");
        };
        assert_eq!(path, "conference-Q9ZL4PJE.pcap");
        assert!(spans.len() >= 40, "{}", spans.len());
        let mut stdin_app = App::new("-".into(), true);
        stdin_app.sync(a, done());
        stdin_app.handle_key(key(KeyCode::Char('w')), a);
        assert!(stdin_app.prompt.is_none());
        assert!(stdin_app
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("standard input cannot be read again")));
    }

    #[test]
    fn a_live_capture_cannot_be_written_again() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("live: lo".into(), false);
        app.live = Some(LiveStatus::new(&["lo".into()]));
        app.sync(a, capturing());
        app.handle_key(key(KeyCode::Char('w')), a);
        assert!(app.prompt.is_none());
        assert!(app.notice.as_deref().is_some_and(|n| n.contains("-w FILE")));
    }
}
