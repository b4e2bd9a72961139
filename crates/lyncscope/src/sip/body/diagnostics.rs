//! `ms-diagnostics`, `ms-diagnostics-public` and `ms-client-diagnostics` header values (and the
//! SDP attribute `a=x-ms-SDP-diagnostics`, which has the same shape).
//!
//! Lync servers explain failures in these headers rather than in the status line: a 488 from
//! the A/V MCU with `7008;reason="Error parsing SDP"` means "wrong ICE flavour, retry", a 403
//! from the focus with `3014` means "not authorised to join". The join analysis quotes them in
//! the reason it reports (protocol brief §7.1; MS-OCER, OCS 2007 "Ms-Diagnostics Header").
//!
//! Shape: `<ErrorId>[.<SubError>];reason="<text>";source="<fqdn>"[;<name>="<value>"]*`, with
//! parameters in no fixed order and quoted strings that may contain `;` and escaped quotes.

use std::fmt;

/// Most extra parameters kept.
const MAX_PARAMS: usize = 32;

/// A parsed diagnostics header value.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The ErrorId.
    pub code: u32,
    /// The sub-error after a `.`, if any.
    pub sub_code: Option<u32>,
    /// `reason`, unquoted.
    pub reason: Option<String>,
    /// `source`: the server that generated it (absent in `ms-diagnostics-public`).
    pub source: Option<String>,
    /// Every other parameter, `(name, unquoted value)`, in order.
    pub params: Vec<(String, String)>,
}

impl Diagnostic {
    /// The short meaning of the code, if it is a known one (see [`meaning`]).
    pub fn meaning(&self) -> Option<&'static str> {
        meaning(self.code)
    }

    /// The component the code's range belongs to (see [`component`]).
    pub fn component(&self) -> &'static str {
        component(self.code)
    }

    /// The first extra parameter with this name (ASCII case ignored).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `7008 (A/V MCU): Error parsing SDP [fe01.example.com]` — the header's own reason first,
/// the table's meaning if it has none.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(sub) = self.sub_code {
            write!(f, ".{sub}")?;
        }
        write!(f, " ({})", self.component())?;
        if let Some(r) = self.reason.as_deref().or(self.meaning()) {
            write!(f, ": {r}")?;
        }
        if let Some(s) = &self.source {
            write!(f, " [{s}]")?;
        }
        Ok(())
    }
}

/// Parses a diagnostics header value; `None` unless it starts with a numeric ErrorId.
pub fn parse(value: &str) -> Option<Diagnostic> {
    let value = value.trim_start();
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let code = value.get(..digits)?.parse().ok()?;
    let mut rest = value.get(digits..)?;
    let mut sub_code = None;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        sub_code = after_dot.get(..n).and_then(|s| s.parse().ok());
        rest = after_dot.get(n..)?;
    }
    let mut diag = Diagnostic {
        code,
        sub_code,
        ..Diagnostic::default()
    };
    for (name, val) in Params::new(rest) {
        if name.eq_ignore_ascii_case("reason") {
            diag.reason.get_or_insert(val);
        } else if name.eq_ignore_ascii_case("source") {
            diag.source.get_or_insert(val);
        } else if diag.params.len() < MAX_PARAMS {
            diag.params.push((name.to_owned(), val));
        }
    }
    Some(diag)
}

/// Iterator over `;name[=value]` parameters; quoted values are unquoted and unescaped.
struct Params<'a> {
    rest: &'a str,
}

