//! Join diagnosis on traffic that real captures hold and the samples do not: a retry after a
//! challenge, a rejoin, two inviters, forked answers, a lobby.

use lyncscope::analysis::{Analysis, JoinState, JoinStep};
use lyncscope::sip::frame_stream;
use lyncscope::transport::{MsgContext, SipSink, Transport};
use lyncscope::Timestamp;

const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";
const AV: &str = "sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:JL3GPNYP";

struct Feed {
    a: Analysis,
    frame: u64,
}

impl Feed {
    fn new() -> Self {
        Feed {
            a: Analysis::new(true),
            frame: 0,
        }
    }

    fn send(&mut self, text: &str) {
        self.frame += 1;
        let text = text.replace('\n', "\r\n");
        let text = match text.split_once("\r\n\r\n") {
            Some((head, body)) => format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
            None => format!("{text}\r\nContent-Length: 0\r\n\r\n"),
        };
        let (m, _) = frame_stream(text.as_bytes()).expect("a SIP message");
        let ctx = MsgContext {
            frame: self.frame,
            first_frame: self.frame,
            time: Timestamp(self.frame as i64 * 100_000_000),
            src: "192.0.2.22:5061".parse().expect("addr"),
            dst: "198.51.100.10:5061".parse().expect("addr"),
            transport: Transport::Tcp,
            ip_reassembled: false,
            reassembled: false,
            icmp_quoted: false,
            link_type: 1,
            origin: Default::default(),
        };
        self.a.message(&ctx, &m);
    }

    fn state(&self, uri: &str) -> (JoinState, Option<JoinStep>, Option<String>) {
        let c = &self.a.conferences().list()[0];
        let p = c
            .participants
            .iter()
            .find(|p| p.uri == uri)
            .expect("participant");
        let d = c.diagnose(p);
        (
            d.state,
            d.failed_step,
            lyncscope::report::reason::reason(&d, p),
        )
    }
}

fn invite(to: &str, call: &str, cseq: u32, body: &str, ct: &str) -> String {
    format!(
        "INVITE {to} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}{cseq}\nFrom: <sip:bob@example.com>;tag=t{call}\nTo: <{to}>\nCall-ID: {call}\nCSeq: {cseq} INVITE\nContent-Type: {ct}\n\n{body}"
    )
}

fn answer(status: &str, to: &str, call: &str, cseq: u32, extra: &str) -> String {
    format!(
        "SIP/2.0 {status}\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}{cseq}\nFrom: <sip:bob@example.com>;tag=t{call}\nTo: <{to}>;tag=srv\nCall-ID: {call}\nCSeq: {cseq} INVITE\n{extra}"
    )
    .trim_end()
    .to_string()
}

fn c3p(root: &str, attrs: &str) -> String {
    format!(
        "<{root} xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"1\" {attrs}><addUser/></{root}>"
    )
}

fn focus_join(f: &mut Feed, call: &str, outcome: &str) {
    f.send(&invite(
        FOCUS,
        call,
        1,
        &c3p("request", ""),
        "application/cccp+xml",
    ));
    f.send(&format!(
        "{}\nContent-Type: application/cccp+xml\n\n{}",
        answer("200 OK", FOCUS, call, 1, ""),
        c3p("response", &format!("code=\"{outcome}\""))
    ));
}

#[test]
fn a_retry_after_a_challenge_in_the_same_dialog_decides_the_step() {
    let mut f = Feed::new();
    f.send(&invite(
        FOCUS,
        "f1",
        1,
        &c3p("request", ""),
        "application/cccp+xml",
    ));
    f.send(&answer(
        "407 Proxy Authentication Required",
        FOCUS,
        "f1",
        1,
        "",
    ));
    f.send(&invite(
        FOCUS,
        "f1",
        2,
        &c3p("request", ""),
        "application/cccp+xml",
    ));
    f.send(&format!(
        "{}\nContent-Type: application/cccp+xml\n\n{}",
        answer("200 OK", FOCUS, "f1", 2, ""),
        c3p("response", "code=\"success\"")
    ));
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::FocusJoined);
}

#[test]
fn a_rejoin_that_fails_at_the_focus_is_a_failure() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    f.send(&invite(
        AV,
        "m1",
        1,
        "v=0\nm=audio 5000 RTP/AVP 0\n",
        "application/sdp",
    ));
    f.send(&answer("200 OK", AV, "m1", 1, ""));
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Joined);
    // Later: a new focus INVITE (new dialog), refused.
    f.send(&invite(
        FOCUS,
        "f2",
        1,
        &c3p("request", ""),
        "application/cccp+xml",
    ));
    f.send(&answer(
        "403 Forbidden",
        FOCUS,
        "f2",
        1,
        "ms-diagnostics: 3014;reason=\"Failed authorization.\";source=\"fe01\"",
    ));
    let (state, failed, reason) = f.state("sip:bob@example.com");
    assert_eq!(
        (state, failed),
        (JoinState::Failed, Some(JoinStep::Focus)),
        "{reason:?}"
    );
}

#[test]
fn c3p_pending_is_not_a_join() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "pending");
    let (state, failed, reason) = f.state("sip:bob@example.com");
    assert_eq!((state, failed), (JoinState::Lobby, None));
    let reason = reason.expect("a reason");
    assert!(
        reason.contains("waiting in the lobby since 00:00:00.200")
            && reason.contains("(C3P pending)"),
        "{reason}"
    );
}

