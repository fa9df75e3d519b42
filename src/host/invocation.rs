//! The invocation request: `{"Data": {<binding>: value}, "Metadata": {…}}`.
use super::error::{BodyError, InvocationError};
use super::payload::decode_object;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The envelope as the host sends it; `Metadata` may be missing.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Data")]
    data: Option<Value>,
    #[serde(rename = "Metadata", default)]
    metadata: Value,
}

/// One invocation as the host sent it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: String,
    /// `X-Azure-Functions-InvocationId`, or a fresh id when the caller sent none.
    pub id: String,
    data: Map<String, Value>,
    metadata: Map<String, Value>,
}

impl Invocation {
    /// Parses the payload, or says what is malformed.
    pub fn parse(
        function: &str,
        invocation_id: Option<&str>,
        body: &[u8],
    ) -> Result<Self, InvocationError> {
        // One pass over the bytes; only a payload that fails is looked at again, to say why.
        // (serde would also build the envelope from a JSON array: only an object is one.)
        let is_object = body.trim_ascii_start().first() == Some(&b'{');
        let envelope = is_object
            .then(|| serde_json::from_slice::<Envelope>(body).ok())
            .flatten()
            .ok_or_else(
                || match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                    Ok(_) => InvocationError::NotAnObject,
                    Err(_) => InvocationError::NotJson,
                },
            )?;
        let data = match envelope.data {
            Some(Value::Object(data)) => data,
            Some(_) => return Err(InvocationError::DataNotAnObject),
            None => return Err(InvocationError::NoData),
        };
        let metadata = match envelope.metadata {
            Value::Object(metadata) => metadata,
            _ => Map::new(),
        };
        Ok(Self {
            function: function.to_string(),
            id: invocation_id
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            data,
            metadata,
        })
    }

    fn binding(&self, name: &'static str) -> Result<&Value, InvocationError> {
        self.data
            .get(name)
            .filter(|v| !v.is_null())
            .ok_or(InvocationError::MissingBinding(name))
    }

    /// The `req` binding of an HTTP trigger.
    pub fn http(&self) -> Result<HttpTrigger, InvocationError> {
        // The request object is the host's, not the caller's body: no body limit applies.
        let req = match self.binding("req")? {
            Value::Object(req) => req.clone(),
            other => decode_object(Some(other)).map_err(|_| InvocationError::NotAnHttpRequest)?,
        };
        Ok(HttpTrigger { req })
    }

    /// The `message` binding of a Service Bus trigger, with its trustworthy metadata.
    pub fn queue(&self) -> Result<QueueTrigger, InvocationError> {
        let message = self.binding("message")?;
        let body = decode_object(Some(message));
        // The host copies each top-level body property into Metadata, over its own keys:
        // a MessageId that the body could have written is not the broker's.
        let written_by_body = |key: &str| body.as_ref().is_ok_and(|b| b.contains_key(key));
        let message_id = (!written_by_body("MessageId"))
            .then(|| metadata_string(&self.metadata, "MessageId"))
            .flatten();
        let delivery_count = (!written_by_body("DeliveryCount"))
            .then(|| metadata_string(&self.metadata, "DeliveryCount"))
            .flatten()
            .and_then(|n| n.parse().ok());
        Ok(QueueTrigger {
            body,
            message_id,
            delivery_count,
        })
    }

    /// Checks that a timer invocation carries its `timer` binding.
    pub fn timer(&self) -> Result<(), InvocationError> {
        self.binding("timer").map(|_| ())
    }
}

/// A Metadata value as a plain string: the host sends some strings JSON-encoded again
/// (`"MessageId": "\"abc\""`) and numbers as strings.
fn metadata_string(metadata: &Map<String, Value>, key: &str) -> Option<String> {
    match metadata.get(key)? {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::String(inner)) => Some(inner),
            _ => Some(s.clone()),
        },
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// The `req` binding: `{"Url", "Method", "Headers", "Query", "Params", "Identities", "Body"}`.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    req: Map<String, Value>,
}

impl HttpTrigger {
    fn header(&self, name: &str) -> Option<&str> {
        let headers = self.req.get("Headers")?.as_object()?;
        let (_, value) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        match value {
            Value::Array(values) => values.first()?.as_str(),
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The request body as a command object. The host sends `Body` as a string (base64 for
    /// octet-stream and multipart content), leaves it out when the request had none, and
    /// some host versions send an already-parsed JSON object.
    pub fn command_body(&self) -> Result<Map<String, Value>, BodyError> {
        let body = self.req.get("Body");
        let binary = self.header("Content-Type").is_some_and(|t| {
            t.starts_with("application/octet-stream") || t.starts_with("multipart/")
        });
        match body {
            Some(Value::String(encoded)) if binary => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| BodyError::NotBase64)?;
                let text = String::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)?;
                decode_object(Some(&Value::String(text)))
            }
            other => decode_object(other),
        }
    }

