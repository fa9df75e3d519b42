//! A Bicep file judged as the Bicep compiler judges it against the published resource types,
//! for the kinds of mistake that reach a deployment:
//!
//! - a resource type or API version that is not published;
//! - a property the type does not define (BCP037), or one it marks read-only (BCP073);
//! - a string literal outside a closed set of values (BCP036);
//! - a required property left out (BCP035);
//! - a value known only during the deployment where the compiler needs one known at its
//!   start: a resource's `name`, `location`, `scope`, `parent`, `identity`, `tags`, `sku`,
//!   `kind` or `zones`, a property the types mark deploy-time constant, a module's `name`,
//!   an `if` condition or a `for` collection (BCP120, BCP177, BCP178). As in the compiler's
//!   `DeployTimeConstantDirectViolationVisitor`, of a resource only `id`, `name`, `type` and
//!   `apiVersion` are known at the start (of a module, only `name`), and a variable that
//!   reads anything else carries it wherever it is used;
//! - a module parameter the module does not declare, or a required one left out.
//!
//! Values the checks cannot see through (parameters, function results other than `union`,
//! `any(…)`) are taken as the compiler takes `any`: unchecked.
use crate::published::{Property, Published, Shape, DEPLOY_TIME_CONSTANT, READ_ONLY, REQUIRED};
use crate::source::{parse, readable};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use tree_sitter::Node;

/// Top-level properties the compiler requires to be deploy-time constants on a resource it
/// deploys (`WriteOnlyDeployTimeConstantPropertyNames` and the scope and parent it adds).
const CONSTANT_AT_TOP: &[&str] = &[
    "name",
    "location",
    "kind",
    "subscriptionId",
    "resourceGroup",
    "managedBy",
    "extendedLocation",
    "zones",
    "placement",
    "plan",
    "sku",
    "identity",
    "managedByExtended",
    "tags",
    "scope",
    "parent",
];

/// Properties the compiler adds to every resource body.
const SYSTEM_PROPERTIES: &[&str] = &["scope", "parent", "dependsOn"];

/// What of a resource is known when the deployment starts.
const READABLE_AT_START: &[&str] = &["id", "name", "type", "apiVersion"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// One resource declaration: what it says it is, and where.
#[derive(Debug, Clone)]
pub struct Declared {
    pub symbol: String,
    pub resource_type: String,
    pub api_version: String,
    pub line: usize,
    /// The comment lines just above the declaration.
    pub comment: String,
}

/// Every finding in the file at `path` (module paths are read relative to it).
pub fn check_file(path: &Path, published: &Published) -> Vec<Finding> {
    let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    check_source(
        &name,
        &source,
        path.parent().unwrap_or(Path::new(".")),
        published,
    )
}

/// Every finding in `source`, a Bicep file named `name` whose modules live under `folder`.
pub fn check_source(
    name: &str,
    source: &str,
    folder: &Path,
    published: &Published,
) -> Vec<Finding> {
    run(name, source, folder, published, None)
}

/// The resource declarations of `source`, with the comments above them.
pub fn declarations(source: &str) -> Vec<Declared> {
    let readable = readable(source);
    let tree = parse(&readable);
    let lines: Vec<&str> = source.lines().collect();
    children(tree.root_node())
        .into_iter()
        .filter(|n| n.kind() == "resource_declaration")
        .filter_map(|n| {
            let symbol = text(n.named_child(0)?, &readable).to_string();
            let declared = unquote(text(first_of(n, "string")?, &readable));
            let (resource_type, api_version) = declared.split_once('@')?;
            let line = n.start_position().row;
            // The comment lines and decorators just above it, the comments kept in order.
            let mut comment: Vec<&str> = lines[..line]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .take_while(|l| l.starts_with("//") || l.starts_with('@'))
                .filter(|l| l.starts_with("//"))
                .map(|l| l.trim_start_matches('/').trim())
                .collect();
            comment.reverse();
            let comment = comment.join(" ");
            Some(Declared {
                symbol,
                resource_type: resource_type.to_string(),
                api_version: api_version.to_string(),
                line: line + 1,
                comment,
            })
        })
        .collect()
}

/// The body of one resource declaration of `source` checked against another API version of
/// its type: the findings it would have there.
pub fn check_at_version(
    name: &str,
    source: &str,
    symbol: &str,
    version: &str,
    folder: &Path,
    published: &Published,
) -> Vec<Finding> {
    run(name, source, folder, published, Some((symbol, version)))
}

/// The findings of the whole file, or (`at`) of one resource at another API version.
fn run(
    name: &str,
    source: &str,
    folder: &Path,
    published: &Published,
    at: Option<(&str, &str)>,
) -> Vec<Finding> {
    let source = readable(source);
    let tree = parse(&source);
    let mut checker = Checker::new(name, &source, tree.root_node(), folder, published);
    match at {
        None => checker.check(tree.root_node()),
        Some((symbol, version)) => {
            checker.version_override = Some(version.to_string());
            for node in children(tree.root_node()) {
                if node.kind() == "resource_declaration"
                    && node
                        .named_child(0)
                        .is_some_and(|id| text(id, &source) == symbol)
                {
                    checker.resource(node);
                }
            }
        }
    }
    checker.findings
}

fn children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

fn first_of<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    named_children(node).into_iter().find(|n| n.kind() == kind)
}

