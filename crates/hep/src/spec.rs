//! `udp:ADDR:PORT` / `tcp:ADDR:PORT` endpoint strings.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// Transport of a HEP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// One HEP packet per datagram; v1, v2 and v3.
    Udp,
    /// HEP3 packets framed by their own length field.
    Tcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        })
    }
}

/// Why an endpoint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No `udp:` / `tcp:` prefix.
    #[error("expected udp:ADDR:PORT or tcp:ADDR:PORT, got {0:?}")]
    MissingTransport(String),
    /// A prefix other than `udp` / `tcp`.
    #[error("unknown transport {0:?} (udp or tcp)")]
    UnknownTransport(String),
    /// The address part is not `IP:PORT` (IPv6 in brackets).
    #[error(
        "bad listen address {0:?}: expected an explicit IP:PORT, e.g. 127.0.0.1:9060 or [::1]:9060"
    )]
    BadListenAddress(String),
    /// The address part is not `HOST:PORT`.
    #[error("bad destination {0:?}: expected HOST:PORT")]
    BadDestination(String),
}

fn split_transport(s: &str) -> Result<(Transport, &str), SpecError> {
    let (t, rest) = s
        .split_once(':')
        .ok_or_else(|| SpecError::MissingTransport(s.to_owned()))?;
    let t = match t.to_ascii_lowercase().as_str() {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        _ => return Err(SpecError::UnknownTransport(t.to_owned())),
    };
    Ok((t, rest))
}

/// Where a [`crate::Listener`] binds: an explicit IP literal and port. There is
/// deliberately no default address, so nothing listens on all interfaces unless
/// `0.0.0.0` / `[::]` is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    /// UDP or TCP.
    pub transport: Transport,
    /// Address and port to bind (port 0 picks a free one).
    pub addr: SocketAddr,
}

impl FromStr for ListenSpec {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let (transport, rest) = split_transport(s)?;
        let addr = rest
            .parse::<SocketAddr>()
            .map_err(|_| SpecError::BadListenAddress(rest.to_owned()))?;
        Ok(Self { transport, addr })
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// Where a [`crate::Sender`] sends: a host name or IP literal and a port. The
/// host is resolved at each (re)connect, so a changed DNS record is followed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendSpec {
    /// UDP or TCP.
    pub transport: Transport,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Destination port.
    pub port: u16,
}

impl FromStr for SendSpec {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let (transport, rest) = split_transport(s)?;
        let bad = || SpecError::BadDestination(rest.to_owned());
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse::<u16>().map_err(|_| bad())?;
        let host = match host.strip_prefix('[') {
            Some(h) => h.strip_suffix(']').ok_or_else(bad)?,
            None if host.contains(':') => return Err(bad()),
            None => host,
        };
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Self {
            transport,
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for SendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}:[{}]:{}", self.transport, self.host, self.port)
        } else {
            write!(f, "{}:{}:{}", self.transport, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_specs() {
        let s: ListenSpec = "udp:127.0.0.1:9060".parse().unwrap();
        assert_eq!(s.transport, Transport::Udp);
        assert_eq!(s.addr, "127.0.0.1:9060".parse().unwrap());
        let s: ListenSpec = "TCP:[::1]:9061".parse().unwrap();
        assert_eq!(s.transport, Transport::Tcp);
        assert_eq!(s.to_string(), "tcp:[::1]:9061");
        assert!(matches!(
            "9060".parse::<ListenSpec>(),
            Err(SpecError::MissingTransport(_))
        ));
        assert!(matches!(
            "sctp:1.2.3.4:1".parse::<ListenSpec>(),
            Err(SpecError::UnknownTransport(_))
        ));
        // No implicit all-interfaces bind, no host names.
        for bad in [
            "udp::9060",
            "udp:9060",
            "udp:localhost:9060",
            "udp:1.2.3.4",
            "udp:::1:9060",
        ] {
            assert!(
                matches!(
                    bad.parse::<ListenSpec>(),
                    Err(SpecError::BadListenAddress(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn send_specs() {
        let s: SendSpec = "tcp:homer.example.com:9060".parse().unwrap();
        assert_eq!(s.transport, Transport::Tcp);
        assert_eq!(s.host, "homer.example.com");
        assert_eq!(s.port, 9060);
        assert_eq!(s.to_string(), "tcp:homer.example.com:9060");
        let s: SendSpec = "udp:[fe80::1]:9060".parse().unwrap();
        assert_eq!(s.host, "fe80::1");
        assert_eq!(s.to_string(), "udp:[fe80::1]:9060");
        for bad in [
            "udp:host",
            "udp::9060",
            "udp:host:0",
            "udp:host:70000",
            "udp:::1:9060",
            "udp:[::1:9060",
        ] {
            assert!(
                matches!(bad.parse::<SendSpec>(), Err(SpecError::BadDestination(_))),
                "{bad}"
            );
        }
    }
}
