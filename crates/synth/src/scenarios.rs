//! The sample captures: each a short script over [`Lab`] and its description and expected
//! outcome per participant.

use super::body::Ice;
use super::lab::{Attach, Lab, Outside, Shape, UserId};
use super::lync::{Answer, AvOutcome, Conference, FocusOutcome, Modality};
use super::media::MediaPlan;
use super::pstn::Pickup;
use super::wire::{ms, Dir, Nanos, Transport};
use super::{worked_example, Container, Generated, Participant, Scenario, State, Step};
use lyncscope_base::writer::TsResolution;

/// All sample captures, in the order of `captures/README.md`.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        CONFERENCE_JOIN,
        JOIN_UDP_FRAGMENTS,
        INVITATION_DECLINED,
        AV_MCU_REJECTED,
        FOCUS_C3P_FAILURE,
        MULTI_CONFERENCE,
        IM_ONLY_CONFERENCE,
        WORKED_EXAMPLE,
        MEDIA_NEVER_FLOWED,
        LOBBY_AND_GUESTS,
        DEVICES_SHARING_ESCALATION,
        DIAL_IN_AND_REJOIN,
    ]
}

/// 2026-01-12 `hour`:`minute` UTC.
const fn at(hour: i64, minute: i64) -> Nanos {
    (1_768_176_000 + hour * 3600 + minute * 60) * 1_000_000_000
}

const ETH0: &[(&str, TsResolution)] = &[("eth0", TsResolution::Micro)];

/// Base for the participant tables: fields not given are "nothing to report".
const P: Participant = Participant {
    conference: "",
    uri: "",
    device: None,
    invited_by: None,
    state: State::Joined,
    failed_step: None,
    status: None,
    diagnostics: None,
    c3p: None,
    steps: "",
};

const ALICE: &str = "sip:alice@example.com";
const BOB: &str = "sip:bob@example.com";
const CAROL: &str = "sip:carol@example.com";
const DAVE: &str = "sip:dave@example.com";
const ERIN: &str = "sip:erin@example.com";

const FULL_JOIN: &str = "focus 200 (C3P success), roster subscribed, A/V MCU 200 + ACK, roster \
    shows audio-video connected";

/// Alice's own join of her meeting by link, the opening of most scenarios.
fn organizer_joins(lab: &mut Lab, conf: &mut Conference, t: Nanos, user: UserId) -> Nanos {
    let t = lab.join_focus(conf, t, user, FocusOutcome::Success);
    let t = lab.subscribe(conf, t + ms(3), user);
    let outcome = AvOutcome::Accept { reinvite: false };
    lab.join_av(conf, t + ms(140), user, Ice::Rfc5245, outcome)
}

/// An invitee's join after accepting: focus, roster, then A/V with `ice` and `outcome`.
fn invitee_joins(
    lab: &mut Lab,
    conf: &mut Conference,
    t: Nanos,
    user: UserId,
    ice: Ice,
    outcome: AvOutcome,
) -> Nanos {
    let t = lab.join_focus(conf, t, user, FocusOutcome::Success);
    let t = lab.subscribe(conf, t + ms(1), user);
    lab.join_av(conf, t + ms(90), user, ice, outcome)
}

fn tcp_lab(seed: u64) -> Lab {
    Lab::new(seed, Transport::Tcp, 5060)
}

// ---- a. conference-join -----------------------------------------------------------------

const CONFERENCE_JOIN: Scenario = Scenario {
    name: "conference-join",
    file_name: "conference-join.pcapng",
    title: "A successful conference join over TCP: organizer, two invitees, everyone joins audio",
    description: "\
Conference `MT4HQZ8C` organized by alice (192.0.2.21), plain TCP to fe01:5060. bob \
(192.0.2.22) and carol (192.0.2.23) connect and idle (CRLF keep-alives).

1. alice joins her own meeting by link (no invitation): focus INVITE with C3P `addUser` → 200 \
with C3P success (granted role presenter), ACK; SUBSCRIBE `Event: conference` → 200 with the \
full roster piggy-backed (version 1); A/V MCU INVITE with SDP → 200 with SDP answer (RTP/SAVP, \
cryptoscale), ACK; a partial roster BENOTIFY shows her audio-video endpoint \
connected.
2. alice invites bob (INVITE `application/ms-conf-invite+xml`, relayed by the FE: 100, 180, \
after 2.5–7 s of think time 200); alice ACKs and BYEs the invitation dialog right away.
3. bob joins the focus (C3P success, attendee) — his ACK and his SUBSCRIBE travel in one TCP \
segment — subscribes (full roster v1), joins the A/V MCU (200, ACK) and sends the post-ICE \
re-INVITE (200, ACK) in the same dialog, which is not a new join. Roster partials \
(BENOTIFY, versions counting up per subscription) show bob's focus endpoint to alice, then \
his audio-video endpoint `connected` to alice and bob.
4. alice invites carol the same way; carol's focus INVITE is split over three TCP segments; \
she joins focus, roster and A/V like bob (no re-INVITE).

Larger messages (full rosters, SDP INVITEs) span two TCP segments at the 1460-byte MSS. \
Nobody leaves: at the end all three are in the conference with audio.",
    participants: &[
        Participant {
            conference: "MT4HQZ8C",
            uri: ALICE,
            steps: "no invitation (meeting link); focus 200 (C3P success, presenter), roster, \
                A/V 200",
            ..P
        },
        Participant {
            conference: "MT4HQZ8C",
            uri: BOB,
            invited_by: Some(ALICE),
            steps: "invitation 180 → 200, ACK, BYE by alice; focus 200 (C3P success), roster, \
                A/V 200 + post-ICE re-INVITE 200",
            ..P
        },
        Participant {
            conference: "MT4HQZ8C",
            uri: CAROL,
            invited_by: Some(ALICE),
            steps: "invitation 180 → 200; focus INVITE over 3 segments, 200 (C3P success), \
                roster, A/V 200",
            ..P
        },
    ],
    build: conference_join,
};

fn conference_join() -> Generated {
    let mut lab = tcp_lab(0xa);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let carol = lab.user("carol", "Carol", "192.0.2.23");
    let t0 = at(9, 0);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(430), bob);
    lab.connect(t0 + ms(910), carol);
    let mut conf = Conference::new(&lab, alice, "MT4HQZ8C", "Project kickoff", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(1_200), alice);
    lab.keep_alive(t + ms(800), bob);
    lab.keep_alive(t + ms(1_900), carol);
    let t = lab.invite(&mut conf, t + ms(4_000), alice, bob, Answer::Accept);
    lab.shape(bob, Dir::Up, "ACK ", Shape::WithNext);
    let t = lab.join_focus(&mut conf, t + ms(650), bob, FocusOutcome::Success);
    let t = lab.subscribe(&mut conf, t, bob);
    let t = lab.join_av(
        &mut conf,
        t + ms(90),
        bob,
        Ice::Rfc5245,
        AvOutcome::Accept { reinvite: true },
    );
    let t = lab.invite(&mut conf, t + ms(6_000), alice, carol, Answer::Accept);
    lab.shape(
        carol,
        Dir::Up,
        "INVITE sip:alice@example.com;gruu;opaque=app:conf:focus",
        Shape::Split(vec![310, 1_020]),
    );
    let outcome = AvOutcome::Accept { reinvite: false };
    invitee_joins(
        &mut lab,
        &mut conf,
        t + ms(700),
        carol,
        Ice::Rfc5245,
        outcome,
    );
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: successful conference join over TCP (alice, bob, carol)";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- b. join-udp-fragments ----------------------------------------------------------------

