//! AWS IAM proofs (`kind = "aws"`): credentials from the standard chain (`aws-config`:
//! environment, profile, web identity, ECS container and EC2 instance metadata), optionally a
//! role assumed through `aws-sdk-sts` (`AssumeRole`, or `AssumeRoleWithWebIdentity` with a token
//! file), then a `sts:GetCallerIdentity` request signed with `aws-sigv4` and carried as the
//! bearer token in one of two encodings (see `validate::aws` for the exact formats):
//!
//! - `k8s-aws-v1`: `k8s-aws-v1.` + base64url (no padding) of the query-presigned
//!   `GET <endpoint>/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-…` with the signed
//!   header `x-k8s-aws-id: <server_id>` and `X-Amz-Expires=60` (ignored by STS, which honours a
//!   signed GetCallerIdentity for 15 minutes), the empty payload hash as botocore's STS presigner;
//! - `vault`: `vault-aws-iam-v1.` + base64url (no padding) of
//!   `{"iam_http_request_method":"POST","iam_request_url":b64(url),"iam_request_body":
//!   b64("Action=GetCallerIdentity&Version=2011-06-15"),"iam_request_headers":b64(json
//!   {"Authorization":[…],"Content-Type":[…],"X-Amz-Date":[…],"X-Amz-Security-Token":[…],
//!   "X-Vault-AWS-IAM-Server-ID":[server_id]})}` with standard base64.
//!
//! A proof is valid for 15 minutes after signing; it is reported as expiring then, and the
//! refresher re-signs after at most two thirds of that (10 minutes). Assumed-role credentials
//! are kept until 5 minutes before their own expiry.

use super::{AccessToken, AcquireError};
use crate::config::{AwsEncoding, AwsIdentityConfig, STS_WINDOW_SECS};
use crate::validate::aws::proof::{
    VaultDocument, K8S_PREFIX, K8S_SERVER_ID_HEADER, VAULT_PREFIX, VAULT_SERVER_ID_HEADER,
};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningInstructions, SigningSettings,
};
use base64::Engine as _;
use secrecy::SecretString;
use std::time::{Duration, SystemTime};
use tokio::sync::{Mutex, OnceCell};

/// The body of a signed GetCallerIdentity POST.
pub const GET_CALLER_IDENTITY_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// The largest fraction of a proof's 15-minute window it is reused for.
pub(crate) const MAX_REFRESH_RATIO: f64 = 2.0 / 3.0;

/// One AWS identity: its settings, the SDK configuration (loaded on first use) and the
/// assumed-role credentials while they are fresh.
pub(crate) struct AwsProof {
    identity: String,
    cfg: AwsIdentityConfig,
    sdk: OnceCell<aws_config::SdkConfig>,
    assumed: Mutex<Option<Credentials>>,
}

impl AwsProof {
    /// A source for identity `name`; nothing is loaded yet.
    pub(crate) fn new(name: &str, cfg: &AwsIdentityConfig) -> Self {
        Self {
            identity: name.to_string(),
            cfg: cfg.clone(),
            sdk: OnceCell::new(),
            assumed: Mutex::new(None),
        }
    }

    fn fail(&self, message: impl Into<String>) -> AcquireError {
        AcquireError::Failed {
            identity: self.identity.clone(),
            message: message.into(),
        }
    }

    async fn sdk(&self) -> &aws_config::SdkConfig {
        self.sdk
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(r) = &self.cfg.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                if let Some(e) = &self.cfg.sts_endpoint {
                    loader = loader.endpoint_url(e.as_str().trim_end_matches('/'));
                }
                loader.load().await
            })
            .await
    }

    fn region(&self, sdk: &aws_config::SdkConfig) -> String {
        self.cfg
            .region
            .clone()
            .or_else(|| sdk.region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".to_string())
    }

    /// The endpoint the proof targets: `sts_endpoint`, else the regional STS name.
    fn endpoint(&self, region: &str) -> String {
        match &self.cfg.sts_endpoint {
            Some(e) => e.as_str().trim_end_matches('/').to_string(),
            None if region.starts_with("cn-") => format!("https://sts.{region}.amazonaws.com.cn"),
            None => format!("https://sts.{region}.amazonaws.com"),
        }
    }

    /// The credentials to sign with: the chain's, or the assumed role's.
    async fn credentials(&self, now: SystemTime) -> Result<Credentials, AcquireError> {
        let sdk = self.sdk().await;
        let Some(role) = &self.cfg.assume_role_arn else {
            let provider = sdk
                .credentials_provider()
                .ok_or_else(|| self.fail("no AWS credentials provider is configured"))?;
            return provider
                .provide_credentials()
                .await
                .map_err(|e| self.fail(format!("no AWS credentials: {}", error_chain(&e))));
        };
        let mut assumed = self.assumed.lock().await;
        if let Some(c) = assumed.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|exp| exp > now + Duration::from_secs(300));
            if fresh {
                return Ok(c.clone());
            }
        }
        let session = self
            .cfg
            .role_session_name
            .clone()
            .unwrap_or_else(|| format!("saslgate-{}", self.identity));
        let client = aws_sdk_sts::Client::new(sdk);
        let out = match &self.cfg.web_identity_token_file {
            Some(file) => {
                let token = tokio::fs::read_to_string(file)
                    .await
                    .map_err(|e| self.fail(format!("cannot read {}: {e}", file.display())))?;
                client
                    .assume_role_with_web_identity()
                    .role_arn(role)
                    .role_session_name(&session)
                    .web_identity_token(token.trim())
                    .send()
                    .await
                    .map_err(|e| {
                        self.fail(format!(
                            "AssumeRoleWithWebIdentity {role}: {}",
                            error_chain(&e)
                        ))
                    })?
                    .credentials
            }
            None => {
                let mut call = client
                    .assume_role()
                    .role_arn(role)
                    .role_session_name(&session);
                if let Some(id) = &self.cfg.external_id {
                    call = call.external_id(id);
                }
                call.send()
                    .await
                    .map_err(|e| self.fail(format!("AssumeRole {role}: {}", error_chain(&e))))?
                    .credentials
            }
        };
        let c = out.ok_or_else(|| self.fail(format!("STS returned no credentials for {role}")))?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "saslgate-assume-role",
        );
        *assumed = Some(creds.clone());
        Ok(creds)
    }

    /// Signs a fresh proof at `now_secs` (Unix seconds).
    ///
    /// # Errors
    /// [`AcquireError::Failed`] when no credentials can be obtained, the role cannot be
    /// assumed, or signing fails (the message never holds a secret).
    pub(crate) async fn fetch(&self, now_secs: u64) -> Result<AccessToken, AcquireError> {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        let creds = self.credentials(now).await?;
        let region = self.region(self.sdk().await);
        let endpoint = self.endpoint(&region);
        let token = match self.cfg.encoding {
            AwsEncoding::K8sAwsV1 => {
                presigned_get(&creds, &region, &endpoint, &self.cfg.server_id, now)
            }
            _ => signed_post(&creds, &region, &endpoint, &self.cfg.server_id, now),
        }
        .map_err(|e| self.fail(format!("cannot sign the GetCallerIdentity request: {e}")))?;
        tracing::debug!(identity = %self.identity, access_key_id = %creds.access_key_id(), endpoint = %endpoint, "signed an AWS STS proof");
        Ok(AccessToken {
            secret: SecretString::from(token),
            obtained_at: now_secs,
            expires_at: Some(now_secs + STS_WINDOW_SECS),
        })
    }
}

