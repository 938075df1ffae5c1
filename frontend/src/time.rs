//! Message times in the reader's local time zone.

use chat_shared::date::days_from_civil;
use js_sys::Date;
use wasm_bindgen::JsValue;

/// "21:07" for a server timestamp, and the full local date and time for
/// the tooltip; `None` if the timestamp cannot be read.
pub(crate) fn clock_and_full(timestamp: &str, lang: &str) -> Option<(String, String)> {
    let date = Date::new(&JsValue::from_str(timestamp));
    if date.get_time().is_nan() {
        return None;
    }
    let clock = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    let full = String::from(date.to_locale_string(lang, &JsValue::UNDEFINED));
    Some((clock, full))
}

/// "3 Dec, 21:07" (the year too when it is not this one) for a server
/// timestamp, where a message is shown away from its day (a search
/// result), and the full local date and time for the tooltip; `None` if
/// the timestamp cannot be read.
pub(crate) fn day_and_clock(timestamp: &str, lang: &str) -> Option<(String, String)> {
    let (clock, full) = clock_and_full(timestamp, lang)?;
    let date = Date::new(&JsValue::from_str(timestamp));
    let options = js_sys::Object::new();
    let set = |key: &str, value: &str| {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    };
    set("day", "numeric");
    set("month", "short");
    if date.get_full_year() != Date::new_0().get_full_year() {
        set("year", "numeric");
    }
    let day = String::from(date.to_locale_date_string(lang, &options));
    Some((format!("{day}, {clock}"), full))
}

/// Milliseconds since the epoch from a server timestamp (RFC 3339, as
/// `2026-11-25T21:00:00.123Z`), for grouping; NaN if it cannot be read, so
/// it compares as close to nothing. Parsed here rather than by the
/// browser's `Date` so the conversation's grouping runs in host unit tests.
pub(crate) fn epoch_ms(timestamp: &str) -> f64 {
    parse_rfc3339_ms(timestamp).map_or(f64::NAN, |ms| ms as f64)
}

fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators = text.as_bytes();
    let at = |i: usize| separators.get(i).copied();
    if at(4) != Some(b'-') || at(7) != Some(b'-') || !matches!(at(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if at(13) != Some(b':') || at(16) != Some(b':') {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first_three: String = fraction[..digits]
            .chars()
            .chain("00".chars())
            .take(3)
            .collect();
        millis = first_three.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = rest[1..].split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// Now, in milliseconds since the epoch.
pub(crate) fn now_ms() -> f64 {
    Date::now()
}

#[cfg(test)]
mod tests {
    use super::epoch_ms;

    #[test]
    fn server_timestamps_read_as_milliseconds_since_the_epoch() {
        assert_eq!(epoch_ms("1970-01-01T00:00:00Z"), 0.0);
        assert_eq!(epoch_ms("1970-01-01T00:00:01.5Z"), 1_500.0);
        assert_eq!(epoch_ms("2026-11-25T21:00:00.123Z"), 1_795_640_400_123.0);
        assert_eq!(epoch_ms("2000-02-29T12:00:00.000Z"), 951_825_600_000.0);
        assert_eq!(
            epoch_ms("2026-11-25T22:00:00.123+01:00"),
            epoch_ms("2026-11-25T21:00:00.123Z")
        );
        assert!(epoch_ms("yesterday").is_nan());
        assert!(epoch_ms("2026-13-01T00:00:00Z").is_nan());
        assert!(epoch_ms("2026-11-25T21:00:00").is_nan());
    }
}
