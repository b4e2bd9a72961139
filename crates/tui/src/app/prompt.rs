//! The one-line prompt at the bottom (`/` search, `f` filter, `w` write): its text, editing,
//! and what Enter does with it.
//!
//! Editing as in a shell: Left/Right, Home/End and Ctrl-A/Ctrl-E move, Backspace and Delete
//! delete, Ctrl-U clears, Ctrl-W deletes the word before the cursor, Esc cancels. A prompt
//! that opens with text (the current filter, a file name) shows it selected: typing replaces
//! it, a movement key keeps it.

use super::{Action, App};
use lyncscope::analysis::Analysis;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PromptKind {
    Search,
    Filter,
    Write,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub(crate) kind: PromptKind,
    pub(crate) input: String,
    /// The cursor, in characters from the start of `input`.
    pub(crate) cursor: usize,
    /// The text it opened with is selected: typing replaces it.
    pub(crate) selected: bool,
    /// What the prompt is about (`packets of conference Q9ZL4PJE`), with a note in brackets
    /// while one is shown.
    pub(crate) about: String,
    /// Write: the existing file that Enter again, or `y`, overwrites.
    pub(crate) overwrite: Option<String>,
    /// `about` without its note, while a note is shown.
    plain_about: Option<String>,
}

impl Prompt {
    pub(crate) fn new(kind: PromptKind, input: String, about: String) -> Self {
        Prompt {
            kind,
            cursor: input.chars().count(),
            selected: !input.is_empty(),
            input,
            about,
            overwrite: None,
            plain_about: None,
        }
    }

    /// Adds `note` to the prompt line itself: while a prompt is open it replaces the status
    /// line, so a notice would not be seen.
    pub(crate) fn set_note(&mut self, note: &str) {
        let plain = self
            .plain_about
            .take()
            .unwrap_or_else(|| self.about.clone());
        self.about = format!("{plain} [{note}]");
        self.plain_about = Some(plain);
    }

    /// Removes the note and forgets a pending overwrite: the name is being edited.
    fn clear_note(&mut self) {
        if let Some(plain) = self.plain_about.take() {
            self.about = plain;
        }
        self.overwrite = None;
    }

    /// Byte offset of character `n` of the input.
    fn byte_at(&self, n: usize) -> usize {
        self.input
            .char_indices()
            .nth(n)
            .map_or(self.input.len(), |(i, _)| i)
    }

    /// Applies an editing key; false if the key is not one.
    pub(crate) fn edit(&mut self, key: KeyEvent) -> bool {
        let len = self.input.chars().count();
        // The input may have been set from outside: keep the cursor on it.
        self.cursor = self.cursor.min(len);
        let before = self.input.clone();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let was_selected = std::mem::replace(&mut self.selected, false);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.input.clear();
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.input.chars().collect();
                let mut start = self.cursor.min(chars.len());
                while start > 0 && chars.get(start - 1).is_some_and(|c| c.is_whitespace()) {
                    start -= 1;
                }
                while start > 0 && chars.get(start - 1).is_some_and(|c| !c.is_whitespace()) {
                    start -= 1;
                }
                let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
                self.input.replace_range(from..to, "");
                self.cursor = start;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = len,
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Backspace | KeyCode::Delete if was_selected => {
                self.input.clear();
                self.cursor = 0;
            }
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    let at = self.byte_at(self.cursor - 1);
                    self.input.remove(at);
                    self.cursor -= 1;
                }
            }
            KeyCode::Delete => {
                if self.cursor < len {
                    let at = self.byte_at(self.cursor);
                    self.input.remove(at);
                }
            }
            KeyCode::Char(c) if !ctrl => {
                if was_selected {
                    self.input.clear();
                    self.cursor = 0;
                }
                let at = self.byte_at(self.cursor);
                self.input.insert(at, c);
                self.cursor += 1;
            }
            _ => {
                self.selected = was_selected;
                return false;
            }
        }
        if self.input != before {
            self.clear_note();
        }
        true
    }

    /// What the prompt is about, without a note.
    pub(crate) fn plain_about(&self) -> &str {
        self.plain_about.as_deref().unwrap_or(&self.about)
    }
}

impl App {
    pub(super) fn open_prompt(&mut self, kind: PromptKind, input: String) {
        let about = match kind {
            PromptKind::Search => "search".to_string(),
            PromptKind::Filter => format!(
                "filter ({}; words combine, empty clears)",
                super::filter::FILTER_WORDS
            ),
            PromptKind::Write => String::new(),
        };
        self.prompt = Some(Prompt::new(kind, input, about));
    }

    pub(super) fn prompt_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
        let prompt = self.prompt.as_mut()?;
        match key.code {
            KeyCode::Esc => {
                self.prompt = None;
            }
            // At the question whether to overwrite a file, `y` answers it.
            KeyCode::Char('y') if prompt.overwrite.is_some() => {
                let p = self.prompt.take()?;
                return self.export(p, a);
            }
            KeyCode::Enter => {
                let p = self.prompt.take()?;
                match p.kind {
                    PromptKind::Search => {
                        if p.input.is_empty() {
                            return None;
                        }
                        self.last_search = Some(p.input);
                        self.search_again(a, true);
                    }
                    PromptKind::Filter => self.apply_filter(&p.input, a),
                    PromptKind::Write => return self.export(p, a),
                }
            }
            _ => {
                prompt.edit(key);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn plain(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn shell_editing_keys() {
        let mut p = Prompt::new(PromptKind::Filter, String::new(), String::new());
        for c in "failed kind:media".chars() {
            p.edit(plain(KeyCode::Char(c)));
        }
        // Ctrl-W deletes the word before the cursor.
        p.edit(ctrl('w'));
        assert_eq!(p.input, "failed ");
        // Ctrl-A, then typing inserts at the start.
        p.edit(ctrl('a'));
        p.edit(plain(KeyCode::Char('x')));
        assert_eq!(p.input, "xfailed ");
        // Ctrl-E and Backspace delete at the end; Left and Delete in the middle.
        p.edit(ctrl('e'));
        p.edit(plain(KeyCode::Backspace));
        assert_eq!(p.input, "xfailed");
        p.edit(plain(KeyCode::Home));
        p.edit(plain(KeyCode::Delete));
        assert_eq!(p.input, "failed");
        p.edit(plain(KeyCode::End));
        p.edit(plain(KeyCode::Left));
        p.edit(plain(KeyCode::Backspace));
        assert_eq!(p.input, "faild");
        // Ctrl-U clears.
        p.edit(ctrl('u'));
        assert_eq!((p.input.as_str(), p.cursor), ("", 0));
    }

    #[test]
    fn text_it_opens_with_is_selected() {
        let mut p = Prompt::new(PromptKind::Filter, "failed".into(), String::new());
        assert!(p.selected);
        // Typing replaces it.
        p.edit(plain(KeyCode::Char('d')));
        assert_eq!(p.input, "d");
        // A movement key keeps it to be edited.
        let mut p = Prompt::new(PromptKind::Filter, "failed".into(), String::new());
        p.edit(plain(KeyCode::End));
        p.edit(plain(KeyCode::Char('!')));
        assert_eq!(p.input, "failed!");
    }
}
