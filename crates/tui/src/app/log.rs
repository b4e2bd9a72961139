//! `!` (or `L`): every status message of the session in full, newest last; the status line
//! has room for one, cut to its width.

use super::App;

/// Status messages kept: a session shows a few dozen; beyond, the oldest go (counted).
pub(crate) const MAX_LOG: usize = 1000;

/// The message log and its scroll.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    pub(crate) lines: std::collections::VecDeque<String>,
    /// Messages that left the log because it was full.
    pub(crate) dropped: u64,
    /// The overlay is open.
    pub(crate) open: bool,
    /// Lines scrolled up from the newest.
    pub(crate) back: usize,
    /// The notice and the prompt's note last looked at: each is logged when it changes.
    seen_notice: Option<String>,
    seen_note: Option<String>,
}

impl Log {
    pub(crate) fn push(&mut self, line: String) {
        if self.lines.back() == Some(&line) {
            return;
        }
        if self.lines.len() >= MAX_LOG {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
}

impl App {
    /// Adds what the status line (or an open prompt's note) says now, once.
    pub(super) fn record_status(&mut self) {
        if self.notice != self.log.seen_notice {
            self.log.seen_notice = self.notice.clone();
            if let Some(n) = self.notice.clone() {
                self.log.push(n);
            }
        }
        let note = self
            .prompt
            .as_ref()
            .filter(|p| p.about != p.plain_about())
            .map(|p| p.about.clone());
        if note != self.log.seen_note {
            self.log.seen_note = note.clone();
            if let Some(n) = note {
                self.log.push(n);
            }
        }
        for w in self.status.warnings.clone() {
            if !self.log.lines.contains(&w) {
                self.log.push(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key, load, typed};
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn every_status_message_is_kept_in_full() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "zzzz-nothing");
        app.handle_key(key(KeyCode::Enter), a);
        app.handle_key(key(KeyCode::Char('f')), a);
        typed(&mut app, a, "status:abc");
        app.handle_key(key(KeyCode::Enter), a);
        app.handle_key(key(KeyCode::Char('!')), a);
        assert!(app.log.open);
        let lines: Vec<&String> = app.log.lines.iter().collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], "not found: zzzz-nothing");
        assert!(lines[1].starts_with("status: wants a number"), "{lines:?}");
        // Any other key closes it.
        app.handle_key(key(KeyCode::Char('x')), a);
        assert!(!app.log.open);
    }

    #[test]
    fn a_notice_is_logged_once_while_it_stays() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.notice = Some("writing packets…".into());
        app.sync(a, done());
        // A prompt's note comes and goes while the notice stays.
        let mut prompt = super::super::Prompt::new(
            super::super::PromptKind::Write,
            "x.pcap".into(),
            "packets".into(),
        );
        prompt.set_note("x.pcap exists");
        app.prompt = Some(prompt);
        app.sync(a, done());
        app.prompt = None;
        app.sync(a, done());
        app.sync(a, done());
        let lines: Vec<&str> = app.log.lines.iter().map(String::as_str).collect();
        assert_eq!(lines, vec!["writing packets…", "packets [x.pcap exists]"]);
    }

    #[test]
    fn the_log_is_bounded() {
        let mut log = Log::default();
        for i in 0..MAX_LOG + 5 {
            log.push(format!("m{i}"));
        }
        assert_eq!(log.lines.len(), MAX_LOG);
        assert_eq!(log.dropped, 5);
        assert_eq!(log.lines.front().map(String::as_str), Some("m5"));
    }
}
