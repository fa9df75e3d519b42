//! The environment the settings are read from, and the error a setting that cannot be used
//! makes; the readers every kind of setting shares (durations, id lists).
use crate::command::ResourceId;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// A snapshot of environment variables, which remembers the names it was asked for (so
/// the deployment's tests can check that every setting read is set or has a default).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    asked: RefCell<BTreeSet<String>>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
            ..Self::default()
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Self::default()
        }
    }

    /// The value, or `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.asked.borrow_mut().insert(name.to_string());
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every name [`Env::get`] was asked for so far.
    pub fn names_asked(&self) -> BTreeSet<String> {
        self.asked.borrow().clone()
    }
}

/// A setting that cannot be used, named, with what it accepts.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

pub(super) fn invalid(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        problem: problem.into(),
    }
}

/// A duration in the humantime format (`45s`, `90m`, `2h30m`), `default` when unset; never zero.
pub(super) fn parse_duration(
    env: &Env,
    setting: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let text = env.get(setting).unwrap_or(default);
    humantime::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid(
                setting,
                format!("'{text}' is not a duration such as 45s, 90m, 1h, 2h30m"),
            )
        })
}

/// A comma-separated list of ids, whitespace trimmed; each must be a valid id.
pub(super) fn id_list(
    env: &Env,
    setting: &'static str,
) -> Result<Option<Vec<ResourceId>>, ConfigError> {
    let Some(text) = env.get(setting) else {
        return Ok(None);
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            ResourceId::parse_str(setting, id)
                .map_err(|e| invalid(setting, format!("'{id}': {}", e.message())))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}
