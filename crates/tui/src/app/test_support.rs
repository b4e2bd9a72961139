//! Helpers shared by the unit tests of the `app` modules: a sample capture run through the
//! pipeline, and keys as the terminal delivers them.

use super::App;
use crate::loader::LoadStatus;
use lyncscope::analysis::Analysis;
use lyncscope::capture::CaptureFiles;
use lyncscope::pipeline::Pipeline;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventState, KeyModifiers};

pub(super) fn load(name: &str) -> Pipeline {
    let path = format!(
        "{}/captures/{name}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let mut files = CaptureFiles::open(&[path]).expect("sample opens");
    let mut p = Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        ..lyncscope::Options::default()
    });
    lyncscope::pipeline::run(&mut files, &mut p);
    p
}

pub(super) fn key(c: KeyCode) -> KeyEvent {
    KeyEvent {
        code: c,
        modifiers: KeyModifiers::NONE,
        kind: ratatui::crossterm::event::KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

pub(super) fn done() -> LoadStatus {
    LoadStatus {
        done: true,
        ..Default::default()
    }
}

pub(super) fn typed(app: &mut App, a: &Analysis, text: &str) {
    for c in text.chars() {
        app.handle_key(key(KeyCode::Char(c)), a);
    }
}

pub(super) fn capturing() -> LoadStatus {
    LoadStatus::default()
}
