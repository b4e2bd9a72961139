//! Ordinary SIP that shares the wire with conferences and must not be mistaken for one:
//! registration with an authentication challenge, OPTIONS keep-alives, a peer-to-peer audio
//! call (whose INVITE says `Supported: ms-conf-invite` and carries a Ms-Conversation-ID, like
//! every Lync INVITE, but an SDP body) and a page-mode MESSAGE.

use super::body::{Ice, Protection};
use super::lab::{Lab, UserId, ALLOW, DOMAIN, FE_FQDN, UA_CLIENT, UA_SERVER};
use super::sip::{Dialog, Msg};
use super::wire::Nanos;

const REALM: &str = "SIP Communications Service";

/// A peer-to-peer call that is up: the caller's side of the dialog.
pub(crate) struct Call {
    caller: UserId,
    callee: UserId,
    dialog: Dialog,
    /// Its Ms-Conversation-ID, which an escalation to a conference keeps.
    pub conversation: String,
}

impl Lab {
    /// REGISTER, 401 with NTLM and Kerberos challenges, REGISTER with credentials, 200.
    pub(crate) fn register(&mut self, t: Nanos, user: UserId) -> Nanos {
        let aor = self.u(user).aor();
        let mut dialog = self.dialog(user, &aor, false);
        dialog.target = format!("sip:{DOMAIN}");
        let instance = self
            .rng
            .guid()
            .trim_matches(|c| c == '{' || c == '}')
            .to_ascii_lowercase();
        let contact = format!(
            "<sip:{};transport=tcp;ms-opaque={}>;methods=\"INVITE, MESSAGE, INFO, SUBSCRIBE, \
             OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY\";proxy=replace;\
             +sip.instance=\"<urn:uuid:{instance}>\"",
            self.u(user).hostport(),
            self.rng.hex(10)
        );
        let register = |lab: &mut Lab, dialog: &mut Dialog| {
            lab.request(user, dialog, "REGISTER")
                .h("Contact", contact.clone())
                .h("User-Agent", UA_CLIENT)
                .supported(&[
                    "gruu-10",
                    "adhoclist",
                    "msrtc-event-categories",
                    "ms-forking",
                ])
                .h("ms-keep-alive", "UAC;hop-hop=yes")
                .h("Event", "registration")
        };
        let first = register(self, &mut dialog);
        self.up(t, user, &first);
        let t = t + self.work(2, 8);
        let tag = self.server_tag();
        let challenge = self
            .reply(user, &first, 401, "Unauthorized")
            .with_to_tag(&tag)
            .h(
                "WWW-Authenticate",
                format!("NTLM realm=\"{REALM}\", targetname=\"{FE_FQDN}\", version=4"),
            )
            .h(
                "WWW-Authenticate",
                format!("Kerberos realm=\"{REALM}\", targetname=\"sip/{FE_FQDN}\", version=4"),
            )
            .h("Server", UA_SERVER);
        self.down(t, user, &challenge);
        let t = t + self.react(user);
        let opaque = self.rng.hex_upper(8);
        let token = self.rng.base64(96);
        let second = register(self, &mut dialog).h(
            "Authorization",
            format!(
                "NTLM qop=\"auth\", realm=\"{REALM}\", opaque=\"{opaque}\", \
                 targetname=\"{FE_FQDN}\", version=4, gssapi-data=\"TlRMTVNTUAADAAAA{token}\""
            ),
        );
        self.up(t, user, &second);
        let t = t + self.work(10, 40);
        let gruu = self.u(user).gruu();
        let ok = self
            .reply(user, &second, 200, "OK")
            .with_to_tag(&tag)
            .h("Contact", format!("{contact};expires=7200;gruu=\"{gruu}\""))
            .h("Expires", "7200")
            .h(
                "Authentication-Info",
                format!(
                    "NTLM rspauth=\"{}\", srand=\"{}\", snum=\"1\", opaque=\"{opaque}\", \
                     qop=\"auth\", targetname=\"{FE_FQDN}\", realm=\"{REALM}\"",
                    self.rng.hex(32),
                    self.rng.hex_upper(8)
                ),
            )
            .h(
                "ms-keep-alive",
                "UAS; tcp=no; hop-hop=yes; end-point=no; timeout=300",
            )
            .h("Server", UA_SERVER);
        self.down(t, user, &ok);
        t
    }

    /// OPTIONS from the client to its FE, answered 200.
    pub(crate) fn options_ping(&mut self, t: Nanos, user: UserId) -> Nanos {
        let mut dialog = self.dialog(user, &format!("sip:{FE_FQDN}"), false);
        let options = self
            .request(user, &mut dialog, "OPTIONS")
            .h("Contact", self.u(user).contact())
            .h("User-Agent", UA_CLIENT)
            .h("Accept", "application/sdp");
        self.up(t, user, &options);
        let t = t + self.work(1, 5);
        let tag = self.server_tag();
        let ok = self
            .reply(user, &options, 200, "OK")
            .with_to_tag(&tag)
            .h("Allow", ALLOW)
            .h("Accept", "application/sdp")
            .h("Server", UA_SERVER);
        self.down(t, user, &ok);
        t
    }

