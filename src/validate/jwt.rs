//! JWT (RFC 7519) header screening, signature verification with pre-parsed keys, and the
//! time/issuer/audience/type claim checks.
//!
//! Keys are parsed once, when a JWKS loads ([`PreparedKey::from_jwk`]); the verify path only
//! runs aws-lc-rs's `ParsedPublicKey::verify_sig` through `jsonwebtoken`'s own
//! [`JwtVerifier`](jsonwebtoken::crypto::JwtVerifier) interface.

use super::Rejection;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::signature;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

/// The JOSE header fields saslgate looks at (RFC 7515 §4.1). Unknown fields are ignored unless
/// listed in `crit`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawHeader {
    pub(crate) alg: Option<String>,
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) crit: Option<Vec<String>>,
    #[serde(default)]
    jku: Option<serde_json::Value>,
    #[serde(default)]
    x5u: Option<serde_json::Value>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    #[serde(default)]
    x5c: Option<serde_json::Value>,
}

/// A compact JWS split into its parts, with the header screened and the claims parsed.
#[derive(Debug)]
pub(crate) struct ParsedJwt<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) claims: serde_json::Map<String, serde_json::Value>,
    /// `base64url(header) "." base64url(payload)`: the signed message.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
}

/// True when `token` has the compact JWS shape (three dot-separated parts).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Splits and screens a compact JWS: header JSON, `alg` against `allowed`, forbidden headers,
/// `crit`, payload JSON. Does not verify the signature.
///
/// # Errors
/// [`Rejection::MalformedToken`], [`Rejection::UnsupportedAlgorithm`],
/// [`Rejection::ForbiddenHeader`], [`Rejection::UnknownCritical`].
pub(crate) fn parse<'a>(token: &'a str, allowed: &[Algorithm]) -> Result<ParsedJwt<'a>, Rejection> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.splitn(3, '.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Rejection::MalformedToken(
            "not a compact JWS (three dot-separated parts)".into(),
        ));
    };
    let header_bytes = b64
        .decode(h)
        .map_err(|_| Rejection::MalformedToken("header is not base64url".into()))?;
    let header: RawHeader = serde_json::from_slice(&header_bytes)
        .map_err(|e| Rejection::MalformedToken(format!("header is not a JSON object: {e}")))?;
    let alg_name = header
        .alg
        .clone()
        .ok_or_else(|| Rejection::MalformedToken("header has no alg".into()))?;
    let alg: Algorithm = alg_name
        .parse()
        .map_err(|_| Rejection::UnsupportedAlgorithm(super::clip(&alg_name)))?;
    if !allowed.contains(&alg) || is_hmac(alg) {
        return Err(Rejection::UnsupportedAlgorithm(alg_name));
    }
    for (name, present) in [
        ("jku", header.jku.is_some()),
        ("x5u", header.x5u.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5c", header.x5c.is_some()),
    ] {
        if present {
            return Err(Rejection::ForbiddenHeader(name));
        }
    }
    if let Some(crit) = &header.crit {
        // RFC 7515 §4.1.11: an empty list is itself invalid; we understand no extensions.
        return Err(Rejection::UnknownCritical(if crit.is_empty() {
            vec!["<empty>".into()]
        } else {
            super::clip_list(crit)
        }));
    }
    let payload = b64
        .decode(p)
        .map_err(|_| Rejection::MalformedToken("payload is not base64url".into()))?;
    let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&payload)
        .map_err(|e| Rejection::MalformedToken(format!("payload is not a JSON object: {e}")))?;
    let signature = b64
        .decode(s)
        .map_err(|_| Rejection::MalformedToken("signature is not base64url".into()))?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    Ok(ParsedJwt {
        alg,
        kid: header.kid,
        claims,
        signing_input,
        signature,
    })
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Maps configured algorithm names to `jsonwebtoken` algorithms (names were checked on load).
pub(crate) fn algorithms(names: &[String]) -> Vec<Algorithm> {
    names
        .iter()
        .filter_map(|n| n.parse().ok())
        .filter(|a| !is_hmac(*a))
        .collect()
}

/// The canonical name of an algorithm.
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

/// One verification key for one algorithm, parsed once. Implements `jsonwebtoken`'s
/// [`JwtVerifier`](jsonwebtoken::crypto::JwtVerifier) so it plugs into the library's verifier
/// interface.
pub(crate) struct KeyVerifier {
    alg: Algorithm,
    key: aws_lc_rs::signature::ParsedPublicKey,
}

