//! Decoding and screening of an AWS proof before anything is sent to STS.
//!
//! Every rule here has a CVE or an upstream fix behind it (research/cloud-iam.md §1.1, §1.2):
//! the replay target comes from configuration only (CVE-2020-16250, CVE-2022-2385 and the
//! SSRF reports that followed), query keys are allow-listed, unique and in their canonical case
//! (CVE-2022-2385: the verifier and STS read different values of a repeated key), the action is
//! pinned to `GetCallerIdentity` (Project Zero "Enter the Vault": a signed request for another
//! API reflected attacker data), and the server ID header must be signed (a proof captured by
//! one verifier cannot be replayed to another).

use super::{AwsReason, AwsRejection};
use crate::config::{origin, AwsEncoding, AwsIssuerConfig, STS_WINDOW_SECS};
use base64::Engine as _;
use url::Url;

/// Prefix of the aws-iam-authenticator encoding.
pub const K8S_PREFIX: &str = "k8s-aws-v1.";
/// Prefix of the Vault-style encoding.
pub const VAULT_PREFIX: &str = "vault-aws-iam-v1.";
/// The header that binds a k8s-aws-v1 proof to its server.
pub const K8S_SERVER_ID_HEADER: &str = "x-k8s-aws-id";
/// The header that binds a Vault-style proof to its server.
pub const VAULT_SERVER_ID_HEADER: &str = "x-vault-aws-iam-server-id";

/// The query keys a presigned GetCallerIdentity may carry, in their canonical case
/// (aws-iam-authenticator `parameterWhitelist`).
const QUERY_KEYS: &[&str] = &[
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
];

/// The query keys that must be present in a presigned GET.
const REQUIRED_QUERY_KEYS: &[&str] = &[
    "Action",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
];

/// The headers a Vault-style proof may carry (lower case): what SigV4 signers put on a
/// GetCallerIdentity POST, and the server ID. Anything else is refused.
const POST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "x-amz-user-agent",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    VAULT_SERVER_ID_HEADER,
];

/// The Vault-style proof document: the fields of Vault's `iam` login payload
/// (`iam_http_request_method`, and standard-base64 `iam_request_url`, `iam_request_body`,
/// `iam_request_headers`, the last a JSON object of header name → list of values).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct VaultDocument {
    /// `POST`.
    pub iam_http_request_method: String,
    /// Standard base64 of the request URL (`https://sts.us-east-1.amazonaws.com/`).
    pub iam_request_url: String,
    /// Standard base64 of the form body (`Action=GetCallerIdentity&Version=2011-06-15`).
    pub iam_request_body: String,
    /// Standard base64 of a JSON object `{"Header-Name": ["value"], ...}`.
    pub iam_request_headers: String,
}

/// What the replay sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReplayMethod {
    Get,
    Post,
}

/// A proof that passed every local rule, ready to be replayed.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// Index of the issuer (among the candidates) whose rules it passed.
    pub issuer: usize,
    pub encoding: AwsEncoding,
    /// The configured endpoint (origin) the replay goes to.
    pub endpoint: Url,
    /// `X-Amz-Date`, Unix seconds.
    pub signed_at: u64,
    pub method: ReplayMethod,
    /// The exact URL replayed: the configured origin, `/`, and the client's query (GET).
    pub url: Url,
    /// Headers replayed (the server ID header carries the server's own value).
    pub headers: Vec<(String, String)>,
    /// The form body replayed (POST).
    pub body: Option<String>,
}

fn reject(reason: AwsReason, detail: impl Into<String>) -> AwsRejection {
    AwsRejection {
        reason,
        detail: detail.into(),
    }
}

/// The encoding a bearer value claims by its prefix, or `None` when it is not an AWS proof.
pub fn encoding_of(token: &str) -> Option<AwsEncoding> {
    if token.starts_with(K8S_PREFIX) {
        Some(AwsEncoding::K8sAwsV1)
    } else if token.starts_with(VAULT_PREFIX) {
        Some(AwsEncoding::Vault)
    } else {
        None
    }
}

