//! The slice of OData that these collections support: `$filter` with `eq`/`ne` on a few
//! properties (and `gt`/`ge`/`lt`/`le` on dates), `$select`, `$expand` with nested options,
//! and server-driven paging with an absolute `@odata.nextLink`.
use crate::error::GraphError;
use serde_json::{Map, Value};

/// The query options of one request, decoded (`+` and `%20` both mean a space).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The query again, without `$skiptoken`, re-encoded: the stem of every next link.
    fn without_skiptoken(&self) -> url::form_urlencoded::Serializer<'static, String> {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs.iter().filter(|(k, _)| k != "$skiptoken") {
            out.append_pair(k, v);
        }
        out
    }
}

/// One `property eq|ne 'value'` clause, or `property gt|ge|lt|le 2026-01-01T00:00:00Z`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub property: String,
    pub op: Op,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

/// An RFC 3339 date, as a `$filter` literal or a property value.
fn date(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// A conjunction of clauses; an empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter(Vec<Clause>);

impl Filter {
    /// Parses `$filter`, accepting only `allowed` properties, as Graph refuses the others with 400.
    pub fn parse(query: &Query, allowed: &[&str]) -> Result<Self, GraphError> {
        let Some(text) = query.get("$filter") else {
            return Ok(Self::default());
        };
        let invalid = || GraphError::bad_request(format!("Invalid filter clause: {text}"));
        let mut clauses = Vec::new();
        for part in split_and(text) {
            let mut words = part.trim().splitn(3, ' ');
            let (Some(property), Some(op), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                return Err(invalid());
            };
            let op = Op::parse(op).ok_or_else(invalid)?;
            if !allowed.contains(&property) {
                return Err(GraphError::bad_request(format!(
                    "Invalid filter clause: filtering on property '{property}' is not supported."
                )));
            }
            let value = value.trim();
            let value = match op {
                Op::Eq | Op::Ne => value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .ok_or_else(invalid)?
                    .replace("''", "'"),
                // Ordering is for dates, written unquoted as OData writes them.
                _ => {
                    date(value).ok_or_else(invalid)?;
                    value.to_string()
                }
            };
            clauses.push(Clause {
                property: property.to_string(),
                op,
                value,
            });
        }
        Ok(Self(clauses))
    }

    /// Whether `item` passes; a property path such as `accessPackage/id` reads a nested field.
    pub fn matches(&self, item: &Value) -> bool {
        self.0.iter().all(|clause| {
            let actual = clause
                .property
                .split('/')
                .try_fold(item, |v, name| v.get(name))
                .and_then(Value::as_str);
            let ordered = || actual.and_then(date).zip(date(&clause.value));
            match clause.op {
                Op::Eq => actual == Some(clause.value.as_str()),
                Op::Ne => actual != Some(clause.value.as_str()),
                Op::Gt => ordered().is_some_and(|(a, b)| a > b),
                Op::Ge => ordered().is_some_and(|(a, b)| a >= b),
                Op::Lt => ordered().is_some_and(|(a, b)| a < b),
                Op::Le => ordered().is_some_and(|(a, b)| a <= b),
            }
        })
    }
}

fn split_and(text: &str) -> Vec<&str> {
    text.split(" and ").collect()
}

/// Keeps only the `$select`ed properties (and OData annotations) of each item.
pub fn select(query: &Query, item: Value) -> Value {
    select_list(query.get("$select"), &[], item)
}

/// Keeps the properties `list` names, the annotations and the `expanded` ones (Graph keeps an
/// expanded navigation whatever `$select` says); all of them without a list.
pub fn select_list(list: Option<&str>, expanded: &[&str], mut item: Value) -> Value {
    let Some(list) = list else {
        return item;
    };
    let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Value::Object(map) = &mut item {
        let kept: Map<String, Value> = std::mem::take(map)
            .into_iter()
            .filter(|(k, _)| {
                k.starts_with('@') || wanted.contains(&k.as_str()) || expanded.contains(&k.as_str())
            })
            .collect();
        *map = kept;
    }
    item
}

/// One navigation property of `$expand`, with its nested options:
/// `customExtensionStageSettings($expand=customExtension)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    pub name: String,
    pub options: Query,
}

impl Expand {
    /// The items of a `$expand` list (top-level commas only; nested options are `;`-separated).
    pub fn list(query: &Query) -> Vec<Expand> {
        let Some(text) = query.get("$expand") else {
            return Vec::new();
        };
        let mut items = Vec::new();
        let (mut depth, mut start) = (0usize, 0);
        for (i, c) in text.char_indices().chain([(text.len(), ',')]) {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    items.push(Self::one(text[start..i].trim()));
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.retain(|e| !e.name.is_empty());
        items
    }

    fn one(text: &str) -> Self {
        match text.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix(')').unwrap_or(rest);
                Self {
                    name: name.trim().to_string(),
                    options: Query {
                        pairs: inner
                            .split(';')
                            .filter_map(|pair| pair.split_once('='))
                            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                            .collect(),
                    },
                }
            }
            None => Self {
                name: text.to_string(),
                options: Query::default(),
            },
        }
    }

    pub fn find<'e>(list: &'e [Expand], name: &str) -> Option<&'e Expand> {
        list.iter().find(|e| e.name == name)
    }
}

