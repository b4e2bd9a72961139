//! The steps of a Lync / Skype for Business conference join (docs/protocol.md §0), as methods of
//! [`Lab`] acting on a [`Conference`]:
//!
//! * [`Lab::invite`]: dialog A, the conference invitation relayed by the FE from inviter to
//!   invitee (100, 180, then 200 + ACK + BYE from the inviter, or 603 / 480 + ACK);
//! * [`Lab::join_focus`]: dialog B, INVITE to the focus with C3P `addUser`, answered with a
//!   C3P success, a C3P failure inside a 200, or 403 with `ms-diagnostics: 3014`;
//! * [`Lab::subscribe`]: dialog C, SUBSCRIBE `Event: conference` with the full roster
//!   piggy-backed on the 200; later roster changes go to every subscriber as partial
//!   BENOTIFYs (or NOTIFYs answered with 200 over UDP), each with the next `version`;
//! * [`Lab::join_av`]: dialog D, INVITE to the A/V MCU with an SDP offer, answered with an SDP
//!   answer (then ACK, roster update, optional post-ICE re-INVITE) or with 488 and
//!   `ms-diagnostics: 7008`;
//! * [`Lab::join_chat`] and [`Lab::chat_message`]: the IM MCU (`m=message`) and MESSAGEs
//!   relayed by it;
//! * [`Lab::leave`]: BYE of the MCU and focus dialogs and un-SUBSCRIBE.
//!
//! Each step takes the time it starts and returns the time of its last message, roster
//! notifications included, so that a script that runs the steps of one conference one after
//! the other keeps every roster subscription's versions and CSeqs increasing in time.

use super::body::{
    self, endpoint_update_xml, user_deleted_xml, Audio, C3pCode, Endpoint, Ice, Protection,
    RosterUser, SessionType,
};
use super::lab::{Lab, UserId, ALLOW, UA_SERVER};
use super::sip::{Dialog, Msg};
use super::wire::{ms, us, Nanos, Transport};

/// The public address of the A/V Edge, where clients outside get their relayed candidates.
pub(crate) const AV_EDGE: &str = "203.0.113.10";

/// The server's side of a client's dialog: its requests go back along the route the client's
/// request recorded (through the Access Edge, for a client outside).
fn server_side(client: &Dialog, request: &Msg) -> Dialog {
    let mut server = client.peer_view(0);
    server.route = request.get("Record-Route").map(str::to_owned);
    server
}

/// What the conference offers (the invitation's `audio` / `im` elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Modality {
    /// An audio conference: invitations ring (180) and say `<audio available="true"/>`.
    Audio,
    /// An IM-only conference: `<audio available="false"/>`, `<im available="true">`.
    ImOnly,
}

/// How the invitee answers a conference invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200 after some seconds of think time; the inviter ACKs and BYEs.
    Accept,
    /// 603 Decline.
    Decline,
    /// Nothing for twenty seconds, then 480 Temporarily Unavailable.
    Unanswered,
    /// 200 at once, without ringing: the client takes an invitation to a conference that its
    /// current call with the inviter became (an escalation, docs/joins.md §6).
    AtOnce,
    /// The Access Edge cannot reach the invitee's federated domain and answers 504 itself
    /// with `ms-diagnostics: 1010` (docs/joins.md §3.1).
    EdgeTimeout,
}

/// How the focus answers the C3P `addUser`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FocusOutcome {
    /// 200 with `code="success"`.
    Success,
    /// 200 with `code="failure"` and `<addUser reason="otherFailure">`; the client ACKs and
    /// BYEs the focus dialog.
    C3pFailure,
    /// 403 Forbidden with `ms-diagnostics: 3014;reason="Failed authorization."`.
    Forbidden,
    /// 200 with `code="pending"`: the lobby is on and the user is not a leader; the roster
    /// shows the user's focus endpoint `on-hold` until a leader decides ([`Lab::lobby_access`]).
    Lobby,
}

/// How the A/V MCU answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AvOutcome {
    /// 200 with an SDP answer; `reinvite` adds the post-ICE re-INVITE.
    Accept { reinvite: bool },
    /// 488 Not Acceptable Here with `ms-diagnostics: 7008;reason="Error parsing SDP"`.
    Reject,
}

/// The `ms-diagnostics` header value the FE adds to a failure.
pub(crate) fn diagnostics(code: u32, reason: &str) -> String {
    format!(
        "{code};reason=\"{reason}\";source=\"{}\"",
        super::lab::FE_FQDN
    )
}

/// A roster subscription: the client's dialog and the focus' side of it.
#[derive(Clone, Debug)]
pub(crate) struct Subscription {
    pub client: Dialog,
    pub focus: Dialog,
    pub version: u32,
}