/// The error and its sources on one line (SDK errors hide the cause in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    crate::http::append_causes(e.to_string(), e.source())
}

fn signing_params<'a>(
    identity: &'a aws_smithy_runtime_api::client::identity::Identity,
    region: &'a str,
    now: SystemTime,
    settings: SigningSettings,
) -> Result<aws_sigv4::http_request::SigningParams<'a>, String> {
    aws_sigv4::sign::v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map(Into::into)
        .map_err(|e| e.to_string())
}

/// SigV4-signs `method url` with the signed `headers` and `body` under `params`; returns what
/// to add to the request (query parameters or headers, as `params`' settings place them).
///
/// # Errors
/// The signer's message.
fn sign_request(
    params: &aws_sigv4::http_request::SigningParams<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<SigningInstructions, String> {
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions)
}

/// The k8s-aws-v1 proof: a query-presigned GetCallerIdentity GET with `x-k8s-aws-id` signed.
///
/// # Errors
/// The signer's message.
pub fn presigned_get(
    creds: &Credentials,
    region: &str,
    endpoint: &str,
    server_id: &str,
    now: SystemTime,
) -> Result<String, String> {
    let identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(60));
    let params = signing_params(&identity, region, now, settings)?;
    let url = format!("{endpoint}/?{GET_CALLER_IDENTITY_BODY}");
    let instructions = sign_request(
        &params,
        "GET",
        &url,
        &[(K8S_SERVER_ID_HEADER, server_id)],
        b"",
    )?;
    let mut request = http::Request::builder()
        .method("GET")
        .uri(&url)
        .body(())
        .map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(format!(
        "{K8S_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    ))
}

/// The vault proof: a header-signed GetCallerIdentity POST with `X-Vault-AWS-IAM-Server-ID`
/// signed, as the JSON document described in the module docs.
///
/// # Errors
/// The signer's message.
pub fn signed_post(
    creds: &Credentials,
    region: &str,
    endpoint: &str,
    server_id: &str,
    now: SystemTime,
) -> Result<String, String> {
    let identity = creds.clone().into();
    let params = signing_params(&identity, region, now, SigningSettings::default())?;
    let url = format!("{endpoint}/");
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let instructions = sign_request(
        &params,
        "POST",
        &url,
        &[
            ("content-type", content_type),
            (VAULT_SERVER_ID_HEADER, server_id),
        ],
        GET_CALLER_IDENTITY_BODY.as_bytes(),
    )?;
    let mut headers = serde_json::Map::new();
    headers.insert("Content-Type".into(), serde_json::json!([content_type]));
    headers.insert(
        "X-Vault-AWS-IAM-Server-ID".into(),
        serde_json::json!([server_id]),
    );
    for (name, value) in instructions.headers() {
        let name = match name {
            "authorization" => "Authorization",
            "x-amz-date" => "X-Amz-Date",
            "x-amz-security-token" => "X-Amz-Security-Token",
            other => other,
        };
        headers.insert(name.to_string(), serde_json::json!([value]));
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let doc = VaultDocument {
        iam_http_request_method: "POST".into(),
        iam_request_url: b64(&url),
        iam_request_body: b64(GET_CALLER_IDENTITY_BODY),
        iam_request_headers: b64(&serde_json::Value::Object(headers).to_string()),
    };
    let json = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!(
        "{VAULT_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    ))
}
