//! A local stand-in for one Service Bus queue, with the rules the deployed queues follow
//! (docs/local.md, *Local queues*): a message sent with a `MessageId` seen within the
//! duplicate detection window is dropped; a delivery locks the message and counts; a
//! delivery the function fails puts the message back for the next one; after
//! `maxDeliveryCount` deliveries it is dead-lettered with the reason Service Bus gives.
//!
//! Written here rather than taken from a crate: no crate emulates Service Bus, and the
//! deployed queue's behaviour that matters to this app is the few rules above.
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};
use tokio::sync::Notify;

use crate::app::QueueProperties;

/// How many settled deliveries a queue's state lists, the most recent.
const RECENT_DELIVERIES: usize = 100;

/// A message as it waits, is delivered, or is dead-lettered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub message_id: String,
    pub sequence_number: u64,
    pub delivery_count: u32,
    #[serde(with = "humantime_serde_compat")]
    pub enqueued_time_utc: SystemTime,
    pub body: Value,
}

/// A delivery in flight: the message, locked until it is settled.
#[derive(Debug)]
pub struct Lease {
    pub message: Message,
    pub locked_until: Instant,
}

/// How a delivery ended, as the Functions host settles it: completed when the function
/// succeeded, abandoned (with the function's error) when it failed.
#[derive(Debug, Clone)]
pub enum Settlement {
    Complete,
    Abandon { error: String },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    #[serde(flatten)]
    pub message: Message,
    /// `MaxDeliveryCountExceeded`, as Service Bus writes it.
    pub dead_letter_reason: &'static str,
    pub dead_letter_error_description: String,
    /// What the function said on the last delivery.
    pub last_error: String,
}

/// One settled delivery, for the queue's state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub message_id: String,
    pub delivery_count: u32,
    /// `completed`, `abandoned` (it comes back) or `deadLettered`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Enqueued {
        sequence_number: u64,
    },
    /// The MessageId was sent within the duplicate detection window: dropped, as Service Bus
    /// drops it (the sender still sees success).
    Duplicate,
}

pub struct Queue {
    pub name: String,
    /// The function its messages trigger.
    pub function: String,
    pub properties: QueueProperties,
    state: Mutex<State>,
    arrived: Notify,
}

#[derive(Default)]
struct State {
    active: VecDeque<Message>,
    locked: Vec<(String, Instant)>,
    dead_letters: Vec<DeadLetter>,
    /// MessageIds sent, and when, within the duplicate detection window.
    sent: HashMap<String, Instant>,
    completed: u64,
    duplicates_dropped: u64,
    recent: VecDeque<Delivery>,
    next_sequence_number: u64,
}

impl Queue {
    pub fn new(name: &str, function: &str, properties: QueueProperties) -> Self {
        Self {
            name: name.to_string(),
            function: function.to_string(),
            properties,
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
        }
    }

    /// Enqueues `body`; a `message_id` sent within the duplicate detection window is dropped.
    pub fn send(&self, message_id: Option<String>, body: Value) -> Sent {
        let now = Instant::now();
        let mut state = self.state.lock().expect("not poisoned");
        let window = self.properties.duplicate_detection_window;
        state.sent.retain(|_, at| now.duration_since(*at) < window);
        let message_id = message_id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        if state.sent.contains_key(&message_id) {
            state.duplicates_dropped += 1;
            return Sent::Duplicate;
        }
        state.sent.insert(message_id.clone(), now);
        state.next_sequence_number += 1;
        let sequence_number = state.next_sequence_number;
        state.active.push_back(Message {
            message_id,
            sequence_number,
            delivery_count: 0,
            enqueued_time_utc: SystemTime::now(),
            body,
        });
        drop(state);
        self.arrived.notify_one();
        Sent::Enqueued { sequence_number }
    }

    /// The next message, locked and counted as delivered; waits for one.
    pub async fn receive(&self) -> Lease {
        loop {
            let arrived = self.arrived.notified();
            if let Some(lease) = self.try_receive() {
                return lease;
            }
            arrived.await;
        }
    }

    fn try_receive(&self) -> Option<Lease> {
        let mut state = self.state.lock().expect("not poisoned");
        let mut message = state.active.pop_front()?;
        message.delivery_count += 1;
        let locked_until = Instant::now() + self.properties.lock_duration;
        state
            .locked
            .push((message.message_id.clone(), locked_until));
        // Another worker may take the next message at once.
        if !state.active.is_empty() {
            self.arrived.notify_one();
        }
        Some(Lease {
            message,
            locked_until,
        })
    }

