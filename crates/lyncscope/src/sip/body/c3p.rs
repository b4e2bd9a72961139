//! `application/cccp+xml`: C3P, the Centralized Conference Control Protocol (MS-CONFPRO,
//! MS-CONFBAS; protocol brief §3).
//!
//! The joining client INVITEs the focus with `<request><addUser>…` and the focus answers in the
//! SIP 200 with `<response code="success|failure"><addUser>…`; later commands (mute, eject,
//! roles) ride INFOs on that dialog and conference management rides SERVICE requests to the
//! focus factory. A SIP 200 can carry a C3P *failure*, so the join analysis needs `code` and
//! `reason` as much as the SIP status.
//!
//! The envelope is `request`/`response` with `requestId`, `from`, `to`, `C3PVersion` (and `code`
//! on responses) and exactly one child, the command. Keys and participants sit inside the
//! command: `conferenceKeys|userKeys|mediaKeys@confEntity`, `user@entity`, `roles/entry`,
//! `endpoint@entity`, `mscp:mcuUri`. Prefixes vary (`ci:`, `msci:`, `mscp:`, default
//! namespaces), so only local names are matched. Unknown commands still yield their name.

use super::xml::{self, Element, Path, Visitor};
use super::{lossy, BodyError};

/// At most this many roles are kept.
const MAX_ROLES: usize = 32;

/// Request or response envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum C3pKind {
    /// `<request>`
    Request,
    /// `<response>`
    Response,
}

/// The `code` of a response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum C3pCode {
    /// `success`
    Success,
    /// `failure`
    Failure,
    /// `pending`
    Pending,
    /// Anything else, verbatim.
    Other(String),
}

impl C3pCode {
    /// Classifies a `code` value, ignoring ASCII case and surrounding whitespace.
    pub fn parse(s: &str) -> C3pCode {
        let t = s.trim();
        if t.eq_ignore_ascii_case("success") {
            C3pCode::Success
        } else if t.eq_ignore_ascii_case("failure") {
            C3pCode::Failure
        } else if t.eq_ignore_ascii_case("pending") {
            C3pCode::Pending
        } else {
            C3pCode::Other(t.to_owned())
        }
    }

    /// The code as written in the protocol (`success`, `failure`, `pending`, or verbatim).
    pub fn as_str(&self) -> &str {
        match self {
            C3pCode::Success => "success",
            C3pCode::Failure => "failure",
            C3pCode::Pending => "pending",
            C3pCode::Other(s) => s,
        }
    }
}

impl serde::Serialize for C3pCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A parsed C3P request or response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct C3p {
    /// Request or response.
    pub kind: C3pKind,
    /// Local name of the command element (`addUser`, `modifyEndpointMedia`, `deleteUser`,
    /// `getConference`, `addConference`, …); empty if the envelope has no child.
    pub command: String,
    /// `requestId`, verbatim (responses echo the request's).
    pub request_id: Option<String>,
    /// `C3PVersion` (always `1` when present).
    pub c3p_version: Option<String>,
    /// `from`: the requester (request) or the focus (response).
    pub from: Option<String>,
    /// `to`: the focus or focus factory (request) or the requester (response).
    pub to: Option<String>,
    /// `code` of a response.
    pub code: Option<C3pCode>,
    /// Why: the command's `reason` (or `result`) attribute, else the text of a `reason` or
    /// `error` element inside the command.
    pub reason: Option<String>,
    /// The conference: `conferenceKeys|userKeys|mediaKeys@confEntity`, else the
    /// `conference-info@entity` that `addConference` / `deleteConference` responses carry.
    pub conf_entity: Option<String>,
    /// `conferenceKeys@conference-id` (getConference by ID).
    pub conference_id: Option<String>,
    /// The participant: `user@entity`, else `userKeys|mediaKeys@userEntity`.
    pub user_entity: Option<String>,
    /// `roles/entry` (requested in a request, granted in a response) or `user-roles/entry`.
    pub roles: Vec<String>,
    /// The endpoint: `endpoint@entity` (a client-chosen GUID), else `mediaKeys@endpointEntity`.
    pub endpoint_entity: Option<String>,
    /// `mediaKeys@mediaId` (modifyEndpointMedia).
    pub media_id: Option<String>,
    /// The MCU addressed: the command's `mcuUri` attribute (any prefix) or a `mcuUri` element
    /// (dial-out, where it is a short name such as `AVMCU`, not a URI).
    pub mcu_uri: Option<String>,
    /// The `access` of a `setLobbyAccess` (`granted` admits a user waiting in the lobby;
    /// anything else refuses them), as sent.
    pub access: Option<String>,
}