const JOIN_UDP_FRAGMENTS: Scenario = Scenario {
    name: "join-udp-fragments",
    file_name: "join-udp-fragments.pcap",
    title: "A successful join over UDP whose large messages are IPv4-fragmented, some out of order",
    description: "\
Classic pcap (microseconds). Conference `B43LT1K9` organized by alice (192.0.2.21), bob \
(192.0.2.22), SIP over UDP to fe01:5060. Every INVITE gets a 100 Trying from the FE. The focus \
does not \
piggy-back the roster over UDP: the 200 to SUBSCRIBE has no body and the full roster \
(version 1) comes in a NOTIFY; later updates are NOTIFYs too, each answered 200 by the client.

alice joins by link (focus, roster, A/V); alice invites bob (180, 200, ACK, BYE); bob joins \
the focus, subscribes and joins the A/V MCU. Every datagram longer than the 1500-byte MTU \
is sent as IPv4 fragments (1480-byte fragment payloads, offsets in 8-byte units): the A/V \
MCU INVITEs (SDP offers) and the NOTIFYs with the full roster, two fragments each. The \
fragments of bob's A/V MCU INVITE are sent last one first.",
    participants: &[
        Participant {
            conference: "B43LT1K9",
            uri: ALICE,
            steps: "no invitation; focus 200 (C3P success), roster (NOTIFY), A/V 200",
            ..P
        },
        Participant {
            conference: "B43LT1K9",
            uri: BOB,
            invited_by: Some(ALICE),
            steps: "invitation 180 → 200; focus 200 (C3P success), roster, A/V INVITE in reversed \
                fragments → 200",
            ..P
        },
    ],
    build: join_udp_fragments,
};

fn join_udp_fragments() -> Generated {
    let mut lab = Lab::new(0xb, Transport::Udp, 5060);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let t0 = at(9, 30);
    let mut conf =
        Conference::new(&lab, alice, "B43LT1K9", "Budget review", Modality::Audio).with_notify();
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(300), alice);
    let t = lab.invite(&mut conf, t + ms(3_500), alice, bob, Answer::Accept);
    lab.shape(
        bob,
        Dir::Up,
        "INVITE sip:alice@example.com;gruu;opaque=app:conf:audio-video",
        Shape::ReverseFragments,
    );
    let outcome = AvOutcome::Accept { reinvite: false };
    invitee_joins(&mut lab, &mut conf, t + ms(600), bob, Ice::Rfc5245, outcome);
    let (packets, written) = lab.render();
    Generated::package(Container::Pcap, packets, written)
}

// ---- c. invitation-declined ---------------------------------------------------------------

const INVITATION_DECLINED: Scenario = Scenario {
    name: "invitation-declined",
    file_name: "invitation-declined.pcapng",
    title: "Invitations that fail: one declined (603), one never answered (480)",
    description: "\
Conference `RX8D2VWN` organized by alice (192.0.2.21), TCP. alice joins by link (focus, \
roster, A/V). She invites bob (192.0.2.22): 100, 180 Ringing, and after a few seconds bob \
declines with `603 Decline` (the FE ACKs bob's leg, alice ACKs hers). She then invites dave \
(192.0.2.24): the FE forwards the INVITE, dave's client neither rings nor answers for twenty \
seconds and then answers `480 Temporarily Unavailable`. Neither bob nor dave ever contacts \
the focus.",
    participants: &[
        Participant {
            conference: "RX8D2VWN",
            uri: ALICE,
            steps: FULL_JOIN,
            ..P
        },
        Participant {
            conference: "RX8D2VWN",
            uri: BOB,
            invited_by: Some(ALICE),
            state: State::Declined,
            status: Some(603),
            steps: "invitation 180 → 603 Decline; no focus join",
            ..P
        },
        Participant {
            conference: "RX8D2VWN",
            uri: DAVE,
            invited_by: Some(ALICE),
            state: State::Failed,
            failed_step: Some(Step::Invitation),
            status: Some(480),
            steps: "invitation: no 180, 480 Temporarily Unavailable after 20 s; no focus join",
            ..P
        },
    ],
    build: invitation_declined,
};

fn invitation_declined() -> Generated {
    let mut lab = tcp_lab(0xc);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let dave = lab.user("dave", "Dave", "192.0.2.24");
    let t0 = at(10, 0);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(250), bob);
    lab.connect(t0 + ms(700), dave);
    let mut conf = Conference::new(&lab, alice, "RX8D2VWN", "Design review", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(1_000), alice);
    let t = lab.invite(&mut conf, t + ms(3_000), alice, bob, Answer::Decline);
    lab.invite(&mut conf, t + ms(2_500), alice, dave, Answer::Unanswered);
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: declined (603) and unanswered (480) conference invitations";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- d. av-mcu-rejected -------------------------------------------------------------------

const AV_MCU_REJECTED: Scenario = Scenario {
    name: "av-mcu-rejected",
    file_name: "av-mcu-rejected.pcapng",
    title: "The A/V MCU rejects the SDP with 488 and ms-diagnostics 7008; one gives up, one \
        retries",
    description: "\
Conference `Q9ZL4PJE` organized by alice (192.0.2.21), TCP. alice joins by link (focus, \
roster, A/V).

- bob (192.0.2.22) is invited and accepts, joins the focus (C3P success) and the roster, but \
his A/V MCU INVITE (ICE RFC 5245 SDP) is answered `488 Not Acceptable Here` with \
`ms-diagnostics: 7008;reason=\"Error parsing SDP\";source=\"fe01.example.com\"`; he ACKs and \
does not retry. He stays in the focus without audio: failed at the media step.
- carol (192.0.2.23) is invited and accepts, joins focus and roster; her first A/V INVITE \
(ICE draft 6 candidates) gets the same 488 + 7008; 0.8 s later she retries with a new INVITE \
(new Call-ID, ICE RFC 5245) which is answered 200 with SDP; ACK; the roster shows her \
audio-video endpoint connected. She joined; the failed first attempt stays visible as its \
own dialog.",
    participants: &[
        Participant {
            conference: "Q9ZL4PJE",
            uri: ALICE,
            steps: FULL_JOIN,
            ..P
        },
        Participant {
            conference: "Q9ZL4PJE",
            uri: BOB,
            invited_by: Some(ALICE),
            state: State::Failed,
            failed_step: Some(Step::Media),
            status: Some(488),
            diagnostics: Some(7008),
            steps: "invitation 200; focus 200 (C3P success), roster; A/V MCU 488 + ms-diagnostics \
                7008, no retry",
            ..P
        },
        Participant {
            conference: "Q9ZL4PJE",
            uri: CAROL,
            invited_by: Some(ALICE),
            steps: "invitation 200; focus 200, roster; A/V attempt 1 (ICE draft 6) 488 + 7008; \
                attempt 2 (new Call-ID, ICE RFC 5245) 200 + ACK",
            ..P
        },
    ],
    build: av_mcu_rejected,
};

