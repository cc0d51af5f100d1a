//! Timestamps without a date-time dependency: the emulator only needs UTC `YYYY-MM-DDTHH:MM:SS.mmmZ` (what RDS
//! sends), relative `now-<N><s|m|h|d>` (so fleet files can hold "young" resources that stay young) and the HTTP
//! `Date` header's IMF-fixdate (which the emulator's clock offset shifts).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats as RDS does: UTC, millisecond precision, `Z` suffix.
pub fn format_iso8601(t: SystemTime) -> String {
    let millis = unix_millis(t);
    let secs = i64::try_from(millis.div_euclid(1000)).unwrap_or(i64::MAX);
    let ms = millis.rem_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// Formats `unix_seconds` as HTTP's `Date` header does (RFC 7231 IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn format_http_date(unix_seconds: i64) -> String {
    // 1970-01-01 was a Thursday.
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (days, sod) = (unix_seconds.div_euclid(86_400), unix_seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    // In range by construction (0..7, 1..=12).
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[m as usize - 1];
    format!("{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// Whole seconds since the Unix epoch (rounded down, so negative before it).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    i64::try_from(unix_millis(t).div_euclid(1000)).unwrap_or(i64::MAX)
}

/// Seconds since the Unix epoch to the millisecond, as awsJson sends a timestamp (a JSON number).
pub(crate) fn epoch_seconds(t: SystemTime) -> f64 {
    unix_millis(t) as f64 / 1000.0
}

fn unix_millis(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_millis()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_millis()).unwrap_or(i128::MAX),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, or `now` / `now-<N><s|m|h|d>` relative to `now`.
pub fn parse_timestamp(s: &str, now: SystemTime) -> Option<SystemTime> {
    if let Some(rest) = s.strip_prefix("now") {
        return if rest.is_empty() { Some(now) } else { now.checked_sub(parse_ago(rest.strip_prefix('-')?)?) };
    }
    parse_iso8601(s)
}

/// `<N><unit>` with unit s, m, h or d.
fn parse_ago(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(per)?))
}

fn parse_iso8601(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut date = date.splitn(3, '-');
    let (y, m, d): (i64, u32, u32) =
        (date.next()?.parse().ok()?, date.next()?.parse().ok()?, date.next()?.parse().ok()?);
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, ""),
    };
    let mut hms = hms.splitn(3, ':');
    let (h, mi, sec): (i64, i64, i64) =
        (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    let valid = (1..=12).contains(&m)
        && (1..=days_in_month(y, m)).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..61).contains(&sec)
        && frac.len() <= 9
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let nanos: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    let secs = days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec;
    let whole = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 { UNIX_EPOCH.checked_add(whole)? } else { UNIX_EPOCH.checked_sub(whole)? };
    t.checked_add(Duration::from_nanos(u64::from(nanos)))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Both are small by construction (1..=31, 1..=12).
    (y, m as u32, d as u32)
}

/// Serde adapter: ISO-8601 out, ISO-8601 or relative `now-…` in.
pub(crate) mod serde_timestamp {
    use std::time::SystemTime;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_iso8601(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_timestamp(&s, SystemTime::now()).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid timestamp {s:?}: expected YYYY-MM-DDTHH:MM:SS[.mmm]Z or now-<N><s|m|h|d>"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        let t = UNIX_EPOCH + Duration::from_millis(1_701_201_345_123);
        assert_eq!(format_iso8601(t), "2023-11-28T19:55:45.123Z");
        assert_eq!(format_iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn formats_http_dates_as_imf_fixdate() {
        assert_eq!(format_http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT", "RFC 7231's example");
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(format_http_date(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1_999)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1)), -1, "rounded down before the epoch");
    }

    #[test]
    fn parses_what_it_formats() {
        let now = SystemTime::now();
        for s in ["2023-11-28T19:55:45.123Z", "2024-02-29T00:00:00.000Z", "1969-12-31T23:59:59.000Z"] {
            let t = parse_timestamp(s, now).expect(s);
            assert_eq!(format_iso8601(t), s);
        }
        let t = parse_timestamp("2026-01-02T03:04:05Z", now).unwrap();
        assert_eq!(format_iso8601(t), "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn parses_relative() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000_000);
        assert_eq!(parse_timestamp("now", now), Some(now));
        assert_eq!(parse_timestamp("now-20m", now), Some(now - Duration::from_secs(1200)));
        assert_eq!(parse_timestamp("now-3d", now), Some(now - Duration::from_secs(3 * 86_400)));
    }

    #[test]
    fn rejects_garbage() {
        let now = SystemTime::now();
        for s in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T00:00:00",
            "2023-01-01T00:00:00.12x4Z",
            "now-",
            "now-5y",
            "now+5m",
        ] {
            assert_eq!(parse_timestamp(s, now), None, "{s}");
        }
    }
}
