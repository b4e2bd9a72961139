//! Each format against the public examples in `tests/data` (sources in its README).

mod common;

use std::borrow::Cow;
use std::net::IpAddr;

use common::*;
use lyncscope_logs::{
    detect, Detection, Direction, Endpoint, Format, Host, LogReader, ReadOptions, Record, Transport,
};

const OPTIONS_MSG: &[u8] = b"OPTIONS sip:Options_User@fabrikam.com SIP/2.0\r\n\
To: <sip:Options_User@fabrikam.com>\r\n\
CSeq: 1 OPTIONS\r\n\
Call-ID: 017b06f397b14886bba5edf97ea206bd\r\n\
MAX-FORWARDS: 70\r\n\
VIA: SIP/2.0/TLS 10.10.10.10:61182;branch=z9hG4bK6de49c9a\r\n\
ROUTE: <sip:accessedge.fabrikam.com;transport=tls;lr>;ms-edge-route\r\n\
CONTACT: <sip:lyncserver.contoso.com;transport=Tls>\r\n\
CONTENT-LENGTH: 0\r\n\
USER-AGENT: RTCC/4.0.0.0\r\n\
\r\n";

#[test]
fn sipstack_protocol_record_from_the_microsoft_article() {
    let lf = data("sipstack_protocol_ms_article.log");
    for variant in [lf.clone(), to_crlf(&lf)] {
        assert_eq!(detect(&variant), Detection::Log(Format::SipStack));
        let (recs, stats) = read_all(&variant, Format::SipStack);
        let s = sip(&recs);
        assert_eq!(s.len(), 1, "{stats:?}");
        let m = s[0];
        assert_eq!(
            m.message.as_ref(),
            OPTIONS_MSG,
            "{}",
            String::from_utf8_lossy(&m.message)
        );
        assert_eq!(m.line, 1);
        assert_eq!(m.direction, Some(Direction::Received));
        assert_eq!(
            m.remote,
            Some(Endpoint {
                host: Host::Name(Cow::Borrowed("lyncservr.contoso.com")),
                port: Some(61182)
            })
        );
        assert_eq!(m.local, None);
        assert_eq!(m.transport, Some(Transport::Tls));
        // 01/18/2012-05:00:43.101, offset 0.
        assert_eq!(m.time_ns, Some(1_326_862_843_101_000_000));
        assert_eq!(m.origin.level.as_deref(), Some("INFO"));
        assert_eq!(m.origin.flag.as_deref(), Some("TF_PROTOCOL"));
        assert_eq!(m.origin.machine.as_deref(), Some("0"));
        assert_eq!(m.origin.pid, Some(0x06E4));
        assert_eq!(m.origin.tid, Some(0x0EB4));
        assert_eq!(m.origin.sequence, Some(0x5386));
        assert_eq!(m.origin.component.as_deref(), Some("SIPStack"));
        assert_eq!(
            m.origin.function.as_deref(),
            Some("SIPAdminLog::TraceProtocolRecord")
        );
        assert_eq!(m.origin.correlation_id.as_deref(), Some("2003888399"));
        assert_eq!(m.origin.instance_id.as_deref(), Some("0000C23F"));
        assert_eq!(m.origin.interface_source.as_deref(), Some("internal edge"));
        assert_eq!(
            m.origin.interface_destination.as_deref(),
            Some("external edge")
        );
        assert_eq!(m.logged_content_length, Some(0));
        assert!(!m.content_length_fixed);
        assert_eq!(stats.sip_messages, 1);
        assert_eq!(stats.cut_records, 0);
        assert_eq!(stats.lines, 18);
    }
}

#[test]
fn sipstack_offset_is_applied() {
    let log = data("sipstack_protocol_ms_article.log");
    let opts = ReadOptions {
        utc_offset_secs: -5 * 3600,
        follow: false,
    };
    let (recs, _) = read_all_from(&log[..], Format::SipStack, opts);
    assert_eq!(
        sip(&recs)[0].time_ns,
        Some(1_326_862_843_101_000_000 + 5 * 3_600_000_000_000)
    );
}

