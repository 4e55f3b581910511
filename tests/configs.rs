//! Every example in `configs/` stays a valid configuration: each `configs/*.toml` is loaded with
//! `Config::from_toml_str`. The embedded default of `saslgate dev` (`configs/dev.toml`) holds
//! `{{placeholders}}`, replaced here by sample values as `saslgate dev` does at run time.

use saslgate::Config;

#[test]
fn every_example_configuration_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("configs/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .expect("read")
            .replace("{{issuer}}", "http://127.0.0.1:40000")
            .replace("{{socket}}", "/tmp/saslgate-dev/saslgate.sock")
            .replace("{{secrets_dir}}", "/tmp/saslgate-dev");
        assert!(
            !text.contains("{{"),
            "{}: unknown placeholder",
            path.display()
        );
        let config = Config::from_toml_str(&text, &path.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !config.services.is_empty(),
            "{}: no service",
            path.display()
        );
        checked.push(
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
        );
    }
    checked.sort();
    assert!(checked.contains(&"dev.toml".to_string()), "{checked:?}");
    assert!(
        checked.contains(&"keycloak.toml".to_string()),
        "{checked:?}"
    );
}
