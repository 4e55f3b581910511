//! The OAUTHBEARER wire format: the client initial response (RFC 7628 §3.1 with the RFC 5801 §4
//! GS2 header), the server's error challenge (RFC 7628 §3.2.2) and the client's `%x01` reply.
//!
//! ```text
//! client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep
//! gs2-header  = gs2-cb-flag "," [ "a=" saslname ] ","     ; only "n": no channel binding
//! saslname    = 1*(UTF8-char-safe / "=2C" / "=3D")        ; "," and "=" escaped
//! kvpair      = key "=" value kvsep                        ; key = 1*ALPHA
//! value       = *(VCHAR / SP / HTAB / CR / LF)
//! kvsep       = %x01
//! auth        = "auth=" "Bearer" SP b64token               ; RFC 6750 §2.1, scheme case-insensitive
//! ```
//!
//! The parser is strict and refuses anything outside this grammar with a
//! [`Rejection::MalformedMessage`] naming the problem. It is ours rather than rsasl's because
//! rsasl's parser leaves the `Bearer ` scheme in the token, does not unescape the authzid and
//! refuses kv values that contain `=`.

use crate::validate::Rejection;
use serde::{Deserialize, Serialize};

/// The key/value separator, `%x01` (RFC 7628 §3.1 `kvsep`).
pub const KVSEP: u8 = 0x01;

/// The client's reply to an error challenge: a single `%x01` (RFC 7628 §3.2.3).
pub const CLIENT_ABORT: &[u8] = &[KVSEP];

/// A parsed OAUTHBEARER client initial response (RFC 7628 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InitialResponse {
    /// The requested authorization identity from the GS2 header, unescaped (`=2C` → `,`,
    /// `=3D` → `=`); `None` when the header has no `a=`.
    pub authzid: Option<String>,
    /// The `host` kvpair: the host name the client connected to.
    pub host: Option<String>,
    /// The `port` kvpair: the destination port the client connected to.
    pub port: Option<u16>,
    /// The bearer token (the `auth` value after `Bearer `).
    pub token: String,
    /// Every other kvpair (SASL extensions), in message order.
    pub extensions: Vec<(String, String)>,
}

impl InitialResponse {
    /// A message carrying `token` only.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            ..Self::default()
        }
    }

    /// Encodes the message: `n,a=<escaped authzid>,` then `host`, `port`, the extensions and
    /// `auth=Bearer <token>`, each followed by `%x01`, then the final `%x01` (RFC 7628 §3.1).
    ///
    /// Performs no checks; [`check_for_encoding`](Self::check_for_encoding) says whether
    /// [`parse_initial_response`] will accept the result.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = gs2_header(self.authzid.as_deref());
        out.push(KVSEP);
        if let Some(host) = &self.host {
            push_kv(&mut out, "host", host);
        }
        if let Some(port) = self.port {
            push_kv(&mut out, "port", &port.to_string());
        }
        for (k, v) in &self.extensions {
            push_kv(&mut out, k, v);
        }
        out.extend_from_slice(b"auth=Bearer ");
        out.extend_from_slice(self.token.as_bytes());
        out.push(KVSEP);
        out.push(KVSEP);
        out
    }

    /// Checks that every field can be sent: the authzid is valid, the token is a `b64token`,
    /// extension keys are `1*ALPHA` and neither reserved nor repeated, and values use only the
    /// characters RFC 7628 §3.1 allows.
    ///
    /// # Errors
    /// [`Rejection::MalformedMessage`] naming the first field that cannot be sent.
    pub fn check_for_encoding(&self) -> Result<(), Rejection> {
        if let Some(a) = &self.authzid {
            check_authzid(a)?;
        }
        check_token(&self.token)?;
        if let Some(host) = &self.host {
            check_value("host", host)?;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in &self.extensions {
            check_key(k)?;
            if matches!(k.as_str(), "auth" | "host" | "port") {
                return Err(malformed(format!(
                    "extension key {} is reserved by RFC 7628",
                    shown(k)
                )));
            }
            if seen.contains(&k.as_str()) {
                return Err(malformed(format!("duplicate key {}", shown(k))));
            }
            seen.push(k);
            check_value(k, v)?;
        }
        Ok(())
    }
}

fn push_kv(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
    out.push(KVSEP);
}

