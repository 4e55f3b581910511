//! TEMPORARY: the OAUTHBEARER initial client response (RFC 7628 §3.1), until
//! `crate::sasl::ClientSession::new(token, authzid, host, port, extensions)` and
//! `ClientSession::initial_response()` land. Replace [`initial_response`]'s body with those two
//! calls and delete this file's codec.
//!
//! ```text
//! gs2-header = "n," [ "a=" saslname ] ","      ; "," -> "=2C", "=" -> "=3D" (RFC 5801 §5)
//! message    = gs2-header %x01 [ "host=" host %x01 ] [ "port=" port %x01 ]
//!              "auth=Bearer " token %x01 %x01
//! ```

use crate::sasl::SaslError;
use secrecy::{ExposeSecret, SecretString};

/// Builds the initial client response carrying `token`.
///
/// # Errors
/// [`SaslError::Internal`] when the token or a key value contains a byte RFC 7628 forbids
/// (`%x01` or a control character in the token, or in `host`).
pub(crate) fn initial_response(
    token: &SecretString,
    authzid: Option<&str>,
    host: Option<&str>,
    port: Option<u16>,
) -> Result<Vec<u8>, SaslError> {
    // TODO(lead): replace with crate::sasl::ClientSession once the sasl branch is merged.
    let token = token.expose_secret();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SaslError::Internal(
            "the token is empty or contains characters not allowed in a bearer token".into(),
        ));
    }
    let mut out = Vec::with_capacity(token.len() + 64);
    out.extend_from_slice(b"n,");
    if let Some(a) = authzid {
        out.extend_from_slice(b"a=");
        for c in a.chars() {
            match c {
                ',' => out.extend_from_slice(b"=2C"),
                '=' => out.extend_from_slice(b"=3D"),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
    out.push(b',');
    out.push(0x01);
    if let Some(h) = host {
        if h.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(SaslError::Internal(
                "host contains a control character".into(),
            ));
        }
        out.extend_from_slice(b"host=");
        out.extend_from_slice(h.as_bytes());
        out.push(0x01);
    }
    if let Some(p) = port {
        out.extend_from_slice(format!("port={p}").as_bytes());
        out.push(0x01);
    }
    out.extend_from_slice(b"auth=Bearer ");
    out.extend_from_slice(token.as_bytes());
    out.extend_from_slice(&[0x01, 0x01]);
    Ok(out)
}

/// The fingerprint of the bearer token inside a client message (for the audit event), or `None`
/// when the message carries no `auth=` key.
pub(crate) fn token_fingerprint(message: &[u8]) -> Option<String> {
    message
        .split(|b| *b == 0x01)
        .find_map(|kv| kv.strip_prefix(b"auth="))
        .map(|v| {
            let v = if v.len() >= 7 && v[..7].eq_ignore_ascii_case(b"bearer ") {
                &v[7..]
            } else {
                v
            };
            crate::cache::fingerprint(v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_comma_and_equals_in_authzid() {
        let msg = initial_response(
            &SecretString::from("abc.def.ghi"),
            Some("a,b=c"),
            Some("zk1.example"),
            Some(2181),
        )
        .expect("valid input");
        assert_eq!(
            msg,
            b"n,a=a=2Cb=3Dc,\x01host=zk1.example\x01port=2181\x01auth=Bearer abc.def.ghi\x01\x01"
                .to_vec()
        );
    }

    #[test]
    fn omits_optional_keys() {
        let msg = initial_response(&SecretString::from("t"), None, None, None).expect("valid");
        assert_eq!(msg, b"n,,\x01auth=Bearer t\x01\x01".to_vec());
    }

    #[test]
    fn refuses_token_with_control_byte() {
        let err = initial_response(&SecretString::from("a\x01b"), None, None, None)
            .expect_err("control byte");
        assert!(matches!(err, SaslError::Internal(_)));
    }

    #[test]
    fn fingerprints_the_token_not_the_message() {
        let msg = b"n,,\x01auth=Bearer abc\x01\x01";
        assert_eq!(
            token_fingerprint(msg),
            Some(crate::cache::fingerprint(b"abc"))
        );
        assert_eq!(token_fingerprint(b"n,,\x01\x01"), None);
    }
}
