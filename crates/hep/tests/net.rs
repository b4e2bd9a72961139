//! Listener and Sender end to end on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use lyncscope_hep::{
    encode_v3, ErrorKind, HepOut, HepVersion, ListenSpec, Listener, ListenerConfig, RecvError,
    SendSpec, Sender, SenderConfig, Transport,
};

const WAIT: Duration = Duration::from_secs(5);

fn sip(i: usize) -> Vec<u8> {
    format!(
        "INVITE sip:conf{i}@example.com SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK{i}\r\n\
         Call-ID: call-{i}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn out<'a>(payload: &'a [u8], password: Option<&'a [u8]>) -> HepOut<'a> {
    HepOut {
        ip_protocol: 6,
        src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        src_port: 50_000,
        dst_port: 5061,
        ts_sec: 1_700_000_000,
        ts_usec: 42,
        proto_type: 1,
        node_id: 2002,
        password,
        correlation_id: Some(b"call-x"),
        vlan: None,
        node_name: Some(b"fe01.contoso.com"),
        payload,
    }
}

fn encoded(payload: &[u8], password: Option<&[u8]>) -> Vec<u8> {
    let mut v = Vec::new();
    encode_v3(&out(payload, password), &mut v).unwrap();
    v
}

fn listen(t: &str, config: ListenerConfig) -> (Listener, SocketAddr) {
    let spec: ListenSpec = format!("{t}:127.0.0.1:0").parse().unwrap();
    let l = Listener::bind(&[spec], config).unwrap();
    let addr = l.local_specs()[0].addr;
    (l, addr)
}

fn send_spec(t: &str, addr: SocketAddr) -> SendSpec {
    format!("{t}:127.0.0.1:{}", addr.port()).parse().unwrap()
}

fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + WAIT;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    cond()
}

fn collect(l: &Listener, n: usize) -> Vec<lyncscope_hep::ReceivedPacket> {
    let mut got = Vec::new();
    let until = Instant::now() + WAIT;
    while got.len() < n && Instant::now() < until {
        if let Ok(p) = l.recv_timeout(Duration::from_millis(50)) {
            got.push(p);
        }
    }
    got
}

fn end_to_end(t: &str) {
    let (l, addr) = listen(t, ListenerConfig::default());
    let s = Sender::start(send_spec(t, addr), SenderConfig::default()).unwrap();
    let n = 300;
    for i in 0..n {
        s.send(&out(&sip(i), None)).unwrap();
        if t == "udp" && i % 50 == 49 {
            // Keeps a burst under the default socket buffer so the kernel drops nothing.
            thread::sleep(Duration::from_millis(5));
        }
    }
    let st = s.close(WAIT);
    assert_eq!(st.sent_packets, n as u64);
    assert_eq!(st.dropped(), 0);
    assert_eq!(st.connects, 1);
    let got = collect(&l, n);
    assert_eq!(got.len(), n);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.payload(), &sip(i)[..]);
        assert_eq!(p.meta.version, HepVersion::V3);
        assert_eq!(p.meta.src_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!((p.meta.src_port, p.meta.dst_port), (50_000, 5061));
        assert_eq!((p.meta.ts_sec, p.meta.ts_usec), (1_700_000_000, 42));
        assert_eq!(p.meta.node_id, 2002);
        assert_eq!(p.node_name(), Some(&b"fe01.contoso.com"[..]));
        assert_eq!(p.correlation_id(), Some(&b"call-x"[..]));
        assert_eq!(p.listener.addr, addr);
        assert_eq!(p.listener.transport.to_string(), t);
        assert_eq!(p.peer.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let ls = l.stats();
    assert_eq!(ls.packets_received, n as u64);
    assert_eq!(ls.packets_delivered, n as u64);
    assert_eq!(ls.by_proto_type[1], n as u64);
    assert_eq!(ls.by_version, [0, 0, n as u64]);
    assert_eq!(ls.dropped(), 0);
    if t == "udp" {
        assert_eq!(l.udp_kernel_drops(), Some(0));
    } else {
        assert_eq!(ls.tcp_accepted, 1);
    }
}

#[test]
fn udp_end_to_end() {
    end_to_end("udp");
}

#[test]
fn tcp_end_to_end() {
    end_to_end("tcp");
}

#[test]
fn password_accept_and_reject() {
    for t in ["udp", "tcp"] {
        let config = ListenerConfig {
            password: Some(b"s3cret".to_vec()),
            ..ListenerConfig::default()
        };
        let (l, addr) = listen(t, config);
        let s = Sender::start(send_spec(t, addr), SenderConfig::default()).unwrap();
        s.send(&out(b"no key", None)).unwrap();
        s.send(&out(b"wrong key", Some(b"s3creT"))).unwrap();
        s.send(&out(b"prefix of key", Some(b"s3cre"))).unwrap();
        s.send(&out(b"right key", Some(b"s3cret"))).unwrap();
        s.close(WAIT);
        let got = collect(&l, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload(), b"right key");
        assert!(wait_for(|| l.stats().auth_failures == 3), "{t}");
        assert_eq!(
            l.recv_timeout(Duration::from_millis(100)),
            Err(RecvError::Timeout)
        );
    }
}

#[test]
fn legacy_versions_errors_and_payload_types_over_udp() {
    let (l, addr) = listen("udp", ListenerConfig::default());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let v1 = include_bytes!("fixtures/heplify-server-v1.bin");
    sock.send_to(v1, addr).unwrap();
    let mut rtcp = out(b"\x80\xc8", None);
    rtcp.proto_type = 5;
    let mut buf = Vec::new();
    encode_v3(&rtcp, &mut buf).unwrap();
    sock.send_to(&buf, addr).unwrap();
    sock.send_to(b"HEP3\x00\x03", addr).unwrap();
    sock.send_to(b"garbage", addr).unwrap();
    let good = encoded(b"after the junk", None);
    sock.send_to(&good[..good.len() - 3], addr).unwrap();
    sock.send_to(&good, addr).unwrap();

    let got = collect(&l, 2);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].meta.version, HepVersion::V1);
    assert!(got[0].payload().starts_with(b"SIP/2.0 200 OK"));
    assert_eq!(got[1].payload(), b"after the junk");
    assert!(wait_for(|| l.stats().packets_received == 6));
    let st = l.stats();
    assert_eq!(st.by_version, [1, 0, 2]);
    assert_eq!(st.by_proto_type[5], 1);
    assert_eq!(st.filtered_non_sip, 1);
    assert_eq!(st.errors_of(ErrorKind::BadTotalLength), 1);
    assert_eq!(st.errors_of(ErrorKind::UnknownVersion), 1);
    assert_eq!(st.errors_of(ErrorKind::Truncated), 1);
    assert_eq!(st.decode_errors(), 3);
}

