//! The slice of OData that these collections support: `$filter` with `eq`/`ne` on a few
//! properties, `$select`, and server-driven paging with an absolute `@odata.nextLink`.
use crate::error::GraphError;
use serde_json::{Map, Value};

/// The query options of one request, decoded (`+` and `%20` both mean a space).
#[derive(Debug, Default, Clone)]
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

/// One `property eq|ne 'value'` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub property: String,
    pub equal: bool,
    pub value: String,
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
            let equal = match op {
                "eq" => true,
                "ne" => false,
                _ => return Err(invalid()),
            };
            if !allowed.contains(&property) {
                return Err(GraphError::bad_request(format!(
                    "Invalid filter clause: filtering on property '{property}' is not supported."
                )));
            }
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or_else(invalid)?;
            clauses.push(Clause {
                property: property.to_string(),
                equal,
                value: value.replace("''", "'"),
            });
        }
        Ok(Self(clauses))
    }

    pub fn matches(&self, item: &Value) -> bool {
        self.0.iter().all(|clause| {
            let actual = item.get(&clause.property).and_then(Value::as_str);
            (actual == Some(clause.value.as_str())) == clause.equal
        })
    }
}

fn split_and(text: &str) -> Vec<&str> {
    text.split(" and ").collect()
}

/// Keeps only the `$select`ed properties (and OData annotations) of each item.
pub fn select(query: &Query, mut item: Value) -> Value {
    let Some(list) = query.get("$select") else {
        return item;
    };
    let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Value::Object(map) = &mut item {
        let kept: Map<String, Value> = std::mem::take(map)
            .into_iter()
            .filter(|(k, _)| k.starts_with('@') || wanted.contains(&k.as_str()))
            .collect();
        *map = kept;
    }
    item
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
