//! A message: the dissection tree (`▾` open, `▸` closed), the raw text, or the hex dump.

use super::{style, window};
use crate::app::{DetailView, Pane};
use crate::dissect::{self, Tone};
use lyncscope::analysis::Analysis;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, d: &DetailView, a: &Analysis) {
    let [bar, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut spans = Vec::new();
    for pane in [Pane::Tree, Pane::Raw, Pane::Hex] {
        if pane == d.pane {
            spans.push(Span::styled(
                format!("[{}]", pane.title()),
                style::selected_tab(),
            ));
        } else {
            spans.push(Span::raw(format!(" {} ", pane.title())));
        }
        spans.push(Span::raw(" "));
    }
    if let Some(m) = a.messages().get(d.message) {
        let flow = a.flow(m.flow());
        spans.push(Span::styled(
            format!(
                " frame {} · {} → {} · {} bytes · Tab: next pane",
                m.frame(),
                flow.src,
                flow.dst,
                d.bytes.len()
            ),
            style::dim(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), bar);
    if d.bytes.is_empty() && d.pane != Pane::Tree {
        f.render_widget(Paragraph::new("The message's bytes were not kept."), body);
        return;
    }
    let height = body.height as usize;
    let lines: Vec<Line> = match d.pane {
        Pane::Tree => {
            let visible = dissect::visible(&d.tree);
            let sel = d.cursor[0];
            let off = window(sel, d.offset[0], height, visible.len());
            visible
                .iter()
                .enumerate()
                .skip(off)
                .take(height)
                .filter_map(|(row, &i)| {
                    let l = d.tree.get(i)?;
                    let marker = match (l.has_children, l.expanded) {
                        (true, true) => "▾ ",
                        (true, false) => "▸ ",
                        _ => "  ",
                    };
                    let indent = "  ".repeat(l.depth as usize);
                    let st = match l.tone {
                        Tone::Normal => Style::default(),
                        Tone::Good => style::good(),
                        Tone::Bad => style::bad(),
                        Tone::Title => style::header(),
                    };
                    let st = if row == sel {
                        st.patch(style::selected())
                    } else {
                        st
                    };
                    Some(Line::from(Span::styled(
                        format!("{indent}{marker}{}", l.text),
                        st,
                    )))
                })
                .collect()
        }
        Pane::Raw | Pane::Hex => {
            let (src, i) = if d.pane == Pane::Raw {
                (&d.raw, 1)
            } else {
                (&d.hex, 2)
            };
            let sel = d.cursor[i];
            let off = window(sel, d.offset[i], height, src.len());
            src.iter()
                .enumerate()
                .skip(off)
                .take(height)
                .map(|(row, text)| {
                    let st = if row == sel {
                        style::selected()
                    } else {
                        Style::default()
                    };
                    Line::from(Span::styled(text.clone(), st))
                })
                .collect()
        }
    };
    f.render_widget(Paragraph::new(lines), body);
}
