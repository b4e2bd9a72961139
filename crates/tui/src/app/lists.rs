//! The three top-level lists (Conferences, Dialogs, Messages): which rows a filter lets
//! through, and the cursor over them.
//!
//! A filtered list is built bit by bit, [`FILTER_BUDGET`] rows per update, so that a filter
//! over a million rows never holds up a frame; rows whose dialog or conference changed are
//! looked at again, and the cursor stays on its row while rows come and go before it.

use super::filter::{row_passes, Filter};
use lyncscope::analysis::Analysis;

/// Rows of a filtered list scanned per update, so that filtering a million rows while loading
/// never costs one frame more than a few milliseconds.
const FILTER_BUDGET: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tab {
    Conferences,
    Dialogs,
    Messages,
}

impl Tab {
    pub(crate) const ALL: [Tab; 3] = [Tab::Conferences, Tab::Dialogs, Tab::Messages];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Tab::Conferences => "Conferences",
            Tab::Dialogs => "Dialogs",
            Tab::Messages => "Messages",
        }
    }

    pub(super) fn index(self) -> usize {
        match self {
            Tab::Conferences => 0,
            Tab::Dialogs => 1,
            Tab::Messages => 2,
        }
    }
}

/// A column of the conference list that `s` sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortColumn {
    Conference,
    Organizer,
    Subject,
    People,
    Joined,
    Failed,
    Step,
    Diag,
    FirstSeen,
    Duration,
}

impl SortColumn {
    pub(crate) const ALL: [SortColumn; 10] = [
        SortColumn::Conference,
        SortColumn::Organizer,
        SortColumn::Subject,
        SortColumn::People,
        SortColumn::Joined,
        SortColumn::Failed,
        SortColumn::Step,
        SortColumn::Diag,
        SortColumn::FirstSeen,
        SortColumn::Duration,
    ];
}

/// How a list is sorted: a column, and whether the largest come first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sort {
    pub(crate) column: SortColumn,
    pub(crate) descending: bool,
}

/// A top-level list: its filter, the rows that pass it, and the cursor.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListView {
    pub(crate) filter: Filter,
    /// With a filter: indices of the rows that pass, in order.
    rows: Vec<u32>,
    /// Rows of the source looked at by the filter so far.
    scanned: usize,
    pub(crate) selected: usize,
    pub(crate) offset: usize,
    /// While the filter looks at every row again: the source row the cursor was on, put back
    /// under the cursor once it is looked at (unless the cursor moves first).
    pub(super) sticky: Option<usize>,
    /// The sort (conference list), and the rows in its order; `None`: capture order.
    pub(crate) sort: Option<Sort>,
    pub(super) order: Option<Vec<u32>>,
    /// What the order was built from: rows, and the analysis' change count.
    pub(super) order_of: (usize, u64),
}

impl ListView {
    /// Rows shown, given the source's length.
    pub(crate) fn len(&self, total: usize) -> usize {
        if let Some(order) = &self.order {
            return order.len();
        }
        match self.filter {
            Filter::None => total,
            _ => self.rows.len(),
        }
    }

    /// The source index of shown row `i`.
    pub(crate) fn item(&self, i: usize, total: usize) -> Option<usize> {
        if let Some(order) = &self.order {
            return order.get(i).map(|&r| r as usize);
        }
        match self.filter {
            Filter::None => (i < total).then_some(i),
            _ => self.rows.get(i).map(|&r| r as usize),
        }
    }

    /// The source index of row `i` in capture order (before any sort).
    pub(super) fn unsorted_item(&self, i: usize, total: usize) -> Option<usize> {
        match self.filter {
            Filter::None => (i < total).then_some(i),
            _ => self.rows.get(i).map(|&r| r as usize),
        }
    }

    /// Rows in capture order (before any sort).
    pub(super) fn unsorted_len(&self, total: usize) -> usize {
        match self.filter {
            Filter::None => total,
            _ => self.rows.len(),
        }
    }

    /// True while the filter has not looked at every row yet.
    pub(crate) fn filtering(&self, total: usize) -> bool {
        self.filter != Filter::None && self.scanned < total
    }

    pub(super) fn set_filter(&mut self, f: Filter) {
        self.filter = f;
        self.rows.clear();
        self.scanned = 0;
        self.selected = 0;
        self.offset = 0;
        self.sticky = None;
        self.order = None;
    }

