//! The resource type definitions Azure publishes for Bicep, as `refresh-types.py` extracted
//! them into `types.json`: for each resource type the template uses, the API versions that
//! exist and the type graph of the versions that matter (the one used, the newest GA one).
use serde::Deserialize;
use std::collections::BTreeMap;

/// Property flags, as the published type data numbers them.
pub const REQUIRED: u32 = 1;
pub const READ_ONLY: u32 = 2;
pub const DEPLOY_TIME_CONSTANT: u32 = 8;

#[derive(Debug, Deserialize)]
pub struct Published {
    pub sources: Vec<Source>,
    versions: BTreeMap<String, Vec<String>>,
    resources: BTreeMap<String, usize>,
    types: Vec<Type>,
}

#[derive(Debug, Deserialize)]
pub struct Source {
    pub repository: String,
    pub commit: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Property {
    #[serde(rename = "type")]
    pub ty: usize,
    pub flags: u32,
}

impl Property {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// One node of the type graph; variants are named after the data's `$type`s.
#[derive(Debug, Deserialize)]
#[serde(tag = "$type")]
pub enum Type {
    #[serde(rename = "StringType")]
    String,
    #[serde(rename = "StringLiteralType")]
    StringLiteral { value: String },
    #[serde(rename = "IntegerType")]
    Integer,
    #[serde(rename = "BooleanType")]
    Boolean,
    #[serde(rename = "AnyType")]
    Any,
    #[serde(rename = "ObjectType")]
    Object {
        name: String,
        properties: BTreeMap<String, Property>,
        #[serde(rename = "additionalProperties")]
        additional: Option<usize>,
    },
    #[serde(rename = "ArrayType")]
    Array {
        #[serde(rename = "itemType")]
        item: usize,
    },
    #[serde(rename = "UnionType")]
    Union { elements: Vec<usize> },
    #[serde(rename = "DiscriminatedObjectType")]
    Discriminated {
        name: String,
        discriminator: String,
        #[serde(rename = "baseProperties")]
        base: BTreeMap<String, Property>,
        elements: BTreeMap<String, usize>,
    },
    #[serde(rename = "ResourceType")]
    Resource { body: usize },
    #[serde(other)]
    Other,
}

/// What a value must be, as far as the checks here tell.
pub enum Shape<'p> {
    /// An object with these properties (and, where given, any other key of this type).
    Object {
        name: &'p str,
        properties: BTreeMap<&'p str, Property>,
        additional: Option<usize>,
    },
    /// One object of several, told apart by the value of one property.
    Discriminated {
        name: &'p str,
        discriminator: &'p str,
        base: &'p BTreeMap<String, Property>,
        elements: &'p BTreeMap<String, usize>,
    },
    Array(usize),
    /// A closed set of strings.
    Enum(Vec<&'p str>),
    String,
    Integer,
    Boolean,
    /// Anything, or a union the checks here do not take apart.
    Any,
}

impl Published {
    pub fn load() -> Published {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bicep/types.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The API versions published for a resource type, oldest first; `None` when the data
    /// has no such type (or it was not extracted: run refresh-types.py).
    pub fn versions(&self, resource_type: &str) -> Option<&[String]> {
        self.versions
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(resource_type))
            .map(|(_, versions)| versions.as_slice())
    }

    /// The newest version without a preview suffix.
    pub fn newest_ga(&self, resource_type: &str) -> Option<&str> {
        self.versions(resource_type)?
            .iter()
            .rev()
            .find(|v| !is_preview(v))
            .map(String::as_str)
    }

    /// The body type of `type@version`, when its type graph was extracted.
    pub fn body(&self, resource_type: &str, version: &str) -> Option<usize> {
        let key = format!("{resource_type}@{version}");
        let (_, &index) = self
            .resources
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&key))?;
        match &self.types[index] {
            Type::Resource { body } => Some(*body),
            _ => None,
        }
    }

    pub fn shape(&self, ty: usize) -> Shape<'_> {
        match &self.types[ty] {
            Type::Object {
                name,
                properties,
                additional,
            } => Shape::Object {
                name,
                properties: properties.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
                additional: *additional,
            },
            Type::Discriminated {
                name,
                discriminator,
                base,
                elements,
            } => Shape::Discriminated {
                name,
                discriminator,
                base,
                elements,
            },
            Type::Array { item } => Shape::Array(*item),
            Type::StringLiteral { value } => Shape::Enum(vec![value]),
            Type::Union { elements } => {
                let literals: Option<Vec<&str>> = elements
                    .iter()
                    .map(|&e| match &self.types[e] {
                        Type::StringLiteral { value } => Some(value.as_str()),
                        _ => None,
                    })
                    .collect();
                match literals {
                    Some(literals) => Shape::Enum(literals),
                    None => Shape::Any,
                }
            }
            Type::String => Shape::String,
            Type::Integer => Shape::Integer,
            Type::Boolean => Shape::Boolean,
            Type::Any | Type::Resource { .. } | Type::Other => Shape::Any,
        }
    }

    /// The object a discriminated type is for one value of its discriminator.
    pub fn element(&self, ty: usize) -> Option<(&str, BTreeMap<&str, Property>)> {
        match &self.types[ty] {
            Type::Object {
                name, properties, ..
            } => Some((
                name,
                properties.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
            )),
            _ => None,
        }
    }
}

pub fn is_preview(version: &str) -> bool {
    version.split('-').count() > 3
}