fn av_mcu_rejected() -> Generated {
    let mut lab = tcp_lab(0xd);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let carol = lab.user("carol", "Carol", "192.0.2.23");
    let t0 = at(10, 30);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(350), bob);
    lab.connect(t0 + ms(520), carol);
    let mut conf = Conference::new(&lab, alice, "Q9ZL4PJE", "Release planning", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(900), alice);
    let t = lab.invite(&mut conf, t + ms(3_000), alice, bob, Answer::Accept);
    let t = invitee_joins(
        &mut lab,
        &mut conf,
        t + ms(600),
        bob,
        Ice::Rfc5245,
        AvOutcome::Reject,
    );
    let t = lab.invite(&mut conf, t + ms(4_000), alice, carol, Answer::Accept);
    let t = invitee_joins(
        &mut lab,
        &mut conf,
        t + ms(600),
        carol,
        Ice::Draft6,
        AvOutcome::Reject,
    );
    let outcome = AvOutcome::Accept { reinvite: false };
    lab.join_av(&mut conf, t + ms(800), carol, Ice::Rfc5245, outcome);
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: A/V MCU join rejected with 488 and ms-diagnostics 7008";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- e. focus-c3p-failure -----------------------------------------------------------------

const FOCUS_C3P_FAILURE: Scenario = Scenario {
    name: "focus-c3p-failure",
    file_name: "focus-c3p-failure.pcapng",
    title: "The focus refuses joins: a C3P failure inside 200 OK, and 403 with ms-diagnostics 3014",
    description: "\
Conference `HN6C3TGA` organized by alice (192.0.2.21), TCP. alice joins by link (focus, \
roster, A/V).

- bob (192.0.2.22) is invited and accepts; his focus INVITE is answered `200 OK` whose C3P \
body says `code=\"failure\"` with `<addUser reason=\"otherFailure\">` (docs/protocol.md N3): a SIP \
success but a failed join. bob ACKs and then BYEs the focus dialog; he never subscribes nor \
joins the A/V MCU.
- erin (192.0.2.25) is invited and accepts; her focus INVITE is answered `403 Forbidden` with \
`ms-diagnostics: 3014;reason=\"Failed authorization.\";source=\"fe01.example.com\"` \
(docs/protocol.md N1); she ACKs and goes no further.",
    participants: &[
        Participant {
            conference: "HN6C3TGA",
            uri: ALICE,
            steps: FULL_JOIN,
            ..P
        },
        Participant {
            conference: "HN6C3TGA",
            uri: BOB,
            invited_by: Some(ALICE),
            state: State::Failed,
            failed_step: Some(Step::Focus),
            status: Some(200),
            c3p: Some("failure/otherFailure"),
            steps: "invitation 200; focus 200 with C3P code=failure reason=otherFailure, ACK, BYE",
            ..P
        },
        Participant {
            conference: "HN6C3TGA",
            uri: ERIN,
            invited_by: Some(ALICE),
            state: State::Failed,
            failed_step: Some(Step::Focus),
            status: Some(403),
            diagnostics: Some(3014),
            steps: "invitation 200; focus 403 Forbidden + ms-diagnostics 3014, ACK",
            ..P
        },
    ],
    build: focus_c3p_failure,
};

fn focus_c3p_failure() -> Generated {
    let mut lab = tcp_lab(0xe);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let erin = lab.user("erin", "Erin", "192.0.2.25");
    let t0 = at(11, 0);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(200), bob);
    lab.connect(t0 + ms(640), erin);
    let mut conf = Conference::new(&lab, alice, "HN6C3TGA", "Security audit", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(1_100), alice);
    let t = lab.invite(&mut conf, t + ms(3_000), alice, bob, Answer::Accept);
    let t = lab.join_focus(&mut conf, t + ms(600), bob, FocusOutcome::C3pFailure);
    let t = lab.invite(&mut conf, t + ms(5_000), alice, erin, Answer::Accept);
    lab.join_focus(&mut conf, t + ms(600), erin, FocusOutcome::Forbidden);
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: focus join failures (C3P failure in 200 OK, 403 + 3014)";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- f. multi-conference ------------------------------------------------------------------

const ADHOC_ID: &str = "7C1E4F0A9B3D48E2A6F5C0B1D9E83A47";
const TEAMS_ID: &str =
    "teams:2:0!19:meeting_NzM4ZTRkYjMtMGE1Zi00-thread.v2!4f6e1d2c3b4a5968!9a8b7c6d5e4f3021";

const MULTI_CONFERENCE: Scenario = Scenario {
    name: "multi-conference",
    file_name: "multi-conference.pcapng",
    title: "Three conferences at once, mixed outcomes, IPv6 and VLAN, among ordinary SIP",
    description: "\
Three conferences run interleaved in time on fe01 (TCP 5060), with ordinary SIP traffic \
between them. pcapng with two interfaces: `eth0` (IPv4, microseconds, one client on VLAN 20) \
and `eth1` (IPv6, nanoseconds).

- `K2WQ7RMD`, organizer frank (192.0.2.26): frank joins by link (focus, roster, A/V); he \
invites heidi (192.0.2.28), whose client rings and then declines (603).
- `7C1E4F0A9B3D48E2A6F5C0B1D9E83A47` (a 32-hex ad-hoc ID), organizer ivan (192.0.2.29): \
ivan joins the focus and the roster only, no audio; he invites judy (IPv6 \
2001:db8:20::31, captured on `eth1`), who accepts and joins fully: focus, roster, A/V MCU \
with an SDP in `IN IP6` with `a=x-candidate-ipv6` candidates.
- A Teams-interop style ID containing `:` and `!` \
(`teams:2:0!19:meeting_…-thread.v2!…!…`), organizer olivia (192.0.2.33): olivia joins the \
focus and the roster only; peggy (192.0.2.34, frames tagged 802.1Q VLAN 20) joins by link \
(focus, roster), and 15 s later leaves (BYE to the focus, SUBSCRIBE with `Expires: 0`; the \
roster marks her deleted) and closes her TCP connection (FIN).

Ordinary SIP that is not a conference: victor (192.0.2.36) registers (REGISTER → 401 with \
NTLM and Kerberos challenges → REGISTER with credentials → 200); walter (192.0.2.37) sends \
two OPTIONS keep-alives to the FE (200); walter calls xavier (192.0.2.38) peer to peer \
(INVITE with SDP, 100, 180, 200 with SDP, ACK, BYE from xavier, 200; the INVITE says \
`Supported: ms-conf-invite` and carries a Ms-Conversation-ID like every Lync INVITE); victor \
sends walter a page-mode MESSAGE (200). None of these is a conference.",
    participants: &[
        Participant {
            conference: "K2WQ7RMD",
            uri: "sip:frank@example.com",
            steps: FULL_JOIN,
            ..P
        },
        Participant {
            conference: "K2WQ7RMD",
            uri: "sip:heidi@example.com",
            invited_by: Some("sip:frank@example.com"),
            state: State::Declined,
            status: Some(603),
            steps: "invitation 180 → 603 Decline",
            ..P
        },
        Participant {
            conference: ADHOC_ID,
            uri: "sip:ivan@example.com",
            state: State::FocusJoined,
            steps: "no invitation; focus 200 (C3P success, presenter), roster; no A/V",
            ..P
        },
        Participant {
            conference: ADHOC_ID,
            uri: "sip:judy@example.com",
            invited_by: Some("sip:ivan@example.com"),
            steps: "IPv6; invitation 180 → 200; focus 200, roster, A/V 200 (IN IP6 SDP)",
            ..P
        },
        Participant {
            conference: TEAMS_ID,
            uri: "sip:olivia@example.com",
            state: State::FocusJoined,
            steps: "no invitation; focus 200 (C3P success, presenter), roster; no A/V",
            ..P
        },
        Participant {
            conference: TEAMS_ID,
            uri: "sip:peggy@example.com",
            state: State::Left,
            steps: "VLAN 20; no invitation; focus 200, roster; then BYE focus, SUBSCRIBE Expires: \
                0, roster user deleted",
            ..P
        },
    ],
    build: multi_conference,
};