/// Screens `token` against the candidate issuers' rules at time `now` (Unix seconds).
/// `allow_http_loopback` is `[danger] allow_http_sts_loopback`.
///
/// # Errors
/// The first rule broken, as an [`AwsRejection`] with its own [`AwsReason`].
pub(crate) fn check(
    token: &str,
    issuers: &[(&AwsIssuerConfig, u64)],
    now: u64,
    allow_http_loopback: bool,
) -> Result<Checked, AwsRejection> {
    let encoding = encoding_of(token).ok_or_else(|| {
        reject(
            AwsReason::BadEncoding,
            "no k8s-aws-v1. or vault-aws-iam-v1. prefix",
        )
    })?;
    let largest = issuers
        .iter()
        .map(|(c, _)| c.max_token_bytes)
        .max()
        .unwrap_or(0);
    if token.len() > largest {
        return Err(reject(
            AwsReason::TokenTooLarge,
            format!(
                "{} bytes, more than max_token_bytes = {largest}",
                token.len()
            ),
        ));
    }
    if !issuers.iter().any(|(c, _)| c.encodings.contains(&encoding)) {
        return Err(reject(
            AwsReason::EncodingNotAllowed,
            format!("encoding {} is not accepted", encoding.as_str()),
        ));
    }
    let (prefix, method) = match encoding {
        AwsEncoding::K8sAwsV1 => (K8S_PREFIX, ReplayMethod::Get),
        _ => (VAULT_PREFIX, ReplayMethod::Post),
    };
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token[prefix.len()..])
        .map_err(|e| {
            reject(
                AwsReason::BadEncoding,
                format!("not base64url without padding: {e}"),
            )
        })?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| reject(AwsReason::BadEncoding, "the decoded proof is not UTF-8"))?;
    let (raw_url, post) = match method {
        ReplayMethod::Get => (decoded, None),
        ReplayMethod::Post => {
            let doc: VaultDocument = serde_json::from_str(&decoded).map_err(|e| {
                reject(
                    AwsReason::BadEncoding,
                    format!("not the vault proof document: {e}"),
                )
            })?;
            if doc.iam_http_request_method != "POST" {
                return Err(reject(
                    AwsReason::BadMethod,
                    format!(
                        "method {:?}, only POST is accepted",
                        crate::validate::clip(&doc.iam_http_request_method)
                    ),
                ));
            }
            let url = std_b64_text(&doc.iam_request_url, "iam_request_url")?;
            let body = std_b64_text(&doc.iam_request_body, "iam_request_body")?;
            let headers = std_b64_text(&doc.iam_request_headers, "iam_request_headers")?;
            (url, Some((body, headers)))
        }
    };
    let url =
        Url::parse(&raw_url).map_err(|e| reject(AwsReason::BadUrl, format!("not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http_loopback && crate::config::is_loopback_host(&url) => {
            tracing::warn!(url = %crate::http::redact(&url), "AWS proof targets http on loopback ([danger] allow_http_sts_loopback)");
        }
        other => {
            return Err(reject(
                AwsReason::InsecureUrl,
                format!("scheme {other:?}: STS is called over https only"),
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(reject(
            AwsReason::BadUrl,
            "the URL carries user info or a fragment",
        ));
    }
    let wanted = origin(&url);
    let (index, (cfg, _leeway)) = issuers
        .iter()
        .enumerate()
        .find(|(_, (c, _))| {
            c.encodings.contains(&encoding)
                && c.allowed_endpoints().iter().any(|e| origin(e) == wanted)
        })
        .ok_or_else(|| {
            reject(
                AwsReason::EndpointNotAllowed,
                format!(
                    "{} is not a configured STS endpoint",
                    crate::validate::clip(&wanted)
                ),
            )
        })?;
    let leeway = issuers[index].1;
    if token.len() > cfg.max_token_bytes {
        return Err(reject(
            AwsReason::TokenTooLarge,
            format!(
                "{} bytes, more than max_token_bytes = {}",
                token.len(),
                cfg.max_token_bytes
            ),
        ));
    }
    if url.path() != "/" {
        return Err(reject(
            AwsReason::BadPath,
            format!(
                "path {:?}, only / is accepted",
                crate::validate::clip(url.path())
            ),
        ));
    }
    let endpoint = issuers[index]
        .0
        .allowed_endpoints()
        .into_iter()
        .find(|e| origin(e) == wanted)
        .ok_or_else(|| reject(AwsReason::EndpointNotAllowed, "endpoint vanished"))?;
    match (method, post) {
        (ReplayMethod::Get, _) => check_get(index, cfg, leeway, &url, endpoint, now),
        (ReplayMethod::Post, Some((body, headers))) => {
            check_post(index, cfg, leeway, &url, endpoint, &body, &headers, now)
        }
        (ReplayMethod::Post, None) => Err(reject(AwsReason::BadEncoding, "no request body")),
    }
}

fn std_b64_text(value: &str, field: &str) -> Result<String, AwsRejection> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| {
            reject(
                AwsReason::BadEncoding,
                format!("{field} is not base64: {e}"),
            )
        })?;
    String::from_utf8(bytes)
        .map_err(|_| reject(AwsReason::BadEncoding, format!("{field} is not UTF-8")))
}

/// Splits a query or form body into decoded pairs, refusing repeated keys (compared ignoring
/// case) and keys outside `allowed` or in another case than the canonical one.
fn unique_pairs(
    raw: &str,
    allowed: &[&str],
    unknown: AwsReason,
) -> Result<Vec<(String, String)>, AwsRejection> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(&k)) {
            return Err(reject(
                AwsReason::DuplicateParameter,
                format!(
                    "parameter {:?} appears more than once",
                    crate::validate::clip(&k)
                ),
            ));
        }
        match allowed.iter().find(|a| a.eq_ignore_ascii_case(&k)) {
            Some(canonical) if *canonical == k.as_ref() => {}
            Some(canonical) => {
                return Err(reject(
                    AwsReason::CaseVariantParameter,
                    format!(
                        "parameter {:?} is spelled {canonical:?} by every AWS signer",
                        crate::validate::clip(&k)
                    ),
                ))
            }
            None => {
                return Err(reject(
                    unknown,
                    format!("parameter {:?} is not allowed", crate::validate::clip(&k)),
                ))
            }
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Requires parameter `key` of `pairs` to be exactly `expected` (a missing one counts as empty).
///
/// # Errors
/// `reason`, naming the value found (clipped).
fn require_value(
    pairs: &[(String, String)],
    key: &str,
    expected: &str,
    reason: AwsReason,
) -> Result<(), AwsRejection> {
    let value = get(pairs, key).unwrap_or("");
    if value == expected {
        return Ok(());
    }
    Err(reject(
        reason,
        format!("{key} {:?}, only {expected}", crate::validate::clip(value)),
    ))
}

/// `X-Amz-Date` (`20060102T150405Z`) as Unix seconds, then the window check: not after
/// `now + leeway` (future) and not before `now - 15 min - leeway` (stale).
fn check_date(value: &str, now: u64, leeway: u64) -> Result<u64, AwsRejection> {
    let parsed = parse_amz_date(value).ok_or_else(|| {
        reject(
            AwsReason::BadDate,
            format!(
                "X-Amz-Date {:?} is not yyyymmddThhmmssZ",
                crate::validate::clip(value)
            ),
        )
    })?;
    if parsed > now.saturating_add(leeway) {
        return Err(reject(
            AwsReason::FutureDate,
            format!("signed at {parsed}, in the future (now {now}, leeway {leeway} s)"),
        ));
    }
    if now
        > parsed
            .saturating_add(STS_WINDOW_SECS)
            .saturating_add(leeway)
    {
        return Err(reject(
            AwsReason::StaleDate,
            format!("signed at {parsed}, more than 15 minutes ago (now {now}, leeway {leeway} s)"),
        ));
    }
    Ok(parsed)
}

/// Parses the SigV4 date `yyyymmddThhmmssZ` into Unix seconds.
pub(crate) fn parse_amz_date(value: &str) -> Option<u64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = value.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (h, mi, s) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    // Days from 1970-01-01 (civil-from-days inverse, Howard Hinnant's algorithm).
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy / 400;
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

fn check_get(
    issuer: usize,
    cfg: &AwsIssuerConfig,
    leeway: u64,
    url: &Url,
    endpoint: Url,
    now: u64,
) -> Result<Checked, AwsRejection> {
    let raw_query = url.query().unwrap_or("");
    let pairs = unique_pairs(raw_query, QUERY_KEYS, AwsReason::UnknownParameter)?;
    if let Some(missing) = REQUIRED_QUERY_KEYS
        .iter()
        .find(|k| get(&pairs, k).is_none())
    {
        return Err(reject(
            AwsReason::MissingParameter,
            format!("parameter {missing} is missing"),
        ));
    }
    require_value(&pairs, "Action", "GetCallerIdentity", AwsReason::BadAction)?;
    require_value(
        &pairs,
        "X-Amz-Algorithm",
        "AWS4-HMAC-SHA256",
        AwsReason::BadAlgorithm,
    )?;
    let signed = get(&pairs, "X-Amz-SignedHeaders").unwrap_or("");
    if !signed
        .split(';')
        .any(|h| h.eq_ignore_ascii_case(K8S_SERVER_ID_HEADER))
    {
        return Err(reject(
            AwsReason::ServerIdNotSigned,
            format!("{K8S_SERVER_ID_HEADER} is not in X-Amz-SignedHeaders"),
        ));
    }
    let expires = get(&pairs, "X-Amz-Expires").unwrap_or("");
    match expires.parse::<u64>() {
        Ok(e) if e <= STS_WINDOW_SECS && expires.bytes().all(|b| b.is_ascii_digit()) => {}
        _ => {
            return Err(reject(
                AwsReason::BadExpires,
                format!(
                    "X-Amz-Expires {:?} is not an integer in 0..=900",
                    crate::validate::clip(expires)
                ),
            ))
        }
    }
    let signed_at = check_date(get(&pairs, "X-Amz-Date").unwrap_or(""), now, leeway)?;
    let mut replay = endpoint.clone();
    replay.set_path("/");
    replay.set_query(Some(raw_query));
    Ok(Checked {
        issuer,
        encoding: AwsEncoding::K8sAwsV1,
        endpoint,
        signed_at,
        method: ReplayMethod::Get,
        url: replay,
        headers: vec![(K8S_SERVER_ID_HEADER.to_string(), cfg.server_id.clone())],
        body: None,
    })
}

/// The `SignedHeaders=` list of a SigV4 `Authorization` header.
fn signed_headers(authorization: &str) -> Option<Vec<String>> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut signed = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("SignedHeaders=") {
            if signed.is_some() {
                return None;
            }
            signed = Some(v.split(';').map(|h| h.to_ascii_lowercase()).collect());
        } else if !part.starts_with("Credential=") && !part.starts_with("Signature=") {
            return None;
        }
    }
    signed
}

