//! The commented example configuration is real: it parses, and it mentions every key.

use ksef_gateway::config::Settings;

const EXAMPLE: &str = include_str!("../../config/gateway.example.toml");

#[test]
fn example_config_parses() {
    let s = Settings::from_toml_str(EXAMPLE).unwrap();
    assert_eq!(s.server.listen.port(), 8080);
}

#[test]
fn example_config_documents_every_key() {
    let defaults = toml::Value::try_from(Settings::default()).unwrap();
    let mut missing = Vec::new();
    collect_keys(&defaults, "", &mut missing);
    missing.retain(|k| !EXAMPLE.contains(&format!("{} =", k.rsplit('.').next().unwrap_or(k))));
    assert!(missing.is_empty(), "keys without an entry in config/gateway.example.toml: {missing:?}");
}

fn collect_keys(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(t) = v {
        for (k, v) in t {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if v.is_table() {
                collect_keys(v, &key, out);
            } else {
                out.push(key);
            }
        }
    }
}