fn multi_conference() -> Generated {
    let mut lab = tcp_lab(0xf);
    let frank = lab.user("frank", "Frank", "192.0.2.26");
    let heidi = lab.user("heidi", "Heidi", "192.0.2.28");
    let ivan = lab.user("ivan", "Ivan", "192.0.2.29");
    let eth1 = Attach {
        interface: 1,
        ..Attach::default()
    };
    let judy = lab.user_with("judy", "Judy", "2001:db8:20::31", eth1);
    let olivia = lab.user("olivia", "Olivia", "192.0.2.33");
    let vlan = Attach {
        vlan: Some(20),
        ..Attach::default()
    };
    let peggy = lab.user_with("peggy", "Peggy", "192.0.2.34", vlan);
    let victor = lab.user("victor", "Victor", "192.0.2.36");
    let walter = lab.user("walter", "Walter", "192.0.2.37");
    let xavier = lab.user("xavier", "Xavier", "192.0.2.38");
    let t0 = at(13, 0);
    let everyone = [frank, heidi, ivan, judy, olivia, peggy, walter, xavier];
    for (i, user) in everyone.into_iter().enumerate() {
        lab.connect(t0 + ms(137 * i as i64), user);
    }

    // ordinary SIP
    lab.connect(t0 + ms(2_000), victor);
    lab.register(t0 + ms(2_050), victor);
    lab.options_ping(t0 + ms(3_100), walter);
    lab.peer_call(t0 + ms(14_000), walter, xavier, ms(21_000));
    lab.page(
        t0 + ms(24_500),
        victor,
        walter,
        "Are you joining the 1pm review?",
    );
    lab.options_ping(t0 + ms(33_100), walter);

    // conference 1
    let mut one = Conference::new(&lab, frank, "K2WQ7RMD", "Vendor sync", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut one, t0 + ms(2_400), frank);
    lab.invite(&mut one, t + ms(2_000), frank, heidi, Answer::Decline);

    // conference 2
    let mut two = Conference::new(&lab, ivan, ADHOC_ID, "", Modality::Audio);
    let t = lab.join_focus(&mut two, t0 + ms(4_700), ivan, FocusOutcome::Success);
    let t = lab.subscribe(&mut two, t + ms(2), ivan);
    let t = lab.invite(&mut two, t + ms(1_500), ivan, judy, Answer::Accept);
    let outcome = AvOutcome::Accept { reinvite: false };
    invitee_joins(&mut lab, &mut two, t + ms(500), judy, Ice::Rfc5245, outcome);

    // conference 3
    let mut three = Conference::new(&lab, olivia, TEAMS_ID, "Partner call", Modality::Audio);
    let t = lab.join_focus(&mut three, t0 + ms(7_900), olivia, FocusOutcome::Success);
    let t = lab.subscribe(&mut three, t + ms(2), olivia);
    let t = lab.join_focus(&mut three, t + ms(3_000), peggy, FocusOutcome::Success);
    let t = lab.subscribe(&mut three, t + ms(2), peggy);
    let t = lab.leave(&mut three, t + ms(15_000), peggy);
    lab.disconnect(t + ms(400), peggy);

    let (packets, written) = lab.render();
    let comment = "lyncscope sample: three interleaved conferences among ordinary SIP";
    let interfaces = &[("eth0", TsResolution::Micro), ("eth1", TsResolution::Nano)];
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces,
        },
        packets,
        written,
    )
}

// ---- g. im-only-conference ----------------------------------------------------------------

const IM_ID: &str = "3F9A0C7E1B5D4A6C8E2F0B9D7A1C5E3F";

const IM_ONLY_CONFERENCE: Scenario = Scenario {
    name: "im-only-conference",
    file_name: "im-only-conference.pcapng",
    title: "An IM-only conference: chat MCU join with m=message and MESSAGEs, no A/V",
    description: "\
Ad-hoc conference `3F9A0C7E1B5D4A6C8E2F0B9D7A1C5E3F` organized by alice (192.0.2.21), TCP. \
alice joins the focus, subscribes to the roster (which lists the chat and audio-video MCU \
URIs) and joins the IM MCU: INVITE to `…;gruu;opaque=app:conf:chat:id:<ID>` with SDP \
`m=message 5060 sip null` → 200 with SDP, ACK; the roster shows her chat endpoint connected. \
She invites bob with an IM-only invitation (`<audio available=\"false\"/>`, \
`<im available=\"true\"><first-im/></im>`): bob's client accepts at once (200, no 180). bob \
joins the focus, the roster and the IM MCU the same way. Then alice sends a MESSAGE in her \
chat dialog (202 Accepted from the MCU), which the MCU delivers to bob in his chat dialog \
(with `Ms-Sender`, answered 200); bob replies the same way. Nobody joins the A/V MCU.",
    participants: &[
        Participant {
            conference: IM_ID,
            uri: ALICE,
            steps: "no invitation; focus 200 (C3P success), roster, IM MCU 200; no media step",
            ..P
        },
        Participant {
            conference: IM_ID,
            uri: BOB,
            invited_by: Some(ALICE),
            steps: "IM-only invitation 200 (no 180); focus 200, roster, IM MCU 200; no media step",
            ..P
        },
    ],
    build: im_only_conference,
};

