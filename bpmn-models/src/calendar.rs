//! The proleptic Gregorian calendar as day counts: what timer bodies and
//! due-time arithmetic need, in the one place the BPMN side keeps it (the
//! `dmn` crate has its own for FEEL's years beyond ±9999). Not jiff: its
//! instants end on 9999-12-30, and timers reach the end of year 9999.

/// Whether `y` is a leap year.
pub fn is_leap_year(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

/// Days in month `m` (1–12) of year `y`.
pub fn days_in_month(y: i64, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. The year is counted
/// from March, so the leap day closes it, and split into 400-year cycles of
/// 146 097 days.
pub fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let (y, march_based_month) = if m > 2 {
        (y, i64::from(m) - 3)
    } else {
        (y - 1, i64::from(m) + 9)
    };
    let cycle = y.div_euclid(400);
    let year_in_cycle = y.rem_euclid(400);
    // Days before the month in a March-based year: 31, 30, 31, 30, 31 repeating.
    let day_in_year = (153 * march_based_month + 2) / 5 + i64::from(d) - 1;
    let day_in_cycle = year_in_cycle * 365 + year_in_cycle / 4 - year_in_cycle / 100 + day_in_year;
    // 719 468 days separate 0000-03-01 from 1970-01-01.
    cycle * 146_097 + day_in_cycle - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let since_0000_03_01 = days + 719_468;
    let cycle = since_0000_03_01.div_euclid(146_097);
    let day_in_cycle = since_0000_03_01.rem_euclid(146_097);
    // Remove the leap days (every 4th year, except every 100th, except the
    // 400th) to count years of 365 days.
    let year_in_cycle = (day_in_cycle - day_in_cycle / 1_460 + day_in_cycle / 36_524
        - day_in_cycle / 146_096)
        / 365;
    let day_in_year =
        day_in_cycle - (365 * year_in_cycle + year_in_cycle / 4 - year_in_cycle / 100);
    let march_based_month = (5 * day_in_year + 2) / 153;
    let day = (day_in_year - (153 * march_based_month + 2) / 5 + 1) as u8;
    let month = if march_based_month < 10 {
        march_based_month + 3
    } else {
        march_based_month - 9
    } as u8;
    let year = cycle * 400 + year_in_cycle + i64::from(month <= 2);
    (year, month, day)
}

/// 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday.
pub fn weekday(y: i64, m: u8, d: u8) -> u8 {
    (days_from_civil(y, m, d) + 4).rem_euclid(7) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_over_the_supported_years() {
        for days in (-719_528..=2_932_896).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m));
            assert!(d >= 1 && d <= days_in_month(y, m), "{days}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(weekday(2026, 12, 2), 3);
        assert!(is_leap_year(2000) && !is_leap_year(1900) && is_leap_year(2024));
    }
}
