//! docs/protocol.md §8, rebuilt as `captures/worked-example.pcapng`, checked against the
//! expectations of §8.x ("Dissector expectations for the example").

use lyncscope::analysis::{DialogKind, JoinState};
use lyncscope::capture::CaptureFiles;
use lyncscope::net::{NetDecoder, NetOutput};
use lyncscope::pipeline::Pipeline;
use lyncscope::sip::body::{c3p, conf_invite, sdp};
use lyncscope::sip::conf_uri::McuType;
use lyncscope::sip::Message;
use lyncscope::transport::{MsgContext, SipSink, TransportLayer};

const FILE: &str = concat!(
    concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
    "/captures/worked-example.pcapng"
);

/// Every message of the capture as (start line, Content-Type, body).
#[derive(Default)]
struct Bodies(Vec<(String, String, Vec<u8>)>);

impl SipSink for Bodies {
    fn message(&mut self, _: &MsgContext, msg: &Message<'_>) {
        let raw = msg.raw();
        let first = raw.split(|&b| b == b'\r').next().unwrap_or_default();
        let ct = msg
            .content_type()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_default();
        self.0.push((
            String::from_utf8_lossy(first).into_owned(),
            ct,
            msg.body().to_vec(),
        ));
    }
}

fn messages() -> Vec<(String, String, Vec<u8>)> {
    let mut files = CaptureFiles::open(&[FILE.to_string()]).expect("opens");
    let (mut net, mut transport, mut sink) =
        (NetDecoder::new(), TransportLayer::new(), Bodies::default());
    while let Some(f) = files.next_frame() {
        if let NetOutput::Packet(p) = net.decode(&f) {
            transport.handle(&f, &p, &mut sink);
        }
    }
    transport.finish(&mut sink);
    sink.0
}

fn analysis() -> Pipeline {
    let mut files = CaptureFiles::open(&[FILE.to_string()]).expect("opens");
    let mut p = Pipeline::new(&lyncscope::Options::with_messages());
    lyncscope::pipeline::run(&mut files, &mut p);
    p
}

#[test]
fn a1_is_a_conference_invitation() {
    let msgs = messages();
    let (_, ct, body) = msgs
        .iter()
        .find(|(l, ..)| l.starts_with("INVITE sip:bob@example.com "))
        .expect("A1");
    assert_eq!(ct, "application/ms-conf-invite+xml");
    let inv = conf_invite::parse(body).expect("A1 body");
    assert_eq!(inv.version.as_deref(), Some("2.0"));
    assert_eq!((inv.audio, inv.im), (Some(true), Some(false)));
    assert_eq!(inv.subject.as_deref(), Some("Weekly sync"));
    let focus = inv.conf_uri().expect("focus URI");
    assert_eq!(
        (focus.organizer.as_str(), focus.id.as_deref(), &focus.mcu),
        ("alice@example.com", Some("JL3GPNYP"), &McuType::Focus)
    );

    let p = analysis();
    let conf = &p.analysis().conferences().list()[0];
    assert_eq!(conf.id, "JL3GPNYP");
    assert_eq!(conf.organizer, "sip:alice@example.com");
    assert_eq!(conf.subject.as_deref(), Some("Weekly sync"));
    let bob = &conf.participants[0];
    assert_eq!(bob.uri, "sip:bob@example.com");
    assert_eq!(bob.invited_by.as_deref(), Some("sip:alice@example.com"));
    // A3/A5: accepted, then ended by the inviter.
    let inv = bob.invitation.as_ref().expect("invitation step");
    assert_eq!(inv.status, Some(200));
    assert_eq!(inv.ended_by.map(|e| e.as_str()), Some("inviter"));
}