    /// Settles a delivery: completed, or abandoned (back for the next delivery, or
    /// dead-lettered once it has been delivered `maxDeliveryCount` times).
    pub fn settle(&self, lease: Lease, settlement: Settlement) {
        let mut state = self.state.lock().expect("not poisoned");
        let id = &lease.message.message_id;
        if let Some(at) = state.locked.iter().position(|(locked, _)| locked == id) {
            state.locked.remove(at);
        }
        let message = lease.message;
        let (outcome, error) = match settlement {
            Settlement::Complete => {
                state.completed += 1;
                ("completed", None)
            }
            Settlement::Abandon { error } => {
                if message.delivery_count >= self.properties.max_delivery_count {
                    state.dead_letters.push(DeadLetter {
                        dead_letter_reason: "MaxDeliveryCountExceeded",
                        dead_letter_error_description: format!(
                            "Message could not be consumed after {} delivery attempts.",
                            self.properties.max_delivery_count
                        ),
                        last_error: error.clone(),
                        message: message.clone(),
                    });
                    ("deadLettered", Some(error))
                } else {
                    state.active.push_front(message.clone());
                    self.arrived.notify_one();
                    ("abandoned", Some(error))
                }
            }
        };
        if state.recent.len() == RECENT_DELIVERIES {
            state.recent.pop_front();
        }
        state.recent.push_back(Delivery {
            message_id: message.message_id,
            delivery_count: message.delivery_count,
            outcome,
            error,
        });
    }

    /// The queue as `GET /{queue}` shows it.
    pub fn state(&self) -> Value {
        let state = self.state.lock().expect("not poisoned");
        let now = Instant::now();
        serde_json::json!({
            "queue": self.name,
            "function": self.function,
            "maxDeliveryCount": self.properties.max_delivery_count,
            "lockDurationSeconds": self.properties.lock_duration.as_secs(),
            "duplicateDetectionWindowSeconds": self.properties.duplicate_detection_window.as_secs(),
            "activeMessageCount": state.active.len(),
            "active": state.active,
            "locked": state.locked.iter().map(|(id, until)| serde_json::json!({
                "messageId": id,
                "lockedForSeconds": until.saturating_duration_since(now).as_secs(),
            })).collect::<Vec<_>>(),
            "completedCount": state.completed,
            "duplicatesDropped": state.duplicates_dropped,
            "deadLetterMessageCount": state.dead_letters.len(),
            "deadLetters": state.dead_letters,
            "recentDeliveries": state.recent,
        })
    }

    /// Whether nothing waits or is in flight.
    pub fn is_idle(&self) -> bool {
        let state = self.state.lock().expect("not poisoned");
        state.active.is_empty() && state.locked.is_empty()
    }
}

/// `SystemTime` as RFC 3339, as Service Bus writes `EnqueuedTimeUtc`.
mod humantime_serde_compat {
    use serde::Serializer;
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_seconds(*at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn queue(max_delivery_count: u32) -> Queue {
        Queue::new(
            "resume-task",
            "ResumeTaskQueue",
            QueueProperties {
                max_delivery_count,
                lock_duration: Duration::from_secs(300),
                duplicate_detection_window: Duration::from_secs(3_600),
            },
        )
    }

    #[tokio::test]
    async fn a_message_is_delivered_counted_and_completed() {
        let q = queue(3);
        assert!(matches!(
            q.send(Some("m-1".into()), json!({"a": 1})),
            Sent::Enqueued { .. }
        ));
        let lease = q.receive().await;
        assert_eq!(lease.message.delivery_count, 1);
        assert_eq!(q.state()["locked"][0]["messageId"], "m-1");
        q.settle(lease, Settlement::Complete);
        let state = q.state();
        assert_eq!(state["completedCount"], 1);
        assert_eq!(state["activeMessageCount"], 0);
        assert!(q.is_idle());
    }

    #[tokio::test]
    async fn a_failed_delivery_comes_back_until_the_last_then_is_dead_lettered() {
        let q = queue(3);
        q.send(Some("bad".into()), json!({}));
        for delivery in 1..=3 {
            let lease = q.receive().await;
            assert_eq!(lease.message.delivery_count, delivery);
            q.settle(
                lease,
                Settlement::Abandon {
                    error: "invalidCommand".into(),
                },
            );
        }
        let state = q.state();
        assert_eq!(state["deadLetterMessageCount"], 1);
        assert_eq!(
            state["deadLetters"][0]["deadLetterReason"],
            "MaxDeliveryCountExceeded"
        );
        assert_eq!(state["deadLetters"][0]["deliveryCount"], 3);
        assert_eq!(state["deadLetters"][0]["lastError"], "invalidCommand");
        let outcomes: Vec<_> = state["recentDeliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["abandoned", "abandoned", "deadLettered"]);
        assert!(q.is_idle());
    }

    #[test]
    fn a_message_id_seen_within_the_window_is_dropped() {
        let q = queue(3);
        assert!(matches!(
            q.send(Some("m".into()), json!(1)),
            Sent::Enqueued { .. }
        ));
        assert_eq!(q.send(Some("m".into()), json!(2)), Sent::Duplicate);
        assert!(matches!(q.send(None, json!(3)), Sent::Enqueued { .. }));
        let state = q.state();
        assert_eq!(state["duplicatesDropped"], 1);
        assert_eq!(state["activeMessageCount"], 2);
    }
}