#[test]
fn tcp_stream_split_and_garbage() {
    let (l, addr) = listen("tcp", ListenerConfig::default());
    let mut c = TcpStream::connect(addr).unwrap();
    let a = encoded(b"first", None);
    let b = encoded(b"second", None);
    let mut stream = b"junk!".to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(b"more junk");
    stream.extend_from_slice(b"HEP3\x00\x02");
    stream.extend_from_slice(&b);
    // Dribble it out a few bytes at a time so packets straddle reads.
    for piece in stream.chunks(7) {
        c.write_all(piece).unwrap();
        c.flush().unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let got = collect(&l, 2);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].payload(), b"first");
    assert_eq!(got[1].payload(), b"second");
    let st = l.stats();
    assert_eq!(st.tcp_skipped_bytes, 20);
    assert_eq!(st.tcp_resyncs, 2);
    assert_eq!(st.tcp_bad_lengths, 1);
}

#[test]
fn max_connections_refuses_extra() {
    let config = ListenerConfig {
        max_connections: 2,
        ..ListenerConfig::default()
    };
    let (l, addr) = listen("tcp", config);
    let mut c1 = TcpStream::connect(addr).unwrap();
    let mut c2 = TcpStream::connect(addr).unwrap();
    assert!(wait_for(|| l.stats().tcp_active == 2));
    let mut c3 = TcpStream::connect(addr).unwrap();
    c3.set_read_timeout(Some(WAIT)).unwrap();
    let mut b = [0u8; 1];
    // The listener accepts and closes it at once: EOF or reset.
    assert!(matches!(c3.read(&mut b), Ok(0) | Err(_)));
    assert!(wait_for(|| l.stats().tcp_refused == 1));
    c1.write_all(&encoded(b"one", None)).unwrap();
    c2.write_all(&encoded(b"two", None)).unwrap();
    let mut got: Vec<Vec<u8>> = collect(&l, 2)
        .iter()
        .map(|p| p.payload().to_vec())
        .collect();
    got.sort();
    assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    // A slot frees up when a connection ends.
    drop(c1);
    assert!(wait_for(|| l.stats().tcp_active == 1));
    let mut c4 = TcpStream::connect(addr).unwrap();
    c4.write_all(&encoded(b"four", None)).unwrap();
    assert_eq!(collect(&l, 1)[0].payload(), b"four");
    let st = l.stats();
    assert_eq!((st.tcp_accepted, st.tcp_refused), (3, 1));
}