/// A client's dialog with the focus or an MCU and the server's side of it (for requests the
/// server sends).
#[derive(Clone, Debug)]
pub(crate) struct McuLeg {
    pub client: Dialog,
    pub mcu: Dialog,
}

impl McuLeg {
    fn new(client: Dialog) -> Self {
        let mcu = client.peer_view(0);
        McuLeg { client, mcu }
    }
}

/// One user's dialogs in the conference.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub user: UserId,
    conversation: String,
    pub focus: Option<Dialog>,
    pub roster: Option<Subscription>,
    pub av: Option<Dialog>,
    pub chat: Option<McuLeg>,
    /// The client's and the MCU's audio of the A/V dialog (for its media).
    av_audio: Option<(Audio, Audio)>,
    /// The focus's and the A/V MCU's side of the user's dialogs (for their INFOs and BYEs).
    pub focus_server: Option<Dialog>,
    pub av_server: Option<Dialog>,
    /// The application sharing dialog.
    pub sharing: Option<McuLeg>,
    /// The C3P `requestId` and endpoint of the user's `addUser`, which the focus answers
    /// again when it admits the user from the lobby.
    pub add_user: Option<(u32, String)>,
}

/// A conference hosted on the lab's FE, and who is in it.
pub(crate) struct Conference {
    pub id: String,
    pub(crate) organizer_aor: String,
    organizer: UserId,
    subject: String,
    modality: Modality,
    /// `BENOTIFY` (never answered) or `NOTIFY` (answered with 200).
    notify_method: &'static str,
    pub(crate) roster: Vec<RosterUser>,
    pub(crate) sessions: Vec<Session>,
    /// Message-Id counter of the IM MCU.
    im_message_id: u32,
}

impl Conference {
    pub(crate) fn new(
        lab: &Lab,
        organizer: UserId,
        id: &str,
        subject: &str,
        modality: Modality,
    ) -> Self {
        Conference {
            id: id.to_owned(),
            organizer_aor: lab.u(organizer).aor(),
            organizer,
            subject: subject.to_owned(),
            modality,
            notify_method: "BENOTIFY",
            roster: Vec::new(),
            sessions: Vec::new(),
            im_message_id: 0,
        }
    }

    /// Roster updates as NOTIFY, answered with 200 (instead of BENOTIFY).
    pub(crate) fn with_notify(mut self) -> Self {
        self.notify_method = "NOTIFY";
        self
    }

    /// `sip:organizer@example.com;gruu;opaque=app:conf:<kind>:id:<ID>`.
    pub(crate) fn uri(&self, kind: &str) -> String {
        format!(
            "{};gruu;opaque=app:conf:{kind}:id:{}",
            self.organizer_aor, self.id
        )
    }

    pub(crate) fn focus_uri(&self) -> String {
        self.uri("focus")
    }

    /// `user` speaks in the conversation `id` (Ms-Conversation-ID): an escalated call's.
    pub(crate) fn set_conversation(&mut self, lab: &mut Lab, user: UserId, id: &str) {
        id.clone_into(&mut self.session(lab, user).conversation);
    }

    /// The subject.
    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    /// The client's and the MCU's audio of `user`'s accepted A/V join.
    pub(crate) fn av_audio(&self, user: UserId) -> Option<(Audio, Audio)> {
        self.sessions
            .iter()
            .find(|s| s.user == user)
            .and_then(|s| s.av_audio.clone())
    }

    pub(crate) fn session(&mut self, lab: &mut Lab, user: UserId) -> &mut Session {
        let index = match self.sessions.iter().position(|s| s.user == user) {
            Some(i) => i,
            None => {
                self.sessions.push(Session {
                    user,
                    conversation: lab.conversation_id(),
                    focus: None,
                    roster: None,
                    av: None,
                    chat: None,
                    av_audio: None,
                    focus_server: None,
                    av_server: None,
                    sharing: None,
                    add_user: None,
                });
                self.sessions.len() - 1
            }
        };
        &mut self.sessions[index]
    }
}