#[test]
fn sipstack_component_diagnostic_from_the_microsoft_article() {
    let lf = data("sipstack_component_ms_article.log");
    for variant in [lf.clone(), to_crlf(&lf)] {
        let (recs, stats) = read_all(&variant, Format::SipStack);
        let e = events(&recs);
        assert_eq!(e.len(), 1, "{stats:?}");
        let e = e[0];
        assert_eq!(e.origin.level.as_deref(), Some("ERROR"));
        assert_eq!(e.origin.flag.as_deref(), Some("TF_COMPONENT"));
        assert_eq!(
            e.origin.function.as_deref(),
            Some("CSIPRequest::GetNextHopByRouteHeader")
        );
        assert_eq!(e.log_type.as_deref(), Some("diagnostic"));
        assert_eq!(e.severity.as_deref(), Some("warning"));
        let rc = e.result_code.as_ref().unwrap();
        assert_eq!(rc.value, 0xc3e9_3c5e);
        assert_eq!(rc.name.as_deref(), Some("SIPPROXY_E_ROUTING"));
        assert!(e
            .text
            .as_deref()
            .unwrap()
            .starts_with("Cannot process Route headers"));
        assert_eq!(
            e.start_line.as_deref(),
            Some("OPTIONS sip:Options_User@fabrikam.com SIP/2.0")
        );
        assert_eq!(
            e.call_id.as_deref(),
            Some("c00bc6180f284b948be61febf274d05e")
        );
        assert_eq!(e.cseq.as_deref(), Some("1 OPTIONS"));
        assert!(e
            .header_text
            .as_deref()
            .unwrap()
            .contains("Exit - route headers from untrusted source"));
        assert_eq!(stats.server_events, 1);
    }
}

#[test]
fn sipstack_diag_records_from_the_cisco_document() {
    let lf = data("sipstack_diag_cisco.log");
    for variant in [lf.clone(), to_crlf(&lf)] {
        let (recs, stats) = read_all(&variant, Format::SipStack);
        let e = events(&recs);
        assert_eq!(e.len(), 2, "{stats:?}");
        assert_eq!(e[0].line, 1);
        assert_eq!(e[1].line, 10);
        assert_eq!(e[0].origin.machine.as_deref(), Some("sfvedge\\sfvedge"));
        assert_eq!(e[0].origin.level.as_deref(), Some("WARN"));
        // Result-Code run into Text: split.
        assert_eq!(
            e[0].text.as_deref(),
            Some("The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain")
        );
        let rc = e[1].result_code.as_ref().unwrap();
        assert_eq!(rc.value, 0xc3e9_3d67);
        assert_eq!(
            rc.name.as_deref(),
            Some("SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH")
        );
        assert_eq!(
            e[1].call_id.as_deref(),
            Some("e144704c-1dd0-4ea7-929f-77e7e071c24c")
        );
        assert_eq!(e[1].cseq.as_deref(), Some("1567605805 INVITE"));
        assert_eq!(
            e[1].peer,
            Some(Endpoint {
                host: Host::Name(Cow::Borrowed("vcse.steven.lab")),
                port: Some(25001)
            })
        );
        assert!(e[1].data.as_deref().unwrap().starts_with("expected-fqdn ="));
        assert_eq!(e[1].time_ns, Some(1_488_436_240_025_000_000));
    }
}

