//! The queues: duplicate detection, dead letters, and the outage they ride out.
use super::{redeploy, Check};
use crate::doctor::azure::{Deployment, Target};
use crate::graph::client::ATTEMPT_TIMEOUT;
use crate::graph::models::iso8601_duration;
use std::time::Duration;

/// A queue's checks: duplicate detection, dead letters, and whether deliveries × budget
/// ride out `must_ride_out` (the longest callback timeout its work waits with), with a lock
/// longer than a delivery.
pub(super) fn queue_checks(
    queue_name: &str,
    deployment: &Deployment,
    budget: Option<Duration>,
    must_ride_out: Duration,
    target: &Target,
) -> Vec<Check> {
    let id = |what: &str| format!("queue/{queue_name}/{what}");
    let Some(queue) = deployment
        .queues
        .iter()
        .find(|q| q.name.as_deref() == Some(queue_name))
    else {
        return vec![Check::fail(
            id("exists"),
            format!("no queue {queue_name} in the resource group's Service Bus namespaces"),
            redeploy(target),
        )];
    };
    let properties = queue.properties.as_ref();
    let mut checks = Vec::new();
    let duplicates = properties.and_then(|p| *p.requires_duplicate_detection);
    checks.push(match duplicates {
        Some(true) => Check::pass(id("duplicateDetection"), "a message sent twice with one MessageId is delivered once"),
        _ => Check::fail(
            id("duplicateDetection"),
            "duplicate detection is off, so a starter's retried send is delivered twice",
            "duplicate detection can only be set when a queue is created: delete the queue (after it is empty) and deploy the template again",
        ),
    });
    let dead = properties
        .and_then(|p| p.count_details.as_ref())
        .and_then(|c| *c.dead_letter_message_count);
    checks.push(match dead {
        Some(0) => Check::pass(id("deadLetters"), "no dead-lettered message"),
        Some(n) => Check::fail(
            id("deadLetters"),
            format!("{n} dead-lettered message{}: work that waits, or waited, for a resume that never came", if n == 1 { "" } else { "s" }),
            format!("read them (README, Outcomes: dead letters), resume what still waits (resume-handler report), then delete them; Service Bus Explorer on {queue_name}'s dead-letter queue shows each with its reason"),
        ),
        None => Check::unknown(id("deadLetters"), "Resource Manager gave no dead-letter count"),
    });
    let deliveries = properties.and_then(|p| *p.max_delivery_count);
    let lock = properties
        .and_then(|p| p.lock_duration.as_deref())
        .and_then(iso8601_duration);
    checks.push(match (deliveries, budget, lock) {
        (Some(n), Some(budget), Some(lock)) => {
            let ride_out = budget * n;
            let longest = must_ride_out;
            if lock < budget + ATTEMPT_TIMEOUT {
                Check::fail(
                    id("rideOut"),
                    format!("its lock ({}) is shorter than a delivery may take (GRAPH_RETRY_BUDGET {} and one 30 s attempt): the message would come back while it is still being resumed", humantime::format_duration(lock), humantime::format_duration(budget)),
                    redeploy(target),
                )
            } else if ride_out < longest {
                Check::fail(
                    id("rideOut"),
                    format!("{n} deliveries × {} ride out {} of outage, less than the {} its work may wait (its extensions' longest callback timeout): a message can be dead-lettered while Entra still waits", humantime::format_duration(budget), humantime::format_duration(ride_out), humantime::format_duration(longest)),
                    "deploy the template again with -p outageRideOutMinutes=200 (or more), which sets maxDeliveryCount from it",
                )
            } else {
                Check::pass(id("rideOut"), format!("{n} deliveries × {} ride out {} of outage", humantime::format_duration(budget), humantime::format_duration(ride_out)))
            }
        }
        _ => Check::unknown(id("rideOut"), "the outage it rides out needs its maxDeliveryCount and lock, and the app's GRAPH_RETRY_BUDGET"),
    });
    checks
}