impl Lab {
    /// Dialog A: `from` invites `to` to the conference, relayed by the FE.
    pub(crate) fn invite(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        from: UserId,
        to: UserId,
        answer: Answer,
    ) -> Nanos {
        let conversation = conf.session(self, from).conversation.clone();
        conf.session(self, to).conversation = conversation.clone();
        let audio = conf.modality == Modality::Audio;
        let invitation = body::conf_invite(&conf.focus_uri(), &conf.subject, audio, !audio);
        let mut dialog = self.dialog(from, &self.u(to).aor(), true);
        let invite = self
            .request(from, &mut dialog, "INVITE")
            .h("Contact", self.u(from).contact())
            .h("User-Agent", self.u(from).ua)
            .h("Ms-Conversation-ID", conversation)
            .supported(&["ms-sender", "ms-conf-invite", "timer"])
            .h("ms-keep-alive", "UAC;hop-hop=yes")
            .h("Allow", ALLOW)
            .body("application/ms-conf-invite+xml", invitation);
        let (forwarded, t_fwd) = self.relay_request(t, from, to, &invite, true);
        let trying = self.reply(from, &invite, 100, "Trying");
        self.down(t + us(400), from, &trying);

        let to_params = self.uas_params(to);
        let contact = self.u(to).contact();
        let mut t = t_fwd + self.react(to);
        if audio && matches!(answer, Answer::Accept | Answer::Decline) {
            let ringing = Msg::response(&forwarded, 180, "Ringing")
                .with_to_tag(&to_params)
                .h("Contact", contact.clone());
            self.relay_response(t, to, from, &ringing);
            t += self.rng.millis(2_500, 7_000);
        }
        let (code, reason) = match answer {
            Answer::Accept | Answer::AtOnce => (200, "OK"),
            Answer::Decline => (603, "Decline"),
            Answer::Unanswered => (480, "Temporarily Unavailable"),
            Answer::EdgeTimeout => (504, "Server time-out"),
        };
        if answer == Answer::Unanswered {
            t += ms(20_000);
        }
        if answer == Answer::EdgeTimeout {
            // the Edge's own answer, after its connection attempts to the partner failed
            t += self.rng.millis(1_200, 2_500);
        }
        if code != 200 {
            let mut failure = Msg::response(&forwarded, code, reason);
            if answer == Answer::EdgeTimeout {
                // the Edge's own tag: no client of the invitee answered
                let tag = self.server_tag();
                failure = failure
                    .with_to_tag(&tag)
                    .h(
                        "ms-diagnostics",
                        "1010;reason=\"Certificate trust with another server could not be \
                         established\";source=\"edge01.example.com\"",
                    )
                    .h(
                        "ms-edge-proxy-message-trust",
                        "ms-source-type=EdgeProxyGenerated;ms-ep-fqdn=edge01.example.com;\
                         ms-source-network=federation",
                    )
                    .h("Server", UA_SERVER);
            } else {
                failure = failure.with_to_tag(&to_params);
            }
            self.up(t, to, &failure);
            self.down(t + us(300), to, &Msg::non_2xx_ack(&forwarded, &failure));
            let upstream = failure.strip_top_via();
            let t = t + self.hop();
            self.down(t, from, &upstream);
            let t = t + self.react(from);
            self.up(t, from, &Msg::non_2xx_ack(&invite, &upstream));
            return t;
        }
        let ok = Msg::response(&forwarded, 200, "OK")
            .with_to_tag(&to_params)
            .h("Contact", contact)
            .h("User-Agent", self.u(to).ua)
            .supported(&["ms-conf-invite"]);
        let (upstream, t) = self.relay_response(t, to, from, &ok);
        dialog.established(&upstream);
        let t = t + self.react(from);
        let ack = self.request(from, &mut dialog, "ACK");
        let (_, t_ack) = self.relay_request(t, from, to, &ack, false);
        // the inviter's client ends the invitation dialog right away
        let t = t_ack + self.rng.millis(150, 400);
        let bye = self
            .request(from, &mut dialog, "BYE")
            .h("User-Agent", self.u(from).ua);
        let (bye_fwd, t_bye) = self.relay_request(t, from, to, &bye, false);
        let bye_ok = Msg::response(&bye_fwd, 200, "OK").h("User-Agent", self.u(to).ua);
        let t = t_bye + self.react(to);
        self.relay_response(t, to, from, &bye_ok).1
    }

    /// Dialog B: `user` joins the focus with C3P `addUser`.
    pub(crate) fn join_focus(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        outcome: FocusOutcome,
    ) -> Nanos {
        self.join_focus_as(conf, t, user, outcome, false)
    }

    /// Dialog B for an anonymous guest ([MS-SIPAE] 4.5): the INVITE without credentials is
    /// challenged with 401 (Digest, realm the organizer's AOR); the client ACKs and sends it
    /// again in the same dialog (CSeq 2) with credentials derived from the meeting.
    pub(crate) fn join_focus_anonymous(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        outcome: FocusOutcome,
    ) -> Nanos {
        self.join_focus_as(conf, t, user, outcome, true)
    }

