//! Every bound that drops something is counted and named in the reports (issue 16): many
//! conferences, a conference with too many participants, a roster with too many users.
//! Inputs are built in memory and handed over as whole messages.

use lyncscope::pipeline::Pipeline;
use lyncscope::report::{self, ReportInput};
use lyncscope::source::{Origin, SourceMessage, Transport};
use lyncscope::Timestamp;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id";

fn push(p: &mut Pipeline, n: u64, text: &str) {
    let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 5060);
    let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 5060);
    p.push_message(&SourceMessage {
        number: n,
        time: Timestamp(1_700_000_000_000_000_000 + n as i64 * 1000),
        src: a,
        dst: b,
        transport: Transport::Udp,
        origin: Origin::default(),
        bytes: text.as_bytes(),
    });
}

/// A focus INVITE (C3P addUser) from `user` to conference `id`: one dialog of that
/// conference, with `user` as its participant.
fn focus_invite(id: &str, user: &str, call_id: &str) -> String {
    format!(
        "INVITE {FOCUS}:{id} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{call_id}\r\n\
         From: <sip:{user}@example.com>;tag=t{call_id}\r\nTo: <{FOCUS}:{id}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
}

fn reports(p: &Pipeline) -> (serde_json::Value, String) {
    let sources = ["memory".to_string()];
    let input = ReportInput {
        sources: &sources,
        ..Default::default()
    };
    let mut json = Vec::new();
    report::json::write(&mut json, &input, &p.stats(), p.analysis()).expect("json");
    let mut text = Vec::new();
    report::text::write(&mut text, &input, &p.stats(), p.analysis()).expect("text");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    (json, String::from_utf8(text).expect("UTF-8"))
}

fn problems(text: &str) -> &str {
    text.lines()
        .find(|l| l.trim_start().starts_with("Problems:"))
        .expect("a Problems line")
}

fn bound_hit(json: &serde_json::Value, name: &str) -> Option<u64> {
    json["stats"]["bounds_hit"]
        .as_array()
        .expect("bounds_hit")
        .iter()
        .find(|h| h["bound"] == name)
        .map(|h| h["count"].as_u64().expect("count"))
}

#[test]
fn conferences_over_the_bound_are_counted_in_both_reports() {
    let mut p = Pipeline::new(&Default::default());
    for n in 0..150_000u64 {
        push(
            &mut p,
            n + 1,
            &focus_invite(&format!("C{n}"), "bob", &format!("c{n}")),
        );
    }
    // A second dialog of some conferences not tracked: a conference is counted once.
    for n in 149_000..150_000u64 {
        push(
            &mut p,
            n + 200_000,
            &focus_invite(&format!("C{n}"), "carol", &format!("d{n}")),
        );
    }
    assert_eq!(p.analysis().conferences().list().len(), 100_000);
    let (json, text) = reports(&p);
    assert_eq!(json["stats"]["conferences"], 100_000);
    assert!(json["stats"]["conference_dialogs_dropped"].as_u64() > Some(50_000));
    assert_eq!(json["stats"]["conferences_dropped"], 50_000);
    assert_eq!(bound_hit(&json, "conferences_dropped"), Some(50_000));
    let line = problems(&text);
    assert!(
        line.contains("50000 conferences not tracked (bound: 100,000 conferences;"),
        "{line}"
    );
}

#[test]
fn participants_over_the_bound_of_one_conference_are_counted() {
    let mut p = Pipeline::new(&Default::default());
    for n in 0..12_000u64 {
        push(
            &mut p,
            n + 1,
            &focus_invite("BIG", &format!("u{n}"), &format!("c{n}")),
        );
    }
    let conf = &p.analysis().conferences().list()[0];
    assert_eq!(conf.participants.len(), 10_000);
    let (json, text) = reports(&p);
    assert_eq!(json["stats"]["participants_dropped"], 2_000);
    assert_eq!(bound_hit(&json, "participants_dropped"), Some(2_000));
    assert!(
        problems(&text)
            .contains("2000 participants dropped (bound: 10,000 participants per conference;"),
        "{}",
        problems(&text)
    );
}

#[test]
fn a_roster_over_the_user_bound_is_counted() {
    let mut p = Pipeline::new(&Default::default());
    let subscribe = format!(
        "SUBSCRIBE {FOCUS}:R SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs\r\n\
         From: <sip:bob@example.com>;tag=b1\r\nTo: <{FOCUS}:R>\r\nCall-ID: roster\r\n\
         CSeq: 1 SUBSCRIBE\r\nEvent: conference\r\nContent-Length: 0\r\n\r\n"
    );
    push(&mut p, 1, &subscribe);
    let mut body = format!(
        "<?xml version=\"1.0\"?><conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" \
         entity=\"{FOCUS}:R\" state=\"full\" version=\"1\"><users>"
    );
    for n in 0..118_000 {
        body.push_str(&format!("<user entity=\"sip:u{n}@example.com\"/>"));
    }
    body.push_str("</users></conference-info>");
    let notify = format!(
        "NOTIFY sip:bob@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKn\r\n\
         From: <{FOCUS}:R>;tag=f1\r\nTo: <sip:bob@example.com>;tag=b1\r\nCall-ID: roster\r\n\
         CSeq: 1 NOTIFY\r\nEvent: conference\r\n\
         Content-Type: application/conference-info+xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    push(&mut p, 2, &notify);
    let conf = &p.analysis().conferences().list()[0];
    assert_eq!(conf.roster.as_ref().expect("merged").len(), 10_000);
    let (json, text) = reports(&p);
    assert_eq!(json["stats"]["roster_users_dropped"], 108_000);
    assert_eq!(bound_hit(&json, "roster_users_dropped"), Some(108_000));
    assert!(
        problems(&text).contains("108000 roster users dropped (bound: 10,000 users per roster;"),
        "{}",
        problems(&text)
    );
}

#[test]
fn a_clean_input_names_no_bound() {
    let mut p = Pipeline::new(&Default::default());
    push(&mut p, 1, &focus_invite("A", "bob", "c1"));
    let (json, text) = reports(&p);
    assert_eq!(json["stats"]["bounds_hit"], serde_json::json!([]));
    assert!(!problems(&text).contains("bound:"), "{text}");
}
