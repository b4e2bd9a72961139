//! Addresses as logs write them: `10.0.0.1:5061`, `host.contoso.com:61182`, `[2001:db8::1]:5061`,
//! a bare IPv6 address, or a host without port.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::bytes::{parse_dec, trim};
use crate::{Endpoint, Host};

fn host(b: &[u8]) -> Option<Host<'_>> {
    let b = trim(b);
    if b.is_empty() {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(Host::Ip(ip));
    }
    // Host names are kept as written, but a space or control byte means this is not an address.
    if b.iter().any(|&c| c <= b' ' || c == 0x7f) {
        return None;
    }
    Some(Host::Name(Cow::Borrowed(s)))
}

fn port(b: &[u8]) -> Option<u16> {
    u16::try_from(parse_dec(trim(b))?).ok()
}

/// Parse one address; `None` when it is empty or not readable as one.
pub(crate) fn parse(b: &[u8]) -> Option<Endpoint<'_>> {
    let b = trim(b);
    if let Some(rest) = b.strip_prefix(b"[") {
        let close = memchr::memchr(b']', rest)?;
        let ip: IpAddr = std::str::from_utf8(rest.get(..close)?).ok()?.parse().ok()?;
        let after = rest.get(close + 1..).unwrap_or(&[]);
        let p = match after.strip_prefix(b":") {
            Some(p) => Some(port(p)?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some(Endpoint {
            host: Host::Ip(ip),
            port: p,
        });
    }
    let colons = memchr::memchr_iter(b':', b).count();
    if colons > 1 {
        // A bare IPv6 address; "2001:db8::1:5061" is ambiguous and read as an address.
        let ip: IpAddr = std::str::from_utf8(b).ok()?.parse().ok()?;
        return Some(Endpoint {
            host: Host::Ip(ip),
            port: None,
        });
    }
    match memchr::memrchr(b':', b) {
        Some(i) => Some(Endpoint {
            host: host(b.get(..i)?)?,
            port: Some(port(b.get(i + 1..)?)?),
        }),
        None => Some(Endpoint {
            host: host(b)?,
            port: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn forms() {
        let e = parse(b"192.168.100.100:5061").unwrap();
        assert_eq!(
            e.host,
            Host::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 100, 100)))
        );
        assert_eq!(e.port, Some(5061));
        let e = parse(b"lyncservr.contoso.com:61182").unwrap();
        assert_eq!(e.host, Host::Name(Cow::Borrowed("lyncservr.contoso.com")));
        assert_eq!(e.port, Some(61182));
        let e = parse(b"[2001:db8::1]:5061").unwrap();
        assert_eq!(
            e.host,
            Host::Ip(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
        );
        assert_eq!(e.to_string(), "[2001:db8::1]:5061");
        assert_eq!(parse(b"2001:db8::1").unwrap().port, None);
        assert_eq!(parse(b"host").unwrap().port, None);
        assert!(parse(b"host:99999").is_none());
        assert!(parse(b"").is_none());
        assert!(parse(b"a b:5").is_none());
        assert!(parse(b"[::1]x").is_none());
        assert!(parse(b"[::1").is_none());
    }
}
