//! `[issuers.aws]` and `[identities.aws]`: AWS IAM identities proven by a signed
//! `sts:GetCallerIdentity` request (see `src/validate/aws/` and `src/acquire/aws.rs`).
//!
//! The STS endpoints a proof may be replayed to come from this configuration only: an explicit
//! `endpoints` list, or `regions` of a `partition` resolved to the partition's published STS
//! host names (`sts.<region>.<dns suffix>`, optionally the FIPS and dual-stack names). Never
//! from the client's request (CVE-2020-16250, CVE-2022-2385; research/cloud-iam.md §0, §1).

use super::{is_loopback_host, Danger, Problem};
use serde::Deserialize;
use std::path::PathBuf;
use url::Url;

/// How the signed `GetCallerIdentity` request is carried as the OAUTHBEARER token.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AwsEncoding {
    /// `k8s-aws-v1.` + base64url (no padding) of a SigV4 query-presigned GET URL, with the
    /// signed `x-k8s-aws-id` header naming the server (kubernetes-sigs/aws-iam-authenticator).
    #[serde(rename = "k8s-aws-v1")]
    K8sAwsV1,
    /// `vault-aws-iam-v1.` + base64url (no padding) of a JSON document shaped like HashiCorp
    /// Vault's AWS `iam` login payload (a header-signed POST; `X-Vault-AWS-IAM-Server-ID`).
    #[serde(rename = "vault")]
    Vault,
}

impl AwsEncoding {
    /// The configuration name (`k8s-aws-v1`, `vault`).
    pub fn as_str(self) -> &'static str {
        match self {
            AwsEncoding::K8sAwsV1 => "k8s-aws-v1",
            AwsEncoding::Vault => "vault",
        }
    }
}

/// Which response shape the server asks STS for when it replays a proof.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AwsResponseFormat {
    /// The default XML (`Content-Type: text/xml` required; what Vault parses).
    #[default]
    Xml,
    /// JSON, asked with `Accept: application/json` (what aws-iam-authenticator parses).
    Json,
}

/// The AWS partitions whose ARNs are accepted, with the STS DNS suffix and dual-stack suffix of
/// each (aws-iam-authenticator `pkg/arn`, the SDK's `partitions.json`).
pub const PARTITIONS: &[(&str, &str, &str)] = &[
    ("aws", "amazonaws.com", "api.aws"),
    ("aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("aws-us-gov", "amazonaws.com", "api.aws"),
    ("aws-iso", "c2s.ic.gov", "c2s.ic.gov"),
    ("aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov"),
    ("aws-iso-e", "cloud.adc-e.uk", "cloud.adc-e.uk"),
    ("aws-iso-f", "csp.hci.ic.gov", "csp.hci.ic.gov"),
    ("aws-eusc", "amazonaws.eu", "amazonaws.eu"),
];

/// STS's own window for a signed `GetCallerIdentity`: 15 minutes after `X-Amz-Date`, seconds.
pub const STS_WINDOW_SECS: u64 = 900;

/// `[issuers.aws]`: how proofs for an issuer of `kind = "aws"` are checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AwsIssuerConfig {
    /// The server ID the proof must sign: the `x-k8s-aws-id` header (k8s-aws-v1) or the
    /// `X-Vault-AWS-IAM-Server-ID` header (vault). Replays send this value, never the client's.
    /// Required; binds proofs to this service.
    pub server_id: String,
    /// STS endpoints proofs may target and are replayed to (`https://host[:port]`, no path).
    /// Combined with the names resolved from `regions`.
    #[serde(default)]
    pub endpoints: Vec<Url>,
    /// Partition of `regions` (`aws`, `aws-cn`, `aws-us-gov`, …). Default `aws`.
    #[serde(default = "default_partition")]
    pub partition: String,
    /// Regions whose STS host names (`sts.<region>.<partition dns suffix>`) are allowed.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Also allow the global `sts.amazonaws.com` (partition `aws` only). Default false.
    #[serde(default)]
    pub global_endpoint: bool,
    /// Also allow the FIPS names (`sts-fips.<region>.<suffix>`) of `regions`. Default false.
    #[serde(default)]
    pub fips: bool,
    /// Also allow the dual-stack names (`sts.<region>.<dual-stack suffix>`). Default false.
    #[serde(default)]
    pub dual_stack: bool,
    /// Accepted encodings. Default both: `["k8s-aws-v1", "vault"]`.
    #[serde(default = "default_encodings")]
    pub encodings: Vec<AwsEncoding>,
    /// Largest proof accepted, bytes (at most `limits.max_token_bytes`). Default 8192.
    #[serde(default = "default_max_proof")]
    pub max_token_bytes: usize,
    /// Timeout of one replay to STS, seconds (1..30). Default 5.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// `xml` (default) or `json`: the response shape asked of STS.
    #[serde(default)]
    pub response_format: AwsResponseFormat,
    /// Account ids whose identities are accepted. Empty: any account matching `role_arns`.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Canonical ARN patterns accepted (`*` matches any run of characters), compared with the
    /// canonical ARN (`arn:aws:iam::123456789012:role/zk-*`). Empty: any ARN of `accounts`.
    /// At least one of `accounts` and `role_arns` must be set (fail closed).
    #[serde(default)]
    pub role_arns: Vec<String>,
}

