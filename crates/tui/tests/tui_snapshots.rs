//! Snapshots of every TUI view, rendered with ratatui's `TestBackend` from the bundled sample
//! captures after a sequence of keys. `INSTA_UPDATE=always cargo test --test tui_snapshots`
//! rewrites them; CI runs with `CI=true`, where a difference fails.

use lyncscope::analysis::Limits;
use lyncscope::capture::{CaptureFiles, InterfaceStats, LiveStats};
use lyncscope::pipeline::Pipeline;
use lyncscope_tui::app::App;
use lyncscope_tui::live::{HepStatus, LiveStatus};
use lyncscope_tui::loader::LoadStatus;
use lyncscope_tui::views;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn load(name: &str) -> Pipeline {
    load_with(name, Limits::default())
}

fn load_with(name: &str, limits: Limits) -> Pipeline {
    let path = format!(
        "{}/captures/{name}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let mut files = CaptureFiles::open(&[path]).expect("sample capture opens");
    let mut p = Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        limits,
        ..lyncscope::Options::default()
    });
    lyncscope::pipeline::run(&mut files, &mut p);
    p
}

/// Keys as words: `Enter`, `Esc`, `Down`, `Up`, `Tab`, `BackTab`, `End`, `Home`, `PgDn`,
/// `Right`, `Left`; anything else is typed character by character (`"/bob"`).
fn keys(words: &[&str]) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    for w in words {
        let code = match *w {
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Down" => KeyCode::Down,
            "Up" => KeyCode::Up,
            "Tab" => KeyCode::Tab,
            "BackTab" => KeyCode::BackTab,
            "End" => KeyCode::End,
            "Home" => KeyCode::Home,
            "PgDn" => KeyCode::PageDown,
            "Right" => KeyCode::Right,
            "Left" => KeyCode::Left,
            text => {
                out.extend(
                    text.chars()
                        .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
                );
                continue;
            }
        };
        out.push(KeyEvent::new(code, KeyModifiers::NONE));
    }
    out
}

fn screen_with(capture: &str, size: (u16, u16), words: &[&str], status: LoadStatus) -> String {
    let p = load(capture);
    screen_of(&p, capture, size, words, status)
}

fn screen_of(
    p: &Pipeline,
    capture: &str,
    size: (u16, u16),
    words: &[&str],
    status: LoadStatus,
) -> String {
    let a = p.analysis();
    let mut status = status;
    if status.done {
        status.frames = p.stats().packets;
    }
    let mut app = App::new(format!("captures/{capture}"), false);
    app.size = size;
    app.sync(a, status.clone());
    for k in keys(words) {
        app.handle_key(k, a);
        app.sync(a, status.clone());
    }
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).expect("test terminal");
    terminal.draw(|f| views::render(f, &app, a)).expect("draw");
    terminal.backend().to_string()
}

fn loaded(capture: &str) -> LoadStatus {
    let path = format!(
        "{}/captures/{capture}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    LoadStatus {
        bytes_read: size,
        total_bytes: Some(size),
        frames: 0,
        done: true,
        warnings: Vec::new(),
    }
}

fn screen(capture: &str, size: (u16, u16), words: &[&str]) -> String {
    screen_with(capture, size, words, loaded(capture))
}

const SMALL: (u16, u16) = (80, 24);
const LARGE: (u16, u16) = (120, 35);

#[test]
fn conference_list() {
    insta::assert_snapshot!(screen("multi-conference.pcapng", SMALL, &[]));
    insta::assert_snapshot!(
        "conference_list_large",
        screen("multi-conference.pcapng", LARGE, &[])
    );
}

#[test]
fn conference_list_sorted() {
    // s: by conference ID; S: the other way round, marked in the header.
    insta::assert_snapshot!(screen("multi-conference.pcapng", LARGE, &["s", "S"]));
}

#[test]
fn conference_list_failed_only_and_loading() {
    insta::assert_snapshot!(screen(
        "focus-c3p-failure.pcapng",
        SMALL,
        &["f", "failed", "Enter"]
    ));
    let loading = LoadStatus {
        bytes_read: 20_000,
        total_bytes: Some(66_396),
        frames: 40,
        done: false,
        warnings: Vec::new(),
    };
    insta::assert_snapshot!(
        "loading",
        screen_with("av-mcu-rejected.pcapng", SMALL, &[], loading)
    );
}