impl signature::Verifier<Vec<u8>> for KeyVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        self.key
            .verify_sig(msg, signature)
            .map_err(signature::Error::from_source)
    }
}

impl jsonwebtoken::crypto::JwtVerifier for KeyVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// A JWKS entry usable for signatures, with a pre-parsed key per allowed algorithm.
pub(crate) struct PreparedKey {
    pub(crate) kid: Option<String>,
    /// The JWK's `kty`, for messages.
    pub(crate) kty: &'static str,
    /// SHA-256 prefix of the public key bytes: detects a key replaced under the same `kid`.
    pub(crate) fingerprint: String,
    verifiers: Vec<KeyVerifier>,
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedKey")
            .field("kid", &self.kid)
            .field("kty", &self.kty)
            .field(
                "algs",
                &self
                    .verifiers
                    .iter()
                    .map(|v| alg_name(v.alg))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a JWK was skipped when loading a JWKS (logged, never fatal for the other keys).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SkipReason {
    NotForSignatures,
    UnsupportedKey(String),
    NoAllowedAlgorithm,
    Invalid(String),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotForSignatures => f.write_str("use is not sig"),
            SkipReason::UnsupportedKey(k) => write!(f, "unsupported key type {k}"),
            SkipReason::NoAllowedAlgorithm => f.write_str("no allowed algorithm fits the key"),
            SkipReason::Invalid(e) => write!(f, "invalid key material: {e}"),
        }
    }
}

