//! Parsing of a Spin runtime configuration file (`--runtime-config-file`).
//!
//! Supported: `[key_value_store.<label>]` and `[sqlite_database.<label>]`
//! with `type = "spin"` and an optional `path`. Relative paths are resolved
//! against the folder of the runtime configuration file, as Spin does.
//! Without an entry for `default`, the default store is
//! `<state-dir>/sqlite_key_value.db` and the default database
//! `<state-dir>/sqlite_db.db`, Spin's defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// Default key-value store file name under the state directory.
const DEFAULT_KEY_VALUE_FILE: &str = "sqlite_key_value.db";
/// Default SQLite database file name under the state directory.
const DEFAULT_SQLITE_FILE: &str = "sqlite_db.db";

#[derive(Debug, Default, Deserialize)]
struct RawRuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawStore>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawStore>,
}

#[derive(Debug, Deserialize)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<PathBuf>,
}

/// The files of the key-value stores and SQLite databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Key-value store label to SQLite file.
    pub key_value_stores: BTreeMap<String, PathBuf>,
    /// SQLite database label to file.
    pub sqlite_databases: BTreeMap<String, PathBuf>,
}

impl RuntimeConfig {
    /// Loads the runtime configuration from `file` if given, and adds the
    /// `default` store and database under `state_dir` unless configured.
    pub fn load(file: Option<&Path>, state_dir: &Path) -> Result<Self> {
        let (raw, base) = match file {
            Some(file) => {
                let text = std::fs::read_to_string(file).with_context(|| {
                    format!("failed to read runtime config file {}", file.display())
                })?;
                let raw: RawRuntimeConfig = toml::from_str(&text).with_context(|| {
                    format!("invalid runtime config file {}", file.display())
                })?;
                let base = file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."));
                (raw, base)
            }
            None => (RawRuntimeConfig::default(), PathBuf::from(".")),
        };
        Self::from_raw(raw, &base, state_dir)
    }

    fn from_raw(raw: RawRuntimeConfig, base: &Path, state_dir: &Path) -> Result<Self> {
        let mut key_value_stores = BTreeMap::new();
        for (label, store) in raw.key_value_store {
            let path = resolve_store_path(&label, "key_value_store", store, base, state_dir)?;
            key_value_stores.insert(label, path);
        }
        key_value_stores
            .entry("default".to_string())
            .or_insert_with(|| state_dir.join(DEFAULT_KEY_VALUE_FILE));

        let mut sqlite_databases = BTreeMap::new();
        for (label, database) in raw.sqlite_database {
            let path = resolve_store_path(&label, "sqlite_database", database, base, state_dir)?;
            sqlite_databases.insert(label, path);
        }
        sqlite_databases
            .entry("default".to_string())
            .or_insert_with(|| state_dir.join(DEFAULT_SQLITE_FILE));

        Ok(Self {
            key_value_stores,
            sqlite_databases,
        })
    }
}

/// Resolves the file of a `type = "spin"` entry. Without `path`, Spin keeps
/// the data in memory; the local host uses a file named after the label in
/// the state directory instead.
fn resolve_store_path(
    label: &str,
    table: &str,
    store: RawStore,
    base: &Path,
    state_dir: &Path,
) -> Result<PathBuf> {
    if store.kind != "spin" {
        bail!(
            "[{table}.{label}] has type {:?}; the local host supports only type \"spin\" \
             (a local SQLite file)",
            store.kind
        );
    }
    // NOTE: `spin up` keeps a `type = "spin"` store without `path` in memory,
    // so its data is lost on restart; here it persists in the state directory.
    let path = match store.path {
        Some(path) if path.is_absolute() => path,
        Some(path) => base.join(path),
        None => state_dir.join(format!("{table}_{label}.db")),
    };
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, base: &str, state_dir: &str) -> Result<RuntimeConfig> {
        let raw: RawRuntimeConfig = toml::from_str(text)?;
        RuntimeConfig::from_raw(raw, Path::new(base), Path::new(state_dir))
    }

    #[test]
    fn defaults_live_in_state_dir() {
        let config = RuntimeConfig::load(None, Path::new("/app/.spin")).unwrap();
        assert_eq!(
            config.key_value_stores["default"],
            Path::new("/app/.spin/sqlite_key_value.db")
        );
        assert_eq!(
            config.sqlite_databases["default"],
            Path::new("/app/.spin/sqlite_db.db")
        );
    }

    #[test]
    fn relative_paths_resolve_against_config_folder() {
        let text = r#"
[key_value_store.default]
type = "spin"
path = ".spin/kv.db"

[sqlite_database.default]
type = "spin"
path = "data/db.sqlite"

[sqlite_database.archive]
type = "spin"
path = "/var/lib/archive.db"
"#;
        let config = parse(text, "/etc/app", "/state").unwrap();
        assert_eq!(
            config.key_value_stores["default"],
            Path::new("/etc/app/.spin/kv.db")
        );
        assert_eq!(
            config.sqlite_databases["default"],
            Path::new("/etc/app/data/db.sqlite")
        );
        assert_eq!(
            config.sqlite_databases["archive"],
            Path::new("/var/lib/archive.db")
        );
    }

    #[test]
    fn missing_default_is_added() {
        let text = r#"
[key_value_store.cache]
type = "spin"
"#;
        let config = parse(text, "/etc/app", "/state").unwrap();
        assert_eq!(
            config.key_value_stores["default"],
            Path::new("/state/sqlite_key_value.db")
        );
        assert_eq!(
            config.key_value_stores["cache"],
            Path::new("/state/key_value_store_cache.db")
        );
    }

    #[test]
    fn other_types_are_rejected() {
        let text = r#"
[key_value_store.default]
type = "redis"
url = "redis://localhost"
"#;
        let err = parse(text, "/etc/app", "/state").unwrap_err();
        assert!(err.to_string().contains("\"redis\""), "{err}");
    }
}
