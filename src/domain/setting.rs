//! The vocabulary of settings shared by the run-wide configuration and the providers' own settings: one documented
//! setting, the error a bad value gets, and readers that give every variable the same checks and messages.

use crate::domain::duration;
use std::ops::RangeInclusive;
use std::time::Duration;

/// An invalid setting.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting {variable}={value:?}: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: String,
}

/// One documented setting: its variable, default and meaning (shared by `--help`, the README and errors); `flag`
/// is its CLI flag, if it has one.
pub struct Setting {
    pub variable: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
    pub flag: Option<&'static str>,
}

/// The accepted range of a grace or an age: wide enough for any sane policy, narrow enough that no arithmetic on it
/// (a first-seen mark's TTL is 4x the longest grace) can overflow.
pub const AGE_RANGE: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(3_650 * 86_400);

/// The variables of one run, each read trimmed, an empty value counting as unset.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Env<'a> {
        Env { lookup }
    }

    pub fn get(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// A duration within `range`, or `None` when unset.
    pub fn duration_in(
        &self,
        variable: &'static str,
        range: &RangeInclusive<Duration>,
    ) -> Result<Option<Duration>, ConfigError> {
        let Some(v) = self.get(variable) else { return Ok(None) };
        duration::parse(&v).filter(|d| range.contains(d)).map(Some).ok_or_else(|| {
            invalid(
                variable,
                &v,
                &format!(
                    "a duration from {} to {}: whole numbers with units s, m, h, d, such as 90s or 1h30m",
                    duration::format(*range.start()),
                    duration::format(*range.end())
                ),
            )
        })
    }

    /// A comma list of values, each one of `accepted`, without repeats; `None` when unset.
    pub fn one_of_each(&self, variable: &'static str, accepted: &[&str]) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(v) = self.get(variable) else { return Ok(None) };
        let mut chosen: Vec<String> = Vec::new();
        for value in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !accepted.contains(&value) {
                return Err(invalid(variable, &v, &format!("a comma list of {}", accepted.join(", "))));
            }
            if !chosen.iter().any(|c| c == value) {
                chosen.push(value.to_owned());
            }
        }
        if chosen.is_empty() {
            return Err(invalid(variable, &v, &format!("a comma list of {}", accepted.join(", "))));
        }
        Ok(Some(chosen))
    }
}

pub fn invalid(variable: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError { variable, value: value.to_owned(), expected: expected.to_owned() }
}
