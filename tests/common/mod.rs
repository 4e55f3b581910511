//! Process fixtures shared by the integration test binaries (house rule 11).
//!
//! Each fixture talks to a real component over loopback sockets, gives every object it
//! creates a unique name, and cleans up in `Drop`:
//!
//! - [`keycloak`]: a running Keycloak server (started by `scripts/keycloak.sh start`), one
//!   throw-away realm per test imported from `tests/fixtures/keycloak/realm.json`.
//! - [`oidc_provider`]: panva's `oidc-provider` (Node), a second, independent OpenID
//!   provider started as a child process per test.
//!
//! Not every test binary uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod keycloak;
pub mod oidc_provider;

use base64::Engine as _;

/// Decodes the payload (claims) of a compact JWS without verifying it, for assertions.
///
/// Takes a compact JWT (`header.payload.signature`) and returns the payload as JSON.
///
/// # Panics
///
/// If the token is not three base64url parts or its payload is not JSON: tests only call it
/// on tokens just issued by a real provider.
pub fn jwt_claims(token: &str) -> serde_json::Value {
    jwt_part(token, 1)
}

/// Decodes the JOSE header of a compact JWS without verifying it (RFC 7515 §4).
///
/// # Panics
///
/// As [`jwt_claims`].
pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0)
}

fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {} parts", parts.len());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[index])
        .expect("JWT part is base64url");
    serde_json::from_slice(&bytes).expect("JWT part is JSON")
}