    fn join_focus_as(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        outcome: FocusOutcome,
        challenged: bool,
    ) -> Nanos {
        let focus = conf.focus_uri();
        let conversation = conf.session(self, user).conversation.clone();
        let aor = self.u(user).aor();
        let request_id = self.u_mut(user).take_request_id();
        let endpoint = self.rng.guid();
        let mut dialog = self.dialog(user, &focus, false);
        let invite = |lab: &mut Lab, dialog: &mut Dialog| {
            lab.request(user, dialog, "INVITE")
                .h("Contact", lab.u(user).contact())
                .h("User-Agent", lab.u(user).ua)
                .h("Ms-Conversation-ID", conversation.clone())
                .supported(&["ms-sender", "timer"])
        };
        let add_user = body::c3p_add_user(&focus, &aor, request_id, &endpoint);
        let mut t = t;
        let mut credentials = None;
        if challenged {
            let first = invite(self, &mut dialog).body("application/cccp+xml", add_user.clone());
            self.up(t, user, &first);
            let t_401 = t + self.work(3, 12);
            let tag = self.server_tag();
            let (nonce, opaque) = (self.rng.hex(32), self.rng.hex_upper(8));
            let realm = &conf.organizer_aor;
            let challenge = self
                .reply(user, &first, 401, "Unauthorized")
                .with_to_tag(&tag)
                .h(
                    "WWW-Authenticate",
                    format!(
                        "Digest realm=\"{realm}\", nonce=\"{nonce}\", opaque=\"{opaque}\", \
                         algorithm=MD5-sess, qop=\"auth\""
                    ),
                )
                .h("Server", UA_SERVER);
            self.down(t_401, user, &challenge);
            t = t_401 + self.react(user);
            self.up(t, user, &Msg::non_2xx_ack(&first, &challenge));
            t += self.rng.millis(20, 60);
            let name = aor.trim_start_matches("sip:");
            credentials = Some(format!(
                "Digest username=\"{name}\", realm=\"{realm}\", nonce=\"{nonce}\", \
                 uri=\"{focus}\", response=\"{}\", algorithm=MD5-sess, cnonce=\"{}\", \
                 opaque=\"{opaque}\", qop=auth, nc=00000001",
                self.rng.hex(32),
                self.rng.hex(16)
            ));
        }
        let mut invite = invite(self, &mut dialog);
        if let Some(credentials) = credentials {
            invite = invite.h("Authorization", credentials);
        }
        let invite = invite.body("application/cccp+xml", add_user);
        self.up(t, user, &invite);
        self.trying_over_udp(t, user, &invite);
        let t_reply = t + self.work(90, 260);
        let tag = self.server_tag();
        let reply = if outcome == FocusOutcome::Forbidden {
            self.reply(user, &invite, 403, "Forbidden")
                .with_to_tag(&tag)
                .h("ms-diagnostics", diagnostics(3014, "Failed authorization."))
        } else {
            let code = match outcome {
                FocusOutcome::Success => {
                    let role = if user == conf.organizer {
                        "presenter"
                    } else {
                        "attendee"
                    };
                    C3pCode::Success { role }
                }
                FocusOutcome::Lobby => C3pCode::Pending,
                _ => C3pCode::Failure {
                    reason: "otherFailure",
                },
            };
            let response = body::c3p_add_user_response(&focus, &aor, request_id, &endpoint, code);
            self.reply(user, &invite, 200, "OK")
                .with_to_tag(&tag)
                .h("Contact", format!("<{focus}>;isfocus"))
                .h("Session-Expires", "1800;refresher=uac")
                .h("Supported", "timer")
                .h("Server", UA_SERVER)
                .body("application/cccp+xml", response)
        };
        self.down(t_reply, user, &reply);
        let t = t_reply + self.react(user);
        if outcome == FocusOutcome::Forbidden {
            self.up(t, user, &Msg::non_2xx_ack(&invite, &reply));
            return t;
        }
        dialog.established(&reply);
        let ack = self.request(user, &mut dialog, "ACK");
        self.up(t, user, &ack);
        if outcome == FocusOutcome::C3pFailure {
            // the client gives up on the session it could not join
            let t = t + self.rng.millis(30, 90);
            let bye = self
                .request(user, &mut dialog, "BYE")
                .h("User-Agent", self.u(user).ua);
            self.up(t, user, &bye);
            let t = t + self.work(5, 25);
            let ok = self.reply(user, &bye, 200, "OK").h("Server", UA_SERVER);
            self.down(t, user, &ok);
            return t;
        }
        let session = conf.session(self, user);
        session.focus_server = Some(server_side(&dialog, &invite));
        session.focus = Some(dialog);
        session.add_user = Some((request_id, endpoint.clone()));
        let role = if user == conf.organizer {
            "presenter"
        } else {
            "attendee"
        };
        let mut focus_endpoint = Endpoint::new(endpoint, SessionType::Focus);
        if outcome == FocusOutcome::Lobby {
            focus_endpoint.status = "on-hold";
        }
        let joined = RosterUser {
            entity: aor,
            display: self.u(user).display.to_owned(),
            role,
            endpoints: vec![focus_endpoint],
        };
        let xml = joined.full_xml();
        // a rejoin replaces the user's entry
        conf.roster.retain(|r| r.entity != joined.entity);
        conf.roster.push(joined);
        let t_roster = t_reply + self.work(15, 45);
        let t_last = self.broadcast(conf, t_roster, &xml);
        t.max(t_last)
    }