#[test]
fn sipstack_mixed_file_with_interleaved_records_and_garbage() {
    let mut log = Vec::new();
    log.extend_from_slice(b"Some banner the formatter wrote\n\n");
    log.extend(data("sipstack_component_ms_article.log"));
    log.extend_from_slice(b"TL_INFO(TF_CONNECTION) [0]0860.0CDC::01/18/2012-05:07:42.700.000d0b32 (SIPStack,TLSConnection::Foo:x.cpp(1)) connected\n");
    log.extend_from_slice(b"\x00\x01garbage \xff\xfe line\n");
    log.extend(data("sipstack_protocol_ms_article.log"));
    log.extend(data("sipstack_diag_cisco.log"));
    for variant in [log.clone(), to_crlf(&log)] {
        let (recs, stats) = read_all(&variant, Format::SipStack);
        assert_eq!(sip(&recs).len(), 1);
        assert_eq!(events(&recs).len(), 3);
        assert_eq!(stats.other_records.get("TF_CONNECTION"), 1);
        // The banner and the blank line; the garbage line after the one-line TF_CONNECTION
        // trace belongs to that record (a plain trace ends where the next record starts).
        assert_eq!(stats.stray_lines, 2);
        assert_eq!(sip(&recs)[0].line, 14);
        assert_eq!(sip(&recs)[0].message.as_ref(), OPTIONS_MSG);
    }
}

#[test]
fn uccapi_msxfaq_end_lines_are_detected_but_hold_no_message() {
    let log = data("uccapi_msxfaq_end_lines.log");
    assert_eq!(detect(&log), Detection::Log(Format::UccApi));
    let (recs, stats) = read_all(&log, Format::UccApi);
    assert!(recs.is_empty());
    assert_eq!(stats.stray_lines, 2);
}

#[test]
fn uccapi_block_layout() {
    let invite = data("invite.sip");
    let resp = data("response_504.sip");
    let crlf = data("uccapi_layout_constructed.log");
    assert_eq!(detect(&crlf), Detection::Log(Format::UccApi));
    // Read as written (CRLF, borrowed) and as an LF copy (owned, restored by Content-Length).
    for (variant, borrowed) in [(crlf.clone(), true), (to_lf(&crlf), false)] {
        let opts = ReadOptions {
            utc_offset_secs: 2 * 3600,
            follow: false,
        };
        let mut reader = LogReader::new(&variant[..], Format::UccApi, opts);
        let Some(Record::Sip(m)) = reader.next_record().unwrap() else {
            panic!("no record")
        };
        assert_eq!(m.message.as_ref(), &invite[..]);
        assert_eq!(matches!(m.message, Cow::Borrowed(_)), borrowed);
        assert_eq!(m.line, 2);
        assert_eq!(m.direction, Some(Direction::Sent));
        assert_eq!(
            m.remote.as_ref().unwrap().to_string(),
            "192.168.100.100:5061"
        );
        assert_eq!(
            m.local.as_ref().unwrap().to_string(),
            "192.168.103.35:20323"
        );
        assert!(matches!(
            m.remote.as_ref().unwrap().host,
            Host::Ip(IpAddr::V4(_))
        ));
        // 04/16/2013 03:17:30.160 local at UTC+2.
        assert_eq!(
            m.time_ns,
            Some(1_366_082_250_160_000_000 - 7_200_000_000_000)
        );
        assert_eq!(m.origin.pid, Some(0x1F68));
        assert_eq!(m.origin.tid, Some(0xC14));
        assert_eq!(m.origin.level.as_deref(), Some("INFO"));
        assert_eq!(m.transport, Some(Transport::Tls));
        assert!(!m.content_length_fixed);
        let Some(Record::Sip(m)) = reader.next_record().unwrap() else {
            panic!("no second record")
        };
        assert_eq!(m.message.as_ref(), &resp[..]);
        assert_eq!(m.direction, Some(Direction::Received));
        assert_eq!(
            m.remote.as_ref().unwrap().to_string(),
            "192.168.100.100:5061"
        );
        assert!(reader.next_record().unwrap().is_none());
        let st = reader.stats();
        assert_eq!(st.sip_messages, 2);
        assert_eq!(st.other_records.get("trace TRACE"), 1);
        assert_eq!(st.other_records.get("trace INFO"), 1);
    }
}

#[test]
fn uccapi_first_sip_line_without_prefix() {
    let log = data("uccapi_layout_constructed.log");
    let text = String::from_utf8(log).unwrap();
    let unprefixed = text.replace("04/16/2013|03:17:30.160 1F68:C14 INFO  :: INVITE", "INVITE");
    let (recs, _) = read_all(unprefixed.as_bytes(), Format::UccApi);
    assert_eq!(sip(&recs).len(), 2);
    assert_eq!(sip(&recs)[0].message.as_ref(), &data("invite.sip")[..]);
}

