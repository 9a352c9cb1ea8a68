//! Ingest of a 50 MiB file, from the start of the upload until GET
//! /files/{id} reports it `ready`, beside `sha256sum` of the same file;
//! and the peak linear memory of the instances that handled it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Bench, LOG_WITH_MEMORY};
use crate::report::{self, Report, Section, Table, Target};
use crate::stats::median_duration;

/// The largest upload Stowage accepts.
const FILE_BYTES: usize = 50 * 1024 * 1024;
const INGEST_TARGET_RATIO: f64 = 3.0;
/// Uploads at least this many files: one takes well under a second, and a
/// burst of load from other work on the machine moves a median of three.
const MIN_RUNS: usize = 5;
/// The pause before each upload, several of the host's 200 ms checkpoint
/// intervals.
const SETTLE_TIME: Duration = Duration::from_secs(1);
const PROCESSOR_MEMORY_TARGET_BYTES: u64 = 16 * 1024 * 1024;

pub fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let path = bench.work.path().join("upload-50mib.bin");
    write_random_file(&path, FILE_BYTES)?;
    let (expected_sha256, _) = sha256sum(&path)?;

    let mut config = bench.stowage_config();
    config.log_filter = LOG_WITH_MEMORY.to_string();
    let (host, admin) = bench.start_stowage(&config)?;

    let mut uploads = Vec::new();
    let mut totals = Vec::new();
    let mut references = Vec::new();
    let runs = bench.runs.max(MIN_RUNS);
    for run in 0..runs {
        // Each run measures one ingest on an idle host: the host copies the
        // previous upload from the WAL into the database file in the
        // background, which would otherwise overlap this upload.
        std::thread::sleep(SETTLE_TIME);
        let (_, reference) = sha256sum(&path)?;

        let started = Instant::now();
        let id = admin.upload(&path)?;
        let uploaded = started.elapsed();
        let file = admin.wait_until_ready(&id)?;
        let total = started.elapsed();

        ensure!(
            file["sha256"] == expected_sha256.as_str(),
            "Stowage computed SHA-256 {} for file {id}, sha256sum computed {expected_sha256}",
            file["sha256"]
        );
        ensure!(
            file["size"] == FILE_BYTES,
            "Stowage stored {} bytes for file {id}, the upload had {FILE_BYTES}",
            file["size"]
        );
        eprintln!(
            "ingest, run {}: upload {uploaded:?}, ready after {total:?}, sha256sum {reference:?}",
            run + 1
        );
        uploads.push(uploaded);
        totals.push(total);
        references.push(reference);
    }
    drop(admin);
    // The processor's instance may log its peak just after the file is ready.
    std::thread::sleep(Duration::from_millis(500));
    let log = host.log();
    drop(host);

    let upload = median_duration(&uploads);
    let total = median_duration(&totals);
    let reference = median_duration(&references);
    let ratio = total.as_secs_f64() / reference.as_secs_f64();
    let mut table = Table::new(&["step", "median", "vs sha256sum"]);
    for (step, value) in [
        ("`POST /files` until 202 (bytes stored as chunks)", upload),
        ("after 202 until `ready` (processing and polling)", total.saturating_sub(upload)),
        ("whole ingest: upload start until `ready`", total),
        ("reference: `sha256sum` of the same file", reference),
    ] {
        table.row(vec![
            step.to_string(),
            report::duration(value),
            report::ratio(value.as_secs_f64(), reference.as_secs_f64()),
        ]);
    }
    report.targets.push(Target {
        measurement: "3. Ingest of 50 MiB until `ready`".into(),
        result: report::duration(total),
        reference: format!("`sha256sum`: {}", report::duration(reference)),
        ratio: format!("{ratio:.1}×"),
        goal: format!("≤ {INGEST_TARGET_RATIO:.0}×"),
        met: ratio <= INGEST_TARGET_RATIO,
    });
    report.sections.push(Section {
        title: "3. Ingest".into(),
        method: format!(
            "A file of {FILE_BYTES} random bytes (50 MiB, the largest upload) is sent as \
             `POST /files?filename=bench.bin` with `Content-Type: application/octet-stream` \
             by one client, which then polls `GET /files/{{id}}` every 5 ms until the file \
             is `ready`. Each run checks the SHA-256 and size Stowage computed against \
             `sha256sum` and the file's length. The reference is `sha256sum` of the \
             same file, run before each upload (the file is in the page cache). \
             Each run starts one second after the previous file was ready, so that it \
             measures one ingest on an idle host. Medians of {runs} runs."
        ),
        table,
    });

    memory_section(&log, report)
}

