//! Load test, ignored by default (run in release):
//! `cargo test --release --test load -- --ignored --nocapture`
//!
//! Sender → Listener over loopback, paced at `RATE` SIP-sized messages per
//! second for `SECONDS`; the rate is measured at the consumer.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use lyncscope_hep::{HepOut, Listener, ListenerConfig, RecvError, Sender, SenderConfig};

const SECONDS: u64 = 3;
const RATE: u64 = 120_000;
const TARGET: f64 = 100_000.0;

fn sip_message() -> Vec<u8> {
    let mut m = String::from(
        "INVITE sip:alice@contoso.com;gruu;opaque=app:conf:focus:id:ABCDEF12 SIP/2.0\r\n\
         Via: SIP/2.0/TLS 10.0.0.10:52345;branch=z9hG4bK1234567890abcdef;ms-received-port=52345\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:bob@contoso.com>;tag=0123456789abcdef;epid=fedcba9876\r\n\
         To: <sip:alice@contoso.com;gruu;opaque=app:conf:focus:id:ABCDEF12>\r\n\
         Call-ID: 0123456789abcdef0123456789abcdef\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:bob@contoso.com;opaque=user:epid:abcdefghijk;gruu>\r\n\
         User-Agent: UCCAPI/16.0.0.0 OC/16.0.0.0 (Skype for Business)\r\n\
         Supported: ms-dialog-route-set-update, timer, histinfo, ms-safe-transfer\r\n\
         Content-Type: application/cccp+xml\r\n",
    );
    let body = "<request xmlns=\"urn:ietf:params:xml:ns:cccp\" C3PVersion=\"1\" requestId=\"1\"><addUser><conferenceKeys confEntity=\"sip:alice@contoso.com;gruu;opaque=app:conf:focus:id:ABCDEF12\"/></addUser></request>";
    m.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    m.into_bytes()
}

fn run(transport: &str) {
    let spec = format!("{transport}:127.0.0.1:0").parse().unwrap();
    let listener = Listener::bind(&[spec], ListenerConfig::default()).unwrap();
    let addr = listener.local_specs()[0].addr;
    let stop = listener.stop_handle();
    let (done_tx, done_rx) = mpsc::channel();
    let consumer = thread::spawn(move || {
        let mut received = 0u64;
        let mut bytes = 0u64;
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        loop {
            match listener.recv_timeout(Duration::from_millis(200)) {
                Ok(p) => {
                    first.get_or_insert_with(Instant::now);
                    received += 1;
                    bytes += p.payload().len() as u64;
                    last = Instant::now();
                }
                Err(RecvError::Timeout) => {}
                Err(RecvError::Closed) => break,
            }
        }
        let _ = done_tx.send(());
        (
            received,
            bytes,
            first,
            last,
            listener.stats(),
            listener.udp_kernel_drops(),
        )
    });

    let payload = sip_message();
    let sender = Sender::start(
        format!("{transport}:127.0.0.1:{}", addr.port())
            .parse()
            .unwrap(),
        SenderConfig::default(),
    )
    .unwrap();
    let start = Instant::now();
    let end = start + Duration::from_secs(SECONDS);
    let mut offered = 0u64;
    while Instant::now() < end {
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
        if offered >= due {
            thread::sleep(Duration::from_micros(200));
            continue;
        }
        while offered < due {
            let m = HepOut {
                ip_protocol: 6,
                src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10)),
                dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 20)),
                src_port: 52_345,
                dst_port: 5061,
                ts_sec: 1_700_000_000 + (offered / 1_000_000) as u32,
                ts_usec: (offered % 1_000_000) as u32,
                proto_type: 1,
                node_id: 2002,
                password: None,
                correlation_id: Some(b"0123456789abcdef0123456789abcdef"),
                vlan: None,
                node_name: Some(b"fe01.contoso.com"),
                payload: &payload,
            };
            let _ = sender.send(&m);
            offered += 1;
        }
    }
    let send_stats = sender.close(Duration::from_secs(10));
    // Let the listener take what is in flight, then stop it (which drains the sockets).
    thread::sleep(Duration::from_millis(500));
    stop.stop();
    let _ = done_rx.recv_timeout(Duration::from_secs(30));
    let (received, bytes, first, last, stats, kernel_drops) = consumer.join().unwrap();
    let secs = first.map_or(0.0, |f| (last - f).as_secs_f64());
    let rate = received as f64 / secs.max(1e-9);
    println!(
        "{transport}: offered {offered} msgs ({} B SIP each), sent {}, received {received} ({} MB) in {secs:.2} s \
         = {rate:.0} msg/s; lost {}; sender dropped {} ({:?}); listener dropped {}; kernel UDP drops {:?}",
        payload.len(),
        send_stats.sent_packets,
        bytes / 1_000_000,
        send_stats.sent_packets - received,
        send_stats.dropped(),
        send_stats,
        stats.dropped(),
        kernel_drops,
    );
    assert!(rate >= TARGET, "{transport}: {rate:.0} msg/s < {TARGET}");
    if transport == "tcp" {
        assert_eq!(send_stats.dropped(), 0, "{send_stats:?}");
        assert_eq!(stats.dropped(), 0, "{stats:?}");
        assert_eq!(received, offered);
    }
}

#[test]
#[ignore = "load test: run in release with --ignored"]
fn load_tcp() {
    run("tcp");
}

#[test]
#[ignore = "load test: run in release with --ignored"]
fn load_udp() {
    run("udp");
}