#[test]
fn b1_b2_focus_join_with_c3p() {
    let msgs = messages();
    let (_, _, b1) = msgs
        .iter()
        .find(|(l, ct, _)| l.starts_with("INVITE") && ct == "application/cccp+xml")
        .expect("B1");
    let req = c3p::parse(b1).expect("B1 body");
    assert_eq!(req.command, "addUser");
    assert_eq!(req.request_id.as_deref(), Some("17"));
    assert_eq!(req.user_entity.as_deref(), Some("sip:bob@example.com"));
    assert_eq!(req.roles, vec!["attendee"]);
    assert_eq!(
        req.endpoint_entity.as_deref(),
        Some("{2C5F80EE-197A-4A55-8EAC-29D771249B52}")
    );
    let (_, _, b2) = msgs
        .iter()
        .find(|(l, ct, _)| l.starts_with("SIP/2.0 200") && ct == "application/cccp+xml")
        .expect("B2");
    let resp = c3p::parse(b2).expect("B2 body");
    assert!(resp.is_success());
    assert_eq!(resp.roles, vec!["attendee"], "granted role");

    let p = analysis();
    let conf = &p.analysis().conferences().list()[0];
    let focus = conf.participants[0].focus.as_ref().expect("focus step");
    let c3p = focus.c3p.as_ref().expect("C3P");
    assert_eq!(
        (
            c3p.request.as_deref(),
            c3p.request_id.as_deref(),
            c3p.code.as_ref().map(|c| c.as_str())
        ),
        (Some("addUser"), Some("17"), Some("success"))
    );
}

#[test]
fn c2_c3_roster_merges_to_bob_connected_on_audio_video() {
    let p = analysis();
    let conf = &p.analysis().conferences().list()[0];
    let roster = conf.roster().expect("roster");
    // C2 (full, v1) then C3 (partial, v2): in sequence, not stale.
    assert_eq!(roster.version, Some(2));
    assert!(!roster.stale);
    assert!(roster
        .user("sip:alice@example.com")
        .is_some_and(|u| u.roles == ["presenter"]));
    assert!(roster
        .user("sip:bob@example.com")
        .is_some_and(|u| u.roles == ["attendee"]));
    assert!(roster.is_connected("sip:alice@example.com", "audio-video"));
    assert!(
        roster.is_connected("sip:bob@example.com", "audio-video"),
        "C3 connects bob's A/V endpoint"
    );
    let purposes: Vec<_> = roster
        .conf_uris
        .iter()
        .filter_map(|e| e.purpose.as_deref())
        .collect();
    assert_eq!(purposes, ["chat", "audio-video"]);
}

#[test]
fn d1_to_d4_av_mcu_join_and_reinvite() {
    let msgs = messages();
    let (_, _, d1) = msgs
        .iter()
        .find(|(l, ..)| {
            l.starts_with("INVITE sip:alice@example.com;gruu;opaque=app:conf:audio-video")
        })
        .expect("D1");
    let offer = sdp::parse(d1).expect("D1 SDP");
    assert_eq!(offer.ice_flavour(), sdp::IceFlavour::Rfc5245);
    let audio = &offer.media[0];
    assert_eq!(audio.kind, "audio");
    assert_eq!(audio.cryptoscale.len(), 1);
    assert_eq!(audio.cryptoscale[0].direction, "client");
    assert_eq!(
        audio.crypto.iter().map(|c| c.tag).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(audio.x_ssrc_range, Some((3567821313, 3567821313)));

    let p = analysis();
    let a = p.analysis();
    let conf = &a.conferences().list()[0];
    let bob = &conf.participants[0];
    // D4 is a re-INVITE inside dialog D: one A/V attempt, not two.
    assert_eq!(bob.media.len(), 1);
    let media = &bob.media[0];
    assert_eq!(media.status, Some(200));
    assert_eq!(media.media, ["audio"]);
    assert!(media.cryptoscale);
    assert_eq!(media.ice.map(|i| i.as_str()), Some("rfc5245"));
    let d = &a.dialogs()[media.dialog as usize];
    assert_eq!(d.kind, DialogKind::Media);
    assert_eq!(d.call_id.as_ref(), "d9e8f7a6b5c44d3e8f2a1b0c9d8e7f6a");
    assert!(
        d.messages >= 6,
        "D1–D3 and D4 with its 200 and ACK: {}",
        d.messages
    );
    assert_eq!(conf.diagnose(bob).state, JoinState::Joined);
    assert_eq!(conf.mcus, [McuType::Focus, McuType::AudioVideo]);
}