impl C3p {
    /// True for a response whose `code` is `success`.
    pub fn is_success(&self) -> bool {
        self.code == Some(C3pCode::Success)
    }

    /// True for a response whose `code` is `failure`.
    pub fn is_failure(&self) -> bool {
        self.code == Some(C3pCode::Failure)
    }
}

/// Parses an `application/cccp+xml` body.
pub fn parse(body: &[u8]) -> Result<C3p, BodyError> {
    walk(body, false)
}

/// The outcome of a C3P document — kind, command, `requestId`, `code`, and the command's
/// `reason`/`result` — read from the root and command elements only, which is all the join
/// analysis needs; the rest of the document is not read. A failed command is read whole, since
/// its reason may be in a child element. Keys, user and roles are `None`/empty here.
pub fn parse_outcome(body: &[u8]) -> Result<C3p, BodyError> {
    match scan_outcome(body) {
        Some(c3p) => Ok(c3p),
        None => walk(body, true),
    }
}

/// The outcome read from the first two start tags without an XML parse, for a plain document
/// (UTF-8, no entity references in the values read, not a failure); `None` otherwise.
fn scan_outcome(body: &[u8]) -> Option<C3p> {
    use xml::RawAttr;
    let (root, end) = xml::next_start_tag(body, 0)?;
    // A root closed at once (`<request/>`) has no command: what follows is not its child.
    if root.empty {
        return None;
    }
    let kind = match root.local {
        "request" => C3pKind::Request,
        "response" => C3pKind::Response,
        _ => return None,
    };
    let (command, command_end) = xml::next_start_tag(body, end)?;
    // The command is the root's first child: an end tag before it (the root closed, the
    // "command" outside it) or a nameless tag means the parser must decide.
    let between = body.get(end..command_end)?;
    if command.local.is_empty() || memchr::memmem::find(between, b"</").is_some() {
        return None;
    }
    let plain = |a: RawAttr<'_>| match a {
        RawAttr::Absent => Some(None),
        RawAttr::Plain(v) => Some(Some(v.to_owned())),
        RawAttr::Unreadable => None,
    };
    let [code, request_id] = root.attrs_named(["code", "requestId"]);
    let code = plain(code)?.map(|c| C3pCode::parse(&c));
    if code == Some(C3pCode::Failure) {
        return None; // a failure's reason may be in a child element
    }
    let [reason, result] = command.attrs_named(["reason", "result"]);
    let reason = match plain(reason)? {
        Some(r) => Some(r),
        None => plain(result)?,
    };
    Some(C3p {
        kind,
        command: command.local.to_owned(),
        request_id: plain(request_id)?,
        c3p_version: None,
        from: None,
        to: None,
        code,
        reason,
        conf_entity: None,
        conference_id: None,
        user_entity: None,
        roles: Vec::new(),
        endpoint_entity: None,
        media_id: None,
        mcu_uri: None,
        access: None,
    })
}

fn walk(body: &[u8], outcome_only: bool) -> Result<C3p, BodyError> {
    let text = lossy(body);
    let v = xml::walk(&text, || C3pVisitor {
        out: None,
        in_command: false,
        outcome_only,
    })?;
    v.out.ok_or(BodyError::NotThisType("a C3P document"))
}

struct C3pVisitor {
    out: Option<C3p>,
    /// Inside the first child of the root (later siblings are not the command).
    in_command: bool,
    /// Stop after the command element unless the command failed.
    outcome_only: bool,
}

/// Sets `slot` once: the first occurrence in document order wins.
fn set_once(slot: &mut Option<String>, value: Option<std::borrow::Cow<'_, str>>) {
    if slot.is_none() {
        if let Some(v) = value {
            *slot = Some(v.into_owned());
        }
    }
}

impl Visitor for C3pVisitor {
    fn finished(&self) -> bool {
        self.outcome_only
            && self
                .out
                .as_ref()
                .is_some_and(|o| !o.command.is_empty() && o.code != Some(C3pCode::Failure))
    }