fn text<'s>(node: Node, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

fn unquote(literal: &str) -> String {
    literal.trim_matches('\'').to_string()
}

/// The key of an object property, without quotes.
fn key_of(property: Node, source: &str) -> String {
    property
        .named_child(0)
        .map(|key| unquote(text(key, source)))
        .unwrap_or_default()
}

/// The value of an object property: what follows the key.
fn value_of(property: Node<'_>) -> Option<Node<'_>> {
    let named = named_children(property);
    (named.len() >= 2).then(|| named[named.len() - 1])
}

/// The value of a string literal without interpolation, or `None`.
fn string_literal(node: Node, source: &str) -> Option<String> {
    if node.kind() != "string" || text(node, source).starts_with("'''") {
        return None;
    }
    let parts = named_children(node);
    if parts.iter().any(|p| p.kind() == "interpolation") {
        return None;
    }
    Some(parts.iter().map(|p| text(*p, source)).collect())
}

/// The three parts of a resource or module declaration's value: its conditions, its loop
/// (the names it binds and the collection), and the object at its heart.
struct Body<'t> {
    conditions: Vec<Node<'t>>,
    loop_: Option<(Vec<String>, Node<'t>)>,
    object: Option<Node<'t>>,
}

fn body_of<'t>(value: Node<'t>, source: &str) -> Body<'t> {
    let mut body = Body {
        conditions: Vec::new(),
        loop_: None,
        object: None,
    };
    let mut node = value;
    loop {
        match node.kind() {
            "object" => {
                body.object = Some(node);
                return body;
            }
            "if_statement" => {
                let parts = named_children(node);
                body.conditions.extend(parts.first().copied());
                match parts.get(1) {
                    Some(next) => node = *next,
                    None => return body,
                }
            }
            "for_statement" => {
                let parts = named_children(node);
                if parts.len() < 3 {
                    return body;
                }
                let names = match parts[0].kind() {
                    "for_loop_parameters" => named_children(parts[0])
                        .iter()
                        .map(|n| text(*n, source).to_string())
                        .collect(),
                    _ => vec![text(parts[0], source).to_string()],
                };
                body.loop_ = Some((names, parts[1]));
                node = parts[2];
            }
            _ => return body,
        }
    }
}

/// A resource or module declaration's symbol, its quoted string (`'type@version'` or the
/// module's path) and its body.
fn declaration<'t>(node: Node<'t>, source: &str) -> Option<(String, String, Body<'t>)> {
    let symbol = text(node.named_child(0)?, source).to_string();
    let declared = string_literal(first_of(node, "string")?, source)?;
    let value = named_children(node)
        .into_iter()
        .rev()
        .find(|n| matches!(n.kind(), "object" | "if_statement" | "for_statement"))?;
    Some((symbol, declared, body_of(value, source)))
}

struct Checker<'t, 's> {
    file: String,
    source: &'s str,
    folder: PathBuf,
    published: &'s Published,
    findings: Vec<Finding>,
    variables: HashMap<String, Node<'t>>,
    /// Resource symbols, and whether each is `existing`.
    resources: HashMap<String, bool>,
    modules: HashSet<String>,
    /// Variables whose value is known only during the deployment, with what they read.
    runtime_variables: HashMap<String, String>,
    /// Loop variables bound, in the declaration being checked, to such values.
    runtime_loop: HashMap<String, String>,
    /// Check resources against this API version instead of their own.
    version_override: Option<String>,
}

