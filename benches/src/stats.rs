//! Medians of repeated measurements.

use std::time::Duration;

/// Returns the median of `values`: the middle one, or the mean of the two middle
/// ones. `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

/// Returns the median of `durations`, or zero for none.
pub fn median_duration(durations: &[Duration]) -> Duration {
    let seconds: Vec<f64> = durations.iter().map(Duration::as_secs_f64).collect();
    median(&seconds).map_or(Duration::ZERO, Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_count_is_middle_value() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
    }

    #[test]
    fn median_of_even_count_averages() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_duration_of_milliseconds() {
        let durations = [3, 1, 2].map(Duration::from_millis);
        assert_eq!(median_duration(&durations), Duration::from_millis(2));
    }
}