/// How one collection answer is cut into pages.
pub struct Paging {
    /// Absolute URL of the collection, without a query: the stem of the next link.
    pub collection_url: String,
    pub context: String,
    pub page_size: usize,
    /// Serve an empty first page that links to the real first page (a legal Graph answer).
    pub empty_first_page: bool,
}

impl Paging {
    pub fn page(&self, query: &Query, items: Vec<Value>) -> Result<Value, GraphError> {
        let token = query.get("$skiptoken");
        let next_link = |offset: usize| {
            let mut q = query.without_skiptoken();
            q.append_pair("$skiptoken", &format!("o{offset}"));
            format!("{}?{}", self.collection_url, q.finish())
        };
        let (page, next) = match token {
            None if self.empty_first_page => (Vec::new(), Some(next_link(0))),
            None => self.slice(items, 0, next_link),
            Some(token) => {
                let offset = token
                    .strip_prefix('o')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| GraphError::bad_request("The $skiptoken is invalid."))?;
                self.slice(items, offset, next_link)
            }
        };
        let mut body = Map::new();
        body.insert("@odata.context".into(), Value::String(self.context.clone()));
        if let Some(next) = next {
            body.insert("@odata.nextLink".into(), Value::String(next));
        }
        body.insert("value".into(), Value::Array(page));
        Ok(Value::Object(body))
    }

    fn slice(
        &self,
        items: Vec<Value>,
        offset: usize,
        next_link: impl Fn(usize) -> String,
    ) -> (Vec<Value>, Option<String>) {
        let end = offset.saturating_add(self.page_size.max(1));
        let more = items.len() > end;
        let page = items.into_iter().skip(offset).take(end - offset).collect();
        (page, more.then(|| next_link(end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_filter_on_processing_status_matches_eq_and_ne() {
        let q = Query::parse("%24filter=processingStatus+eq+%27inProgress%27");
        let f = Filter::parse(&q, &["processingStatus"]).unwrap();
        assert!(f.matches(&json!({"processingStatus": "inProgress"})));
        assert!(!f.matches(&json!({"processingStatus": "completed"})));
        let q = Query::parse("$filter=processingStatus%20ne%20'inProgress'");
        let f = Filter::parse(&q, &["processingStatus"]).unwrap();
        assert!(f.matches(&json!({"processingStatus": "completed"})));
    }

    #[test]
    fn a_filter_on_an_unsupported_property_is_a_bad_request() {
        let q = Query::parse("$filter=displayName eq 'x'");
        let err = Filter::parse(&q, &["processingStatus", "id"]).unwrap_err();
        assert_eq!(err.status.as_u16(), 400);
        let q = Query::parse("$filter=processingStatus gt 'x'");
        assert!(Filter::parse(&q, &["processingStatus"]).is_err());
    }

    #[test]
    fn dates_compare_as_dates_and_paths_read_nested_fields() {
        let q = Query::parse(
            "$filter=createdDateTime gt 2026-01-01T00:00:00Z and accessPackage/id eq 'p'",
        );
        let f = Filter::parse(&q, &["createdDateTime", "accessPackage/id"]).unwrap();
        let item = |at: &str| json!({"createdDateTime": at, "accessPackage": {"id": "p"}});
        assert!(f.matches(&item("2026-01-01T00:00:01.5Z")));
        assert!(!f.matches(&item("2025-12-31T23:59:59+00:00")));
        assert!(!f.matches(&json!({"createdDateTime": "2026-02-01T00:00:00Z"})));
        let q = Query::parse("$filter=createdDateTime gt 'yesterday'");
        assert!(Filter::parse(&q, &["createdDateTime"]).is_err());
    }

    #[test]
    fn expand_lists_keep_their_nested_options() {
        let q = Query::parse(
            "$expand=accessPackage($select=id,displayName),customExtensionStageSettings($expand=customExtension)",
        );
        let list = Expand::list(&q);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "accessPackage");
        assert_eq!(list[0].options.get("$select"), Some("id,displayName"));
        assert_eq!(list[1].options.get("$expand"), Some("customExtension"));
        assert!(Expand::list(&Query::parse("$select=id")).is_empty());
    }

    #[test]
    fn pages_link_to_the_next_until_the_last() {
        let paging = Paging {
            collection_url: "http://127.0.0.1:1/v1.0/x".into(),
            context: "ctx".into(),
            page_size: 2,
            empty_first_page: false,
        };
        let items: Vec<Value> = (0..5).map(|i| json!({"id": i})).collect();
        let first = paging
            .page(&Query::parse("$select=id"), items.clone())
            .unwrap();
        assert_eq!(first["value"].as_array().unwrap().len(), 2);
        let next = first["@odata.nextLink"].as_str().unwrap();
        assert!(next.starts_with("http://127.0.0.1:1/v1.0/x?%24select=id&%24skiptoken=o2"));
        let last = paging
            .page(&Query::parse("$skiptoken=o4"), items.clone())
            .unwrap();
        assert_eq!(last["value"].as_array().unwrap().len(), 1);
        assert!(last.get("@odata.nextLink").is_none());
        let exact = paging
            .page(&Query::parse("$skiptoken=o2"), items[..4].to_vec())
            .unwrap();
        assert!(
            exact.get("@odata.nextLink").is_none(),
            "no empty trailing page by default"
        );
    }
}
