//! Which client a `User-Agent` header names: Lync and Skype for Business clients write a
//! product token and version (`UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)`),
//! and the version explains offers that a server refuses (an old client's ICE draft 6 SDP, a
//! 7008 from the A/V MCU). The kind is decided on tokens only; the views name it, and the
//! reports keep the header as written beside it.

/// A client family, from its `User-Agent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKind {
    /// `UCCAPI/4.x` / `OC/4.x`: Lync 2010.
    Lync2010,
    /// `UCCAPI/15.x` with the Lync name: Lync 2013.
    Lync2013,
    /// `UCCAPI/15.x` naming Skype for Business: the Lync 2013 client with the Skype for
    /// Business interface (Skype for Business 2015).
    SkypeForBusiness2015,
    /// `UCCAPI/16.x` (Skype for Business 2016 / 2019 / Microsoft 365 Apps).
    SkypeForBusiness2016,
    /// A Mac client (Lync for Mac, Skype for Business on Mac).
    Mac,
    /// A phone (Lync Phone Edition, `OCPhone/`).
    Phone,
    /// A mobile or web client (`UCWA/`, Lync Web App, Skype Meetings App, Lync Mobile).
    WebOrMobile,
    /// pidgin-sipe (`Sipe/`).
    Sipe,
    /// A Lync / Skype for Business server component (`RTCC/`).
    Server,
    /// Anything else (the header is kept as written).
    Other,
}

impl ClientKind {
    /// The kind of client a `User-Agent` value names.
    pub fn of(ua: &[u8]) -> ClientKind {
        let has = |needle: &[u8]| memchr::memmem::find(ua, needle).is_some();
        let version = |token: &[u8]| {
            let at = memchr::memmem::find(ua, token)? + token.len();
            let rest = ua.get(at..)?;
            let end = rest
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(rest.len());
            std::str::from_utf8(rest.get(..end)?)
                .ok()?
                .parse::<u32>()
                .ok()
        };
        if has(b"Mac") && (has(b"Lync") || has(b"Skype") || has(b"UCCAPI")) {
            return ClientKind::Mac;
        }
        if has(b"OCPhone/") || has(b"Phone Edition") {
            return ClientKind::Phone;
        }
        if has(b"UCWA/") || has(b"Web App") || has(b"Meetings App") || has(b"Mobile") {
            return ClientKind::WebOrMobile;
        }
        if has(b"Sipe/") {
            return ClientKind::Sipe;
        }
        if ua.starts_with(b"RTCC/") {
            return ClientKind::Server;
        }
        match version(b"UCCAPI/").or_else(|| version(b"OC/")) {
            Some(4) => ClientKind::Lync2010,
            Some(15) if has(b"Skype for Business") => ClientKind::SkypeForBusiness2015,
            Some(15) => ClientKind::Lync2013,
            Some(16) => ClientKind::SkypeForBusiness2016,
            _ => ClientKind::Other,
        }
    }

    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Lync2010 => "lync-2010",
            ClientKind::Lync2013 => "lync-2013",
            ClientKind::SkypeForBusiness2015 => "sfb-2015",
            ClientKind::SkypeForBusiness2016 => "sfb-2016",
            ClientKind::Mac => "mac",
            ClientKind::Phone => "phone",
            ClientKind::WebOrMobile => "web-or-mobile",
            ClientKind::Sipe => "sipe",
            ClientKind::Server => "server",
            ClientKind::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientKind::{self, *};

    #[test]
    fn clients_by_their_tokens() {
        let cases: &[(&str, ClientKind)] = &[
            (
                "UCCAPI/4.0.7577.4356 OC/4.0.7577.4356 (Microsoft Lync 2010)",
                Lync2010,
            ),
            (
                "UCCAPI/15.0.4569.1503 OC/15.0.4569.1503 (Microsoft Lync)",
                Lync2013,
            ),
            (
                "UCCAPI/15.0.4727.1000 OC/15.0.4727.1000 (Skype for Business)",
                SkypeForBusiness2015,
            ),
            (
                "UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)",
                SkypeForBusiness2016,
            ),
            (
                "OCPhone/4.0.7577.4398 (Microsoft Lync 2010 Phone Edition)",
                Phone,
            ),
            ("UCCAPI/16.0.1 (Skype for Business on Mac)", Mac),
            ("UCWA/6.0.0.0 AndroidLync/6.19.0.7", WebOrMobile),
            (
                "Purple/2.14.1 Sipe/1.25.0 (x86_64-pc-linux-gnu; ProxyPerson)",
                Sipe,
            ),
            ("RTCC/7.0.0.0 AVMCU", Server),
            ("Linphone/4.4", Other),
            ("UCCAPI/", Other),
            ("UCCAPI/99999999999999999999", Other),
            ("", Other),
        ];
        for (ua, kind) in cases {
            assert_eq!(ClientKind::of(ua.as_bytes()), *kind, "{ua}");
        }
    }
}
