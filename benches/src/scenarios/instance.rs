//! Per-request instance cost: the constant component with and without
//! wasmtime's pooling allocator, with components compiled at start or
//! loaded from the cache of compiled components.

use anyhow::Result;

use super::Bench;
use crate::process::{empty_cache_dir, Host};
use crate::report::{self, Report, Section, Table, Target};
use crate::stats::{median, median_duration};
use crate::wrk::{self, Load, WrkRun};

/// The minimum share of the fastest variant's throughput that the host's
/// default must reach; closer variants are within the run-to-run noise of a
/// shared machine.
const DEFAULT_TARGET_SHARE: f64 = 0.9;

/// One way of running the host.
#[derive(Clone, Copy)]
struct Variant {
    pooling: bool,
    cached: bool,
}

impl Variant {
    /// The host's defaults first: the rows compare against it.
    const ALL: [Variant; 4] = [
        Variant { pooling: true, cached: true },
        Variant { pooling: false, cached: true },
        Variant { pooling: true, cached: false },
        Variant { pooling: false, cached: false },
    ];

    fn label(self) -> String {
        let allocator = if self.pooling { "pooling" } else { "on demand (`--no-pooling`)" };
        let component = if self.cached {
            "loaded from the cache"
        } else {
            "compiled at start"
        };
        format!("{allocator}, {component}")
    }
}

pub fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    // Fill the shared cache once, so that "loaded from the cache" is true.
    drop(Host::start(&bench.constant_config())?);

    let mut single: Vec<Vec<WrkRun>> = vec![Vec::new(); Variant::ALL.len()];
    let mut many: Vec<Vec<WrkRun>> = vec![Vec::new(); Variant::ALL.len()];
    for run in 0..bench.runs {
        for (index, variant) in Variant::ALL.into_iter().enumerate() {
            let fresh_cache = empty_cache_dir(bench.work.path())?;
            let mut config = bench.constant_config();
            config.pooling = variant.pooling;
            if !variant.cached {
                config.cache_dir = fresh_cache.path().to_path_buf();
            }
            let host = Host::start(&config)?;
            let url = format!("{}/", host.base_url());
            for (connections, results) in [(1, &mut single[index]), (32, &mut many[index])] {
                let load = Load {
                    url: &url,
                    connections,
                    duration: bench.duration,
                    headers: &[],
                };
                let result = wrk::run(&load)?;
                eprintln!(
                    "instance cost, run {}: {} at {connections} connections: {:.0} req/s",
                    run + 1,
                    variant.label(),
                    result.requests_per_second
                );
                results.push(result);
            }
        }
    }

    let rps = |results: &[WrkRun]| {
        median(&results.iter().map(|r| r.requests_per_second).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    let default_single = rps(&single[0]);
    let default_many = rps(&many[0]);
    let mut table = Table::new(&[
        "instances",
        "1 connection: req/s",
        "time per request",
        "p50",
        "vs default",
        "32 connections: req/s",
        "p99",
        "vs default",
    ]);
    for (index, variant) in Variant::ALL.into_iter().enumerate() {
        let one = rps(&single[index]);
        let thirty_two = rps(&many[index]);
        table.row(vec![
            variant.label(),
            format!("{one:.0}"),
            format!("{:.0} µs", 1e6 / one),
            report::duration(median_duration(&single[index].iter().map(|r| r.p50).collect::<Vec<_>>())),
            report::ratio(one, default_single),
            format!("{thirty_two:.0}"),
            report::duration(median_duration(&many[index].iter().map(|r| r.p99).collect::<Vec<_>>())),
            report::ratio(thirty_two, default_many),
        ]);
    }

    // Variants are ranked by the geometric mean of their throughput at 1 and
    // 32 connections, so that neither load level alone decides.
    let score = |index: usize| (rps(&single[index]) * rps(&many[index])).sqrt();
    let (fastest, fastest_score) = (0..Variant::ALL.len())
        .map(|index| (Variant::ALL[index], score(index)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("Variant::ALL is not empty");
    let default_score = score(0);
    let share = default_score / fastest_score;
    report.targets.push(Target {
        measurement: "2. Host default (first row of table 2) is the fastest, by the geometric \
                      mean of req/s at 1 and 32 connections"
            .into(),
        result: format!("default: {default_score:.0} req/s"),
        reference: format!("fastest: {}, {fastest_score:.0} req/s", fastest.label()),
        ratio: format!("{share:.2}×"),
        goal: format!("≥ {DEFAULT_TARGET_SHARE:.2}× (run-to-run noise)"),
        met: share >= DEFAULT_TARGET_SHARE,
    });
    report.sections.push(Section {
        title: "2. Per-request instance cost".into(),
        method: format!(
            "The constant component creates one instance per request and does nothing \
             else, so its throughput shows what an instance costs. Each variant starts \
             a new host. With an empty cache folder (\"compiled at start\") the host \
             compiles the component and loads it from memory; with the filled one it \
             memory-maps the component from its cache file. Then it runs \
             `wrk -t1 -c1 -d{secs}s --latency` and `wrk -t2 -c32 -d{secs}s --latency`. \
             Medians of {runs} runs; \"time per request\" is 1 / req/s at one connection. \
             The first row is the host's default.",
            secs = bench.duration.as_secs(),
            runs = bench.runs,
        ),
        table,
    });
    Ok(())
}