#[test]
fn dialog_list() {
    insta::assert_snapshot!(screen("multi-conference.pcapng", SMALL, &["Tab"]));
    insta::assert_snapshot!(
        "dialog_list_kind_filter",
        screen(
            "multi-conference.pcapng",
            LARGE,
            &["2", "f", "kind:other", "Enter"]
        )
    );
}

/// A terminal as wide as a tiled desktop's.
const WIDE: (u16, u16) = (200, 30);

#[test]
fn wide_terminals_use_their_width() {
    // Whole Call-IDs, and where each dialog went.
    insta::assert_snapshot!(
        "dialog_list_wide",
        screen("av-mcu-rejected.pcapng", WIDE, &["2"])
    );
    // The user column as wide as the names; the failed step's Call-ID beside them.
    insta::assert_snapshot!(
        "grid_wide",
        screen("av-mcu-rejected.pcapng", WIDE, &["Enter"])
    );
}

#[test]
fn message_list() {
    insta::assert_snapshot!(screen(
        "av-mcu-rejected.pcapng",
        SMALL,
        &["3", "/Error parsing", "Enter"]
    ));
    insta::assert_snapshot!(
        "message_list_large",
        screen("join-udp-fragments.pcap", LARGE, &["3"])
    );
}

#[test]
fn conference_grid() {
    insta::assert_snapshot!(
        "grid_av_mcu_rejected",
        screen("av-mcu-rejected.pcapng", SMALL, &["Enter"])
    );
    insta::assert_snapshot!(
        "grid_focus_c3p_failure",
        screen("focus-c3p-failure.pcapng", LARGE, &["Enter"])
    );
    insta::assert_snapshot!(
        "grid_invitation_declined",
        screen("invitation-declined.pcapng", SMALL, &["Enter", "End"])
    );
    insta::assert_snapshot!(
        "grid_im_only",
        screen("im-only-conference.pcapng", LARGE, &["Enter"])
    );
    // Signalling joined, media did not: the panel says what the capture saw of the media.
    let media = screen("media-never-flowed.pcapng", LARGE, &["Enter"]);
    assert!(
        media.contains("media: ICE failed, checks 18 sent / 0 answered"),
        "{media}"
    );
    insta::assert_snapshot!("grid_media_never_flowed", media);
}

#[test]
fn issue_14_paths_in_the_grid_and_ladder() {
    // One row per device of bob, the phone's refusal highlighted; the escalated call named.
    let grid = screen("devices-sharing-escalation.pcapng", LARGE, &["Enter"]);
    assert!(grid.contains("escalated from the call"), "{grid}");
    insta::assert_snapshot!("grid_devices_sharing_escalation", grid);
    // The whole conference: a lane per device of bob, and the peer-to-peer call it began as.
    let ladder = screen("devices-sharing-escalation.pcapng", WIDE, &["Enter", "l"]);
    assert!(ladder.contains("P2P call"), "{ladder}");
    insta::assert_snapshot!("ladder_devices_sharing_escalation", ladder);
    // Guests in the lobby, admitted and refused; the Edge's refusal.
    insta::assert_snapshot!(
        "grid_lobby_and_guests",
        screen("lobby-and-guests.pcapng", LARGE, &["Enter"])
    );
    insta::assert_snapshot!(
        "grid_dial_in_and_rejoin",
        screen("dial-in-and-rejoin.pcapng", LARGE, &["Enter"])
    );
}

#[test]
fn join_ladder() {
    insta::assert_snapshot!(
        "ladder_participant_small",
        screen("av-mcu-rejected.pcapng", SMALL, &["Enter", "Enter", "End"])
    );
    insta::assert_snapshot!(
        "ladder_participant_large",
        screen("av-mcu-rejected.pcapng", LARGE, &["Enter", "Enter"])
    );
    insta::assert_snapshot!(
        "ladder_worked_example",
        screen("worked-example.pcapng", LARGE, &["Enter", "Enter"])
    );
    insta::assert_snapshot!(
        "ladder_conference",
        screen("conference-join.pcapng", LARGE, &["l"])
    );
    insta::assert_snapshot!(
        "ladder_udp_fragments",
        screen(
            "join-udp-fragments.pcap",
            LARGE,
            &["Enter", "Down", "Enter", "PgDn"]
        )
    );
}

