//! C3P commands outside the join INVITE (INFO in the focus dialog) are matched to their
//! responses by `requestId`, whichever SIP message carries the response; SERVICE to the focus
//! factory is conference control, not a conference.

use lyncscope::analysis::{Analysis, DialogKind};
use lyncscope::sip::frame_stream;
use lyncscope::transport::{MsgContext, SipSink, Transport};
use lyncscope::Timestamp;
use std::net::SocketAddr;

const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";

fn feed(a: &mut Analysis, frame: u64, text: &str) {
    let text = text.replace('\n', "\r\n");
    let text = match text.split_once("\r\n\r\n") {
        Some((head, body)) => format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
        None => text,
    };
    let (m, _) = frame_stream(text.as_bytes()).expect("a SIP message");
    let client: SocketAddr = "192.0.2.22:5061".parse().expect("addr");
    let server: SocketAddr = "198.51.100.10:5061".parse().expect("addr");
    let (src, dst) = if m.is_request() && !text.contains("From: <sip:alice@example.com;gruu") {
        (client, server)
    } else {
        (server, client)
    };
    let ctx = MsgContext {
        frame,
        first_frame: frame,
        time: Timestamp(frame as i64 * 10_000_000),
        src,
        dst,
        transport: Transport::Tcp,
        ip_reassembled: false,
        reassembled: false,
        icmp_quoted: false,
        link_type: 1,
        origin: Default::default(),
    };
    a.message(&ctx, &m);
}

fn c3p(root: &str, attrs: &str, command: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n<{root} xmlns=\"urn:ietf:params:xml:ns:cccp\" C3PVersion=\"1\" {attrs}><{command}/></{root}>")
}

fn request(method: &str, cseq: &str, to_tag: &str, body: &str) -> String {
    format!(
        "{method} {FOCUS} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{cseq}{method}\nFrom: <sip:bob@example.com>;tag=b1\nTo: <{FOCUS}>{to_tag}\nCall-ID: focus-1\nCSeq: {cseq} {method}\nContent-Type: application/cccp+xml\n\n{body}"
    )
}

fn response(status: &str, cseq: &str, method: &str, body: &str) -> String {
    format!(
        "SIP/2.0 {status}\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bK{cseq}{method}\nFrom: <sip:bob@example.com>;tag=b1\nTo: <{FOCUS}>;tag=f1\nCall-ID: focus-1\nCSeq: {cseq} {method}\nContent-Type: application/cccp+xml\n\n{body}"
    )
}