fn invitation(from: &str, call: &str) -> String {
    format!(
        "INVITE sip:bob@example.com SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.21;branch=z9hG4bK{call}\nFrom: <sip:{from}@example.com>;tag=t{call}\nTo: <sip:bob@example.com>\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/ms-conf-invite+xml\n\n<Conferencing version=\"2.0\"><focus-uri>{FOCUS}</focus-uri></Conferencing>"
    )
}

fn invitation_answer(status: &str, from: &str, call: &str, tag: &str) -> String {
    format!(
        "SIP/2.0 {status}\nVia: SIP/2.0/TCP 192.0.2.21;branch=z9hG4bK{call}\nFrom: <sip:{from}@example.com>;tag=t{call}\nTo: <sip:bob@example.com>;tag={tag}\nCall-ID: {call}\nCSeq: 1 INVITE"
    )
}

#[test]
fn an_older_invitation_does_not_overwrite_a_newer_one() {
    let mut f = Feed::new();
    f.send(&invitation("alice", "i1"));
    f.send(&invitation("carol", "i2"));
    f.send(&invitation_answer("603 Decline", "alice", "i1", "b1"));
    let c = &f.a.conferences().list()[0];
    let bob = &c.participants[0];
    let inv = bob.invitation.as_ref().expect("invitation");
    assert_eq!(
        (bob.invited_by.as_deref(), &*inv.call_id, inv.status),
        (Some("sip:carol@example.com"), "i2", None)
    );
}

#[test]
fn a_decline_outranks_the_487_of_a_cancelled_fork() {
    let mut f = Feed::new();
    f.send(&invitation("alice", "i1"));
    f.send(&invitation_answer("603 Decline", "alice", "i1", "fork1"));
    f.send(&invitation_answer(
        "487 Request Terminated",
        "alice",
        "i1",
        "fork2",
    ));
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Declined);
}

/// A roster subscription of bob's, with the documents the focus sends on it.
fn subscribe(f: &mut Feed, call: &str) {
    f.send(&format!(
        "SUBSCRIBE {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}s\nFrom: <sip:bob@example.com>;tag=t{call}\nTo: <{FOCUS}>\nCall-ID: {call}\nCSeq: 1 SUBSCRIBE\nEvent: conference"
    ));
}

fn notify(f: &mut Feed, call: &str, cseq: u32, doc: &str) {
    f.send(&format!(
        "NOTIFY sip:bob@example.com SIP/2.0\nVia: SIP/2.0/TCP 198.51.100.10;branch=z9hG4bK{call}n{cseq}\nFrom: <{FOCUS}>;tag=srv\nTo: <sip:bob@example.com>;tag=t{call}\nCall-ID: {call}\nCSeq: {cseq} NOTIFY\nEvent: conference\nsubscription-state: active;expires=3600\nContent-Type: application/conference-info+xml\n\n{doc}"
    ));
}

fn roster(state: &str, version: u32, users: &str) -> String {
    format!(
        "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"{FOCUS}\" state=\"{state}\" version=\"{version}\"><users>{users}</users></conference-info>"
    )
}

fn av_user(who: &str, state: &str, status: &str) -> String {
    format!(
        "<user entity=\"{who}\" state=\"{state}\"><endpoint entity=\"{{e}}\" session-type=\"audio-video\"><status>{status}</status></endpoint></user>"
    )
}

#[test]
fn a_user_deleted_from_the_roster_has_left() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    subscribe(&mut f, "s1");
    notify(
        &mut f,
        "s1",
        1,
        &roster(
            "full",
            1,
            &av_user("sip:bob@example.com", "full", "connected"),
        ),
    );
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Joined);
    notify(
        &mut f,
        "s1",
        2,
        &roster(
            "partial",
            2,
            "<user entity=\"sip:bob@example.com\" state=\"deleted\"/>",
        ),
    );
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Left);
}

#[test]
fn a_user_missing_from_a_later_full_roster_has_left() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    subscribe(&mut f, "s1");
    notify(
        &mut f,
        "s1",
        1,
        &roster(
            "full",
            1,
            &av_user("sip:bob@example.com", "full", "connected"),
        ),
    );
    notify(
        &mut f,
        "s1",
        2,
        &roster(
            "full",
            2,
            &av_user("sip:carol@example.com", "full", "connected"),
        ),
    );
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Left);
}

/// Bob joins the focus, a roster document (`state`, `version`) says his A/V is connected, and
/// the A/V MCU rejects his offer.
fn av_rejected_after_roster(state: &str, version: u32) -> (JoinState, Option<JoinStep>) {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    subscribe(&mut f, "s1");
    let bob = av_user("sip:bob@example.com", "full", "connected");
    notify(&mut f, "s1", 1, &roster(state, version, &bob));
    f.send(&invite(AV, "m1", 1, "v=0\n", "application/sdp"));
    f.send(&answer("488 Not Acceptable Here", AV, "m1", 1, ""));
    let (state, step, _) = f.state("sip:bob@example.com");
    (state, step)
}

#[test]
fn a_stale_roster_does_not_outweigh_a_failed_av_attempt() {
    // A partial document with version 2 first: version 1 is missing, the roster is stale, and
    // what it says about bob may be old.
    assert_eq!(
        av_rejected_after_roster("partial", 2),
        (JoinState::Failed, Some(JoinStep::Media))
    );
}

#[test]
fn a_current_roster_outweighs_a_failed_av_attempt() {
    // The roster is complete and says bob's A/V is connected: a retry the capture missed.
    assert_eq!(
        av_rejected_after_roster("full", 1),
        (JoinState::Joined, None)
    );
}

