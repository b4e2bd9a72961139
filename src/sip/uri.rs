//! SIP URIs in header values: the URI of a name-addr and the address-of-record of a URI.
//!
//! Participants are compared by address-of-record (`sip:bob@example.com`): the scheme, user and
//! host, lower-cased, without port, parameters or headers. That is how the same person is
//! recognised across the From of one dialog, the To of another and the `entity` of a roster.

use memchr::memchr;

/// The URI inside a header value: between `<` and `>` when present, else the value up to its
/// first `;` (in a bare addr-spec the parameters belong to the header).
pub fn name_addr_uri(value: &str) -> &str {
    let v = value.trim();
    if let Some(lt) = v.find('<') {
        let rest = &v[lt + 1..];
        return rest.find('>').map_or(rest, |gt| &rest[..gt]).trim();
    }
    v.split(';').next().unwrap_or(v).trim()
}

/// The address-of-record of a URI or header value: `scheme:user@host` lower-cased, without
/// port, parameters, headers or display name. `tel:` URIs keep their number.
pub fn aor(value: &str) -> String {
    let uri = name_addr_uri(value);
    let uri = uri.split(['?', ';']).next().unwrap_or(uri);
    let (scheme, rest) = match uri.find(':') {
        Some(i) => (&uri[..i], &uri[i + 1..]),
        None => ("sip", uri),
    };
    let host_port = rest;
    let (user, host) = match host_port.rfind('@') {
        Some(at) => (Some(&host_port[..at]), &host_port[at + 1..]),
        None => (None, host_port),
    };
    // Strip a port, but not the colons of an IPv6 reference.
    let host = if host.starts_with('[') {
        host.find(']').map_or(host, |e| &host[..=e])
    } else {
        host.split(':').next().unwrap_or(host)
    };
    let mut out = String::with_capacity(uri.len());
    out.push_str(&scheme.to_ascii_lowercase());
    out.push(':');
    if let Some(u) = user {
        out.push_str(&u.to_ascii_lowercase());
        out.push('@');
    }
    out.push_str(&host.to_ascii_lowercase());
    out
}

/// [`aor`] of raw header bytes (lossy for bytes that are not UTF-8).
pub fn aor_bytes(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => aor(s),
        Err(_) => aor(&String::from_utf8_lossy(value)),
    }
}

/// True if a header value has a URI parameter `name` (case-insensitive), inside the URI.
pub fn has_uri_param(value: &str, name: &str) -> bool {
    name_addr_uri(value).split(';').skip(1).any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
    })
}

/// Cheap test for bytes that may hold a conference URI (`opaque=app:conf:`), used to skip the
/// conference parser on ordinary traffic.
pub fn may_be_conference(value: &[u8]) -> bool {
    memchr::memmem::find(value, b"app:conf:").is_some() && memchr(b'=', value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aor_of_name_addrs() {
        assert_eq!(
            aor("\"Bob\" <sip:Bob@Example.COM;opaque=user:epid:x;gruu>;tag=1"),
            "sip:bob@example.com"
        );
        assert_eq!(
            aor("<sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP>"),
            "sip:alice@example.com"
        );
        assert_eq!(
            aor("sip:carol@example.com:5061;tag=7"),
            "sip:carol@example.com"
        );
        assert_eq!(aor("tel:+15551234567"), "tel:+15551234567");
        assert_eq!(aor("<sip:[2001:db8::1]:5061>"), "sip:[2001:db8::1]");
        assert_eq!(aor(""), "sip:");
    }

    #[test]
    fn uri_of_name_addr() {
        assert_eq!(name_addr_uri("A <sip:a@b;x=y>;tag=1"), "sip:a@b;x=y");
        assert_eq!(name_addr_uri("sip:a@b;tag=1"), "sip:a@b");
        assert_eq!(name_addr_uri("<sip:a@b"), "sip:a@b");
        assert!(has_uri_param("<sip:a@b;gruu;opaque=x>", "GRUU"));
    }
}
