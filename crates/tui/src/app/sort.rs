//! `s` on the conference list: sort by any column (`s` moves to the next column, `S` turns
//! the order round); the header marks the column. The sorted order is built again only when
//! the rows or the analysis changed, keeping the cursor on its conference.

use super::lists::{Sort, SortColumn, Tab};
use super::App;
use crate::model;
use lyncscope::analysis::{Analysis, Conference, JoinStep};

/// A conference's value in a column: numbers sort as numbers, text ignoring ASCII case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Num(i64),
    Text(String),
}

fn key(c: &Conference, column: SortColumn) -> Key {
    let (joined, failed) = model::join_counts(c);
    let failure = || model::first_failure(c);
    match column {
        SortColumn::Conference => Key::Text(c.id.to_ascii_lowercase()),
        SortColumn::Organizer => Key::Text(c.organizer.to_ascii_lowercase()),
        SortColumn::Subject => Key::Text(c.subject.as_deref().unwrap_or("").to_ascii_lowercase()),
        SortColumn::People => Key::Num(c.participants.len() as i64),
        SortColumn::Joined => Key::Num(joined as i64),
        SortColumn::Failed => Key::Num(failed as i64),
        // In join order: no failure, then invitation, focus, media.
        SortColumn::Step => Key::Num(match failure().and_then(|(s, _)| s) {
            None => 0,
            Some(JoinStep::Invitation) => 1,
            Some(JoinStep::Focus) => 2,
            Some(JoinStep::Media) => 3,
        }),
        SortColumn::Diag => Key::Num(failure().and_then(|(_, d)| d).map_or(-1, i64::from)),
        SortColumn::FirstSeen => Key::Num(c.first_seen.0),
        SortColumn::Duration => Key::Num(c.last_seen.millis_since(c.first_seen)),
    }
}

impl App {
    /// `s`: the next column (after the last, capture order again); `S`: the other way round.
    pub(super) fn cycle_sort(&mut self, a: &Analysis, reverse: bool) {
        let list = self.list_mut(Tab::Conferences);
        list.sort = if reverse {
            Some(match list.sort {
                Some(s) => Sort {
                    descending: !s.descending,
                    ..s
                },
                None => Sort {
                    column: SortColumn::FirstSeen,
                    descending: true,
                },
            })
        } else {
            let next = match list.sort {
                None => SortColumn::ALL.first().copied(),
                Some(s) => SortColumn::ALL
                    .iter()
                    .position(|c| *c == s.column)
                    .and_then(|i| SortColumn::ALL.get(i + 1).copied()),
            };
            next.map(|column| Sort {
                column,
                descending: false,
            })
        };
        if list.sort.is_none() {
            // Back to capture order, the cursor on its conference.
            let anchor = list
                .order
                .take()
                .and_then(|o| o.get(list.selected).copied());
            if let Some(item) = anchor {
                let total = a.conferences().list().len();
                let len = list.unsorted_len(total);
                list.selected = (0..len)
                    .find(|&i| list.unsorted_item(i, total) == Some(item as usize))
                    .unwrap_or(0);
            }
        }
        list.order_of = (usize::MAX, 0);
        self.sort_conferences(a);
        self.clamp(a);
    }

    /// Builds the conference list's order again when its rows or the analysis changed.
    pub(super) fn sort_conferences(&mut self, a: &Analysis) {
        let confs = a.conferences().list();
        let total = confs.len();
        let list = self.list_mut(Tab::Conferences);
        let Some(sort) = list.sort else {
            list.order = None;
            return;
        };
        let len = list.unsorted_len(total);
        let stamp = (len, a.messages().len() as u64 ^ (total as u64) << 40);
        if list.order.is_some() && list.order_of == stamp {
            return;
        }
        let anchor = list.item(list.selected, total);
        let mut rows: Vec<(Key, u32)> = (0..len)
            .filter_map(|i| {
                let item = list.unsorted_item(i, total)?;
                let c = confs.get(item)?;
                Some((key(c, sort.column), u32::try_from(item).ok()?))
            })
            .collect();
        // Stable: equal keys stay in capture order (either way round).
        rows.sort_by(|x, y| {
            let o = x.0.cmp(&y.0);
            if sort.descending {
                o.reverse()
            } else {
                o
            }
        });
        let order: Vec<u32> = rows.into_iter().map(|(_, i)| i).collect();
        if let Some(item) = anchor {
            if let Some(at) = order.iter().position(|&i| i as usize == item) {
                list.selected = at;
            }
        }
        list.order = Some(order);
        list.order_of = stamp;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key as press, load};
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn s_cycles_the_columns_and_keeps_the_cursor() {
        let p = load("multi-conference.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        let total = a.conferences().list().len();
        let ids = |app: &App| -> Vec<String> {
            let l = app.list(Tab::Conferences);
            (0..l.len(total))
                .filter_map(|i| l.item(i, total))
                .map(|i| a.conferences().list()[i].id.clone())
                .collect()
        };
        let capture_order = ids(&app);
        // By conference ID.
        app.handle_key(press(KeyCode::Char('s')), a);
        let mut sorted = capture_order.clone();
        sorted.sort_by_key(|s| s.to_ascii_lowercase());
        assert_eq!(ids(&app), sorted);
        // The other way round, the cursor on the same conference.
        app.handle_key(press(KeyCode::End), a);
        let on = app.selected_item(Tab::Conferences, a);
        app.handle_key(press(KeyCode::Char('S')), a);
        sorted.reverse();
        assert_eq!(ids(&app), sorted);
        assert_eq!(app.selected_item(Tab::Conferences, a), on);
        assert_eq!(app.list(Tab::Conferences).selected, 0);
        // Past the last column: capture order again.
        for _ in 0..SortColumn::ALL.len() {
            app.handle_key(press(KeyCode::Char('s')), a);
        }
        assert_eq!(app.list(Tab::Conferences).sort, None);
        assert_eq!(ids(&app), capture_order);
        assert_eq!(app.selected_item(Tab::Conferences, a), on);
    }
}