#[test]
fn a_cancelled_join_is_not_called_a_rejection() {
    let mut f = Feed::new();
    f.send(&invite(
        FOCUS,
        "f1",
        1,
        &c3p("request", ""),
        "application/cccp+xml",
    ));
    f.send(&answer("487 Request Terminated", FOCUS, "f1", 1, ""));
    let (state, step, reason) = f.state("sip:bob@example.com");
    assert_eq!((state, step), (JoinState::Failed, Some(JoinStep::Focus)));
    let reason = reason.expect("a reason");
    assert!(reason.contains("cancelled by the participant"), "{reason}");
    assert!(!reason.contains("rejected"), "{reason}");
}

#[test]
fn a_join_seen_from_its_answer_has_no_setup_time() {
    // The capture starts after the INVITE: the 200 opens the dialog.
    let mut f = Feed::new();
    f.send(&format!(
        "{}\nContent-Type: application/cccp+xml\n\n{}",
        answer("200 OK", FOCUS, "f1", 1, ""),
        c3p("response", "code=\"success\"")
    ));
    let c = &f.a.conferences().list()[0];
    let p = c
        .participants
        .iter()
        .find(|p| p.uri == "sip:bob@example.com")
        .expect("bob");
    let focus = p.focus.as_ref().expect("focus step");
    assert_eq!(focus.status, Some(200));
    assert_eq!(focus.setup_ms(), None, "not a made-up 0");
}

#[test]
fn dialogs_name_their_conference_as_the_conference_list_does() {
    // IDs match ignoring case; the lower-case spelling of the A/V dialog must not leak into
    // `dialogs[].conference_id`, or a script joining dialogs to conferences loses it.
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    let av_lower = AV.replace("JL3GPNYP", "jl3gpnyp");
    f.send(&invite(&av_lower, "m1", 1, "v=0\n", "application/sdp"));
    let conf = &f.a.conferences().list()[0];
    assert_eq!(conf.id, "JL3GPNYP");
    assert_eq!(f.a.conferences().list().len(), 1);
    for d in f.a.dialogs() {
        assert_eq!(
            d.conference_id.as_deref(),
            Some("JL3GPNYP"),
            "{}",
            d.call_id
        );
    }
}

#[test]
fn an_unanswered_join_times_out_only_after_timer_b() {
    let focus_for = |who: &str, call: &str| {
        format!(
            "INVITE {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}\nFrom: <{who}>;tag=t{call}\nTo: <{FOCUS}>\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/cccp+xml\n\n{}",
            c3p("request", "")
        )
    };
    // Carol's join 10 s after bob's: bob's INVITE may still be answered.
    let mut f = Feed::new();
    f.send(&focus_for("sip:bob@example.com", "b1"));
    f.frame += 100;
    f.send(&focus_for("sip:carol@example.com", "c1"));
    assert_eq!(
        f.state("sip:bob@example.com"),
        (JoinState::Invited, None, None)
    );
    // 40 s later: past Timer B, bob's join timed out.
    f.frame += 300;
    f.send(&focus_for("sip:dave@example.com", "d1"));
    let (state, step, reason) = f.state("sip:bob@example.com");
    assert_eq!((state, step), (JoinState::Failed, Some(JoinStep::Focus)));
    let reason = reason.expect("a reason");
    assert!(
        reason.contains("never answered") && reason.contains("40 s"),
        "{reason}"
    );
}

#[test]
fn the_announcement_service_is_not_a_participant() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    f.send(
        &invite(FOCUS, "svc", 1, &c3p("request", ""), "application/cccp+xml")
            .replace(
                "From: <sip:bob@example.com>",
                "From: <sip:RtcApplication-1234@example.com>",
            )
            .replace(
                "Content-Type:",
                "User-Agent: RTCC/5.0.0.0 Conferencing_Announcement_Service\nContent-Type:",
            ),
    );
    let conf = &f.a.conferences().list()[0];
    let who: Vec<&str> = conf.participants.iter().map(|p| p.uri.as_str()).collect();
    assert_eq!(who, ["sip:bob@example.com"]);
}

#[test]
fn the_roster_follows_another_subscription_when_the_merged_one_goes_quiet() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    subscribe(&mut f, "s1");
    let bob = av_user("sip:bob@example.com", "full", "connected");
    notify(&mut f, "s1", 1, &roster("full", 1, &bob));
    // Carol subscribes too; bob's client then goes away without unsubscribing, and only
    // carol's subscription keeps receiving the updates.
    f.send(&format!(
        "SUBSCRIBE {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bKs2\nFrom: <sip:carol@example.com>;tag=ts2\nTo: <{FOCUS}>\nCall-ID: s2\nCSeq: 1 SUBSCRIBE\nEvent: conference"
    ));
    let to_carol = |f: &mut Feed, cseq: u32, doc: &str| {
        f.send(&format!(
            "NOTIFY sip:carol@example.com SIP/2.0\nVia: SIP/2.0/TCP 198.51.100.10;branch=z9hG4bKs2n{cseq}\nFrom: <{FOCUS}>;tag=srv\nTo: <sip:carol@example.com>;tag=ts2\nCall-ID: s2\nCSeq: {cseq} NOTIFY\nEvent: conference\nsubscription-state: active;expires=3600\nContent-Type: application/conference-info+xml\n\n{doc}"
        ))
    };
    let carol = av_user("sip:carol@example.com", "full", "connected");
    to_carol(&mut f, 1, &roster("full", 1, &format!("{bob}{carol}")));
    for v in 2..=8u32 {
        let user = av_user(&format!("sip:u{v}@example.com"), "full", "connected");
        to_carol(&mut f, v, &roster("partial", v, &user));
    }
    let conf = &f.a.conferences().list()[0];
    assert!(
        conf.roster_copies > 0,
        "carol's first documents were copies"
    );
    let r = conf.roster().expect("a roster");
    assert!(
        r.user("sip:u8@example.com").is_some(),
        "the latest update is merged"
    );
    assert!(r.user("sip:u7@example.com").is_some());
    assert!(r.stale, "updates before the switch were missed");
}

