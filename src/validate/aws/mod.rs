//! AWS IAM identities: a signed `sts:GetCallerIdentity` request, carried as the bearer token,
//! replayed to STS, which names the caller (research/cloud-iam.md §0, §1; DESIGN §5.4).
//!
//! Two encodings of the proof are accepted, each only for services that trust an issuer of
//! `kind = "aws"` whose `encodings` list it:
//!
//! - `k8s-aws-v1.` + base64url (no padding) of a SigV4 query-presigned
//!   `GET https://<sts host>/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-…` whose
//!   `X-Amz-SignedHeaders` include `x-k8s-aws-id` (kubernetes-sigs/aws-iam-authenticator, so
//!   `aws eks get-token --cluster-name <server_id>` produces a valid proof);
//! - `vault-aws-iam-v1.` + base64url (no padding) of the JSON document
//!   `{"iam_http_request_method":"POST","iam_request_url":"<b64>","iam_request_body":"<b64>",
//!   "iam_request_headers":"<b64 of {\"Header\":[\"value\"],…}>"}` (standard base64 with
//!   padding in the fields, as HashiCorp Vault's AWS `iam` login payload) describing a
//!   header-signed POST whose `Authorization` signs `X-Vault-AWS-IAM-Server-ID`.
//!
//! The rules, in the order they are checked, each with its own [`AwsReason`]:
//!
//! | rule | reason |
//! |---|---|
//! | proof at most `[issuers.aws] max_token_bytes` | `aws_token_too_large` |
//! | encoding listed in `encodings` | `aws_encoding_not_allowed` |
//! | base64url, UTF-8, the vault document's exact fields | `aws_bad_encoding` |
//! | vault method is `POST` | `aws_bad_method` |
//! | a URL without user info or fragment | `aws_bad_url` |
//! | https (http only on loopback with `[danger] allow_http_sts_loopback`) | `aws_insecure_url` |
//! | origin among the configured or partition-resolved endpoints | `aws_endpoint_not_allowed` |
//! | path exactly `/` | `aws_bad_path` |
//! | GET: no key twice (ignoring case) | `aws_duplicate_parameter` |
//! | GET: known keys in their canonical case only | `aws_case_variant_parameter` |
//! | GET: only the 9 SigV4/STS keys | `aws_unknown_parameter` |
//! | GET: the required keys present | `aws_missing_parameter` |
//! | `Action=GetCallerIdentity` (GET and POST) | `aws_bad_action` |
//! | `X-Amz-Algorithm=AWS4-HMAC-SHA256` | `aws_bad_algorithm` |
//! | server ID header signed | `aws_server_id_not_signed` |
//! | `X-Amz-Expires` integer in 0..=900 | `aws_bad_expires` |
//! | `X-Amz-Date` well-formed | `aws_bad_date` |
//! | signed at most `leeway_secs` in the future | `aws_future_date` |
//! | signed at most 15 min (+ leeway) ago | `aws_stale_date` |
//! | POST: no query string | `aws_query_not_allowed` |
//! | POST: body of `Action` and `Version` only | `aws_body_not_allowed` |
//! | POST: each header once, one value | `aws_duplicate_header` |
//! | POST: headers from the allow-list only | `aws_header_not_allowed` |
//! | POST: a SigV4 `Authorization` header | `aws_bad_authorization` |
//! | POST: `X-Vault-AWS-IAM-Server-ID` present | `aws_server_id_missing` |
//! | POST: … and equal to this server's | `aws_server_id_mismatch` |
//! | STS accepts the replay (signed with this server's own server ID) | `aws_sts_refused` |
//! | the answer is one strict GetCallerIdentity result | `aws_bad_response` |
//! | the ARN is an identity of an accepted partition | `aws_bad_arn` |
//! | the account is allowed | `aws_account_not_allowed` |
//! | the canonical ARN matches an allowed pattern | `aws_arn_not_allowed` |
//!
//! The replay goes to the configured endpoint (never a host from the request), over https,
//! without redirects, with `timeout_secs`, reading at most 16 KiB; the server ID header carries
//! the server's own value, so a proof signed for another server fails at STS. Verified proofs
//! are cached by token hash until `X-Amz-Date` + 15 minutes.
//!
//! Claims exposed to principal rules: `arn` (canonical), `caller_arn` (as STS reported it),
//! `account`, `user_id` (before `:`), `session_name`, `role_name`, `partition`, `arn_kind`,
//! `sub` (= `arn`), `iat` and `exp` (Unix seconds), `sts_endpoint`, `encoding`. The default
//! authorization identity is `arn`. The verified token's subject (the audit event's `subject`,
//! `saslgate validate`'s `subject:`) is `caller_arn`, so the audit keeps the session that
//! authenticated: two hosts in one role share the authorization identity, not the subject.