/// A sample scenario cut down to one client's packets, as a capture taken on that client
/// holds them (client ↔ Front End only); the Front End's port optionally moved from 5060.
fn one_leg(scenario: &str, client: [u8; 4], fe_port: Option<u16>) -> Pipeline {
    let s = lyncscope_synth::scenarios()
        .into_iter()
        .find(|s| s.name == scenario)
        .expect("scenario");
    let g = (s.build)();
    let mut p = Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        ..lyncscope::Options::default()
    });
    let mut n = 0;
    for (t, _, data) in g.packets() {
        let mut data = data.to_vec();
        // Ethernet, IPv4: addresses at 26..34, ports right after the IP header.
        let at = |d: &[u8], i: usize| d.get(i..i + 4) == Some(&client[..]);
        if !(at(&data, 26) || at(&data, 30)) {
            continue;
        }
        if let Some(port) = fe_port {
            let ihl = data.get(14).map_or(20, |b| usize::from(b & 0x0f) * 4);
            for i in [14 + ihl, 16 + ihl] {
                if data.get(i..i + 2) == Some(&5060u16.to_be_bytes()[..]) {
                    data[i..i + 2].copy_from_slice(&port.to_be_bytes());
                }
            }
        }
        n += 1;
        p.push(&lyncscope::capture::Frame {
            number: n,
            timestamp: t,
            link_type: lyncscope::linktype::ETHERNET,
            data: &data,
            original_len: data.len() as u32,
            source: 0,
        });
    }
    p.finish();
    p
}

fn one_leg_screen(
    scenario: &str,
    client: [u8; 4],
    fe_port: Option<u16>,
    size: (u16, u16),
    words: &[&str],
) -> String {
    let p = one_leg(scenario, client, fe_port);
    let status = LoadStatus {
        frames: p.stats().packets,
        done: true,
        ..Default::default()
    };
    screen_of(&p, &format!("{scenario} (one leg)"), size, words, status)
}

#[test]
fn one_leg_ladders() {
    // Captured on erin's client: the invitation arrives from the Front End, the focus answers
    // 403 with ms-diagnostics 3014. No inviter on the Front End's address, the 403 from focus.
    insta::assert_snapshot!(
        "one_leg_focus_403",
        one_leg_screen(
            "focus-c3p-failure",
            [192, 0, 2, 25],
            None,
            LARGE,
            &["Enter", "/erin", "Enter", "Enter"]
        )
    );
    // Captured on bob's client, the Front End on TCP 5070: bob declines.
    insta::assert_snapshot!(
        "one_leg_declined_tcp_5070",
        one_leg_screen(
            "invitation-declined",
            [192, 0, 2, 22],
            Some(5070),
            LARGE,
            &["Enter", "/bob", "Enter", "Enter"]
        )
    );
    // Captured on bob's client, SIP over UDP.
    insta::assert_snapshot!(
        "one_leg_udp_join",
        one_leg_screen(
            "join-udp-fragments",
            [192, 0, 2, 22],
            None,
            LARGE,
            &["Enter", "/bob", "Enter", "Enter"]
        )
    );
}

#[test]
fn ladder_split_view_and_sideways_scroll() {
    // 160 columns open the split view: bob's 488 beside the ladder, found with /.
    insta::assert_snapshot!(
        "ladder_split_view",
        screen(
            "av-mcu-rejected.pcapng",
            (160, 40),
            &["Enter", "Enter", "/7008", "Enter"]
        )
    );
    // At 80 columns six lanes do not fit: → shows the ones on the right.
    insta::assert_snapshot!(
        "ladder_conference_scrolled",
        screen("conference-join.pcapng", SMALL, &["l", "Right", "Right"])
    );
}

#[test]
fn plain_dialog_ladder() {
    // walter calls xavier: an ordinary call, one lane per host.
    insta::assert_snapshot!(screen(
        "multi-conference.pcapng",
        LARGE,
        &["2", "/xavier", "Enter", "Enter"]
    ));
}