/// A refusal's own words are the answer: the Warning header and every diagnostics header of
/// the failing response go into the reason, not only the status line.
#[test]
fn the_warning_and_every_diagnostics_header_are_in_the_reason() {
    let mut f = Feed::new();
    f.send(&invitation("alice", "w1"));
    f.send(&format!(
        "{}\nWarning: 391 example.com \"Do not disturb\"\nms-diagnostics: 1034;reason=\"Previous hop federated peer did not report diagnostic information\";source=\"edge01.example.com\"\nms-diagnostics-public: 1035;reason=\"No user presence\"",
        invitation_answer("480 Temporarily Unavailable", "alice", "w1", "b1")
    ));
    let (state, step, reason) = f.state("sip:bob@example.com");
    assert_eq!(
        (state, step),
        (JoinState::Failed, Some(JoinStep::Invitation))
    );
    let reason = reason.expect("a reason");
    assert!(reason.contains("480 Temporarily Unavailable"), "{reason}");
    assert!(
        reason.contains("Warning: 391 example.com \"Do not disturb\""),
        "{reason}"
    );
    assert!(reason.contains("ms-diagnostics 1034"), "{reason}");
    assert!(reason.contains("ms-diagnostics-public 1035"), "{reason}");
}

/// A focus join of another user (`who`), so the conference's traffic goes on.
fn focus_join_of(f: &mut Feed, who: &str, call: &str) {
    f.send(&format!(
        "INVITE {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bK{call}\nFrom: <sip:{who}@example.com>;tag=t{call}\nTo: <{FOCUS}>\nCall-ID: {call}\nCSeq: 1 INVITE\nUser-Agent: UCCAPI/15.0.4569.1503 OC/15.0.4569.1503 (Microsoft Lync)\nContent-Type: application/cccp+xml\n\n{}",
        c3p("request", "")
    ));
    f.send(&format!(
        "SIP/2.0 200 OK\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bK{call}\nFrom: <sip:{who}@example.com>;tag=t{call}\nTo: <{FOCUS}>;tag=srv\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/cccp+xml\n\n{}",
        c3p("response", "code=\"success\"")
    ));
}

/// A C3P command alice sends in her focus dialog `a1` (INFO, CSeq `cseq`).
fn alice_c3p(f: &mut Feed, cseq: u32, body: &str) {
    f.send(&format!(
        "INFO {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bKa1info{cseq}\nFrom: <sip:alice@example.com>;tag=ta1\nTo: <{FOCUS}>;tag=srv\nCall-ID: a1\nCSeq: {cseq} INFO\nContent-Type: application/cccp+xml\n\n{body}"
    ));
}

/// The focus's 200 to alice's INFO `cseq`, with its C3P response.
fn alice_c3p_answer(f: &mut Feed, cseq: u32, body: &str) {
    f.send(&format!(
        "SIP/2.0 200 OK\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bKa1info{cseq}\nFrom: <sip:alice@example.com>;tag=ta1\nTo: <{FOCUS}>;tag=srv\nCall-ID: a1\nCSeq: {cseq} INFO\nContent-Type: application/cccp+xml\n\n{body}"
    ));
}

#[test]
fn an_invitation_that_rang_without_an_answer_says_so() {
    let mut f = Feed::new();
    f.send(&invitation("alice", "i1"));
    f.send(&format!(
        "{}\nUser-Agent: UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)",
        invitation_answer("180 Ringing", "alice", "i1", "b1")
    ));
    f.frame += 250; // 25 s later, someone else joins; bob's client never answered
    focus_join_of(&mut f, "carol", "c1");
    let (state, failed, reason) = f.state("sip:bob@example.com");
    assert_eq!((state, failed), (JoinState::Invited, None));
    let reason = reason.expect("a ringing invitation has a reason");
    assert!(
        reason.contains("rang (180 Ringing at 00:00:00.200) for 25.2 s")
            && reason.contains("no final answer"),
        "{reason}"
    );
    let c = &f.a.conferences().list()[0];
    let bob = c
        .participants
        .iter()
        .find(|p| p.uri.contains("bob"))
        .expect("bob");
    assert_eq!(
        bob.client(),
        Some(lyncscope::sip::user_agent::ClientKind::SkypeForBusiness2016)
    );
    let carol = c
        .participants
        .iter()
        .find(|p| p.uri.contains("carol"))
        .expect("carol");
    assert_eq!(
        carol.client(),
        Some(lyncscope::sip::user_agent::ClientKind::Lync2013)
    );
}

fn bye(f: &mut Feed, call: &str, from_participant: bool) {
    let (from, to) = if from_participant {
        (
            format!("<sip:bob@example.com>;tag=t{call}"),
            format!("<{FOCUS}>;tag=srv"),
        )
    } else {
        (
            format!("<{FOCUS}>;tag=srv"),
            format!("<sip:bob@example.com>;tag=t{call}"),
        )
    };
    f.send(&format!(
        "BYE sip:x@example.com SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}bye\nFrom: {from}\nTo: {to}\nCall-ID: {call}\nCSeq: 9 BYE"
    ));
}

