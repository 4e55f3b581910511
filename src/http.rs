//! Outbound HTTP to identity providers: one `reqwest` client (rustls with aws-lc-rs), no
//! redirects, bounded response sizes and timeouts, and the URL policy of DESIGN §9 (https, or
//! http on loopback only unless `[danger] allow_http_issuers`).

use crate::config::{is_loopback_host, Config};
use std::time::Duration;
use url::Url;

/// Why an outbound request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not allowed by policy (scheme, or http off loopback).
    #[error("refusing to call {url}: {reason}")]
    Forbidden {
        /// The URL (without query).
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// Connection, TLS or timeout failure.
    #[error("request to {url} failed: {}", cause_chain(source))]
    Transport {
        /// The URL (without query).
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a status other than 2xx.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL (without query).
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the body (at most 512 bytes, lossy UTF-8) for diagnostics.
        body: String,
    },
    /// The response body was larger than `limits.max_response_bytes`.
    #[error("{url} sent more than {limit} bytes")]
    TooLarge {
        /// The URL (without query).
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The response body is not the JSON expected.
    #[error("{url} sent a body that is not the expected JSON: {message}")]
    Json {
        /// The URL (without query).
        url: String,
        /// The parse error.
        message: String,
    },
}

/// A response body with the headers saslgate uses.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code (always 2xx when returned by [`HttpClient::send`]).
    pub status: u16,
    /// `Cache-Control: max-age` in seconds, when present.
    pub max_age_secs: Option<u64>,
    /// `Date` header parsed as seconds since the Unix epoch, when present (for clock skew).
    pub date_unix_secs: Option<u64>,
    /// The `Content-Type` header as sent, when present and ASCII.
    pub content_type: Option<String>,
    /// The body bytes (at most `limits.max_response_bytes`).
    pub body: Vec<u8>,
}

impl Response {
    /// Parses the body as JSON into `T`.
    ///
    /// # Errors
    /// [`HttpError::Json`] naming `url` when the body does not parse.
    pub fn json<T: serde::de::DeserializeOwned>(&self, url: &Url) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Json {
            url: redact(url),
            message: e.to_string(),
        })
    }
}

/// The shared outbound client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    max_response_bytes: usize,
    allow_http: bool,
}