    /// Dialog C: `user` subscribes to the roster and gets the full roster: piggy-backed on
    /// the 200 (BENOTIFY conferences), or in a first NOTIFY answered 200 (NOTIFY conferences).
    pub(crate) fn subscribe(&mut self, conf: &mut Conference, t: Nanos, user: UserId) -> Nanos {
        let focus = conf.focus_uri();
        let piggyback = conf.notify_method == "BENOTIFY";
        let mut dialog = self.dialog(user, &focus, false);
        let mut subscribe = self
            .request(user, &mut dialog, "SUBSCRIBE")
            .h("Contact", self.u(user).contact())
            .h("User-Agent", self.u(user).ua)
            .h("Event", "conference")
            .h("Accept", "application/conference-info+xml")
            .supported(&["com.microsoft.autoextend", "ms-benotify"])
            .h("Proxy-Require", "ms-benotify");
        if piggyback {
            subscribe = subscribe.supported(&["ms-piggyback-first-notify"]);
        }
        self.up(t, user, &subscribe);
        let t = t + self.work(30, 90);
        let mcus = [
            (conf.uri("chat"), "chat"),
            (conf.uri("audio-video"), "audio-video"),
        ];
        let roster = body::roster_full(&focus, &conf.subject, &mcus, &conf.roster, 1);
        let tag = self.server_tag();
        let ok = self
            .reply(user, &subscribe, 200, "OK")
            .with_to_tag(&tag)
            .h("Contact", format!("<{focus}>"))
            .h("Expires", "3600")
            .h("Event", "conference");
        let ok = if piggyback {
            ok.h("subscription-state", "active;expires=3600")
                .h("ms-piggyback-cseq", "1")
                .h("Supported", "ms-benotify, ms-piggyback-first-notify")
                .h("Server", UA_SERVER)
                .body("application/conference-info+xml", roster.clone())
        } else {
            ok.h("Server", UA_SERVER)
        };
        self.down(t, user, &ok);
        dialog.established(&ok);
        let mut focus_side = server_side(&dialog, &subscribe);
        let mut t_last = t;
        if piggyback {
            focus_side.cseq = 1;
        } else {
            let via = self.fe_via(user);
            let notify = focus_side
                .request("NOTIFY", via)
                .h("Event", "conference")
                .h("subscription-state", "active;expires=3600")
                .body("application/conference-info+xml", roster);
            let t_notify = t + us(800);
            self.down(t_notify, user, &notify);
            t_last = t_notify + self.react(user);
            self.up(
                t_last,
                user,
                &Msg::response(&notify, 200, "OK").h("User-Agent", self.u(user).ua),
            );
        }
        conf.session(self, user).roster = Some(Subscription {
            client: dialog,
            focus: focus_side,
            version: 1,
        });
        t_last
    }

    /// Sends a partial roster with one `user` element to every subscriber, starting at `t`;
    /// returns the time of the last message.
    pub(crate) fn broadcast(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user_xml: &[String],
    ) -> Nanos {
        let focus = conf.focus_uri();
        let method = conf.notify_method;
        let mut t_last = t;
        let mut t = t;
        for session in conf.sessions.iter_mut() {
            let Some(sub) = session.roster.as_mut() else {
                continue;
            };
            sub.version += 1;
            let via = self.fe_via(session.user);
            let notify = sub
                .focus
                .request(method, via)
                .h("Event", "conference")
                .h("subscription-state", "active;expires=3600")
                .body(
                    "application/conference-info+xml",
                    body::roster_partial(&focus, sub.version, user_xml),
                );
            self.down(t, session.user, &notify);
            t_last = t_last.max(t);
            if method == "NOTIFY" {
                let t_ok = t + self.react(session.user);
                let ok = Msg::response(&notify, 200, "OK").h("User-Agent", self.u(session.user).ua);
                self.up(t_ok, session.user, &ok);
                t_last = t_last.max(t_ok);
            }
            t += us(700) + self.rng.millis(0, 3);
        }
        t_last
    }

