//! Media on the wire after an A/V join: the ICE connectivity checks (STUN Binding requests and
//! success responses, RFC 5389 format as MS-ICE2 2.2.2 allows) and SRTP/SRTCP, between the
//! client's and the MCU's candidates from their SDPs (docs/joins.md §8).
//!
//! The payloads are shaped like the real thing — RTP/RTCP headers in clear (RFC 3711 §3.1),
//! encrypted-looking payload and a 10-byte authentication tag; STUN with USERNAME, PRIORITY,
//! ICE-CONTROLLING, MESSAGE-INTEGRITY, MS-ICE2's IMPLEMENTATION-VERSION and a real FINGERPRINT
//! (CRC-32). MESSAGE-INTEGRITY holds random bytes, not an HMAC (the generator has no SHA-1;
//! lyncscope matches checks by address, not by credentials).
//!
//! Media has its own random state, seeded by the streams' ports, so adding media to a
//! scenario does not change the rest of its capture.

use super::body::Audio;
use super::lab::{Lab, UserId};
use super::lync::Conference;
use super::rng::Rng;
use super::wire::{ms, Dir, FlowId, Nanos};
use std::net::IpAddr;

/// What happens on the media path after the A/V MCU's 200.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MediaPlan {
    /// Checks on RTP and RTCP components are answered, then `millis` of audio each way
    /// (20 ms SILK frames) with an RTCP report each way at the end.
    Flows { millis: i64 },
    /// The client's checks go out and nothing comes back (a firewall in front of the MCU,
    /// past the capture point), retransmitted for `millis`.
    Unanswered { millis: i64 },
}

const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const MAGIC_COOKIE: u32 = 0x2112_a442;

/// A STUN message in the RFC 5389 format with its attributes, FINGERPRINT last.
fn stun(kind: u16, txid: [u8; 12], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        body.resize(body.len().next_multiple_of(4), 0);
    }
    let mut msg = kind.to_be_bytes().to_vec();
    // Length including the FINGERPRINT attribute (8 bytes), as RFC 5389 §15.5 computes it.
    msg.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    msg.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    msg.extend_from_slice(&txid);
    msg.extend_from_slice(&body);
    let crc = crc32(&msg) ^ 0x5354_554e;
    msg.extend_from_slice(&0x8028u16.to_be_bytes());
    msg.extend_from_slice(&4u16.to_be_bytes());
    msg.extend_from_slice(&crc.to_be_bytes());
    msg
}

/// CRC-32 (ISO-HDLC, as FINGERPRINT uses), bit by bit: a few hundred packets.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn txid(rng: &mut Rng) -> [u8; 12] {
    let mut t = [0u8; 12];
    for chunk in t.chunks_mut(4) {
        chunk.copy_from_slice(&rng.next_u32().to_be_bytes());
    }
    t
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u32() as u8).collect()
}

/// MS-ICE2 IMPLEMENTATION-VERSION (0x8070): version 2.
fn implementation_version() -> (u16, Vec<u8>) {
    (0x8070, 2u32.to_be_bytes().to_vec())
}

fn binding_request(rng: &mut Rng, username: &str, priority: u32, txid: [u8; 12]) -> Vec<u8> {
    let attrs = vec![
        (0x0006, username.as_bytes().to_vec()),
        (0x0024, priority.to_be_bytes().to_vec()),
        (0x802a, random_bytes(rng, 8)), // ICE-CONTROLLING: the client offered, it controls
        implementation_version(),
        (0x0008, random_bytes(rng, 20)), // MESSAGE-INTEGRITY
    ];
    stun(BINDING_REQUEST, txid, &attrs)
}

fn binding_success(rng: &mut Rng, txid: [u8; 12], mapped: IpAddr, port: u16) -> Vec<u8> {
    let mut xor = vec![0, 1];
    xor.extend_from_slice(&(port ^ (MAGIC_COOKIE >> 16) as u16).to_be_bytes());
    if let IpAddr::V4(v4) = mapped {
        xor.extend_from_slice(&(u32::from(v4) ^ MAGIC_COOKIE).to_be_bytes());
    }
    let attrs = vec![
        (0x0020, xor), // XOR-MAPPED-ADDRESS
        implementation_version(),
        (0x0008, random_bytes(rng, 20)),
    ];
    stun(BINDING_SUCCESS, txid, &attrs)
}

/// An SRTP packet: RTP header in clear, SILK payload type 104, `len` bytes of ciphertext and
/// the 80-bit authentication tag.
fn srtp(rng: &mut Rng, seq: u16, timestamp: u32, ssrc: u32, len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 104];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(random_bytes(rng, len + 10));
    p
}

/// An SRTCP sender report: the RTCP header and SSRC in clear, the rest encrypted, then the
/// E flag with the SRTCP index and the authentication tag (RFC 3711 §3.4).
fn srtcp(rng: &mut Rng, ssrc: u32, index: u32) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(random_bytes(rng, 20));
    p.extend_from_slice(&(0x8000_0000 | index).to_be_bytes());
    p.extend(random_bytes(rng, 10));
    p
}

