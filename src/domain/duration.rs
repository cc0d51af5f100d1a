//! Human durations for settings (`24h`, `90m`, `1h30m`, `0`), parsed strictly so a typo is an error, not a surprise.

use std::time::Duration;

/// Parses `0` or one or more `<whole number><unit>` parts, units `s`, `m`, `h`, `d`.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit: u64 = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return None,
        };
        let amount: u64 = digits.parse().ok()?;
        total = total.checked_add(amount.checked_mul(unit)?)?;
        digits.clear();
    }
    if !digits.is_empty() || text.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// Renders a duration for people in the form `parse` reads, rounded down to its two largest units
/// (`1h30m`, `254d8h`, `0s`).
pub fn format(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut units = 0;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size && units < 2 {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
            units += 1;
        } else if units > 0 {
            units = 2;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_forms() {
        let cases = [
            ("0", Some(0)),
            ("30s", Some(30)),
            ("90m", Some(5_400)),
            ("24h", Some(86_400)),
            ("1h30m", Some(5_400)),
            ("2d", Some(172_800)),
            ("", None),
            ("24", None),
            ("h", None),
            ("1 h", None),
            ("-1h", None),
            ("1.5h", None),
            ("1w", None),
            ("99999999999999999999d", None),
            ("18446744073709551615s", Some(u64::MAX)),
            ("18446744073709551615s1s", None),
            ("213503982334602d", None),
            ("1d1d", Some(172_800)),
        ];
        for (text, secs) in cases {
            assert_eq!(parse(text), secs.map(Duration::from_secs), "{text:?}");
        }
    }

    #[test]
    fn formats_what_it_parses_in_two_units_at_most() {
        for text in ["0s", "30s", "1h30m", "1d", "2d3h"] {
            assert_eq!(format(parse(text).expect(text)), text);
        }
        let cases = [("2d3h4m5s", "2d3h"), ("1h0m59s", "1h"), ("1d2m", "1d"), ("1d1s", "1d"), ("0", "0s")];
        for (text, shown) in cases {
            assert_eq!(format(parse(text).expect(text)), shown, "{text}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn parsing_never_panics_and_formatting_never_overstates(
                text in prop_oneof!["([0-9]{1,21}[smhd]){1,4}", ".{0,24}"],
            ) {
                if let Some(duration) = parse(&text) {
                    let shown = parse(&format(duration)).expect("format writes what parse reads");
                    prop_assert!(shown <= duration, "{} shown as {}", text, format(duration));
                }
            }
        }
    }
}
