//! `resume-handler extension show|grant`: a Lifecycle Workflows custom task extension's
//! callback settings, and the least-privileged way to let an app resume its tasks: a place
//! in `callbackConfiguration.authorizedApps` instead of `LifecycleWorkflows.ReadWrite.All`
//! for the whole tenant (README, *Operator commands*; docs/graph.md, *Authorized apps*).
//!
//! Graph documents `authorizedApps` as a collection of applications named by id or appId,
//! without an example of either reading or writing it, and its schema makes it a navigation
//! property: it comes only when expanded. So both commands ask for it with `$expand`, `show`
//! accepts what comes (an object with `appId` or `id`, or the id itself), and `grant` keeps
//! every entry as it came, adds `{"appId": …}`, and then reads the extension back to check
//! that the app is listed. A PATCH replaces the whole list: `grant` never sends one built
//! from a list it could not read in full (docs/graph.md, *Authorized apps*).
use super::{call, print_failure};
use crate::app::App;
use crate::command::{CommandError, Failure, ResourceId};
use crate::graph::models::{
    iso8601_duration, AuthorizedApps, CustomTaskExtension, LogicAppEndpoint,
};
use crate::graph::{reads, Call, GraphClient, GraphPath};
use crate::telemetry::escape;
use clap::{Args, Subcommand};
use comfy_table::{presets, Table};
use futures::stream::{self, StreamExt};
use serde_json::{json, Map, Value};
use std::process::ExitCode;

/// `callbackConfiguration` is abstract in Graph: a PATCH must name the derived type.
const CALLBACK_TYPE: &str =
    "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration";

