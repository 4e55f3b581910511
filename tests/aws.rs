//! AWS IAM proofs end to end: signed by `saslgate::acquire::aws` (and by the real AWS CLI),
//! validated by the core's validator, which replays them over real loopback sockets to moto or
//! to the STS stand-in (`tests/common/sts_standin.rs`, which says why it exists).
//!
//! Every refusal rule of `validate::aws` has its own test here asserting the reason name; the
//! refusals found before the replay also assert that STS was never called.

#[path = "common/moto.rs"]
mod moto;
#[path = "common/sts_standin.rs"]
mod sts_standin;

use aws_credential_types::Credentials;
use base64::Engine as _;
use saslgate::acquire::aws::{presigned_get, signed_post};
use saslgate::validate::{Clock, ValidateError, VerifiedToken};
use saslgate::{Config, Core};
use std::sync::Arc;
use std::time::SystemTime;
use sts_standin::{Key, StsStandIn};

const SERVER_ID: &str = "zk-prod";
const ACCOUNT: &str = "111122223333";
const AKID: &str = "AKIASTANDIN00000001";
const SECRET: &str = "standin/secret+key";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/zk-client";

fn b64url(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
fn unb64url(s: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .expect("base64url"),
    )
    .expect("utf-8")
}
fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}
fn unb64(s: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64"),
    )
    .expect("utf-8")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn creds() -> Credentials {
    Credentials::new(AKID, SECRET, None, None, "test")
}

/// A stand-in that knows [`AKID`] as an assumed role `zk-client`, session `host-1`.
async fn standin() -> StsStandIn {
    let sts = StsStandIn::start().await;
    sts.add_key(
        AKID,
        Key {
            secret: SECRET.into(),
            arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/zk-client/host-1"),
            account: ACCOUNT.into(),
            user_id: "AROASTANDINEXAMPLE:host-1".into(),
        },
    );
    sts
}

/// The server's configuration: one aws issuer trusting `endpoint`, account [`ACCOUNT`];
/// `issuer_extra` goes into `[issuers.aws]`, `rest` after the service.
fn server(endpoint: &str, issuer_extra: &str, rest: &str) -> Arc<Config> {
    let text = format!(
        "[danger]\nallow_http_sts_loopback = true\n\
         [[issuers]]\nname = \"aws\"\nkind = \"aws\"\n\
         [issuers.aws]\nserver_id = \"{SERVER_ID}\"\nendpoints = [\"{endpoint}\"]\n\
         accounts = [\"{ACCOUNT}\", \"123456789012\"]\n{issuer_extra}\n\
         [[services]]\nname = \"zookeeper\"\nissuers = [\"aws\"]\n{rest}\n"
    );
    Arc::new(Config::from_toml_str(&text, "<test>").unwrap_or_else(|e| panic!("{e}\n{text}")))
}

fn core_at(config: Arc<Config>, offset_secs: i64) -> Arc<Core> {
    let clock = Clock::from_fn(move || now_secs().saturating_add_signed(offset_secs));
    Core::new_with_clock(config, clock).expect("core")
}

/// Validates and returns the rejection's reason name (panics when accepted).
async fn refused(core: &Core, token: &str) -> String {
    match core.validator().validate("zookeeper", token).await {
        Ok(v) => panic!("accepted: {:?}", v.principal),
        Err(ValidateError::Rejected(r)) => r.as_str().to_string(),
        Err(e) => panic!("not a rejection: {e}"),
    }
}

/// Validates `token` and returns the verified token (panics when refused).
async fn accepted(core: &Core, token: &str) -> Arc<VerifiedToken> {
    match core.validator().validate("zookeeper", token).await {
        Ok(v) => v,
        Err(e) => panic!("refused: {e}"),
    }
}

fn k8s_token(endpoint: &str) -> String {
    presigned_get(
        &creds(),
        "us-east-1",
        endpoint,
        SERVER_ID,
        SystemTime::now(),
    )
    .expect("sign")
}