#[test]
fn sipe_block_layout() {
    let log = data("sipe_layout_constructed.log");
    assert_eq!(detect(&log), Detection::Log(Format::Sipe));
    let (recs, stats) = read_all(&log, Format::Sipe);
    let s = sip(&recs);
    assert_eq!(s.len(), 2, "{stats:?}");
    // CRLF restored, the body's CRLF too (Content-Length says which).
    assert_eq!(s[0].message.as_ref(), &data("invite.sip")[..]);
    assert!(!s[0].content_length_fixed);
    assert_eq!(s[0].direction, Some(Direction::Sent));
    assert_eq!(s[0].time_ns, Some(1_366_082_250_168_000_000));
    assert_eq!(s[0].line, 3);
    assert_eq!(s[0].remote, None);
    assert_eq!(s[1].message.as_ref(), &data("response_504.sip")[..]);
    assert_eq!(s[1].direction, Some(Direction::Received));
    assert_eq!(s[1].time_ns, Some(1_366_082_251_000_000_000));
    assert_eq!(stats.other_records.get("sipe HTTP"), 1);
    assert_eq!(stats.cut_records, 0);
}

#[test]
fn content_length_mismatch_is_repaired_in_every_format() {
    // SIPStack: body longer than the logged length.
    let rec = b"TL_INFO(TF_PROTOCOL) [fe1]0001.0002::01/01/2020-00:00:00.000.00000001 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n\
Direction: outgoing\r\nPeer: 10.0.0.2:5061\r\nMessage-Type: request\r\nStart-Line: MESSAGE sip:b@x SIP/2.0\r\n\
CONTENT-LENGTH: 3\r\nContent-Type: text/plain\r\nMessage-Body: hello world\r\n$$end_record\r\n";
    let (recs, stats) = read_all(rec, Format::SipStack);
    let m = sip(&recs)[0];
    assert_eq!(
        m.message.as_ref(),
        b"MESSAGE sip:b@x SIP/2.0\r\nCONTENT-LENGTH: 13\r\nContent-Type: text/plain\r\n\r\nhello world\r\n"
    );
    assert!(m.content_length_fixed);
    assert_eq!(m.logged_content_length, Some(3));
    assert_eq!(stats.content_length_fixed, 1);
    assert_eq!(m.remote.as_ref().unwrap().to_string(), "10.0.0.2:5061");
    assert_eq!(m.direction, Some(Direction::Sent));

    // UCCAPI: byte count that does not fit, Content-Length too large.
    let log = b"01/01/2020|00:00:00.000 1:2 INFO :: Sending Packet - 1.2.3.4:5061 (From Local Address: 5.6.7.8:1000) 9999 bytes:\r\n\
01/01/2020|00:00:00.000 1:2 INFO :: MESSAGE sip:b@x SIP/2.0\r\nContent-Length: 50\r\n\r\nhi\r\n\
01/01/2020|00:00:00.000 1:2 INFO :: End of Sending Packet - 1.2.3.4:5061 (From Local Address: 5.6.7.8:1000) 9999 bytes\r\n";
    let (recs, _) = read_all(log, Format::UccApi);
    let m = sip(&recs)[0];
    assert_eq!(
        m.message.as_ref(),
        b"MESSAGE sip:b@x SIP/2.0\r\nContent-Length: 4\r\n\r\nhi\r\n"
    );
    assert!(m.content_length_fixed);

    // sipe: a length that none of the line-ending variants explains.
    let log = b"\nMESSAGE START <<<<<<<<<< SIP - 2020-01-01T00:00:00Z\nMESSAGE sip:b@x SIP/2.0\nl: 1\n\nabc\n\nMESSAGE END <<<<<<<<<< SIP - 2020-01-01T00:00:00Z\n";
    let (recs, _) = read_all(log, Format::Sipe);
    let m = sip(&recs)[0];
    assert_eq!(
        m.message.as_ref(),
        b"MESSAGE sip:b@x SIP/2.0\r\nl: 5\r\n\r\nabc\r\n"
    );
    assert!(m.content_length_fixed);
}