#[test]
fn idle_connection_is_closed() {
    let config = ListenerConfig {
        idle_timeout: Duration::from_millis(200),
        ..ListenerConfig::default()
    };
    let (l, addr) = listen("tcp", config);
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(&encoded(b"hello", None)).unwrap();
    // Half a packet: lost when the connection ends, and counted.
    c.write_all(&encoded(b"partial", None)[..20]).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut b = [0u8; 1];
    assert!(matches!(c.read(&mut b), Ok(0) | Err(_)));
    let st = l.stats();
    assert_eq!(st.tcp_idle_closed, 1);
    assert_eq!(st.tcp_partial_bytes_at_close, 20);
    assert_eq!(collect(&l, 1)[0].payload(), b"hello");
}

#[test]
fn a_slow_consumer_holds_the_agents_back_without_loss() {
    let config = ListenerConfig {
        queue_packets: 10,
        ..ListenerConfig::default()
    };
    let (l, addr) = listen("tcp", config);
    let mut c = TcpStream::connect(addr).unwrap();
    for i in 0..100 {
        c.write_all(&encoded(&sip(i), None)).unwrap();
    }
    assert!(wait_for(|| l.stats().packets_queued >= 1));
    thread::sleep(Duration::from_millis(100));
    // The queue holds its bound (batches fill it as the reads cut them: up to 10 packets);
    // the network thread waits instead of dropping, and the rest stays in the kernel (TCP
    // flow control slows the agent down).
    let st = l.stats();
    assert!((1..=10).contains(&st.packets_queued), "{st:?}");
    assert_eq!(st.dropped(), 0, "{st:?}");
    thread::sleep(Duration::from_millis(100));
    assert_eq!(l.stats().packets_queued, st.packets_queued, "held back");
    let got = collect(&l, 100);
    assert_eq!(got.len(), 100);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.payload(), &sip(i)[..]);
    }
    assert_eq!(l.stats().dropped(), 0);

    // The byte bound holds back too: room for about two SIP-sized packets.
    let config = ListenerConfig {
        queue_bytes: 2 * (sip(0).len() + 200),
        ..ListenerConfig::default()
    };
    let (l, addr) = listen("tcp", config);
    let mut c = TcpStream::connect(addr).unwrap();
    for i in 0..10 {
        c.write_all(&encoded(&sip(i), None)).unwrap();
    }
    assert!(wait_for(|| l.stats().packets_queued >= 1));
    thread::sleep(Duration::from_millis(100));
    let st = l.stats();
    assert!(st.packets_queued <= 2, "{st:?}");
    assert_eq!(collect(&l, 10).len(), 10);
    assert_eq!(l.stats().dropped(), 0);

    // A packet larger than the whole byte bound can never be queued: dropped, counted.
    let config = ListenerConfig {
        queue_bytes: 64,
        ..ListenerConfig::default()
    };
    let (l, addr) = listen("udp", config);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(&encoded(&sip(0), None), addr).unwrap();
    assert!(wait_for(|| l.stats().dropped_queue_full == 1));
    assert_eq!(
        l.recv_timeout(Duration::from_millis(50)),
        Err(RecvError::Timeout)
    );
}

#[test]
fn udp_packets_come_in_batches_with_the_receive_buffer_raised() {
    let config = ListenerConfig {
        udp_recv_buffer: Some(1024 * 1024),
        ..ListenerConfig::default()
    };
    let (l, addr) = listen("udp", config);
    // Linux grants twice what was asked (bookkeeping), capped by net.core.rmem_max.
    let granted = l.udp_recv_buffers()[0].1;
    assert!(granted >= 1024 * 1024, "{granted}");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let n = 200;
    for i in 0..n {
        sock.send_to(&encoded(&sip(i), None), addr).unwrap();
    }
    let mut batches = 0;
    let mut got = Vec::new();
    let until = Instant::now() + WAIT;
    while got.len() < n && Instant::now() < until {
        if let Ok(b) = l.recv_batch_timeout(Duration::from_millis(50)) {
            batches += 1;
            got.extend(b.iter().map(|p| p.payload.to_vec()));
        }
    }
    assert_eq!(got.len(), n);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p, &sip(i));
    }
    // Sent faster than a thread wakes up: several packets per hand-over.
    assert!(batches < n, "{batches} batches for {n} packets");
    assert_eq!(l.stats().packets_delivered, n as u64);
}