pub(crate) mod arn;
pub mod proof;
pub(crate) mod sts;

use crate::config::{AwsIssuerConfig, IssuerConfig, ServiceConfig, STS_WINDOW_SECS};
use serde_json::{json, Map, Value};

/// Why an AWS proof was refused: one variant per rule (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum AwsReason {
    TokenTooLarge,
    EncodingNotAllowed,
    BadEncoding,
    BadMethod,
    BadUrl,
    InsecureUrl,
    EndpointNotAllowed,
    BadPath,
    DuplicateParameter,
    CaseVariantParameter,
    UnknownParameter,
    MissingParameter,
    BadAction,
    BadAlgorithm,
    ServerIdNotSigned,
    BadExpires,
    BadDate,
    FutureDate,
    StaleDate,
    QueryNotAllowed,
    BodyNotAllowed,
    DuplicateHeader,
    HeaderNotAllowed,
    BadAuthorization,
    ServerIdMissing,
    ServerIdMismatch,
    StsRefused,
    BadResponse,
    BadArn,
    AccountNotAllowed,
    ArnNotAllowed,
}

impl AwsReason {
    /// The stable name used in metrics, audit events and `saslgate validate`
    /// (`aws_duplicate_parameter`, …).
    pub fn as_str(self) -> &'static str {
        use AwsReason::*;
        match self {
            TokenTooLarge => "aws_token_too_large",
            EncodingNotAllowed => "aws_encoding_not_allowed",
            BadEncoding => "aws_bad_encoding",
            BadMethod => "aws_bad_method",
            BadUrl => "aws_bad_url",
            InsecureUrl => "aws_insecure_url",
            EndpointNotAllowed => "aws_endpoint_not_allowed",
            BadPath => "aws_bad_path",
            DuplicateParameter => "aws_duplicate_parameter",
            CaseVariantParameter => "aws_case_variant_parameter",
            UnknownParameter => "aws_unknown_parameter",
            MissingParameter => "aws_missing_parameter",
            BadAction => "aws_bad_action",
            BadAlgorithm => "aws_bad_algorithm",
            ServerIdNotSigned => "aws_server_id_not_signed",
            BadExpires => "aws_bad_expires",
            BadDate => "aws_bad_date",
            FutureDate => "aws_future_date",
            StaleDate => "aws_stale_date",
            QueryNotAllowed => "aws_query_not_allowed",
            BodyNotAllowed => "aws_body_not_allowed",
            DuplicateHeader => "aws_duplicate_header",
            HeaderNotAllowed => "aws_header_not_allowed",
            BadAuthorization => "aws_bad_authorization",
            ServerIdMissing => "aws_server_id_missing",
            ServerIdMismatch => "aws_server_id_mismatch",
            StsRefused => "aws_sts_refused",
            BadResponse => "aws_bad_response",
            BadArn => "aws_bad_arn",
            AccountNotAllowed => "aws_account_not_allowed",
            ArnNotAllowed => "aws_arn_not_allowed",
        }
    }

    /// The validation check ([`crate::validate::CHECKS`]) this rule belongs to: `aws proof`
    /// (local rules), `aws sts` (the replay and its answer) or `aws policy`.
    pub fn check(self) -> &'static str {
        match self {
            AwsReason::StsRefused | AwsReason::BadResponse | AwsReason::BadArn => "aws sts",
            AwsReason::AccountNotAllowed | AwsReason::ArnNotAllowed => "aws policy",
            AwsReason::TokenTooLarge => "size",
            _ => "aws proof",
        }
    }
}

/// An AWS proof refusal: the rule and what was found (peer-supplied values clipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRejection {
    /// The rule.
    pub reason: AwsReason,
    /// What was found.
    pub detail: String,
}

impl std::fmt::Display for AwsRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

/// What a verified proof yields, before the principal mapping.
pub(crate) struct AwsVerified {
    pub claims: Map<String, Value>,
    pub iss: String,
    /// The caller ARN as STS reported it (`caller_arn`), for the audit.
    pub subject: String,
    pub expires_at: u64,
}

