//! Calendar arithmetic both sides need without a date library: the server
//! and the app turn a search's `before:`/`after:` day into milliseconds,
//! and the app reads message timestamps in host unit tests, where the
//! browser's `Date` is not there.

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1–12,
/// `day` 1–31), negative before it: Howard Hinnant's `days_from_civil`.
/// The date is not checked (the 31st of February is the 3rd of March);
/// callers check it first.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::days_from_civil;

    #[test]
    fn days_count_from_the_epoch_across_leap_years_and_centuries() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1970, 3, 1), 59);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28),
            1
        );
        assert_eq!(days_from_civil(2026, 12, 7), 20_794);
        assert_eq!(days_from_civil(1600, 1, 1), -135_140);
    }

    #[test]
    fn each_day_is_one_more_than_the_day_before() {
        let mut expected = days_from_civil(1899, 12, 31);
        for year in 1900..=2100 {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            for month in 1..=12 {
                let last = match month {
                    4 | 6 | 9 | 11 => 30,
                    2 if leap => 29,
                    2 => 28,
                    _ => 31,
                };
                for day in 1..=last {
                    expected += 1;
                    assert_eq!(
                        days_from_civil(year, month, day),
                        expected,
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
    }
}
