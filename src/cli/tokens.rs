//! `saslgate validate` (a token → identity and claims, or the rejection) and `saslgate token`
//! (acquire and print, or mint an RFC 7628 initial client response).

use super::{load, logging, runtime, EXIT_FAILURE, EXIT_OK};
use crate::core::Core;
use crate::validate::ValidateError;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::sync::Arc;

/// Options of `token --initial-response`.
#[derive(Debug)]
pub(crate) struct InitialResponseArgs {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) authzid: Option<String>,
}

/// Reads the token from the argument, a file or stdin, reading at most `max_bytes` + 1 bytes so
/// that `/dev/zero` or a huge file is refused instead of exhausting memory.
fn read_token(
    token: Option<String>,
    token_file: Option<&Path>,
    max_bytes: usize,
) -> Result<SecretString, String> {
    use std::io::Read as _;
    let limit = max_bytes as u64 + 1;
    let bytes = match (token, token_file) {
        (Some(t), _) => t.into_bytes(),
        (None, Some(f)) => {
            let file =
                std::fs::File::open(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let mut buf = Vec::new();
            file.take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            buf
        }
        (None, None) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read the token from stdin: {e}"))?;
            buf
        }
    };
    if bytes.len() as u64 >= limit {
        return Err(format!(
            "the token is larger than limits.max_token_bytes ({max_bytes} bytes)"
        ));
    }
    let raw = String::from_utf8(bytes).map_err(|_| "the token is not UTF-8".to_string())?;
    let t = raw.trim();
    if t.is_empty() {
        return Err("the token is empty".to_string());
    }
    Ok(SecretString::from(t.to_string()))
}

pub(crate) fn validate(
    config_path: &Path,
    service: &str,
    token: Option<String>,
    token_file: Option<&Path>,
) -> i32 {
    let (config, _) = match load(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if config.service(service).is_none() {
        eprintln!(
            "saslgate: service {service:?} is not configured in {}",
            config_path.display()
        );
        return EXIT_FAILURE;
    }
    let token = match read_token(token, token_file, config.limits.max_token_bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("saslgate: {e}");
            return EXIT_FAILURE;
        }
    };
    logging::init(&config.log);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let core = match build_core(config) {
            Ok(c) => c,
            Err(code) => return code,
        };
        // Only the issuers' keys: validating a token needs no token of this node's own.
        let (loaded, tasks) = core.validator().start().await;
        for task in tasks {
            task.abort();
        }
        for (issuer, r) in loaded {
            if let Err(e) = r {
                eprintln!("warning: issuer {issuer}: {e}");
            }
        }
        println!(
            "token.fp: {}",
            crate::cache::fingerprint(token.expose_secret().as_bytes())
        );
        match core
            .validator()
            .validate(service, token.expose_secret())
            .await
        {
            Ok(v) => {
                print_checks(None, v.method);
                println!("valid: yes");
                println!("issuer: {} (iss {})", v.issuer, v.iss);
                println!("subject: {}", v.subject);
                println!("authorization_id: {}", v.principal.authzid);
                println!("groups: {}", v.principal.groups.join(", "));
                println!("roles: {}", v.roles.join(", "));
                println!("expires_at: {}", v.expires_at);
                println!("kid: {}", v.kid.as_deref().unwrap_or("-"));
                println!("alg: {}", v.alg.unwrap_or("-"));
                println!("method: {:?}", v.method);
                let claims = serde_json::to_string_pretty(&*v.claims)
                    .unwrap_or_else(|e| format!("<cannot print claims: {e}>"));
                println!("claims: {claims}");
                EXIT_OK
            }
            Err(ValidateError::Rejected(r)) => {
                let method = if r.as_str().starts_with("aws_") {
                    crate::validate::ValidationMethod::AwsSts
                } else {
                    crate::validate::ValidationMethod::Jwt
                };
                print_checks(Some(&r), method);
                println!("valid: no");
                println!("reason: {}", r.as_str());
                println!("message: {r}");
                EXIT_FAILURE
            }
            Err(e) => {
                eprintln!("saslgate: the token could not be checked: {e}");
                EXIT_FAILURE
            }
        }
    })
}

/// The core for `config`, or [`EXIT_FAILURE`] after printing why not.
fn build_core(config: crate::Config) -> Result<Arc<Core>, i32> {
    Core::new(Arc::new(config)).map_err(|e| {
        eprintln!("saslgate: cannot initialise: {e}");
        EXIT_FAILURE
    })
}

/// Prints every validation check with its result: `ok`, `FAILED: <reason>`, `not reached`, or
/// `n/a` for checks that do not apply to how the token was validated.
fn print_checks(rejection: Option<&crate::Rejection>, method: crate::validate::ValidationMethod) {
    use crate::validate::{ValidationMethod, CHECKS};
    let failed = rejection.map(|r| r.failed_check());
    let mut reached = true;
    println!("checks:");
    for check in CHECKS {
        let aws_check = check.starts_with("aws ");
        let not_applicable = match method {
            ValidationMethod::AwsSts => {
                !aws_check && !matches!(*check, "service" | "size" | "principal")
            }
            _ if aws_check => true,
            ValidationMethod::Jwt => *check == "introspection",
            ValidationMethod::Introspection => {
                matches!(*check, "algorithm" | "headers" | "key" | "signature")
            }
            _ => false,
        };
        let result = if Some(*check) == failed {
            reached = false;
            format!(
                "FAILED: {}",
                rejection.map(|r| r.to_string()).unwrap_or_default()
            )
        } else if not_applicable && (reached || method == ValidationMethod::AwsSts) {
            "n/a".to_string()
        } else if !reached {
            "not reached".to_string()
        } else {
            "ok".to_string()
        };
        println!("  {check:<17} {result}");
    }
    if let Some(r) = rejection.filter(|r| r.failed_check() == "sasl") {
        println!("  {:<17} FAILED: {r}", "sasl");
    }
}

pub(crate) fn token(
    config_path: &Path,
    identity: &str,
    initial: Option<InitialResponseArgs>,
) -> i32 {
    let (config, _) = match load(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logging::init(&config.log);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let core = match build_core(config) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let token = match core.tokens().token(identity).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("saslgate: {e}");
                return EXIT_FAILURE;
            }
        };
        match initial {
            None => {
                println!("{}", token.secret.expose_secret());
                EXIT_OK
            }
            Some(args) => match crate::sasl::ClientSession::new(
                token.secret.clone(),
                args.authzid.clone(),
                args.host.clone(),
                args.port,
                Vec::new(),
            )
            .initial_response()
            {
                Ok(bytes) => {
                    println!("{}", crate::daemon::api::encode_base64(&bytes));
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("saslgate: {e}");
                    EXIT_FAILURE
                }
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_trims_a_token_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("t");
        std::fs::write(&f, "  abc.def.ghi\n").expect("write");
        let t = read_token(None, Some(&f), 1024).expect("reads");
        assert_eq!(t.expose_secret(), "abc.def.ghi");
    }

    #[test]
    fn refuses_an_empty_token() {
        assert_eq!(
            read_token(Some("  \n".into()), None, 1024).err().as_deref(),
            Some("the token is empty")
        );
    }

    #[test]
    fn reads_no_more_than_the_token_limit() {
        let err = read_token(None, Some(Path::new("/dev/zero")), 4096).err();
        assert_eq!(
            err.as_deref(),
            Some("the token is larger than limits.max_token_bytes (4096 bytes)")
        );
    }
}
