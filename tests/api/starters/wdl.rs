//! A test-only runner for the starters' workflow definitions: the few Workflow Definition
//! Language functions they use, evaluated as Logic Apps documents them, and the actions
//! run in `runAfter` order. Logic Apps cannot run here; this is what lets a test feed
//! Microsoft's callout payloads through the definitions as written, rather than through a
//! copy of their logic.
//!
//! Functions: `triggerBody`, `triggerOutputs`, `parameters`, `actions`, `equals`, `if`,
//! `startsWith`, `toLower`, `coalesce`; literals `'text'`, `null`, `true`, `false`,
//! numbers; property access `?['name']` and `['name']`; `@{…}` inside strings. Anything else
//! fails the test, so a definition cannot start using a function this runner does not know.
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What arrives at the trigger.
pub struct Request {
    pub headers: Value,
    pub body: Value,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Run {
    /// The trigger condition held and the workflow ran.
    pub fired: bool,
    /// The status of the Response action, if one ran.
    pub answered: Option<u64>,
    /// The HTTP actions sent: uri, headers, body.
    pub sent: Vec<Sent>,
    /// A Terminate action ended the run as failed.
    pub failed: bool,
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub uri: String,
    pub headers: Map<String, Value>,
    pub body: Value,
    pub authentication: Value,
}

/// Runs `definition` on `request`, with `parameters` for its definition parameters; every
/// Scope ends with `steps` (`Succeeded`, `Failed`): the customer's steps, which the starters
/// leave empty.
pub fn run(definition: &Value, parameters: &Value, request: &Request, steps: &str) -> Run {
    let mut context = Context {
        parameters: parameters.clone(),
        trigger_body: request.body.clone(),
        trigger_outputs: json!({"headers": request.headers, "body": request.body}),
        statuses: BTreeMap::new(),
        steps: steps.to_string(),
        run: Run::default(),
    };
    let (_, trigger) = definition["triggers"]
        .as_object()
        .and_then(|t| t.iter().next())
        .expect("a trigger");
    let fires = trigger["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|c| truthy(&context.evaluate_string(c["expression"].as_str().unwrap())));
    if !fires {
        return context.run;
    }
    context.run.fired = true;
    context.run_actions(&definition["actions"]);
    context.run
}

struct Context {
    parameters: Value,
    trigger_body: Value,
    trigger_outputs: Value,
    statuses: BTreeMap<String, String>,
    steps: String,
    run: Run,
}

impl Context {
    /// Runs a set of actions, each once its `runAfter` conditions are met; an action whose
    /// predecessor ended in a status it does not run after is Skipped.
    fn run_actions(&mut self, actions: &Value) {
        let actions = actions.as_object().cloned().unwrap_or_default();
        let mut pending: Vec<(String, Value)> = actions.into_iter().collect();
        while !pending.is_empty() {
            let ready = pending.iter().position(|(_, action)| {
                action["runAfter"]
                    .as_object()
                    .is_none_or(|after| after.keys().all(|k| self.statuses.contains_key(k)))
            });
            let (name, action) =
                pending.remove(ready.expect("runAfter names an action that never runs"));
            let runs = action["runAfter"].as_object().is_none_or(|after| {
                after.iter().all(|(k, allowed)| {
                    allowed
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s.as_str() == self.statuses.get(k).map(String::as_str))
                })
            });
            let status = if runs {
                self.run_action(&action)
            } else {
                "Skipped".into()
            };
            self.statuses.insert(name, status);
        }
    }

    fn run_action(&mut self, action: &Value) -> String {
        match action["type"].as_str().unwrap() {
            "Response" => {
                self.run.answered = action["inputs"]["statusCode"].as_u64();
                "Succeeded".into()
            }
            "Scope" => {
                self.run_actions(&action["actions"]);
                self.steps.clone()
            }
            "If" => {
                let branch = if truthy(&self.condition(&action["expression"])) {
                    &action["actions"]
                } else {
                    &action["else"]["actions"]
                };
                self.run_actions(branch);
                "Succeeded".into()
            }
            "Http" => {
                let inputs = self.evaluate_value(&action["inputs"]);
                self.run.sent.push(Sent {
                    uri: inputs["uri"].as_str().unwrap().to_string(),
                    headers: inputs["headers"].as_object().cloned().unwrap_or_default(),
                    body: inputs["body"].clone(),
                    authentication: inputs["authentication"].clone(),
                });
                "Succeeded".into()
            }
            "Terminate" => {
                self.run.failed = action["inputs"]["runStatus"] == "Failed";
                "Succeeded".into()
            }
            other => panic!("the runner does not know the action type {other}"),
        }
    }

    /// An `If` expression: `{"and": [...]}`, `{"or": [...]}`, `{"equals": [a, b]}`.
    fn condition(&mut self, expression: &Value) -> Value {
        let (op, operands) = expression
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("a condition");
        let operands = operands.as_array().unwrap();
        Value::Bool(match op.as_str() {
            "and" => operands.iter().all(|o| truthy(&self.condition(o))),
            "or" => operands.iter().any(|o| truthy(&self.condition(o))),
            "equals" => {
                let a = self.evaluate_value(&operands[0]);
                let b = self.evaluate_value(&operands[1]);
                a == b
            }
            other => panic!("the runner does not know the condition {other}"),
        })
    }

    /// Every string in `value` evaluated: `@expr` is the expression's value, `@{expr}`
    /// inside text is interpolated, anything else is itself.
    fn evaluate_value(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) => self.evaluate_string(text),
            Value::Array(items) => items.iter().map(|v| self.evaluate_value(v)).collect(),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.evaluate_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn evaluate_string(&mut self, text: &str) -> Value {
        if let Some(expression) = text.strip_prefix('@').filter(|e| !e.starts_with('{')) {
            return self.expression(expression);
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("@{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closed @{") + start;
            match self.expression(&rest[start + 2..end]) {
                Value::String(s) => out.push_str(&s),
                Value::Null => {}
                other => out.push_str(&other.to_string()),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Value::String(out)
    }

    fn expression(&mut self, text: &str) -> Value {
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let value = parser.value(self);
        parser.space();
        assert_eq!(parser.at, text.len(), "unparsed text in {text}");
        value
    }

    fn call(&mut self, name: &str, args: Vec<Value>) -> Value {
        let text = |v: &Value| v.as_str().map(str::to_string);
        match (name, args.as_slice()) {
            ("triggerBody", []) => self.trigger_body.clone(),
            ("triggerOutputs", []) => self.trigger_outputs.clone(),
            ("parameters", [name]) => self.parameters[name.as_str().unwrap()].clone(),
            ("actions", [name]) => {
                json!({"status": self.statuses.get(name.as_str().unwrap())})
            }
            ("equals", [a, b]) => Value::Bool(a == b),
            ("if", [c, a, b]) => {
                if truthy(c) {
                    a.clone()
                } else {
                    b.clone()
                }
            }
            // Not case-sensitive, as Logic Apps documents it.
            ("startsWith", [a, b]) => Value::Bool(
                text(a)
                    .expect("startsWith of a string (Logic Apps fails on null)")
                    .to_lowercase()
                    .starts_with(&text(b).unwrap().to_lowercase()),
            ),
            ("toLower", [a]) => text(a).map_or(Value::Null, |s| s.to_lowercase().into()),
            ("coalesce", args) => args
                .iter()
                .find(|a| !a.is_null())
                .cloned()
                .unwrap_or(Value::Null),
            _ => panic!("the runner does not know {name}/{}", args.len()),
        }
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        other => panic!("a condition must be a boolean, not {other}"),
    }
}

/// A recursive-descent parser over one expression, evaluating as it goes.
struct Parser<'t> {
    text: &'t [u8],
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.space();
        if self.text[self.at..].starts_with(token.as_bytes()) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, context: &mut Context) -> Value {
        self.space();
        let mut value = match self.text.get(self.at) {
            Some(b'\'') => Value::String(self.quoted()),
            Some(c) if c.is_ascii_digit() => self.number(),
            _ => {
                let name = self.name();
                match name.as_str() {
                    "null" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => {
                        assert!(self.eat("("), "a call after {name}");
                        let mut args = Vec::new();
                        if !self.eat(")") {
                            loop {
                                args.push(self.value(context));
                                if self.eat(")") {
                                    break;
                                }
                                assert!(self.eat(","), "',' or ')' in the call of {name}");
                            }
                        }
                        context.call(&name, args)
                    }
                }
            }
        };
        // Property access: `?['name']` and `['name']`; missing is null.
        loop {
            let optional = self.eat("?");
            if !self.eat("[") {
                assert!(!optional, "'?' without '['");
                break;
            }
            let key = self.quoted();
            assert!(self.eat("]"), "a closed [");
            value = value.get(&key).cloned().unwrap_or(Value::Null);
        }
        value
    }

    fn name(&mut self) -> String {
        self.space();
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        assert!(self.at > start, "a name at {start}");
        String::from_utf8(self.text[start..self.at].to_vec()).unwrap()
    }

    fn number(&mut self) -> Value {
        let start = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.text[start..self.at]).unwrap();
        json!(digits.parse::<i64>().unwrap())
    }

