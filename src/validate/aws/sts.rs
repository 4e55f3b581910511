//! The replay to STS and the strict parsing of its `GetCallerIdentity` answer.
//!
//! XML (the default, what Vault parses) must come with an XML content type and hold exactly one
//! `GetCallerIdentityResponse/GetCallerIdentityResult` with one non-empty `Arn`, `Account` and
//! `UserId` (CVE-2020-16250: a lenient decoder read a GetCallerIdentity result out of another
//! API's reflected answer). JSON (asked with `Accept: application/json`, what
//! aws-iam-authenticator parses) must be `application/json` of the same shape.

use super::proof::{Checked, ReplayMethod};
use super::{AwsReason, AwsRejection};
use crate::config::AwsResponseFormat;
use crate::http::{HttpClient, HttpError};
use crate::validate::{clip, ValidateError};
use quick_xml::events::Event;
use std::time::Duration;

/// The caller identity STS reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `Arn`: `arn:aws:sts::123456789012:assumed-role/zk-client/host-1`.
    pub arn: String,
    /// `Account`: 12 digits.
    pub account: String,
    /// `UserId`: `AROA…:<session>` for roles, `AIDA…` for users.
    pub user_id: String,
}

/// Largest STS answer read, bytes: a GetCallerIdentity answer is well under 1 KiB.
const MAX_STS_RESPONSE: usize = 16 * 1024;

fn reject(reason: AwsReason, detail: impl Into<String>) -> ValidateError {
    ValidateError::Rejected(crate::validate::Rejection::Aws(AwsRejection {
        reason,
        detail: detail.into(),
    }))
}

/// Replays `proof` to its configured endpoint and parses the answer.
///
/// # Errors
/// `aws_sts_refused` when STS refuses the signature or credentials (4xx other than
/// throttling), `aws_bad_response` when the answer is not a well-formed GetCallerIdentity
/// result; [`ValidateError::Internal`] when STS cannot be reached, throttles or fails (5xx).
pub(crate) async fn replay(
    http: &HttpClient,
    proof: &Checked,
    format: AwsResponseFormat,
    timeout_secs: u64,
) -> Result<CallerIdentity, ValidateError> {
    let client = http.inner();
    let mut req = match proof.method {
        ReplayMethod::Get => client.get(proof.url.clone()),
        ReplayMethod::Post => client
            .post(proof.url.clone())
            .body(proof.body.clone().unwrap_or_default()),
    };
    for (k, v) in &proof.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if format == AwsResponseFormat::Json {
        req = req.header(reqwest::header::ACCEPT, "application/json");
    }
    req = req.timeout(Duration::from_secs(timeout_secs));
    let response = match http.send_limited(&proof.url, req, MAX_STS_RESPONSE).await {
        Ok(r) => r,
        Err(HttpError::Status { status, body, .. }) => {
            let code = error_code(&body);
            if status >= 500 || code.contains("Throttling") || status == 429 {
                return Err(ValidateError::Internal(format!(
                    "STS {} answered HTTP {status} {code}",
                    crate::http::redact(&proof.endpoint)
                )));
            }
            return Err(reject(
                AwsReason::StsRefused,
                format!("STS answered HTTP {status} {}", clip(&code)),
            ));
        }
        Err(HttpError::TooLarge { limit, .. }) => {
            return Err(reject(
                AwsReason::BadResponse,
                format!("the answer is larger than {limit} bytes"),
            ))
        }
        Err(e) => return Err(ValidateError::Internal(e.to_string())),
    };
    let content_type = response
        .content_type
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    parse(format, &content_type, &response.body)
        .map_err(|detail| reject(AwsReason::BadResponse, detail))
}

