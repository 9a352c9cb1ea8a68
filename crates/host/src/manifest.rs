//! Parsing of a Spin application manifest (`spin.toml`, manifest version 2).
//!
//! Only the parts the local host uses are typed. Unknown tables such as
//! `[component.<id>.build]` are accepted and ignored, as `spin up` ignores
//! them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// A parsed `spin.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub trigger: ApplicationTriggers,
}

/// The `[application.trigger]` table: per-trigger-type application settings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApplicationTriggers {
    #[serde(default)]
    pub redis: Option<ApplicationRedisTrigger>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApplicationRedisTrigger {
    /// Default address for `[[trigger.redis]]` entries without one.
    #[serde(default)]
    pub address: Option<String>,
}

/// An application variable declared in `[variables]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// The host never logs variable values, so secrets need no extra care.
    #[serde(default)]
    #[allow(dead_code)]
    pub secret: bool,
    /// Parsed so that `deny_unknown_fields` accepts it; not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTriggerDecl>,
    #[serde(default)]
    pub redis: Vec<RedisTriggerDecl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpTriggerDecl {
    pub route: HttpRoute,
    pub component: String,
}

/// The `route` of an HTTP trigger: a path pattern, or `{ private = true }`
/// for a component reachable only through service chaining.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HttpRoute {
    Pattern(String),
    Private { private: bool },
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisTriggerDecl {
    #[serde(default)]
    pub address: Option<String>,
    pub channel: String,
    pub component: String,
}

/// A `[component.<id>]` table.
#[derive(Debug, Clone, Deserialize)]
pub struct ComponentDecl {
    pub source: ComponentSource,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Static files mounted into the component. The local host mounts no
    /// files, so components that declare them see an empty filesystem.
    #[serde(default)]
    pub files: Vec<toml::Value>,
}

/// A component `source`: a local path, or a URL or registry reference that
/// the local host cannot fetch.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ComponentSource {
    Local(String),
    Remote(#[allow(dead_code)] toml::Table),
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read manifest {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        if self.spin_manifest_version != 2 {
            bail!(
                "unsupported spin_manifest_version {}: only version 2 is supported",
                self.spin_manifest_version
            );
        }
        for name in self.variables.keys() {
            validate_variable_name(name)
                .with_context(|| format!("invalid application variable name {name:?}"))?;
        }
        for (name, decl) in &self.variables {
            if decl.required && decl.default.is_some() {
                bail!("application variable {name:?} cannot be both required and have a default");
            }
        }
        for (id, component) in &self.component {
            for name in component.variables.keys() {
                validate_variable_name(name).with_context(|| {
                    format!("invalid variable name {name:?} in component {id:?}")
                })?;
            }
        }
        for trigger in &self.trigger.http {
            if !self.component.contains_key(&trigger.component) {
                bail!(
                    "HTTP trigger refers to component {:?}, which is not defined",
                    trigger.component
                );
            }
        }
        for trigger in &self.trigger.redis {
            if !self.component.contains_key(&trigger.component) {
                bail!(
                    "Redis trigger refers to component {:?}, which is not defined",
                    trigger.component
                );
            }
        }
        Ok(())
    }
}

impl ComponentDecl {
    /// Returns the path of the component's wasm file, resolved against the
    /// manifest's folder.
    pub fn source_path(&self, id: &str, manifest_dir: &Path) -> Result<PathBuf> {
        match &self.source {
            ComponentSource::Local(path) => Ok(manifest_dir.join(path)),
            ComponentSource::Remote(_) => bail!(
                "component {id:?} has a remote source (url or registry package); \
                 the local host runs only local wasm files"
            ),
        }
    }
}

/// Checks a variable name against Spin's rules: lowercase ASCII letters,
/// digits and single underscores, starting with a letter and not ending with
/// an underscore.
pub fn validate_variable_name(name: &str) -> Result<()> {
    let Some(first) = name.chars().next() else {
        bail!("a variable name must not be empty");
    };
    if !first.is_ascii_lowercase() {
        bail!("a variable name must start with a lowercase ASCII letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!("a variable name may contain only lowercase ASCII letters, digits and underscores");
    }
    if name.contains("__") {
        bail!("a variable name must not contain two underscores in a row");
    }
    if name.ends_with('_') {
        bail!("a variable name must not end with an underscore");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
spin_manifest_version = 2

[application]
name = "sample"

[application.trigger.redis]
address = "redis://127.0.0.1:6379"

[variables]
redis_address = { default = "redis://127.0.0.1:6379" }
api_key = { required = true, secret = true }

[[trigger.http]]
route = "/files/..."
component = "files"

[[trigger.http]]
route = { private = true }
component = "files"

[[trigger.redis]]
channel = "uploads"
component = "worker"

[component.files]
source = "target/files.wasm"
key_value_stores = ["default"]
sqlite_databases = ["default"]
allowed_outbound_hosts = ["{{ redis_address }}"]
files = [{ source = "static", destination = "/" }]

[component.files.variables]
key = "{{ api_key }}"

[component.files.build]
command = "cargo build"

[component.worker]
source = "target/worker.wasm"
"#;

    #[test]
    fn manifest_parses_sample() {
        let manifest = Manifest::parse(SAMPLE).unwrap();
        assert_eq!(manifest.application.name, "sample");
        assert_eq!(manifest.trigger.http.len(), 2);
        assert!(matches!(
            manifest.trigger.http[1].route,
            HttpRoute::Private { private: true }
        ));
        assert_eq!(manifest.trigger.redis[0].address, None);
        assert_eq!(
            manifest.application.trigger.redis.unwrap().address.as_deref(),
            Some("redis://127.0.0.1:6379")
        );
        let files = &manifest.component["files"];
        assert_eq!(files.key_value_stores, vec!["default"]);
        assert_eq!(files.variables["key"], "{{ api_key }}");
        assert!(manifest.variables["api_key"].required);
        assert!(manifest.variables["api_key"].secret);
    }

    #[test]
    fn manifest_source_resolves_against_manifest_dir() {
        let manifest = Manifest::parse(SAMPLE).unwrap();
        let path = manifest.component["files"]
            .source_path("files", Path::new("/app"))
            .unwrap();
        assert_eq!(path, Path::new("/app/target/files.wasm"));
    }

    #[test]
    fn manifest_rejects_unknown_trigger_component() {
        let text = SAMPLE.replace("component = \"worker\"", "component = \"missing\"");
        let err = Manifest::parse(&text).unwrap_err();
        assert!(format!("{err:#}").contains("\"missing\""), "{err:#}");
    }

    #[test]
    fn manifest_rejects_version_1() {
        let text = SAMPLE.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(Manifest::parse(&text).is_err());
    }

    #[test]
    fn variable_names_follow_spin_rules() {
        for valid in ["a", "redis_address", "key2", "a_b_c"] {
            assert!(validate_variable_name(valid).is_ok(), "{valid}");
        }
        for invalid in ["", "A", "2a", "_a", "a__b", "a_", "a-b", "aB"] {
            assert!(validate_variable_name(invalid).is_err(), "{invalid}");
        }
    }
}