/// Reports the peak linear memory per component from the host's
/// `instance ended` lines.
fn memory_section(log: &str, report: &mut Report) -> Result<()> {
    let mut table = Table::new(&["component", "instances", "largest peak", "smallest peak"]);
    let mut processor_peak = None;
    for component in ["files", "processor", "auth"] {
        let peaks: Vec<u64> = instance_peaks(log, component).collect();
        let (Some(largest), Some(smallest)) = (peaks.iter().max(), peaks.iter().min()) else {
            continue;
        };
        table.row(vec![
            format!("`{component}`"),
            peaks.len().to_string(),
            report::mebibytes(*largest),
            report::mebibytes(*smallest),
        ]);
        if component == "processor" {
            processor_peak = Some(*largest);
        }
    }
    let Some(processor_peak) = processor_peak else {
        bail!("the host logged no peak memory of a processor instance");
    };

    report.targets.push(Target {
        measurement: "4. Peak linear memory of the processor for 50 MiB".into(),
        result: report::mebibytes(processor_peak),
        reference: "the file: 50.0 MiB".into(),
        ratio: report::ratio(processor_peak as f64, FILE_BYTES as f64),
        goal: "< 16 MiB".into(),
        met: processor_peak < PROCESSOR_MEMORY_TARGET_BYTES,
    });
    report.sections.push(Section {
        title: "4. Peak linear memory".into(),
        method: format!(
            "The host records, per instance, the largest size any linear memory of the \
             instance grew to (a wasmtime `ResourceLimiter`) and logs it as \
             `peak_memory_bytes` when the instance is dropped \
             (`RUST_LOG={LOG_WITH_MEMORY}`). The table reads those lines from the host of \
             the ingest runs above: every `files` instance (uploads, status polls), every \
             `processor` instance (one per message) and the `auth` sign-in."
        ),
        table,
    });
    Ok(())
}

/// Reads the `peak_memory_bytes` of every `instance ended` line of
/// `component`.
fn instance_peaks<'a>(log: &'a str, component: &'a str) -> impl Iterator<Item = u64> + 'a {
    crate::log::component_lines(log, "instance ended", component)
        .filter_map(|line| crate::log::field(line, "peak_memory_bytes")?.parse().ok())
}

fn write_random_file(path: &Path, len: usize) -> Result<()> {
    let mut bytes = vec![0u8; len];
    StdRng::seed_from_u64(50).fill_bytes(&mut bytes);
    std::fs::write(path, &bytes).with_context(|| format!("failed to write {}", path.display()))
}

/// Runs `sha256sum` on `path` and returns its digest and wall time.
fn sha256sum(path: &Path) -> Result<(String, Duration)> {
    let started = Instant::now();
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("failed to run sha256sum (GNU coreutils)")?;
    let elapsed = started.elapsed();
    ensure!(output.status.success(), "sha256sum {} failed", path.display());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let digest = stdout.split_whitespace().next().unwrap_or_default().to_string();
    ensure!(digest.len() == 64, "unexpected sha256sum output: {stdout}");
    Ok((digest, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_are_read_per_component() {
        let log = "\
2026-01-01T00:00:00Z DEBUG stowage_host::metrics: instance ended component=\"processor\" peak_memory_bytes=1310720
2026-01-01T00:00:00Z DEBUG stowage_host::metrics: instance ended component=\"files\" peak_memory_bytes=2097152
2026-01-01T00:00:00Z  INFO stowage_host::http_trigger: request component=\"files\" status=200
";
        assert_eq!(instance_peaks(log, "processor").collect::<Vec<_>>(), [1_310_720]);
        assert_eq!(instance_peaks(log, "files").collect::<Vec<_>>(), [2_097_152]);
        assert_eq!(instance_peaks(log, "auth").count(), 0);
    }
}