/// Builds the RFC 5801 GS2 header `n,[a=<saslname>],` with `,` and `=` in the authzid escaped as
/// `=2C` and `=3D`.
pub fn gs2_header(authzid: Option<&str>) -> Vec<u8> {
    let mut out = b"n,".to_vec();
    if let Some(a) = authzid {
        out.extend_from_slice(b"a=");
        out.extend_from_slice(escape_authzid(a).as_bytes());
    }
    out.push(b',');
    out
}

/// Escapes an authzid as an RFC 5801 `saslname`: `,` → `=2C`, `=` → `=3D`.
pub fn escape_authzid(authzid: &str) -> String {
    let mut out = String::with_capacity(authzid.len());
    for c in authzid.chars() {
        match c {
            ',' => out.push_str("=2C"),
            '=' => out.push_str("=3D"),
            c => out.push(c),
        }
    }
    out
}

/// Unescapes an RFC 5801 `saslname`: `=2C` → `,`, `=3D` → `=`.
///
/// # Errors
/// [`Rejection::MalformedMessage`] for any other `=` sequence, a raw `,`, a NUL, or an empty name.
pub fn unescape_authzid(saslname: &str) -> Result<String, Rejection> {
    if saslname.is_empty() {
        return Err(malformed("empty authzid after \"a=\""));
    }
    let mut out = String::with_capacity(saslname.len());
    let mut rest = saslname;
    while let Some(i) = rest.find(['=', ',', '\0']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("=2C") {
            out.push(',');
        } else if tail.starts_with("=3D") {
            out.push('=');
        } else if tail.starts_with(',') {
            return Err(malformed("unescaped ',' in authzid"));
        } else if tail.starts_with('\0') {
            return Err(malformed("NUL in authzid"));
        } else {
            let seq: String = tail.chars().take(3).collect();
            return Err(malformed(format!(
                "bad escape {} in authzid (only =2C and =3D are allowed, RFC 5801 §4)",
                shown(&seq)
            )));
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses an RFC 5801 GS2 header (without the `%x01` that follows it) and returns the unescaped
/// authzid, if any.
///
/// # Errors
/// [`Rejection::MalformedMessage`]: channel binding requested (`y`, `p=`), the non-standard
/// `F` flag, an unknown flag, a bad authzid, or a header not ending in `,`.
pub fn parse_gs2_header(header: &[u8]) -> Result<Option<String>, Rejection> {
    let header =
        std::str::from_utf8(header).map_err(|_| malformed("gs2 header is not valid UTF-8"))?;
    let (flag, rest) = header
        .split_once(',')
        .ok_or_else(|| malformed("gs2 header has no ','"))?;
    match flag {
        "n" => {}
        "y" => {
            return Err(malformed(
                "gs2 flag \"y\": channel binding is not supported by OAUTHBEARER",
            ))
        }
        f if f.starts_with("p=") => {
            return Err(malformed(
                "gs2 flag \"p=\": channel binding is not supported by OAUTHBEARER",
            ))
        }
        "F" => return Err(malformed("gs2 non-standard flag \"F\" is not supported")),
        f => {
            return Err(malformed(format!(
                "unknown gs2 channel-binding flag {} (expected \"n\")",
                shown(f)
            )))
        }
    }
    let authzid_part = rest
        .strip_suffix(',')
        .ok_or_else(|| malformed("gs2 header does not end with ','"))?;
    if authzid_part.is_empty() {
        return Ok(None);
    }
    let saslname = authzid_part
        .strip_prefix("a=")
        .ok_or_else(|| malformed("gs2 authzid does not start with \"a=\""))?;
    let authzid = unescape_authzid(saslname)?;
    check_authzid(&authzid)?;
    Ok(Some(authzid))
}

/// Parses a client initial response (RFC 7628 §3.1) of at most `max_message_bytes` bytes.
///
/// The token's own size is not checked here (that is the validator's
/// [`Rejection::TokenTooLarge`]); the message limit is `limits.max_sasl_message_bytes()`, which
/// leaves room for a token of `limits.max_token_bytes`.
///
/// # Errors
/// [`Rejection::MalformedMessage`] naming the problem: message too large, missing `%x01%x01`
/// terminator, bad GS2 header, not UTF-8, a kvpair without `=`, a key that is not `1*ALPHA`, a
/// duplicate key, a value with forbidden characters, a bad `port`, a missing `auth`, an `auth`
/// that is not `Bearer <b64token>`, or an empty token.
pub fn parse_initial_response(
    input: &[u8],
    max_message_bytes: usize,
) -> Result<InitialResponse, Rejection> {
    if input.len() > max_message_bytes {
        return Err(malformed(format!(
            "message of {} bytes exceeds the limit of {max_message_bytes} bytes \
             (limits.max_token_bytes + 4096)",
            input.len()
        )));
    }
    if input == CLIENT_ABORT {
        return Err(malformed(
            "a lone %x01 is only valid as the reply to an error challenge",
        ));
    }
    let body = input
        .strip_suffix(&[KVSEP, KVSEP])
        .ok_or_else(|| malformed("missing %x01%x01 terminator"))?;
    let mut parts = body.split(|b| *b == KVSEP);
    let header = parts.next().unwrap_or_default();
    let authzid = parse_gs2_header(header)?;
    let mut msg = InitialResponse {
        authzid,
        ..InitialResponse::default()
    };
    let mut token = None;
    let mut seen: Vec<&str> = Vec::new();
    for part in parts {
        let part = std::str::from_utf8(part)
            .map_err(|_| malformed("key/value pair is not valid UTF-8"))?;
        if part.is_empty() {
            return Err(malformed("empty key/value pair"));
        }
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| malformed("key/value pair without '='"))?;
        check_key(key)?;
        if seen.contains(&key) {
            return Err(malformed(format!("duplicate key {}", shown(key))));
        }
        seen.push(key);
        check_value(key, value)?;
        match key {
            "auth" => token = Some(parse_auth_value(value)?),
            "host" => msg.host = Some(value.to_string()),
            "port" => msg.port = Some(parse_port(value)?),
            _ => msg.extensions.push((key.to_string(), value.to_string())),
        }
    }
    msg.token = token.ok_or_else(|| malformed("missing \"auth\" key"))?;
    Ok(msg)
}

/// Parses the client's reply to an error challenge: `Ok` for the single `%x01` of RFC 7628
/// §3.2.3.
///
/// # Errors
/// [`Rejection::MalformedMessage`] for anything else.
pub fn parse_client_abort(input: &[u8]) -> Result<(), Rejection> {
    if input == CLIENT_ABORT {
        Ok(())
    } else {
        Err(malformed(format!(
            "expected the single %x01 after an error challenge, got {} bytes",
            input.len()
        )))
    }
}

fn parse_auth_value(value: &str) -> Result<String, Rejection> {
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| malformed("\"auth\" is not \"Bearer <token>\""))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed(format!(
            "\"auth\" scheme {} is not Bearer (RFC 6750 §2.1)",
            shown(scheme)
        )));
    }
    check_token(token)?;
    Ok(token.to_string())
}

