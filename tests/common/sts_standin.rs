//! A STAND-IN for AWS STS `GetCallerIdentity` over query-presigned GET requests, on 127.0.0.1.
//!
//! Why a stand-in: no real STS is reachable from the tests, and moto (the emulator the other
//! AWS tests use) cannot identify the signer of a presigned GET: it routes such a request to
//! its S3 backend, and even its STS-only app answers a fixed identity because it reads the
//! access key from the `Authorization` header only (research/cloud-iam.md §1.5). This server
//! does what STS does for that one request: it looks up the secret of the access key in
//! `X-Amz-Credential`, recomputes the SigV4 query signature of the request it received with the
//! `aws-sigv4` crate (no hand-written crypto) at the signed `X-Amz-Date`, over the signed
//! headers as received, compares it with `X-Amz-Signature`, refuses proofs older than 15 minutes,
//! and answers the key's configured identity in XML (`text/xml`, the default) or JSON (with
//! `Accept: application/json`), in STS's shapes (research §1.4). Anything else gets STS-style
//! error answers (`InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`).
#![allow(dead_code)]

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// One access key the stand-in knows: its secret and the identity STS reports for it.
#[derive(Clone, Debug)]
pub struct Key {
    pub secret: String,
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

#[derive(Default)]
struct State {
    keys: Mutex<HashMap<String, Key>>,
    hits: AtomicUsize,
}

/// The running stand-in; stops when dropped.
pub struct StsStandIn {
    pub base: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StsStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StsStandIn {
    /// Starts on 127.0.0.1 on a port from the OS.
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the STS stand-in");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, state, task }
    }

    /// Registers an access key.
    pub fn add_key(&self, access_key_id: &str, key: Key) {
        self.state
            .keys
            .lock()
            .expect("keys")
            .insert(access_key_id.to_string(), key);
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }
}

fn error(status: StatusCode, code: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error><RequestId>standin</RequestId></ErrorResponse>"
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

fn parse_amz_date(v: &str) -> Option<SystemTime> {
    // yyyymmddThhmmssZ, through httpdate to avoid a date library: build an IMF-fixdate.
    if v.len() != 16 {
        return None;
    }
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = v.get(4..6)?.parse().ok()?;
    let imf = format!(
        "Mon, {} {} {} {}:{}:{} GMT",
        v.get(6..8)?,
        months.get(month.checked_sub(1)?)?,
        v.get(0..4)?,
        v.get(9..11)?,
        v.get(11..13)?,
        v.get(13..15)?
    );
    // httpdate checks the weekday; try all seven.
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .find_map(|d| httpdate::parse_http_date(&imf.replacen("Mon", d, 1)).ok())
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    if method != axum::http::Method::GET {
        return error(StatusCode::BAD_REQUEST, "InvalidAction");
    }
    let query = uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if get("Action") != Some("GetCallerIdentity") {
        return error(StatusCode::BAD_REQUEST, "InvalidAction");
    }
    let (Some(credential), Some(date), Some(signed), Some(signature)) = (
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
    ) else {
        return error(StatusCode::FORBIDDEN, "MissingAuthenticationToken");
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [akid, _day, region, service, "aws4_request"] = scope.as_slice() else {
        return error(StatusCode::FORBIDDEN, "IncompleteSignature");
    };
    let Some(key) = state.keys.lock().expect("keys").get(*akid).cloned() else {
        return error(StatusCode::FORBIDDEN, "InvalidClientTokenId");
    };
    let Some(signed_at) = parse_amz_date(date) else {
        return error(StatusCode::FORBIDDEN, "IncompleteSignature");
    };
    if SystemTime::now() > signed_at + Duration::from_secs(900) {
        return error(StatusCode::FORBIDDEN, "ExpiredToken");
    }
    let expires: u64 = get("X-Amz-Expires")
        .and_then(|e| e.parse().ok())
        .unwrap_or(60);
    // The request as the client signed it: the query without the signature parameters, and
    // the signed headers with the values received.
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let unsigned: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !k.starts_with("X-Amz-"))
        .cloned()
        .collect();
    let unsigned_query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(unsigned.iter())
        .finish();
    let url = format!("http://{host}/?{unsigned_query}");
    let mut signed_headers: Vec<(String, String)> = Vec::new();
    for name in signed.split(';').filter(|h| *h != "host") {
        let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) else {
            return error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
        };
        signed_headers.push((name.to_string(), v.to_string()));
    }
    let creds = Credentials::new(
        *akid,
        key.secret.clone(),
        get("X-Amz-Security-Token").map(str::to_string),
        None,
        "sts-standin",
    );
    let identity = creds.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let Ok(params) = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(signed_at)
        .settings(settings)
        .build()
    else {
        return error(StatusCode::FORBIDDEN, "IncompleteSignature");
    };
    let params = params.into();
    let Ok(signable) = SignableRequest::new(
        "GET",
        &url,
        signed_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&[]),
    ) else {
        return error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    };
    let Ok(output) = sign(signable, &params) else {
        return error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    };
    if output.signature() != signature {
        return error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    }
    let json = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if json {
        let body = serde_json::json!({"GetCallerIdentityResponse": {
            "GetCallerIdentityResult": {"Account": key.account, "Arn": key.arn, "UserId": key.user_id},
            "ResponseMetadata": {"RequestId": "standin"}}});
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response()
    } else {
        let body = format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>standin</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
            key.arn, key.user_id, key.account
        );
        (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
    }
}
