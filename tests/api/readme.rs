//! The README's runnable blocks: each fenced block marked ```` ```sh devhost ```` runs, as it
//! is written, against what devhost serves (the demo tenant, the handler, the local front),
//! so that a renamed flag, setting, route or id breaks the build and not the reader; and the
//! block marked ```` ```text doctor ```` is what `doctor` prints for the deployment it
//! describes.
use crate::helpers::*;
use devhost::app::FunctionApp;
use devhost::front::Front;
use std::path::Path;
use std::time::Duration;

/// devhost's ports, as the README writes them.
const EMULATOR: &str = "127.0.0.1:7070";
const FRONT: &str = "127.0.0.1:7071";

/// The blocks the README marks `sh devhost`, each with its lines joined as a shell reads them.
fn devhost_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in readme.lines() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed == "```sh devhost" => current = Some(Vec::new()),
            Some(lines) if trimmed == "```" => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            Some(lines) => lines.push(trimmed),
            None => {}
        }
    }
    blocks
}

#[tokio::test]
async fn the_readme_blocks_marked_devhost_run_as_written_against_the_demo_tenant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = devhost_blocks(&readme);
    assert!(!blocks.is_empty(), "the README marks no block `sh devhost`");

    let app = spawn_app_with(Options::default().edit(|t| *t = graph_emulator::demo())).await;
    let front = Front::new(
        FunctionApp::read(root).unwrap(),
        host_sim::Host::new(app.port),
    )
    .serve(0)
    .await
    .unwrap();
    // `./resume-handler`, as devhost leaves it in the app root.
    let workdir = std::env::temp_dir().join(format!("readme-devhost-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).unwrap();
    let binary = workdir.join("resume-handler");
    let _ = std::fs::remove_file(&binary);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_resume-handler"), &binary).unwrap();

    let emulator = app.graph.url();
    let emulator = emulator.trim_start_matches("http://");
    for block in &blocks {
        let script = block
            .replace(EMULATOR, emulator)
            .replace(FRONT, &front.addr.to_string());
        // Every curl fails on an HTTP error, so that a refused command fails the block.
        let script = format!(
            "set -euo pipefail\ncurl() {{ command curl --fail-with-body \"$@\"; echo; }}\n{script}\n"
        );
        let output = tokio::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&workdir)
            .env_remove("GRAPH_AUTH")
            .output()
            .await
            .expect("bash runs");
        assert!(
            output.status.success(),
            "a README block failed:\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // What the block says it does, it did: the HTTP resume and the queued one.
    let queue = front.front.queue("resume-task").unwrap();
    for _ in 0..200 {
        if queue.is_idle() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let finished = |status: &str| app.graph.task_results_with_status(status);
    let has = |status: &str, result: &str| finished(status).iter().any(|(_, _, r)| r == result);
    assert!(has("completed", "ac2b0c96-94c7-403a-932d-ccd9dd1e77d1"));
    assert!(has("failed", "bf3c7396-fa4f-43ed-8ced-cec702706997"));
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn the_readme_contents_list_every_section_in_order() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let sections: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter(|h| *h != "Contents")
        .collect();
    let contents = readme
        .split("## Contents\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("the README has a Contents list");
    let listed: Vec<String> = contents.lines().map(str::to_string).collect();
    let expected: Vec<String> = sections
        .iter()
        .map(|h| format!("- [{h}](#{})", anchor(h)))
        .collect();
    assert_eq!(listed, expected);
}

/// The lines of the README's block marked `text doctor`, without their indent.
fn doctor_block(readme: &str) -> Vec<&str> {
    let mut lines = readme.lines().map(str::trim);
    lines
        .find(|l| *l == "```text doctor")
        .expect("a block marked `text doctor`");
    lines.take_while(|l| *l != "```").collect()
}

#[tokio::test]
async fn the_readme_doctor_run_is_what_doctor_prints_for_the_misconfigurations_it_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = doctor_block(&readme);

    // As the README says: one starter's SAS left on, the other's policy wiped, two dead
    // letters, and an app that only reads workflows missing from one extension's apps.
    let mut tenant = graph_emulator::demo();
    let azure = &mut tenant.azure;
    for starter in &mut azure.logic_apps {
        if starter.name.contains("-lcw-") {
            starter.access_control["triggers"]["sasAuthenticationPolicy"]["state"] =
                "Enabled".into();
        } else {
            starter.access_control = serde_json::json!({});
        }
    }
    azure.namespaces[0].queues[1].dead_letter_message_count = 2;
    azure.function_apps[0].graph_app_roles = vec![
        "LifecycleWorkflows.Read.All".into(),
        "EntitlementManagement.ReadWrite.All".into(),
    ];
    tenant.custom_task_extensions[1].authorized_apps.clear();
    let graph = graph_emulator::Emulator::start(tenant, Default::default(), 0)
        .await
        .unwrap();
    let (code, stdout, stderr) = run_cli(
        &graph,
        &[
            "doctor",
            "--subscription",
            graph_emulator::generate::SUBSCRIPTION_ID,
            "--resource-group",
            graph_emulator::generate::RESOURCE_GROUP,
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    let printed: Vec<&str> = stdout.lines().map(str::trim).collect();
    for line in block.iter().filter(|l| **l != "…") {
        assert!(
            printed.contains(line),
            "the README shows {line:?}; doctor printed:\n{stdout}"
        );
    }
    assert_eq!(block.last(), printed.last(), "{stdout}");
    let shown_failures = block.iter().filter(|l| l.starts_with('✗')).count();
    let failures = printed.iter().filter(|l| l.starts_with('✗')).count();
    assert_eq!(shown_failures, failures, "every ✗ line is shown");
}