#[test]
fn a_participant_who_hung_up_left_by_their_own_bye() {
    use lyncscope::analysis::{EndedBy, Ending};
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    bye(&mut f, "f1", true);
    let c = &f.a.conferences().list()[0];
    let bob = &c.participants[0];
    assert_eq!(c.diagnose(bob).state, JoinState::Left);
    match c.ending(bob, &c.diagnose(bob)) {
        Some(Ending::Dialog { step, by, at }) => {
            assert_eq!(
                (step, by, at.0),
                (JoinStep::Focus, EndedBy::Participant, 300_000_000)
            )
        }
        other => panic!("{other:?}"),
    }
    let text =
        lyncscope::report::reason::ending_text(&c.ending(bob, &c.diagnose(bob)).expect("ending"));
    assert_eq!(
        text,
        "left at 00:00:00.300 (BYE from the participant in the focus dialog)"
    );
}

#[test]
fn a_participant_removed_by_the_organizer_is_removed_not_left() {
    use lyncscope::analysis::Ending;
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    focus_join_of(&mut f, "alice", "a1");
    let delete = "<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"7\" C3PVersion=\"1\"><deleteUser><userKeys confEntity=\"sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP\" userEntity=\"sip:bob@example.com\"/></deleteUser></request>";
    alice_c3p(&mut f, 2, delete);
    alice_c3p_answer(&mut f, 2, "<response xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"7\" C3PVersion=\"1\" code=\"success\"><deleteUser/></response>");
    bye(&mut f, "f1", false);
    let c = &f.a.conferences().list()[0];
    let bob = c
        .participants
        .iter()
        .find(|p| p.uri.contains("bob"))
        .expect("bob");
    assert_eq!(c.diagnose(bob).state, JoinState::Left);
    let Some(Ending::Removed(r)) = c.ending(bob, &c.diagnose(bob)) else {
        panic!("{:?}", c.ending(bob, &c.diagnose(bob)));
    };
    assert_eq!(r.by, "sip:alice@example.com");
    let text =
        lyncscope::report::reason::ending_text(&c.ending(bob, &c.diagnose(bob)).expect("ending"));
    assert_eq!(text, "removed by sip:alice@example.com at 00:00:00.500");
    // alice asked; alice is still in.
    let alice = c
        .participants
        .iter()
        .find(|p| p.uri.contains("alice"))
        .expect("alice");
    assert_eq!(c.diagnose(alice).state, JoinState::FocusJoined);
}

#[test]
fn a_removal_the_focus_refused_is_not_a_removal() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    focus_join_of(&mut f, "alice", "a1");
    let delete = "<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"7\"><deleteUser><userKeys userEntity=\"sip:bob@example.com\"/></deleteUser></request>";
    alice_c3p(&mut f, 2, delete);
    alice_c3p_answer(&mut f, 2, "<response xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"7\" code=\"failure\"><deleteUser reason=\"notAuthorized\"/></response>");
    let c = &f.a.conferences().list()[0];
    let bob = c
        .participants
        .iter()
        .find(|p| p.uri.contains("bob"))
        .expect("bob");
    assert_eq!(c.diagnose(bob).state, JoinState::FocusJoined);
    assert!(c.ending(bob, &c.diagnose(bob)).is_none());
}

/// alice (a leader, in the conference) decides about bob waiting in the lobby.
fn lobby_access(f: &mut Feed, access: &str, answer: &str) {
    focus_join_of(f, "alice", "a1");
    let body = format!("<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"8\" C3PVersion=\"1\"><setLobbyAccess><conferenceKeys confEntity=\"{FOCUS}\"/><userEntity>sip:bob@example.com</userEntity><access>{access}</access></setLobbyAccess></request>");
    alice_c3p(f, 3, &body);
    alice_c3p_answer(f, 3, &format!("<response xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"8\" code=\"{answer}\"><setLobbyAccess/></response>"));
}

#[test]
fn a_participant_refused_from_the_lobby_failed_at_the_focus_saying_by_whom() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "pending");
    lobby_access(&mut f, "denied", "success");
    bye(&mut f, "f1", false);
    let (state, failed, reason) = f.state("sip:bob@example.com");
    assert_eq!((state, failed), (JoinState::Failed, Some(JoinStep::Focus)));
    let reason = reason.expect("a reason");
    assert!(
        reason.starts_with("sip:alice@example.com refused sip:bob@example.com entry from the lobby at 00:00:00.500"),
        "{reason}"
    );
}

#[test]
fn a_participant_admitted_from_the_lobby_joins_and_says_by_whom() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "pending");
    lobby_access(&mut f, "granted", "success");
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Lobby);
    let reason = f.state("sip:bob@example.com").2.expect("a reason");
    assert!(
        reason.contains("admitted by sip:alice@example.com at 00:00:00.500"),
        "{reason}"
    );
    // Admitted: bob's A/V join goes through.
    f.send(&invite(
        AV,
        "m1",
        1,
        "v=0\nm=audio 5000 RTP/AVP 0\n",
        "application/sdp",
    ));
    f.send(&answer("200 OK", AV, "m1", 1, ""));
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Joined);
    let c = &f.a.conferences().list()[0];
    let bob = c
        .participants
        .iter()
        .find(|p| p.uri.contains("bob"))
        .expect("bob");
    let d = bob.lobby_decision.as_ref().expect("decision");
    assert!(d.admitted && !d.refused && d.by == "sip:alice@example.com");
}

#[test]
fn a_lobby_decision_the_focus_refused_does_not_count() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "pending");
    lobby_access(&mut f, "denied", "failure");
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::Lobby);
}

