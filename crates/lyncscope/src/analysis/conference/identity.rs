//! Who a participant is beyond their address: a phone number (dial-in, dial-out through the
//! Mediation Server), an anonymous guest, or a user outside the enterprise whose messages the
//! Access Edge vouched for (`ms-edge-proxy-message-trust`, [MS-SIPRE] 2.2.15). The facts are
//! read from what the messages say; nothing is guessed from addresses (docs/joins.md §2, §3).

use crate::sip::message::Message;

/// How a participant reached the conference, when the messages say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A phone number (`tel:` or a `+`-number user part): dialled in or dialled out through the
    /// Mediation Server.
    Phone,
    /// An anonymous guest joining by meeting link (`…@anonymous.invalid`, [MS-SIPAE] 3.2.4.3).
    Anonymous,
    /// The enterprise's own user signing in from the Internet through the Edge
    /// (`ms-source-type=InternetUser`).
    Remote,
    /// A user of a federated domain (`DirectPartner`, `AutoFederation`, `AuthorizedServer`, or
    /// `ms-source-network=federation`).
    Federated,
    /// A public IM provider's user (`ms-source-network=publiccloud`).
    PublicIm,
    /// Through the Edge, of a kind the header does not name.
    External,
}

impl Access {
    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Phone => "phone",
            Access::Anonymous => "anonymous",
            Access::Remote => "remote",
            Access::Federated => "federated",
            Access::PublicIm => "public-im",
            Access::External => "external",
        }
    }

    /// What the AOR alone says: a phone number, or an anonymous guest.
    pub fn of_aor(aor: &str) -> Option<Access> {
        let lower = |s: &str, p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        if lower(aor, "tel:") {
            return Some(Access::Phone);
        }
        let rest = aor.split_once(':').map_or(aor, |(_, r)| r);
        let (user, host) = rest.split_once('@').unwrap_or((rest, ""));
        if host.eq_ignore_ascii_case("anonymous.invalid") {
            return Some(Access::Anonymous);
        }
        // RFC 3966 global numbers, with the visual separators it allows.
        let digits = user.strip_prefix('+')?;
        let plausible = digits.bytes().filter(u8::is_ascii_digit).count() >= 3
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'(' | b')'));
        plausible.then_some(Access::Phone)
    }
}

/// What the Access Edge said about a message's sender (`ms-edge-proxy-message-trust`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeTrust {
    /// `ms-source-type` (`InternetUser`, `DirectPartner`, `AutoFederation`,
    /// `AuthorizedServer`, `EdgeProxyGenerated`).
    pub source_type: Option<Box<str>>,
    /// `ms-ep-fqdn`: the Edge server that added the header.
    pub edge: Option<Box<str>>,
    /// `ms-source-network` (`federation`, `publiccloud`).
    pub network: Option<Box<str>>,
}

/// Longest parameter value kept: FQDNs and tokens are short; a hostile header must not cost
/// its 64 KB per participant.
const MAX_VALUE: usize = 255;

impl EdgeTrust {
    /// The header of a message, if it has one.
    pub fn of(msg: &Message<'_>) -> Option<EdgeTrust> {
        let value = msg.header(crate::sip::Hdr::MsEdgeProxyMessageTrust)?;
        Some(EdgeTrust::parse(value))
    }

    /// The parameters of a header value (`ms-source-type=…;ms-ep-fqdn=…`).
    pub fn parse(value: &[u8]) -> EdgeTrust {
        let mut t = EdgeTrust::default();
        for param in value.split(|b| matches!(b, b';' | b',')) {
            let Some(eq) = param.iter().position(|b| *b == b'=') else {
                continue;
            };
            let (name, v) = (
                crate::sip::message::trim(param.get(..eq).unwrap_or_default()),
                crate::sip::message::trim(param.get(eq + 1..).unwrap_or_default()),
            );
            let v = v.get(..v.len().min(MAX_VALUE)).unwrap_or_default();
            let v = || Some(String::from_utf8_lossy(v).trim_matches('"').into());
            if name.eq_ignore_ascii_case(b"ms-source-type") {
                t.source_type = t.source_type.or_else(v);
            } else if name.eq_ignore_ascii_case(b"ms-ep-fqdn") {
                t.edge = t.edge.or_else(v);
            } else if name.eq_ignore_ascii_case(b"ms-source-network") {
                t.network = t.network.or_else(v);
            }
        }
        t
    }

    /// The Edge generated the message itself (a response it refused with).
    pub fn edge_generated(&self) -> bool {
        self.source_type
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("EdgeProxyGenerated"))
    }

    /// The kind of external user the header describes (docs/joins.md §3.1).
    pub fn access(&self) -> Access {
        let is =
            |v: &Option<Box<str>>, s: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(s));
        if is(&self.network, "publiccloud") {
            Access::PublicIm
        } else if is(&self.network, "federation")
            || is(&self.source_type, "DirectPartner")
            || is(&self.source_type, "AutoFederation")
            || is(&self.source_type, "AuthorizedServer")
        {
            Access::Federated
        } else if is(&self.source_type, "InternetUser") {
            Access::Remote
        } else {
            Access::External
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_guests_by_their_address() {
        assert_eq!(Access::of_aor("tel:+14255550100"), Some(Access::Phone));
        assert_eq!(
            Access::of_aor("sip:+1-425-555-0100@contoso.com"),
            Some(Access::Phone)
        );
        assert_eq!(
            Access::of_aor("sip:6551156d569c4b7d945f310ff10943c5@anonymous.invalid"),
            Some(Access::Anonymous)
        );
        assert_eq!(Access::of_aor("sip:bob@example.com"), None);
        assert_eq!(Access::of_aor("sip:+bob@example.com"), None);
        assert_eq!(Access::of_aor("sip:+1@example.com"), None);
        assert_eq!(Access::of_aor(""), None);
    }

    #[test]
    fn the_edge_header_by_its_parameters() {
        let t = EdgeTrust::parse(b"ms-source-type=DirectPartner;ms-ep-fqdn=edge01.example.com;ms-source-verified-user=verified;ms-source-network=federation");
        assert_eq!(t.edge.as_deref(), Some("edge01.example.com"));
        assert_eq!(t.access(), Access::Federated);
        assert!(!t.edge_generated());
        let t = EdgeTrust::parse(b"ms-source-type=InternetUser;ms-ep-fqdn=edge01.example.com");
        assert_eq!(t.access(), Access::Remote);
        let t = EdgeTrust::parse(b"ms-source-type=EdgeProxyGenerated;ms-ep-fqdn=edge01");
        assert!(t.edge_generated());
        assert_eq!(
            EdgeTrust::parse(b";;=;ms-source-type").access(),
            Access::External
        );
    }
}