    /// Adds an endpoint to `user`'s roster entry and tells the subscribers.
    pub(crate) fn endpoint_connected(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        session: SessionType,
    ) -> Nanos {
        let aor = self.u(user).aor();
        let endpoint = Endpoint::new(self.rng.guid(), session);
        let xml = endpoint_update_xml(&aor, &endpoint);
        if let Some(entry) = conf.roster.iter_mut().find(|r| r.entity == aor) {
            entry.endpoints.push(endpoint);
        }
        self.broadcast(conf, t, &xml)
    }

    /// Dialog D: `user` joins the A/V MCU.
    pub(crate) fn join_av(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        ice: Ice,
        outcome: AvOutcome,
    ) -> Nanos {
        let av = conf.uri("audio-video");
        let conversation = conf.session(self, user).conversation.clone();
        let port = self.u_mut(user).take_media_port();
        let ip = self.u(user).ip;
        let mut audio = self.audio(ip, port, ice);
        if self.u(user).external() {
            // a client outside relays its media through the A/V Edge (TURN)
            let relay_port = 50_000 + 2 * self.rng.range(0, 7_000) as u16;
            audio.relay = Some((AV_EDGE.parse().unwrap_or(ip), relay_port));
        }
        let mut dialog = self.dialog(user, &av, false);
        let invite = self
            .media_invite(user, &mut dialog, &conversation)
            .body("application/sdp", audio.offer());
        self.up(t, user, &invite);
        self.trying_over_udp(t, user, &invite);
        let t_reply = t + self.work(150, 420);
        let tag = self.server_tag();
        let AvOutcome::Accept { reinvite } = outcome else {
            let reject = self
                .reply(user, &invite, 488, "Not Acceptable Here")
                .with_to_tag(&tag)
                .h("ms-diagnostics", diagnostics(7008, "Error parsing SDP"));
            self.down(t_reply, user, &reject);
            let t = t_reply + self.react(user);
            self.up(t, user, &Msg::non_2xx_ack(&invite, &reject));
            return t;
        };
        let mcu_port = 49_152 + 2 * self.rng.range(0, 4000) as u16;
        let fe_ip = self.fe_ip(user);
        let mcu = self.audio(fe_ip, mcu_port, ice);
        let ok = self
            .mcu_ok(user, &invite, &av)
            .with_to_tag(&tag)
            .body("application/sdp", mcu.answer(Protection::ScaleSrtp, 1));
        self.down(t_reply, user, &ok);
        dialog.established(&ok);
        let t = t_reply + self.react(user);
        let ack = self.request(user, &mut dialog, "ACK");
        self.up(t, user, &ack);
        // ICE connectivity checks take a second; then the MCU reports the endpoint
        let t_connected = t + self.rng.millis(700, 1_300);
        let mut t_last = self.endpoint_connected(conf, t_connected, user, SessionType::AudioVideo);
        if reinvite {
            let t = t_last.max(t) + self.rng.millis(500, 1_200);
            let reoffer = self
                .request(user, &mut dialog, "INVITE")
                .h("Contact", self.u(user).contact())
                .h("User-Agent", self.u(user).ua)
                .body("application/sdp", audio.reoffer(&mcu));
            self.up(t, user, &reoffer);
            let t = t + self.work(60, 160);
            let ok = self
                .mcu_ok(user, &reoffer, &av)
                .body("application/sdp", mcu.answer(Protection::ScaleSrtp, 2));
            self.down(t, user, &ok);
            let t = t + self.react(user);
            let ack = self.request(user, &mut dialog, "ACK");
            self.up(t, user, &ack);
            t_last = t_last.max(t);
        }
        let session = conf.session(self, user);
        session.av_server = Some(server_side(&dialog, &invite));
        session.av = Some(dialog);
        session.av_audio = Some((audio, mcu));
        t_last.max(t)
    }

    /// Over UDP the FE answers an INVITE it will take a while on with 100 Trying, which stops
    /// the client's retransmissions; over TCP there are none to stop.
    fn trying_over_udp(&mut self, t: Nanos, user: UserId, invite: &Msg) {
        if self.transport() == Transport::Udp {
            let trying = self.reply(user, invite, 100, "Trying");
            self.down(t + us(700), user, &trying);
        }
    }

