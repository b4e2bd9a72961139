//! `w` (F2): writes the packets of what is selected (a conference, a join, a ladder, a dialog
//! or a message) to a capture file; `s` on a ladder or a message saves it as text (a name
//! ending `.txt` at either prompt means text). This module picks the messages and proposes
//! the file name; the run loop does the writing, from the [`Action::Export`] or
//! [`Action::SaveText`] it gets. An input is never written over.

use super::lists::Tab;
use super::prompt::{Prompt, PromptKind};
use super::screens::Screen;
use super::{Action, App};
use crate::model::{self, conference_dialogs, participant_dialogs};
use lyncscope::analysis::Analysis;
use lyncscope::output::export::{same_file, MessageSpan};
use std::path::Path;

impl App {
    /// `w`: asks where to write the packets of what is selected; `s` (`text`): where to save
    /// the ladder or the message open as text.
    pub(super) fn open_write(&mut self, a: &Analysis, text: bool) {
        if text {
            let Some(what) = self.text_selection(a).map(|(what, _)| what) else {
                self.notice = Some("s: open a ladder or a message to save it as text".into());
                return;
            };
            let (_, name, _, _) = self.write_selection(a);
            self.prompt = Some(Prompt::new(
                PromptKind::Write,
                format!("{}.txt", sanitize_file_name(&name)),
                format!("{what} as text"),
            ));
            return;
        }
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
        self.prompt = Some(Prompt::new(
            PromptKind::Write,
            format!("{}.pcap", sanitize_file_name(&name)),
            about,
        ));
    }

    /// Enter at the write prompt: what the run loop must write, and where. An input is
    /// refused and an existing file asked about, with the prompt left open.
    pub(super) fn export(&mut self, mut p: Prompt, a: &Analysis) -> Option<Action> {
        let path = p.input.trim().to_string();
        if path.is_empty() {
            return None;
        }
        if let Some(input) = self.input_at(&path) {
            p.overwrite = None;
            p.set_note(&format!("{input} is an input: choose another name"));
            self.prompt = Some(p);
            return None;
        }
        let exists = std::fs::symlink_metadata(&path).is_ok();
        if exists && p.overwrite.as_deref() != Some(path.as_str()) {
            p.set_note(&format!("{path} exists: Enter again or y overwrites it"));
            p.overwrite = Some(path);
            self.prompt = Some(p);
            return None;
        }
        let about = p.plain_about().to_string();
        if path.to_ascii_lowercase().ends_with(".txt") {
            let Some((what, text)) = self.text_selection(a) else {
                p.set_note("text: open a ladder or a message first; .pcap writes packets");
                self.prompt = Some(p);
                return None;
            };
            self.notice = Some(format!("saving {what} as text to {path}…"));
            return Some(Action::SaveText { text, path, what });
        }
        let spans: Vec<MessageSpan> = self
            .write_messages
            .iter()
            .filter_map(|&i| a.messages().get(i))
            .map(|m| MessageSpan::of(a, m))
            .collect();
        self.notice = Some(format!("writing {about} to {path}…"));
        Some(Action::Export {
            spans,
            path,
            what: about,
        })
    }

    /// What `s` saves as text on the current screen: its description and the text (the
    /// ladder as drawn, every lane and row; a message as the wire carried it).
    fn text_selection(&self, a: &Analysis) -> Option<(String, String)> {
        match self.stack.last() {
            Some(Screen::Ladder(l)) => {
                let what = match l.ladder.scope {
                    crate::ladder::Scope::Conference(_) => "conference ladder",
                    crate::ladder::Scope::Participant(..) => "join ladder",
                    crate::ladder::Scope::Dialog(_) => "dialog ladder",
                };
                Some((what.to_string(), crate::views::ladder::text(&l.ladder)))
            }
            Some(Screen::Detail(d)) => {
                let frame = a.messages().get(d.message).map_or(0, |m| m.frame());
                let text = String::from_utf8_lossy(&d.bytes).replace("\r\n", "\n");
                Some((format!("message of frame {frame}"), text))
            }
            _ => None,
        }
    }

