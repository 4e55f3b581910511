use super::*;

const VALID: &str = r#"
[[issuers]]
name = "kc"
kind = "keycloak"
issuer = "https://idp.example/realms/prod"
audiences = ["zookeeper"]

[[services]]
name = "zookeeper"
issuers = ["kc"]
"#;

fn invalid(text: &str) -> (String, String) {
    match Config::from_toml_str(text, "t.toml") {
        Err(ConfigError::Invalid { key, problem, .. }) => (key, problem),
        Err(ConfigError::Parse { key, message, .. }) => (key, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn accepts_a_minimal_keycloak_configuration() {
    let c = Config::from_toml_str(VALID, "t.toml").expect("valid");
    assert_eq!(c.issuers[0].leeway_secs, 30);
    assert_eq!(c.limits.max_token_bytes, 65536);
    assert_eq!(
        c.service("zookeeper").map(|s| s.effective_audiences(&c)),
        Some(vec!["zookeeper".to_string()])
    );
}

#[test]
fn refuses_a_service_without_issuers_or_audiences() {
    let (key, problem) = invalid("[[services]]\nname = \"zk\"\nissuers = []\n");
    assert_eq!(key, "services[0].issuers");
    assert!(
        problem.contains("nothing is accepted by default"),
        "{problem}"
    );
    let text = VALID.replace("audiences = [\"zookeeper\"]\n", "");
    let (key, _) = invalid(&text);
    assert_eq!(key, "services[0].audiences");
}

#[test]
fn names_the_key_of_a_type_error_and_of_an_unknown_key() {
    let (key, message) = invalid(&VALID.replace(
        "kind = \"keycloak\"",
        "kind = \"keycloak\"\nleeway_secs = \"thirty\"",
    ));
    assert_eq!(key, "issuers[0].leeway_secs");
    assert!(message.contains("invalid type"), "{message}");
    let (key, message) =
        invalid(&VALID.replace("kind = \"keycloak\"", "kind = \"keycloak\"\nleway_secs = 3"));
    assert_eq!(key, "issuers[0].leway_secs");
    assert!(message.contains("leway_secs"), "{message}");
}

#[test]
fn refuses_http_issuers_off_loopback_and_hmac_algorithms() {
    let (key, problem) = invalid(&VALID.replace("https://idp.example", "http://idp.example"));
    assert_eq!(key, "issuers[0].issuer");
    assert!(problem.contains("http off loopback"), "{problem}");
    assert!(Config::from_toml_str(
        &VALID.replace("https://idp.example", "http://127.0.0.1:8080"),
        "t"
    )
    .is_ok());
    let (key, _) = invalid(&VALID.replace(
        "kind = \"keycloak\"",
        "kind = \"keycloak\"\nalgorithms = [\"HS256\"]",
    ));
    assert_eq!(key, "issuers[0].algorithms");
}

#[test]
fn refuses_dangling_references_and_world_accessible_sockets() {
    let (key, _) = invalid(&VALID.replace("issuers = [\"kc\"]", "issuers = [\"kc\", \"nope\"]"));
    assert_eq!(key, "services[0].issuers");
    let (key, _) = invalid(&format!("[daemon]\nsocket_mode = \"0666\"\n{VALID}"));
    assert_eq!(key, "daemon.socket_mode");
}

#[test]
fn applies_environment_overrides_by_section_and_entry_name() {
    let vars = vec![
        (
            "SASLGATE_LIMITS__MAX_TOKEN_BYTES".to_string(),
            "131072".to_string(),
        ),
        (
            "SASLGATE_ISSUERS__KC__LEEWAY_SECS".to_string(),
            "60".to_string(),
        ),
        (
            "SASLGATE_DAEMON__SOCKET".to_string(),
            "/tmp/x.sock".to_string(),
        ),
        ("SASLGATE_NOPE".to_string(), "1".to_string()),
    ];
    let (c, unknown) = Config::parse_with_env(VALID, "t.toml", &vars).expect("valid");
    assert_eq!(c.limits.max_token_bytes, 131072);
    assert_eq!(c.issuers[0].leeway_secs, 60);
    assert_eq!(
        c.daemon.socket.as_deref(),
        Some(std::path::Path::new("/tmp/x.sock"))
    );
    assert_eq!(unknown, vec!["SASLGATE_NOPE".to_string()]);
    let bad = vec![(
        "SASLGATE_ISSUERS__OTHER__LEEWAY_SECS".to_string(),
        "1".to_string(),
    )];
    assert!(matches!(
        Config::parse_with_env(VALID, "t.toml", &bad),
        Err(ConfigError::Env { .. })
    ));
}

#[test]
fn reports_toml_syntax_errors_with_the_file_name() {
    let err = Config::from_toml_str("[[issuers]\nname=", "broken.toml").expect_err("syntax error");
    let text = err.to_string();
    assert!(text.starts_with("broken.toml: <document>:"), "{text}");
}

#[test]
fn an_override_of_the_wrong_type_names_the_variable_and_strings_are_retried() {
    let vars = vec![(
        "SASLGATE_ISSUERS__KC__LEEWAY_SECS".to_string(),
        "abc".to_string(),
    )];
    match Config::parse_with_env(VALID, "t.toml", &vars) {
        Err(ConfigError::Env { var, problem }) => {
            assert_eq!(var, "SASLGATE_ISSUERS__KC__LEEWAY_SECS");
            assert!(problem.starts_with("issuers[0].leeway_secs:"), "{problem}");
        }
        other => panic!("expected an environment error, got {other:?}"),
    }
    // 660 parses as a TOML integer; socket_mode is a string: taken as the string "660".
    let vars = vec![(
        "SASLGATE_DAEMON__SOCKET_MODE".to_string(),
        "660".to_string(),
    )];
    let (c, _) = Config::parse_with_env(VALID, "t.toml", &vars).expect("valid");
    assert_eq!(c.daemon.socket_mode, "660");
}

#[test]
fn only_override_shaped_utf8_variables_are_read() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let vars = vec![
        (OsString::from("SASLGATE_CACHE"), OsString::from("/tmp/x")),
        (OsString::from_vec(vec![0xff, b'X']), OsString::from("1")),
        (OsString::from("X"), OsString::from_vec(vec![0xff])),
        (
            OsString::from("SASLGATE_LOG__FILTER"),
            OsString::from("debug"),
        ),
    ];
    let read = override_vars(vars.into_iter()).expect("valid");
    assert_eq!(
        read,
        vec![("SASLGATE_LOG__FILTER".to_string(), "debug".to_string())]
    );
    let bad = vec![(
        OsString::from("SASLGATE_LOG__FILTER"),
        OsString::from_vec(vec![0xff]),
    )];
    assert!(
        matches!(override_vars(bad.into_iter()), Err(ConfigError::Env { var, .. }) if var == "SASLGATE_LOG__FILTER")
    );
}

#[test]
fn refuses_values_that_would_fail_at_start_or_make_no_sense() {
    let cases = [
        (
            "[daemon]\nsession_idle_secs = 9223372036854775807\n",
            "daemon.session_idle_secs",
        ),
        ("[daemon]\nsocket = \"\"\n", "daemon.socket"),
        ("[daemon]\nsocket = \"relative.sock\"\n", "daemon.socket"),
        ("[daemon]\nsocket_mode = \"4770\"\n", "daemon.socket_mode"),
        ("[daemon]\nsocket_mode = \"0000\"\n", "daemon.socket_mode"),
        ("[daemon]\nsocket_mode = \"+660\"\n", "daemon.socket_mode"),
        ("[log]\nfilter = \"[[[=bogus\"\n", "log.filter"),
        (
            "[cache]\njwks_unknown_kid_interval_secs = 0\n",
            "cache.jwks_unknown_kid_interval_secs",
        ),
        (
            "[limits]\nmax_response_bytes = 9223372036854775807\n",
            "limits.max_response_bytes",
        ),
    ];
    for (prefix, expected) in cases {
        let (key, _) = invalid(&format!("{prefix}{VALID}"));
        assert_eq!(key, expected, "{prefix}");
    }
    let long = format!("[daemon]\nsocket = \"/{}\"\n{VALID}", "s".repeat(120));
    assert_eq!(invalid(&long).0, "daemon.socket");
    let (key, _) = invalid(&VALID.replace(
        "issuers = [\"kc\"]\n",
        "issuers = [\"kc\"]\nerror_openid_configuration = \"not a url\"\n",
    ));
    assert_eq!(key, "services[0].error_openid_configuration");
    let identity = "[[identities]]\nname = \"a b/c\"\nkind = \"token_file\"\npath = \"/t\"\n";
    assert_eq!(
        invalid(&format!("{VALID}{identity}")).0,
        "identities[0].name"
    );
}

#[test]
fn reads_at_most_four_mib_of_configuration() {
    let err = Config::load(std::path::Path::new("/dev/zero")).expect_err("refused");
    assert!(
        err.to_string().contains("larger than 4194304 bytes"),
        "{err}"
    );
}
