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
    /// What the prompt is about (`packets of conference Q9ZL4PJE`).
    pub(crate) about: String,
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
        self.prompt = Some(Prompt { kind, input, about });
    }

    pub(super) fn prompt_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
        let prompt = self.prompt.as_mut()?;
        match key.code {
            KeyCode::Esc => {
                self.prompt = None;
            }
            KeyCode::Backspace => {
                prompt.input.pop();
            }
            KeyCode::Char(c) => prompt.input.push(c),
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