    /// Brings the rows up to date with the analysis (see `App::sync`): rows that `changed`
    /// names as (dialogs, conferences) are looked at again, or every row when it is `None`;
    /// then new rows are scanned, within the budget.
    pub(super) fn update(
        &mut self,
        a: &Analysis,
        tab: Tab,
        total: usize,
        changed: Option<&(Vec<u32>, Vec<u32>)>,
    ) {
        if self.filter == Filter::None {
            return;
        }
        // A sorted list keeps its cursor itself (`App::sort_conferences`).
        let anchor = match self.order {
            Some(_) => None,
            None => self.item(self.selected, total),
        };
        match changed {
            None => {
                // Look at every row once more, keeping the cursor's row.
                self.rows.clear();
                self.scanned = 0;
                // (A row still waiting from an earlier look is the one to go back to.)
                self.sticky = self.sticky.or(anchor);
            }
            Some((dialogs, confs)) => {
                // Rows whose state may have changed: a dialog answered, a join failed.
                // Messages do not change once recorded.
                let rows: &[u32] = match tab {
                    Tab::Conferences => confs,
                    Tab::Dialogs => dialogs,
                    Tab::Messages => &[],
                };
                for &i in rows {
                    let i = i as usize;
                    if i < self.scanned {
                        let passes = row_passes(a, tab, i, &self.filter);
                        self.recheck(i, passes);
                    }
                }
            }
        }
        if self.scanned < total {
            let end = total.min(self.scanned + FILTER_BUDGET);
            for i in self.scanned..end {
                if row_passes(a, tab, i, &self.filter) {
                    self.rows.push(i as u32);
                }
            }
            self.scanned = end;
        }
        match (self.sticky, anchor) {
            (Some(item), _) if item < self.scanned => {
                self.sticky = None;
                self.follow(item, total);
            }
            (Some(_), _) => {}
            (None, Some(item)) => self.follow(item, total),
            (None, None) => {}
        }
    }

    /// Looks at row `i` (already scanned) again: adds it to or removes it from the rows.
    fn recheck(&mut self, i: usize, passes: bool) {
        let Ok(row) = u32::try_from(i) else { return };
        match (passes, self.rows.binary_search(&row)) {
            (true, Err(at)) => self.rows.insert(at, row),
            (false, Ok(at)) => {
                self.rows.remove(at);
            }
            _ => {}
        }
    }