impl Lab {
    /// The media of `user`'s accepted A/V join from `t` (after its ACK), per `plan`; returns
    /// the time of the last packet.
    pub(crate) fn media(
        &mut self,
        conf: &Conference,
        t: Nanos,
        user: UserId,
        plan: MediaPlan,
    ) -> Nanos {
        let Some((client, mcu)) = conf.av_audio(user) else {
            return t;
        };
        let mut rng = Rng::new(u64::from(client.port) << 16 | u64::from(mcu.port));
        // Component 1 (RTP) and 2 (RTCP): host candidate to host candidate.
        let streams = [
            self.media_stream(user, client.port, mcu.port),
            self.media_stream(user, client.port + 1, mcu.port + 1),
        ];
        match plan {
            MediaPlan::Flows { millis } => {
                self.media_flows(&mut rng, t, &client, &mcu, streams, millis)
            }
            MediaPlan::Unanswered { millis } => {
                self.checks_unanswered(&mut rng, t, &client, &mcu, streams, millis)
            }
        }
    }

    fn media_flows(
        &mut self,
        rng: &mut Rng,
        t: Nanos,
        client: &Audio,
        mcu: &Audio,
        streams: [FlowId; 2],
        millis: i64,
    ) -> Nanos {
        let mut t = t + ms(40);
        // USERNAME is <remote ufrag>:<local ufrag> (RFC 5245 §7.1.2.3).
        let up_user = format!("{}:{}", mcu.ufrag(), client.ufrag());
        let down_user = format!("{}:{}", client.ufrag(), mcu.ufrag());
        for (component, flow) in streams.into_iter().enumerate() {
            let priority = 2_130_706_431 - component as u32 * 513;
            let id = txid(rng);
            let req = binding_request(rng, &up_user, priority, id);
            self.media_send(t, flow, Dir::Up, req);
            let ok = binding_success(rng, id, client.ip, client.port + component as u16);
            self.media_send(t + ms(2), flow, Dir::Down, ok);
            // The MCU checks the same pair the other way (a triggered check).
            let id = txid(rng);
            let req = binding_request(rng, &down_user, priority, id);
            self.media_send(t + ms(3), flow, Dir::Down, req);
            let ok = binding_success(rng, id, mcu.ip, mcu.port + component as u16);
            self.media_send(t + ms(5), flow, Dir::Up, ok);
            t += ms(20);
        }
        let (mut up_seq, mut down_seq) = (rng.next_u32() as u16, rng.next_u32() as u16);
        let (up_ts, down_ts) = (rng.next_u32(), rng.next_u32());
        let frames = (millis / 20).max(1);
        for i in 0..frames {
            let at = t + ms(20 * i);
            let len = rng.range(38, 70) as usize;
            let ts = (i as u32).wrapping_mul(320);
            let p = srtp(rng, up_seq, up_ts.wrapping_add(ts), client.ssrc(), len);
            self.media_send(at, streams[0], Dir::Up, p);
            let len = rng.range(38, 70) as usize;
            let p = srtp(rng, down_seq, down_ts.wrapping_add(ts), mcu.ssrc(), len);
            self.media_send(at + ms(1) + rng.millis(0, 6), streams[0], Dir::Down, p);
            up_seq = up_seq.wrapping_add(1);
            down_seq = down_seq.wrapping_add(1);
        }
        let end = t + ms(20 * frames);
        self.media_send(end, streams[1], Dir::Up, srtcp(rng, client.ssrc(), 1));
        self.media_send(
            end + ms(3),
            streams[1],
            Dir::Down,
            srtcp(rng, mcu.ssrc(), 1),
        );
        end + ms(3)
    }

    fn checks_unanswered(
        &mut self,
        rng: &mut Rng,
        t: Nanos,
        client: &Audio,
        mcu: &Audio,
        streams: [FlowId; 2],
        millis: i64,
    ) -> Nanos {
        let up_user = format!("{}:{}", mcu.ufrag(), client.ufrag());
        let ids = [txid(rng), txid(rng)];
        // RFC 5389 §7.2.1 retransmission: the interval doubles from the RTO (here 100 ms as
        // ICE paces it, RFC 5245 §16.1), capped at 1.6 s, until the time is up.
        let (mut at, mut rto, mut last) = (t + ms(40), ms(100), t);
        while at <= t + ms(millis) {
            for (component, flow) in streams.into_iter().enumerate() {
                let priority = 2_130_706_431 - component as u32 * 513;
                let req = binding_request(rng, &up_user, priority, ids[component]);
                self.media_send(at + ms(component as i64 * 20), flow, Dir::Up, req);
                last = at + ms(component as i64 * 20);
            }
            at += rto;
            rto = (rto * 2).min(ms(1_600));
        }
        last
    }
}