    /// The input that `path` is (the same file by device and inode), if any: the inputs'
    /// paths when the App has them, else the pieces of its title (the paths joined by ", ").
    fn input_at(&self, path: &str) -> Option<String> {
        let title = self.title.as_str();
        self.sources
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(title))
            .chain(title.split(", "))
            .filter(|input| *input != "-" && !input.is_empty())
            .find(|input| same_file(Path::new(path), Path::new(input)))
            .map(str::to_string)
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
                    Some(m) => match a.messages().get(m).and_then(|r| r.dialog()) {
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
                    .and_then(|c| Some((c, c.participants.get(g.participant(c)?)?)))
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
            Some(Screen::Detail(d)) => match a.messages().get(d.message).and_then(|r| r.dialog()) {
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
    use super::super::test_support::{capturing, done, key, load, typed};
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

    /// Sets the write prompt's file name to `path` and presses Enter.
    fn enter_name(app: &mut App, a: &Analysis, path: &std::path::Path) -> Option<Action> {
        if let Some(p) = app.prompt.as_mut() {
            p.input.clear();
        }
        typed(app, a, &path.to_string_lossy());
        app.handle_key(key(KeyCode::Enter), a)
    }

    #[test]
    fn an_input_is_refused_and_an_existing_file_asked_about() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let dir = std::env::temp_dir().join(format!("lyncscope-tui-w-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        let input = dir.join("in.pcapng");
        std::fs::write(&input, b"capture").expect("input");
        let link = dir.join("link.pcapng");
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        let old = dir.join("old.pcap");
        std::fs::write(&old, b"old").expect("old file");
        let title = format!("/elsewhere/x.pcap, {}", input.display());
        let mut app = App::new(title, false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('w')), a);
        let plain = app.prompt.clone().expect("write prompt").about;

        // The input, by another name: refused, the prompt stays open to choose another.
        for name in [&input, &link, &dir.join("sub/../in.pcapng")] {
            assert_eq!(enter_name(&mut app, a, name), None);
            let prompt = app.prompt.clone().expect("still open");
            assert!(prompt.about.contains("is an input"), "{}", prompt.about);
        }
        assert_eq!(std::fs::read(&input).expect("input"), b"capture");

        // An existing file: asked in the prompt line; Enter again overwrites.
        assert_eq!(enter_name(&mut app, a, &old), None);
        let prompt = app.prompt.clone().expect("asks");
        assert!(
            prompt
                .about
                .contains("exists: Enter again or y overwrites it"),
            "{}",
            prompt.about
        );
        let Some(Action::Export { path, what, .. }) = app.handle_key(key(KeyCode::Enter), a) else {
            panic!("a second Enter confirms");
        };
        assert_eq!(
            (path.as_str(), what.as_str()),
            (&*old.to_string_lossy(), &*plain)
        );

        // `y` confirms too; editing the name withdraws the question.
        app.handle_key(key(KeyCode::Char('w')), a);
        assert_eq!(enter_name(&mut app, a, &old), None);
        assert!(matches!(
            app.handle_key(key(KeyCode::Char('y')), a),
            Some(Action::Export { .. })
        ));
        app.handle_key(key(KeyCode::Char('w')), a);
        assert_eq!(enter_name(&mut app, a, &old), None);
        app.handle_key(key(KeyCode::Backspace), a);
        let prompt = app.prompt.clone().expect("open");
        assert_eq!(prompt.about, plain);
        typed(&mut app, a, "p2");
        assert!(matches!(
            app.handle_key(key(KeyCode::Enter), a),
            Some(Action::Export { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
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

    #[test]
    fn s_saves_a_ladder_or_a_message_as_text() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // Not on a list.
        app.handle_key(key(KeyCode::Char('2')), a);
        app.handle_key(key(KeyCode::Char('s')), a);
        assert!(app.prompt.is_none());
        assert!(app
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("s: open a ladder")));
        // bob's join ladder: the prompt proposes a .txt name; Enter hands over the text.
        app.handle_key(key(KeyCode::Char('1')), a);
        app.handle_key(key(KeyCode::Enter), a);
        app.handle_key(key(KeyCode::Enter), a);
        app.handle_key(key(KeyCode::Char('s')), a);
        let prompt = app.prompt.clone().expect("save prompt");
        assert!(prompt.input.ends_with(".txt"), "{}", prompt.input);
        assert_eq!(prompt.about, "join ladder as text");
        let dir = std::env::temp_dir().join(format!("lyncscope-s-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bob.txt").to_string_lossy().into_owned();
        if let Some(p) = app.prompt.as_mut() {
            p.input.clear();
        }
        typed(&mut app, a, &path);
        let Some(Action::SaveText {
            text,
            path: to,
            what,
        }) = app.handle_key(key(KeyCode::Enter), a)
        else {
            panic!("text to save");
        };
        assert_eq!((to.as_str(), what.as_str()), (path.as_str(), "join ladder"));
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.contains("inviter alice") && first.contains("A/V MCU"),
            "{text}"
        );
        assert!(text.contains("✗ 488 ms-diag 7008"), "{text}");
        assert!(text.contains("D A/V"), "{text}");
        // Lane titles and addresses, every arrow, the legend.
        let Some(Screen::Ladder(l)) = app.stack.last() else {
            panic!("ladder");
        };
        assert_eq!(text.lines().count(), l.ladder.arrows.len() + 3);
        // A message as the wire carried it.
        app.handle_key(key(KeyCode::Enter), a);
        app.handle_key(key(KeyCode::Char('s')), a);
        if let Some(p) = app.prompt.as_mut() {
            p.input.clear();
        }
        typed(&mut app, a, &path);
        let Some(Action::SaveText { text, .. }) = app.handle_key(key(KeyCode::Enter), a) else {
            panic!("text to save");
        };
        assert!(text.starts_with("INVITE sip:"), "{text}");
        // .txt where there is no text: the prompt says so and stays.
        app.handle_key(key(KeyCode::Esc), a);
        app.handle_key(key(KeyCode::Esc), a);
        app.handle_key(key(KeyCode::Esc), a);
        app.handle_key(key(KeyCode::Char('w')), a);
        if let Some(p) = app.prompt.as_mut() {
            p.input.clear();
        }
        typed(&mut app, a, &path);
        assert_eq!(app.handle_key(key(KeyCode::Enter), a), None);
        let prompt = app.prompt.clone().expect("still open");
        assert!(
            prompt.about.contains("open a ladder or a message first"),
            "{}",
            prompt.about
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
