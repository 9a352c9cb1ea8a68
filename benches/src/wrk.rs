//! Runs `wrk` and reads its summary.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// One wrk run's throughput and latency percentiles.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// The load of one wrk run.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub url: &'a str,
    pub connections: u32,
    pub duration: Duration,
    /// Extra request headers as `Name: value`.
    pub headers: &'a [String],
}

impl Load<'_> {
    /// Returns the wrk command line for the report, with header values elided.
    pub fn command_line(&self) -> String {
        let mut line = format!(
            "wrk -t{} -c{} -d{}s --latency",
            threads(self.connections),
            self.connections,
            self.duration.as_secs()
        );
        for header in self.headers {
            let name = header.split(':').next().unwrap_or_default();
            line.push_str(&format!(" -H '{name}: …'"));
        }
        line.push(' ');
        line.push_str(self.url);
        line
    }
}

/// wrk threads for `connections`: one per connection up to the 2 cores of
/// the benchmark machine; more threads only compete with the host.
fn threads(connections: u32) -> u32 {
    connections.clamp(1, 2)
}

/// Runs wrk once. A response other than 2xx or 3xx or a socket error fails
/// the run, because it would measure an error path.
pub fn run(load: &Load<'_>) -> Result<WrkRun> {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", threads(load.connections)))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs()))
        .arg("--latency");
    for header in load.headers {
        command.arg("-H").arg(header);
    }
    command.arg(load.url);
    let output = command
        .output()
        .context("failed to run wrk; scripts/bench installs it when missing")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed with {}: {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&stdout).with_context(|| format!("unexpected wrk output for {}:\n{stdout}", load.url))
}

/// Reads `Requests/sec`, the 50 % and 99 % latencies, and the error lines
/// of wrk's `--latency` report.
fn parse(report: &str) -> Result<WrkRun> {
    for line in report.lines().map(str::trim) {
        if line.starts_with("Non-2xx or 3xx responses") || line.starts_with("Socket errors") {
            bail!("wrk reported errors: {line}");
        }
    }
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("no line starting with {prefix:?}"))
    };
    let requests_per_second = field("Requests/sec:")?
        .parse()
        .context("invalid Requests/sec")?;
    Ok(WrkRun {
        requests_per_second,
        p50: parse_duration(field("50%")?)?,
        p99: parse_duration(field("99%")?)?,
    })
}

/// Parses wrk's durations: `812.00us`, `1.23ms`, `2.00s`, `1.50m`.
fn parse_duration(text: &str) -> Result<Duration> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("duration {text:?} has no unit"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .with_context(|| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => bail!("unknown unit in duration {text:?}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 5s test @ http://127.0.0.1:3000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.62ms    2.01ms  30.12ms   80.00%
    Req/Sec     2.87k   200.00     3.10k    70.00%
  Latency Distribution
     50%    5.31ms
     75%    6.40ms
     90%    7.90ms
     99%   12.50ms
  28650 requests in 5.00s, 3.50MB read
Requests/sec:   5729.51
Transfer/sec:    716.19KB
";

    #[test]
    fn report_gives_throughput_and_percentiles() {
        let run = parse(REPORT).unwrap();
        assert_eq!(run.requests_per_second, 5729.51);
        assert_eq!(run.p50, Duration::from_micros(5310));
        assert_eq!(run.p99, Duration::from_micros(12500));
    }

    #[test]
    fn report_with_error_responses_fails() {
        let report = REPORT.replace(
            "Requests/sec:",
            "  Non-2xx or 3xx responses: 12\nRequests/sec:",
        );
        let error = parse(&report).unwrap_err().to_string();
        assert!(error.contains("Non-2xx or 3xx responses: 12"), "{error}");
    }

    #[test]
    fn durations_in_each_unit() {
        assert_eq!(parse_duration("812.00us").unwrap(), Duration::from_micros(812));
        assert_eq!(parse_duration("2.00s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.50m").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("12.0").is_err());
    }
}