#[derive(Debug, Subcommand)]
pub(super) enum ExtensionCommand {
    /// List every custom task extension: its Logic App, callback timeout and authorized apps,
    /// and with --app whether that app may resume its tasks.
    List(ListArgs),
    /// Print a custom task extension's Logic App, callback timeout and authorized apps.
    Show(ShowArgs),
    /// Let an app resume the tasks of a custom task extension: add its client id to the
    /// extension's authorizedApps, keeping the apps already there.
    ///
    /// Run it signed in as a Lifecycle Workflows Administrator who is also Logic App
    /// Contributor on the extension's Logic App (Graph requires both). Example, for the
    /// Function App's managed identity:
    ///   resume-handler extension grant --task-extension <id> --app <client id> --dry-run
    ///   resume-handler extension grant --task-extension <id> --app <client id>
    #[command(verbatim_doc_comment)]
    Grant(GrantArgs),
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// A client id (appId) to look for among each extension's authorized apps, such as the
    /// Function App's managed identity (the template's output principalClientId).
    #[arg(long, value_name = "CLIENT_ID")]
    app: Option<String>,
    /// Print JSON: the extensions as `show --json` prints each.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// The custom task extension's id.
    #[arg(long, value_name = "ID")]
    task_extension: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct GrantArgs {
    /// The custom task extension's id.
    #[arg(long, value_name = "ID")]
    task_extension: String,
    /// The client id (appId) of the app to authorize, such as the Function App's managed
    /// identity: the template's output principalClientId, or for a system-assigned identity
    /// `az ad sp show --id <principalId> --query appId -o tsv`.
    #[arg(long, value_name = "CLIENT_ID")]
    app: String,
    /// Print the change Graph would be asked to make, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(super) async fn run(app: &App, command: &ExtensionCommand) -> ExitCode {
    match command {
        ExtensionCommand::List(args) => match list(app, args).await {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(failure) => print_failure(&failure, args.json, hint(&failure)),
        },
        ExtensionCommand::Show(args) => match show(app, args).await {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(failure) => print_failure(&failure, args.json, hint(&failure)),
        },
        ExtensionCommand::Grant(args) => match grant(app, args).await {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(failure) => print_failure(&failure, false, hint(&failure)),
        },
    }
}

/// The extension as `show --json` prints it.
fn to_json(extension: &CustomTaskExtension) -> Value {
    let endpoint = extension.endpoint_configuration.as_ref();
    json!({
        "id": extension.id.as_deref(),
        "displayName": extension.display_name.as_deref(),
        "logicApp": {
            "name": endpoint.and_then(|e| e.logic_app_workflow_name.as_deref()),
            "resourceGroup": endpoint.and_then(|e| e.resource_group_name.as_deref()),
            "subscriptionId": endpoint.and_then(|e| e.subscription_id.as_deref()),
        },
        "authentication": authentication(extension),
        "callbackTimeout": extension.timeout(),
        // null: Graph did not list them, so they are unknown (not none).
        "authorizedApps": match extension.authorized_apps() {
            apps @ AuthorizedApps::Listed(_) => json!(apps.client_ids()),
            AuthorizedApps::Unread(_) => Value::Null,
        },
    })
}

/// How the extension's callouts are signed, without Graph's namespace: `logicAppPopAuthenticationConfiguration`…
fn authentication(extension: &CustomTaskExtension) -> Option<&str> {
    let typed = extension.authentication_configuration.as_ref()?;
    let name = typed.odata_type.as_deref()?;
    Some(name.trim_start_matches("#microsoft.graph."))
}

/// For a person: every value from Graph with its control characters escaped.
fn to_text(extension: &CustomTaskExtension) -> String {
    let or_none = |v: Option<&str>| escape(v.unwrap_or("(none)")).into_owned();
    let timeout = match extension.timeout() {
        Some(t) => match iso8601_duration(t) {
            Some(d) => format!("{} ({})", escape(t), humantime::format_duration(d)),
            None => format!("{} (not a duration this app reads)", escape(t)),
        },
        None => "(none: the extension does not wait for a callback)".into(),
    };
    let authorized = extension.authorized_apps();
    let apps = match (authorized, authorized.client_ids().as_slice()) {
        (AuthorizedApps::Unread(seen), _) => {
            format!("unknown: Graph did not list them ({seen})")
        }
        (_, []) => "none: only identities with LifecycleWorkflows.ReadWrite.All can resume".into(),
        (_, ids) => ids
            .iter()
            .map(|id| escape(id).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let endpoint = extension.endpoint_configuration.as_ref();
    let endpoint_field = |field: fn(&LogicAppEndpoint) -> Option<&str>| endpoint.and_then(field);
    format!(
        "custom task extension {} ({})\n  Logic App:        {} (resource group {}, subscription {})\n  authentication:   {}\n  callback timeout: {timeout}\n  authorized apps:  {apps}",
        or_none(extension.id.as_deref()),
        or_none(extension.display_name.as_deref()),
        or_none(endpoint_field(|e| e.logic_app_workflow_name.as_deref())),
        or_none(endpoint_field(|e| e.resource_group_name.as_deref())),
        or_none(endpoint_field(|e| e.subscription_id.as_deref())),
        or_none(authentication(extension)),
    )
}

/// Every extension, each read again for its authorized apps (Graph's list does not expand
/// them), `GRAPH_MAX_CONCURRENCY` at a time; one that cannot be read is listed with why.
async fn list(app: &App, args: &ListArgs) -> Result<String, Failure> {
    let client = args.app.as_deref().map(client_id).transpose()?;
    let graph = app.graph().await?;
    let call = call(app);
    let listed = reads::task_extensions(graph, &call).await?;
    let ids = listed
        .iter()
        .map(|e| extension_id(e.id.as_deref().unwrap_or_default()));
    let read: Vec<Result<CustomTaskExtension, Failure>> = stream::iter(ids)
        .map(|id| {
            let call = &call;
            async move { read(graph, call, &id?).await }
        })
        .buffered(app.settings.graph.max_concurrency)
        .collect()
        .await;
    let authorized = |e: &CustomTaskExtension| match (&client, e.authorized_apps()) {
        (None, _) => None,
        (Some(_), AuthorizedApps::Unread(_)) => Some(Value::Null),
        (Some(client), _) => Some(json!(e.is_authorized(client))),
    };
    if args.json {
        let entries: Vec<Value> = read
            .iter()
            .zip(&listed)
            .map(|(extension, as_listed)| match extension {
                Ok(extension) => {
                    let mut entry = to_json(extension);
                    if let Some(authorized) = authorized(extension) {
                        entry["appAuthorized"] = authorized;
                    }
                    entry
                }
                Err(failure) => {
                    json!({"id": as_listed.id.as_deref(), "error": failure.problem()})
                }
            })
            .collect();
        return Ok(super::json_text(&entries));
    }
    let mut table = Table::new();
    table
        .load_style(presets::ASCII_BORDERS_ONLY_CONDENSED)
        .set_header([
            "extension".to_string(),
            "id".into(),
            "Logic App".into(),
            "callback timeout".into(),
            match &client {
                Some(client) => format!("{client} authorized"),
                None => "authorized apps".into(),
            },
        ]);
    for (extension, as_listed) in read.iter().zip(&listed) {
        let name = escape(as_listed.display_name.as_deref().unwrap_or("")).into_owned();
        let id = escape(as_listed.id.as_deref().unwrap_or("")).into_owned();
        let row = match extension {
            Ok(e) => {
                let apps = e.authorized_apps();
                let last = match (&client, apps) {
                    (_, AuthorizedApps::Unread(_)) => "unknown".to_string(),
                    (Some(client), _) => match e.is_authorized(client) {
                        true => "yes".into(),
                        false => "no".into(),
                    },
                    (None, apps) => escape(&apps.client_ids().join(", ")).into_owned(),
                };
                let logic_app = e
                    .endpoint_configuration
                    .as_ref()
                    .and_then(|c| c.logic_app_workflow_name.as_deref())
                    .unwrap_or("(none)");
                [
                    name,
                    id,
                    escape(logic_app).into_owned(),
                    escape(e.timeout().unwrap_or("(none)")).into_owned(),
                    last,
                ]
            }
            Err(failure) => {
                let problem = failure.problem();
                [
                    name,
                    id,
                    format!("unread: {}", problem.code),
                    String::new(),
                    String::new(),
                ]
            }
        };
        table.add_row(row);
    }
    Ok(format!(
        "{table}\n{} custom task extension{}",
        listed.len(),
        if listed.len() == 1 { "" } else { "s" }
    ))
}

async fn show(app: &App, args: &ShowArgs) -> Result<String, Failure> {
    let id = extension_id(&args.task_extension)?;
    let graph = app.graph().await?;
    let extension = read(graph, &call(app), &id).await?;
    Ok(if args.json {
        super::json_text(&to_json(&extension))
    } else {
        to_text(&extension)
    })
}

async fn grant(app: &App, args: &GrantArgs) -> Result<String, Failure> {
    let id = extension_id(&args.task_extension)?;
    let client_id = client_id(&args.app)?;
    let graph = app.graph().await?;
    let call = call(app);
    let extension = read(graph, &call, &id).await?;
    if extension.is_authorized(&client_id) {
        return Ok(format!(
            "{client_id} is already an authorized app of {}; nothing changed",
            id.as_str()
        ));
    }
    let body = grant_body(&extension, &client_id)?;
    if args.dry_run {
        return Ok(format!(
            "dry run: would PATCH {}/{} with\n{}",
            reads::TASK_EXTENSIONS,
            id.as_str(),
            serde_json::to_string_pretty(&body).expect("JSON serializes")
        ));
    }
    let path = GraphPath::new().words(reads::TASK_EXTENSIONS).id(&id);
    graph.patch(&call, &path, &body).await?;
    // Graph answers 204 and documents no shape: the change counts when it reads back.
    let after = read(graph, &call, &id).await?;
    if !after.is_authorized(&client_id) {
        return Err(Failure::GraphError {
            status: None,
            code: "grantNotVisible".into(),
            reason: Some(format!(
                "Graph accepted the change, but {client_id} is not among the extension's authorized apps when read back; add it in the Entra admin center (Lifecycle workflows → Custom extensions)"
            )),
            request_id: None,
        });
    }
    let count = after.authorized_apps().client_ids().len();
    Ok(format!(
        "granted: {client_id} may now resume the tasks of {} ({count} authorized app{})",
        id.as_str(),
        if count == 1 { "" } else { "s" }
    ))
}

/// The PATCH that adds `client_id`: the whole callback configuration, as it was plus the
/// app, so that it means the same whether Graph merges or replaces it. An extension without
/// a callback timeout does not wait, so there is nothing to authorize.
fn grant_body(extension: &CustomTaskExtension, client_id: &str) -> Result<Value, Failure> {
    let timeout = extension.timeout().ok_or_else(|| {
        Failure::Invalid(CommandError::refused(
            "--task-extension",
            "this extension has no callback configuration: it does not wait for a resume, so no app needs to be authorized",
        ))
    })?;
    let mut apps = match extension.authorized_apps() {
        AuthorizedApps::Listed(apps) => apps.clone(),
        AuthorizedApps::Unread(seen) => {
            return Err(Failure::GraphError {
                status: None,
                code: "authorizedAppsUnread".into(),
                reason: Some(format!(
                    "Graph did not list the extension's authorized apps in full (it gave {seen}); a change replaces the whole list, so nothing was changed: add the app in the Entra admin center (Lifecycle workflows → Custom extensions)"
                )),
                request_id: None,
            })
        }
    };
    apps.push(json!({ "appId": client_id }));
    let mut callback = Map::new();
    callback.insert("@odata.type".into(), json!(CALLBACK_TYPE));
    callback.insert("timeoutDuration".into(), json!(timeout));
    callback.insert("authorizedApps".into(), Value::Array(apps));
    Ok(json!({ "callbackConfiguration": callback }))
}

async fn read(
    graph: &GraphClient,
    call: &Call,
    id: &ResourceId,
) -> Result<CustomTaskExtension, Failure> {
    Ok(reads::task_extension(graph, call, id).await?)
}

fn extension_id(text: &str) -> Result<ResourceId, Failure> {
    ResourceId::parse_str("--task-extension", text).map_err(Failure::Invalid)
}

/// A client id is a GUID: anything else is a mistake worth stopping before Graph.
fn client_id(text: &str) -> Result<String, Failure> {
    uuid::Uuid::parse_str(text.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| {
            Failure::Invalid(CommandError::refused(
                "--app",
                format!(
                    "--app is '{}'; expected an application (client) id such as 8f7c…-…: the managed identity's client id, not its object id or name",
                    escape(text)
                ),
            ))
        })
}

fn hint(failure: &Failure) -> Option<&'static str> {
    Some(match failure {
        Failure::Invalid(_) => "see `resume-handler extension --help`",
        Failure::Forbidden { .. } => "changing an extension needs LifecycleWorkflows.ReadWrite.All (or LifecycleWorkflows-CustomExt.ReadWrite.All) and, signed in as a person, Logic App Contributor on the extension's Logic App",
        Failure::NotFound { .. } => "check the id: `az rest --url https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions` lists them",
        Failure::Unavailable { .. } => "Graph is throttling or unavailable: try again later",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extension(callback: Value) -> CustomTaskExtension {
        serde_json::from_value(json!({
            "id": "ext-1",
            "displayName": "Notify\u{1b}[31m HR",
            "callbackConfiguration": callback,
        }))
        .expect("any JSON object is an extension")
    }

    #[test]
    fn authorized_apps_are_read_in_any_form_graph_may_write() {
        let e = extension(json!({
            "@odata.type": CALLBACK_TYPE,
            "timeoutDuration": "PT1H",
            "authorizedApps": ["a", {"appId": "b"}, {"id": "c", "displayName": "x"}, 7]
        }));
        assert_eq!(e.authorized_apps().client_ids(), ["a", "b", "c"]);
        assert!(e.is_authorized("B"));
        assert!(to_text(&e).contains("Notify\\u{1b}[31m HR"), "escaped");
    }

    #[test]
    fn a_grant_keeps_every_app_and_the_timeout_and_names_the_derived_type() {
        let e = extension(json!({
            "timeoutDuration": "PT30M",
            "authorizedApps": [{"appId": "old", "extra": true}]
        }));
        let body = grant_body(&e, "new").unwrap();
        assert_eq!(
            body,
            json!({"callbackConfiguration": {
                "@odata.type": CALLBACK_TYPE,
                "timeoutDuration": "PT30M",
                "authorizedApps": [{"appId": "old", "extra": true}, {"appId": "new"}]
            }})
        );
        let no_callback = extension(Value::Null);
        assert!(matches!(
            grant_body(&no_callback, "new"),
            Err(Failure::Invalid(_))
        ));
    }

    #[test]
    fn a_grant_never_replaces_a_list_graph_did_not_give_in_full() {
        for (callback, seen) in [
            (
                json!({"timeoutDuration": "PT1H"}),
                "no authorizedApps at all",
            ),
            (
                json!({"timeoutDuration": "PT1H", "authorizedApps": null}),
                "authorizedApps: null",
            ),
            (
                json!({"timeoutDuration": "PT1H", "authorizedApps": {"value": [{"appId": "a"}]}}),
                "an authorizedApps that is not a list",
            ),
        ] {
            let e = extension(callback);
            match grant_body(&e, "new") {
                Err(Failure::GraphError { code, reason, .. }) => {
                    assert_eq!(code, "authorizedAppsUnread");
                    assert!(reason.unwrap().contains(seen));
                }
                other => panic!("{seen}: {other:?}"),
            }
            assert!(to_text(&e).contains(&format!("unknown: Graph did not list them ({seen})")));
            assert_eq!(to_json(&e)["authorizedApps"], Value::Null);
        }
        // An empty list is a list: the first app may be added.
        let empty = extension(json!({"timeoutDuration": "PT1H", "authorizedApps": []}));
        assert!(grant_body(&empty, "new").is_ok());
    }

    #[test]
    fn an_app_is_named_by_its_client_id() {
        assert_eq!(
            client_id(" 8F7C1A2B-0000-4000-8000-000000000001 ").unwrap(),
            "8f7c1a2b-0000-4000-8000-000000000001"
        );
        for bad in ["", "my-function-app", "8f7c1a2b"] {
            assert!(matches!(client_id(bad), Err(Failure::Invalid(_))), "{bad}");
        }
    }
}