#[allow(clippy::too_many_arguments)]
fn check_post(
    issuer: usize,
    cfg: &AwsIssuerConfig,
    leeway: u64,
    url: &Url,
    endpoint: Url,
    body: &str,
    headers_json: &str,
    now: u64,
) -> Result<Checked, AwsRejection> {
    if url.query().is_some() {
        return Err(reject(
            AwsReason::QueryNotAllowed,
            "a signed POST carries its parameters in the body, not the URL",
        ));
    }
    let pairs = unique_pairs(body, &["Action", "Version"], AwsReason::BodyNotAllowed)?;
    require_value(&pairs, "Action", "GetCallerIdentity", AwsReason::BadAction)?;
    let raw: serde_json::Map<String, serde_json::Value> = serde_json::from_str(headers_json)
        .map_err(|e| {
            reject(
                AwsReason::BadEncoding,
                format!("iam_request_headers is not a JSON object: {e}"),
            )
        })?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in &raw {
        let lower = name.to_ascii_lowercase();
        if headers
            .iter()
            .any(|(seen, _)| seen.eq_ignore_ascii_case(name))
        {
            return Err(reject(
                AwsReason::DuplicateHeader,
                format!(
                    "header {:?} appears more than once",
                    crate::validate::clip(name)
                ),
            ));
        }
        if !POST_HEADERS.contains(&lower.as_str()) {
            return Err(reject(
                AwsReason::HeaderNotAllowed,
                format!("header {:?} is not allowed", crate::validate::clip(name)),
            ));
        }
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => match items.as_slice() {
                [serde_json::Value::String(s)] => s.clone(),
                _ => {
                    return Err(reject(
                        AwsReason::DuplicateHeader,
                        format!(
                            "header {:?} must have exactly one string value",
                            crate::validate::clip(name)
                        ),
                    ))
                }
            },
            _ => {
                return Err(reject(
                    AwsReason::BadEncoding,
                    format!("header {:?} is not a string", crate::validate::clip(name)),
                ))
            }
        };
        if value.chars().any(|c| c.is_control()) {
            return Err(reject(
                AwsReason::BadEncoding,
                format!(
                    "header {:?} holds a control character",
                    crate::validate::clip(name)
                ),
            ));
        }
        headers.push((lower, value));
    }
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let authorization = header("authorization")
        .ok_or_else(|| reject(AwsReason::BadAuthorization, "no Authorization header"))?;
    let signed = signed_headers(authorization).ok_or_else(|| {
        reject(
            AwsReason::BadAuthorization,
            "Authorization is not AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…",
        )
    })?;
    let server_id = header(VAULT_SERVER_ID_HEADER).ok_or_else(|| {
        reject(
            AwsReason::ServerIdMissing,
            "no X-Vault-AWS-IAM-Server-ID header",
        )
    })?;
    if server_id != cfg.server_id {
        return Err(reject(
            AwsReason::ServerIdMismatch,
            format!(
                "X-Vault-AWS-IAM-Server-ID {:?} is not this server's",
                crate::validate::clip(server_id)
            ),
        ));
    }
    if !signed.iter().any(|h| h == VAULT_SERVER_ID_HEADER) {
        return Err(reject(
            AwsReason::ServerIdNotSigned,
            "X-Vault-AWS-IAM-Server-ID is not in the Authorization SignedHeaders",
        ));
    }
    let date =
        header("x-amz-date").ok_or_else(|| reject(AwsReason::BadDate, "no X-Amz-Date header"))?;
    let signed_at = check_date(date, now, leeway)?;
    let replay_headers = headers
        .iter()
        .filter(|(k, _)| k != "host" && k != "content-length")
        .map(|(k, v)| {
            if k == VAULT_SERVER_ID_HEADER {
                (k.clone(), cfg.server_id.clone())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let mut replay = endpoint.clone();
    replay.set_path("/");
    replay.set_query(None);
    Ok(Checked {
        issuer,
        encoding: AwsEncoding::Vault,
        endpoint,
        signed_at,
        method: ReplayMethod::Post,
        url: replay,
        headers: replay_headers,
        body: Some(body.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sigv4_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20240229T120000Z"), Some(1_709_208_000));
        assert_eq!(parse_amz_date("20230229T120000Z"), None);
        assert_eq!(parse_amz_date("2024-02-29T12:00Z"), None);
        assert_eq!(parse_amz_date("20241301T000000Z"), None);
    }

    #[test]
    fn reads_signed_headers_of_an_authorization_header() {
        assert_eq!(
            signed_headers("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;X-Vault-AWS-IAM-Server-ID, Signature=ab"),
            Some(vec!["content-type".into(), "host".into(), "x-vault-aws-iam-server-id".into()])
        );
        assert_eq!(signed_headers("Bearer x"), None);
    }
}
