//! What each key (and the mouse wheel) does. One table for every screen: most keys mean the
//! same everywhere (move, page, Enter opens, Esc closes), and the few that depend on the screen
//! say so in a guard or in the method they call.

use super::lists::Tab;
use super::prompt::PromptKind;
use super::screens::Pane;
use super::{Action, App};
use lyncscope::analysis::Analysis;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

/// Rows the mouse wheel moves.
const WHEEL_ROWS: isize = 3;

impl App {
    pub(crate) fn handle_mouse(&mut self, m: MouseEvent, a: &Analysis) {
        match m.kind {
            MouseEventKind::ScrollDown => self.move_by(a, WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.move_by(a, -WHEEL_ROWS),
            _ => {}
        }
    }

    /// Applies one key; returns what the run loop must do, if anything.
    pub fn handle_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q'))
        {
            return Some(Action::Quit);
        }
        if self.prompt.is_some() {
            return self.prompt_key(key, a);
        }
        if self.help {
            // Any key closes the help; q still quits.
            self.help = false;
            return (key.code == KeyCode::Char('q')).then_some(Action::Quit);
        }
        self.notice = None;
        let page = self.page_height() as isize;
        match key.code {
            KeyCode::Char('q') => return Some(Action::Quit),
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Down | KeyCode::Char('j') => self.move_by(a, 1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(a, -1),
            KeyCode::PageDown | KeyCode::Char(' ') if !self.in_tree() => self.move_by(a, page),
            KeyCode::PageDown => self.move_by(a, page),
            KeyCode::PageUp => self.move_by(a, -page),
            KeyCode::Home | KeyCode::Char('g') => self.move_to(a, 0),
            KeyCode::End | KeyCode::Char('G') => self.move_to(a, usize::MAX),
            KeyCode::Esc | KeyCode::Backspace => {
                self.stack.pop();
                self.clamp(a);
            }
            KeyCode::Enter => self.enter(a),
            KeyCode::Char(' ')
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l')
                if self.in_tree() =>
            {
                self.toggle(key.code)
            }
            KeyCode::Tab | KeyCode::BackTab => self.next_pane(key.code == KeyCode::BackTab, a),
            KeyCode::Char('1') => self.switch_tab(Tab::Conferences, a),
            KeyCode::Char('2') => self.switch_tab(Tab::Dialogs, a),
            KeyCode::Char('3') => self.switch_tab(Tab::Messages, a),
            KeyCode::Char('t') => self.set_pane(Pane::Tree, a),
            KeyCode::Char('r') => self.set_pane(Pane::Raw, a),
            KeyCode::Char('x') => self.set_pane(Pane::Hex, a),
            KeyCode::Char('l') | KeyCode::Char('L') => self.open_conference_ladder(a),
            KeyCode::Char('/') => self.open_prompt(PromptKind::Search, String::new()),
            KeyCode::Char('n') => self.search_again(a, true),
            KeyCode::Char('N') => self.search_again(a, false),
            KeyCode::Char('f') => self.open_filter(),
            KeyCode::Char('w') => self.open_write(a),
            KeyCode::Char('s') if self.stack.is_empty() && self.tab == Tab::Conferences => {
                self.cycle_sort(a, false)
            }
            KeyCode::Char('S') if self.stack.is_empty() && self.tab == Tab::Conferences => {
                self.cycle_sort(a, true)
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key, load};
    use super::*;

    #[test]
    fn help_and_ctrl_c() {
        let p = load("worked-example.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('?')), a);
        assert!(app.help);
        assert_eq!(app.handle_key(key(KeyCode::Down), a), None);
        assert!(!app.help);
        let ctrl_c = KeyEvent {
            modifiers: KeyModifiers::CONTROL,
            ..key(KeyCode::Char('c'))
        };
        assert_eq!(app.handle_key(ctrl_c, a), Some(Action::Quit));
    }
}
