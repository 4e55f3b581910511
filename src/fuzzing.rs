//! Entry points for the cargo-fuzz targets in `tests/fuzz/` (house rule 12). Not API.
//!
//! Each function feeds arbitrary bytes to one parser of untrusted input and must never panic;
//! results are discarded. Every crash found becomes a unit regression test next to the parser.

use crate::sasl::codec;

/// The largest message the fuzzed parsers accept: the default `limits.max_sasl_message_bytes()`.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 + 4096;

/// Parses `data` as an OAUTHBEARER client initial response (RFC 7628 §3.1), and, when it
/// parses, checks that re-encoding and parsing again gives the same message.
pub fn oauthbearer_initial_response(data: &[u8]) {
    if let Ok(msg) = codec::parse_initial_response(data, MAX_MESSAGE_BYTES) {
        let again = codec::parse_initial_response(&msg.encode(), usize::MAX);
        assert_eq!(again.as_ref(), Ok(&msg), "re-encoding changed the message");
    }
    let _ = codec::parse_client_abort(data);
}

/// Parses `data` as an RFC 5801 GS2 header, and, when it parses, checks that rebuilding the
/// header from the authzid gives it back.
pub fn gs2_header(data: &[u8]) {
    if let Ok(authzid) = codec::parse_gs2_header(data) {
        assert_eq!(
            codec::gs2_header(authzid.as_deref()),
            data,
            "gs2 header did not round-trip"
        );
    }
}

/// Parses `data` as the RFC 7628 §3.2.2 error JSON a client receives.
pub fn rfc7628_error_json(data: &[u8]) {
    let _ = codec::parse_error_challenge(data);
}

/// Screens `data` as a compact JWS (RFC 7515 §7.1): header JSON, algorithm allow-list, forbidden
/// headers, `crit`, claims JSON; then runs the claim checks on whatever parsed.
pub fn jwt_compact(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jwt) = crate::validate::fuzzing_parse_jwt(text) {
        crate::validate::fuzzing_check_claims(&jwt);
    }
}

/// Parses `data` as a JWKS document (RFC 7517 §5) and prepares every usable key.
pub fn jwks_json(data: &[u8]) {
    crate::validate::fuzzing_parse_jwks(data);
}

/// Screens `data` as an AWS STS proof: as given, and base64url-wrapped in each encoding's
/// prefix so the URL, query, vault document and header rules are reached; then parses `data`
/// as an STS GetCallerIdentity answer (XML and JSON) and canonicalises its ARN.
#[cfg(feature = "aws")]
pub fn aws_proof(data: &[u8]) {
    use base64::Engine as _;
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::validate::aws::fuzzing_check_proof(text);
    }
    let wrapped = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    for prefix in ["k8s-aws-v1.", "vault-aws-iam-v1."] {
        let _ = crate::validate::aws::fuzzing_check_proof(&format!("{prefix}{wrapped}"));
    }
    crate::validate::aws::fuzzing_parse_response(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fuzz_entry_points_accept_known_inputs() {
        oauthbearer_initial_response(b"n,a=a=2Cb,\x01host=h\x01port=1\x01auth=Bearer t\x01\x01");
        gs2_header(b"n,a=a=3Db,");
        gs2_header(b"n,,");
        rfc7628_error_json(br#"{"status":"invalid_token"}"#);
        jwt_compact(b"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln");
        jwks_json(br#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#);
        #[cfg(feature = "aws")]
        aws_proof(b"http://127.0.0.1:8080/?Action=GetCallerIdentity&action=x");
    }

    proptest! {
        #[test]
        fn fuzz_entry_points_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            oauthbearer_initial_response(&data);
            gs2_header(&data);
            rfc7628_error_json(&data);
            jwt_compact(&data);
            jwks_json(&data);
            #[cfg(feature = "aws")]
            aws_proof(&data);
        }

        #[cfg(feature = "aws")]
        #[test]
        fn the_aws_proof_parser_never_panics_on_url_like_input(
            query in proptest::collection::vec("[A-Za-z-]{1,20}=[A-Za-z0-9%/;:-]{0,20}", 0..12),
            host in "(127\\.0\\.0\\.1:8080|sts\\.us-east-1\\.amazonaws\\.com|[a-z.]{1,12})",
        ) {
            let url = format!("https://{host}/?{}", query.join("&"));
            aws_proof(url.as_bytes());
        }

        #[test]
        fn fuzz_entry_points_never_panic_on_structured_input(
            header in "[ny],(a=[a-z=,2C3D]{0,8})?,",
            kvs in proptest::collection::vec("[a-z]{1,5}=[ -~]{0,8}", 0..4),
        ) {
            let mut data = header.clone().into_bytes();
            data.push(1);
            for kv in kvs {
                data.extend_from_slice(kv.as_bytes());
                data.push(1);
            }
            data.extend_from_slice(b"auth=Bearer abc\x01\x01");
            oauthbearer_initial_response(&data);
            gs2_header(header.as_bytes());
        }
    }
}
