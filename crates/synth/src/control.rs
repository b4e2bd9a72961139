//! Conference control (docs/joins.md §1, §6, §7): the C3P commands a leader sends on their
//! focus dialog — admitting or refusing someone waiting in the lobby, removing someone,
//! ending the conference, asking the A/V MCU to dial out — what the focus and the MCUs do
//! about them, creating a conference with the focus factory (an escalation), and a client
//! that loses its connection.
//!
//! A command goes as [MS-CONFBAS] 4.4.8 shows it: INFO with the C3P request on the leader's
//! focus dialog, `202 Accepted` while the focus works on it, then the C3P response in an INFO
//! from the focus, which the client answers 200 (UCMA reads the result from either).

use super::body::{self, user_deleted_xml, C3pCode, Endpoint};
use super::lab::{Lab, UserId, UA_SERVER};
use super::lync::Conference;
use super::sip::{Dialog, Msg, NameAddr};
use super::wire::{us, Nanos};

impl Lab {
    /// `user` sends the C3P `command` on their focus dialog; the focus accepts it (202) and
    /// answers `done` with `code="success"`. Returns when the client answered the focus.
    pub(crate) fn c3p_info(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        command: &[String],
        done: &[String],
    ) -> Nanos {
        let focus = conf.focus_uri();
        let aor = self.u(user).aor();
        let request_id = self.u_mut(user).take_request_id();
        let session = conf.session(self, user);
        let (Some(mut client), Some(mut server)) =
            (session.focus.take(), session.focus_server.take())
        else {
            return t;
        };
        let info = self
            .request(user, &mut client, "INFO")
            .h("Contact", self.u(user).contact())
            .h("User-Agent", self.u(user).ua)
            .supported(&["ms-sender"])
            .body(
                "application/cccp+xml",
                body::c3p_request(&focus, &aor, request_id, command),
            );
        self.up(t, user, &info);
        let t_accepted = t + self.work(6, 25);
        let accepted = self
            .reply(user, &info, 202, "Accepted")
            .h("Server", UA_SERVER);
        self.down(t_accepted, user, &accepted);
        let t_done = t_accepted + self.work(40, 160);
        let via = self.fe_via(user);
        let answer = server
            .request("INFO", via)
            .h("Contact", format!("<{focus}>;isfocus"))
            .h("Server", UA_SERVER)
            .body(
                "application/cccp+xml",
                body::c3p_response(&focus, &aor, request_id, "success", done),
            );
        self.down(t_done, user, &answer);
        let t_ok = t_done + self.react(user);
        let ok = Msg::response(&answer, 200, "OK").h("User-Agent", self.u(user).ua);
        self.up(t_ok, user, &ok);
        let session = conf.session(self, user);
        session.focus = Some(client);
        session.focus_server = Some(server);
        t_ok
    }

    /// A leader (`by`) admits (`granted`) or refuses `whom`, who waits in the lobby
    /// (`setLobbyAccess`). Admitted: the focus sends `whom` the final result of their pending
    /// `addUser` (an INFO with `code="success"`) and the roster shows their focus endpoint
    /// connected. Refused: the focus ends their focus dialog (BYE) and the roster drops them.
    pub(crate) fn lobby_access(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        by: UserId,
        whom: UserId,
        granted: bool,
    ) -> Nanos {
        let focus = conf.focus_uri();
        let who = self.u(whom).aor();
        let command = body::set_lobby_access(&focus, &who, granted);
        let done = body::c3p_done("setLobbyAccess", &focus);
        let t = self.c3p_info(conf, t, by, &command, &done);
        let t = t + self.work(30, 90);
        if !granted {
            let t = self.server_bye_focus(conf, t, whom);
            conf.roster.retain(|r| r.entity != who);
            let t_roster = t + self.work(10, 40);
            return self
                .broadcast(conf, t_roster, &user_deleted_xml(&who))
                .max(t);
        }
        let session = conf.session(self, whom);
        let (Some(mut server), Some((request_id, endpoint))) =
            (session.focus_server.take(), session.add_user.clone())
        else {
            return t;
        };
        let via = self.fe_via(whom);
        let result = server
            .request("INFO", via)
            .h("Contact", format!("<{focus}>;isfocus"))
            .h("Server", UA_SERVER)
            .body(
                "application/cccp+xml",
                body::c3p_add_user_response(
                    &focus,
                    &who,
                    request_id,
                    &endpoint,
                    C3pCode::Success { role: "attendee" },
                ),
            );
        self.down(t, whom, &result);
        let t_ok = t + self.react(whom);
        let ok = Msg::response(&result, 200, "OK").h("User-Agent", self.u(whom).ua);
        self.up(t_ok, whom, &ok);
        conf.session(self, whom).focus_server = Some(server);
        let mut admitted = Endpoint::new(endpoint, body::SessionType::Focus);
        if let Some(entry) = conf.roster.iter_mut().find(|r| r.entity == who) {
            for e in &mut entry.endpoints {
                e.status = "connected";
            }
            if let Some(e) = entry.endpoints.first() {
                admitted = e.clone();
            }
        }
        let t_roster = t + self.work(10, 40);
        self.broadcast(conf, t_roster, &body::endpoint_update_xml(&who, &admitted))
            .max(t_ok)
    }

