//! Cold start: the time from starting the host to its first response,
//! and each component's compile or cache-load time, with an empty and
//! with a filled cache of compiled components.

use anyhow::{Context, Result};

use super::Bench;
use crate::log::{component_lines, field};
use crate::process::{empty_cache_dir, Host, HostConfig};
use crate::report::{self, Report, Section, Table};
use crate::stats::{median, median_duration};

const STOWAGE_COMPONENTS: [&str; 3] = ["auth", "files", "processor"];

pub fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let apps: [(&str, HostConfig, &[&str]); 2] = [
        ("Stowage (spin.toml)", bench.stowage_config(), &STOWAGE_COMPONENTS),
        ("constant component", bench.constant_config(), &["constant"]),
    ];
    // Fill the shared cache, so that "filled" is true from the first run.
    for (_, config, _) in &apps {
        drop(Host::start(config)?);
    }

    let mut table = Table::new(&["application", "cache", "host start to first response", "per component"]);
    for (app, config, components) in &apps {
        for cached in [false, true] {
            let mut first_responses = Vec::new();
            let mut component_ms = vec![Vec::new(); components.len()];
            for _ in 0..bench.runs {
                let fresh = empty_cache_dir(bench.work.path())?;
                let mut config = config.clone();
                if !cached {
                    config.cache_dir = fresh.path().to_path_buf();
                }
                let host = Host::start(&config)?;
                let log = host.log();
                first_responses.push(host.first_response());
                for (index, component) in components.iter().enumerate() {
                    component_ms[index].push(load_millis(&log, component, cached)?);
                }
            }

            let per_component: Vec<String> = components
                .iter()
                .zip(&component_ms)
                .map(|(component, millis)| {
                    format!("{component} {:.1} ms", median(millis).unwrap_or(0.0))
                })
                .collect();
            table.row(vec![
                app.to_string(),
                if cached { "filled: load" } else { "empty: compile" }.to_string(),
                report::duration(median_duration(&first_responses)),
                per_component.join(", "),
            ]);
        }
    }

    report.sections.push(Section {
        title: "7. Cold start".into(),
        method: format!(
            "Each run starts a new host process and sends `GET` requests (`/auth/me` for \
             Stowage, `/` for the constant component) every 2 ms on new connections until \
             one gets a response. The time runs from spawning the process to that \
             response, and includes opening the databases. Each run has a new state folder, so \
             Stowage's first request also creates the schema and the sample user, whose \
             password it hashes with argon2id (table 5). \"empty\" starts with an empty \
             `--cache-dir`, so Cranelift compiles each component; \"filled\" loads the \
             compiled components that an earlier start stored. The per-component times \
             are the host's own `elapsed_ms` for compiling or loading each component, \
             one after another. Medians of {} runs.",
            bench.runs
        ),
        table,
    });
    Ok(())
}

/// Reads the host's `elapsed_ms` for compiling (`cached` false) or
/// loading `component`.
fn load_millis(log: &str, component: &str, cached: bool) -> Result<f64> {
    let message = if cached {
        "loaded compiled component from cache"
    } else {
        "compiled component"
    };
    component_lines(log, message, component)
        .filter(|line| cached || !line.contains("from cache"))
        .find_map(|line| field(line, "elapsed_ms")?.parse().ok())
        .with_context(|| format!("the host log has no {message:?} line for {component}:\n{log}"))
}