/// The presigned URL inside a k8s-aws-v1 token.
fn k8s_url(token: &str) -> String {
    unb64url(token.strip_prefix("k8s-aws-v1.").expect("prefix"))
}

/// A k8s-aws-v1 token around `url`.
fn k8s_wrap(url: &str) -> String {
    format!("k8s-aws-v1.{}", b64url(url))
}

/// The k8s-aws-v1 token of `endpoint` with its URL edited by `edit`.
fn k8s_edited(endpoint: &str, edit: impl Fn(String) -> String) -> String {
    k8s_wrap(&edit(k8s_url(&k8s_token(endpoint))))
}

/// Replaces the value of query parameter `key` in `url`.
fn set_param(url: &str, key: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').expect("query");
    let query: Vec<String> = query
        .split('&')
        .map(|p| {
            if p.split('=').next() == Some(key) {
                format!("{key}={value}")
            } else {
                p.to_string()
            }
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn vault_token(endpoint: &str) -> String {
    signed_post(
        &creds(),
        "us-east-1",
        endpoint,
        SERVER_ID,
        SystemTime::now(),
    )
    .expect("sign")
}

/// The vault token of `endpoint` with its document (as JSON) edited by `edit`.
fn vault_edited(endpoint: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let token = vault_token(endpoint);
    let mut doc: serde_json::Value = serde_json::from_str(&unb64url(
        token.strip_prefix("vault-aws-iam-v1.").expect("prefix"),
    ))
    .expect("json");
    edit(&mut doc);
    format!("vault-aws-iam-v1.{}", b64url(&doc.to_string()))
}

/// The decoded `iam_request_headers` object of a vault document.
type Headers = serde_json::Map<String, serde_json::Value>;

/// Edits the decoded headers object of a vault document.
fn edit_headers(doc: &mut serde_json::Value, edit: impl Fn(&mut Headers)) {
    let raw = unb64(doc["iam_request_headers"].as_str().expect("headers"));
    let mut headers: Headers = serde_json::from_str(&raw).expect("headers json");
    edit(&mut headers);
    doc["iam_request_headers"] = b64(&serde_json::Value::Object(headers).to_string()).into();
}

// ---- accepted proofs -------------------------------------------------------------------

#[tokio::test]
async fn a_presigned_get_validates_through_the_standin_and_is_cached() {
    let sts = standin().await;
    let core = core_at(server(&sts.base, "", ""), 0);
    let token = k8s_token(&sts.base);
    let v = accepted(&core, &token).await;
    assert_eq!(v.principal.authzid, ROLE_ARN);
    // The subject (audit) is the caller as STS reported it, with its session.
    assert_eq!(
        v.subject,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/zk-client/host-1")
    );
    assert_eq!(v.claims["role_name"], "zk-client");
    assert_eq!(v.claims["session_name"], "host-1");
    assert_eq!(v.claims["user_id"], "AROASTANDINEXAMPLE");
    assert_eq!(v.claims["account"], ACCOUNT);
    assert_eq!(
        v.claims["caller_arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/zk-client/host-1")
    );
    assert_eq!(v.claims["encoding"], "k8s-aws-v1");
    let now = now_secs();
    assert!(
        v.expires_at > now + 890 && v.expires_at <= now + 901,
        "{}",
        v.expires_at
    );
    assert_eq!(sts.hits(), 1);
    let again = accepted(&core, &token).await;
    assert_eq!(again.principal.authzid, ROLE_ARN);
    assert_eq!(sts.hits(), 1, "the second validation came from the cache");
}

#[tokio::test]
async fn the_json_response_shape_is_parsed() {
    let sts = standin().await;
    let core = core_at(server(&sts.base, "response_format = \"json\"", ""), 0);
    let v = accepted(&core, &k8s_token(&sts.base)).await;
    assert_eq!(v.principal.authzid, ROLE_ARN);
}

#[tokio::test]
async fn a_principal_rule_maps_the_role_name_for_hadoop() {
    let sts = standin().await;
    let rule = "[[principal.rules]]\nissuer = \"aws\"\nmatch = { arn_kind = \"assumed-role\" }\nauthzid = \"{role_name}\"\n";
    let core = core_at(server(&sts.base, "", rule), 0);
    let v = accepted(&core, &k8s_token(&sts.base)).await;
    assert_eq!(v.principal.authzid, "zk-client");
}

// ---- refusals at STS and by policy -------------------------------------------------------

#[tokio::test]
async fn aws_sts_refused_for_a_proof_signed_for_another_server() {
    let sts = standin().await;
    let core = core_at(server(&sts.base, "", ""), 0);
    let other = presigned_get(
        &creds(),
        "us-east-1",
        &sts.base,
        "other-server",
        SystemTime::now(),
    )
    .expect("sign");
    assert_eq!(refused(&core, &other).await, "aws_sts_refused");
    assert_eq!(sts.hits(), 1, "STS itself refused the signature");
}

#[tokio::test]
async fn aws_sts_refused_for_an_unknown_access_key() {
    let sts = standin().await;
    let core = core_at(server(&sts.base, "", ""), 0);
    let stranger = Credentials::new("AKIAUNKNOWN000000000", "x", None, None, "t");
    let token = presigned_get(
        &stranger,
        "us-east-1",
        &sts.base,
        SERVER_ID,
        SystemTime::now(),
    )
    .expect("sign");
    assert_eq!(refused(&core, &token).await, "aws_sts_refused");
}

#[tokio::test]
async fn aws_account_not_allowed() {
    let sts = standin().await;
    let text = format!(
        "[danger]\nallow_http_sts_loopback = true\n[[issuers]]\nname = \"aws\"\nkind = \"aws\"\n\
         [issuers.aws]\nserver_id = \"{SERVER_ID}\"\nendpoints = [\"{}\"]\naccounts = [\"999999999999\"]\n\
         [[services]]\nname = \"zookeeper\"\nissuers = [\"aws\"]\n",
        sts.base
    );
    let core = core_at(
        Arc::new(Config::from_toml_str(&text, "<t>").expect("config")),
        0,
    );
    assert_eq!(
        refused(&core, &k8s_token(&sts.base)).await,
        "aws_account_not_allowed"
    );
}

#[tokio::test]
async fn aws_arn_not_allowed_by_the_service_pattern() {
    let sts = standin().await;
    let service =
        |pattern: &str| server(&sts.base, "", &format!("aws_role_arns = [\"{pattern}\"]"));
    let core = core_at(service("arn:aws:iam::*:role/hdfs-*"), 0);
    assert_eq!(
        refused(&core, &k8s_token(&sts.base)).await,
        "aws_arn_not_allowed"
    );
    let core = core_at(service("arn:aws:iam::*:role/zk-*"), 0);
    let v = accepted(&core, &k8s_token(&sts.base)).await;
    assert_eq!(v.principal.authzid, ROLE_ARN, "the zk-* pattern matches");
}

// ---- refusals before the replay ------------------------------------------------------------
//
// Each test signs a fresh proof for a fresh stand-in, changes one thing and asserts the reason
// and that STS was never called.

/// Asserts `token` is refused with `reason` and STS was not called.
async fn refused_locally(sts: &StsStandIn, core: &Core, token: &str, reason: &str) {
    assert_eq!(refused(core, token).await, reason);
    assert_eq!(sts.hits(), 0, "{reason}: STS must not be called");
}

/// Asserts the proof `sign` makes (given the stand-in's base URL) is refused with `reason`,
/// without calling STS, by a server with `issuer_extra` (see [`server`]) whose clock runs
/// `offset_secs` ahead.
async fn assert_refused_by(
    issuer_extra: &str,
    offset_secs: i64,
    sign: impl FnOnce(&str) -> String,
    reason: &str,
) {
    let sts = standin().await;
    let core = core_at(server(&sts.base, issuer_extra, ""), offset_secs);
    refused_locally(&sts, &core, &sign(&sts.base), reason).await;
}

/// [`assert_refused_by`] the default server.
async fn assert_refused(sign: impl FnOnce(&str) -> String, reason: &str) {
    assert_refused_by("", 0, sign, reason).await;
}

/// [`assert_refused`] for a k8s-aws-v1 proof whose presigned URL `edit` changes.
async fn assert_k8s_refused(edit: impl Fn(String) -> String, reason: &str) {
    assert_refused(|base| k8s_edited(base, edit), reason).await;
}

/// [`assert_refused`] for a vault proof whose JSON document `edit` changes.
async fn assert_vault_refused(edit: impl Fn(&mut serde_json::Value), reason: &str) {
    assert_refused(|base| vault_edited(base, edit), reason).await;
}

/// [`assert_refused`] for a vault proof whose decoded headers object `edit` changes.
async fn assert_headers_refused(edit: impl Fn(&mut Headers), reason: &str) {
    assert_vault_refused(|d| edit_headers(d, &edit), reason).await;
}

// ---- refusals before the replay: k8s-aws-v1 ----------------------------------------------

#[tokio::test]
async fn aws_token_too_large() {
    assert_refused_by("max_token_bytes = 256", 0, k8s_token, "aws_token_too_large").await;
}

#[tokio::test]
async fn aws_encoding_not_allowed() {
    let vault_only = "encodings = [\"vault\"]";
    assert_refused_by(vault_only, 0, k8s_token, "aws_encoding_not_allowed").await;
}

#[tokio::test]
async fn aws_bad_encoding() {
    assert_refused(|_| "k8s-aws-v1.not*base64url".into(), "aws_bad_encoding").await;
    assert_refused(|_| "vault-aws-iam-v1.e30".into(), "aws_bad_encoding").await;
}

#[tokio::test]
async fn aws_bad_url() {
    assert_refused(|_| k8s_wrap("not a url"), "aws_bad_url").await;
    let with_user = |u: String| u.replacen("http://", "http://user@", 1);
    assert_k8s_refused(with_user, "aws_bad_url").await;
}

#[tokio::test]
async fn aws_insecure_url() {
    let plain_http = |base: &str| k8s_edited(base, |u| u.replace(base, "http://sts.amazonaws.com"));
    assert_refused(plain_http, "aws_insecure_url").await;
    // Without the [danger] switch, loopback http is refused too.
    let sts = standin().await;
    let text = format!(
        "[[issuers]]\nname = \"aws\"\nkind = \"aws\"\n[issuers.aws]\nserver_id = \"{SERVER_ID}\"\n\
         regions = [\"us-east-1\"]\naccounts = [\"{ACCOUNT}\"]\n\
         [[services]]\nname = \"zookeeper\"\nissuers = [\"aws\"]\n"
    );
    let strict = core_at(
        Arc::new(Config::from_toml_str(&text, "<t>").expect("config")),
        0,
    );
    refused_locally(&sts, &strict, &k8s_token(&sts.base), "aws_insecure_url").await;
}

#[tokio::test]
async fn aws_endpoint_not_allowed() {
    // Another region, and an attacker-chosen host that merely looks like STS.
    for host in [
        "https://sts.us-west-2.amazonaws.com",
        "https://sts.amazonaws.com.evil.example",
    ] {
        let moved = |base: &str| k8s_edited(base, |u| u.replace(base, host));
        assert_refused(moved, "aws_endpoint_not_allowed").await;
    }
}

#[tokio::test]
async fn aws_bad_path() {
    assert_k8s_refused(|u| u.replacen("/?", "/other/?", 1), "aws_bad_path").await;
}

#[tokio::test]
async fn aws_duplicate_parameter() {
    let again = |u: String| format!("{u}&Action=GetCallerIdentity");
    assert_k8s_refused(again, "aws_duplicate_parameter").await;
    // Repeated in another case: the CVE-2022-2385 shape.
    let other_case = |u: String| {
        format!("{u}&x-amz-credential=AKIAOTHER%2F20240101%2Fus-east-1%2Fsts%2Faws4_request")
    };
    assert_k8s_refused(other_case, "aws_duplicate_parameter").await;
}

#[tokio::test]
async fn aws_case_variant_parameter() {
    let lower = |u: String| u.replacen("Action=", "action=", 1);
    assert_k8s_refused(lower, "aws_case_variant_parameter").await;
}

#[tokio::test]
async fn aws_unknown_parameter() {
    assert_k8s_refused(|u| format!("{u}&User-Agent=x"), "aws_unknown_parameter").await;
}

#[tokio::test]
async fn aws_missing_parameter() {
    let unsigned = |u: String| {
        let (base, query) = u.split_once('?').expect("query");
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("X-Amz-Signature="))
            .collect();
        format!("{base}?{}", kept.join("&"))
    };
    assert_k8s_refused(unsigned, "aws_missing_parameter").await;
}

#[tokio::test]
async fn aws_bad_action() {
    let action = |u: String| set_param(&u, "Action", "GetSessionToken");
    assert_k8s_refused(action, "aws_bad_action").await;
}

#[tokio::test]
async fn aws_bad_algorithm() {
    let algorithm = |u: String| set_param(&u, "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256");
    assert_k8s_refused(algorithm, "aws_bad_algorithm").await;
}

#[tokio::test]
async fn aws_server_id_not_signed() {
    let host_only = |u: String| set_param(&u, "X-Amz-SignedHeaders", "host");
    assert_k8s_refused(host_only, "aws_server_id_not_signed").await;
}

#[tokio::test]
async fn aws_bad_expires() {
    for value in ["901", "-1", "sixty"] {
        let expires = |u: String| set_param(&u, "X-Amz-Expires", value);
        assert_k8s_refused(expires, "aws_bad_expires").await;
    }
    // The whole 0..=900 range is accepted (STS ignores the value for GetCallerIdentity).
    let sts = standin().await;
    let core = core_at(server(&sts.base, "", ""), 0);
    let token = k8s_edited(&sts.base, |u| set_param(&u, "X-Amz-Expires", "900"));
    assert_eq!(
        refused(&core, &token).await,
        "aws_sts_refused",
        "passes the local rules, then STS checks the signature"
    );
}

#[tokio::test]
async fn aws_bad_date() {
    let dashed = |u: String| set_param(&u, "X-Amz-Date", "2024-01-01T00%3A00%3A00Z");
    assert_k8s_refused(dashed, "aws_bad_date").await;
}

#[tokio::test]
async fn aws_stale_date() {
    // The validator's clock runs 15 minutes and a leeway (30 s) plus one second ahead.
    assert_refused_by("", 900 + 31, k8s_token, "aws_stale_date").await;
}

#[tokio::test]
async fn aws_future_date() {
    // The validator's clock runs behind the signer by more than the leeway.
    assert_refused_by("", -60, k8s_token, "aws_future_date").await;
}

// ---- refusals before the replay: vault ---------------------------------------------------

#[tokio::test]
async fn aws_bad_method() {
    let get = |d: &mut serde_json::Value| d["iam_http_request_method"] = "GET".into();
    assert_vault_refused(get, "aws_bad_method").await;
}

#[tokio::test]
async fn aws_query_not_allowed() {
    let with_query = |base: &str| {
        vault_edited(base, |d| {
            d["iam_request_url"] = b64(&format!("{base}/?Action=GetCallerIdentity")).into()
        })
    };
    assert_refused(with_query, "aws_query_not_allowed").await;
}

#[tokio::test]
async fn aws_body_not_allowed() {
    let body = |text: &'static str| {
        move |d: &mut serde_json::Value| d["iam_request_body"] = b64(text).into()
    };
    assert_vault_refused(
        body("Action=GetCallerIdentity&Version=2011-06-15&RoleArn=arn:aws:iam::1:role/x"),
        "aws_body_not_allowed",
    )
    .await;
    assert_vault_refused(
        body("Action=AssumeRole&Version=2011-06-15"),
        "aws_bad_action",
    )
    .await;
}

#[tokio::test]
async fn aws_duplicate_header() {
    let lower_date = |h: &mut Headers| {
        h.insert("x-amz-date".into(), serde_json::json!(["20240101T000000Z"]));
    };
    assert_headers_refused(lower_date, "aws_duplicate_header").await;
}

#[tokio::test]
async fn aws_header_not_allowed() {
    let target = |h: &mut Headers| {
        h.insert(
            "X-Amz-Target".into(),
            serde_json::json!(["AWSSecurityTokenServiceV20110615.AssumeRole"]),
        );
    };
    assert_headers_refused(target, "aws_header_not_allowed").await;
}

#[tokio::test]
async fn aws_bad_authorization() {
    let bearer = |h: &mut Headers| {
        h.insert("Authorization".into(), serde_json::json!(["Bearer x"]));
    };
    assert_headers_refused(bearer, "aws_bad_authorization").await;
}

#[tokio::test]
async fn aws_server_id_missing() {
    let without = |h: &mut Headers| {
        h.remove("X-Vault-AWS-IAM-Server-ID");
    };
    assert_headers_refused(without, "aws_server_id_missing").await;
}

#[tokio::test]
async fn aws_server_id_mismatch() {
    let other = |base: &str| {
        signed_post(
            &creds(),
            "us-east-1",
            base,
            "other-server",
            SystemTime::now(),
        )
        .expect("sign")
    };
    assert_refused(other, "aws_server_id_mismatch").await;
}

#[tokio::test]
async fn aws_server_id_not_signed_in_a_vault_proof() {
    let unsigned = |h: &mut Headers| {
        let auth = h["Authorization"][0].as_str().expect("auth").to_string();
        let unsigned = auth.replace(";x-vault-aws-iam-server-id", "");
        h.insert("Authorization".into(), serde_json::json!([unsigned]));
    };
    assert_headers_refused(unsigned, "aws_server_id_not_signed").await;
}

// ---- configuration -----------------------------------------------------------------------

#[test]
fn an_aws_issuer_without_policy_or_server_id_is_a_configuration_error() {
    let base =
        "[[issuers]]\nname = \"aws\"\nkind = \"aws\"\n[issuers.aws]\nregions = [\"us-east-1\"]\n";
    let err = Config::from_toml_str(
        &format!("{base}server_id = \"zk\"\n[[services]]\nname = \"zk\"\nissuers = [\"aws\"]\n"),
        "<t>",
    )
    .expect_err("no policy");
    assert!(
        err.to_string()
            .contains("issuers[0].aws.accounts: no policy"),
        "{err}"
    );
    let err = Config::from_toml_str(&format!("{base}accounts = [\"{ACCOUNT}\"]\n"), "<t>")
        .expect_err("no server id");
    assert!(
        err.to_string().contains("missing field `server_id`"),
        "{err}"
    );
    let err = Config::from_toml_str(
        &format!("{base}server_id = \"zk\"\naccounts = [\"{ACCOUNT}\"]\nendpoints = [\"http://127.0.0.1:9\"]\n"),
        "<t>",
    )
    .expect_err("http without danger");
    assert!(err.to_string().contains("allow_http_sts_loopback"), "{err}");
    let ok = Config::from_toml_str(
        &format!("{base}server_id = \"zk\"\naccounts = [\"{ACCOUNT}\"]\nfips = true\nglobal_endpoint = true\n"),
        "<t>",
    )
    .expect("valid");
    let hosts: Vec<String> = ok.issuers[0]
        .aws
        .as_ref()
        .expect("aws")
        .allowed_endpoints()
        .iter()
        .map(|u| u.host_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        hosts,
        [
            "sts.us-east-1.amazonaws.com",
            "sts-fips.us-east-1.amazonaws.com",
            "sts.amazonaws.com"
        ]
    );
}

// ---- moto: AssumeRole, AssumeRoleWithWebIdentity, signed POST ----------------------------

/// Runs `saslgate token` for an aws identity with `env`, returning the token.
fn saslgate_token(config: &str, identity: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("client.toml");
    std::fs::write(&path, config).expect("write config");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_saslgate"));
    cmd.args(["token", "--config"])
        .arg(&path)
        .args(["--identity", identity])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run saslgate token");
    assert!(
        out.status.success(),
        "saslgate token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn client_config(moto: &str, aws_extra: &str) -> String {
    format!(
        "[danger]\nallow_http_sts_loopback = true\n[log]\nfilter = \"warn\"\n\
         [[identities]]\nname = \"zk-client\"\nkind = \"aws\"\n\
         [identities.aws]\nserver_id = \"{SERVER_ID}\"\nregion = \"us-east-1\"\n\
         sts_endpoint = \"{moto}\"\n{aws_extra}\n"
    )
}

const BASE_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAMOTOBASE00000001"),
    ("AWS_SECRET_ACCESS_KEY", "moto-base-secret"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_then_a_vault_proof_validates_with_moto() {
    let Some(moto) = moto::Moto::start().await else {
        return;
    };
    let config = client_config(
        &moto.base,
        "encoding = \"vault\"\nassume_role_arn = \"arn:aws:iam::123456789012:role/svc/zk-client\"\nrole_session_name = \"host-7\"",
    );
    let token = saslgate_token(&config, "zk-client", BASE_ENV);
    assert!(token.starts_with("vault-aws-iam-v1."), "{token}");
    let core = core_at(server(&moto.base, "", ""), 0);
    let v = accepted(&core, &token).await;
    // The role's path (/svc/) is not in the assumed-role ARN: it is lost.
    assert_eq!(
        v.principal.authzid,
        "arn:aws:iam::123456789012:role/zk-client"
    );
    assert_eq!(v.claims["session_name"], "host-7");
    assert_eq!(
        v.claims["caller_arn"],
        "arn:aws:sts::123456789012:assumed-role/zk-client/host-7"
    );
    assert_eq!(v.claims["encoding"], "vault");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_with_web_identity_then_a_vault_proof_validates_with_moto() {
    let Some(moto) = moto::Moto::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    // moto does not verify web identity tokens (research §1.5); the file only has to exist.
    std::fs::write(&token_file, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ6ayJ9.\n").expect("write");
    let config = client_config(
        &moto.base,
        &format!(
            "encoding = \"vault\"\nassume_role_arn = \"arn:aws:iam::123456789012:role/zk-web\"\n\
             role_session_name = \"pod-1\"\nweb_identity_token_file = {:?}",
            token_file.display().to_string()
        ),
    );
    // No base credentials at all: the web identity call is unsigned.
    let token = saslgate_token(&config, "zk-client", &[]);
    let core = core_at(server(&moto.base, "", ""), 0);
    let v = accepted(&core, &token).await;
    assert_eq!(v.principal.authzid, "arn:aws:iam::123456789012:role/zk-web");
    assert_eq!(v.claims["session_name"], "pod-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_bad_arn_for_motos_fixed_unknown_key_identity() {
    let Some(moto) = moto::Moto::start().await else {
        return;
    };
    // moto answers an unknown access key with arn:aws:sts::123456789012:user/moto, which is no
    // real ARN shape.
    let token = signed_post(
        &creds(),
        "us-east-1",
        &moto.base,
        SERVER_ID,
        SystemTime::now(),
    )
    .expect("sign");
    let core = core_at(server(&moto.base, "", ""), 0);
    assert_eq!(refused(&core, &token).await, "aws_bad_arn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_bad_response_when_the_endpoint_answers_another_api() {
    let Some(moto) = moto::Moto::start().await else {
        return;
    };
    // moto routes a presigned GET to its S3 backend: a ListAllMyBuckets answer, the shape of
    // CVE-2020-16250 (another API's answer read as a caller identity).
    let core = core_at(server(&moto.base, "", ""), 0);
    assert_eq!(
        refused(&core, &k8s_token(&moto.base)).await,
        "aws_bad_response"
    );
}

// ---- interop: the real AWS CLI ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_aws_eks_get_token_validates() {
    let Some(venv) = moto::venv_or_skip() else {
        return;
    };
    let sts = standin().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tokio::process::Command::new(venv.join("bin/aws"))
        .args([
            "eks",
            "get-token",
            "--cluster-name",
            SERVER_ID,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", AKID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL_STS", &sts.base)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .output()
        .await
        .expect("run aws eks get-token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let token = json["status"]["token"].as_str().expect("status.token");
    assert!(
        k8s_url(token).starts_with(&format!("{}/?Action=GetCallerIdentity", sts.base)),
        "the CLI honoured AWS_ENDPOINT_URL_STS: {}",
        k8s_url(token)
    );
    let core = core_at(server(&sts.base, "", ""), 0);
    let v = accepted(&core, token).await;
    assert_eq!(v.principal.authzid, ROLE_ARN);
    assert_eq!(sts.hits(), 1);
}

#[test]
fn the_aws_example_configurations_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/aws");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("read");
    let server = Config::from_toml_str(&read("server.toml"), "server.toml").expect("server");
    let aws = server.issuers[0].aws.as_ref().expect("aws issuer");
    assert_eq!(aws.server_id, "zookeeper.prod.example.com");
    assert_eq!(
        aws.allowed_endpoints()
            .iter()
            .map(|u| u.as_str().to_string())
            .collect::<Vec<_>>(),
        [
            "https://sts.eu-west-1.amazonaws.com/",
            "https://sts.us-east-1.amazonaws.com/"
        ]
    );
    let client = Config::from_toml_str(&read("client.toml"), "client.toml").expect("client");
    let id = client.identities[0].aws.as_ref().expect("aws identity");
    assert_eq!(id.server_id, aws.server_id);
}

#[test]
fn saslgate_validate_prints_the_aws_refusal_reason_and_the_failed_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[[issuers]]\nname = \"aws\"\nkind = \"aws\"\n[issuers.aws]\nserver_id = \"{SERVER_ID}\"\n\
             regions = [\"us-east-1\"]\naccounts = [\"{ACCOUNT}\"]\n\
             [[services]]\nname = \"zookeeper\"\nissuers = [\"aws\"]\n"
        ),
    )
    .expect("write");
    let token = k8s_wrap(
        "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&ACTION=GetCallerIdentity",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saslgate"))
        .args(["validate", "--service", "zookeeper", "--config"])
        .arg(&config)
        .arg("--token")
        .arg(&token)
        .output()
        .expect("run saslgate validate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("reason: aws_duplicate_parameter"),
        "{stdout}"
    );
    assert!(
        stdout.contains("aws proof         FAILED: aws_duplicate_parameter"),
        "{stdout}"
    );
    assert!(stdout.contains("signature         n/a"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauthbearer_exchange_with_an_aws_proof_yields_the_role_arn() {
    let sts = standin().await;
    let core = core_at(server(&sts.base, "", ""), 0);
    let token = secrecy::SecretString::from(k8s_token(&sts.base));
    let initial = saslgate::ClientSession::new(
        token,
        None,
        Some("zk1.example.com".into()),
        Some(2181),
        Vec::new(),
    )
    .initial_response()
    .expect("initial response");
    let mut server =
        saslgate::ServerSession::new(core, "zookeeper", "zk1.example.com").expect("session");
    server.step(&initial).await.expect("step");
    assert!(server.is_complete());
    assert_eq!(server.authorization_id(), Some(ROLE_ARN));
}

#[tokio::test]
async fn an_aws_issuer_is_ready_at_start_without_any_request() {
    let sts = standin().await;
    let core = core_at(server(&sts.base, "", ""), 0);
    let results = core.start().await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, "aws");
    assert!(results[0].1.is_ok());
    assert_eq!(sts.hits(), 0, "nothing is fetched for an AWS issuer");
}
