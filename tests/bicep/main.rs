//! The template held to Azure's own rules: every `resource` in infra/ checked against the
//! resource type definitions Azure publishes for Bicep (`types.json`, extracted by
//! `refresh-types.py` with the commits it came from) and against the compiler's rule on
//! values known only during a deployment. `check.rs` says what is checked and why.
//!
//! The Bicep CLI does not run on these machines; where it does, `.ci/run` also runs
//! `bicep build` and `bicep lint` on infra/main.bicep.
mod check;
mod published;
mod source;

use check::{check_at_version, check_file, check_source, declarations, Finding};
use published::{is_preview, Published};
use std::path::{Path, PathBuf};

fn infra() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("infra")
}

fn bicep_files() -> Vec<PathBuf> {
    source::bicep_files(&infra())
}

fn listed(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {f}\n"))
        .collect::<String>()
}

#[test]
fn every_resource_in_infra_holds_to_the_published_types_and_the_compilers_rules() {
    let published = Published::load();
    let files = bicep_files();
    assert!(files.len() >= 5, "{files:?}");
    let findings: Vec<Finding> = files
        .iter()
        .flat_map(|file| check_file(file, &published))
        .collect();
    assert!(findings.is_empty(), "\n{}", listed(&findings));
}

#[test]
fn every_api_version_is_the_newest_ga_one_unless_a_comment_says_what_it_lacks() {
    let published = Published::load();
    let mut problems = Vec::new();
    for file in bicep_files() {
        let source = std::fs::read_to_string(&file).unwrap();
        let name = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        for declared in declarations(&source) {
            let Some(newest) = published.newest_ga(&declared.resource_type) else {
                problems.push(format!(
                    "{name}:{}: {} has no GA version",
                    declared.line, declared.resource_type
                ));
                continue;
            };
            if declared.api_version == newest {
                continue;
            }
            let there = check_at_version(
                &name,
                &source,
                &declared.symbol,
                newest,
                file.parent().unwrap(),
                &published,
            );
            if there.is_empty() {
                problems.push(format!(
                    "{name}:{}: {} uses {}@{}, but the newest GA version {newest} has all it uses: move to it",
                    declared.line, declared.symbol, declared.resource_type, declared.api_version
                ));
            } else if !declared.comment.contains(newest) {
                problems.push(format!(
                    "{name}:{}: {} keeps {}{} over the newest GA version {newest}: say why in a comment above it that names {newest}; there it would meet:\n{}",
                    declared.line,
                    declared.symbol,
                    declared.api_version,
                    if is_preview(&declared.api_version) { " (a preview)" } else { "" },
                    listed(&there)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_type_data_names_the_commits_it_came_from() {
    let published = Published::load();
    let repositories: Vec<&str> = published
        .sources
        .iter()
        .map(|s| s.repository.as_str())
        .collect();
    assert_eq!(
        repositories,
        ["Azure/bicep-types-az", "microsoftgraph/msgraph-bicep-types"]
    );
    for source in &published.sources {
        assert!(
            source.commit.len() == 40 && source.commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{source:?}"
        );
    }
}

// ---- The checks catch what they are for -------------------------------------------------

/// The findings for a template made of `body`, beside infra/'s modules.
fn findings(body: &str) -> Vec<String> {
    let published = Published::load();
    check_source("test.bicep", &at_used_versions(body), &infra(), &published)
        .into_iter()
        .map(|f| f.message)
        .collect()
}

fn assert_one(body: &str, expected: &[&str]) {
    let found = findings(body);
    assert_eq!(found.len(), 1, "{found:#?}");
    for part in expected {
        assert!(found[0].contains(part), "{:?} lacks {part:?}", found[0]);
    }
}

/// The API version infra/ uses for a resource type: the synthetic templates below use the
/// versions whose types the data holds.
fn version_used(resource_type: &str) -> String {
    bicep_files()
        .iter()
        .flat_map(|file| declarations(&std::fs::read_to_string(file).unwrap()))
        .find(|d| d.resource_type == resource_type)
        .unwrap_or_else(|| panic!("infra/ declares no {resource_type}"))
        .api_version
}

/// `template` with each `@{Type}` replaced by `@version` for the version infra/ uses.
fn at_used_versions(template: &str) -> String {
    let mut out = template.to_string();
    for resource_type in [
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Web/sites",
        "Microsoft.Authorization/roleAssignments",
    ] {
        out = out.replace(
            &format!("@{{{resource_type}}}"),
            &format!("@{}", version_used(resource_type)),
        );
    }
    out
}

const STORAGE: &str = "
param location string
resource storage 'Microsoft.Storage/storageAccounts@{Microsoft.Storage/storageAccounts}' = {
  name: 'stexample'
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
  }
}
";

#[test]
fn a_correct_resource_has_no_finding() {
    assert_eq!(findings(STORAGE), Vec::<String>::new());
}

#[test]
fn an_invented_property_is_caught() {
    let body = STORAGE.replace(
        "minimumTlsVersion: 'TLS1_2'",
        "minimumTlsVersion: 'TLS1_2'\n    quantumSafe: true",
    );
    assert_one(
        &body,
        &[
            "storage.properties.quantumSafe",
            "has no property quantumSafe",
            "BCP037",
        ],
    );
}

#[test]
fn a_string_outside_a_closed_set_is_caught() {
    let body = STORAGE.replace("minimumTlsVersion: 'TLS1_2'", "accessTier: 'Lukewarm'");
    assert_one(
        &body,
        &[
            "storage.properties.accessTier",
            "'Lukewarm' is not one of",
            "'Hot'",
            "BCP036",
        ],
    );
    // A set that admits any string besides its named values is open, as in the types.
    let body = STORAGE.replace("'TLS1_2'", "'TLS1_9'");
    assert_eq!(findings(&body), Vec::<String>::new());
}

#[test]
fn a_missing_api_version_is_caught() {
    let body = STORAGE.replace("@{Microsoft.Storage/storageAccounts}", "@2025-06-31");
    assert_one(&body, &["has no API version 2025-06-31", "BCP081"]);
    let body = STORAGE.replace("@{Microsoft.Storage/storageAccounts}", "");
    assert_one(&body, &["names no API version", "BCP029"]);
    let body = STORAGE.replace(
        "Microsoft.Storage/storageAccounts@",
        "Microsoft.Storage/storageAccountz@",
    );
    assert_one(&body, &["not a published resource type"]);
}

#[test]
fn a_runtime_name_is_caught_directly_and_through_variables() {
    let app = "
resource app 'Microsoft.Web/sites@{Microsoft.Web/sites}' existing = {
  name: 'func-example'
}
var principalId = app.identity.principalId
var key = toLower(principalId)
";
    let role = |name: &str| {
        format!(
            "{app}
resource role 'Microsoft.Authorization/roleAssignments@{{Microsoft.Authorization/roleAssignments}}' = {{
  name: {name}
  properties: {{
    principalId: principalId
    roleDefinitionId: 'x'
  }}
}}"
        )
    };
    assert_one(
        &role("guid(app.identity.principalId)"),
        &["role.name", "app.identity.principalId", "BCP120"],
    );
    assert_one(
        &role("guid(key)"),
        &[
            "role.name",
            "variable key, which reads variable principalId, which reads app.identity.principalId",
        ],
    );
    // What is known at the start: a resource's id and name.
    assert_eq!(
        findings(&role("guid(app.id, app.name)")),
        Vec::<String>::new()
    );
}

#[test]
fn runtime_conditions_loops_and_locations_are_caught() {
    let body = format!(
        "{STORAGE}
resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@{{Microsoft.Storage/storageAccounts/blobServices/containers}}' = [for c in storage.properties.primaryEndpoints.blob: if (storage.properties.isHnsEnabled) {{
  name: 'default/${{c}}'
}}]"
    );
    let found = findings(&body);
    assert!(
        found
            .iter()
            .any(|f| f.contains("if condition") && f.contains("BCP177")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("for collection") && f.contains("BCP178")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("containers.name") && f.contains("loop variable c")),
        "{found:#?}"
    );
    let body = STORAGE.replace(
        "location: location",
        "location: storage.properties.primaryLocation",
    );
    assert!(findings(&body)
        .iter()
        .any(|f| f.contains("storage.location") && f.contains("BCP120")));
}

#[test]
fn a_read_only_property_written_and_a_required_one_left_out_are_caught() {
    let body = STORAGE.replace(
        "minimumTlsVersion: 'TLS1_2'",
        "minimumTlsVersion: 'TLS1_2'\n    creationTime: '2026-01-01'",
    );
    assert_one(
        &body,
        &["storage.properties.creationTime", "read-only", "BCP073"],
    );
    let body = STORAGE.replace("  location: location\n", "");
    assert_one(&body, &["requires location", "BCP035"]);
}

#[test]
fn a_module_parameter_it_does_not_declare_and_one_it_requires_are_caught() {
    let body = "
module roles 'modules/role-assignment.bicep' = {
  name: 'roles'
  params: {
    namespaceName: 'sb'
    principalId: 'p'
    roleDefinitionId: 'r'
    queue: 'resume-task'
  }
}";
    assert_one(body, &["roles.params.queue", "declares no parameter queue"]);
    let body = body
        .replace("    principalId: 'p'\n", "")
        .replace("    queue: 'resume-task'\n", "");
    assert_one(&body, &["the required parameter principalId", "BCP035"]);
}

#[test]
fn an_escape_through_any_is_not_checked_as_the_compiler_does_not() {
    let body = STORAGE.replace(
        "minimumTlsVersion: 'TLS1_2'",
        "minimumTlsVersion: 'TLS1_2'\n    extra: any({ quantumSafe: true })",
    );
    assert_one(&body, &["has no property extra"]);
    let body = STORAGE.replace("properties: {", "properties: any({");
    let body = body.replacen(
        "minimumTlsVersion: 'TLS1_2'\n  }",
        "accessTier: 'Lukewarm'\n  })",
        1,
    );
    assert!(body.contains("any({") && body.contains("Lukewarm"));
    assert_eq!(findings(&body), Vec::<String>::new());
}
