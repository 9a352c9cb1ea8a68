//! Small requests: GET /files (a page of 20) and GET /auth/me under load,
//! beside the constant component on the same host binary.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};

use super::Bench;
use crate::process::Host;
use crate::report::{self, Report, Section, Table, Target};
use crate::stats::{median, median_duration};
use crate::wrk::{self, Load, WrkRun};

const CONNECTIONS: [u32; 3] = [1, 8, 32];
/// GET /files returns this many rows, its default page size.
const LISTED_FILES: usize = 20;
/// The minimum share of the constant component's throughput that
/// GET /files must reach.
const LIST_TARGET_SHARE: f64 = 0.5;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    Constant,
    ListFiles,
    Me,
}

impl Endpoint {
    const ALL: [Endpoint; 3] = [Endpoint::Constant, Endpoint::ListFiles, Endpoint::Me];

    fn label(self) -> &'static str {
        match self {
            Endpoint::Constant => "constant component `GET /`",
            Endpoint::ListFiles => "`GET /files` (20 rows)",
            Endpoint::Me => "`GET /auth/me`",
        }
    }
}

pub fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let constant = Host::start(&bench.constant_config())?;
    let (stowage, admin) = bench.start_stowage(&bench.stowage_config())?;

    let mut db = crate::seed::open(&stowage.database_path())?;
    let (org_id, user_id) = crate::seed::org_of_user(&db, super::ADMIN_USERNAME)?;
    crate::seed::insert_files(&mut db, &org_id, &user_id, LISTED_FILES, 0)?;
    let page = admin.get_json("/files")?;
    let listed = page["files"].as_array().map_or(0, Vec::len);
    ensure!(listed == LISTED_FILES, "GET /files returned {listed} files, expected {LISTED_FILES}: {page}");

    let cookie = vec![format!("Cookie: {}", admin.cookie_header()?)];
    let url = |host: &Host, path: &str| format!("{}{path}", host.base_url());
    let urls = BTreeMap::from([
        (Endpoint::Constant, url(&constant, "/")),
        (Endpoint::ListFiles, url(&stowage, "/files")),
        (Endpoint::Me, url(&stowage, "/auth/me")),
    ]);

    // Runs alternate between the endpoints, so that a change in the
    // machine's load affects each of them alike.
    let mut runs: BTreeMap<(Endpoint, u32), Vec<WrkRun>> = BTreeMap::new();
    for run in 0..bench.runs {
        for connections in CONNECTIONS {
            for endpoint in Endpoint::ALL {
                let headers = if endpoint == Endpoint::Constant { &[][..] } else { &cookie[..] };
                let load = Load {
                    url: &urls[&endpoint],
                    connections,
                    duration: bench.duration,
                    headers,
                };
                let result = wrk::run(&load)?;
                eprintln!(
                    "small requests, run {}: {} at {connections} connections: {:.0} req/s",
                    run + 1,
                    endpoint.label(),
                    result.requests_per_second
                );
                runs.entry((endpoint, connections)).or_default().push(result);
            }
        }
    }

    let mut table = Table::new(&["request", "connections", "req/s", "p50", "p99", "req/s vs constant"]);
    // The connection count where GET /files reaches the smallest share of
    // the constant component: (share, req/s, connections, constant req/s).
    let mut worst: Option<(f64, f64, u32, f64)> = None;
    for connections in CONNECTIONS {
        let constant_rps = median_rps(&runs[&(Endpoint::Constant, connections)]);
        for endpoint in Endpoint::ALL {
            let results = &runs[&(endpoint, connections)];
            let rps = median_rps(results);
            table.row(vec![
                endpoint.label().to_string(),
                connections.to_string(),
                format!("{rps:.0}"),
                report::duration(median_duration(&results.iter().map(|r| r.p50).collect::<Vec<_>>())),
                report::duration(median_duration(&results.iter().map(|r| r.p99).collect::<Vec<_>>())),
                report::ratio(rps, constant_rps),
            ]);
            let share = rps / constant_rps;
            if endpoint == Endpoint::ListFiles && worst.is_none_or(|(least, ..)| share < least) {
                worst = Some((share, rps, connections, constant_rps));
            }
        }
    }

    let (share, rps, connections, constant_rps) = worst.expect("CONNECTIONS is not empty");
    report.targets.push(Target {
        measurement: "1. `GET /files` throughput, lowest share over 1, 8, 32 connections".into(),
        result: format!(
            "{rps:.0} req/s at {connections} connection{}",
            if connections == 1 { "" } else { "s" }
        ),
        reference: format!("constant component: {constant_rps:.0} req/s"),
        ratio: format!("{share:.2}×"),
        goal: format!("≥ {LIST_TARGET_SHARE:.2}×"),
        met: share >= LIST_TARGET_SHARE,
    });
    let example = Load {
        url: "http://127.0.0.1:PORT/files",
        connections: 32,
        duration: bench.duration,
        headers: &cookie,
    };
    report.sections.push(Section {
        title: "1. Small requests".into(),
        method: format!(
            "One host serves Stowage (spin.toml, pooling allocator, compiled components \
             from the cache) and another serves the constant component \
             (benches/constant.spin.toml). The admin's organization holds {LISTED_FILES} \
             ready files, so `GET /files` returns a full first page. Requests carry the \
             session cookie of one sign-in. Each row is the median of {} runs of \
             `{}` (and the same for the other paths and connection counts), the runs \
             alternating between the three requests.",
            bench.runs,
            example.command_line()
        ),
        table,
    });
    Ok(())
}

fn median_rps(results: &[WrkRun]) -> f64 {
    let values: Vec<f64> = results.iter().map(|r| r.requests_per_second).collect();
    median(&values).unwrap_or(0.0)
}