    /// Puts the cursor back on source row `item` after rows were added or removed before it
    /// (on the row after it, if it left the list); the view scrolls with it.
    fn follow(&mut self, item: usize, total: usize) {
        let at = match self.filter {
            Filter::None => item,
            _ => match self
                .rows
                .binary_search(&u32::try_from(item).unwrap_or(u32::MAX))
            {
                Ok(at) | Err(at) => at,
            },
        };
        let len = self.len(total);
        let at = at.min(len.saturating_sub(1));
        if at >= self.selected {
            self.offset += at - self.selected;
        } else {
            self.offset = self.offset.saturating_sub(self.selected - at);
        }
        self.selected = at;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{capturing, done, key, typed};
    use super::super::App;
    use super::*;
    use lyncscope::capture::CaptureFiles;
    use ratatui::crossterm::event::KeyCode;

    /// The SIP messages of a sample capture with their contexts, to be fed to an analysis in
    /// any interleaving (as a live capture of two conferences at once would).
    fn sip_messages(name: &str) -> Vec<(lyncscope::transport::MsgContext, Vec<u8>)> {
        use lyncscope::net::{NetDecoder, NetOutput};
        use lyncscope::transport::{MsgContext, SipSink, TransportLayer};
        struct Collect(Vec<(MsgContext, Vec<u8>)>);
        impl SipSink for Collect {
            fn message(&mut self, ctx: &MsgContext, msg: &lyncscope::sip::Message<'_>) {
                self.0.push((*ctx, msg.raw().to_vec()));
            }
        }
        let path = format!(
            "{}/captures/{name}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let mut files = CaptureFiles::open(&[path]).expect("sample opens");
        let (mut net, mut transport) = (NetDecoder::new(), TransportLayer::new());
        let mut out = Collect(Vec::new());
        while let Some(f) = files.next_frame() {
            if let NetOutput::Packet(pkt) = net.decode(&f) {
                transport.handle(&f, &pkt, &mut out);
            }
        }
        transport.finish(&mut out);
        out.0
    }

    fn feed(a: &mut Analysis, msgs: &[(lyncscope::transport::MsgContext, Vec<u8>)]) {
        use lyncscope::transport::SipSink;
        for (ctx, bytes) in msgs {
            let (msg, _) = lyncscope::sip::frame_stream(bytes).expect("a whole message");
            a.message(ctx, &msg);
        }
    }

    fn selected_conference(app: &App, a: &Analysis) -> Option<String> {
        app.selected_item(Tab::Conferences, a)
            .and_then(|c| a.conferences().list().get(c))
            .map(|c| c.id.clone())
    }

    #[test]
    fn live_rows_appear_between_syncs_and_the_selection_stays_put() {
        // Two conferences captured at once: av-mcu-rejected's (bob's A/V join fails late) and
        // focus-c3p-failure's (bob's focus join fails early).
        let first = sip_messages("av-mcu-rejected.pcapng");
        let second = sip_messages("focus-c3p-failure.pcapng");
        let mut a = Analysis::new(true).with_change_log();
        let opened = (1..first.len())
            .find(|&n| {
                let mut probe = Analysis::new(true);
                feed(&mut probe, &first[..n]);
                !probe.conferences().list().is_empty()
            })
            .expect("the first conference opens");
        feed(&mut a, &first[..opened]);
        let mut app = App::new("live: lo".into(), false);
        app.sync(&a, capturing());
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("Q9ZL4PJE"));

        // The second conference appears: listed after the first, the cursor stays.
        feed(&mut a, &second);
        app.sync(&a, capturing());
        assert_eq!(a.conferences().list().len(), 2);
        assert_eq!(app.list(Tab::Conferences).len(2), 2);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("Q9ZL4PJE"));
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 10)).expect("terminal");
        terminal
            .draw(|f| crate::views::render(f, &app, &a))
            .expect("draw");
        let screen = terminal.backend().to_string();
        assert!(screen.contains("HN6C3TGA"), "{screen}");
        // alice's join has no answer yet: the conference is not all-✓.
        assert!(screen.contains("▶… Q9ZL4PJE"), "{screen}");

        // Failed joins only: the second conference's join has failed, the first's not yet.
        app.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut app, &a, "failed");
        app.handle_key(key(KeyCode::Enter), &a);
        assert_eq!(app.list(Tab::Conferences).len(2), 1);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
        // The same in the dialog list: the 403 of the focus dialog.
        app.handle_key(key(KeyCode::Char('2')), &a);
        app.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut app, &a, "failed");
        app.handle_key(key(KeyCode::Enter), &a);
        let failed_dialog = app
            .selected_item(Tab::Dialogs, &a)
            .expect("a failed dialog");
        assert_eq!(a.dialogs()[failed_dialog].final_status, Some(403));
        app.handle_key(key(KeyCode::Char('1')), &a);

        // The rest of the first capture: its join fails (488) and its conference enters the
        // filtered list before the selected one; the cursor stays on HN6C3TGA.
        feed(&mut a, &first[opened..]);
        app.sync(&a, capturing());
        assert_eq!(app.list(Tab::Conferences).len(2), 2);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
        assert_eq!(app.list(Tab::Conferences).selected, 1);
        // The dialog list too: the 488s are listed, the cursor stays on the 403.
        assert!(app.list(Tab::Dialogs).len(a.dialogs().len()) >= 2);
        assert_eq!(app.selected_item(Tab::Dialogs, &a), Some(failed_dialog));

        // What was filtered bit by bit is what a filter over the finished analysis gives.
        let mut fresh = App::new("t".into(), false);
        fresh.sync(&a, done());
        fresh.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut fresh, &a, "failed");
        fresh.handle_key(key(KeyCode::Enter), &a);
        assert_eq!(
            fresh.list(Tab::Conferences).rows,
            app.list(Tab::Conferences).rows
        );
        // A state change is picked up without a look at every row when loading ends.
        app.sync(&a, done());
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
    }

    #[test]
    fn without_a_change_log_rows_are_filtered_again_at_the_end_keeping_the_cursor() {
        let first = sip_messages("av-mcu-rejected.pcapng");
        let second = sip_messages("focus-c3p-failure.pcapng");
        let mut a = Analysis::new(true);
        let half = first.len() / 4;
        feed(&mut a, &first[..half]);
        feed(&mut a, &second);
        let mut app = App::new("t".into(), false);
        app.sync(&a, capturing());
        app.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut app, &a, "failed");
        app.handle_key(key(KeyCode::Enter), &a);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
        feed(&mut a, &first[half..]);
        app.sync(&a, capturing());
        // Not looked at again while loading (no change log) …
        assert_eq!(app.list(Tab::Conferences).len(2), 1);
        // … but when loading ends; the cursor stays on its conference.
        app.sync(&a, done());
        assert_eq!(app.list(Tab::Conferences).len(2), 2);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
    }
}