    /// The headers of a client's media INVITE (message D1).
    pub(crate) fn media_invite(
        &mut self,
        user: UserId,
        dialog: &mut Dialog,
        conversation: &str,
    ) -> Msg {
        let invite = self.request(user, dialog, "INVITE");
        let u = self.u(user);
        invite
            .h("Contact", u.contact())
            .h("User-Agent", u.ua)
            .h("Ms-Conversation-ID", conversation.to_owned())
            .supported(&[
                "ms-dialog-route-set-update",
                "timer",
                "histinfo",
                "ms-safe-transfer",
                "ms-sender",
                "ms-early-media",
                "100rel",
            ])
            .h("ms-keep-alive", "UAC;hop-hop=yes")
            .h("Allow", ALLOW)
            .h("ms-subnet", u.subnet())
            .h(
                "ms-endpoint-location-data",
                if u.external() {
                    "NetworkScope;ms-media-location-type=Internet"
                } else {
                    "NetworkScope;ms-media-location-type=Intranet"
                },
            )
            .supported(&["replaces", "ms-conf-invite"])
    }

    /// The headers of an MCU's 200 OK to an INVITE (message D2), without body.
    pub(crate) fn mcu_ok(&self, user: UserId, request: &Msg, mcu: &str) -> Msg {
        self.reply(user, request, 200, "OK")
            .h("Record-Route", self.record_route())
            .h("Contact", format!("<{mcu}>"))
            .h("Session-Expires", "1800;refresher=uac")
            .h("Supported", "timer")
            .h("Server", UA_SERVER)
    }

    /// `user` joins the IM MCU (`app:conf:chat:id:…`) with an `m=message` SDP.
    pub(crate) fn join_chat(&mut self, conf: &mut Conference, t: Nanos, user: UserId) -> Nanos {
        let chat = conf.uri("chat");
        let conversation = conf.session(self, user).conversation.clone();
        let mut dialog = self.dialog(user, &chat, false);
        let invite = self
            .media_invite(user, &mut dialog, &conversation)
            .body("application/sdp", body::message_sdp(self.u(user).ip));
        self.up(t, user, &invite);
        let t = t + self.work(40, 120);
        let tag = self.server_tag();
        let ok = self
            .mcu_ok(user, &invite, &chat)
            .with_to_tag(&tag)
            .body("application/sdp", body::message_sdp(self.fe_ip(user)));
        self.down(t, user, &ok);
        dialog.established(&ok);
        let t = t + self.react(user);
        let ack = self.request(user, &mut dialog, "ACK");
        self.up(t, user, &ack);
        let mcu = dialog.peer_view(0);
        conf.session(self, user).chat = Some(McuLeg {
            client: dialog,
            mcu,
        });
        let t_roster = t + self.work(20, 60);
        self.endpoint_connected(conf, t_roster, user, SessionType::Chat)
            .max(t)
    }

    /// `user` joins the application sharing MCU (`app:conf:applicationsharing:id:…`) as sharer
    /// or viewer, INVITEing it directly as sipe does (docs/joins.md §5); the MCU accepts (200
    /// with its SDP, ACK, the roster shows the endpoint) or refuses the offer with 488 and
    /// `ms-diagnostics: 24000`.
    pub(crate) fn join_sharing(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        role: &str,
        accept: bool,
    ) -> Nanos {
        let sharing = conf.uri("applicationsharing");
        let conversation = conf.session(self, user).conversation.clone();
        let port = self.u_mut(user).take_media_port();
        let ip = self.u(user).ip;
        let offer = body::sharing_sdp(&mut self.rng, ip, port, role, false);
        let mut dialog = self.dialog(user, &sharing, false);
        let invite = self
            .media_invite(user, &mut dialog, &conversation)
            .body("application/sdp", offer);
        self.up(t, user, &invite);
        let t_reply = t + self.work(150, 380);
        let tag = self.server_tag();
        if !accept {
            let reject = self
                .reply(user, &invite, 488, "Not Acceptable Here")
                .with_to_tag(&tag)
                .h("ms-diagnostics", diagnostics(24000, "Error parsing SDP"));
            self.down(t_reply, user, &reject);
            let t = t_reply + self.react(user);
            self.up(t, user, &Msg::non_2xx_ack(&invite, &reject));
            return t;
        }
        let mcu_port = 49_152 + 2 * self.rng.range(0, 4000) as u16;
        let fe_ip = self.fe_ip(user);
        let other = if role == "sharer" { "viewer" } else { "sharer" };
        let answer = body::sharing_sdp(&mut self.rng, fe_ip, mcu_port, other, true);
        let ok = self
            .mcu_ok(user, &invite, &sharing)
            .with_to_tag(&tag)
            .body("application/sdp", answer);
        self.down(t_reply, user, &ok);
        dialog.established(&ok);
        let t = t_reply + self.react(user);
        let ack = self.request(user, &mut dialog, "ACK");
        self.up(t, user, &ack);
        conf.session(self, user).sharing = Some(McuLeg::new(dialog));
        let t_roster = t + self.work(300, 700);
        self.endpoint_connected(conf, t_roster, user, SessionType::ApplicationSharing)
            .max(t)
    }