impl PreparedKey {
    /// Parses `jwk` for every algorithm in `allowed` that fits its key type (and its `alg`, if
    /// the JWK names one). `kty` is bound to `alg`: RSA keys only for RS*/PS*, P-256 for ES256,
    /// P-384 for ES384, Ed25519 for EdDSA.
    pub(crate) fn from_jwk(jwk: &Jwk, allowed: &[Algorithm]) -> Result<Self, SkipReason> {
        use aws_lc_rs::signature as sig;
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return Err(SkipReason::NotForSignatures);
        }
        let named_alg: Option<Algorithm> = match jwk.common.key_algorithm {
            Some(ka) => Some(
                ka.to_string()
                    .parse()
                    .map_err(|_| SkipReason::NotForSignatures)?,
            ),
            None => None,
        };
        let fits = |a: Algorithm| allowed.contains(&a) && named_alg.is_none_or(|n| n == a);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let dec = |s: &str, what: &str| {
            b64.decode(s)
                .map_err(|_| SkipReason::Invalid(format!("{what} is not base64url")))
        };
        let mut verifiers = Vec::new();
        let (kty, bytes_for_fp): (&'static str, Vec<u8>) = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let n = dec(&rsa.n, "n")?;
                let e = dec(&rsa.e, "e")?;
                // aws-lc-rs checks the size only when verifying; refuse the key when loading so
                // that readiness and `doctor` do not count a key no token can use.
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if !(2048..=8192).contains(&bits) {
                    return Err(SkipReason::Invalid(format!(
                        "RSA modulus of about {bits} bits; 2048 to 8192 are accepted"
                    )));
                }
                let comps = sig::RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                };
                let table: [(Algorithm, &'static sig::RsaParameters); 6] = [
                    (Algorithm::RS256, &sig::RSA_PKCS1_2048_8192_SHA256),
                    (Algorithm::RS384, &sig::RSA_PKCS1_2048_8192_SHA384),
                    (Algorithm::RS512, &sig::RSA_PKCS1_2048_8192_SHA512),
                    (Algorithm::PS256, &sig::RSA_PSS_2048_8192_SHA256),
                    (Algorithm::PS384, &sig::RSA_PSS_2048_8192_SHA384),
                    (Algorithm::PS512, &sig::RSA_PSS_2048_8192_SHA512),
                ];
                for (alg, params) in table {
                    if fits(alg) {
                        let key = comps
                            .to_parsed_public_key(params)
                            .map_err(|e| SkipReason::Invalid(e.to_string()))?;
                        verifiers.push(KeyVerifier { alg, key });
                    }
                }
                ("RSA", [n, e].concat())
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                let x = dec(&ec.x, "x")?;
                let y = dec(&ec.y, "y")?;
                let (alg, algo, len): (Algorithm, &'static sig::EcdsaVerificationAlgorithm, usize) =
                    match ec.curve {
                        EllipticCurve::P256 => {
                            (Algorithm::ES256, &sig::ECDSA_P256_SHA256_FIXED, 32)
                        }
                        EllipticCurve::P384 => {
                            (Algorithm::ES384, &sig::ECDSA_P384_SHA384_FIXED, 48)
                        }
                        ref other => {
                            return Err(SkipReason::UnsupportedKey(format!("EC curve {other:?}")))
                        }
                    };
                if x.len() != len || y.len() != len {
                    return Err(SkipReason::Invalid(
                        "EC coordinates have the wrong length".into(),
                    ));
                }
                let point = [&[0x04][..], &x, &y].concat();
                if fits(alg) {
                    let key = sig::ParsedPublicKey::new(algo, &point)
                        .map_err(|e| SkipReason::Invalid(e.to_string()))?;
                    verifiers.push(KeyVerifier { alg, key });
                }
                ("EC", point)
            }
            AlgorithmParameters::OctetKeyPair(okp) => {
                if okp.curve != EllipticCurve::Ed25519 {
                    return Err(SkipReason::UnsupportedKey(format!(
                        "OKP curve {:?}",
                        okp.curve
                    )));
                }
                let x = dec(&okp.x, "x")?;
                if fits(Algorithm::EdDSA) {
                    let key = sig::ParsedPublicKey::new(&sig::ED25519, &x)
                        .map_err(|e| SkipReason::Invalid(e.to_string()))?;
                    verifiers.push(KeyVerifier {
                        alg: Algorithm::EdDSA,
                        key,
                    });
                }
                ("OKP", x)
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err(SkipReason::UnsupportedKey(
                    "oct (symmetric keys are never used)".into(),
                ))
            }
            _ => return Err(SkipReason::UnsupportedKey("unknown kty".into())),
        };
        if verifiers.is_empty() {
            return Err(SkipReason::NoAllowedAlgorithm);
        }
        Ok(Self {
            kid: jwk.common.key_id.clone(),
            kty,
            fingerprint: crate::cache::fingerprint(&bytes_for_fp),
            verifiers,
        })
    }

    /// True when this key can verify `alg`.
    pub(crate) fn supports(&self, alg: Algorithm) -> bool {
        self.verifiers.iter().any(|v| v.alg == alg)
    }

    /// Verifies the signature of `jwt` with this key.
    ///
    /// # Errors
    /// [`Rejection::BadKey`] if the key does not support the token's `alg`;
    /// [`Rejection::BadSignature`] if the signature does not verify.
    pub(crate) fn verify(&self, jwt: &ParsedJwt<'_>) -> Result<(), Rejection> {
        use signature::Verifier as _;
        let Some(v) = self.verifiers.iter().find(|v| v.alg == jwt.alg) else {
            return Err(Rejection::BadKey(format!(
                "key {:?} ({}) cannot verify {}",
                self.kid,
                self.kty,
                alg_name(jwt.alg)
            )));
        };
        v.verify(jwt.signing_input, &jwt.signature)
            .map_err(|_| Rejection::BadSignature)
    }
}

/// The time claims, `aud`, `typ` and required claims (RFC 7519 §4.1), with one leeway.
pub(crate) struct ClaimRules<'a> {
    pub(crate) now: u64,
    pub(crate) leeway_secs: u64,
    pub(crate) typ: Option<&'a str>,
    pub(crate) required: &'a [String],
}

/// The largest NumericDate accepted: 9999-12-31T23:59:59Z. Larger values are refused rather
/// than clamped, so that no client of the API meets an out-of-range timestamp.
const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Reads a NumericDate claim (integer or float seconds; RFC 7519 §2). `Ok(None)` when absent.
///
/// # Errors
/// [`Rejection::MissingClaim`] naming the claim when it is not a number, negative, or after the
/// year 9999.
pub(crate) fn numeric_date(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<u64>, Rejection> {
    let invalid = || Rejection::MissingClaim(name.to_string());
    match claims.get(name) {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            let secs = if let Some(u) = n.as_u64() {
                u
            } else {
                let f = n
                    .as_f64()
                    .filter(|f| *f >= 0.0 && f.is_finite())
                    .ok_or_else(invalid)?;
                if f > MAX_NUMERIC_DATE as f64 {
                    return Err(invalid());
                }
                f as u64
            };
            if secs > MAX_NUMERIC_DATE {
                return Err(invalid());
            }
            Ok(Some(secs))
        }
        Some(_) => Err(invalid()),
    }
}

