//! ARN canonicalisation, after aws-iam-authenticator `pkg/arn.Canonicalize` and Vault's
//! `canonicalArn` (research/cloud-iam.md §1.1, §1.2).
//!
//! - `arn:P:sts::ACCT:assumed-role/ROLE/SESSION` → `arn:P:iam::ACCT:role/ROLE`. An assumed-role
//!   ARN carries no role path, so a role `/svc/zk-client` is reported as `role/zk-client`: the
//!   path is lost, and policies must name roles without it.
//! - `arn:P:iam::ACCT:user/…`, `arn:P:iam::ACCT:role/…`, `arn:P:iam::ACCT:root` and
//!   `arn:P:sts::ACCT:federated-user/NAME` are kept as they are.
//! - Anything else (other services, other resource types, unknown partitions) is refused.

use crate::config::PARTITIONS;

/// A caller ARN, split and canonicalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalArn {
    /// The canonical ARN (the role ARN for an assumed role).
    pub canonical: String,
    /// The partition (`aws`, `aws-cn`, …).
    pub partition: String,
    /// The account id of the ARN.
    pub account: String,
    /// `assumed-role`, `role`, `user`, `root` or `federated-user`.
    pub kind: &'static str,
    /// The role name (last path segment) for roles and assumed roles.
    pub role_name: Option<String>,
    /// The session name of an assumed role (caller-chosen unless only a service may assume it).
    pub session_name: Option<String>,
}

/// Canonicalises `arn`.
///
/// # Errors
/// What is wrong: an unknown partition, a service other than `iam`/`sts`, a region, a
/// malformed account, or a resource type that is not an identity.
pub fn canonicalize(arn: &str) -> Result<CanonicalArn, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err("not an ARN (arn:partition:service:region:account:resource)".into());
    };
    if *prefix != "arn" {
        return Err("not an ARN".into());
    }
    if !PARTITIONS.iter().any(|(p, _, _)| p == partition) {
        return Err(format!("partition {partition:?} is not accepted"));
    }
    if !region.is_empty() {
        return Err("an IAM or STS identity ARN has no region".into());
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("account {account:?} is not 12 digits"));
    }
    let out = |canonical: String, kind, role_name, session_name| CanonicalArn {
        canonical,
        partition: partition.to_string(),
        account: account.to_string(),
        kind,
        role_name,
        session_name,
    };
    match *service {
        "sts" => {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                let (role, session) = rest
                    .split_once('/')
                    .ok_or("assumed-role ARN without a session name")?;
                if role.is_empty() || session.is_empty() || session.contains('/') {
                    return Err("malformed assumed-role ARN".into());
                }
                return Ok(out(
                    format!("arn:{partition}:iam::{account}:role/{role}"),
                    "assumed-role",
                    Some(role.to_string()),
                    Some(session.to_string()),
                ));
            }
            if let Some(name) = resource.strip_prefix("federated-user/") {
                if !name.is_empty() {
                    return Ok(out(arn.to_string(), "federated-user", None, None));
                }
            }
            Err("an sts ARN must be assumed-role/… or federated-user/…".into())
        }
        "iam" => {
            if *resource == "root" {
                return Ok(out(arn.to_string(), "root", None, None));
            }
            if let Some(path) = resource.strip_prefix("role/") {
                let name = path.rsplit('/').next().unwrap_or("");
                if !name.is_empty() {
                    return Ok(out(arn.to_string(), "role", Some(name.to_string()), None));
                }
            }
            if let Some(path) = resource.strip_prefix("user/") {
                if !path.rsplit('/').next().unwrap_or("").is_empty() {
                    return Ok(out(arn.to_string(), "user", None, None));
                }
            }
            Err("an iam ARN must be user/…, role/… or root".into())
        }
        other => Err(format!("service {other:?} does not name an IAM identity")),
    }
}

/// Does `value` match `pattern`, where `*` matches any run of characters (possibly empty)?
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while vi < v.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_roles_become_role_arns_without_path() {
        let a =
            canonicalize("arn:aws:sts::123456789012:assumed-role/zk-client/host-1").expect("ok");
        assert_eq!(a.canonical, "arn:aws:iam::123456789012:role/zk-client");
        assert_eq!(a.role_name.as_deref(), Some("zk-client"));
        assert_eq!(a.session_name.as_deref(), Some("host-1"));
        let gov = canonicalize("arn:aws-us-gov:sts::123456789012:assumed-role/r/s").expect("ok");
        assert_eq!(gov.canonical, "arn:aws-us-gov:iam::123456789012:role/r");
    }

    #[test]
    fn keeps_users_roots_roles_and_federated_users() {
        for arn in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/dept/alice",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:role/svc/zk",
            "arn:aws:sts::123456789012:federated-user/bob",
        ] {
            assert_eq!(canonicalize(arn).expect(arn).canonical, arn);
        }
    }

    #[test]
    fn refuses_other_arns() {
        for (arn, why) in [
            ("arn:aws:sts::123456789012:user/moto", "an sts ARN must be"),
            ("arn:aws:s3:::bucket", "account \"\" is not 12 digits"),
            (
                "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
                "no region",
            ),
            (
                "arn:aws:lambda::123456789012:function/f",
                "service \"lambda\"",
            ),
            ("arn:evil:iam::123456789012:root", "partition \"evil\""),
            ("arn:aws:iam::12345:root", "not 12 digits"),
            (
                "arn:aws:sts::123456789012:assumed-role/r",
                "without a session",
            ),
        ] {
            let err = canonicalize(arn).expect_err(arn);
            assert!(err.contains(why), "{arn}: {err}");
        }
    }

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob_match(
            "arn:aws:iam::*:role/zk-*",
            "arn:aws:iam::123456789012:role/zk-client"
        ));
        assert!(!glob_match(
            "arn:aws:iam::*:role/zk-*",
            "arn:aws:iam::123456789012:role/hdfs"
        ));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(glob_match("*", ""));
    }
}