impl<'a> Params<'a> {
    /// Starts at the first `;`: anything between the ErrorId and it is noise.
    fn new(s: &'a str) -> Self {
        Params {
            rest: s.find(';').and_then(|i| s.get(i..)).unwrap_or(""),
        }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (&'a str, String);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.rest = self
                .rest
                .trim_start_matches(|c: char| c == ';' || c.is_whitespace());
            if self.rest.is_empty() {
                return None;
            }
            let end = self.rest.find(['=', ';']).unwrap_or(self.rest.len());
            let name = self.rest.get(..end)?.trim();
            let after = self.rest.get(end..)?;
            let Some(v) = after.strip_prefix('=') else {
                self.rest = after;
                if name.is_empty() {
                    continue;
                }
                return Some((name, String::new()));
            };
            let v = v.trim_start();
            let (value, next) = if let Some(q) = v.strip_prefix('"') {
                unquote(q)
            } else {
                let e = v.find(';').unwrap_or(v.len());
                (v.get(..e)?.trim().to_owned(), v.get(e..)?)
            };
            self.rest = next;
            if name.is_empty() {
                continue;
            }
            return Some((name, value));
        }
    }
}

/// Reads a quoted string whose opening quote was consumed: returns the unescaped content and
/// the text after the closing quote. An unterminated string runs to the end.
fn unquote(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return (out, s.get(i + 1..).unwrap_or("")),
            _ => out.push(c),
        }
    }
    (out, "")
}

/// A short meaning for the ErrorIds that matter to conference joins (MS-OCER 7.4 / 8.4 / 8.8 /
/// 8.20, client codes seen from Lync and SIPE), paraphrased.
pub fn meaning(code: u32) -> Option<&'static str> {
    Some(match code {
        3000 => "invalid From in C3P request",
        3001 => "invalid To in C3P request",
        3002 => "invalid target user",
        3003 => "invalid conference entity in C3P request",
        3004 => "C3P command not implemented",
        3005 => "request cannot target an MCU",
        3006 => "C3P request could not be parsed",
        3007 => "invalid addUser request",
        3008 => "access or authentication method not acceptable",
        3009 => "malformed endpoint entity",
        3010 => "request without Session-Timer support",
        3011 => "could not process Ms-Mcu-Contact header",
        3012 => "invalid conference URI",
        3013 => "invalid MCU URI",
        3014 => "failed authorization",
        3015 => "attendees may not dial out to third parties",
        3016 => "supplied role invalid",
        7000 => "too many meetings, server busy",
        7001 => "NAT/firewall traversal service unavailable",
        7002 => "conference does not exist",
        7003 => "INVITE to client timed out",
        7004 => "only application/sdp offers accepted",
        7005 => "malformed or unexpected request",
        7006 => "conference not provisioned for this user",
        7007 => "replacing an existing user not allowed",
        7008 => "error parsing SDP (often the ICE version)",
        7009 => "IPv6 connection address not supported",
        7010 => "SDP missing or invalid attribute",
        21000 => "new sharer joined conference",
        24000 => "error parsing SDP (application sharing)",
        52017 => "encryption levels do not match",
        52063 => "unsupported session description",
        _ => return None,
    })
}