#[test]
fn hanging_up_in_the_lobby_is_giving_up_and_the_focus_ending_it_is_not() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "pending");
    bye(&mut f, "f1", true);
    let (state, failed, reason) = f.state("sip:bob@example.com");
    assert_eq!((state, failed), (JoinState::Failed, Some(JoinStep::Focus)));
    assert!(reason.is_some_and(|r| r.contains("hung up while waiting in the lobby")));

    let mut f = Feed::new();
    focus_join(&mut f, "f1", "pending");
    bye(&mut f, "f1", false);
    let reason = f.state("sip:bob@example.com").2.expect("a reason");
    assert!(
        reason.contains("the lobby timed out, or a leader refused them"),
        "{reason}"
    );
}

#[test]
fn a_roster_showing_the_focus_endpoint_on_hold_is_the_lobby() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    subscribe(&mut f, "r1");
    let user = "<user entity=\"sip:bob@example.com\" state=\"full\"><endpoint entity=\"{e}\" session-type=\"focus\"><status>on-hold</status></endpoint></user>";
    notify(&mut f, "r1", 1, &roster("full", 1, user));
    let (state, _, reason) = f.state("sip:bob@example.com");
    assert_eq!(state, JoinState::Lobby);
    assert!(reason.is_some_and(|r| r.contains("roster shows the focus endpoint waiting")));
    // Admitted: the roster shows the focus endpoint connected.
    notify(
        &mut f,
        "r1",
        2,
        &roster("full", 2, &user.replace("on-hold", "connected")),
    );
    assert_eq!(f.state("sip:bob@example.com").0, JoinState::FocusJoined);
}

#[test]
fn a_refusal_by_the_edge_says_the_edge_refused() {
    let mut f = Feed::new();
    f.send(&format!(
        "INVITE {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bKe1\nFrom: <sip:erin@partner.example>;tag=te1\nTo: <{FOCUS}>\nCall-ID: e1\nCSeq: 1 INVITE\nms-edge-proxy-message-trust: ms-source-type=DirectPartner;ms-ep-fqdn=edge01.example.com;ms-source-verified-user=verified;ms-source-network=federation\nContent-Type: application/cccp+xml\n\n{}",
        c3p("request", "")
    ));
    f.send(&format!(
        "SIP/2.0 504 Server time-out\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bKe1\nFrom: <sip:erin@partner.example>;tag=te1\nTo: <{FOCUS}>;tag=srv\nCall-ID: e1\nCSeq: 1 INVITE\nms-diagnostics: 1010;reason=\"Certificate trust with another server could not be established\";source=\"edge01.example.com\""
    ));
    let (state, failed, reason) = f.state("sip:erin@partner.example");
    assert_eq!((state, failed), (JoinState::Failed, Some(JoinStep::Focus)));
    let reason = reason.expect("a reason");
    assert!(
        reason.starts_with("the Edge (edge01.example.com) refused sip:erin@partner.example's join to the conference focus: 504 Server time-out, ms-diagnostics 1010"),
        "{reason}"
    );
    let c = &f.a.conferences().list()[0];
    assert_eq!(
        c.participants[0].access(),
        Some(lyncscope::analysis::Access::Federated)
    );
    // The same 504 without the Edge's word is the focus refusing.
    let mut f = Feed::new();
    f.send(&invite(
        FOCUS,
        "e2",
        1,
        &c3p("request", ""),
        "application/cccp+xml",
    ));
    f.send(&answer(
        "504 Server time-out",
        FOCUS,
        "e2",
        1,
        "ms-diagnostics: 1010;reason=\"x\";source=\"fe01.example.com\"",
    ));
    let reason = f.state("sip:bob@example.com").2.expect("a reason");
    assert!(
        reason.starts_with("the conference focus rejected the join"),
        "{reason}"
    );
}

#[test]
fn phones_and_anonymous_guests_are_told_apart() {
    use lyncscope::analysis::Access;
    let mut f = Feed::new();
    focus_join_of(&mut f, "+14255550100", "p1");
    focus_join_of(&mut f, "6551156d569c4b7d945f310ff10943c5", "g1");
    let c = &f.a.conferences().list()[0];
    assert_eq!(c.participants[0].access(), Some(Access::Phone));
    assert_eq!(c.participants[1].access(), None); // @example.com, not anonymous.invalid
}

/// bob's focus join from the device `epid`, answered `status` with C3P `code`.
fn device_focus_join(f: &mut Feed, call: &str, epid: &str, status: &str, code: &str) {
    f.send(&format!(
        "INVITE {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}\nFrom: <sip:bob@example.com>;tag=t{call};epid={epid}\nTo: <{FOCUS}>\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/cccp+xml\n\n{}",
        c3p("request", "")
    ));
    f.send(&format!(
        "SIP/2.0 {status}\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{call}\nFrom: <sip:bob@example.com>;tag=t{call};epid={epid}\nTo: <{FOCUS}>;tag=srv\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/cccp+xml\n\n{}",
        c3p("response", &format!("code=\"{code}\""))
    ));
}