    /// Who called, as far as the host tells: the authentication type and the most
    /// identifying claim (function key id, app id or object id), never a token.
    pub fn caller(&self) -> Option<String> {
        const CLAIMS: [(&str, &str); 5] = [
            (
                "http://schemas.microsoft.com/2017/07/functions/claims/keyid",
                "keyid",
            ),
            ("appid", "appid"),
            ("azp", "appid"),
            (
                "http://schemas.microsoft.com/identity/claims/objectidentifier",
                "oid",
            ),
            ("oid", "oid"),
        ];
        let identities = self.req.get("Identities")?.as_array()?;
        let described: Vec<String> = identities
            .iter()
            .filter_map(|identity| {
                let kind = identity.get("AuthenticationType")?.as_str()?;
                let claims = identity.get("Claims").and_then(Value::as_array);
                let claim = CLAIMS.iter().find_map(|(claim_type, label)| {
                    claims?
                        .iter()
                        .find(|c| c.get("Type").and_then(Value::as_str) == Some(claim_type))
                        .and_then(|c| c.get("Value")?.as_str())
                        .map(|v| format!("{label}={v}"))
                });
                Some(match claim {
                    Some(claim) => format!("{kind}({claim})"),
                    None => kind.to_string(),
                })
            })
            .collect();
        (!described.is_empty()).then(|| described.join(","))
    }
}

/// The `message` binding of a Service Bus trigger.
#[derive(Debug, Clone)]
pub struct QueueTrigger {
    pub body: Result<Map<String, Value>, BodyError>,
    pub message_id: Option<String>,
    pub delivery_count: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invocation(payload: Value) -> Invocation {
        Invocation::parse("F", Some("inv-1"), payload.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn queue_metadata_strings_are_unwrapped_and_numbers_parsed() {
        let inv = invocation(json!({"Data": {"message": "\"{\\\"a\\\":1}\""},
            "Metadata": {"MessageId": "\"order-42\"", "DeliveryCount": "3"}}));
        let q = inv.queue().unwrap();
        assert_eq!(q.body.unwrap()["a"], 1);
        assert_eq!(q.message_id.as_deref(), Some("order-42"));
        assert_eq!(q.delivery_count, Some(3));
    }

    #[test]
    fn a_message_id_the_body_could_have_written_is_not_trusted() {
        let inv = invocation(
            json!({"Data": {"message": {"MessageId": "forged"}}, "Metadata": {"MessageId": "forged"}}),
        );
        assert_eq!(inv.queue().unwrap().message_id, None);
    }

    #[test]
    fn a_payload_without_data_or_binding_is_malformed() {
        assert_eq!(
            Invocation::parse("F", None, b"{}").unwrap_err(),
            InvocationError::NoData
        );
        assert_eq!(
            Invocation::parse("F", None, b"[]").unwrap_err(),
            InvocationError::NotAnObject
        );
        assert_eq!(
            Invocation::parse("F", None, br#"[{"a": 1}, {}]"#).unwrap_err(),
            InvocationError::NotAnObject
        );
        assert_eq!(
            Invocation::parse("F", None, b"nope").unwrap_err(),
            InvocationError::NotJson
        );
        assert_eq!(
            invocation(json!({"Data": {}})).queue().unwrap_err(),
            InvocationError::MissingBinding("message")
        );
        assert!(invocation(json!({"Data": {"req": 5}})).http().is_err());
    }

    #[test]
    fn http_bodies_in_every_host_encoding_decode() {
        let body = json!({"a": 1});
        for req in [
            json!({"Body": body.to_string(), "Headers": {"Content-Type": ["application/json"]}}),
            json!({"Body": body.clone()}),
            json!({"Body": base64::engine::general_purpose::STANDARD.encode(body.to_string()),
                   "Headers": {"content-type": ["application/octet-stream"]}}),
        ] {
            let inv = invocation(json!({"Data": {"req": req}}));
            assert_eq!(inv.http().unwrap().command_body().unwrap()["a"], 1);
        }
        let inv = invocation(json!({"Data": {"req": {"Method": "POST"}}}));
        assert_eq!(
            inv.http().unwrap().command_body().unwrap_err(),
            BodyError::Empty
        );
    }

    #[test]
    fn the_caller_is_described_by_its_most_identifying_claim() {
        let inv = invocation(json!({"Data": {"req": {"Identities": [
            {"AuthenticationType": "WebJobsAuthLevel", "Claims": [
                {"Type": "http://schemas.microsoft.com/2017/07/functions/claims/authlevel", "Value": "Function"},
                {"Type": "http://schemas.microsoft.com/2017/07/functions/claims/keyid", "Value": "default"}]},
            {"AuthenticationType": "aad", "Claims": [{"Type": "appid", "Value": "app-1"}]}]}}}));
        assert_eq!(
            inv.http().unwrap().caller().as_deref(),
            Some("WebJobsAuthLevel(keyid=default),aad(appid=app-1)")
        );
    }
}