fn parse_port(value: &str) -> Result<u16, Rejection> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!("invalid port {}", shown(value))));
    }
    value
        .parse::<u16>()
        .map_err(|_| malformed(format!("invalid port {} (above 65535)", shown(value))))
}

fn check_key(key: &str) -> Result<(), Rejection> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(malformed(format!(
            "key {} is not 1*ALPHA (RFC 7628 §3.1)",
            shown(key)
        )));
    }
    Ok(())
}

fn check_value(key: &str, value: &str) -> Result<(), Rejection> {
    // value = *(VCHAR / SP / HTAB / CR / LF); VCHAR widened to any non-control UTF-8 character.
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        return Err(malformed(format!(
            "value of {} contains a control character",
            shown(key)
        )));
    }
    Ok(())
}

/// Checks an RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
/// *"="`.
fn check_token(token: &str) -> Result<(), Rejection> {
    if token.is_empty() {
        return Err(malformed("empty bearer token"));
    }
    let body = token.trim_end_matches('=');
    if body.is_empty()
        || !body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
    {
        return Err(malformed("bearer token is not a b64token (RFC 6750 §2.1)"));
    }
    Ok(())
}

/// Checks an authorization identity: non-empty, at most 256 bytes ([`crate::principal::MAX_AUTHZID_BYTES`]), no control
/// characters.
///
/// # Errors
/// [`Rejection::MalformedMessage`] with the reason.
pub fn check_authzid(authzid: &str) -> Result<(), Rejection> {
    crate::principal::authzid_problem(authzid)
        .map_or(Ok(()), |p| Err(malformed(format!("authzid {p}"))))
}

