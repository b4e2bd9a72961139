//! SIP message building: messages, name-addrs and dialogs.
//!
//! A [`Msg`] is a start line, an ordered list of headers and a body; `Content-Length` is never
//! written by hand but computed over the body when the message is encoded (bodies are built
//! with CRLF line ends, so the length is the length on the wire). Responses, proxied copies and
//! ACKs are derived from the request they answer ([`Msg::response`], [`Msg::forwarded`],
//! [`Msg::non_2xx_ack`]) so that Via, From, To, Call-ID and CSeq always line up; requests inside
//! a dialog come from a [`Dialog`], which keeps the tags, the remote target, the route set and
//! the CSeq counter.

use std::fmt;

/// A SIP message under construction.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    start: String,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Msg {
    /// A request with the given method and Request-URI.
    pub(crate) fn request(method: &str, uri: &str) -> Self {
        Msg {
            start: format!("{method} {uri} SIP/2.0"),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A response with no headers yet.
    fn status(code: u16, reason: &str) -> Self {
        Msg {
            start: format!("SIP/2.0 {code} {reason}"),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Appends a header.
    pub(crate) fn h(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Appends one `Supported:` line per option tag, as Lync clients write them.
    pub(crate) fn supported(self, tags: &[&str]) -> Self {
        tags.iter().fold(self, |m, tag| m.h("Supported", *tag))
    }

    /// Sets the body and its `Content-Type` (appended as the last header before
    /// Content-Length).
    pub(crate) fn body(mut self, content_type: &str, body: String) -> Self {
        self.headers.push(("Content-Type", content_type.to_owned()));
        self.body = body;
        self
    }

    /// The first value of a header (names compared case-insensitively).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A response (its start line is the status line).
    pub(crate) fn is_response(&self) -> bool {
        self.start.starts_with("SIP/2.0 ")
    }

    /// The Request-URI of a request.
    fn request_uri(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    /// The wire form: start line, headers, `Content-Length`, blank line, body.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut s =
            String::with_capacity(self.start.len() + 64 * self.headers.len() + self.body.len());
        s.push_str(&self.start);
        s.push_str("\r\n");
        for (name, value) in &self.headers {
            s.push_str(name);
            s.push_str(": ");
            s.push_str(value);
            s.push_str("\r\n");
        }
        s.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        s.push_str(&self.body);
        s.into_bytes()
    }

    /// A response to `request`: its Vias, From, To, Call-ID and CSeq, and its Record-Route
    /// for a provisional or success response (RFC 3261 §12.1.1).
    pub(crate) fn response(request: &Msg, code: u16, reason: &str) -> Msg {
        let mut m = Msg::status(code, reason);
        for via in request.values("Via") {
            m.headers.push(("Via", via.to_owned()));
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(value) = request.get(name) {
                m.headers.push((name, value.to_owned()));
            }
        }
        if (101..300).contains(&code) {
            for rr in request.values("Record-Route") {
                m.headers.push(("Record-Route", rr.to_owned()));
            }
        }
        m
    }

    /// Adds the UAS's tag (and other parameters such as `epid`) to the To header, unless it
    /// already has a tag.
    pub(crate) fn with_to_tag(mut self, params: &str) -> Self {
        if let Some((_, to)) = self.headers.iter_mut().find(|(n, _)| *n == "To") {
            if !to.contains(";tag=") {
                to.push(';');
                to.push_str(params);
            }
        }
        self
    }

    /// The request as the FE received it: `ms-received-port` added to the sender's Via.
    pub(crate) fn received(&self, port: u16) -> Msg {
        let mut m = self.clone();
        if let Some((_, via)) = m.headers.iter_mut().find(|(n, _)| *n == "Via") {
            via.push_str(&format!(";ms-received-port={port}"));
        }
        m
    }

    /// The request as a proxy forwards it: its own Via on top, a Record-Route after the Vias
    /// (for dialog-creating requests), its own Route removed, Max-Forwards decremented.
    pub(crate) fn forwarded(&self, via: String, record_route: Option<&str>) -> Msg {
        let mut m = self.clone();
        m.headers.retain(|(n, _)| *n != "Route");
        m.headers.insert(0, ("Via", via));
        if let Some(rr) = record_route {
            let after_vias = m.headers.iter().take_while(|(n, _)| *n == "Via").count();
            m.headers
                .insert(after_vias, ("Record-Route", rr.to_owned()));
        }
        for (name, value) in &mut m.headers {
            if *name == "Max-Forwards" {
                let hops: u32 = value.parse().unwrap_or(70);
                *value = hops.saturating_sub(1).to_string();
            }
        }
        m
    }

    /// The response as a proxy forwards it upstream: its own (top) Via removed.
    pub(crate) fn strip_top_via(&self) -> Msg {
        let mut m = self.clone();
        if let Some(i) = m.headers.iter().position(|(n, _)| *n == "Via") {
            m.headers.remove(i);
        }
        m
    }

    /// The ACK for a non-2xx final `response` to the INVITE `request`: same branch (top Via
    /// only), the response's To, hop by hop (RFC 3261 §17.1.1.3).
    pub(crate) fn non_2xx_ack(request: &Msg, response: &Msg) -> Msg {
        let cseq = request
            .get("CSeq")
            .and_then(|c| c.split(' ').next())
            .unwrap_or("1");
        let mut m = Msg::request("ACK", request.request_uri());
        let field = |msg: &Msg, name: &str| msg.get(name).unwrap_or_default().to_owned();
        m = m
            .h("Via", field(request, "Via"))
            .h("Max-Forwards", "70")
            .h("From", field(request, "From"))
            .h("To", field(response, "To"))
            .h("Call-ID", field(request, "Call-ID"))
            .h("CSeq", format!("{cseq} ACK"));
        m
    }
}

/// `"Display"<uri>;tag=…;epid=…` as Lync writes From and To.
#[derive(Clone, Debug, Default)]
pub(crate) struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
    pub tag: Option<String>,
    pub epid: Option<String>,
}

impl NameAddr {
    pub(crate) fn new(uri: impl Into<String>) -> Self {
        NameAddr {
            uri: uri.into(),
            ..NameAddr::default()
        }
    }

    pub(crate) fn display(mut self, display: &str) -> Self {
        self.display = Some(display.to_owned());
        self
    }

    pub(crate) fn tag(mut self, tag: String) -> Self {
        self.tag = Some(tag);
        self
    }

    pub(crate) fn epid(mut self, epid: &str) -> Self {
        self.epid = Some(epid.to_owned());
        self
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write!(f, "\"{display}\"")?;
        }
        write!(f, "<{}>", self.uri)?;
        if let Some(tag) = &self.tag {
            write!(f, ";tag={tag}")?;
        }
        if let Some(epid) = &self.epid {
            write!(f, ";epid={epid}")?;
        }
        Ok(())
    }
}

/// The value of parameter `name` in the header parameters after `>`.
fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let params = value.rsplit_once('>').map_or(value, |(_, p)| p);
    params
        .split(';')
        .find_map(|p| p.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The URI inside the first `<…>` of a header value.
fn angle_uri(value: &str) -> Option<&str> {
    let start = value.find('<')? + 1;
    let end = value[start..].find('>')? + start;
    Some(&value[start..end])
}

/// One side's view of a dialog: everything needed to build its next request.
#[derive(Clone, Debug)]
pub(crate) struct Dialog {
    pub call_id: String,
    /// Our From (with our tag).
    pub local: NameAddr,
    /// Their To (their tag once known).
    pub remote: NameAddr,
    /// The Request-URI of our requests: their Contact once known.
    pub target: String,
    /// Our Contact URI, which becomes the peer's target.
    pub contact: String,
    /// Route for our requests (from the Record-Route of the dialog-creating response).
    pub route: Option<String>,
    /// CSeq of our last request.
    pub cseq: u32,
}

impl Dialog {
    pub(crate) fn new(call_id: String, local: NameAddr, remote: NameAddr, contact: &str) -> Self {
        let target = remote.uri.clone();
        Dialog {
            call_id,
            local,
            remote,
            target,
            contact: contact.to_owned(),
            route: None,
            cseq: 0,
        }
    }

    /// The next request: Via, Route, Max-Forwards, From, To, Call-ID, CSeq. ACK and CANCEL
    /// reuse the CSeq number of the INVITE.
    pub(crate) fn request(&mut self, method: &str, via: String) -> Msg {
        if method != "ACK" && method != "CANCEL" {
            self.cseq += 1;
        }
        let mut m = Msg::request(method, &self.target).h("Via", via);
        if let Some(route) = &self.route {
            m = m.h("Route", route.clone());
        }
        m.h("Max-Forwards", "70")
            .h("From", self.local.to_string())
            .h("To", self.remote.to_string())
            .h("Call-ID", self.call_id.clone())
            .h("CSeq", format!("{} {method}", self.cseq))
    }

    /// Learns the remote tag and epid, the remote target and the route set from the response
    /// that established the dialog.
    pub(crate) fn established(&mut self, response: &Msg) {
        if let Some(to) = response.get("To") {
            self.remote.tag = header_param(to, "tag").map(str::to_owned);
            if let Some(epid) = header_param(to, "epid") {
                self.remote.epid = Some(epid.to_owned());
            }
        }
        if let Some(contact) = response.get("Contact").and_then(angle_uri) {
            self.target = contact.to_owned();
        }
        self.route = response.get("Record-Route").map(str::to_owned);
    }

    /// The same dialog seen from the other side, whose own requests start at CSeq `cseq`
    /// (the next request gets `cseq + 1`).
    pub(crate) fn peer_view(&self, cseq: u32) -> Dialog {
        Dialog {
            call_id: self.call_id.clone(),
            local: self.remote.clone(),
            remote: self.local.clone(),
            target: self.contact.clone(),
            contact: self.target.clone(),
            route: None,
            cseq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &Msg) -> String {
        String::from_utf8(m.encode()).unwrap()
    }

    #[test]
    fn content_length_is_computed_over_the_body() {
        let m = Msg::request("MESSAGE", "sip:bob@example.com")
            .h("Call-ID", "x")
            .body("text/plain", "hi\r\n".into());
        assert_eq!(
            text(&m),
            "MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: x\r\nContent-Type: text/plain\r\n\
             Content-Length: 4\r\n\r\nhi\r\n"
        );
    }

    #[test]
    fn responses_and_proxy_copies_line_up() {
        let alice = NameAddr::new("sip:alice@example.com")
            .tag("a1".into())
            .epid("e1");
        let mut d = Dialog::new(
            "cid".into(),
            alice,
            NameAddr::new("sip:bob@example.com"),
            "sip:a",
        );
        let invite = d.request(
            "INVITE",
            "SIP/2.0/TCP 192.0.2.1:5000;branch=z9hG4bK1".into(),
        );
        let at_fe = invite.received(5000);
        let fwd = at_fe.forwarded(
            "SIP/2.0/TCP 198.51.100.10:5060;branch=z9hG4bK2".into(),
            Some("<sip:fe;lr>"),
        );
        assert_eq!(fwd.get("Max-Forwards"), Some("69"));
        let ok = Msg::response(&fwd, 200, "OK")
            .with_to_tag("tag=b1;epid=e2")
            .h("Contact", "<sip:bob@example.com;gruu>");
        let upstream = ok.strip_top_via();
        assert_eq!(
            upstream.get("Via"),
            Some("SIP/2.0/TCP 192.0.2.1:5000;branch=z9hG4bK1;ms-received-port=5000")
        );
        d.established(&upstream);
        assert_eq!(d.remote.tag.as_deref(), Some("b1"));
        assert_eq!(d.target, "sip:bob@example.com;gruu");
        assert_eq!(d.route.as_deref(), Some("<sip:fe;lr>"));
        let ack = d.request("ACK", "v".into());
        assert!(text(&ack).starts_with(
            "ACK sip:bob@example.com;gruu SIP/2.0\r\nVia: v\r\nRoute: <sip:fe;lr>\r\n"
        ));
        assert_eq!(ack.get("CSeq"), Some("1 ACK"));
        assert_eq!(ack.get("To"), Some("<sip:bob@example.com>;tag=b1;epid=e2"));
        let peer = d.peer_view(0);
        assert_eq!(peer.target, "sip:a");
        let nack = Msg::non_2xx_ack(
            &invite,
            &Msg::response(&invite, 603, "Decline").with_to_tag("tag=z"),
        );
        assert_eq!(nack.get("Via"), invite.get("Via"));
        assert_eq!(nack.get("To"), Some("<sip:bob@example.com>;tag=z"));
    }
}