/// The `<Code>` (XML) or `"Code"` (JSON) of an STS error body, or empty.
fn error_code(body: &str) -> String {
    if let Some(start) = body.find("<Code>") {
        let rest = &body[start + 6..];
        if let Some(end) = rest.find("</Code>") {
            return rest[..end].to_string();
        }
    }
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/Error/Code")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Parses an STS answer of `content_type` (lower case, without parameters) in `format`.
///
/// # Errors
/// What is wrong with it, for `aws_bad_response`.
pub(crate) fn parse(
    format: AwsResponseFormat,
    content_type: &str,
    body: &[u8],
) -> Result<CallerIdentity, String> {
    match format {
        AwsResponseFormat::Xml => {
            if content_type != "text/xml" && content_type != "application/xml" {
                return Err(format!(
                    "content type {:?}, expected text/xml",
                    clip(content_type)
                ));
            }
            parse_xml(body)
        }
        AwsResponseFormat::Json => {
            if content_type != "application/json" {
                return Err(format!(
                    "content type {:?}, expected application/json",
                    clip(content_type)
                ));
            }
            parse_json(body)
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEnvelope {
    #[serde(rename = "GetCallerIdentityResponse")]
    response: JsonResponse,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonResponse {
    #[serde(rename = "GetCallerIdentityResult")]
    result: JsonResult,
    #[serde(rename = "ResponseMetadata", default)]
    _metadata: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonResult {
    #[serde(rename = "Arn")]
    arn: String,
    #[serde(rename = "Account")]
    account: String,
    #[serde(rename = "UserId")]
    user_id: String,
}

fn parse_json(body: &[u8]) -> Result<CallerIdentity, String> {
    let env: JsonEnvelope = serde_json::from_slice(body)
        .map_err(|e| format!("not a GetCallerIdentity JSON answer: {e}"))?;
    finish(
        Some(env.response.result.arn),
        Some(env.response.result.account),
        Some(env.response.result.user_id),
    )
}

fn finish(
    arn: Option<String>,
    account: Option<String>,
    user_id: Option<String>,
) -> Result<CallerIdentity, String> {
    let nonempty = |v: Option<String>, name: &str| {
        v.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("{name} is missing or empty"))
    };
    Ok(CallerIdentity {
        arn: nonempty(arn, "Arn")?,
        account: nonempty(account, "Account")?,
        user_id: nonempty(user_id, "UserId")?,
    })
}

/// Strict XML: root `GetCallerIdentityResponse`, exactly one `GetCallerIdentityResult` holding
/// exactly one text-only `Arn`, `Account`, `UserId` each (other children refused), optional
/// `ResponseMetadata`; no DTD, nothing after the root.
fn parse_xml(body: &[u8]) -> Result<CallerIdentity, String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut results = 0;
    let mut root_seen = false;
    let (mut arn, mut account, mut user_id) = (None, None, None);
    let mut text: Option<String> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not well-formed XML: {e}"))?;
        match event {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::DocType(_) | Event::PI(_) => {
                return Err("DTDs and processing instructions are refused".into())
            }
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match (path.len(), name.as_str()) {
                    (0, "GetCallerIdentityResponse") if !root_seen => root_seen = true,
                    (0, other) => {
                        return Err(format!(
                            "root element {:?} is not GetCallerIdentityResponse",
                            clip(other)
                        ))
                    }
                    (1, "GetCallerIdentityResult") => {
                        results += 1;
                        if results > 1 {
                            return Err("more than one GetCallerIdentityResult".into());
                        }
                    }
                    (1, "ResponseMetadata") => {}
                    (1, other) => return Err(format!("unexpected element {:?}", clip(other))),
                    (2, "Arn" | "Account" | "UserId")
                        if path.get(1).map(String::as_str) == Some("GetCallerIdentityResult") =>
                    {
                        text = Some(String::new());
                    }
                    (2, other)
                        if path.get(1).map(String::as_str) == Some("GetCallerIdentityResult") =>
                    {
                        return Err(format!(
                            "unexpected element {:?} in the result",
                            clip(other)
                        ))
                    }
                    (n, _)
                        if n >= 2
                            && path.get(1).map(String::as_str) == Some("ResponseMetadata") => {}
                    (_, other) => return Err(format!("unexpected element {:?}", clip(other))),
                }
                path.push(name);
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.get(1).map(String::as_str) != Some("ResponseMetadata") {
                    return Err(format!("empty element {:?}", clip(&name)));
                }
            }
            Event::Text(t) => {
                let decoded = t.decode().map_err(|e| format!("bad text: {e}"))?;
                let unescaped =
                    quick_xml::escape::unescape(&decoded).map_err(|e| format!("bad text: {e}"))?;
                match text.as_mut() {
                    Some(s) => s.push_str(&unescaped),
                    None if path.get(1).map(String::as_str) == Some("ResponseMetadata") => {}
                    None if unescaped.trim().is_empty() => {}
                    None => return Err("text outside the result fields".into()),
                }
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                let ch = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => return Err(format!("unknown entity &{};", clip(&name))),
                };
                match text.as_mut() {
                    Some(s) => s.push_str(ch),
                    None if path.get(1).map(String::as_str) == Some("ResponseMetadata") => {}
                    None => return Err("text outside the result fields".into()),
                }
            }
            Event::CData(_) => return Err("CDATA is refused".into()),
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if path.len() == 2 && path[1] == "GetCallerIdentityResult" {
                    let value = text.take().unwrap_or_default();
                    let slot = match name.as_str() {
                        "Arn" => &mut arn,
                        "Account" => &mut account,
                        _ => &mut user_id,
                    };
                    if slot.is_some() {
                        return Err(format!("{name} appears more than once"));
                    }
                    *slot = Some(value);
                }
            }
            Event::Eof => break,
        }
        buf.clear();
    }
    if !root_seen {
        return Err("no GetCallerIdentityResponse".into());
    }
    if results != 1 {
        return Err("no GetCallerIdentityResult".into());
    }
    finish(arn, account, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <UserId>AROAEXAMPLE:host-2</UserId>
    <Account>123456789012</Account>
    <Arn>arn:aws:sts::123456789012:assumed-role/zk-client/host-2</Arn>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

    #[test]
    fn parses_the_xml_answer() {
        let id = parse(AwsResponseFormat::Xml, "text/xml", XML.as_bytes()).expect("parses");
        assert_eq!(
            id.arn,
            "arn:aws:sts::123456789012:assumed-role/zk-client/host-2"
        );
        assert_eq!(id.account, "123456789012");
        assert_eq!(id.user_id, "AROAEXAMPLE:host-2");
    }

    #[test]
    fn refuses_xml_with_the_wrong_content_type() {
        let err =
            parse(AwsResponseFormat::Xml, "application/json", XML.as_bytes()).expect_err("refused");
        assert!(err.contains("expected text/xml"), "{err}");
    }

    #[test]
    fn refuses_two_results_a_foreign_root_and_empty_fields() {
        let two = XML.replace(
            "</GetCallerIdentityResult>",
            "</GetCallerIdentityResult><GetCallerIdentityResult><Arn>x</Arn><Account>1</Account><UserId>u</UserId></GetCallerIdentityResult>",
        );
        assert_eq!(
            parse(AwsResponseFormat::Xml, "text/xml", two.as_bytes()).expect_err("two"),
            "more than one GetCallerIdentityResult"
        );
        let foreign =
            "<ListAllMyBucketsResult><Arn>arn:aws:iam::1:role/x</Arn></ListAllMyBucketsResult>";
        assert!(
            parse(AwsResponseFormat::Xml, "text/xml", foreign.as_bytes())
                .expect_err("foreign")
                .contains("root element")
        );
        let empty = XML.replace("123456789012</Account>", "</Account>");
        assert_eq!(
            parse(AwsResponseFormat::Xml, "text/xml", empty.as_bytes()).expect_err("empty"),
            "Account is missing or empty"
        );
        let dup = XML.replace("<Account>", "<Account>1</Account><Account>");
        assert_eq!(
            parse(AwsResponseFormat::Xml, "text/xml", dup.as_bytes()).expect_err("dup"),
            "Account appears more than once"
        );
        let dtd = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{XML}");
        assert!(parse(AwsResponseFormat::Xml, "text/xml", dtd.as_bytes()).is_err());
    }

    #[test]
    fn parses_the_json_answer_strictly() {
        let json = r#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/alice","UserId":"AIDAEXAMPLE"},"ResponseMetadata":{"RequestId":"r"}}}"#;
        let id =
            parse(AwsResponseFormat::Json, "application/json", json.as_bytes()).expect("parses");
        assert_eq!(id.arn, "arn:aws:iam::123456789012:user/alice");
        let extra = json.replace("\"UserId\"", "\"Extra\":\"x\",\"UserId\"");
        assert!(parse(
            AwsResponseFormat::Json,
            "application/json",
            extra.as_bytes()
        )
        .is_err());
        let dup = json.replace("\"UserId\"", "\"Arn\":\"arn:aws:iam::1:root\",\"UserId\"");
        assert!(parse(AwsResponseFormat::Json, "application/json", dup.as_bytes()).is_err());
    }
}