fn im_only_conference() -> Generated {
    let mut lab = tcp_lab(0x9);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let t0 = at(14, 0);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(300), bob);
    let mut conf = Conference::new(&lab, alice, IM_ID, "", Modality::ImOnly);
    let t = lab.join_focus(&mut conf, t0 + ms(800), alice, FocusOutcome::Success);
    let t = lab.subscribe(&mut conf, t + ms(2), alice);
    let t = lab.join_chat(&mut conf, t + ms(400), alice);
    let t = lab.invite(&mut conf, t + ms(1_500), alice, bob, Answer::Accept);
    let t = lab.join_focus(&mut conf, t + ms(500), bob, FocusOutcome::Success);
    let t = lab.subscribe(&mut conf, t + ms(2), bob);
    let t = lab.join_chat(&mut conf, t + ms(400), bob);
    let t = lab.chat_message(
        &mut conf,
        t + ms(2_500),
        alice,
        "Hi Bob, do you have the Q3 numbers?",
    );
    lab.chat_message(
        &mut conf,
        t + ms(6_000),
        bob,
        "Yes, sending them after lunch.",
    );
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: IM-only conference (chat MCU, MESSAGE)";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- h. worked-example --------------------------------------------------------------------

const WORKED_EXAMPLE: Scenario = Scenario {
    name: "worked-example",
    file_name: "worked-example.pcapng",
    title: "docs/protocol.md §8 rebuilt verbatim: one message per frame, labelled A1…C3",
    description: "\
The worked example of docs/protocol.md §8, message texts verbatim (with CRLF line ends; every \
Content-Length checked against the body): A1–A6 (alice invites bob: INVITE, 180, 200, ACK, \
BYE, 200) on alice's connection 192.0.2.21:50611 → 198.51.100.10:5061; then on bob's \
connection 192.0.2.22:50622 → 5061: B1–B3 (focus INVITE with C3P addUser, 200 with C3P \
success, ACK), C1–C2 (SUBSCRIBE, 200 with the full roster), D1–D3 (A/V MCU INVITE with SDP, \
200 with SDP answer, ACK), D4 (post-ICE re-INVITE in the same dialog) with its 200 (D5) and \
ACK (D6), composed to match, and C3 (BENOTIFY: bob's audio-video endpoint connected). Plain \
TCP to port 5061 although the Via headers say TLS, as in the document. The connections \
negotiate a jumbo MSS (8960), so each message is exactly one TCP segment; each message's \
frame has its label as a pcapng comment. The alternative outcomes N1–N3 and V1 are not in \
this file (their equivalents are in `focus-c3p-failure.pcapng` and `av-mcu-rejected.pcapng`). \
alice sends the invitation but never joins in this capture.",
    participants: &[Participant {
        conference: "JL3GPNYP",
        uri: BOB,
        invited_by: Some(ALICE),
        steps: "invitation 180 → 200, ACK, BYE by alice; focus 200 (C3P success); roster v1 full, \
            v2 partial (audio-video connected); A/V 200 + ACK, re-INVITE 200 + ACK",
        ..P
    }],
    build: worked_example,
};

fn worked_example() -> Generated {
    let (packets, written) = worked_example::render(at(15, 0));
    let comment = "lyncscope sample: docs/protocol.md §8 worked example, message texts verbatim";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- i. media-never-flowed ---------------------------------------------------------------

const MEDIA_NEVER_FLOWED: Scenario = Scenario {
    name: "media-never-flowed",
    file_name: "media-never-flowed.pcapng",
    title: "Signalling succeeds but media never flows: ICE checks unanswered, the client hangs up",
    description: "\
Conference `V7KD2MXQ` organized by alice (192.0.2.21), TCP to fe01:5060; the capture point is \
the FE's switch port, where the A/V MCU runs too, so media is seen as well.

1. alice joins her meeting by link: focus, roster, A/V MCU 200 + ACK. Her client's ICE \
checks (STUN Binding requests, RFC 5389 format with MS-ICE2's IMPLEMENTATION-VERSION) on the \
RTP and RTCP components are answered with Binding success responses, the MCU checks back, \
and 1.5 s of SRTP audio flows each way (SILK, 20 ms frames), then an SRTCP sender report \
each way.
2. alice invites bob (192.0.2.22), who accepts and joins focus, roster and the A/V MCU: \
the MCU answers 200 with its candidates and the roster shows his audio-video endpoint \
connected. His client's checks to the MCU's two candidates get no answer (a firewall in \
front of the MCU drops them past the capture point): 18 Binding requests (9 per component), retransmitted \
with doubling intervals over about 8 s.
3. bob's client gives up: BYE on the A/V dialog with `ms-client-diagnostics: 23; \
reason=\"Call failed to establish due to a media connectivity failure when both endpoints \
are internal\"`, 200 OK. His focus dialog stays.",
    participants: &[
        Participant {
            conference: "V7KD2MXQ",
            uri: ALICE,
            steps: "focus 200 (C3P success), roster, A/V 200; ICE checks answered, SRTP both \
                ways",
            ..P
        },
        Participant {
            conference: "V7KD2MXQ",
            uri: BOB,
            invited_by: Some(ALICE),
            state: State::Failed,
            failed_step: Some(Step::Media),
            status: Some(200),
            steps: "invitation 200; focus 200, roster, A/V 200 + ACK; 18 ICE checks \
                unanswered; BYE with ms-client-diagnostics 23 ~10 s after the 200",
            ..P
        },
    ],
    build: media_never_flowed,
};

fn media_never_flowed() -> Generated {
    let mut lab = tcp_lab(0x1f);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let t0 = at(11, 15);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(410), bob);
    let mut conf = Conference::new(&lab, alice, "V7KD2MXQ", "Vendor call", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(800), alice);
    lab.media(&conf, t, alice, MediaPlan::Flows { millis: 1_500 });
    let t = lab.invite(&mut conf, t + ms(2_500), alice, bob, Answer::Accept);
    let outcome = AvOutcome::Accept { reinvite: false };
    let t = invitee_joins(&mut lab, &mut conf, t + ms(700), bob, Ice::Rfc5245, outcome);
    let t = lab.media(&conf, t, bob, MediaPlan::Unanswered { millis: 8_000 });
    lab.hang_up_av(
        &mut conf,
        t + ms(1_900),
        bob,
        "23; reason=\"Call failed to establish due to a media connectivity failure when both \
         endpoints are internal\"",
    );
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: A/V joined, ICE checks unanswered, the client hangs up";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- j. lobby-and-guests ----------------------------------------------------------------

const LOBBY_ID: &str = "LB7Q2XKD";
/// What the Access Edge says of an anonymous guest: a user on the Internet it could not
/// verify ([MS-SIPRE] 2.2.15 has no source type of its own for them).
const GUEST_TRUST: &str =
    "ms-source-type=InternetUser;ms-ep-fqdn=edge01.example.com;ms-source-verified-user=unverified";
const PARTNER_TRUST: &str = "ms-source-type=DirectPartner;ms-ep-fqdn=edge01.example.com;\
    ms-source-verified-user=verified;ms-source-network=federation";

