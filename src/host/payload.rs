//! Turning a binding value into a command body: a JSON object, possibly wrapped in layers
//! of JSON-string encoding by the host or by the sender.
use super::error::BodyError;
use super::response::json_len;
use serde_json::{Map, Value};

/// The largest command body accepted, measured on the text being decoded.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How many times a string may be decoded on the way to the object: the host's own
/// encoding (one or two layers) plus the sender's (at most three).
const MAX_DECODES: usize = 4;

/// Decodes a binding value into a JSON object, or says why it cannot.
/// The size limit holds whatever shape the body arrives in: a string is measured as it
/// is, an object as its JSON text.
pub fn decode_object(value: Option<&Value>) -> Result<Map<String, Value>, BodyError> {
    let mut current = match value {
        None | Some(Value::Null) => return Err(BodyError::Empty),
        Some(value @ (Value::Object(_) | Value::Array(_))) if json_len(value) > MAX_BODY_BYTES => {
            return Err(BodyError::TooLarge);
        }
        Some(value) => value.clone(),
    };
    for _ in 0..=MAX_DECODES {
        match current {
            Value::Object(map) => return Ok(map),
            Value::String(text) => {
                if text.len() > MAX_BODY_BYTES {
                    return Err(BodyError::TooLarge);
                }
                if text.trim().is_empty() {
                    return Err(BodyError::Empty);
                }
                current =
                    serde_json::from_str(&text).map_err(|e| BodyError::NotJson(e.to_string()))?;
            }
            _ => return Err(BodyError::NotAnObject),
        }
    }
    Err(BodyError::TooManyLayers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_arrives_as_is_or_under_layers_of_string_encoding() {
        let object = json!({"a": 1});
        let once = Value::String(object.to_string());
        let twice = Value::String(once.to_string());
        let thrice = Value::String(twice.to_string());
        for v in [&object, &once, &twice, &thrice] {
            assert_eq!(decode_object(Some(v)).unwrap()["a"], 1);
        }
    }

    #[test]
    fn too_many_layers_or_not_an_object_is_a_body_error() {
        let mut v = json!({"a": 1});
        for _ in 0..6 {
            v = Value::String(v.to_string());
        }
        assert_eq!(
            decode_object(Some(&v)).unwrap_err(),
            BodyError::TooManyLayers
        );
        for bad in [
            json!(null),
            json!(""),
            json!("not json"),
            json!("[1,2]"),
            json!(7),
            json!("\"text\""),
        ] {
            assert!(decode_object(Some(&bad)).is_err(), "{bad}");
        }
        assert_eq!(decode_object(None).unwrap_err(), BodyError::Empty);
    }

    #[test]
    fn a_body_over_64_kib_is_too_large() {
        let big = Value::String(json!({"pad": "x".repeat(MAX_BODY_BYTES)}).to_string());
        assert!(decode_object(Some(&big)).unwrap_err() == BodyError::TooLarge);
        let fits = Value::String(json!({"pad": "x".repeat(MAX_BODY_BYTES - 20)}).to_string());
        assert!(decode_object(Some(&fits)).is_ok());
    }

    #[test]
    fn a_body_sent_as_an_object_is_held_to_the_same_64_kib() {
        let big = json!({"pad": "x".repeat(200 * 1024)});
        assert!(decode_object(Some(&big)).unwrap_err() == BodyError::TooLarge);
        let fits = json!({"pad": "x".repeat(MAX_BODY_BYTES - 20)});
        assert!(decode_object(Some(&fits)).is_ok());
    }
}