/// Builds the claims of a caller identity reported by STS for `proof`.
///
/// # Errors
/// `aws_bad_arn` when the ARN is not an accepted identity or its account differs from
/// `Account`.
pub(crate) fn claims(
    identity: &sts::CallerIdentity,
    proof: &proof::Checked,
) -> Result<AwsVerified, AwsRejection> {
    let canonical = arn::canonicalize(&identity.arn).map_err(|detail| AwsRejection {
        reason: AwsReason::BadArn,
        detail: format!("{}: {detail}", crate::validate::clip(&identity.arn)),
    })?;
    if canonical.account != identity.account {
        return Err(AwsRejection {
            reason: AwsReason::BadArn,
            detail: format!(
                "the ARN's account {} differs from Account {}",
                canonical.account,
                crate::validate::clip(&identity.account)
            ),
        });
    }
    let (user_id, session) = match identity.user_id.split_once(':') {
        Some((id, session)) => (id.to_string(), Some(session.to_string())),
        None => (identity.user_id.clone(), None),
    };
    let expires_at = proof.signed_at.saturating_add(STS_WINDOW_SECS);
    let iss = crate::config::origin(&proof.endpoint);
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(canonical.canonical));
    claims.insert("arn".into(), json!(canonical.canonical));
    claims.insert("caller_arn".into(), json!(identity.arn));
    claims.insert("account".into(), json!(identity.account));
    claims.insert("user_id".into(), json!(user_id));
    claims.insert("partition".into(), json!(canonical.partition));
    claims.insert("arn_kind".into(), json!(canonical.kind));
    if let Some(r) = &canonical.role_name {
        claims.insert("role_name".into(), json!(r));
    }
    if let Some(s) = canonical.session_name.or(session) {
        claims.insert("session_name".into(), json!(s));
    }
    claims.insert("iat".into(), json!(proof.signed_at));
    claims.insert("exp".into(), json!(expires_at));
    claims.insert("sts_endpoint".into(), json!(iss));
    claims.insert("encoding".into(), json!(proof.encoding.as_str()));
    Ok(AwsVerified {
        subject: identity.arn.clone(),
        claims,
        iss,
        expires_at,
    })
}

/// The account and ARN policy of `service` for a verified AWS identity from `issuer`: the
/// service's `aws_accounts`/`aws_role_arns` when set, else the issuer's.
///
/// # Errors
/// `aws_account_not_allowed` or `aws_arn_not_allowed`.
pub(crate) fn check_policy(
    service: &ServiceConfig,
    issuer: &IssuerConfig,
    claims: &Map<String, Value>,
) -> Result<(), AwsRejection> {
    static EMPTY: Vec<String> = Vec::new();
    let cfg = issuer.aws.as_ref();
    let (accounts, arns) = if !service.aws_accounts.is_empty() || !service.aws_role_arns.is_empty()
    {
        (&service.aws_accounts, &service.aws_role_arns)
    } else {
        match cfg {
            Some(c) => (&c.accounts, &c.role_arns),
            None => (&EMPTY, &EMPTY),
        }
    };
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    if accounts.is_empty() && arns.is_empty() {
        return Err(AwsRejection {
            reason: AwsReason::AccountNotAllowed,
            detail: "no account or ARN is allowed".into(),
        });
    }
    if !accounts.is_empty() && !accounts.iter().any(|a| a == text("account")) {
        return Err(AwsRejection {
            reason: AwsReason::AccountNotAllowed,
            detail: format!("account {} is not allowed", text("account")),
        });
    }
    if !arns.is_empty() && !arns.iter().any(|p| arn::glob_match(p, text("arn"))) {
        return Err(AwsRejection {
            reason: AwsReason::ArnNotAllowed,
            detail: format!("{} matches no allowed ARN pattern", text("arn")),
        });
    }
    Ok(())
}

/// Fuzzing hook: screens `token` as an AWS proof against a fixed permissive issuer. Not API.
#[doc(hidden)]
pub fn fuzzing_check_proof(token: &str) -> Result<(), String> {
    static CFG: std::sync::OnceLock<Option<AwsIssuerConfig>> = std::sync::OnceLock::new();
    let cfg = CFG.get_or_init(|| {
        toml::from_str(
            "server_id = \"fuzz\"\nregions = [\"us-east-1\"]\nglobal_endpoint = true\n\
             endpoints = [\"http://127.0.0.1:8080\"]\naccounts = [\"123456789012\"]\n",
        )
        .ok()
    });
    let Some(cfg) = cfg.as_ref() else {
        return Err("fuzzing configuration does not parse".into());
    };
    proof::check(token, &[(cfg, 30)], 1_700_000_000, true)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Fuzzing hook: parses an STS answer in both shapes and canonicalises its ARN. Not API.
#[doc(hidden)]
pub fn fuzzing_parse_response(body: &[u8]) {
    for (format, ct) in [
        (crate::config::AwsResponseFormat::Xml, "text/xml"),
        (crate::config::AwsResponseFormat::Json, "application/json"),
    ] {
        if let Ok(id) = sts::parse(format, ct, body) {
            let _ = arn::canonicalize(&id.arn);
        }
    }
}