/// A peer-supplied value as it may appear in a message (and so in logs): quoted, and cut to its
/// first 8 characters with its size and fingerprint when longer than 16, so that a bearer token
/// sent in the wrong place is never echoed whole.
fn shown(value: &str) -> String {
    if value.chars().count() <= 16 {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(8).collect();
    format!(
        "{head:?}… ({} bytes, fp {})",
        value.len(),
        crate::cache::fingerprint(value.as_bytes())
    )
}

fn malformed(msg: impl Into<String>) -> Rejection {
    Rejection::MalformedMessage(msg.into())
}

/// The RFC 7628 §3.2.2 error challenge, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerError {
    /// The OAuth error code (`invalid_token`, `insufficient_scope`, `invalid_request`, …).
    pub status: String,
    /// A scope that is valid to access the service, if the server named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OpenID Provider configuration URL the server suggests, if any.
    #[serde(
        default,
        rename = "openid-configuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub openid_configuration: Option<String>,
}

/// Parses an RFC 7628 §3.2.2 error challenge.
///
/// # Errors
/// A message naming the JSON problem (not JSON, not an object, `status` missing or not a string).
pub fn parse_error_challenge(challenge: &[u8]) -> Result<ServerError, String> {
    serde_json::from_slice(challenge).map_err(|e| format!("invalid RFC 7628 error JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_echoes_a_token_sent_in_the_wrong_place() {
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", "A".repeat(600));
        for msg in [
            format!("n,,\x01auth={token} Bearer\x01\x01"),
            format!("n,,\x01port={token}\x01auth=Bearer t\x01\x01"),
            format!("n,,\x01{token}=x\x01auth=Bearer t\x01\x01"),
        ] {
            let err = parse_initial_response(msg.as_bytes(), 1 << 20).expect_err("malformed");
            let text = err.to_string();
            assert!(!text.contains(&token[..40]), "token echoed: {text}");
            assert!(text.len() < 200, "{text}");
        }
    }
    use proptest::prelude::*;

    const LIMIT: usize = 64 * 1024 + 4096;

    fn parse(input: &[u8]) -> Result<InitialResponse, Rejection> {
        parse_initial_response(input, LIMIT)
    }

    fn reason(input: &[u8]) -> String {
        match parse(input) {
            Err(Rejection::MalformedMessage(m)) => m,
            other => panic!("expected MalformedMessage, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_rfc_7628_example() {
        let msg = parse(b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01").unwrap();
        assert_eq!(msg.authzid.as_deref(), Some("user@example.com"));
        assert_eq!(msg.host.as_deref(), Some("server.example.com"));
        assert_eq!(msg.port, Some(143));
        assert_eq!(msg.token, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        assert!(msg.extensions.is_empty());
    }

    #[test]
    fn parses_message_without_authzid_and_with_extensions() {
        let msg = parse(b"n,,\x01traceid=a b=c\x01auth=Bearer abc\x01\x01").unwrap();
        assert_eq!(msg.authzid, None);
        assert_eq!(msg.extensions, vec![("traceid".into(), "a b=c".into())]);
        assert_eq!(msg.token, "abc");
    }

    #[test]
    fn unescapes_comma_and_equals_in_authzid() {
        let msg = parse(b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01").unwrap();
        assert_eq!(msg.authzid.as_deref(), Some("a,b=c"));
    }

    #[test]
    fn accepts_bearer_scheme_in_any_case() {
        assert_eq!(parse(b"n,,\x01auth=bEaReR t\x01\x01").unwrap().token, "t");
    }

    #[test]
    fn rejects_missing_terminator() {
        assert_eq!(
            reason(b"n,,\x01auth=Bearer t\x01"),
            "missing %x01%x01 terminator"
        );
    }

    #[test]
    fn rejects_channel_binding_flag_y() {
        assert_eq!(
            reason(b"y,,\x01auth=Bearer t\x01\x01"),
            "gs2 flag \"y\": channel binding is not supported by OAUTHBEARER"
        );
    }

    #[test]
    fn rejects_channel_binding_flag_p() {
        assert_eq!(
            reason(b"p=tls-unique,,\x01auth=Bearer t\x01\x01"),
            "gs2 flag \"p=\": channel binding is not supported by OAUTHBEARER"
        );
    }

    #[test]
    fn rejects_non_standard_flag() {
        assert_eq!(
            reason(b"F,n,,\x01auth=Bearer t\x01\x01"),
            "gs2 non-standard flag \"F\" is not supported"
        );
    }

    #[test]
    fn rejects_authzid_with_unknown_escape() {
        assert_eq!(
            reason(b"n,a=a=2Db,\x01auth=Bearer t\x01\x01"),
            "bad escape \"=2D\" in authzid (only =2C and =3D are allowed, RFC 5801 §4)"
        );
        assert_eq!(
            reason(b"n,a=ab=,\x01auth=Bearer t\x01\x01"),
            "bad escape \"=\" in authzid (only =2C and =3D are allowed, RFC 5801 §4)"
        );
    }

    #[test]
    fn rejects_authzid_with_unescaped_comma() {
        assert_eq!(
            reason(b"n,a=a,b,\x01auth=Bearer t\x01\x01"),
            "unescaped ',' in authzid"
        );
    }

    #[test]
    fn rejects_empty_authzid() {
        assert_eq!(
            reason(b"n,a=,\x01auth=Bearer t\x01\x01"),
            "empty authzid after \"a=\""
        );
    }

    #[test]
    fn rejects_authzid_with_control_character() {
        assert_eq!(
            reason(b"n,a=a\tb,\x01auth=Bearer t\x01\x01"),
            "authzid contains a control character"
        );
    }

    #[test]
    fn rejects_gs2_header_without_trailing_comma() {
        assert_eq!(
            reason(b"n,a=x\x01auth=Bearer t\x01\x01"),
            "gs2 header does not end with ','"
        );
        assert_eq!(
            reason(b"n,x=y,\x01auth=Bearer t\x01\x01"),
            "gs2 authzid does not start with \"a=\""
        );
    }

    #[test]
    fn rejects_non_utf8() {
        assert_eq!(
            reason(b"n,,\x01auth=Bearer t\x01k=\xff\x01\x01"),
            "key/value pair is not valid UTF-8"
        );
        assert_eq!(
            reason(b"n,a=\xc3,\x01auth=Bearer t\x01\x01"),
            "gs2 header is not valid UTF-8"
        );
    }

    #[test]
    fn rejects_missing_auth() {
        assert_eq!(reason(b"n,,\x01host=h\x01\x01"), "missing \"auth\" key");
        assert_eq!(reason(b"n,,\x01\x01"), "missing \"auth\" key");
    }

    #[test]
    fn rejects_auth_that_is_not_bearer() {
        assert_eq!(
            reason(b"n,,\x01auth=Basic dXNlcjpwYXNz\x01\x01"),
            "\"auth\" scheme \"Basic\" is not Bearer (RFC 6750 §2.1)"
        );
        assert_eq!(
            reason(b"n,,\x01auth=Bearertoken\x01\x01"),
            "\"auth\" is not \"Bearer <token>\""
        );
    }

    #[test]
    fn rejects_two_spaces_after_bearer() {
        assert_eq!(
            reason(b"n,,\x01auth=Bearer  t\x01\x01"),
            "bearer token is not a b64token (RFC 6750 §2.1)"
        );
    }

    #[test]
    fn rejects_duplicate_keys() {
        assert_eq!(
            reason(b"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01"),
            "duplicate key \"auth\""
        );
        assert_eq!(
            reason(b"n,,\x01x=1\x01x=2\x01auth=Bearer t\x01\x01"),
            "duplicate key \"x\""
        );
    }

    #[test]
    fn rejects_key_that_is_not_alpha() {
        assert_eq!(
            reason(b"n,,\x01trace_id=1\x01auth=Bearer t\x01\x01"),
            "key \"trace_id\" is not 1*ALPHA (RFC 7628 §3.1)"
        );
        assert_eq!(
            reason(b"n,,\x01=1\x01auth=Bearer t\x01\x01"),
            "key \"\" is not 1*ALPHA (RFC 7628 §3.1)"
        );
    }

    #[test]
    fn rejects_kvpair_without_equals_and_empty_kvpair() {
        assert_eq!(
            reason(b"n,,\x01novalue\x01auth=Bearer t\x01\x01"),
            "key/value pair without '='"
        );
        assert_eq!(
            reason(b"n,,\x01auth=Bearer t\x01\x01\x01"),
            "empty key/value pair"
        );
    }

    #[test]
    fn rejects_empty_token() {
        assert_eq!(reason(b"n,,\x01auth=Bearer \x01\x01"), "empty bearer token");
    }

    #[test]
    fn rejects_invalid_port() {
        assert_eq!(
            reason(b"n,,\x01port=http\x01auth=Bearer t\x01\x01"),
            "invalid port \"http\""
        );
        assert_eq!(
            reason(b"n,,\x01port=65536\x01auth=Bearer t\x01\x01"),
            "invalid port \"65536\" (above 65535)"
        );
        assert_eq!(
            reason(b"n,,\x01port=-1\x01auth=Bearer t\x01\x01"),
            "invalid port \"-1\""
        );
    }

    #[test]
    fn rejects_message_larger_than_the_limit() {
        let mut msg = InitialResponse::new("a".repeat(LIMIT)).encode();
        msg.truncate(LIMIT + 1);
        assert_eq!(
            reason(&msg),
            format!(
                "message of {} bytes exceeds the limit of {LIMIT} bytes (limits.max_token_bytes + 4096)",
                LIMIT + 1
            )
        );
    }

    #[test]
    fn accepts_a_64_kib_token_with_default_limits() {
        let limits = crate::config::LimitsConfig::default();
        let token = "a".repeat(64 * 1024);
        let mut msg = InitialResponse::new(token.clone());
        msg.authzid = Some("svc,=".repeat(20));
        msg.host = Some("zk1.example.com".into());
        msg.port = Some(2181);
        let parsed =
            parse_initial_response(&msg.encode(), limits.max_sasl_message_bytes()).unwrap();
        assert_eq!(parsed.token.len(), 64 * 1024);
    }

    #[test]
    fn rejects_lone_kvsep_as_initial_response() {
        assert_eq!(
            reason(b"\x01"),
            "a lone %x01 is only valid as the reply to an error challenge"
        );
    }

    #[test]
    fn client_abort_is_exactly_one_kvsep() {
        assert_eq!(parse_client_abort(b"\x01"), Ok(()));
        assert_eq!(
            parse_client_abort(b"\x01\x01"),
            Err(Rejection::MalformedMessage(
                "expected the single %x01 after an error challenge, got 2 bytes".into()
            ))
        );
        assert!(matches!(
            parse_client_abort(b""),
            Err(Rejection::MalformedMessage(_))
        ));
    }

    #[test]
    fn encodes_authzid_escaped() {
        let mut msg = InitialResponse::new("t");
        msg.authzid = Some("a,b=c".into());
        assert_eq!(msg.encode(), b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01");
    }

    #[test]
    fn check_for_encoding_refuses_reserved_extension_key() {
        let mut msg = InitialResponse::new("t");
        msg.extensions = vec![("auth".into(), "x".into())];
        assert_eq!(
            msg.check_for_encoding(),
            Err(Rejection::MalformedMessage(
                "extension key \"auth\" is reserved by RFC 7628".into()
            ))
        );
    }

    #[test]
    fn parses_error_challenge_with_all_fields() {
        let e = parse_error_challenge(
            br#"{"status":"invalid_token","scope":"zk","openid-configuration":"https://idp/.well-known/openid-configuration"}"#,
        )
        .unwrap();
        assert_eq!(e.status, "invalid_token");
        assert_eq!(e.scope.as_deref(), Some("zk"));
        assert_eq!(
            e.openid_configuration.as_deref(),
            Some("https://idp/.well-known/openid-configuration")
        );
        assert!(parse_error_challenge(b"{}").is_err());
    }

    fn saslname() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9,=@._ \u{e9}\u{4e2d}-]{1,40}"
    }

    fn value() -> impl Strategy<Value = String> {
        "[ -~\t\r\n\u{e9}]{0,30}"
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(
            authzid in proptest::option::of(saslname()),
            host in proptest::option::of(value()),
            port in proptest::option::of(any::<u16>()),
            token in "[A-Za-z0-9._~+/-]{1,60}={0,2}",
            exts in proptest::collection::btree_map("[a-zA-Z]{1,8}", value(), 0..4),
        ) {
            let extensions: Vec<(String, String)> = exts
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "auth" | "host" | "port"))
                .collect();
            let msg = InitialResponse { authzid, host, port, token, extensions };
            prop_assert_eq!(msg.check_for_encoding(), Ok(()));
            let parsed = parse(&msg.encode()).unwrap();
            prop_assert_eq!(parsed, msg);
        }

        #[test]
        fn parsing_random_bytes_never_panics(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&input);
            let _ = parse_gs2_header(&input);
            let _ = parse_error_challenge(&input);
        }

        #[test]
        fn parsing_near_valid_messages_never_panics(
            prefix in "[nyp,a=2CD3\u{1}]{0,12}",
            body in proptest::collection::vec(prop_oneof![Just(1u8), Just(b'='), Just(b','), any::<u8>()], 0..60),
        ) {
            let mut input = prefix.into_bytes();
            input.extend_from_slice(&body);
            input.extend_from_slice(b"\x01\x01");
            let _ = parse(&input);
        }

        #[test]
        fn escape_then_unescape_round_trips(s in "\\PC{1,40}") {
            prop_assert_eq!(unescape_authzid(&escape_authzid(&s)).unwrap(), s);
        }
    }
}
