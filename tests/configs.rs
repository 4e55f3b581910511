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

/// `configs/reference.toml` documents every field of the configuration model: each `pub` field
/// of the serde structs in `src/config/` appears there as a key (set or commented out) or as a
/// table header.
#[test]
fn the_reference_configuration_names_every_field() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference =
        std::fs::read_to_string(root.join("configs/reference.toml")).expect("reference.toml");
    let keys: std::collections::HashSet<String> = reference
        .lines()
        .filter_map(|line| {
            let line = line.trim_start().trim_start_matches('#').trim();
            if let Some(header) = line.strip_prefix('[') {
                let header = header.trim_start_matches('[').trim_end_matches(']');
                return header.rsplit('.').next().map(str::to_string);
            }
            let (key, _) = line.split_once('=')?;
            let key = key.trim();
            (!key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .then(|| key.to_string())
        })
        .collect();
    let mut missing = Vec::new();
    let mut fields = 0;
    for file in [
        "mod.rs",
        "sections.rs",
        "issuers.rs",
        "identities.rs",
        "services.rs",
        "aws.rs",
    ] {
        let source =
            std::fs::read_to_string(root.join("src/config").join(file)).expect("config source");
        let mut rename: Option<String> = None;
        let mut skip = false;
        for line in source.lines().map(str::trim) {
            if line.starts_with("#[serde(") {
                rename = line
                    .split("rename = \"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_string);
                skip = line.contains("skip");
                continue;
            }
            if let Some(rest) = line.strip_prefix("pub ") {
                if let Some((name, _)) = rest.split_once(':') {
                    if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !skip {
                        fields += 1;
                        let key = rename.take().unwrap_or_else(|| name.to_string());
                        if !keys.contains(&key) {
                            missing.push(format!("{file}: {key}"));
                        }
                    }
                }
            }
            if !line.starts_with("///") {
                rename = None;
                skip = false;
            }
        }
    }
    assert!(
        fields > 60,
        "only {fields} fields found: the scan is broken"
    );
    assert!(
        missing.is_empty(),
        "configs/reference.toml does not document: {missing:?}"
    );
}