impl HttpClient {
    /// Builds the client from `[limits]` (timeout, response size) and `[danger]`.
    ///
    /// # Errors
    /// [`HttpError::Transport`] if the TLS stack cannot be initialised.
    pub fn new(config: &Config) -> Result<Self, HttpError> {
        let timeout = Duration::from_secs(config.limits.http_timeout_secs);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("saslgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| HttpError::Transport {
                url: "<client>".into(),
                source,
            })?;
        Ok(Self {
            client,
            max_response_bytes: config.limits.max_response_bytes,
            allow_http: config.danger.allow_http_issuers,
        })
    }

    /// Checks `url` against the outbound policy.
    ///
    /// # Errors
    /// [`HttpError::Forbidden`] for a scheme other than https/http, or http off loopback.
    pub fn check_url(&self, url: &Url) -> Result<(), HttpError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_http || is_loopback_host(url) => Ok(()),
            "http" => Err(HttpError::Forbidden {
                url: redact(url),
                reason: "http is allowed on loopback only",
            }),
            _ => Err(HttpError::Forbidden {
                url: redact(url),
                reason: "only https URLs are fetched",
            }),
        }
    }

    /// `GET url` with `Accept: application/json`.
    ///
    /// # Errors
    /// See [`HttpClient::send`].
    pub async fn get(&self, url: &Url) -> Result<Response, HttpError> {
        self.check_url(url)?;
        let req = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        self.send(url, req).await
    }

    /// `POST url` with a form body and optional HTTP Basic credentials (already
    /// form-urlencoded by the caller per RFC 6749 §2.3.1).
    ///
    /// # Errors
    /// See [`HttpClient::send`].
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Response, HttpError> {
        self.check_url(url)?;
        let mut req = self
            .client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((user, pass)) = basic {
            req = req.basic_auth(user, Some(pass));
        }
        self.send(url, req).await
    }

    /// The underlying `reqwest` client, for adapters such as `openidconnect`'s HTTP trait. Callers
    /// must run [`HttpClient::check_url`] first.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// The response size limit in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// Sends `req`, reads at most `max_response_bytes`, and requires a 2xx status.
    ///
    /// # Errors
    /// [`HttpError::Transport`], [`HttpError::TooLarge`], [`HttpError::Status`].
    pub async fn send(
        &self,
        url: &Url,
        req: reqwest::RequestBuilder,
    ) -> Result<Response, HttpError> {
        self.send_limited(url, req, self.max_response_bytes).await
    }

    /// As [`HttpClient::send`], reading at most `limit` bytes (itself at most
    /// `limits.max_response_bytes`).
    ///
    /// # Errors
    /// As [`HttpClient::send`].
    pub async fn send_limited(
        &self,
        url: &Url,
        req: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Response, HttpError> {
        let limit = limit.min(self.max_response_bytes);
        let shown = redact(url);
        let mut resp = req.send().await.map_err(|source| HttpError::Transport {
            url: shown.clone(),
            source,
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(len) = resp.content_length() {
            if len > limit as u64 {
                return Err(HttpError::TooLarge { url: shown, limit });
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|source| HttpError::Transport {
            url: shown.clone(),
            source,
        })? {
            if body.len() + chunk.len() > limit {
                return Err(HttpError::TooLarge { url: shown, limit });
            }
            body.extend_from_slice(&chunk);
        }
        if !(200..300).contains(&status) {
            let end = body.len().min(512);
            return Err(HttpError::Status {
                url: shown,
                status,
                body: String::from_utf8_lossy(&body[..end]).into_owned(),
            });
        }
        Ok(Response {
            status,
            max_age_secs: headers
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_max_age),
            date_unix_secs: headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(httpdate_to_unix),
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body,
        })
    }
}

/// A transport error with its causes ("timed out", "connection refused", the TLS alert…):
/// reqwest's own message alone ("error sending request") hides them.
fn cause_chain(error: &reqwest::Error) -> String {
    let text = if error.is_timeout() {
        "timed out".to_string()
    } else {
        error.to_string()
    };
    append_causes(text, std::error::Error::source(error))
}

/// `text` followed by the message of `source` and of each of its own sources, each after
/// `": "`, skipping a message `text` already contains (wrappers often repeat their cause).
pub(crate) fn append_causes(
    mut text: String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// The URL without its query string and fragment (queries can carry secrets).
pub(crate) fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    u.to_string()
}

/// `max-age=N` from a Cache-Control value; `no-store`/`no-cache` give `Some(0)`.
pub(crate) fn parse_max_age(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return Some(0);
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse().ok();
        }
    }
    max_age
}

/// Parses an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds.
pub(crate) fn httpdate_to_unix(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_the_cause_of_a_refused_connection() {
        let text =
            "[[issuers]]\nname = \"kc\"\nissuer = \"http://127.0.0.1:1/r\"\naudiences = [\"a\"]\n\
                    [[services]]\nname = \"s\"\nissuers = [\"kc\"]\n";
        let config = Config::from_toml_str(text, "<test>").expect("valid");
        let http = HttpClient::new(&config).expect("client");
        // Port 1 on loopback: nothing listens there.
        let url = Url::parse("http://127.0.0.1:1/jwks").expect("url");
        let err = http.get(&url).await.expect_err("refused");
        let message = err.to_string();
        assert!(
            message.to_ascii_lowercase().contains("refused"),
            "{message}"
        );
    }

    #[test]
    fn parses_max_age_and_no_store() {
        assert_eq!(parse_max_age("public, max-age=300"), Some(300));
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("public"), None);
    }

    #[test]
    fn parses_imf_fixdate() {
        assert_eq!(
            httpdate_to_unix("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(httpdate_to_unix("garbage"), None);
    }

    #[test]
    fn redacts_query_and_password() {
        let u = Url::parse("https://u:p@idp.example/x?secret=1#f").expect("valid url");
        assert_eq!(redact(&u), "https://u@idp.example/x");
    }
}
