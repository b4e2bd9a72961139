//! The library's side of the command-line reports: `report::select` decides on the typed model
//! (a declined invitation is not `--failed`; users by AOR or user part; a conference by ID or
//! focus URI; dialogs of the selected joins and loose dialogs by their own rules), the
//! summary's typed tallies, and the HTML report's failing message for each kind of failure.

use lyncscope::analysis::{Analysis, Cause, JoinState, JoinStep, StartKind};
use lyncscope::report::html::failing_message;
use lyncscope::report::select::{participant_dialogs, Selection};
use lyncscope::report::summary::Summary;

fn sample(names: &[&str]) -> lyncscope::Analyzed {
    let paths: Vec<String> = names
        .iter()
        .map(|n| format!("{}/../../captures/{n}", env!("CARGO_MANIFEST_DIR")))
        .collect();
    lyncscope::analyze(&paths, &lyncscope::Options::with_messages()).expect("sample opens")
}

fn selected_uris(a: &Analysis, sel: &Selection) -> Vec<String> {
    a.conferences()
        .list()
        .iter()
        .flat_map(|c| {
            c.participants
                .iter()
                .filter(|p| sel.participant(c, p))
                .map(|p| p.uri.clone())
        })
        .collect()
}

#[test]
fn failed_means_the_failed_state_not_a_decline() {
    let run = sample(&["invitation-declined.pcapng"]);
    let a = run.analysis();
    let states: Vec<JoinState> = a
        .conferences()
        .list()
        .iter()
        .flat_map(|c| c.participants.iter().map(|p| c.diagnose(p).state))
        .collect();
    assert!(states.contains(&JoinState::Declined), "{states:?}");
    let failed = Selection {
        failed: true,
        ..Selection::default()
    };
    for c in a.conferences().list() {
        for p in &c.participants {
            assert_eq!(
                failed.participant(c, p),
                c.diagnose(p).state == JoinState::Failed,
                "{}",
                p.uri
            );
        }
    }
}

#[test]
fn users_and_conferences_match_by_their_documented_rules() {
    let run = sample(&["focus-c3p-failure.pcapng", "av-mcu-rejected.pcapng"]);
    let a = run.analysis();
    let by = |user: Option<&str>, conference: Option<&str>| Selection {
        failed: false,
        user: user.map(str::to_string),
        conference: conference.map(str::to_string),
    };
    // bob is in both conferences; by ID (any case) or by focus URI, one of them.
    assert_eq!(selected_uris(a, &by(Some("BOB"), None)).len(), 2);
    assert_eq!(
        selected_uris(a, &by(Some("sip:bob@example.com"), Some("q9zl4pje"))),
        ["sip:bob@example.com"]
    );
    let c = a
        .conferences()
        .list()
        .iter()
        .find(|c| c.id == "HN6C3TGA")
        .expect("the C3P conference");
    assert!(by(None, Some(&c.focus_uri)).conference(c));
    assert!(!by(None, Some("HN6C3TG")).conference(c), "no prefix match");
    assert!(selected_uris(a, &by(Some("bob@example.org"), None)).is_empty());
    // The dialogs of erin's join are exactly her steps' dialogs.
    let erin = c
        .participants
        .iter()
        .find(|p| p.uri == "sip:erin@example.com")
        .expect("erin");
    let set = by(Some("erin"), Some("HN6C3TGA")).dialogs(a);
    let mut want: Vec<u32> = participant_dialogs(erin).collect();
    want.sort_unstable();
    let got: Vec<u32> = (0..a.dialogs().len() as u32)
        .filter(|d| set.contains(*d))
        .collect();
    assert_eq!(got, want);
    // --conference alone: every dialog of the conference.
    let set = by(None, Some("HN6C3TGA")).dialogs(a);
    assert_eq!(set.len(), c.dialogs.len());
    assert!(c.dialogs.iter().all(|d| set.contains(*d)));
}

#[test]
fn dialogs_outside_conferences_follow_user_and_failure() {
    let run = sample(&["multi-conference.pcapng"]);
    let a = run.analysis();
    let loose: Vec<u32> = (0..a.dialogs().len() as u32)
        .filter(|d| a.conferences().conference_of(*d).is_none())
        .collect();
    assert!(!loose.is_empty(), "the sample has ordinary SIP");
    let failed = Selection {
        failed: true,
        ..Selection::default()
    }
    .dialogs(a);
    for &d in &loose {
        let status = a.dialogs()[d as usize].final_status;
        let failure = status.is_some_and(|s| s >= 300 && s != 401 && s != 407);
        assert_eq!(failed.contains(d), failure, "dialog {d}: {status:?}");
    }
    // With --conference, no loose dialog.
    let id = &a.conferences().list()[0].id;
    let set = Selection {
        conference: Some(id.clone()),
        ..Selection::default()
    }
    .dialogs(a);
    assert!(loose.iter().all(|d| !set.contains(*d)));
}

#[test]
fn the_summary_tallies_on_types() {
    let run = sample(&[
        "focus-c3p-failure.pcapng",
        "av-mcu-rejected.pcapng",
        "invitation-declined.pcapng",
    ]);
    let a = run.analysis();
    let s = Summary::new(a, &Selection::default());
    let joins: usize = a
        .conferences()
        .list()
        .iter()
        .map(|c| c.participants.len())
        .sum();
    assert_eq!(s.joins, joins);
    assert_eq!(s.outcomes.iter().map(|(_, n)| n).sum::<usize>(), joins);
    let focus = s
        .failed_steps
        .iter()
        .find(|(st, _, _)| *st == JoinStep::Focus)
        .expect("focus failures");
    assert_eq!(focus.1, 2);
    assert!(focus.2.contains(&(Cause::C3pRefused, 1)));
    assert!(focus.2.contains(&(Cause::Rejected, 1)));
    assert_eq!(
        s.failed_joins(),
        s.failed_steps.iter().map(|(_, n, _)| n).sum::<usize>()
    );
    let codes: Vec<u32> = s.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&3014) && codes.contains(&7008), "{codes:?}");
    // A selection narrows the tallies.
    let erin = Summary::new(
        a,
        &Selection {
            user: Some("erin".into()),
            ..Selection::default()
        },
    );
    assert_eq!((erin.conferences, erin.joins), (1, 1));
}

#[test]
fn the_failing_message_is_the_refusal_or_the_c3p_failure() {
    let run = sample(&["focus-c3p-failure.pcapng", "invitation-declined.pcapng"]);
    let a = run.analysis();
    let all: Vec<usize> = (0..a.messages().len()).collect();
    let mut seen = 0;
    for c in a.conferences().list() {
        for p in &c.participants {
            let d = c.diagnose(p);
            let found = failing_message(a, &d, &all);
            if !matches!(d.state, JoinState::Failed | JoinState::Declined) {
                assert_eq!(found, None, "{}", p.uri);
                continue;
            }
            let m = &a.messages()[found.expect("a failing message")];
            let e = d.evidence.expect("evidence");
            assert_eq!(m.dialog(), Some(e.dialog), "{}", p.uri);
            assert_eq!(m.start(), StartKind::Response(e.status.expect("a status")));
            seen += 1;
        }
    }
    // bob's C3P failure (a 200), erin's 403, the declined and the failed invitation.
    assert!(seen >= 4, "{seen}");
}