#[test]
fn stop_drains_everything_received() {
    let (l, addr) = listen("tcp", ListenerConfig::default());
    let u = Listener::bind(
        &["udp:127.0.0.1:0".parse().unwrap()],
        ListenerConfig::default(),
    )
    .unwrap();
    let uaddr = u.local_specs()[0].addr;
    let mut c = TcpStream::connect(addr).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let n = 100;
    let mut tcp_bytes = Vec::new();
    for i in 0..n {
        tcp_bytes.extend_from_slice(&encoded(&sip(i), None));
        sock.send_to(&encoded(&sip(i), None), uaddr).unwrap();
    }
    c.write_all(&tcp_bytes).unwrap();
    thread::sleep(Duration::from_millis(20));
    // Stop before taking anything: all must still come out, then Closed.
    l.stop_handle().stop();
    u.stop();
    for listener in [&l, &u] {
        let mut count = 0;
        loop {
            match listener.recv_timeout(WAIT) {
                Ok(_) => count += 1,
                Err(RecvError::Closed) => break,
                Err(RecvError::Timeout) => panic!("not closed after stop"),
            }
        }
        assert_eq!(count, n);
        assert_eq!(listener.stats().dropped(), 0);
    }
    // Known after the UDP socket is closed too.
    assert_eq!(u.udp_kernel_drops(), Some(0));
    assert_eq!(l.udp_kernel_drops(), None);
    assert!(l.stop_handle().is_stopped());
}

#[test]
fn sender_reconnects_with_backoff() {
    // Find a free port, then leave it closed so the first connects are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = SenderConfig {
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..SenderConfig::default()
    };
    let s = Sender::start(format!("tcp:127.0.0.1:{port}").parse().unwrap(), config).unwrap();
    s.send(&out(b"queued while down", None)).unwrap();
    assert!(wait_for(|| s.stats().connect_failures >= 3));
    let spec: ListenSpec = format!("tcp:127.0.0.1:{port}").parse().unwrap();
    let l = Listener::bind(&[spec], ListenerConfig::default()).unwrap();
    assert_eq!(collect(&l, 1)[0].payload(), b"queued while down");
    assert_eq!(s.stats().connects, 1);
    // Collector restarts: the sender finds the new one.
    drop(l);
    let l = Listener::bind(&[spec], ListenerConfig::default()).unwrap();
    let mut delivered = false;
    let until = Instant::now() + WAIT;
    while !delivered && Instant::now() < until {
        s.send(&out(b"after restart", None)).unwrap();
        delivered = l.recv_timeout(Duration::from_millis(30)).is_ok();
    }
    assert!(delivered);
    let st = s.close(WAIT);
    assert!(st.reconnects >= 1, "{st:?}");
    assert!(st.send_errors >= 1, "{st:?}");
    assert_eq!(
        st.queued,
        st.sent_packets + st.dropped_send_error + st.dropped_at_close,
        "{st:?}"
    );
}

#[test]
fn sender_bounded_queue_and_close_deadline() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = SenderConfig {
        queue_packets: 5,
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(20),
        ..SenderConfig::default()
    };
    let s = Sender::start(format!("tcp:127.0.0.1:{port}").parse().unwrap(), config).unwrap();
    let mut refused = 0;
    for i in 0..20 {
        if s.send(&out(&sip(i), None)).is_err() {
            refused += 1;
        }
    }
    let big = vec![b'x'; 70_000];
    assert!(s.send(&out(&big, None)).is_err());
    let st = s.close(Duration::from_millis(100));
    // The queue holds 5; the sender thread may take a few off while it tries to connect, so
    // how many are refused depends on scheduling, but some must be and each is counted.
    assert!(refused >= 1, "{refused}");
    assert_eq!(st.dropped_queue_full, refused);
    assert_eq!(st.dropped_too_large, 1);
    assert_eq!(st.sent_packets, 0);
    assert_eq!(st.queued, 20 - refused);
    assert_eq!(st.dropped_at_close, st.queued);
    assert!(st.connect_failures >= 1);
}

#[test]
fn listen_spec_transport_is_reported() {
    let l = Listener::bind(
        &[
            "udp:127.0.0.1:0".parse().unwrap(),
            "tcp:127.0.0.1:0".parse().unwrap(),
        ],
        ListenerConfig::default(),
    )
    .unwrap();
    let specs = l.local_specs();
    assert_eq!(specs[0].transport, Transport::Udp);
    assert_eq!(specs[1].transport, Transport::Tcp);
    assert_ne!(specs[0].addr.port(), 0);
    // A port already taken fails the whole bind.
    assert!(Listener::bind(&[specs[1]], ListenerConfig::default()).is_err());
}
