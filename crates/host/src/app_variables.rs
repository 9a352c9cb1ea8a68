//! Application variables and `{{ name }}` templates.
//!
//! A variable's value comes from, in order: `--variable name=value` on the
//! command line, the environment variable `SPIN_VARIABLE_<NAME>` (the name in
//! upper case), and the `default` in spin.toml. These are the sources of
//! `spin up`'s command-line and environment providers.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context, Result};

use crate::manifest::VariableDecl;

/// Resolved application variables.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: HashMap<String, String>,
}

impl AppVariables {
    /// Resolves every declared variable. `cli` contains the `--variable` pairs and
    /// `env` is a lookup into the process environment.
    ///
    /// A required variable without a value is an error that names it.
    pub fn resolve(
        decls: &BTreeMap<String, VariableDecl>,
        cli: &HashMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        for name in cli.keys() {
            if !decls.contains_key(name) {
                bail!("--variable {name} is not declared in the manifest's [variables]");
            }
        }
        let mut values = HashMap::new();
        for (name, decl) in decls {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            let value = cli
                .get(name)
                .cloned()
                .or_else(|| env(&env_name))
                .or_else(|| decl.default.clone());
            let Some(value) = value else {
                bail!(
                    "required application variable {name:?} has no value: \
                     pass --variable {name}=VALUE or set {env_name}"
                );
            };
            values.insert(name.clone(), value);
        }
        Ok(Self { values })
    }

    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands `{{ name }}` references in `template` with application
    /// variables. `context` names the template's place in the manifest for
    /// error messages.
    pub fn expand(&self, template: &str, context: &str) -> Result<String> {
        let parts = parse_template(template)
            .with_context(|| format!("invalid template {template:?} in {context}"))?;
        let mut out = String::with_capacity(template.len());
        for part in parts {
            match part {
                TemplatePart::Literal(text) => out.push_str(text),
                TemplatePart::Variable(name) => match self.values.get(name) {
                    Some(value) => out.push_str(value),
                    None => bail!(
                        "{context} refers to application variable {name:?}, \
                         which is not declared in [variables]"
                    ),
                },
            }
        }
        Ok(out)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum TemplatePart<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// Splits a template into literal text and `{{ name }}` references. Spin's
/// templates have no escape for a literal `{{`.
fn parse_template(template: &str) -> Result<Vec<TemplatePart<'_>>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(TemplatePart::Literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unterminated '{{{{'");
        };
        let name = after[..end].trim();
        crate::manifest::validate_variable_name(name)
            .with_context(|| format!("invalid variable reference {name:?}"))?;
        parts.push(TemplatePart::Variable(name));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        bail!("'}}}}' without a matching '{{{{'");
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Literal(rest));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls() -> BTreeMap<String, VariableDecl> {
        let mut decls = BTreeMap::new();
        decls.insert(
            "redis_address".to_string(),
            VariableDecl {
                default: Some("redis://127.0.0.1:6379".into()),
                ..Default::default()
            },
        );
        decls.insert(
            "channel".to_string(),
            VariableDecl {
                default: Some("uploads".into()),
                ..Default::default()
            },
        );
        decls.insert(
            "token".to_string(),
            VariableDecl {
                required: true,
                secret: true,
                ..Default::default()
            },
        );
        decls
    }

    fn cli(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resolve_prefers_cli_then_env_then_default() {
        let env = |name: &str| match name {
            "SPIN_VARIABLE_CHANNEL" => Some("from-env".to_string()),
            "SPIN_VARIABLE_TOKEN" => Some("env-token".to_string()),
            _ => None,
        };
        let vars = AppVariables::resolve(&decls(), &cli(&[("token", "cli-token")]), env).unwrap();
        assert_eq!(vars.get("token"), Some("cli-token"));
        assert_eq!(vars.get("channel"), Some("from-env"));
        assert_eq!(vars.get("redis_address"), Some("redis://127.0.0.1:6379"));
    }

    #[test]
    fn resolve_rejects_missing_required() {
        let err = AppVariables::resolve(&decls(), &cli(&[]), |_| None).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("\"token\""), "{message}");
        assert!(message.contains("SPIN_VARIABLE_TOKEN"), "{message}");
    }

    #[test]
    fn resolve_rejects_undeclared_cli_variable() {
        let err = AppVariables::resolve(&decls(), &cli(&[("token", "t"), ("nope", "x")]), |_| None)
            .unwrap_err();
        assert!(err.to_string().contains("nope"));
    }

    #[test]
    fn expand_replaces_references() {
        let vars = AppVariables::resolve(&decls(), &cli(&[("token", "t")]), |_| None).unwrap();
        assert_eq!(
            vars.expand("{{ redis_address }}", "test").unwrap(),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            vars.expand("prefix-{{channel}}-{{ token }}!", "test").unwrap(),
            "prefix-uploads-t!"
        );
        assert_eq!(vars.expand("plain", "test").unwrap(), "plain");
    }

    #[test]
    fn expand_rejects_unknown_and_malformed() {
        let vars = AppVariables::resolve(&decls(), &cli(&[("token", "t")]), |_| None).unwrap();
        let err = vars.expand("{{ missing }}", "component x").unwrap_err();
        assert!(err.to_string().contains("\"missing\""));
        assert!(vars.expand("{{ channel", "test").is_err());
        assert!(vars.expand("{{ Bad-Name }}", "test").is_err());
        assert!(vars.expand("channel }}", "test").is_err());
    }
}
