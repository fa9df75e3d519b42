//! Graph's enumerations that this app decides on, each parsed once, ignoring case (Graph's
//! own answers are not consistent: `Delivering` beside `delivering`), with `Other` keeping a
//! member Graph adds later as it came. Nowhere else is one of them compared as a string.
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An enumeration with Graph's spelling of each member ([`as_str`](Self::as_str), which is
/// also how it serializes), read leniently: a value of another type is no value at all.
macro_rules! graph_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A member this app does not know, as Graph spelt it.
            Other(String),
        }

        impl $name {
            /// The member `text` names, ignoring case.
            pub fn parse(text: &str) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })+
                Self::Other(text.to_string())
            }

            /// Graph's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::parse(text)
            }
        }

        /// From a string only; any other value is refused (and a
        /// [`Lenient`](super::models::Lenient) field of it is `None`).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

graph_enum! {
    /// A task processing result's `processingStatus` (`lifecycleWorkflowProcessingStatus`).
    ProcessingStatus {
        Queued = "queued",
        InProgress = "inProgress",
        Completed = "completed",
        CompletedWithErrors = "completedWithErrors",
        Canceled = "canceled",
        Failed = "failed",
    }
}

graph_enum! {
    /// A custom extension callout instance's `status` (`customExtensionCalloutInstanceStatus`).
    CalloutStatus {
        CalloutSent = "calloutSent",
        CallbackTimedOut = "callbackTimedOut",
        CalloutFailed = "calloutFailed",
        CallbackReceived = "callbackReceived",
        WaitingForCallback = "waitingForCallback",
    }
}

graph_enum! {
    /// An access package assignment request's `state` (`accessPackageRequestState`).
    RequestState {
        Submitted = "submitted",
        PendingApproval = "pendingApproval",
        Delivering = "delivering",
        Delivered = "delivered",
        DeliveryFailed = "deliveryFailed",
        Denied = "denied",
        Scheduled = "scheduled",
        Canceled = "canceled",
        PartiallyDelivered = "partiallyDelivered",
    }
}

graph_enum! {
    /// The stage of an access package request at which a custom extension runs
    /// (`accessPackageCustomExtensionStage`).
    Stage {
        Created = "assignmentRequestCreated",
        Approved = "assignmentRequestApproved",
        Granted = "assignmentRequestGranted",
        Removed = "assignmentRequestRemoved",
        FourteenDaysBeforeExpiration = "assignmentFourteenDaysBeforeExpiration",
        OneDayBeforeExpiration = "assignmentOneDayBeforeExpiration",
    }
}

impl Stage {
    /// The stages whose callout can wait for a callback, and so be resumed.
    pub const RESUMABLE: [Stage; 4] = [
        Stage::Created,
        Stage::Approved,
        Stage::Granted,
        Stage::Removed,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_ignoring_case_and_others_keep_their_spelling() {
        assert_eq!(RequestState::parse("Delivering"), RequestState::Delivering);
        assert_eq!(
            CalloutStatus::parse("WAITINGFORCALLBACK"),
            CalloutStatus::WaitingForCallback
        );
        assert_eq!(Stage::parse("assignmentrequestcreated"), Stage::Created);
        let later = ProcessingStatus::parse("pausedForReview");
        assert_eq!(later, ProcessingStatus::Other("pausedForReview".into()));
        assert_eq!(later.as_str(), "pausedForReview");
        assert_eq!(
            serde_json::to_value(Stage::Granted).unwrap(),
            serde_json::json!("assignmentRequestGranted")
        );
    }

    #[test]
    fn a_field_of_another_type_is_no_value() {
        #[derive(Deserialize)]
        struct Holder {
            #[serde(default)]
            status: super::super::models::Lenient<CalloutStatus>,
        }
        let read = |json: &str| {
            serde_json::from_str::<Holder>(json)
                .unwrap()
                .status
                .into_option()
        };
        assert_eq!(read(r#"{"status": 3}"#), None);
        assert_eq!(read(r#"{}"#), None);
        assert_eq!(
            read(r#"{"status": "callbackReceived"}"#),
            Some(CalloutStatus::CallbackReceived)
        );
    }
}
