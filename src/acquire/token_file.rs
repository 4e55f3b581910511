//! Tokens read from a file that another agent keeps fresh, such as a Kubernetes projected
//! service-account token (`/var/run/secrets/tokens/...`), which the kubelet rewrites before it
//! expires. The file is re-read whenever its modification time or length changes.

use super::{jwt_exp, AccessToken, AcquireError};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// One token file and the token last read from it.
#[derive(Debug)]
pub(crate) struct TokenFile {
    identity: String,
    path: PathBuf,
    max_token_bytes: usize,
    loaded: Mutex<Option<Loaded>>,
}

#[derive(Debug, Clone)]
struct Loaded {
    modified: Option<SystemTime>,
    len: u64,
    token: AccessToken,
}

impl TokenFile {
    /// A source for `path`; nothing is read yet (the file may appear after start).
    pub(crate) fn new(identity: &str, path: &Path, max_token_bytes: usize) -> Self {
        Self {
            identity: identity.to_string(),
            path: path.to_path_buf(),
            max_token_bytes,
            loaded: Mutex::new(None),
        }
    }

    /// The token in the file, re-read when the file's modification time or length changed since
    /// the last read. Returns the token and whether the file was (re-)read.
    ///
    /// # Errors
    /// [`AcquireError::Failed`] when the file is missing, unreadable, empty, larger than
    /// `limits.max_token_bytes`, not UTF-8, or holds a JWT whose `exp` is past. Messages name the
    /// file, never its content.
    pub(crate) async fn load(&self, now_secs: u64) -> Result<(AccessToken, bool), AcquireError> {
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| self.fail(format!("cannot stat {}: {e}", self.path.display())))?;
        let modified = meta.modified().ok();
        let len = meta.len();
        if let Some(prev) = self.cached() {
            if prev.modified == modified && prev.len == len {
                return self
                    .check_not_expired(prev.token, now_secs)
                    .map(|t| (t, false));
            }
        }
        if len > self.max_token_bytes as u64 + 2 {
            return Err(self.fail(format!(
                "{} is {len} bytes, more than limits.max_token_bytes = {}",
                self.path.display(),
                self.max_token_bytes
            )));
        }
        let bytes = tokio::fs::read(&self.path)
            .await
            .map_err(|e| self.fail(format!("cannot read {}: {e}", self.path.display())))?;
        let token = self.parse(bytes, modified, now_secs)?;
        if let Ok(mut slot) = self.loaded.lock() {
            *slot = Some(Loaded {
                modified,
                len,
                token: token.clone(),
            });
        }
        tracing::debug!(
            identity = %self.identity,
            path = %self.path.display(),
            token.fp = %token.fingerprint(),
            expires_at = ?token.expires_at,
            "read token file"
        );
        self.check_not_expired(token, now_secs).map(|t| (t, true))
    }

    fn cached(&self) -> Option<Loaded> {
        self.loaded.lock().ok().and_then(|slot| slot.clone())
    }

    fn parse(
        &self,
        bytes: Vec<u8>,
        modified: Option<SystemTime>,
        now_secs: u64,
    ) -> Result<AccessToken, AcquireError> {
        let text = String::from_utf8(bytes)
            .map_err(|_| self.fail(format!("{} is not UTF-8 text", self.path.display())))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(self.fail(format!("{} is empty", self.path.display())));
        }
        if token.len() > self.max_token_bytes {
            return Err(self.fail(format!(
                "the token in {} is {} bytes, more than limits.max_token_bytes = {}",
                self.path.display(),
                token.len(),
                self.max_token_bytes
            )));
        }
        let obtained_at = modified
            .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
            .unwrap_or(now_secs);
        Ok(AccessToken {
            expires_at: jwt_exp(token),
            secret: SecretString::from(token.to_string()),
            obtained_at,
        })
    }

    fn check_not_expired(
        &self,
        token: AccessToken,
        now_secs: u64,
    ) -> Result<AccessToken, AcquireError> {
        match token.expires_at {
            Some(exp) if exp <= now_secs => Err(self.fail(format!(
                "the token in {} expired at {exp} (now {now_secs}); is the agent that rewrites it running?",
                self.path.display()
            ))),
            _ => Ok(token),
        }
    }

    fn fail(&self, message: String) -> AcquireError {
        AcquireError::Failed {
            identity: self.identity.clone(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn unsigned_jwt(exp: u64) -> String {
        // A structurally valid compact JWT; the payload is never verified here, only read for
        // `exp`. Built with jsonwebtoken's HMAC signer so no base64 is done by hand.
        let key = jsonwebtoken::EncodingKey::from_secret(b"test-only").expect("hmac key");
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"sub": "system:serviceaccount:zk:client", "exp": exp}),
            &key,
        )
        .expect("HS256 signing with a fixed key works")
    }

    #[tokio::test]
    async fn reads_a_jwt_and_takes_exp_from_its_payload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        let jwt = unsigned_jwt(2_000_000_000);
        std::fs::write(&path, format!("{jwt}\n")).expect("write");
        let source = TokenFile::new("k8s", &path, 65_536);
        let (token, read) = source.load(1_000).await.expect("token");
        assert!(read);
        assert_eq!(token.secret.expose_secret(), jwt);
        assert_eq!(token.expires_at, Some(2_000_000_000));
    }

    #[tokio::test]
    async fn rereads_the_file_only_when_it_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "opaque-one").expect("write");
        let source = TokenFile::new("k8s", &path, 65_536);
        let (first, read) = source.load(1_000).await.expect("token");
        assert!(read);
        assert_eq!(first.secret.expose_secret(), "opaque-one");
        assert_eq!(first.expires_at, None);

        let (same, read) = source.load(1_000).await.expect("token");
        assert!(!read, "unchanged file is served from memory");
        assert_eq!(same.secret.expose_secret(), "opaque-one");

        // A rotation changes the length (and usually the mtime): the new token is returned.
        std::fs::write(&path, "opaque-rotated").expect("rewrite");
        let (second, read) = source.load(1_000).await.expect("token");
        assert!(read);
        assert_eq!(second.secret.expose_secret(), "opaque-rotated");
    }

    #[tokio::test]
    async fn rejects_an_empty_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "\n").expect("write");
        let err = TokenFile::new("k8s", &path, 65_536)
            .load(1_000)
            .await
            .expect_err("empty");
        assert_eq!(
            err.to_string(),
            format!("identity \"k8s\": {} is empty", path.display())
        );
    }

    #[tokio::test]
    async fn rejects_a_jwt_that_has_expired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, unsigned_jwt(500)).expect("write");
        let err = TokenFile::new("k8s", &path, 65_536)
            .load(1_000)
            .await
            .expect_err("expired");
        assert!(
            err.to_string().contains("expired at 500 (now 1000)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn rejects_a_file_larger_than_the_token_limit_without_showing_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s".repeat(100)).expect("write");
        let err = TokenFile::new("k8s", &path, 10)
            .load(1_000)
            .await
            .expect_err("too large");
        let msg = err.to_string();
        assert!(
            msg.contains("more than limits.max_token_bytes = 10"),
            "{msg}"
        );
        assert!(!msg.contains("ssss"), "{msg}");
    }

    #[tokio::test]
    async fn reports_a_missing_file_by_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent");
        let err = TokenFile::new("k8s", &path, 65_536)
            .load(1_000)
            .await
            .expect_err("missing");
        assert!(
            err.to_string()
                .starts_with(&format!("identity \"k8s\": cannot stat {}", path.display())),
            "{err}"
        );
    }
}
