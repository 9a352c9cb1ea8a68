//! Listing at scale: GET /files latency for a tenant with a thousand
//! files and one with a million, on the first page and deep in the list.

use std::time::Instant;

use anyhow::{ensure, Result};

use super::Bench;
use crate::api::Api;
use crate::report::{self, Report, Section, Table, Target};
use crate::seed;
use crate::stats::median_duration;
use crate::wrk::{self, Load};

const SMALL_TENANT_FILES: usize = 1_000;
const LARGE_USERNAME: &str = "bench-large";
const LARGE_PASSWORD: &str = "bench-large-password";
const SCALE_TARGET_RATIO: f64 = 1.5;

pub fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let (host, small_client) = bench.start_stowage(&bench.stowage_config())?;
    let mut db = seed::open(&host.database_path())?;

    let (small_org, small_user) = seed::org_of_user(&db, super::ADMIN_USERNAME)?;
    let small_deep = seed::insert_files(&mut db, &small_org, &small_user, SMALL_TENANT_FILES, SMALL_TENANT_FILES / 2)?;

    let large_files = bench.large_tenant_files;
    let started = Instant::now();
    let (large_org, large_user) = seed::create_org(&db, "Bench Large Tenant", LARGE_USERNAME, LARGE_PASSWORD)?;
    let large_deep = seed::insert_files(&mut db, &large_org, &large_user, large_files, large_files / 2)?;
    eprintln!("scale: inserted {large_files} files in {:?}", started.elapsed());
    drop(db);

    let mut large_client = Api::new(host.base_url());
    large_client.login(LARGE_USERNAME, LARGE_PASSWORD)?;

    let cases = [
        ("1 k files, first page", &small_client, None, SMALL_TENANT_FILES),
        ("1 k files, page at file 500", &small_client, Some(&small_deep), SMALL_TENANT_FILES),
        ("large, first page", &large_client, None, large_files),
        ("large, page in the middle", &large_client, Some(&large_deep), large_files),
    ];
    let mut paths = Vec::new();
    for (_, client, deep, _) in &cases {
        let path = match deep {
            Some(row) => format!("/files?cursor={}", seed::cursor_after(row)),
            None => "/files".to_string(),
        };
        let page = client.get_json(&path)?;
        let listed = page["files"].as_array().map_or(0, Vec::len);
        ensure!(listed == 20, "GET {path} returned {listed} files, expected 20");
        paths.push(path);
    }

    let mut p50s = vec![Vec::new(); cases.len()];
    for run in 0..bench.runs {
        for (index, (label, client, _, _)) in cases.iter().enumerate() {
            let url = format!("{}{}", host.base_url(), paths[index]);
            let headers = [format!("Cookie: {}", client.cookie_header()?)];
            let load = Load {
                url: &url,
                connections: 1,
                duration: bench.duration,
                headers: &headers,
            };
            let result = wrk::run(&load)?;
            eprintln!("scale, run {}: {label}: p50 {:?}", run + 1, result.p50);
            p50s[index].push(result.p50);
        }
    }
    let medians: Vec<_> = p50s.iter().map(|values| median_duration(values)).collect();

    let large_label = format!("{} files", thousands(large_files));
    let mut table = Table::new(&["tenant and page", "files in tenant", "p50", "vs 1 k files"]);
    for (index, (label, _, _, files)) in cases.iter().enumerate() {
        let baseline = medians[index % 2];
        table.row(vec![
            label.replace("large", &large_label),
            thousands(*files),
            report::duration(medians[index]),
            report::ratio(medians[index].as_secs_f64(), baseline.as_secs_f64()),
        ]);
    }
    for (page, small, large) in [("first page", medians[0], medians[2]), ("middle page", medians[1], medians[3])] {
        let ratio = large.as_secs_f64() / small.as_secs_f64();
        report.targets.push(Target {
            measurement: format!("6. `GET /files` p50 with {large_label}, {page}"),
            result: report::duration(large),
            reference: format!("1 k files: {}", report::duration(small)),
            ratio: format!("{ratio:.2}×"),
            goal: format!("≤ {SCALE_TARGET_RATIO}×"),
            met: ratio <= SCALE_TARGET_RATIO,
        });
    }
    report.sections.push(Section {
        title: "6. Listing at scale".into(),
        method: format!(
            "One database holds two organizations: the sample one with {SMALL_TENANT_FILES} \
             ready files and another with {large_files}, inserted straight into the \
             SQLite file in one transaction (files rows only, each with a distinct \
             `created_at`). The page in the middle is reached with the cursor of the \
             file at half the tenant's size, built the way the service encodes it. Each \
             figure is the median p50 of {} runs of `wrk -t1 -c1 -d{}s --latency` with \
             the tenant's session cookie.",
            bench.runs,
            bench.duration.as_secs()
        ),
        table,
    });
    Ok(())
}

/// Formats a count as `1 k` or `1 M` when it is a round thousand or
/// million, else as digits.
fn thousands(count: usize) -> String {
    if count >= 1_000_000 && count % 1_000_000 == 0 {
        format!("{} M", count / 1_000_000)
    } else if count >= 1_000 && count % 1_000 == 0 {
        format!("{} k", count / 1_000)
    } else {
        count.to_string()
    }
}
