//! Phones in a conference (docs/joins.md §2), through a Mediation Server beside the FE that
//! stands for the PSTN gateway: the Mediation Server is the SIP end of every phone call, so
//! its connection to the FE carries them all.
//!
//! * [`Lab::dial_in`]: a caller dials the conference access number; the Conferencing
//!   Attendant (an application on the FE) answers, takes the conference ID in DTMF (in-band,
//!   not in SIP), and transfers the call to the A/V MCU with a REFER: the Mediation Server
//!   then INVITEs the A/V MCU for the caller, whose phone identity is the participant. The
//!   attendant's own join on the caller's behalf runs inside the FE and is not on the wire.
//! * [`Lab::dial_out`]: the A/V MCU calls a number (after a leader's `addUser` dial-out,
//!   [`Lab::ask_dial_out`]); the callee answers, or the line is busy.

use super::body::{Endpoint, Ice, Protection, RosterUser, SessionType};
use super::control::{phone, phone_uri};
use super::lab::{Lab, UserId, ALLOW, FE_FQDN, FE_IPV4};
use super::lync::Conference;
use super::sip::{Dialog, Msg, NameAddr};
use super::wire::{ms, us, Nanos};

/// The Mediation Server's `User-Agent` / `Server`.
const UA_MEDIATION: &str = "RTCC/6.0.0.0 MediationServer";
/// The Conferencing Attendant's.
const UA_ATTENDANT: &str = "RTCC/6.0.0.0 ConferencingAttendant";
/// The A/V MCU's.
const UA_AVMCU: &str = "RTCC/6.0.0.0 AVMCU";

/// How a dialled-out phone answers the A/V MCU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pickup {
    /// It rings, then the callee answers.
    Answers,
    /// The line is busy: 486 with the PSTN's cause (Q.850 17).
    Busy,
}

impl Lab {
    /// The Mediation Server's GRUU.
    fn mediation_gruu(&self, med: UserId) -> String {
        format!(
            "sip:{}.example.com@example.com;gruu;opaque=srvr:MediationServer:\
             x0Dw4Y6NAVeq8yHWVqdErAAA",
            self.u(med).name
        )
    }

    /// The Mediation Server's Contact: its GRUU, marked as a gateway.
    fn mediation_contact(&self, med: UserId) -> String {
        format!("<{}>;isGateway", self.mediation_gruu(med))
    }

    /// A phone call from the Mediation Server in `dialog` (from `caller`), with the server's
    /// headers and SDP offer; `referred_by` for a call it makes on a transfer.
    fn mediation_invite(
        &mut self,
        med: UserId,
        dialog: &mut Dialog,
        caller: &str,
        referred_by: Option<&str>,
        sdp: String,
    ) -> Msg {
        let contact = self.mediation_contact(med);
        let mut invite = self.request(med, dialog, "INVITE");
        if let Some(by) = referred_by {
            invite = invite.h("Referred-By", format!("<{by}>"));
        }
        invite
            .h("Contact", contact)
            .h("User-Agent", UA_MEDIATION)
            .h("P-Asserted-Identity", format!("<tel:{caller}>"))
            .supported(&[
                "ms-safe-transfer",
                "ms-bypass",
                "100rel",
                "replaces",
                "timer",
            ])
            .h("Allow", ALLOW)
            .h(
                "ms-trunking-peer",
                "gw01.example.com;User-Agent=\"PSTN gateway\"",
            )
            .body("application/sdp", sdp)
    }