fn default_partition() -> String {
    "aws".to_string()
}
fn default_encodings() -> Vec<AwsEncoding> {
    vec![AwsEncoding::K8sAwsV1, AwsEncoding::Vault]
}
fn default_max_proof() -> usize {
    8192
}
fn default_timeout() -> u64 {
    5
}

/// Is `region` a well-formed region name (`^[[:alnum:]]([[:alnum:]-]*[[:alnum:]])?$`, the
/// check aws-iam-authenticator applies before building a host name from it)?
fn valid_region(region: &str) -> bool {
    let bytes = region.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// The normalised origin (`scheme://host[:port]`) of an endpoint, as compared with proofs.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl AwsIssuerConfig {
    /// The allowed STS endpoints as origins (`https://sts.eu-west-1.amazonaws.com`): the
    /// configured `endpoints` plus the names resolved from `partition` and `regions`.
    pub fn allowed_endpoints(&self) -> Vec<Url> {
        let mut out: Vec<Url> = Vec::new();
        let mut push = |u: Url| {
            if !out.iter().any(|o| origin(o) == origin(&u)) {
                out.push(u);
            }
        };
        for e in &self.endpoints {
            push(e.clone());
        }
        let Some((_, dns, dual)) = PARTITIONS.iter().find(|(p, _, _)| *p == self.partition) else {
            return out;
        };
        for region in self.regions.iter().filter(|r| valid_region(r)) {
            let mut hosts = vec![format!("sts.{region}.{dns}")];
            if self.fips {
                hosts.push(format!("sts-fips.{region}.{dns}"));
            }
            if self.dual_stack {
                hosts.push(format!("sts.{region}.{dual}"));
                if self.fips {
                    hosts.push(format!("sts-fips.{region}.{dual}"));
                }
            }
            for h in hosts {
                if let Ok(u) = Url::parse(&format!("https://{h}")) {
                    push(u);
                }
            }
        }
        if self.global_endpoint && self.partition == "aws" {
            if let Ok(u) = Url::parse("https://sts.amazonaws.com") {
                push(u);
            }
        }
        out
    }

    pub(crate) fn check(
        &self,
        key: &str,
        danger: &Danger,
        max_token_bytes: usize,
    ) -> Result<(), Problem> {
        if self.server_id.trim().is_empty() || self.server_id.chars().any(char::is_control) {
            return Err(Problem::new(
                format!("{key}.server_id"),
                "is required: a non-empty value without control characters",
            )
            .fix("set it to a name of this service, e.g. the ZooKeeper ensemble name"));
        }
        if !PARTITIONS.iter().any(|(p, _, _)| *p == self.partition) {
            let names: Vec<&str> = PARTITIONS.iter().map(|(p, _, _)| *p).collect();
            return Err(Problem::new(
                format!("{key}.partition"),
                format!("{:?} is not a known partition", self.partition),
            )
            .fix(format!("use one of {}", names.join(", "))));
        }
        if let Some(bad) = self.regions.iter().find(|r| !valid_region(r)) {
            return Err(Problem::new(
                format!("{key}.regions"),
                format!("{bad:?} is not a region name"),
            ));
        }
        if self.global_endpoint && self.partition != "aws" {
            return Err(Problem::new(
                format!("{key}.global_endpoint"),
                "the global sts.amazonaws.com exists in partition \"aws\" only",
            ));
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            let k = format!("{key}.endpoints[{i}]");
            match e.scheme() {
                "https" => {}
                "http" if is_loopback_host(e) && danger.allow_http_sts_loopback => {}
                "http" if is_loopback_host(e) => return Err(Problem::new(
                    k,
                    format!("{e} uses http"),
                )
                .fix(
                    "use https (a loopback test STS needs [danger] allow_http_sts_loopback = true)",
                )),
                _ => return Err(Problem::new(k, format!("{e} is not an https URL"))),
            }
            if e.host_str().is_none()
                || e.path() != "/"
                || e.query().is_some()
                || e.fragment().is_some()
                || !e.username().is_empty()
                || e.password().is_some()
            {
                return Err(Problem::new(
                    k,
                    format!(
                        "{e} must be an origin only: https://host[:port], no path, query or user"
                    ),
                ));
            }
        }
        if self.allowed_endpoints().is_empty() {
            return Err(Problem::new(
                format!("{key}.endpoints"),
                "no STS endpoint: set endpoints, or regions (of partition) or global_endpoint",
            ));
        }
        if self.encodings.is_empty() {
            return Err(Problem::new(format!("{key}.encodings"), "is empty")
                .fix("remove the key to accept both k8s-aws-v1 and vault"));
        }
        if self.max_token_bytes < 256 || self.max_token_bytes > max_token_bytes {
            return Err(Problem::new(
                format!("{key}.max_token_bytes"),
                format!(
                    "{} is outside 256..={max_token_bytes} (limits.max_token_bytes)",
                    self.max_token_bytes
                ),
            ));
        }
        if !(1..=30).contains(&self.timeout_secs) {
            return Err(Problem::new(
                format!("{key}.timeout_secs"),
                format!("{} is outside 1..=30 seconds", self.timeout_secs),
            ));
        }
        if self.accounts.is_empty() && self.role_arns.is_empty() {
            return Err(Problem::new(
                format!("{key}.accounts"),
                "no policy: neither accounts nor role_arns is set (nothing is accepted by default)",
            )
            .fix("set accounts = [\"<12-digit account id>\"] and/or role_arns = [\"arn:aws:iam::<account>:role/<name>\"]"));
        }
        check_policy_lists(key, &self.accounts, &self.role_arns)
    }
}