    fn open(&mut self, path: &Path, name: &str, el: &Element<'_, '_>) -> Result<(), BodyError> {
        if path.depth() == 1 {
            let kind = match name {
                "request" => C3pKind::Request,
                "response" => C3pKind::Response,
                _ => {
                    return Err(BodyError::UnexpectedRoot {
                        expected: "request|response",
                        found: name.to_owned(),
                    })
                }
            };
            self.out = Some(C3p {
                kind,
                command: String::new(),
                request_id: el.attr("requestId").map(|v| v.into_owned()),
                c3p_version: el.attr("C3PVersion").map(|v| v.into_owned()),
                from: el.attr("from").map(|v| v.into_owned()),
                to: el.attr("to").map(|v| v.into_owned()),
                code: el.attr("code").map(|v| C3pCode::parse(&v)),
                reason: None,
                conf_entity: None,
                conference_id: None,
                user_entity: None,
                roles: Vec::new(),
                endpoint_entity: None,
                media_id: None,
                mcu_uri: None,
                access: None,
            });
            return Ok(());
        }
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        if path.depth() == 2 {
            if out.command.is_empty() {
                out.command = name.to_owned();
                self.in_command = true;
                set_once(&mut out.reason, el.attr("reason"));
                set_once(&mut out.reason, el.attr("result"));
                set_once(&mut out.mcu_uri, el.attr("mcuUri"));
            }
            return Ok(());
        }
        if !self.in_command {
            return Ok(());
        }
        match name {
            "conferenceKeys" | "userKeys" | "mediaKeys" => {
                set_once(&mut out.conf_entity, el.attr("confEntity"));
                set_once(&mut out.conference_id, el.attr("conference-id"));
                set_once(&mut out.user_entity, el.attr("userEntity"));
                set_once(&mut out.endpoint_entity, el.attr("endpointEntity"));
                set_once(&mut out.media_id, el.attr("mediaId"));
            }
            "user" => set_once(&mut out.user_entity, el.attr("entity")),
            "endpoint" => set_once(&mut out.endpoint_entity, el.attr("entity")),
            "conference-info" => set_once(&mut out.conf_entity, el.attr("entity")),
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, path: &Path, name: &str, text: &str) -> Result<(), BodyError> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        match path.depth() {
            2 => self.in_command = false,
            d if d > 2 && self.in_command => match name {
                "entry"
                    if (path.ends_with(&["roles", "entry"])
                        || path.ends_with(&["user-roles", "entry"]))
                        && !text.is_empty()
                        && out.roles.len() < MAX_ROLES =>
                {
                    out.roles.push(text.to_owned());
                }
                "mcuUri" if !text.is_empty() => {
                    set_once(&mut out.mcu_uri, Some(text.into()));
                }
                // setLobbyAccess names the user and the decision in elements
                // (MS-CONFBAS 4.4.8), not in the userKeys attribute.
                "userEntity" if !text.is_empty() => {
                    set_once(&mut out.user_entity, Some(text.into()));
                }
                "access" if !text.is_empty() => {
                    set_once(&mut out.access, Some(text.into()));
                }
                "reason" | "error" if !text.is_empty() => {
                    set_once(&mut out.reason, Some(text.into()));
                }
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn set_lobby_access_names_the_user_and_the_decision() {
        let c = parse(br#"<request xmlns="urn:ietf:params:xml:ns:cccp" requestId="9" from="sip:alice@x" to="sip:alice@x;gruu;opaque=app:conf:focus:id:Z"><setLobbyAccess><conferenceKeys confEntity="sip:alice@x;gruu;opaque=app:conf:focus:id:Z"/><userEntity>sip:bob@x</userEntity><access>granted</access></setLobbyAccess></request>"#).unwrap();
        assert_eq!(c.command, "setLobbyAccess");
        assert_eq!(c.user_entity.as_deref(), Some("sip:bob@x"));
        assert_eq!(c.access.as_deref(), Some("granted"));
    }

    const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";

    /// Body of docs/protocol.md §8 B1.
    pub(crate) const B1: &str = r#"<?xml version="1.0"?>
<request xmlns="urn:ietf:params:xml:ns:cccp" xmlns:mscp="http://schemas.microsoft.com/rtc/2005/08/cccpextensions" C3PVersion="1" to="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP" from="sip:bob@example.com" requestId="17">
  <addUser>
    <conferenceKeys confEntity="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP"/>
    <ci:user xmlns:ci="urn:ietf:params:xml:ns:conference-info" entity="sip:bob@example.com">
      <ci:roles>
        <ci:entry>attendee</ci:entry>
      </ci:roles>
      <ci:endpoint entity="{2C5F80EE-197A-4A55-8EAC-29D771249B52}" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions"/>
    </ci:user>
  </addUser>
</request>
"#;

    /// Body of docs/protocol.md §8 B2.
    pub(crate) const B2: &str = r#"<?xml version="1.0"?>
<response xmlns="urn:ietf:params:xml:ns:cccp" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions" C3PVersion="1" requestId="17" from="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP" to="sip:bob@example.com" code="success">
  <addUser>
    <conferenceKeys confEntity="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP"/>
    <ci:user xmlns:ci="urn:ietf:params:xml:ns:conference-info" entity="sip:bob@example.com">
      <ci:roles>
        <ci:entry>attendee</ci:entry>
      </ci:roles>
      <ci:endpoint entity="{2C5F80EE-197A-4A55-8EAC-29D771249B52}"/>
    </ci:user>
  </addUser>
</response>
"#;

    /// Body of docs/protocol.md §8 N3.
    pub(crate) const N3: &str = r#"<?xml version="1.0"?>
<response xmlns="urn:ietf:params:xml:ns:cccp" C3PVersion="1" requestId="17" from="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP" to="sip:bob@example.com" code="failure">
  <addUser reason="otherFailure">
    <conferenceKeys confEntity="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP"/>
  </addUser>
</response>
"#;

    #[test]
    fn outcome_only_agrees_on_the_outcome() {
        for body in [B1, B2, N3] {
            let full = parse(body.as_bytes()).unwrap();
            let quick = parse_outcome(body.as_bytes()).unwrap();
            assert_eq!(
                (
                    &quick.kind,
                    &quick.command,
                    &quick.request_id,
                    &quick.code,
                    &quick.reason
                ),
                (
                    &full.kind,
                    &full.command,
                    &full.request_id,
                    &full.code,
                    &full.reason
                )
            );
        }
        let failed = r#"<response xmlns="urn:ietf:params:xml:ns:cccp" requestId="3" code="failure"><addUser><reason>bad</reason></addUser></response>"#;
        assert_eq!(
            parse_outcome(failed.as_bytes()).unwrap().reason.as_deref(),
            Some("bad")
        );
    }

    #[test]
    fn b1_focus_join_request() {
        let c = parse(B1.as_bytes()).unwrap();
        assert_eq!(c.kind, C3pKind::Request);
        assert_eq!(c.command, "addUser");
        assert_eq!(c.request_id.as_deref(), Some("17"));
        assert_eq!(c.c3p_version.as_deref(), Some("1"));
        assert_eq!(c.from.as_deref(), Some("sip:bob@example.com"));
        assert_eq!(c.to.as_deref(), Some(FOCUS));
        assert_eq!(c.code, None);
        assert_eq!(c.conf_entity.as_deref(), Some(FOCUS));
        assert_eq!(c.user_entity.as_deref(), Some("sip:bob@example.com"));
        assert_eq!(c.roles, ["attendee"]);
        assert_eq!(
            c.endpoint_entity.as_deref(),
            Some("{2C5F80EE-197A-4A55-8EAC-29D771249B52}")
        );
        assert_eq!(c.reason, None);
        assert_eq!(c.mcu_uri, None);
    }

    #[test]
    fn b2_focus_join_success() {
        let c = parse(B2.as_bytes()).unwrap();
        assert_eq!(c.kind, C3pKind::Response);
        assert_eq!(c.command, "addUser");
        assert_eq!(c.code, Some(C3pCode::Success));
        assert!(c.is_success());
        assert_eq!(c.roles, ["attendee"]);
        assert_eq!(c.from.as_deref(), Some(FOCUS));
        assert_eq!(c.to.as_deref(), Some("sip:bob@example.com"));
    }

    #[test]
    fn n3_c3p_failure_in_sip_200() {
        let c = parse(N3.as_bytes()).unwrap();
        assert_eq!(c.code, Some(C3pCode::Failure));
        assert!(c.is_failure());
        assert_eq!(c.reason.as_deref(), Some("otherFailure"));
        assert_eq!(c.conf_entity.as_deref(), Some(FOCUS));
        assert_eq!(c.user_entity, None);
    }

    #[test]
    fn modify_endpoint_media_with_prefixes() {
        // SIPE's mute request: ci:/msci:/mscp: prefixes, mscp:mcuUri on the command.
        let body = r#"<?xml version="1.0"?><request xmlns="urn:ietf:params:xml:ns:cccp" xmlns:mscp="http://schemas.microsoft.com/rtc/2005/08/cccpextensions" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions" C3PVersion="1" to="sip:alice@example.com;gruu;opaque=app:conf:focus:id:X" from="sip:bob@example.com" requestId="42"><modifyEndpointMedia mscp:mcuUri="sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:X" xmlns:ci="urn:ietf:params:xml:ns:conference-info"><mediaKeys confEntity="sip:alice@example.com;gruu;opaque=app:conf:focus:id:X" userEntity="sip:bob@example.com" endpointEntity="{GUID}" mediaId="1"/><ci:media id="1"><ci:type>audio</ci:type><ci:status>recvonly</ci:status><msci:media-ingress-filter>block</msci:media-ingress-filter></ci:media></modifyEndpointMedia></request>"#;
        let c = parse(body.as_bytes()).unwrap();
        assert_eq!(c.command, "modifyEndpointMedia");
        assert_eq!(c.request_id.as_deref(), Some("42"));
        assert_eq!(
            c.mcu_uri.as_deref(),
            Some("sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:X")
        );
        assert_eq!(
            c.conf_entity.as_deref(),
            Some("sip:alice@example.com;gruu;opaque=app:conf:focus:id:X")
        );
        assert_eq!(c.user_entity.as_deref(), Some("sip:bob@example.com"));
        assert_eq!(c.endpoint_entity.as_deref(), Some("{GUID}"));
        assert_eq!(c.media_id.as_deref(), Some("1"));
    }

    #[test]
    fn other_commands() {
        let c = parse(br#"<request xmlns="urn:ietf:params:xml:ns:cccp" requestId="3" from="sip:a@b" to="sip:a@b;gruu;opaque=app:conf:focusfactory"><getConferencingCapabilities/></request>"#).unwrap();
        assert_eq!(c.command, "getConferencingCapabilities");
        assert_eq!(c.conf_entity, None);

        let c = parse(br#"<request><deleteUser><userKeys confEntity="sip:o@x;gruu;opaque=app:conf:focus:id:Z" userEntity="sip:carol@x"/></deleteUser></request>"#).unwrap();
        assert_eq!(c.command, "deleteUser");
        assert_eq!(c.user_entity.as_deref(), Some("sip:carol@x"));

        let c = parse(br#"<request><modifyUserRoles><userKeys confEntity="c" userEntity="u"/><user-roles xmlns="urn:ietf:params:xml:ns:conference-info"><entry>presenter</entry></user-roles></modifyUserRoles></request>"#).unwrap();
        assert_eq!(c.roles, ["presenter"]);

        let c = parse(br#"<response code="success"><addConference><conference-info entity="sip:o@x;gruu;opaque=app:conf:focus:id:NEW"/></addConference></response>"#).unwrap();
        assert_eq!(
            c.conf_entity.as_deref(),
            Some("sip:o@x;gruu;opaque=app:conf:focus:id:NEW")
        );

        let c = parse(br#"<request><getConference><conferenceKeys xmlns:msci="m" msci:conference-id="JL3GPNYP"/></getConference></request>"#).unwrap();
        assert_eq!(c.conference_id.as_deref(), Some("JL3GPNYP"));

        // Dial-out addUser: mcuUri element with a short MCU name.
        let c = parse(br#"<request><addUser><conferenceKeys confEntity="c"/><user entity="tel:+1"><endpoint entity="{E}"/></user><mcuUri>AVMCU</mcuUri></addUser></request>"#).unwrap();
        assert_eq!(c.mcu_uri.as_deref(), Some("AVMCU"));

        // `result` instead of `reason`, and an error child.
        let c =
            parse(br#"<response code="FAILURE"><endorseUser result="otherFailure"/></response>"#)
                .unwrap();
        assert_eq!(c.code, Some(C3pCode::Failure));
        assert_eq!(c.reason.as_deref(), Some("otherFailure"));
        let c = parse(br#"<response code="odd"><x><error>boom &amp; bust</error></x></response>"#)
            .unwrap();
        assert_eq!(c.code, Some(C3pCode::Other("odd".into())));
        assert_eq!(c.reason.as_deref(), Some("boom & bust"));
    }

    #[test]
    fn only_the_first_child_is_the_command() {
        let c = parse(br#"<request><a/><b><user entity="sip:x@y"/></b></request>"#).unwrap();
        assert_eq!(c.command, "a");
        assert_eq!(c.user_entity, None);
        let c = parse(b"<response code=\"success\"/>").unwrap();
        assert_eq!(c.command, "");
    }

    #[test]
    fn hostile_inputs() {
        assert!(matches!(
            parse(b"<conference-info/>"),
            Err(BodyError::UnexpectedRoot { .. })
        ));
        for end in [10, 100, 300, B1.len() - 3] {
            assert!(parse(&B1.as_bytes()[..end]).is_err(), "prefix {end}");
        }
        assert!(parse(b"\x00\x01\x02garbage").is_err());
        let many = format!(
            "<request><addUser><roles>{}</roles></addUser></request>",
            "<entry>r</entry>".repeat(10_000)
        );
        assert_eq!(parse(many.as_bytes()).unwrap().roles.len(), MAX_ROLES);
    }
}