    /// The focus ends `user`'s focus dialog (BYE, answered 200).
    fn server_bye_focus(&mut self, conf: &mut Conference, t: Nanos, user: UserId) -> Nanos {
        let session = conf.session(self, user);
        session.focus = None;
        let Some(mut server) = session.focus_server.take() else {
            return t;
        };
        self.server_bye(t, user, &mut server)
    }

    /// A server (the focus, an MCU) ends its dialog with `user`: BYE, the client's 200.
    fn server_bye(&mut self, t: Nanos, user: UserId, server: &mut Dialog) -> Nanos {
        let via = self.fe_via(user);
        let bye = server.request("BYE", via).h("Server", UA_SERVER);
        self.down(t, user, &bye);
        let t_ok = t + self.react(user);
        let ok = Msg::response(&bye, 200, "OK").h("User-Agent", self.u(user).ua);
        self.up(t_ok, user, &ok);
        t_ok
    }

    /// The servers end every dialog of `user`'s session: the roster subscription (a NOTIFY
    /// that terminates it, carrying the roster `state="deleted"` when the conference is
    /// gone), then the MCUs' and the focus' BYEs.
    fn end_session(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
        reason: &str,
        deleted: bool,
    ) -> Nanos {
        let focus = conf.focus_uri();
        let session = conf.session(self, user);
        let roster = session.roster.take();
        let legs = [
            session
                .av
                .take()
                .zip(session.av_server.take())
                .map(|(_, s)| s),
            session.sharing.take().map(|l| l.mcu),
            session.chat.take().map(|l| l.mcu),
            session
                .focus
                .take()
                .zip(session.focus_server.take())
                .map(|(_, s)| s),
        ];
        let mut t = t;
        if let Some(mut sub) = roster {
            sub.version += 1;
            let via = self.fe_via(user);
            let notify = sub
                .focus
                .request("NOTIFY", via)
                .h("Event", "conference")
                .h("subscription-state", format!("terminated;reason={reason}"))
                .h("Server", UA_SERVER);
            let notify = if deleted {
                notify.body(
                    "application/conference-info+xml",
                    body::roster_deleted(&focus, sub.version),
                )
            } else {
                notify
            };
            self.down(t, user, &notify);
            let t_ok = t + self.react(user);
            let ok = Msg::response(&notify, 200, "OK").h("User-Agent", self.u(user).ua);
            self.up(t_ok, user, &ok);
            t = t + us(900) + self.rng.millis(0, 3);
        }
        let mut t_last = t;
        for mut server in legs.into_iter().flatten() {
            t_last = self.server_bye(t, user, &mut server);
            t = t + us(800) + self.rng.millis(1, 6);
        }
        t_last.max(t)
    }

    /// A leader (`by`) removes `whom` (`deleteUser`): the focus and the MCUs end whom's
    /// dialogs, the roster subscription is terminated, the others see whom deleted.
    pub(crate) fn remove(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        by: UserId,
        whom: UserId,
    ) -> Nanos {
        let focus = conf.focus_uri();
        let who = self.u(whom).aor();
        let command = body::delete_user(&focus, &who);
        let done = body::c3p_done("deleteUser", &focus);
        let t = self.c3p_info(conf, t, by, &command, &done);
        let t = t + self.work(20, 60);
        let t = self.end_session(conf, t, whom, "deactivated", false);
        conf.roster.retain(|r| r.entity != who);
        let t_roster = t + self.work(10, 40);
        self.broadcast(conf, t_roster, &user_deleted_xml(&who))
            .max(t)
    }

    /// `by` ends the conference for everyone (`deleteConference`): each subscriber gets the
    /// roster `state="deleted"` in a NOTIFY that terminates the subscription, and the focus
    /// and the MCUs end every dialog.
    pub(crate) fn end_conference(&mut self, conf: &mut Conference, t: Nanos, by: UserId) -> Nanos {
        let focus = conf.focus_uri();
        let command = body::delete_conference(&focus);
        let done = body::c3p_done("deleteConference", &focus);
        let mut t = self.c3p_info(conf, t, by, &command, &done) + self.work(40, 120);
        let users: Vec<UserId> = conf.sessions.iter().map(|s| s.user).collect();
        let mut t_last = t;
        for user in users {
            t_last = self.end_session(conf, t, user, "noresource", true);
            t += us(1_500) + self.rng.millis(0, 4);
        }
        conf.roster.clear();
        t_last.max(t)
    }