/// The server component an ErrorId belongs to, from the ranges of the OCS "Ms-Diagnostics
/// Header" documentation; codes from 50000 up are client-generated.
pub fn component(code: u32) -> &'static str {
    match code {
        0..=999 => "common",
        1000..=1999 => "SIP stack",
        2000..=2999 => "presence",
        3000..=3999 => "conferencing focus",
        4000..=4999 => "user services",
        5000..=5999 => "API application",
        6000..=6999 => "IM MCU",
        7000..=7999 => "A/V MCU",
        8000..=8999 => "telephony conferencing MCU",
        9000..=9999 => "MRAS",
        10000..=10999 => "Mediation Server",
        11000..=11999 => "metrics",
        12000..=12999 => "outbound routing",
        13000..=13999 => "inbound routing",
        14000..=14999 => "translation",
        15000..=15999 => "Exchange UM",
        16000..=16999 => "IM filter",
        17000..=17999 => "client version filter",
        21000..=21999 | 24000..=24999 => "application sharing MCU",
        50000..=59999 => "client",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n1_focus_authorization_failure() {
        let d = parse("3014;reason=\"Failed authorization.\";source=\"fe01.example.com\"").unwrap();
        assert_eq!(d.code, 3014);
        assert_eq!(d.sub_code, None);
        assert_eq!(d.reason.as_deref(), Some("Failed authorization."));
        assert_eq!(d.source.as_deref(), Some("fe01.example.com"));
        assert!(d.params.is_empty());
        assert_eq!(d.component(), "conferencing focus");
        assert_eq!(d.meaning(), Some("failed authorization"));
        assert_eq!(
            d.to_string(),
            "3014 (conferencing focus): Failed authorization. [fe01.example.com]"
        );
    }

    #[test]
    fn n2_av_mcu_sdp_error() {
        let d = parse("7008;reason=\"Error parsing SDP\";source=\"fe01.example.com\"").unwrap();
        assert_eq!(d.code, 7008);
        assert_eq!(d.component(), "A/V MCU");
        assert_eq!(d.reason.as_deref(), Some("Error parsing SDP"));
    }

    #[test]
    fn params_in_any_order_quotes_and_sub_codes() {
        let d = parse(
            " 1036.2 ; source=\"pool.example.com\";Reason=\"a \\\"quoted\\\"; reason\"; ms-user-logon-data=\"RemoteUser\";AppUri=\"http://x\";flag",
        )
        .unwrap();
        assert_eq!(d.code, 1036);
        assert_eq!(d.sub_code, Some(2));
        assert_eq!(d.reason.as_deref(), Some("a \"quoted\"; reason"));
        assert_eq!(d.source.as_deref(), Some("pool.example.com"));
        assert_eq!(d.param("MS-USER-LOGON-DATA"), Some("RemoteUser"));
        assert_eq!(d.param("AppUri"), Some("http://x"));
        assert_eq!(d.param("flag"), Some(""));
        assert_eq!(d.component(), "SIP stack");
        assert_eq!(
            d.to_string(),
            "1036.2 (SIP stack): a \"quoted\"; reason [pool.example.com]"
        );
    }

    #[test]
    fn client_and_public_forms() {
        let d = parse("52063;reason=\"Unsupported session description\"").unwrap();
        assert_eq!(d.component(), "client");
        assert_eq!(d.source, None);
        let d = parse("52017;reason=Encryption levels dont match").unwrap();
        assert_eq!(d.reason.as_deref(), Some("Encryption levels dont match"));
        assert_eq!(
            parse("7002").unwrap().to_string(),
            "7002 (A/V MCU): conference does not exist"
        );
        assert_eq!(
            parse("24000;reason=\"Error parsing SDP\"")
                .unwrap()
                .component(),
            "application sharing MCU"
        );
    }

    #[test]
    fn table_and_ranges() {
        for code in (3000..=3016)
            .chain(7000..=7010)
            .chain([52063, 52017, 24000, 21000])
        {
            assert!(meaning(code).is_some(), "{code}");
        }
        assert_eq!(meaning(4242), None);
        assert_eq!(component(6001), "IM MCU");
        assert_eq!(component(8001), "telephony conferencing MCU");
        assert_eq!(component(999_999), "unknown");
        assert_eq!(component(0), "common");
    }

    #[test]
    fn hostile_inputs() {
        for s in [
            "",
            "reason=\"x\"",
            ";3014",
            "abc",
            "99999999999;reason=x",
            "\u{1F600}",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
        let d = parse("7008;reason=\"unterminated \\").unwrap();
        assert_eq!(d.reason.as_deref(), Some("unterminated "));
        let d = parse("7008garbage;;;=x;reason=;=;source").unwrap();
        assert_eq!(d.reason.as_deref(), Some(""));
        assert_eq!(d.source.as_deref(), Some(""));
        let many = format!("1{}", ";p=v".repeat(1000));
        assert_eq!(parse(&many).unwrap().params.len(), MAX_PARAMS);
        let d = parse("7.").unwrap();
        assert_eq!((d.code, d.sub_code), (7, None));
    }
}