    /// `user` sends an IM in the conference: MESSAGE to the IM MCU (202 Accepted), which
    /// delivers it to every other chat participant (who answer 200).
    pub(crate) fn chat_message(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        text: &str,
    ) -> Nanos {
        let aor = self.u(user).aor();
        let sender = conf.sessions.iter_mut().find(|s| s.user == user);
        let Some(leg) = sender.and_then(|s| s.chat.as_mut()) else {
            return t;
        };
        let message = self
            .request(user, &mut leg.client, "MESSAGE")
            .h("User-Agent", self.u(user).ua)
            .body("text/plain; charset=UTF-8", text.to_owned());
        self.up(t, user, &message);
        conf.im_message_id += 1;
        let message_id = conf.im_message_id;
        let t_accept = t + self.work(4, 15);
        let accepted = self
            .reply(user, &message, 202, "Accepted")
            .h("Message-Id", message_id.to_string())
            .h("Server", UA_SERVER);
        self.down(t_accept, user, &accepted);
        let mut t_last = t_accept;
        let mut t = t_accept + us(400);
        for session in conf.sessions.iter_mut().filter(|s| s.user != user) {
            let Some(leg) = session.chat.as_mut() else {
                continue;
            };
            let via = self.fe_via(session.user);
            let delivery = leg
                .mcu
                .request("MESSAGE", via)
                .h("Ms-Sender", format!("<{aor}>"))
                .body("text/plain; charset=UTF-8", text.to_owned());
            self.down(t, session.user, &delivery);
            let t_ok = t + self.react(session.user);
            let ok = Msg::response(&delivery, 200, "OK").h("User-Agent", self.u(session.user).ua);
            self.up(t_ok, session.user, &ok);
            t_last = t_last.max(t_ok);
            t += us(500);
        }
        t_last
    }

    /// `user`'s client ends the A/V call alone (the focus dialog stays): BYE with
    /// `ms-client-diagnostics: <client_diagnostics>`, which the MCU answers 200.
    pub(crate) fn hang_up_av(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        client_diagnostics: &str,
    ) -> Nanos {
        let Some(mut dialog) = conf.session(self, user).av.take() else {
            return t;
        };
        let bye = self
            .request(user, &mut dialog, "BYE")
            .h("User-Agent", self.u(user).ua)
            .h("ms-client-diagnostics", client_diagnostics.to_owned());
        self.up(t, user, &bye);
        let t_ok = t + self.work(10, 40);
        let ok = self.reply(user, &bye, 200, "OK").h("Server", UA_SERVER);
        self.down(t_ok, user, &ok);
        t_ok
    }

    /// `user` leaves: BYE to the MCUs and the focus, un-SUBSCRIBE; the others see the user
    /// deleted from the roster.
    pub(crate) fn leave(&mut self, conf: &mut Conference, t: Nanos, user: UserId) -> Nanos {
        let aor = self.u(user).aor();
        let session = conf.session(self, user);
        let (av, chat, focus, roster) = (
            session.av.take(),
            session.chat.take(),
            session.focus.take(),
            session.roster.take(),
        );
        let mut t = t;
        let dialogs = [av, chat.map(|leg| leg.client), focus];
        for mut dialog in dialogs.into_iter().flatten() {
            let bye = self
                .request(user, &mut dialog, "BYE")
                .h("User-Agent", self.u(user).ua);
            self.up(t, user, &bye);
            let t_ok = t + self.work(10, 40);
            let ok = self.reply(user, &bye, 200, "OK").h("Server", UA_SERVER);
            self.down(t_ok, user, &ok);
            t = t_ok + self.rng.millis(5, 20);
        }
        if let Some(mut sub) = roster {
            let unsubscribe = self
                .request(user, &mut sub.client, "SUBSCRIBE")
                .h("Contact", self.u(user).contact())
                .h("User-Agent", self.u(user).ua)
                .h("Event", "conference")
                .h("Expires", "0");
            self.up(t, user, &unsubscribe);
            t += self.work(10, 40);
            let ok = self
                .reply(user, &unsubscribe, 200, "OK")
                .h("Expires", "0")
                .h("subscription-state", "terminated;reason=timeout")
                .h("Server", UA_SERVER);
            self.down(t, user, &ok);
        }
        conf.roster.retain(|r| r.entity != aor);
        let t_roster = t + self.work(10, 40);
        self.broadcast(conf, t_roster, &user_deleted_xml(&aor))
            .max(t)
    }
}
