//! The JSON report written on two threads (`report::json::write_split`: the dialog list
//! rendered ahead, in chunks, on a second thread) is the report `report::json::write` writes,
//! byte for byte: with many chunks, with chunks that list nothing, with no dialog at all, with
//! a selection, with the message list.

use lyncscope::report::select::Selection;
use lyncscope::report::{json, ReportInput};
use lyncscope::source::{Origin, SourceMessage};
use lyncscope::transport::Transport;
use lyncscope::{Options, Pipeline, Timestamp};
use std::net::SocketAddr;

/// `calls` INVITE dialogs, each answered: alice's every seventh one fails with a 486.
fn pipeline(calls: u32) -> Pipeline {
    let mut p = Pipeline::new(&Options::with_messages());
    let a: SocketAddr = "192.0.2.1:5060".parse().expect("address");
    let b: SocketAddr = "192.0.2.2:5060".parse().expect("address");
    for n in 0..calls {
        let user = if n % 5 == 0 { "alice" } else { "bob" };
        let status = if n % 7 == 0 {
            "486 Busy Here"
        } else {
            "200 OK"
        };
        let head = |first: &str| {
            format!(
                "{first}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{n}\r\nFrom: <sip:{user}@example.com>;tag=f{n}\r\nTo: <sip:carol@example.com>{}\r\nCall-ID: call-{n}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
                if first.starts_with("SIP") { ";tag=t" } else { "" }
            )
        };
        let request = head("INVITE sip:carol@example.com SIP/2.0");
        let response = head(&format!("SIP/2.0 {status}"));
        for (i, (text, src, dst)) in [(request, a, b), (response, b, a)].iter().enumerate() {
            let number = u64::from(n) * 2 + i as u64 + 1;
            p.push_message(&SourceMessage {
                number,
                time: Timestamp(number as i64 * 1_000_000),
                src: *src,
                dst: *dst,
                transport: Transport::Udp,
                origin: Origin::Agent { node: 7 },
                bytes: text.as_bytes(),
            });
        }
    }
    p.finish();
    p
}

fn both(p: &Pipeline, selection: Option<&Selection>, messages: bool) -> (String, String) {
    let sources = ["generated".to_string()];
    let input = ReportInput {
        sources: &sources,
        messages,
        selection,
        ..Default::default()
    };
    let (mut one, mut two) = (Vec::new(), Vec::new());
    json::write(&mut one, &input, &p.stats(), p.analysis()).expect("to memory");
    json::write_split(&mut two, &input, &p.stats(), p.analysis()).expect("to memory");
    (
        String::from_utf8(one).expect("UTF-8"),
        String::from_utf8(two).expect("UTF-8"),
    )
}

#[test]
fn the_report_written_on_two_threads_is_the_same_report() {
    let big = pipeline(3_500);
    let small = pipeline(3);
    let none = pipeline(0);
    let alice = Selection {
        user: Some("alice".into()),
        ..Default::default()
    };
    let nobody = Selection {
        user: Some("nobody".into()),
        ..Default::default()
    };
    let failed = Selection {
        failed: true,
        ..Default::default()
    };
    let mut compared = 0;
    for p in [&big, &small, &none] {
        for selection in [None, Some(&alice), Some(&nobody), Some(&failed)] {
            for messages in [false, true] {
                let (one, two) = both(p, selection, messages);
                assert!(one.contains("\"dialogs\": "), "{one}");
                assert_eq!(one, two, "selection {selection:?}, messages {messages}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 24);
    // The big input spans several chunks, and its report lists them all.
    let (one, _) = both(&big, None, false);
    assert_eq!(one.matches("\"call_id\": \"call-").count(), 3_500);
    let (none_listed, _) = both(&big, Some(&nobody), false);
    assert!(none_listed.contains("\"dialogs\": []"), "{none_listed}");
}