/// Checks `exp`, `nbf`, `iat`, `typ` and the required claims. Returns `exp`.
///
/// # Errors
/// [`Rejection::ExpiredToken`], [`Rejection::NotYetValid`], [`Rejection::IssuedInFuture`],
/// [`Rejection::TypMismatch`], [`Rejection::MissingClaim`].
pub(crate) fn check_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
    rules: &ClaimRules<'_>,
) -> Result<u64, Rejection> {
    for name in rules.required {
        if !claims.contains_key(name.as_str()) {
            return Err(Rejection::MissingClaim(name.clone()));
        }
    }
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| Rejection::MissingClaim("exp".into()))?;
    if exp.saturating_add(rules.leeway_secs) <= rules.now {
        return Err(Rejection::ExpiredToken {
            exp,
            now: rules.now,
            leeway_secs: rules.leeway_secs,
        });
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > rules.now.saturating_add(rules.leeway_secs) {
            return Err(Rejection::NotYetValid {
                nbf,
                now: rules.now,
            });
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if iat > rules.now.saturating_add(rules.leeway_secs) {
            return Err(Rejection::IssuedInFuture {
                iat,
                now: rules.now,
            });
        }
    }
    if let Some(expected) = rules.typ {
        let found = claims.get("typ").and_then(|v| v.as_str()).unwrap_or("");
        if !found.eq_ignore_ascii_case(expected) {
            return Err(Rejection::TypMismatch {
                found: super::clip(found),
                expected: expected.to_string(),
            });
        }
    }
    Ok(exp)
}

/// The `aud` claim as a list (RFC 7519 §4.1.3: a string or an array of strings).
pub(crate) fn audiences(claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn reads_aud_as_string_or_array() {
        assert_eq!(audiences(&map(serde_json::json!({"aud": "a"}))), vec!["a"]);
        assert_eq!(
            audiences(&map(serde_json::json!({"aud": ["a", 1, "b"]}))),
            vec!["a", "b"]
        );
        assert!(audiences(&map(serde_json::json!({}))).is_empty());
    }

    #[test]
    fn reads_numeric_dates_as_integers_or_floats_and_refuses_strings() {
        assert_eq!(
            numeric_date(&map(serde_json::json!({"exp": 10})), "exp"),
            Ok(Some(10))
        );
        assert_eq!(
            numeric_date(&map(serde_json::json!({"exp": 10.7})), "exp"),
            Ok(Some(10))
        );
        assert_eq!(
            numeric_date(&map(serde_json::json!({"exp": "10"})), "exp"),
            Err(Rejection::MissingClaim("exp".into()))
        );
        assert_eq!(
            numeric_date(&map(serde_json::json!({"exp": -1})), "exp"),
            Err(Rejection::MissingClaim("exp".into()))
        );
    }

    #[test]
    fn refuses_numeric_dates_after_the_year_9999() {
        for huge in [
            serde_json::json!(1e30),
            serde_json::json!(u64::MAX),
            serde_json::json!(253_402_300_800u64),
        ] {
            assert_eq!(
                numeric_date(&map(serde_json::json!({ "exp": huge })), "exp"),
                Err(Rejection::MissingClaim("exp".into()))
            );
        }
        assert_eq!(
            numeric_date(&map(serde_json::json!({"exp": 253_402_300_799u64})), "exp"),
            Ok(Some(253_402_300_799))
        );
    }

    #[test]
    fn rejects_malformed_compact_serialisations_with_a_reason() {
        let all = [Algorithm::RS256];
        assert!(matches!(
            parse("a.b", &all),
            Err(Rejection::MalformedToken(_))
        ));
        assert!(
            matches!(parse("!!.e30.e30", &all), Err(Rejection::MalformedToken(m)) if m.contains("header"))
        );
        assert!(
            matches!(parse("e30.e30.e30", &all), Err(Rejection::MalformedToken(m)) if m.contains("alg"))
        );
    }
}