    /// A PSTN caller (`caller`, E.164) dials the conference's access number `access` through
    /// the Mediation Server `med`; the Conferencing Attendant answers, and after the caller
    /// keyed in the conference ID transfers the call to the A/V MCU (REFER); the Mediation
    /// Server INVITEs the MCU for the caller, who then shows in the roster, dialled in.
    pub(crate) fn dial_in(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        med: UserId,
        caller: &str,
        access: &str,
    ) -> Nanos {
        let med_ip = self.u(med).ip;
        let caa =
            format!("sip:{FE_FQDN}@example.com;gruu;opaque=srvr:caa:sRq8Ti3FcliUNdR2R3TMDgAA");
        // the call to the access number, answered by the attendant
        let port = self.u_mut(med).take_media_port();
        let gateway_audio = self.audio(med_ip, port, Ice::Rfc5245);
        let tag = self.tag();
        let call_id = self.call_id();
        let mut call = Dialog::new(
            call_id,
            phone(caller).tag(tag),
            phone(access),
            &self.mediation_gruu(med),
        );
        let invite = self.mediation_invite(med, &mut call, caller, None, gateway_audio.offer());
        self.up(t, med, &invite);
        let trying = self.reply(med, &invite, 100, "Trying");
        self.down(t + us(500), med, &trying);
        let caa_port = 49_152 + 2 * self.rng.range(0, 4000) as u16;
        let fe = FE_IPV4.parse().unwrap_or(med_ip);
        let caa_audio = self.audio(fe, caa_port, Ice::Rfc5245);
        let t_ok = t + self.work(300, 700);
        let caa_tag = self.server_tag();
        let ok = self
            .reply(med, &invite, 200, "OK")
            .with_to_tag(&caa_tag)
            .h("Contact", format!("<{caa}>"))
            .h("Server", UA_ATTENDANT)
            .h("Allow", ALLOW)
            .body("application/sdp", caa_audio.answer(Protection::Srtp, 1));
        self.down(t_ok, med, &ok);
        call.established(&ok);
        let t_ack = t_ok + self.react(med);
        let ack = self.request(med, &mut call, "ACK");
        self.up(t_ack, med, &ack);

        // the prompts, the conference ID and # in DTMF; then the transfer to the A/V MCU
        let av = conf.uri("audio-video");
        let t_refer = t_ack + self.rng.millis(14_000, 22_000);
        let mut attendant = call.peer_view(0);
        let via = self.fe_via(med);
        let refer = attendant
            .request("REFER", via)
            .h("Contact", format!("<{caa}>"))
            .h("Refer-To", format!("<{av}>"))
            .h("Referred-By", format!("<{caa}>"))
            .h("Server", UA_ATTENDANT);
        self.down(t_refer, med, &refer);
        let t_accepted = t_refer + self.react(med);
        let accepted = Msg::response(&refer, 202, "Accepted").h("Server", UA_MEDIATION);
        self.up(t_accepted, med, &accepted);
        let sipfrag = |lab: &mut Lab, call: &mut Dialog, state: &str, status: &str| {
            lab.request(med, call, "NOTIFY")
                .h("Event", "refer")
                .h("Subscription-State", state.to_owned())
                .h("User-Agent", UA_MEDIATION)
                .body("message/sipfrag;version=2.0", format!("{status}\r\n"))
        };
        let notify = sipfrag(self, &mut call, "active;expires=60", "SIP/2.0 100 Trying");
        let t_notify = t_accepted + us(700);
        self.up(t_notify, med, &notify);
        let ok = self
            .reply(med, &notify, 200, "OK")
            .h("Server", UA_ATTENDANT);
        let t_ok = t_notify + self.work(2, 8);
        self.down(t_ok, med, &ok);

        // the Mediation Server's call to the A/V MCU, for the caller
        let port = self.u_mut(med).take_media_port();
        let leg_audio = self.audio(med_ip, port, Ice::Rfc5245);
        let tag = self.tag();
        let call_id = self.call_id();
        let mut leg = Dialog::new(
            call_id,
            phone(caller).tag(tag),
            NameAddr::new(av.clone()),
            &self.mediation_gruu(med),
        );
        let t_invite = t_notify + self.rng.millis(20, 60);
        let invite = self.mediation_invite(med, &mut leg, caller, Some(&caa), leg_audio.offer());
        self.up(t_invite, med, &invite);
        let t_ok = t_invite + self.work(180, 420);
        let mcu_port = 49_152 + 2 * self.rng.range(0, 4000) as u16;
        let mcu = self.audio(fe, mcu_port, Ice::Rfc5245);
        let tag = self.server_tag();
        let ok = self
            .mcu_ok(med, &invite, &av)
            .with_to_tag(&tag)
            .body("application/sdp", mcu.answer(Protection::ScaleSrtp, 1));
        self.down(t_ok, med, &ok);
        leg.established(&ok);
        let t_ack = t_ok + self.react(med);
        let ack = self.request(med, &mut leg, "ACK");
        self.up(t_ack, med, &ack);

        // the transfer went through: the attendant leaves the call
        let notify = sipfrag(
            self,
            &mut call,
            "terminated;reason=noresource",
            "SIP/2.0 200 OK",
        );
        let t_notify = t_ack + self.rng.millis(5, 20);
        self.up(t_notify, med, &notify);
        let t_done = t_notify + self.work(2, 8);
        let ok = self
            .reply(med, &notify, 200, "OK")
            .h("Server", UA_ATTENDANT);
        self.down(t_done, med, &ok);
        let via = self.fe_via(med);
        let bye = attendant.request("BYE", via).h("Server", UA_ATTENDANT);
        let t_bye = t_done + self.work(20, 60);
        self.down(t_bye, med, &bye);
        let t_bye_ok = t_bye + self.react(med);
        let ok = Msg::response(&bye, 200, "OK").h("User-Agent", UA_MEDIATION);
        self.up(t_bye_ok, med, &ok);

        let t_roster = t_ack + self.rng.millis(700, 1_300);
        let caller_user = RosterUser {
            entity: phone_uri(caller),
            display: caller.to_owned(),
            role: "attendee",
            endpoints: vec![Endpoint::new(self.rng.guid(), SessionType::AudioVideo)],
        };
        let xml = caller_user.full_xml();
        conf.roster.push(caller_user);
        self.broadcast(conf, t_roster, &xml).max(t_bye_ok)
    }

