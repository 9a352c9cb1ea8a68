//! Wall-clock time in milliseconds since the Unix epoch, behind a trait so
//! that tests can move time forward.

use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_millis(&self) -> i64;
}

/// The system clock (WASI `wall-clock` inside a component).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        let elapsed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Formats milliseconds since the epoch as RFC 3339 UTC with millisecond
/// precision, e.g. `2026-12-04T16:50:47.123Z`.
pub fn format_rfc3339(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let fraction = millis.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:03}Z",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60,
        );
    }

    // Writing the digits directly avoids `format!`, whose padding
    // machinery was a tenth of the time of GET /files in the wasm
    // component, which formats three timestamps per file.
    let mut text = *b"0000-00-00T00:00:00.000Z";
    write_digits(&mut text[0..4], year as u32);
    write_digits(&mut text[5..7], month);
    write_digits(&mut text[8..10], day);
    write_digits(&mut text[11..13], (second_of_day / 3600) as u32);
    write_digits(&mut text[14..16], (second_of_day % 3600 / 60) as u32);
    write_digits(&mut text[17..19], (second_of_day % 60) as u32);
    write_digits(&mut text[20..23], fraction as u32);
    text.iter().map(|&byte| char::from(byte)).collect()
}

/// Writes `value` as decimal digits into `out`, zero-padded on the left;
/// higher digits that do not fit are dropped.
fn write_digits(out: &mut [u8], mut value: u32) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month,
/// day), following Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn formats_leap_day() {
        // 2024-02-29T12:34:56.789Z, checked with `date -u -d @1709210096`.
        assert_eq!(format_rfc3339(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
    }

    #[test]
    fn formats_like_format_macro_across_years() {
        // From 1969 to 2400 in steps of about 23 days, 13 hours and some
        // milliseconds, against the same fields written with `format!`.
        let mut millis = -86_400_000_i64;
        while millis < 13_569_465_600_000 {
            let seconds = millis.div_euclid(1000);
            let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
            let second_of_day = seconds.rem_euclid(86_400);
            let expected = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
                second_of_day / 3600,
                second_of_day % 3600 / 60,
                second_of_day % 60,
                millis.rem_euclid(1000),
            );
            assert_eq!(format_rfc3339(millis), expected, "millis {millis}");
            millis += 2_035_987_123;
        }
    }

    #[test]
    fn formats_years_beyond_four_digits() {
        // 10000-01-01T00:00:00Z is 253402300800 (`date -u -d @253402300800`).
        assert_eq!(format_rfc3339(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
    }

    #[test]
    fn formats_end_of_year() {
        // 2026-12-31T23:59:59Z is 1798761599 (`date -u -d @1798761599`).
        assert_eq!(format_rfc3339(1_798_761_599_000), "2026-12-31T23:59:59.000Z");
    }
}