/// Checks account ids (12 digits) and ARN patterns (start with `arn:`).
pub(crate) fn check_policy_lists(
    key: &str,
    accounts: &[String],
    role_arns: &[String],
) -> Result<(), Problem> {
    if let Some(bad) = accounts
        .iter()
        .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Problem::new(
            format!("{key}.accounts"),
            format!("{bad:?} is not a 12-digit account id"),
        ));
    }
    if let Some(bad) = role_arns.iter().find(|a| !a.starts_with("arn:")) {
        return Err(Problem::new(
            format!("{key}.role_arns"),
            format!("{bad:?} is not an ARN pattern (arn:<partition>:iam::<account>:role/<name>)"),
        ));
    }
    Ok(())
}

/// `[identities.aws]`: how this node proves its AWS identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AwsIdentityConfig {
    /// The server ID of the target service (its `[issuers.aws] server_id`). Required.
    pub server_id: String,
    /// `k8s-aws-v1` (default) or `vault`.
    #[serde(default = "default_encoding")]
    pub encoding: AwsEncoding,
    /// Region used for signing and for the default endpoint. Default: the SDK's region chain
    /// (`AWS_REGION`, profile), else `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// The STS endpoint the proof targets (and AssumeRole calls go to). Default
    /// `https://sts.<region>.amazonaws.com`.
    #[serde(default)]
    pub sts_endpoint: Option<Url>,
    /// Role to assume first (`sts:AssumeRole`, or `AssumeRoleWithWebIdentity` with
    /// `web_identity_token_file`). Default: prove the chain's own identity.
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    /// Session name for the assumed role. Default `saslgate-<identity name>`.
    #[serde(default)]
    pub role_session_name: Option<String>,
    /// External id for `AssumeRole`. Default unset.
    #[serde(default)]
    pub external_id: Option<String>,
    /// OIDC token file for `AssumeRoleWithWebIdentity` (EKS IRSA:
    /// `/var/run/secrets/eks.amazonaws.com/serviceaccount/token`); needs `assume_role_arn`.
    #[serde(default)]
    pub web_identity_token_file: Option<PathBuf>,
}

fn default_encoding() -> AwsEncoding {
    AwsEncoding::K8sAwsV1
}

impl AwsIdentityConfig {
    pub(crate) fn check(&self, key: &str, danger: &Danger) -> Result<(), Problem> {
        if self.server_id.trim().is_empty() || self.server_id.chars().any(char::is_control) {
            return Err(Problem::new(
                format!("{key}.server_id"),
                "is required: the target service's [issuers.aws] server_id",
            ));
        }
        if let Some(r) = &self.region {
            if !valid_region(r) {
                return Err(Problem::new(
                    format!("{key}.region"),
                    format!("{r:?} is not a region name"),
                ));
            }
        }
        if let Some(e) = &self.sts_endpoint {
            match e.scheme() {
                "https" => {}
                "http" if is_loopback_host(e) && danger.allow_http_sts_loopback => {}
                _ => return Err(Problem::new(
                    format!("{key}.sts_endpoint"),
                    format!("{e} is not an https URL"),
                )
                .fix(
                    "use https (a loopback test STS needs [danger] allow_http_sts_loopback = true)",
                )),
            }
        }
        if self.web_identity_token_file.is_some() && self.assume_role_arn.is_none() {
            return Err(Problem::new(
                format!("{key}.assume_role_arn"),
                "is required with web_identity_token_file (AssumeRoleWithWebIdentity)",
            ));
        }
        if let Some(arn) = &self.assume_role_arn {
            if !arn.starts_with("arn:") || !arn.contains(":role/") {
                return Err(Problem::new(
                    format!("{key}.assume_role_arn"),
                    format!("{arn:?} is not a role ARN"),
                ));
            }
        }
        Ok(())
    }
}
