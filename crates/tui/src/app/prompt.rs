//! The one-line prompt at the bottom (`/` search, `f` filter, `w` write): its text, editing,
//! and what Enter does with it.

use super::{Action, App};
use lyncscope::analysis::Analysis;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

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

    /// What the prompt is about, without a note.
    pub(crate) fn plain_about(&self) -> &str {
        self.plain_about.as_deref().unwrap_or(&self.about)
    }
}

impl App {
    pub(super) fn open_prompt(&mut self, kind: PromptKind, input: String) {
        let about = match kind {
            PromptKind::Search => "search".to_string(),
            PromptKind::Filter => {
                "filter (failed | kind:invitation|focus|roster|media|mcu|other | text; empty clears)"
                    .to_string()
            }
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
            KeyCode::Backspace => {
                prompt.clear_note();
                prompt.input.pop();
            }
            KeyCode::Char(c) => {
                prompt.clear_note();
                prompt.input.push(c);
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
            _ => {}
        }
        None
    }
}