#[test]
fn message_detail() {
    // bob's focus 200 OK with the C3P failure.
    insta::assert_snapshot!(
        "detail_c3p_failure",
        screen(
            "focus-c3p-failure.pcapng",
            LARGE,
            &[
                "3",
                "/otherFailure",
                "Enter",
                "Enter",
                "/C3P response",
                "Enter"
            ]
        )
    );
    // The 488 with ms-diagnostics, explained.
    insta::assert_snapshot!(
        "detail_ms_diagnostics",
        screen(
            "av-mcu-rejected.pcapng",
            SMALL,
            &["3", "/7008", "Enter", "Enter", "/ms-diagnostics", "Enter"]
        )
    );
    insta::assert_snapshot!(
        "detail_sdp",
        screen(
            "av-mcu-rejected.pcapng",
            LARGE,
            &[
                "3",
                "/m=audio",
                "Enter",
                "Enter",
                "/Session Description",
                "Enter"
            ]
        )
    );
    insta::assert_snapshot!(
        "detail_roster",
        screen(
            "worked-example.pcapng",
            LARGE,
            &["3", "End", "Enter", "/Roster", "Enter"]
        )
    );
    insta::assert_snapshot!(
        "detail_invitation",
        screen(
            "worked-example.pcapng",
            SMALL,
            &["3", "Enter", "/Conference invitation", "Enter"]
        )
    );
}

#[test]
fn raw_and_hex() {
    insta::assert_snapshot!(
        "raw",
        screen("worked-example.pcapng", SMALL, &["3", "Enter", "Tab"])
    );
    insta::assert_snapshot!(
        "hex",
        screen("worked-example.pcapng", SMALL, &["3", "Enter", "x"])
    );
}

#[test]
fn help_and_prompts() {
    insta::assert_snapshot!("help", screen("conference-join.pcapng", SMALL, &["?"]));
    insta::assert_snapshot!(
        "write_prompt",
        screen("conference-join.pcapng", SMALL, &["Enter", "w"])
    );
    // Every status message in full: a search that found nothing, a filter word refused.
    insta::assert_snapshot!(
        "message_log",
        screen(
            "conference-join.pcapng",
            SMALL,
            &["/nowhere-to-be-found", "Enter", "f", "diag:x", "Enter", "!"]
        )
    );
    // A long filter at 80 columns: the typed words stay in view.
    insta::assert_snapshot!(
        "filter_prompt_small",
        screen(
            "conference-join.pcapng",
            SMALL,
            &["f", "failed kind:media step:focus user:alice"]
        )
    );
    insta::assert_snapshot!(
        "search_prompt",
        screen("conference-join.pcapng", SMALL, &["/carol"])
    );
}

/// A live capture's screen: the capture's state set as the UI loop sets it, from libpcap's
/// counters (`dropped` kernel, `if_dropped` interface, per interface) and the source's state;
/// the SIP messages went from 0 to all of the capture's in two seconds.
struct Live<'a> {
    interfaces: &'a [&'a str],
    drops: &'a [(u64, u64)],
    stopped: Option<&'a str>,
    limits: Limits,
    /// A HEP collector's counters, when one runs.
    hep: Option<HepStatus>,
}

fn live_screen(
    capture: &str,
    size: (u16, u16),
    words: &[&str],
    live: Live<'_>,
) -> (String, String) {
    let p = load_with(capture, live.limits);
    let a = p.analysis();
    let names: Vec<String> = live.interfaces.iter().map(|s| s.to_string()).collect();
    let mut state = LiveStatus::new(&names);
    state.set_hep(live.hep.clone());
    let stats = LiveStats {
        interfaces: live
            .drops
            .iter()
            .map(|&(dropped, if_dropped)| InterfaceStats {
                dropped,
                if_dropped,
                ..Default::default()
            })
            .collect(),
        filter: None,
    };
    let reason = live.stopped.map(str::to_string);
    let ended = live.stopped.is_some();
    let sip = a.stats().sip_messages;
    state.update(std::time::Duration::from_secs(1), 0, &stats, None, false);
    state.update(
        std::time::Duration::from_secs(3),
        sip,
        &stats,
        reason,
        ended,
    );
    let status = LoadStatus {
        frames: p.stats().packets,
        done: ended,
        ..Default::default()
    };
    let mut app = App::new(format!("live: {}", names.join(", ")), false);
    app.live = Some(state);
    app.size = size;
    app.sync(a, status.clone());
    for k in keys(words) {
        app.handle_key(k, a);
        app.sync(a, status.clone());
    }
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).expect("test terminal");
    terminal.draw(|f| views::render(f, &app, a)).expect("draw");
    let buffer = terminal.backend().buffer();
    (
        terminal.backend().to_string(),
        styled_line(buffer, size.1 - 1),
    )
}