    /// The A/V MCU calls `number` (E.164) through the Mediation Server `med`; the phone
    /// rings, then answers (200 with SDP, ACK, the roster shows the callee dialled out) or is
    /// busy (486 with the PSTN's Q.850 cause, ACK).
    pub(crate) fn dial_out(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        med: UserId,
        number: &str,
        pickup: Pickup,
    ) -> Nanos {
        let av = conf.uri("audio-video");
        let callee = phone_uri(number);
        let fe = FE_IPV4.parse().unwrap_or(self.u(med).ip);
        let mcu_port = 49_152 + 2 * self.rng.range(0, 4000) as u16;
        let mcu = self.audio(fe, mcu_port, Ice::Rfc5245);
        let mcu_tag = self.server_tag();
        let call_id = self.call_id();
        // the MCU's request as the FE's proxy forwards it to the Mediation Server
        let proxy_via = self.fe_via(med);
        let mcu_branch = self.branch();
        let invite = Msg::request("INVITE", &callee)
            .h("Via", proxy_via)
            .h(
                "Via",
                format!("SIP/2.0/TLS {FE_IPV4}:5063;branch={mcu_branch};ms-received-port=5063"),
            )
            .h("Record-Route", self.record_route())
            .h("Max-Forwards", "69")
            .h("From", format!("<{av}>;{mcu_tag}"))
            .h("To", format!("<{callee}>"))
            .h("Call-ID", call_id)
            .h("CSeq", "1 INVITE")
            .h("Contact", format!("<{av}>"))
            .h("User-Agent", UA_AVMCU)
            .supported(&["ms-safe-transfer", "timer"])
            .h("Allow", ALLOW)
            .body("application/sdp", mcu.offer());
        self.down(t, med, &invite);
        let t_trying = t + self.work(2, 8);
        let trying = Msg::response(&invite, 100, "Trying").h("Server", UA_MEDIATION);
        self.up(t_trying, med, &trying);
        let to_tag = format!("tag={}", self.rng.hex(8));
        let t_ring = t_trying + self.rng.millis(900, 2_200);
        let contact = self.mediation_contact(med);
        let ringing = Msg::response(&invite, 180, "Ringing")
            .with_to_tag(&to_tag)
            .h("Contact", contact.clone())
            .h("Server", UA_MEDIATION);
        self.up(t_ring, med, &ringing);
        if pickup == Pickup::Busy {
            let t_busy = t_ring + self.rng.millis(1_500, 3_500);
            let busy = Msg::response(&invite, 486, "Busy Here")
                .with_to_tag(&to_tag)
                .h("Reason", "Q.850;cause=17;text=\"User busy\"")
                .h("Server", UA_MEDIATION);
            self.up(t_busy, med, &busy);
            let t_ack = t_busy + self.work(1, 4);
            self.down(t_ack, med, &Msg::non_2xx_ack(&invite, &busy));
            return t_ack;
        }
        let port = self.u_mut(med).take_media_port();
        let med_ip = self.u(med).ip;
        let phone_audio = self.audio(med_ip, port, Ice::Rfc5245);
        let t_ok = t_ring + self.rng.millis(4_000, 9_000);
        let ok = Msg::response(&invite, 200, "OK")
            .with_to_tag(&to_tag)
            .h("Contact", contact)
            .h("Server", UA_MEDIATION)
            .body(
                "application/sdp",
                phone_audio.answer(Protection::ScaleSrtp, 1),
            );
        self.up(t_ok, med, &ok);
        let mut mcu_side =
            Dialog::new(String::new(), NameAddr::default(), NameAddr::default(), &av);
        mcu_side.established(&ok);
        let via = self.fe_via(med);
        let mcu_branch = self.branch();
        let ack = Msg::request("ACK", &mcu_side.target)
            .h("Via", via)
            .h(
                "Via",
                format!("SIP/2.0/TLS {FE_IPV4}:5063;branch={mcu_branch};ms-received-port=5063"),
            )
            .h("Max-Forwards", "69")
            .h("From", ok.get("From").unwrap_or_default().to_owned())
            .h("To", ok.get("To").unwrap_or_default().to_owned())
            .h("Call-ID", ok.get("Call-ID").unwrap_or_default().to_owned())
            .h("CSeq", "1 ACK");
        let t_ack = t_ok + self.work(1, 4);
        self.down(t_ack, med, &ack);
        let t_roster = t_ack + self.rng.millis(600, 1_100);
        let mut endpoint = Endpoint::new(self.rng.guid(), SessionType::AudioVideo);
        endpoint.joining = "dialed-out";
        let callee_user = RosterUser {
            entity: callee,
            display: number.to_owned(),
            role: "attendee",
            endpoints: vec![endpoint],
        };
        let xml = callee_user.full_xml();
        conf.roster.push(callee_user);
        self.broadcast(conf, t_roster, &xml).max(t_ack + ms(1))
    }
}