#[test]
fn sipstack_multi_line_body_on_the_next_line() {
    // The body starting on the line after "Message-Body:" (layout unverified) reads the same.
    let rec = b"TL_INFO(TF_PROTOCOL) [fe1]0001.0002::01/01/2020-00:00:00.000.00000001 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\n\
Direction: incoming\nPeer: [2001:db8::5]:5061\nStart-Line: SIP/2.0 200 OK\nCONTENT-LENGTH: 10\nMessage-Body:\nv=0\ns=x\n$$end_record\n";
    let (recs, _) = read_all(rec, Format::SipStack);
    let m = sip(&recs)[0];
    assert_eq!(
        m.message.as_ref(),
        b"SIP/2.0 200 OK\r\nCONTENT-LENGTH: 10\r\n\r\nv=0\r\ns=x\r\n"
    );
    assert!(!m.content_length_fixed);
    assert_eq!(m.remote.as_ref().unwrap().to_string(), "[2001:db8::5]:5061");
}

#[test]
fn cut_records_are_counted() {
    let full = data("sipstack_protocol_ms_article.log");
    let mut log = full[..full.len() / 2].to_vec();
    log.push(b'\n');
    log.extend(&full);
    let cut_at_end = &full[..full.len() - 10];
    let mut both = log.clone();
    both.extend_from_slice(cut_at_end);
    let (recs, stats) = read_all(&both, Format::SipStack);
    assert_eq!(sip(&recs).len(), 1);
    assert_eq!(stats.cut_records, 2);

    let u = data("uccapi_layout_constructed.log");
    let (recs, stats) = read_all(&u[..u.len() - 150], Format::UccApi);
    assert_eq!(sip(&recs).len(), 1);
    assert_eq!(stats.cut_records, 1);

    let s = data("sipe_layout_constructed.log");
    let (recs, stats) = read_all(&s[..s.len() - 70], Format::Sipe);
    assert_eq!(sip(&recs).len(), 1);
    assert_eq!(stats.cut_records, 1);
}

#[test]
fn non_sip_payloads_are_counted_not_yielded() {
    let rec = b"TL_INFO(TF_PROTOCOL) [0]1.2::01/01/2020-00:00:00.000.1 (SIPStack,X::Y:z.cpp(1))$$begin_record\nStart-Line: GET / HTTP/1.1\n$$end_record\n";
    let (recs, stats) = read_all(rec, Format::SipStack);
    assert!(recs.is_empty());
    assert_eq!(stats.not_sip, 1);
}

#[test]
fn utf8_bom_is_skipped() {
    let mut log = b"\xEF\xBB\xBF".to_vec();
    log.extend(data("sipstack_protocol_ms_article.log"));
    let (recs, _) = read_all(&log, Format::SipStack);
    assert_eq!(sip(&recs).len(), 1);
}

#[test]
fn open_detects_and_refuses() {
    let log = data("sipe_layout_constructed.log");
    let mut r = LogReader::open(&log[..], ReadOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(r.format(), Format::Sipe);
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 2);
    assert_eq!(r.stats().bytes, log.len() as u64);
    let mut etl = vec![0u8; 4096];
    etl[0x4A] = 2;
    etl[0x4B] = 0xC0;
    match LogReader::open(&etl[..], ReadOptions::default()).unwrap() {
        Err(d) => assert_eq!(d, Detection::Etl),
        Ok(_) => panic!("etl accepted"),
    }
    assert!(matches!(
        LogReader::open(&b"plain text\n"[..], ReadOptions::default()).unwrap(),
        Err(Detection::Unknown)
    ));
}

#[test]
fn endpoint_parse_is_public() {
    let e = Endpoint::parse("10.0.0.1:5061").unwrap();
    assert_eq!(e.port, Some(5061));
}