#[test]
fn info_commands_are_matched_by_request_id() {
    let mut a = Analysis::new(true);
    feed(
        &mut a,
        1,
        &request(
            "INVITE",
            "1",
            "",
            &c3p(
                "request",
                "requestId=\"1\" from=\"sip:bob@example.com\"",
                "addUser",
            ),
        ),
    );
    feed(
        &mut a,
        2,
        &response(
            "200 OK",
            "1",
            "INVITE",
            &c3p("response", "requestId=\"1\" code=\"success\"", "addUser"),
        ),
    );
    feed(
        &mut a,
        3,
        &request(
            "INFO",
            "2",
            ";tag=f1",
            &c3p("request", "requestId=\"2\"", "modifyEndpointMedia"),
        ),
    );
    feed(
        &mut a,
        4,
        &request(
            "INFO",
            "3",
            ";tag=f1",
            &c3p("request", "requestId=\"3\"", "modifyConferenceLock"),
        ),
    );
    // The responses come back out of order, and one of them in a 200 to the other INFO.
    feed(
        &mut a,
        5,
        &response(
            "200 OK",
            "3",
            "INFO",
            &c3p(
                "response",
                "requestId=\"3\" code=\"failure\"",
                "modifyConferenceLock reason=\"notAuthorized\"",
            ),
        ),
    );
    feed(
        &mut a,
        6,
        &response(
            "200 OK",
            "2",
            "INFO",
            &c3p(
                "response",
                "requestId=\"2\" code=\"success\"",
                "modifyEndpointMedia",
            ),
        ),
    );

    let confs = a.conferences().list();
    assert_eq!(confs.len(), 1);
    let control: Vec<_> = confs[0]
        .control
        .iter()
        .map(|(_, o)| {
            (
                o.request.as_deref(),
                o.request_id.as_deref(),
                o.code.as_ref().map(|c| c.as_str()),
                o.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        control,
        [
            (
                Some("modifyEndpointMedia"),
                Some("2"),
                Some("success"),
                None
            ),
            (
                Some("modifyConferenceLock"),
                Some("3"),
                Some("failure"),
                Some("notAuthorized")
            ),
        ]
    );
    let bob = &confs[0].participants[0];
    assert_eq!(confs[0].diagnose(bob).state.as_str(), "focus-joined");
    assert_eq!(a.dialogs()[0].kind, DialogKind::Focus);
}

#[test]
fn service_to_the_focus_factory_is_control_not_a_conference() {
    let mut a = Analysis::new(true);
    let factory = "sip:alice@example.com;gruu;opaque=app:conf:focusfactory";
    let service = format!(
        "SERVICE {factory} SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.22;branch=z9hG4bKs1\nFrom: <sip:alice@example.com>;tag=a1\nTo: <{factory}>\nCall-ID: svc-1\nCSeq: 1 SERVICE\nContent-Type: application/cccp+xml\n\n{}",
        c3p("request", "requestId=\"9\"", "getConferencingCapabilities")
    );
    feed(&mut a, 1, &service);
    assert!(a.conferences().list().is_empty());
    assert_eq!(a.dialogs()[0].kind, DialogKind::ConferenceControl);
    assert_eq!(a.dialogs()[0].conference_id, None);
}

#[test]
fn two_clients_with_the_same_request_id_get_their_own_responses() {
    // Every client numbers its own C3P requests: bob's and carol's INFO both say
    // requestId="2"; each response answers the request of its own dialog.
    let mut a = Analysis::new(true);
    let carol = |text: String| {
        text.replace("focus-1", "focus-2").replace(
            "sip:bob@example.com>;tag=b1",
            "sip:carol@example.com>;tag=c1",
        )
    };
    let join = |a: &mut Analysis, frame: u64, who: &dyn Fn(String) -> String| {
        feed(
            a,
            frame,
            &who(request(
                "INVITE",
                "1",
                "",
                &c3p("request", "requestId=\"1\"", "addUser"),
            )),
        );
        feed(
            a,
            frame + 1,
            &who(response(
                "200 OK",
                "1",
                "INVITE",
                &c3p("response", "requestId=\"1\" code=\"success\"", "addUser"),
            )),
        );
    };
    join(&mut a, 1, &|t| t);
    join(&mut a, 3, &carol);
    let info = |cmd: &str| {
        request(
            "INFO",
            "2",
            ";tag=f1",
            &c3p("request", "requestId=\"2\"", cmd),
        )
    };
    feed(&mut a, 5, &info("modifyEndpointMedia"));
    feed(&mut a, 6, &carol(info("modifyConferenceLock")));
    // Bob's answer comes first: the latest open requestId="2" is carol's, not his.
    feed(
        &mut a,
        7,
        &response(
            "200 OK",
            "2",
            "INFO",
            &c3p(
                "response",
                "requestId=\"2\" code=\"success\"",
                "modifyEndpointMedia",
            ),
        ),
    );
    feed(
        &mut a,
        8,
        &carol(response(
            "200 OK",
            "2",
            "INFO",
            &c3p(
                "response",
                "requestId=\"2\" code=\"failure\"",
                "modifyConferenceLock",
            ),
        )),
    );
    let control: Vec<_> = a.conferences().list()[0]
        .control
        .iter()
        .map(|(_, o)| (o.request.as_deref(), o.code.as_ref().map(|c| c.as_str())))
        .collect();
    assert_eq!(
        control,
        [
            (Some("modifyEndpointMedia"), Some("success")),
            (Some("modifyConferenceLock"), Some("failure")),
        ]
    );
}
