//! The function app as the Functions host reads it: each function folder's `function.json`
//! (which trigger, which HTTP methods, which queue), host.json's route prefix and Service Bus
//! settings, and the queues' properties as the template deploys them.
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A function and what triggers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// An HTTP trigger and its methods, in capitals (`GET`, `POST`).
    Http {
        methods: Vec<String>,
    },
    /// A Service Bus trigger on this queue.
    Queue {
        queue: String,
    },
    Timer,
}

/// What the host would serve from the app root.
#[derive(Debug, Clone)]
pub struct FunctionApp {
    pub functions: Vec<Function>,
    /// host.json's `extensions.http.routePrefix` (`api`).
    pub route_prefix: String,
    /// host.json's `extensions.serviceBus.maxConcurrentCalls`: deliveries in flight per queue.
    pub max_concurrent_calls: usize,
    pub queues: QueueProperties,
}

/// The queues' properties, from the template's own defaults (infra/main.bicep and
/// infra/modules/servicebus.bicep), so that a message is dead-lettered locally after the
/// same number of deliveries as in Azure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueProperties {
    pub max_delivery_count: u32,
    pub lock_duration: Duration,
    pub duplicate_detection_window: Duration,
}

impl FunctionApp {
    pub fn read(root: &Path) -> Result<Self> {
        let mut functions = Vec::new();
        for entry in std::fs::read_dir(root).context("Failed to list the app root")? {
            let folder = entry?.path();
            let file = folder.join("function.json");
            if !file.is_file() {
                continue;
            }
            let name = folder
                .file_name()
                .and_then(|n| n.to_str())
                .context("a function folder's name is not UTF-8")?
                .to_string();
            let json = read_json(&file)?;
            functions.push(Function {
                trigger: trigger(&json).with_context(|| format!("{}", file.display()))?,
                name,
            });
        }
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        let host = read_json(&root.join("host.json"))?;
        Ok(Self {
            functions,
            route_prefix: host["extensions"]["http"]["routePrefix"]
                .as_str()
                .unwrap_or("api")
                .to_string(),
            max_concurrent_calls: host["extensions"]["serviceBus"]["maxConcurrentCalls"]
                .as_u64()
                .unwrap_or(16) as usize,
            queues: QueueProperties::of_template(root)?,
        })
    }

    /// The HTTP function called `name` serving `method`, ignoring case as the host does.
    pub fn http_function(&self, name: &str, method: &str) -> Option<&Function> {
        self.functions.iter().find(|f| {
            f.name.eq_ignore_ascii_case(name)
                && matches!(&f.trigger, Trigger::Http { methods } if methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
        })
    }

    /// The queues and the function each one triggers.
    pub fn queue_functions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.functions.iter().filter_map(|f| match &f.trigger {
            Trigger::Queue { queue } => Some((queue.as_str(), f.name.as_str())),
            _ => None,
        })
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Failed to read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn trigger(function_json: &Value) -> Result<Trigger> {
    let bindings = function_json["bindings"].as_array().into_iter().flatten();
    for binding in bindings {
        match binding["type"].as_str() {
            Some("httpTrigger") => {
                let methods = binding["methods"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_uppercase)
                    .collect();
                return Ok(Trigger::Http { methods });
            }
            Some("serviceBusTrigger") => {
                let queue = binding["queueName"]
                    .as_str()
                    .context("a serviceBusTrigger without queueName")?;
                return Ok(Trigger::Queue {
                    queue: queue.to_string(),
                });
            }
            Some("timerTrigger") => return Ok(Trigger::Timer),
            _ => {}
        }
    }
    bail!("no trigger binding")
}

impl QueueProperties {
    /// The template's defaults: `maxDeliveryCount` as infra/main.bicep derives it from
    /// `outageRideOutMinutes` and `graphRetryBudgetSeconds`, the lock and the duplicate
    /// detection window as infra/modules/servicebus.bicep sets them.
    pub fn of_template(root: &Path) -> Result<Self> {
        let main = std::fs::read_to_string(root.join("infra/main.bicep"))
            .context("Failed to read infra/main.bicep")?;
        let service_bus = std::fs::read_to_string(root.join("infra/modules/servicebus.bicep"))
            .context("Failed to read infra/modules/servicebus.bicep")?;
        let ride_out: u32 = param_default(&main, "outageRideOutMinutes")?.parse()?;
        let budget: u32 = param_default(&main, "graphRetryBudgetSeconds")?.parse()?;
        Ok(Self {
            // The template's own expression: `(outageRideOutMinutes * 60 + graphRetryBudgetSeconds - 1) / graphRetryBudgetSeconds`.
            max_delivery_count: (ride_out * 60).div_ceil(budget),
            lock_duration: iso_duration(param_default(&service_bus, "lockDuration")?)?,
            duplicate_detection_window: iso_duration(param_default(
                &service_bus,
                "duplicateDetectionWindow",
            )?)?,
        })
    }
}

/// The default of `param NAME TYPE = VALUE` in a Bicep file, without quotes.
fn param_default<'a>(bicep: &'a str, name: &str) -> Result<&'a str> {
    bicep
        .lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("param ")?.strip_prefix(name)?;
            let (_, value) = rest.split_once('=')?;
            Some(value.trim().trim_matches('\''))
        })
        .with_context(|| format!("no default for param {name}"))
}

/// `PT5M`, `PT1H`: the ISO 8601 durations the template's Service Bus parameters use.
fn iso_duration(text: &str) -> Result<Duration> {
    let Some(time) = text.strip_prefix("PT") else {
        bail!("'{text}' is not a PT… duration");
    };
    let mut seconds = 0u64;
    let mut number = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' => number.push(c),
            'H' | 'M' | 'S' => {
                let n: u64 = number.parse().with_context(|| format!("'{text}'"))?;
                seconds += n * match c {
                    'H' => 3_600,
                    'M' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => bail!("'{text}' is not a PT… duration"),
        }
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    #[test]
    fn the_app_is_read_as_the_host_reads_it() {
        let app = FunctionApp::read(root()).unwrap();
        assert_eq!(app.route_prefix, "api");
        assert!(app.http_function("resumetask", "post").is_some());
        assert!(app.http_function("InProgress", "GET").is_some());
        assert!(app.http_function("ResumeTask", "GET").is_none());
        assert!(app.http_function("ResumeTaskQueue", "POST").is_none());
        let queues: Vec<_> = app.queue_functions().collect();
        assert_eq!(
            queues,
            [
                ("resume-access-request", "ResumeAccessRequestQueue"),
                ("resume-task", "ResumeTaskQueue")
            ]
        );
    }

    #[test]
    fn the_queues_are_those_the_template_deploys() {
        let queues = QueueProperties::of_template(root()).unwrap();
        // 200 minutes of outage ridden out at 240 s a delivery.
        assert_eq!(queues.max_delivery_count, 50);
        assert_eq!(queues.lock_duration, Duration::from_secs(300));
        assert_eq!(
            queues.duplicate_detection_window,
            Duration::from_secs(3_600)
        );
    }

    #[test]
    fn iso_durations_read_hours_minutes_and_seconds() {
        assert_eq!(
            iso_duration("PT1H30M5S").unwrap(),
            Duration::from_secs(5_405)
        );
        assert!(iso_duration("P1D").is_err() && iso_duration("PT5X").is_err());
    }
}