    /// `by` asks the A/V MCU to call `callee` (`addUser` dial-out, [MS-CONFBAS] 2.2.3.15):
    /// `callee` is the SIP URI of the person, `endpoint_uri` where to call them.
    pub(crate) fn ask_dial_out(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        by: UserId,
        callee: &str,
        endpoint_uri: &str,
    ) -> Nanos {
        let focus = conf.focus_uri();
        let av = conf.uri("audio-video");
        let endpoint = self.rng.guid();
        let command = body::add_user_dial_out(&focus, &av, callee, &endpoint, endpoint_uri);
        let done = body::add_user_dial_out_done(&focus, callee, &endpoint);
        self.c3p_info(conf, t, by, &command, &done)
    }

    /// `user`'s client creates the conference with the focus factory (SERVICE with
    /// `addConference`, as sipe-conf.c does it); the factory answers with the focus URI.
    pub(crate) fn create_conference(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
    ) -> Nanos {
        let aor = self.u(user).aor();
        let factory = format!("{aor};gruu;opaque=app:conf:focusfactory");
        let request_id = self.u_mut(user).take_request_id();
        let expiry = utc_text(t + 8 * 3_600 * 1_000_000_000);
        let command = body::add_conference(&conf.id, conf.subject(), &expiry);
        let mut dialog = self.dialog(user, &factory, false);
        let service = self
            .request(user, &mut dialog, "SERVICE")
            .h("Contact", self.u(user).contact())
            .h("User-Agent", self.u(user).ua)
            .supported(&["ms-sender"])
            .body(
                "application/cccp+xml",
                body::c3p_request(&factory, &aor, request_id, &command),
            );
        self.up(t, user, &service);
        let t_ok = t + self.work(120, 300);
        let tag = self.server_tag();
        let done = body::add_conference_done(&conf.focus_uri());
        let ok = self
            .reply(user, &service, 200, "OK")
            .with_to_tag(&tag)
            .h("Server", UA_SERVER)
            .body(
                "application/cccp+xml",
                body::c3p_response(&factory, &aor, request_id, "success", &done),
            );
        self.down(t_ok, user, &ok);
        t_ok
    }

    /// `user`'s client loses its connection (the network went away): the focus notices and
    /// drops the user's subscription; the others see the user's endpoints disconnected
    /// (`failed`). The client's next messages go over a new connection (see
    /// [`Lab::new_connection`]).
    pub(crate) fn lose_connection(
        &mut self,
        conf: &mut Conference,
        t: Nanos,
        user: UserId,
    ) -> Nanos {
        let aor = self.u(user).aor();
        let session = conf.session(self, user);
        session.roster = None;
        session.focus = None;
        session.focus_server = None;
        session.av = None;
        session.av_server = None;
        let mut gone = Vec::new();
        if let Some(entry) = conf.roster.iter_mut().find(|r| r.entity == aor) {
            for e in &mut entry.endpoints {
                e.status = "disconnected";
                e.disconnection = Some("failed");
            }
            gone.clone_from(&entry.endpoints);
        }
        self.new_connection(user);
        self.broadcast(conf, t, &body::endpoints_update_xml(&aor, &gone))
    }
}

/// A name-addr of a phone number as Lync writes it in SIP (`sip:+14255550123@example.com;
/// user=phone`).
pub(crate) fn phone(number: &str) -> NameAddr {
    NameAddr::new(phone_uri(number))
}

/// `sip:<number>@example.com;user=phone`.
pub(crate) fn phone_uri(number: &str) -> String {
    format!("sip:{number}@{};user=phone", super::lab::DOMAIN)
}

/// A time as `2026-01-12T17:30:04Z` (C3P `expiry-time`).
fn utc_text(t: Nanos) -> String {
    let secs = t.div_euclid(1_000_000_000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // days since 1970-01-01 to a civil date (H. Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_in_utc() {
        // 2026-01-12T09:00:00Z
        let t = (1_768_176_000 + 9 * 3_600) * 1_000_000_000;
        assert_eq!(super::utc_text(t), "2026-01-12T09:00:00Z");
        assert_eq!(super::utc_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::utc_text(951_782_400 * 1_000_000_000),
            "2000-02-29T00:00:00Z"
        );
    }
}