#[test]
fn oversized_record_is_skipped_and_counted() {
    let mut log = b"TL_INFO(TF_PROTOCOL) [0]1.2::01/01/2020-00:00:00.000.1 (SIPStack,X::Y:z.cpp(1))$$begin_record\nStart-Line: MESSAGE sip:a@b SIP/2.0\nMessage-Body: ".to_vec();
    let line = vec![b'x'; 999];
    while log.len() < lyncscope_logs::reader::MAX_RECORD_BYTES + 10_000 {
        log.extend_from_slice(&line);
        log.push(b'\n');
    }
    log.extend_from_slice(b"$$end_record\n");
    log.extend(data("sipstack_protocol_ms_article.log"));
    let (recs, stats) = read_all(&log, Format::SipStack);
    assert_eq!(stats.oversized_records, 1);
    assert_eq!(sip(&recs).len(), 1);
    assert_eq!(sip(&recs)[0].message.as_ref(), OPTIONS_MSG);
    let lines = log.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(sip(&recs)[0].line, lines - 18 + 1);
    assert_eq!(stats.lines, lines);
}

#[test]
fn long_stray_line_is_dropped_and_counted() {
    let mut log = vec![b'z'; lyncscope_logs::reader::MAX_LINE_BYTES * 3];
    log.push(b'\n');
    log.extend(data("sipe_layout_constructed.log"));
    for format in [Format::SipStack, Format::UccApi, Format::Sipe] {
        let (recs, stats) = read_all_from(
            Trickle {
                data: &log,
                step: 100_000,
            },
            format,
            ReadOptions::default(),
        );
        assert_eq!(stats.long_lines, 1, "{format}");
        if format == Format::Sipe {
            assert_eq!(sip(&recs).len(), 2);
            assert_eq!(sip(&recs)[0].line, 4);
        }
    }
}

/// A reader over a shared growing buffer, like a log still being written.
struct Growing(std::rc::Rc<std::cell::RefCell<(Vec<u8>, usize)>>);

impl std::io::Read for Growing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut s = self.0.borrow_mut();
        let (data, at) = &mut *s;
        let n = buf.len().min(data.len() - *at);
        buf[..n].copy_from_slice(&data[*at..*at + n]);
        *at += n;
        Ok(n)
    }
}

#[test]
fn follow_mode_waits_for_the_rest_of_a_record() {
    let log = data("uccapi_layout_constructed.log");
    let shared = std::rc::Rc::new(std::cell::RefCell::new((Vec::new(), 0usize)));
    let opts = ReadOptions {
        utc_offset_secs: 0,
        follow: true,
    };
    let mut r = LogReader::new(Growing(shared.clone()), Format::UccApi, opts);
    let half = log.len() / 2;
    shared.borrow_mut().0.extend_from_slice(&log[..half]);
    let mut got = 0;
    while r.next_record().unwrap().is_some() {
        got += 1;
    }
    assert_eq!(r.stats().cut_records, 0);
    shared.borrow_mut().0.extend_from_slice(&log[half..]);
    while r.next_record().unwrap().is_some() {
        got += 1;
    }
    assert_eq!(got, 2);
    // A record still incomplete when the caller finishes is counted as cut.
    shared.borrow_mut().0.extend_from_slice(&log[..200]);
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.stats().cut_records, 0);
    r.finish();
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.stats().cut_records, 1);
}

#[test]
fn sipe_lookalike_marker_is_a_stray_line() {
    let mut log = b"(01:00:00) sipe: MESSAGE START ?????????? SIP - x\n".to_vec();
    log.extend(data("sipe_layout_constructed.log"));
    let (recs, stats) = read_all(&log, Format::Sipe);
    assert_eq!(sip(&recs).len(), 2);
    // The look-alike, the status line and the three Pidgin prefix lines.
    assert_eq!(stats.stray_lines, 5);
    assert_eq!(
        stats.lines,
        log.iter().filter(|&&b| b == b'\n').count() as u64
    );
}