#[test]
fn each_device_of_a_user_has_its_own_row_and_the_user_the_best_state() {
    let mut f = Feed::new();
    f.send(&invitation("alice", "i1"));
    f.send(&invitation_answer("200 OK", "alice", "i1", "b1"));
    device_focus_join(&mut f, "d1", "1a2b3c4d5e", "200 OK", "success");
    device_focus_join(&mut f, "d2", "9f8e7d6c5b", "403 Forbidden", "failure");
    // The desktop rejoins: the same device, not a third one.
    device_focus_join(&mut f, "d3", "1a2b3c4d5e", "200 OK", "success");
    let c = &f.a.conferences().list()[0];
    let bobs: Vec<_> = c
        .participants
        .iter()
        .filter(|p| p.uri == "sip:bob@example.com")
        .collect();
    assert_eq!(bobs.len(), 2, "{bobs:#?}");
    assert_eq!(bobs[0].device.as_deref(), Some("1a2b3c4d5e"));
    assert_eq!(bobs[1].device.as_deref(), Some("9f8e7d6c5b"));
    // The invitation was addressed to the user: it stays with the first device.
    assert!(bobs[0].invitation.is_some() && bobs[1].invitation.is_none());
    assert_eq!(c.diagnose(bobs[0]).state, JoinState::FocusJoined);
    let failed = c.diagnose(bobs[1]);
    assert_eq!(
        (failed.state, failed.failed_step),
        (JoinState::Failed, Some(JoinStep::Focus))
    );
    assert_eq!(c.user_state(bobs[1]), JoinState::FocusJoined);
}

#[test]
fn devices_beyond_the_bound_are_counted_and_folded_into_the_first() {
    let mut f = Feed::new();
    for i in 0..12 {
        device_focus_join(
            &mut f,
            &format!("d{i}"),
            &format!("epid{i:06}"),
            "200 OK",
            "success",
        );
    }
    let c = &f.a.conferences().list()[0];
    assert_eq!(c.participants.len(), 8);
    assert_eq!(f.a.conferences().stats.devices_dropped, 4);
}

#[test]
fn a_rejoin_after_a_drop_keeps_the_first_attempt_and_the_second_decides() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    bye(&mut f, "f1", false); // the focus dropped the session
    focus_join(&mut f, "f2", "success");
    let c = &f.a.conferences().list()[0];
    let bob = &c.participants[0];
    assert_eq!(c.diagnose(bob).state, JoinState::FocusJoined);
    assert_eq!(bob.earlier_focus.len(), 1);
    assert_eq!(&*bob.earlier_focus[0].call_id, "f1");
    assert_eq!(
        bob.earlier_focus[0].ended_by,
        Some(lyncscope::analysis::EndedBy::Server)
    );
    let mut text = Vec::new();
    lyncscope::report::text::conference_trees(&mut text, &f.a).expect("written");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(
        text.contains(
            "earlier focus attempt f1 at 00:00:00.100: 200 OK, ended by the server at 00:00:00.300"
        ),
        "{text}"
    );
}

#[test]
fn a_sharing_join_that_failed_is_shown_beside_a_join_that_worked() {
    const AS: &str = "sip:alice@example.com;gruu;opaque=app:conf:applicationsharing:id:JL3GPNYP";
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    f.send(&invite(
        AV,
        "m1",
        1,
        "v=0\nm=audio 5000 RTP/AVP 0\n",
        "application/sdp",
    ));
    f.send(&answer("200 OK", AV, "m1", 1, ""));
    f.send(&invite(
        AS,
        "s1",
        1,
        "v=0\nm=applicationsharing 5000 TCP/RTP/AVP 127\n",
        "application/sdp",
    ));
    f.send(&answer(
        "488 Not Acceptable Here",
        AS,
        "s1",
        1,
        "ms-diagnostics: 24000;reason=\"Error parsing SDP\";source=\"asmcu.example.com\"",
    ));
    let c = &f.a.conferences().list()[0];
    let bob = &c.participants[0];
    assert_eq!(c.diagnose(bob).state, JoinState::Joined);
    // One attempt each holds room for one: a participant's lists of attempts do not reserve
    // four steps (2 KB) for the one nearly everybody has.
    assert_eq!((bob.media.capacity(), bob.mcus.capacity()), (1, 1));
    let others = c.other_failures(bob, &c.diagnose(bob));
    assert_eq!(others.len(), 1);
    let text = lyncscope::report::reason::other_failure_text(others[0].0, others[0].1);
    assert_eq!(
        text,
        "the application sharing MCU rejected the join: 488 Not Acceptable Here, ms-diagnostics 24000 \"Error parsing SDP\" from asmcu.example.com (error parsing SDP (application sharing))"
    );
    // The JSON names the step `sharing` (and keeps the MCU token's key).
    let sel = lyncscope::report::select::Selection::default();
    let json = serde_json::to_value(lyncscope::report::conferences::Conferences(&f.a, &sel))
        .expect("json");
    let steps = &json[0]["participants"][0]["steps"];
    assert_eq!(steps["sharing"]["status"], 488, "{steps}");
    assert_eq!(steps["sharing"]["call_id"], "s1");
    assert_eq!(steps["sharing"], steps["applicationsharing"]);
}

#[test]
fn a_call_escalated_to_a_conference_is_linked_to_it() {
    let mut f = Feed::new();
    // bob calls alice; alice turns the call into her conference and invites bob into it.
    f.send(&invite(
        "sip:alice@example.com",
        "p2p",
        1,
        "v=0\nm=audio 5000 RTP/AVP 0\n",
        "application/sdp",
    ));
    f.send(&answer("200 OK", "sip:alice@example.com", "p2p", 1, ""));
    f.send(&invitation("alice", "i1"));
    f.send(&invitation_answer("200 OK", "alice", "i1", "b1"));
    f.send("BYE sip:alice@example.com SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bKp2pbye\nFrom: <sip:bob@example.com>;tag=tp2p\nTo: <sip:alice@example.com>;tag=srv\nCall-ID: p2p\nCSeq: 2 BYE");
    let esc = f.a.escalations();
    let d = esc[0]
        .and_then(|d| f.a.dialogs().get(d as usize))
        .expect("linked");
    assert_eq!(&*d.call_id, "p2p");
    // A call that had ended before the invitation is not the one escalated.
    let mut f = Feed::new();
    f.send(&invite(
        "sip:alice@example.com",
        "p2p",
        1,
        "v=0\n",
        "application/sdp",
    ));
    f.send(&answer("200 OK", "sip:alice@example.com", "p2p", 1, ""));
    f.send("BYE sip:alice@example.com SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bKp2pbye\nFrom: <sip:bob@example.com>;tag=tp2p\nTo: <sip:alice@example.com>;tag=srv\nCall-ID: p2p\nCSeq: 2 BYE");
    f.send(&invitation("alice", "i1"));
    assert_eq!(f.a.escalations(), vec![None]);
}