    /// `'text'`, where `''` is one quote.
    fn quoted(&mut self) -> String {
        self.space();
        assert_eq!(self.text[self.at], b'\'', "a quoted string");
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.text[self.at] {
                b'\'' if self.text.get(self.at + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.at += 2;
                }
                b'\'' => {
                    self.at += 1;
                    break;
                }
                c => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            parameters: json!({"url": "https://x/q"}),
            trigger_body: json!({"a": {"b": "it's"}, "Stage": "AssignmentRequestCreated"}),
            trigger_outputs: json!({"headers": {"Authorization": "PoP abc"}}),
            statuses: BTreeMap::from([("Steps".to_string(), "Failed".to_string())]),
            steps: "Succeeded".into(),
            run: Run::default(),
        }
    }

    #[test]
    fn the_runner_evaluates_what_the_starters_write() {
        let mut c = context();
        assert_eq!(c.expression("triggerBody()?['a']?['b']"), json!("it's"));
        assert_eq!(c.expression("triggerBody()?['missing']?['b']"), Value::Null);
        assert_eq!(
            c.expression(
                "startsWith(coalesce(triggerOutputs()?['headers']?['Authorization'], ''), 'PoP ')"
            ),
            json!(true)
        );
        assert_eq!(
            c.expression(
                "if(equals(actions('Steps')?['status'], 'Succeeded'), 'completed', 'failed')"
            ),
            json!("failed")
        );
        assert_eq!(
            c.expression("toLower(triggerBody()?['Stage'])"),
            json!("assignmentrequestcreated")
        );
        assert_eq!(
            c.evaluate_string("{\"MessageId\":\"@{triggerBody()?['a']?['b']}\"}"),
            json!("{\"MessageId\":\"it's\"}")
        );
        assert_eq!(c.expression("'it''s'"), json!("it's"));
        assert_eq!(
            c.evaluate_string("@parameters('url')"),
            json!("https://x/q")
        );
    }

    #[test]
    #[should_panic(expected = "does not know")]
    fn an_unknown_function_fails_the_test() {
        context().expression("utcNow()");
    }
}