/// One line of the screen as runs of one style: `[Red BOLD] ⚠ 3 dropped`; unstyled runs as
/// they are. Shows what is highlighted, which the plain snapshots do not.
fn styled_line(buffer: &ratatui::buffer::Buffer, y: u16) -> String {
    let mut runs: Vec<(String, String)> = Vec::new();
    for x in 0..buffer.area.width {
        let Some(cell) = buffer.cell((x, y)) else {
            continue;
        };
        let style = if cell.fg == ratatui::style::Color::Reset && cell.modifier.is_empty() {
            String::new()
        } else {
            format!("[{:?} {:?}]", cell.fg, cell.modifier)
        };
        match runs.last_mut() {
            Some((s, text)) if *s == style => text.push_str(cell.symbol()),
            _ => runs.push((style, cell.symbol().to_string())),
        }
    }
    runs.iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(style, text)| format!("{style} {}", text.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn live_status_line_capturing() {
    let (screen, line) = live_screen(
        "av-mcu-rejected.pcapng",
        SMALL,
        &[],
        Live {
            interfaces: &["eth0"],
            drops: &[(0, 0)],
            stopped: None,
            limits: Limits::default(),
            hep: None,
        },
    );
    insta::assert_snapshot!("live_capturing", screen);
    insta::assert_snapshot!("live_capturing_styles", line);
}

#[test]
fn live_status_line_with_drops_highlighted() {
    let (screen, line) = live_screen(
        "multi-conference.pcapng",
        LARGE,
        &[],
        Live {
            interfaces: &["eth0", "eth1"],
            drops: &[(17, 0), (0, 3)],
            stopped: None,
            limits: Limits::default(),
            hep: None,
        },
    );
    insta::assert_snapshot!("live_drops", screen);
    insta::assert_snapshot!("live_drops_styles", line);
}

#[test]
fn live_status_line_stopped() {
    let (screen, line) = live_screen(
        "conference-join.pcapng",
        SMALL,
        &["Enter"],
        Live {
            interfaces: &["lo"],
            drops: &[(0, 0)],
            stopped: Some("-c 117 reached"),
            limits: Limits::default(),
            hep: None,
        },
    );
    insta::assert_snapshot!("live_stopped", screen);
    insta::assert_snapshot!("live_stopped_styles", line);
}

#[test]
fn live_status_line_when_the_bounds_were_reached() {
    // A capture larger than the bounds: the messages beyond the list and the dialogs beyond
    // the table are counted, and the status line says so.
    let (screen, line) = live_screen(
        "multi-conference.pcapng",
        LARGE,
        &["3"],
        Live {
            interfaces: &["any"],
            drops: &[(0, 0)],
            stopped: None,
            limits: Limits {
                messages: 40,
                dialogs: 10,
                conferences: 2,
                ..Limits::default()
            },
            hep: None,
        },
    );
    insta::assert_snapshot!("live_capped", screen);
    insta::assert_snapshot!("live_capped_styles", line);
}

#[test]
fn hep_collector_status_line() {
    // A collector alone: its listeners, packets, agents, malformed packets, auth failures,
    // and nothing dropped.
    let (screen, line) = live_screen(
        "av-mcu-rejected.pcapng",
        LARGE,
        &[],
        Live {
            interfaces: &[],
            drops: &[],
            stopped: None,
            limits: Limits::default(),
            hep: Some(HepStatus {
                listeners: "udp:10.0.0.5:9060".into(),
                agents: 2,
                packets: 64,
                decode_errors: 0,
                auth_failures: 0,
                dropped: 0,
                kernel_drops: 0,
            }),
        },
    );
    insta::assert_snapshot!("hep_collecting", screen);
    insta::assert_snapshot!("hep_collecting_styles", line);
}

#[test]
fn hep_collector_with_a_capture_and_drops_highlighted() {
    // With -i: both named; the HEP socket's kernel drops join libpcap's in the dropped count,
    // malformed packets and auth failures are highlighted.
    let (screen, line) = live_screen(
        "multi-conference.pcapng",
        LARGE,
        &[],
        Live {
            interfaces: &["eth0"],
            drops: &[(4, 0)],
            stopped: None,
            limits: Limits::default(),
            hep: Some(HepStatus {
                listeners: "udp:10.0.0.5:9060, tcp:10.0.0.5:9061".into(),
                agents: 3,
                packets: 1500,
                decode_errors: 2,
                auth_failures: 5,
                dropped: 0,
                kernel_drops: 7,
            }),
        },
    );
    insta::assert_snapshot!("hep_with_capture_drops", screen);
    insta::assert_snapshot!("hep_with_capture_drops_styles", line);
}