impl<'t, 's> Checker<'t, 's> {
    fn new(
        file: &str,
        source: &'s str,
        root: Node<'t>,
        folder: &Path,
        published: &'s Published,
    ) -> Self {
        let mut checker = Checker {
            file: file.to_string(),
            source,
            folder: folder.to_path_buf(),
            published,
            findings: Vec::new(),
            variables: HashMap::new(),
            resources: HashMap::new(),
            modules: HashSet::new(),
            runtime_variables: HashMap::new(),
            runtime_loop: HashMap::new(),
            version_override: None,
        };
        for node in children(root) {
            let Some(symbol) = node.named_child(0) else {
                continue;
            };
            let symbol = text(symbol, source).to_string();
            match node.kind() {
                "variable_declaration" => {
                    if let Some(value) = node.named_child(1) {
                        checker.variables.insert(symbol, value);
                    }
                }
                "resource_declaration" => {
                    let existing = children(node).iter().any(|c| c.kind() == "existing");
                    checker.resources.insert(symbol, existing);
                }
                "module_declaration" => {
                    checker.modules.insert(symbol);
                }
                _ => {}
            }
        }
        // A variable is a runtime value when it reads one, directly or through another.
        loop {
            let mut changed = false;
            for (name, value) in checker.variables.clone() {
                if checker.runtime_variables.contains_key(&name) {
                    continue;
                }
                if let Some(what) = checker.runtime_value(value) {
                    checker.runtime_variables.insert(name, what);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        checker
    }

    fn report(&mut self, node: Node, message: String) {
        let finding = Finding {
            file: self.file.clone(),
            line: node.start_position().row + 1,
            message,
        };
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }

    fn check(&mut self, root: Node<'t>) {
        for node in children(root) {
            match node.kind() {
                "resource_declaration" => self.resource(node),
                "module_declaration" => self.module(node),
                _ => {}
            }
        }
    }

    // ---- What is known at the start of the deployment ------------------------------------

    /// The first part of `node` that is known only during the deployment, described.
    fn runtime_value(&self, node: Node) -> Option<String> {
        match node.kind() {
            "member_expression" | "subscript_expression" => {
                if let Some(what) = self.runtime_access(node) {
                    return Some(what);
                }
            }
            "identifier" => {
                let name = text(node, self.source);
                if let Some(what) = self.runtime_variables.get(name) {
                    return Some(format!("variable {name}, which reads {what}"));
                }
                if let Some(what) = self.runtime_loop.get(name) {
                    return Some(format!("loop variable {name}, over {what}"));
                }
                return None;
            }
            "call_expression" => {
                let function = node
                    .child_by_field_name("function")
                    .map(|f| text(f, self.source))
                    .unwrap_or_default();
                if function == "reference" || function.starts_with("list") {
                    return Some(format!("{function}(…)"));
                }
                return node
                    .child_by_field_name("arguments")
                    .and_then(|arguments| self.runtime_value(arguments));
            }
            "object_property" => return value_of(node).and_then(|v| self.runtime_value(v)),
            // A lambda's parameter is bound to items of the collection it is given.
            "lambda_expression" => return node.named_child(1).and_then(|b| self.runtime_value(b)),
            _ => {}
        }
        named_children(node)
            .into_iter()
            .find_map(|child| self.runtime_value(child))
    }

    /// `symbol.property…` or `symbol[i].property…` where the property is not known at the
    /// start.
    fn runtime_access(&self, node: Node) -> Option<String> {
        let object = node.child_by_field_name("object")?;
        let property = match node.kind() {
            "member_expression" => {
                text(node.child_by_field_name("property")?, self.source).to_string()
            }
            _ => {
                let index = node.child_by_field_name("index")?;
                match string_literal(index, self.source) {
                    Some(name) => name,
                    // symbol[i]: the whole resource of a loop, not yet a property.
                    None if object.kind() == "identifier" => return None,
                    None => "[…]".to_string(),
                }
            }
        };
        let root = match object.kind() {
            "identifier" => object,
            // symbol[i].property: one resource of a loop.
            "subscript_expression" => object
                .child_by_field_name("object")
                .filter(|o| o.kind() == "identifier")?,
            _ => return None,
        };
        let symbol = text(root, self.source);
        let known = if self.resources.contains_key(symbol) {
            READABLE_AT_START.contains(&property.as_str())
        } else if self.modules.contains(symbol) {
            property == "name"
        } else {
            return None;
        };
        if known {
            return None;
        }
        // Name the whole chain (`app.identity.principalId`), not just its first step.
        let mut whole = node;
        while let Some(parent) = whole.parent() {
            let continues = matches!(parent.kind(), "member_expression" | "subscript_expression")
                && parent.child_by_field_name("object") == Some(whole);
            if !continues {
                break;
            }
            whole = parent;
        }
        Some(text(whole, self.source).to_string())
    }

    fn require_constant(&mut self, node: Node, what: &str, rule: &str) {
        if let Some(runtime) = self.runtime_value(node) {
            self.report(
                node,
                format!(
                    "{what}: a value known only during the deployment ({runtime}) where Bicep needs one known at its start ({rule})"
                ),
            );
        }
    }

    /// Conditions and loop of a declaration; binds the loop's variables.
    fn conditions_and_loop(&mut self, symbol: &str, body: &Body<'t>) {
        self.runtime_loop.clear();
        for condition in body.conditions.clone() {
            self.require_constant(condition, &format!("{symbol}: if condition"), "BCP177");
        }
        if let Some((names, collection)) = body.loop_.clone() {
            self.require_constant(collection, &format!("{symbol}: for collection"), "BCP178");
            if let Some(what) = self.runtime_value(collection) {
                for name in names {
                    self.runtime_loop.insert(name, what.clone());
                }
            }
        }
    }

    // ---- Resources ------------------------------------------------------------------------

    fn resource(&mut self, node: Node<'t>) {
        let Some((symbol, declared, body)) = declaration(node, self.source) else {
            return;
        };
        let existing = children(node).iter().any(|c| c.kind() == "existing");
        if !existing {
            self.conditions_and_loop(&symbol, &body);
        }
        let Some((resource_type, version)) = declared.split_once('@') else {
            self.report(
                node,
                format!("{symbol}: '{declared}' names no API version (BCP029)"),
            );
            return;
        };
        let version = self
            .version_override
            .clone()
            .unwrap_or_else(|| version.to_string());
        let Some(versions) = self.published.versions(resource_type) else {
            self.report(
                node,
                format!("{symbol}: {resource_type} is not a published resource type (or tests/bicep/types.json predates it: run tests/bicep/refresh-types.py)"),
            );
            return;
        };
        if !versions.iter().any(|v| v.eq_ignore_ascii_case(&version)) {
            let newest = versions.last().map(String::as_str).unwrap_or("none");
            self.report(
                node,
                format!("{symbol}: {resource_type} has no API version {version} (BCP081); the newest published is {newest}"),
            );
            return;
        }
        let Some(ty) = self.published.body(resource_type, &version) else {
            self.report(
                node,
                format!("{symbol}: tests/bicep/types.json holds no types for {resource_type}@{version}: run tests/bicep/refresh-types.py"),
            );
            return;
        };
        let Some(object) = body.object else {
            return;
        };
        self.object(object, ty, &symbol, Top::Resource { existing }, true);
    }

    // ---- Modules --------------------------------------------------------------------------

    fn module(&mut self, node: Node<'t>) {
        let Some((symbol, path, body)) = declaration(node, self.source) else {
            return;
        };
        self.conditions_and_loop(&symbol, &body);
        let Some(object) = body.object else {
            return;
        };
        let declared = match std::fs::read_to_string(self.folder.join(&path)) {
            Ok(module) => module_parameters(&module),
            Err(e) => {
                self.report(node, format!("{symbol}: cannot read module {path}: {e}"));
                return;
            }
        };
        for property in named_children(object)
            .into_iter()
            .filter(|n| n.kind() == "object_property")
        {
            let key = key_of(property, self.source);
            let Some(value) = value_of(property) else {
                continue;
            };
            match key.as_str() {
                "name" | "scope" => {
                    self.require_constant(value, &format!("{symbol}.{key}"), "BCP120")
                }
                "dependsOn" => {}
                "params" => self.module_params(&symbol, &path, value, &declared),
                other => self.report(
                    property,
                    format!("{symbol}: a module has no property {other} (BCP037)"),
                ),
            }
        }
    }

    fn module_params(
        &mut self,
        symbol: &str,
        path: &str,
        params: Node<'t>,
        declared: &BTreeMap<String, bool>,
    ) {
        if params.kind() != "object" {
            return;
        }
        let mut given = HashSet::new();
        for property in named_children(params)
            .into_iter()
            .filter(|n| n.kind() == "object_property")
        {
            let key = key_of(property, self.source);
            if !declared.contains_key(&key) {
                self.report(
                    property,
                    format!("{symbol}.params.{key}: {path} declares no parameter {key} (BCP037)"),
                );
            }
            given.insert(key);
        }
        for (name, required) in declared {
            if *required && !given.contains(name) {
                self.report(params, format!("{symbol}.params: the required parameter {name} of {path} is missing (BCP035)"));
            }
        }
    }

    // ---- Values against types ---------------------------------------------------------------

    /// An object literal against an object type. `complete`: the literal is the whole value
    /// (not one part of a `union(…)`), so a required property it lacks is missing.
    fn object(&mut self, node: Node<'t>, ty: usize, path: &str, top: Top, complete: bool) {
        let (name, properties, additional) = match self.published.shape(ty) {
            Shape::Object {
                name,
                properties,
                additional,
            } => (name.to_string(), properties, additional),
            Shape::Discriminated {
                name,
                discriminator,
                base,
                elements,
            } => {
                let chosen = named_children(node)
                    .into_iter()
                    .filter(|p| p.kind() == "object_property")
                    .find(|p| key_of(*p, self.source) == discriminator)
                    .and_then(value_of)
                    .and_then(|v| string_literal(v, self.source));
                let Some(chosen) = chosen else {
                    return;
                };
                let Some(&element) = elements.get(&chosen) else {
                    let allowed: Vec<&str> = elements.keys().map(String::as_str).collect();
                    self.report(
                        node,
                        format!("{path}.{discriminator}: '{chosen}' is none of {name}'s kinds ({}) (BCP036)", allowed.join(", ")),
                    );
                    return;
                };
                let mut properties: BTreeMap<&str, Property> =
                    base.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                let Some((element_name, element_properties)) = self.published.element(element)
                else {
                    return;
                };
                properties.extend(element_properties);
                (element_name.to_string(), properties, None)
            }
            Shape::Any => return,
            other => {
                self.report(
                    node,
                    format!(
                        "{path}: an object where {} is expected (BCP036)",
                        describe(&other)
                    ),
                );
                return;
            }
        };
        let mut given = HashSet::new();
        for property in named_children(node)
            .into_iter()
            .filter(|n| n.kind() == "object_property")
        {
            let key = key_of(property, self.source);
            given.insert(key.clone());
            let Some(value) = value_of(property) else {
                continue;
            };
            let here = format!("{path}.{key}");
            if let Top::Resource { existing } = top {
                if !existing && CONSTANT_AT_TOP.contains(&key.as_str()) {
                    self.require_constant(value, &here, "BCP120");
                }
                if SYSTEM_PROPERTIES.contains(&key.as_str()) {
                    continue;
                }
            }
            match properties.get(key.as_str()) {
                Some(declared) => {
                    let existing = matches!(top, Top::Resource { existing: true });
                    if declared.has(READ_ONLY) && !existing {
                        self.report(
                            property,
                            format!("{here}: {name} marks {key} read-only (BCP073)"),
                        );
                    }
                    if declared.has(DEPLOY_TIME_CONSTANT) {
                        self.require_constant(value, &here, "BCP120");
                    }
                    if !existing {
                        self.value(value, declared.ty, &here, true);
                    }
                }
                None => match additional {
                    Some(any_key) => self.value(value, any_key, &here, true),
                    None => self.report(
                        property,
                        format!("{here}: {name} has no property {key} (BCP037)"),
                    ),
                },
            }
        }
        let existing = matches!(top, Top::Resource { existing: true });
        if complete && !existing {
            for (key, declared) in &properties {
                if declared.has(REQUIRED) && !declared.has(READ_ONLY) && !given.contains(*key) {
                    self.report(
                        node,
                        format!("{path}: {name} requires {key}, which is missing (BCP035)"),
                    );
                }
            }
        }
    }

    fn value(&mut self, node: Node<'t>, ty: usize, path: &str, complete: bool) {
        match node.kind() {
            "object" => self.object(node, ty, path, Top::Nested, complete),
            "array" => {
                if let Shape::Array(item) = self.published.shape(ty) {
                    for element in named_children(node) {
                        self.value(element, item, &format!("{path}[]"), true);
                    }
                } else if let Shape::Any = self.published.shape(ty) {
                } else {
                    self.report(
                        node,
                        format!(
                            "{path}: an array where {} is expected (BCP036)",
                            describe(&self.published.shape(ty))
                        ),
                    );
                }
            }
            "for_statement" => {
                let body = body_of(node, self.source);
                if let (Shape::Array(item), Some(object)) = (self.published.shape(ty), body.object)
                {
                    self.object(object, item, &format!("{path}[]"), Top::Nested, true);
                }
            }
            "string" => {
                let Some(literal) = string_literal(node, self.source) else {
                    return;
                };
                match self.published.shape(ty) {
                    Shape::Enum(allowed) if !allowed.contains(&literal.as_str()) => {
                        let allowed = allowed
                            .iter()
                            .map(|a| format!("'{a}'"))
                            .collect::<Vec<_>>()
                            .join(" | ");
                        self.report(
                            node,
                            format!("{path}: '{literal}' is not one of {allowed} (BCP036)"),
                        );
                    }
                    Shape::Integer | Shape::Boolean | Shape::Object { .. } | Shape::Array(_) => {
                        let expected = describe(&self.published.shape(ty));
                        self.report(
                            node,
                            format!("{path}: a string where {expected} is expected (BCP036)"),
                        );
                    }
                    _ => {}
                }
            }
            "number" | "boolean" => {
                let shape = self.published.shape(ty);
                let fits = matches!(
                    (&shape, node.kind()),
                    (Shape::Any, _) | (Shape::Integer, "number") | (Shape::Boolean, "boolean")
                );
                if !fits {
                    let given = if node.kind() == "number" {
                        "a number"
                    } else {
                        "a boolean"
                    };
                    self.report(
                        node,
                        format!(
                            "{path}: {given} where {} is expected (BCP036)",
                            describe(&shape)
                        ),
                    );
                }
            }
            "ternary_expression" => {
                for branch in ["consequence", "alternative"] {
                    if let Some(branch) = node.child_by_field_name(branch) {
                        self.value(branch, ty, path, complete);
                    }
                }
            }
            "parenthesized_expression" => {
                if let Some(inner) = node.named_child(0) {
                    self.value(inner, ty, path, complete);
                }
            }
            "call_expression" => {
                let function = node
                    .child_by_field_name("function")
                    .map(|f| text(f, self.source))
                    .unwrap_or_default();
                // union(a, b, …): each part is checked, none has to be whole.
                if function == "union" {
                    if let Some(arguments) = node.child_by_field_name("arguments") {
                        for part in named_children(arguments) {
                            self.value(part, ty, path, false);
                        }
                    }
                }
            }
            "identifier" => {
                let name = text(node, self.source);
                if let Some(&value) = self.variables.get(name) {
                    self.value(value, ty, path, complete);
                }
            }
            _ => {}
        }
    }
}

#[derive(Clone, Copy)]
enum Top {
    Resource { existing: bool },
    Nested,
}

fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Object { name, .. } => format!("an object ({name})"),
        Shape::Discriminated { name, .. } => format!("an object ({name})"),
        Shape::Array(_) => "an array".into(),
        Shape::Enum(values) => values
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(" | "),
        Shape::String => "a string".into(),
        Shape::Integer => "an integer".into(),
        Shape::Boolean => "a boolean".into(),
        Shape::Any => "anything".into(),
    }
}

/// A module's parameters, each with whether the caller must give it.
fn module_parameters(source: &str) -> BTreeMap<String, bool> {
    let readable = readable(source);
    let tree = parse(&readable);
    children(tree.root_node())
        .into_iter()
        .filter(|n| n.kind() == "parameter_declaration")
        .filter_map(|n| {
            let parts = named_children(n);
            let name = text(*parts.first()?, &readable).to_string();
            let nullable = parts
                .get(1)
                .is_some_and(|t| text(*t, &readable).trim_end().ends_with('?'));
            let has_default = parts.len() >= 3;
            Some((name, !nullable && !has_default))
        })
        .collect()
}