    /// A peer-to-peer audio call from `caller` to `callee`, relayed by the FE: INVITE with
    /// SDP, 100, 180, 200 with SDP, ACK, and after `talk` the callee hangs up (BYE, 200).
    pub(crate) fn peer_call(
        &mut self,
        t: Nanos,
        caller: UserId,
        callee: UserId,
        talk: Nanos,
    ) -> Nanos {
        let (call, t) = self.call(t, caller, callee);
        self.hang_up(call, t + talk, callee)
    }

    /// The setup of [`Lab::peer_call`]: the call is up when this returns (after the ACK).
    pub(crate) fn call(&mut self, t: Nanos, caller: UserId, callee: UserId) -> (Call, Nanos) {
        let (caller_port, callee_port) = (
            self.u_mut(caller).take_media_port(),
            self.u_mut(callee).take_media_port(),
        );
        let (caller_ip, callee_ip) = (self.u(caller).ip, self.u(callee).ip);
        let offer = self.audio(caller_ip, caller_port, Ice::Rfc5245);
        let answer = self.audio(callee_ip, callee_port, Ice::Rfc5245);
        let mut dialog = self.dialog(caller, &self.u(callee).aor(), true);
        let conversation = self.conversation_id();
        let invite = self
            .request(caller, &mut dialog, "INVITE")
            .h("Contact", self.u(caller).contact())
            .h("User-Agent", UA_CLIENT)
            .h("Ms-Conversation-ID", conversation)
            .supported(&[
                "ms-dialog-route-set-update",
                "timer",
                "histinfo",
                "ms-sender",
                "100rel",
            ])
            .h("Allow", ALLOW)
            .supported(&["replaces", "ms-conf-invite"])
            .body("application/sdp", offer.offer());
        let (forwarded, t_fwd) = self.relay_request(t, caller, callee, &invite, true);
        let trying = self.reply(caller, &invite, 100, "Trying");
        let t_trying = t + self.hop();
        self.down(t_trying, caller, &trying);
        let to_params = self.uas_params(callee);
        let contact = self.u(callee).contact();
        let t = t_fwd + self.react(callee);
        let ringing = Msg::response(&forwarded, 180, "Ringing")
            .with_to_tag(&to_params)
            .h("Contact", contact.clone());
        self.relay_response(t, callee, caller, &ringing);
        let t = t + self.rng.millis(2_000, 5_000);
        let ok = Msg::response(&forwarded, 200, "OK")
            .with_to_tag(&to_params)
            .h("Contact", contact)
            .h("User-Agent", UA_CLIENT)
            .body("application/sdp", answer.answer(Protection::Srtp, 0));
        let (upstream, t) = self.relay_response(t, callee, caller, &ok);
        dialog.established(&upstream);
        let t = t + self.react(caller);
        let ack = self.request(caller, &mut dialog, "ACK");
        let (_, t) = self.relay_request(t, caller, callee, &ack, false);
        let call = Call {
            caller,
            callee,
            dialog,
            conversation: invite
                .get("Ms-Conversation-ID")
                .unwrap_or_default()
                .to_owned(),
        };
        (call, t)
    }

    /// `by` (either end) hangs up a call of [`Lab::call`] at `t`: BYE, 200, relayed.
    pub(crate) fn hang_up(&mut self, call: Call, t: Nanos, by: UserId) -> Nanos {
        let Call {
            caller,
            callee,
            dialog,
            ..
        } = call;
        let (mut side, other) = if by == callee {
            // the callee's view of the dialog, for its BYE
            let mut callee_side = dialog.peer_view(0);
            callee_side.route = Some(self.record_route());
            (callee_side, caller)
        } else {
            (dialog, callee)
        };
        let bye = self
            .request(by, &mut side, "BYE")
            .h("User-Agent", self.u(by).ua);
        let (bye_fwd, t) = self.relay_request(t, by, other, &bye, false);
        let t = t + self.react(other);
        let ok = Msg::response(&bye_fwd, 200, "OK").h("User-Agent", self.u(other).ua);
        self.relay_response(t, other, by, &ok).1
    }

    /// A page-mode MESSAGE from `from` to `to`, relayed by the FE and answered 200.
    pub(crate) fn page(&mut self, t: Nanos, from: UserId, to: UserId, text: &str) -> Nanos {
        let mut dialog = self.dialog(from, &self.u(to).aor(), true);
        let message = self
            .request(from, &mut dialog, "MESSAGE")
            .h("Contact", self.u(from).contact())
            .h("User-Agent", UA_CLIENT)
            .body("text/plain; charset=UTF-8", text.to_owned());
        let (forwarded, t) = self.relay_request(t, from, to, &message, false);
        let to_params = self.uas_params(to);
        let ok = Msg::response(&forwarded, 200, "OK")
            .with_to_tag(&to_params)
            .h("User-Agent", UA_CLIENT);
        let t = t + self.react(to);
        self.relay_response(t, to, from, &ok).1
    }
}
