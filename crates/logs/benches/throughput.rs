//! Throughput of the SIPStack reader on ~100 MB of log text written by the crate's own writer.
//! Run: `cargo bench --bench throughput` (set `LOGS_BENCH_MB` to change the size).

use std::hint::black_box;
use std::time::Instant;

use lyncscope_logs::{
    write_sipstack, Direction, Endpoint, Format, Host, LogReader, ReadOptions, Record, WriteMeta,
};

fn messages() -> Vec<Vec<u8>> {
    let sdp = "v=0\r\no=- 0 0 IN IP4 10.0.0.5\r\ns=session\r\nc=IN IP4 10.0.0.5\r\nb=CT:99980\r\nt=0 0\r\nm=audio 50020 RTP/SAVP 117 104 114 9 112 111 0 103 8 116 115 97 13 118 101\r\na=x-ssrc-range:1230864384-1230864384\r\na=rtcp-fb:* x-message app send:dsh recv:dsh\r\na=rtpmap:104 SILK/16000\r\na=candidate:1 1 UDP 2130706431 10.0.0.5 50020 typ host\r\n";
    let invite = format!(
        "INVITE sip:conf@contoso.com;gruu;opaque=app:conf:focus:id:ABC123 SIP/2.0\r\n\
VIA: SIP/2.0/TLS 10.0.0.5:50001;branch=z9hG4bK8c7c1a2b;ms-received-port=50001;ms-received-cid=1234\r\n\
MAX-FORWARDS: 70\r\n\
From: \"Alice\" <sip:alice@contoso.com>;tag=2f6a1b3c4d;epid=8ab9c0d1e2\r\n\
To: <sip:conf@contoso.com;gruu;opaque=app:conf:focus:id:ABC123>\r\n\
Call-ID: 5e38e39898cf40188170f0d70644a87b\r\n\
CSeq: 1 INVITE\r\n\
CONTACT: <sip:alice@contoso.com;opaque=user:epid:abcdef;gruu>\r\n\
USER-AGENT: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)\r\n\
Supported: ms-dialog-route-set-update\r\n\
Content-Type: application/sdp\r\n\
CONTENT-LENGTH: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let ok = "SIP/2.0 200 OK\r\n\
VIA: SIP/2.0/TLS 10.0.0.5:50001;branch=z9hG4bK8c7c1a2b;ms-received-port=50001;ms-received-cid=1234\r\n\
From: \"Alice\" <sip:alice@contoso.com>;tag=2f6a1b3c4d;epid=8ab9c0d1e2\r\n\
To: <sip:conf@contoso.com>;tag=98283FD4A66E24FF\r\n\
Call-ID: 5e38e39898cf40188170f0d70644a87b\r\n\
CSeq: 1 INVITE\r\n\
Server: RTC/6.0\r\n\
CONTENT-LENGTH: 0\r\n\r\n"
        .to_string();
    vec![invite.into_bytes(), ok.into_bytes()]
}

fn main() {
    let mb: usize = std::env::var("LOGS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let msgs = messages();
    let mut log = Vec::with_capacity(mb << 20);
    let mut i = 0u32;
    while log.len() < mb << 20 {
        let meta = WriteMeta {
            time_ns: 1_700_000_000_000_000_000 + i64::from(i) * 1_000_000,
            utc_offset_secs: 0,
            direction: if i.is_multiple_of(2) {
                Direction::Received
            } else {
                Direction::Sent
            },
            local: None,
            remote: Some(Endpoint {
                host: Host::Ip([10, 0, 0, 5].into()),
                port: Some(50001),
            }),
            server: "fe01\\pool01",
            pid: 0x0584,
            tid: 0x0A44,
            sequence: i,
        };
        let m = &msgs[i as usize % msgs.len()];
        write_sipstack(&mut log, m, &meta).expect("write to memory");
        i += 1;
    }
    let mut best = f64::MAX;
    let mut count = 0u64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut reader = LogReader::new(&log[..], Format::SipStack, ReadOptions::default());
        count = 0;
        let mut bytes = 0usize;
        while let Some(rec) = reader.next_record().expect("memory read") {
            if let Record::Sip(s) = rec {
                bytes += s.message.len();
                count += 1;
            }
        }
        black_box(bytes);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let mbs = log.len() as f64 / (1 << 20) as f64 / best;
    println!(
        "sipstack: {:.1} MiB, {} messages, best of 3: {:.3} s = {:.0} MiB/s ({:.0} MB/s), {:.2} M msg/s",
        log.len() as f64 / (1 << 20) as f64,
        count,
        best,
        mbs,
        log.len() as f64 / 1e6 / best,
        count as f64 / 1e6 / best
    );
}