const LOBBY_AND_GUESTS: Scenario = Scenario {
    name: "lobby-and-guests",
    file_name: "lobby-and-guests.pcapng",
    title: "The lobby and the Access Edge: anonymous guests admitted, refused and waiting; a \
        federated invitee the Edge cannot reach",
    description: "\
Conference `LB7Q2XKD` organized by alice (192.0.2.21), TCP to fe01:5060; the lobby is on \
for everyone but leaders. The Access Edge `edge01.example.com` (internal side 198.51.100.20) \
has one connection to the FE and carries everything of the users outside; it adds its Via \
(the guest's client's own Via, TLS from its public address, is the second), its Record-Route \
on requests that open a dialog, and `ms-edge-proxy-message-trust: \
ms-source-type=InternetUser;ms-ep-fqdn=edge01.example.com;ms-source-verified-user=unverified` \
to every guest message ([MS-SIPRE] 2.2.15).

1. alice joins her meeting by link: focus (C3P success, presenter), roster, A/V.
2. Guest Priya Raman (anonymous: `sip:<32 hex>@anonymous.invalid`, her display name in From, \
public address 203.0.113.45) joins by meeting link from a desktop client ([MS-SIPAE] 4.5): \
her focus INVITE without credentials is challenged `401 Unauthorized` (`WWW-Authenticate: \
Digest realm=\"sip:alice@example.com\"…`), she ACKs and sends it again in the same dialog \
(CSeq 2, `Authorization: Digest …`). The focus answers 200 whose C3P says `code=\"pending\"`: \
she is in the lobby, and alice's roster shows her focus endpoint `on-hold`.
3. alice admits her: C3P `setLobbyAccess` (`<access>granted</access>`) in an INFO on her \
focus dialog → `202 Accepted`, then the focus's INFO with the C3P response (`success`), \
answered 200 ([MS-CONFBAS] 4.4.8). The focus sends Priya the final result of her pending \
`addUser` (an INFO with `code=\"success\"`), the roster shows her focus endpoint connected; \
she subscribes to the roster and joins the A/V MCU (SDP with relay candidates on the A/V \
Edge 203.0.113.10, `ms-media-location-type=Internet`), 200, ACK.
4. Guest Tom Becker (anonymous, 203.0.113.77) joins the same way and waits in the lobby; \
alice refuses him (`<access>denied</access>`, 202, the focus's `success`); the focus ends \
his focus dialog with a BYE and the roster drops him.
5. alice invites yusuf@partner.example, a federated partner: the FE forwards the invitation \
to the Edge, which cannot establish trust with the partner's Edge and answers itself: `504 \
Server time-out` with `ms-diagnostics: 1010;reason=\"Certificate trust with another server \
could not be established\";source=\"edge01.example.com\"` and `ms-edge-proxy-message-trust: \
ms-source-type=EdgeProxyGenerated;ms-ep-fqdn=edge01.example.com;ms-source-network=federation`; \
the FE ACKs the Edge, relays the 504 to alice, who ACKs.
6. Guest Lena Ortiz (anonymous, 203.0.113.101) joins late and is still waiting in the lobby \
when the capture ends.",
    participants: &[
        Participant {
            conference: LOBBY_ID,
            uri: ALICE,
            steps: "focus 200 (C3P success, presenter), roster, A/V 200; admits one guest and \
                refuses another (setLobbyAccess); invites yusuf",
            ..P
        },
        Participant {
            conference: LOBBY_ID,
            uri: "sip:69a011ab28af92d7e3e9bac2b8aac3cb@anonymous.invalid",
            steps: "anonymous via the Edge; focus 401 → CSeq 2 with Digest credentials → 200 \
                C3P pending (lobby, roster on-hold); admitted by alice (setLobbyAccess \
                granted), roster connected; roster, A/V 200 with relay candidates",
            ..P
        },
        Participant {
            conference: LOBBY_ID,
            uri: "sip:3af19d410f25488284e9e09bfc8a6bad@anonymous.invalid",
            state: State::Failed,
            failed_step: Some(Step::Focus),
            status: Some(200),
            steps: "anonymous via the Edge; focus 401 → 200 C3P pending (lobby); refused by \
                alice (setLobbyAccess denied), BYE from the focus",
            ..P
        },
        Participant {
            conference: LOBBY_ID,
            uri: "sip:yusuf@partner.example",
            invited_by: Some(ALICE),
            state: State::Failed,
            failed_step: Some(Step::Invitation),
            status: Some(504),
            diagnostics: Some(1010),
            steps: "federated; invitation refused by the Edge: 504 Server time-out + \
                ms-diagnostics 1010 from edge01.example.com (EdgeProxyGenerated)",
            ..P
        },
        Participant {
            conference: LOBBY_ID,
            uri: "sip:1f170e43520116b75ede2c21c85e971a@anonymous.invalid",
            state: State::Lobby,
            steps: "anonymous via the Edge; focus 401 → 200 C3P pending; still waiting in the \
                lobby (roster on-hold) when the capture ends",
            ..P
        },
    ],
    build: lobby_and_guests,
};

fn lobby_and_guests() -> Generated {
    let mut lab = tcp_lab(0x14a);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let edge = lab.server("edge01", "198.51.100.20");
    let trust = || GUEST_TRUST.to_owned();
    let priya = lab.outside(
        edge,
        Outside::Anonymous,
        "Priya Raman",
        "203.0.113.45",
        trust(),
    );
    let tom = lab.outside(
        edge,
        Outside::Anonymous,
        "Tom Becker",
        "203.0.113.77",
        trust(),
    );
    let lena = lab.outside(
        edge,
        Outside::Anonymous,
        "Lena Ortiz",
        "203.0.113.101",
        trust(),
    );
    let partner = Outside::User {
        name: "yusuf",
        domain: "partner.example",
    };
    let yusuf = lab.outside(
        edge,
        partner,
        "Yusuf",
        "203.0.113.200",
        PARTNER_TRUST.into(),
    );
    let t0 = at(15, 30);
    lab.connect(t0, edge);
    lab.connect(t0 + ms(260), alice);
    let mut conf = Conference::new(&lab, alice, LOBBY_ID, "Customer workshop", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(1_100), alice);
    let t = lab.join_focus_anonymous(&mut conf, t + ms(5_200), priya, FocusOutcome::Lobby);
    let t = lab.lobby_access(&mut conf, t + ms(6_400), alice, priya, true);
    let t = lab.subscribe(&mut conf, t + ms(300), priya);
    let outcome = AvOutcome::Accept { reinvite: false };
    let t = lab.join_av(&mut conf, t + ms(120), priya, Ice::Rfc5245, outcome);
    let t = lab.join_focus_anonymous(&mut conf, t + ms(9_000), tom, FocusOutcome::Lobby);
    let t = lab.lobby_access(&mut conf, t + ms(11_500), alice, tom, false);
    let t = lab.invite(&mut conf, t + ms(4_000), alice, yusuf, Answer::EdgeTimeout);
    lab.join_focus_anonymous(&mut conf, t + ms(7_000), lena, FocusOutcome::Lobby);
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: lobby, anonymous guests and a federated invitee through the \
        Access Edge";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- k. devices-sharing-escalation -------------------------------------------------------

const ESCALATED_ID: &str = "5B0E8C31D47A4F2E9C6D1A08B3F57E24";
const BOB_DESKTOP: &str = "4f1c09a7e2";
const BOB_PHONE: &str = "b83d5e0f61";
const DESK_PHONE_UA: &str = "OCPhone/4.0.7577.4540 (Microsoft Lync 2010 Phone Edition)";

const DEVICES_SHARING_ESCALATION: Scenario = Scenario {
    name: "devices-sharing-escalation",
    file_name: "devices-sharing-escalation.pcapng",
    title: "A call escalated to a conference; one user on two devices; application sharing; a \
        removal and the end of the conference",
    description: "\
Ad-hoc conference `5B0E8C31D47A4F2E9C6D1A08B3F57E24`, TCP to fe01:5060. alice (192.0.2.21), \
bob's desktop (192.0.2.22, `epid=4f1c09a7e2`), carol (192.0.2.23); bob's desk phone (Lync \
Phone Edition, 192.0.2.52, `epid=b83d5e0f61`) signs in later.

1. alice calls bob peer to peer (INVITE with SDP, 180, 200 with SDP, ACK).
2. After half a minute alice escalates the call to a conference: her client asks the focus \
factory for one (SERVICE to `sip:alice@example.com;gruu;opaque=app:conf:focusfactory` with \
C3P `addConference`, the conference ID of its choosing, its expiry and the MCUs it wants; \
200 with the focus URI, as sipe-conf.c does it), joins the focus, the roster and the A/V MCU \
in the call's conversation (same Ms-Conversation-ID), and invites bob, whose client takes \
the invitation at once (200, no 180). bob joins focus, roster and A/V; then alice hangs up \
the peer-to-peer call (BYE, 200).
3. alice invites carol (180, 200), who joins focus, roster and A/V.
4. bob's desk phone joins the conference by its focus URI: the focus refuses it with `403 \
Forbidden` and `ms-diagnostics: 3014`. The desktop and the phone are the same user \
(sip:bob@example.com) with different `epid` on From.
5. alice shares her desktop: INVITE to the application sharing MCU \
(`…;gruu;opaque=app:conf:applicationsharing:id:<ID>`, SDP `m=applicationsharing … \
TCP/RTP/AVP 127`, `a=x-applicationsharing-role:sharer`), 200 with the MCU's SDP, ACK; the \
roster shows her applicationsharing endpoint. bob's desktop tries to view it: the MCU \
answers `488 Not Acceptable Here` with `ms-diagnostics: 24000;reason=\"Error parsing SDP\"`.
6. alice removes carol: C3P `deleteUser` in an INFO (202, then the focus's INFO with \
`success`, 200); the focus terminates carol's roster subscription (NOTIFY), the A/V MCU \
and the focus BYE her dialogs; the roster drops her.
7. alice ends the conference: C3P `deleteConference` (202, `success`); every subscriber \
gets the roster `state=\"deleted\"` in a NOTIFY that terminates the subscription, and the \
MCUs and the focus BYE every dialog.",
    participants: &[
        Participant {
            conference: ESCALATED_ID,
            uri: ALICE,
            state: State::Left,
            steps: "escalates her call (SERVICE addConference); focus 200 (presenter), roster, \
                A/V 200, sharing 200 (sharer); ends the conference (deleteConference)",
            ..P
        },
        Participant {
            conference: ESCALATED_ID,
            uri: BOB,
            device: Some(BOB_DESKTOP),
            invited_by: Some(ALICE),
            state: State::Left,
            steps: "desktop; in the escalated call; invitation 200 (no 180); focus 200, roster, \
                A/V 200; sharing 488 + ms-diagnostics 24000 (viewer); the conference ended",
            ..P
        },
        Participant {
            conference: ESCALATED_ID,
            uri: CAROL,
            invited_by: Some(ALICE),
            state: State::Left,
            steps: "invitation 180 → 200; focus 200, roster, A/V 200; removed by alice \
                (deleteUser), BYEs from the MCU and the focus",
            ..P
        },
        Participant {
            conference: ESCALATED_ID,
            uri: BOB,
            device: Some(BOB_PHONE),
            state: State::Failed,
            failed_step: Some(Step::Focus),
            status: Some(403),
            diagnostics: Some(3014),
            steps: "desk phone (Lync Phone Edition), same user; focus 403 Forbidden + \
                ms-diagnostics 3014, ACK",
            ..P
        },
    ],
    build: devices_sharing_escalation,
};

fn devices_sharing_escalation() -> Generated {
    let mut lab = tcp_lab(0x14b);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let desktop = Attach {
        epid: Some(BOB_DESKTOP),
        ..Attach::default()
    };
    let bob = lab.user_with("bob", "Bob", "192.0.2.22", desktop);
    let carol = lab.user("carol", "Carol", "192.0.2.23");
    let desk_phone = Attach {
        epid: Some(BOB_PHONE),
        label: Some("bob-phone"),
        ua: Some(DESK_PHONE_UA),
        ..Attach::default()
    };
    let phone = lab.user_with("bob", "Bob", "192.0.2.52", desk_phone);
    let t0 = at(16, 0);
    lab.connect(t0, alice);
    lab.connect(t0 + ms(180), bob);
    lab.connect(t0 + ms(530), carol);
    let (call, t) = lab.call(t0 + ms(1_400), alice, bob);
    let mut conf = Conference::new(&lab, alice, ESCALATED_ID, "", Modality::Audio);
    conf.set_conversation(&mut lab, alice, &call.conversation.clone());
    let t = lab.create_conference(&mut conf, t + ms(31_000), alice);
    let t = organizer_joins(&mut lab, &mut conf, t + ms(40), alice);
    let t = lab.invite(&mut conf, t + ms(200), alice, bob, Answer::AtOnce);
    let outcome = AvOutcome::Accept { reinvite: false };
    let t = invitee_joins(&mut lab, &mut conf, t + ms(300), bob, Ice::Rfc5245, outcome);
    let t = lab.hang_up(call, t + ms(1_600), alice);
    let t = lab.invite(&mut conf, t + ms(3_000), alice, carol, Answer::Accept);
    let t = invitee_joins(
        &mut lab,
        &mut conf,
        t + ms(500),
        carol,
        Ice::Rfc5245,
        outcome,
    );
    lab.connect(t + ms(2_000), phone);
    let t = lab.join_focus(&mut conf, t + ms(6_000), phone, FocusOutcome::Forbidden);
    let t = lab.join_sharing(&mut conf, t + ms(8_000), alice, "sharer", true);
    let t = lab.join_sharing(&mut conf, t + ms(2_500), bob, "viewer", false);
    let t = lab.remove(&mut conf, t + ms(20_000), alice, carol);
    lab.end_conference(&mut conf, t + ms(30_000), alice);
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: escalation, two devices of one user, application sharing, \
        removal, end of the conference";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}

// ---- l. dial-in-and-rejoin ---------------------------------------------------------------

const DIAL_ID: &str = "DN4R8WQZ";

const DIAL_IN_AND_REJOIN: Scenario = Scenario {
    name: "dial-in-and-rejoin",
    file_name: "dial-in-and-rejoin.pcapng",
    title: "Phones in a conference: a dial-in through the Conferencing Attendant, dial-outs \
        answered and busy; a client that loses its network and rejoins",
    description: "\
Conference `DN4R8WQZ` organized by alice (192.0.2.21), TCP to fe01:5060. The Mediation \
Server `med01.example.com` (198.51.100.40) has one connection to the FE and is the SIP end \
of every phone call (the gateway's side is not on this link): its requests carry the phone \
identity `sip:+1…@example.com;user=phone` in From or To, `P-Asserted-Identity: <tel:…>`, a \
Contact with its server GRUU `…;opaque=srvr:MediationServer:…;isGateway`, \
`ms-trunking-peer` and `User-Agent: RTCC/6.0.0.0 MediationServer`.

1. alice joins by link (focus, roster, A/V); she invites bob (192.0.2.22), who joins focus, \
roster and A/V.
2. A caller dials in: the Mediation Server INVITEs the access number \
`sip:+14255550199@example.com;user=phone` from `sip:+14255550123@example.com;user=phone` \
(100; 200 with SDP from the Conferencing Attendant, an application on the FE; ACK). After \
the prompts and the conference ID keyed in DTMF (in-band, not in SIP), the attendant \
transfers the call: REFER with `Refer-To: <…;gruu;opaque=app:conf:audio-video:id:DN4R8WQZ>` \
(202; NOTIFY `message/sipfrag` 100 Trying), the Mediation Server INVITEs the A/V MCU for the \
caller (`Referred-By` the attendant; 200 with SDP, ACK), reports `SIP/2.0 200 OK` in a final \
NOTIFY, and the attendant leaves the first call (BYE, 200). The roster shows the caller with \
an audio-video endpoint. The attendant's own join on the caller's behalf runs inside the FE \
and is not on the wire.
3. alice asks the A/V MCU to call +14255550100 (C3P `addUser` dial-out in an INFO, \
`joining-method` `dialed-out`, `mscp:mcuUri` the A/V MCU; 202, the focus's `success`, 200): \
the MCU INVITEs `sip:+14255550100@example.com;user=phone` through the FE's proxy to the \
Mediation Server (100, 180, 200 with SDP after a few seconds, ACK); the roster shows the \
callee dialled out.
4. She asks the same for +14255550142: 100, 180, then `486 Busy Here` with `Reason: \
Q.850;cause=17;text=\"User busy\"`; the FE ACKs.
5. bob's client loses its network: its connection goes silent (no FIN, no RST on this \
link); the roster shows his endpoints `disconnected` (`failed`). 40 s later it is back on a \
new connection from a new port: REGISTER (401, REGISTER with credentials, 200), then a new \
focus INVITE in a new dialog (same epid), SUBSCRIBE and A/V INVITE, all answered 200.",
    participants: &[
        Participant {
            conference: DIAL_ID,
            uri: ALICE,
            steps: "focus 200 (C3P success), roster, A/V 200; asks two dial-outs (addUser \
                dial-out)",
            ..P
        },
        Participant {
            conference: DIAL_ID,
            uri: BOB,
            invited_by: Some(ALICE),
            steps: "invitation 180 → 200; focus 200, roster, A/V 200; connection lost, roster \
                disconnected (failed); 40 s later REGISTER, focus attempt 2 (new dialog) 200, \
                roster, A/V 200",
            ..P
        },
        Participant {
            conference: DIAL_ID,
            uri: "sip:+14255550123@example.com",
            steps: "phone, dial-in: Mediation Server → Conferencing Attendant (200), REFER to \
                the A/V MCU; the Mediation Server's A/V INVITE for the caller 200; no focus or \
                roster step of their own",
            ..P
        },
        Participant {
            conference: DIAL_ID,
            uri: "sip:+14255550100@example.com",
            steps: "phone, dial-out asked by alice; the A/V MCU's INVITE → 180 → 200 from the \
                Mediation Server",
            ..P
        },
        Participant {
            conference: DIAL_ID,
            uri: "sip:+14255550142@example.com",
            state: State::Failed,
            failed_step: Some(Step::Media),
            status: Some(486),
            steps: "phone, dial-out asked by alice; the A/V MCU's INVITE → 180 → 486 Busy Here \
                (Q.850 cause 17)",
            ..P
        },
    ],
    build: dial_in_and_rejoin,
};

fn dial_in_and_rejoin() -> Generated {
    let mut lab = tcp_lab(0x14c);
    let alice = lab.user("alice", "Alice", "192.0.2.21");
    let bob = lab.user("bob", "Bob", "192.0.2.22");
    let med = lab.server("med01", "198.51.100.40");
    let t0 = at(16, 30);
    lab.connect(t0, med);
    lab.connect(t0 + ms(150), alice);
    lab.connect(t0 + ms(420), bob);
    let mut conf = Conference::new(&lab, alice, DIAL_ID, "Quarterly review", Modality::Audio);
    let t = organizer_joins(&mut lab, &mut conf, t0 + ms(1_000), alice);
    let t = lab.invite(&mut conf, t + ms(2_500), alice, bob, Answer::Accept);
    let outcome = AvOutcome::Accept { reinvite: false };
    let t = invitee_joins(&mut lab, &mut conf, t + ms(600), bob, Ice::Rfc5245, outcome);
    let t = lab.dial_in(
        &mut conf,
        t + ms(4_000),
        med,
        "+14255550123",
        "+14255550199",
    );
    let callee = "sip:+14255550100@example.com;user=phone";
    let t = lab.ask_dial_out(&mut conf, t + ms(6_000), alice, callee, "tel:+14255550100");
    let t = lab.dial_out(&mut conf, t + ms(60), med, "+14255550100", Pickup::Answers);
    let callee = "sip:+14255550142@example.com;user=phone";
    let t = lab.ask_dial_out(&mut conf, t + ms(5_000), alice, callee, "tel:+14255550142");
    let t = lab.dial_out(&mut conf, t + ms(60), med, "+14255550142", Pickup::Busy);
    let t = lab.lose_connection(&mut conf, t + ms(9_000), bob);
    let t = lab.register(t + ms(40_000), bob);
    let t = lab.join_focus(&mut conf, t + ms(400), bob, FocusOutcome::Success);
    let t = lab.subscribe(&mut conf, t + ms(2), bob);
    lab.join_av(&mut conf, t + ms(90), bob, Ice::Rfc5245, outcome);
    let (packets, written) = lab.render();
    let comment = "lyncscope sample: dial-in through the Conferencing Attendant, dial-outs, a \
        rejoin after a lost connection";
    Generated::package(
        Container::PcapNg {
            comment,
            interfaces: ETH0,
        },
        packets,
        written,
    )
}
