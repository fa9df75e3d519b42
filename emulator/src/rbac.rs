//! Entitlement Management's role-based access control (`roleManagement/entitlementManagement`):
//! list role assignments, by `principalId`, `roleDefinitionId` or `appScopeId`, and create
//! one. A catalog-scoped assignment has the `appScopeId` `/AccessPackageCatalog/{id}`; a
//! tenant-wide one, `/`.
use crate::error::GraphError;
use crate::model::EntitlementRoleAssignment;
use crate::odata::{select, Filter};
use crate::route::{unknown_segment, Answer, Call, Outcome};
use serde_json::{json, Value};
use warp::http::Method;

pub fn route(call: &Call, rest: &[&str]) -> Outcome {
    match (rest, call.method) {
        (["roleAssignments"], &Method::GET) => list(call),
        (["roleAssignments"], &Method::POST) => create(call),
        ([.., last], _) => Err(unknown_segment(last)),
        ([], _) => Err(unknown_segment("entitlementManagement")),
    }
}

fn assignment_json(a: &EntitlementRoleAssignment) -> Value {
    json!({
        "id": a.id,
        "principalId": a.principal_id,
        "roleDefinitionId": a.role_definition_id,
        "appScopeId": a.app_scope_id,
        "directoryScopeId": null,
    })
}

fn list(call: &Call) -> Outcome {
    let filter = Filter::parse(
        &call.query,
        &["principalId", "roleDefinitionId", "appScopeId"],
    )?;
    let tenant = call.emulator.read();
    let items = tenant
        .entitlement_role_assignments
        .iter()
        .map(assignment_json)
        .filter(|v| filter.matches(v))
        .map(|v| select(&call.query, v))
        .collect();
    call.paging("roleManagement/entitlementManagement/roleAssignments")
        .page(&call.query, items)
        .map(Answer::Json)
}

/// `POST roleAssignments`: each of the three properties is required, and the scope is `/` or
/// an existing catalog.
fn create(call: &Call) -> Outcome {
    let body = call.json_body()?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| GraphError::bad_request(format!("The property '{name}' is required.")))
    };
    let (principal_id, role_definition_id, app_scope_id) = (
        field("principalId")?,
        field("roleDefinitionId")?,
        field("appScopeId")?,
    );
    let mut tenant = call.emulator.write();
    // Unique within the emulator's life: assignments are never deleted.
    let n = tenant.entitlement_role_assignments.len() + 1;
    let assignment = EntitlementRoleAssignment {
        id: format!("{n:08x}-0000-4000-8000-{n:012x}"),
        principal_id,
        role_definition_id,
        app_scope_id,
    };
    let scope_exists = match assignment
        .app_scope_id
        .strip_prefix("/AccessPackageCatalog/")
    {
        Some(catalog) => tenant.catalogs.iter().any(|c| c.id == catalog),
        None => assignment.app_scope_id == "/",
    };
    if !scope_exists {
        return Err(GraphError::bad_request(format!(
            "The scope '{}' is not a catalog of this tenant.",
            assignment.app_scope_id
        )));
    }
    let value = assignment_json(&assignment);
    tenant.entitlement_role_assignments.push(assignment);
    Ok(Answer::Created(value))
}