#[test]
fn a_dial_out_that_failed_says_the_mcu_called_and_who_asked() {
    let mut f = Feed::new();
    focus_join_of(&mut f, "alice", "a1");
    let add = format!("<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"5\"><addUser><conferenceKeys confEntity=\"{FOCUS}\"/><user entity=\"tel:+14255550100\"><endpoint entity=\"{{6a0f}}\"><joining-method>dialed-out</joining-method></endpoint></user></addUser></request>");
    alice_c3p(&mut f, 2, &add);
    f.send(&format!(
        "INVITE tel:+14255550100 SIP/2.0\nVia: SIP/2.0/TCP 198.51.100.10;branch=z9hG4bKdo1\nFrom: <{AV}>;tag=mcu1\nTo: <tel:+14255550100>\nCall-ID: do1\nCSeq: 1 INVITE\nContent-Type: application/sdp\n\nv=0\nm=audio 5000 RTP/AVP 0\n"
    ));
    f.send(&format!(
        "SIP/2.0 486 Busy Here\nVia: SIP/2.0/TCP 198.51.100.10;branch=z9hG4bKdo1\nFrom: <{AV}>;tag=mcu1\nTo: <tel:+14255550100>;tag=gw\nCall-ID: do1\nCSeq: 1 INVITE"
    ));
    let (state, failed, reason) = f.state("tel:+14255550100");
    assert_eq!((state, failed), (JoinState::Failed, Some(JoinStep::Media)));
    assert_eq!(
        reason.as_deref(),
        Some("the A/V MCU dialled out to tel:+14255550100 and the call failed: 486 Busy Here")
    );
    let c = &f.a.conferences().list()[0];
    let phone = c
        .participants
        .iter()
        .find(|p| p.uri == "tel:+14255550100")
        .expect("callee");
    assert_eq!(
        c.dialed_out_by(phone).map(|(by, _)| by),
        Some("sip:alice@example.com")
    );
    assert_eq!(phone.access(), Some(lyncscope::analysis::Access::Phone));
}

#[test]
fn a_conference_ended_by_its_organizer_says_by_whom() {
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    focus_join_of(&mut f, "alice", "a1");
    alice_c3p(&mut f, 4, &format!("<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"11\"><deleteConference><conferenceKeys confEntity=\"{FOCUS}\"/></deleteConference></request>"));
    bye(&mut f, "f1", false);
    let c = &f.a.conferences().list()[0];
    let bob = &c.participants[0];
    assert_eq!(c.diagnose(bob).state, JoinState::Left);
    let text =
        lyncscope::report::reason::ending_text(&c.ending(bob, &c.diagnose(bob)).expect("ending"));
    assert_eq!(
        text,
        "the conference was ended by sip:alice@example.com at 00:00:00.500"
    );
}

#[test]
fn a_conference_deleted_through_the_focus_factory_says_by_whom() {
    // [MS-CONFBAS]: the client asks the focus factory (a SERVICE outside the conference's
    // dialogs), naming the conference in conferenceKeys.
    let mut f = Feed::new();
    focus_join(&mut f, "f1", "success");
    let factory = "sip:alice@example.com;gruu;opaque=app:conf:focusfactory";
    let delete = format!("<request xmlns=\"urn:ietf:params:xml:ns:cccp\" C3PVersion=\"1\" to=\"{factory}\" from=\"sip:alice@example.com\" requestId=\"12\"><deleteConference><conferenceKeys confEntity=\"{FOCUS}\"/></deleteConference></request>");
    f.send(&format!(
        "SERVICE {factory} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bKdel\nFrom: <sip:alice@example.com>;tag=tdel\nTo: <{factory}>\nCall-ID: del1\nCSeq: 1 SERVICE\nContent-Type: application/cccp+xml\n\n{delete}"
    ));
    // Another conference's deletion, or an unknown one, credits nobody here.
    let other = FOCUS.replace("JL3GPNYP", "OTHER123");
    f.send(&format!(
        "SERVICE {factory} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.23;branch=z9hG4bKdel2\nFrom: <sip:mallory@example.com>;tag=tdel2\nTo: <{factory}>\nCall-ID: del2\nCSeq: 1 SERVICE\nContent-Type: application/cccp+xml\n\n{}",
        delete.replace(FOCUS, &other)
    ));
    bye(&mut f, "f1", false);
    let confs = f.a.conferences().list();
    assert_eq!(confs.len(), 1, "a deletion does not make a conference");
    let c = &confs[0];
    assert_eq!(
        c.deleted_by.as_ref().map(|(by, _)| by.as_str()),
        Some("sip:alice@example.com")
    );
    let bob = &c.participants[0];
    let text =
        lyncscope::report::reason::ending_text(&c.ending(bob, &c.diagnose(bob)).expect("ending"));
    assert_eq!(
        text,
        "the conference was ended by sip:alice@example.com at 00:00:00.300"
    );
}
