//! Keycloak token specifics: realm roles (`realm_access.roles`) and client roles
//! (`resource_access.<client>.roles`), reported as `role` and `client:role`.

/// Roles of a Keycloak access token: realm roles as-is, client roles as `client:role`.
pub(crate) fn roles(claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(realm) = claims
        .get("realm_access")
        .and_then(|r| r.get("roles"))
        .and_then(|r| r.as_array())
    {
        out.extend(realm.iter().filter_map(|r| r.as_str()).map(str::to_string));
    }
    if let Some(resources) = claims.get("resource_access").and_then(|r| r.as_object()) {
        for (client, access) in resources {
            if let Some(roles) = access.get("roles").and_then(|r| r.as_array()) {
                out.extend(
                    roles
                        .iter()
                        .filter_map(|r| r.as_str())
                        .map(|r| format!("{client}:{r}")),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_realm_and_client_roles() {
        let claims = serde_json::json!({
            "realm_access": {"roles": ["zk-admin", "offline_access"]},
            "resource_access": {"zookeeper": {"roles": ["writer"]}}
        });
        let claims = claims.as_object().cloned().unwrap_or_default();
        assert_eq!(
            roles(&claims),
            vec!["zk-admin", "offline_access", "zookeeper:writer"]
        );
    }
}
