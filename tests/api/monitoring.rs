//! The template's alerts and workbook (infra/monitoring/) query the handler's log lines: every
//! `name=` they read, every line they start from and every outcome they count must be one the
//! handler writes. The lines are collected from the binary itself, doing each kind of work.
use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Stdio;

fn monitoring_file(name: &str) -> String {
    let path = format!("{}/infra/monitoring/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every query of the template: the alerts' files (every `.kql` of infra/monitoring, each an
/// alert's query that the module loads) and the workbook's items.
fn queries() -> Vec<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let module = std::fs::read_to_string(format!("{root}/infra/modules/monitoring.bicep")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(format!("{root}/infra/monitoring"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".kql"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        assert!(
            module.contains(&format!("loadTextContent('../monitoring/{file}')")),
            "no alert loads {file}"
        );
    }
    let mut queries: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.clone(), without_comments(&monitoring_file(f))))
        .collect();
    let workbook: Value = serde_json::from_str(&monitoring_file("workbook.json")).unwrap();
    for item in workbook["items"].as_array().unwrap() {
        if let Some(query) = item["content"]["query"].as_str() {
            queries.push((format!("workbook {}", item["name"]), query.to_string()));
        }
    }
    queries
}

/// A KQL query without its `//` comment lines.
fn without_comments(query: &str) -> String {
    query
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `name=` a query reads: an identifier directly before `=`, as in `staleCount=` or the
/// regular expression `\bstaleCount=(\d+)` (KQL's own `x = …` has a space, `>=` no name).
fn names_read(query: &str) -> BTreeSet<String> {
    let bytes = query.as_bytes();
    let mut names = BTreeSet::new();
    for (at, _) in query.match_indices('=') {
        let mut start = at;
        while start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            start -= 1;
        }
        let mut name = &query[start..at];
        if start > 0 && bytes[start - 1] == b'\\' {
            name = name.strip_prefix('b').unwrap_or(name);
        }
        if !name.is_empty() && bytes.get(at + 1) != Some(&b'=') {
            names.insert(name.to_string());
        }
    }
    names
}

/// What a query quotes: `@"…"` regular expressions (KQL's are RE2, which the `regex` crate
/// reads the same), and plain text such as `"ListInProgress invocationId="` or an outcome.
fn quoted(query: &str) -> (Vec<regex::Regex>, Vec<String>) {
    let (mut patterns, mut texts) = (Vec::new(), Vec::new());
    let mut parts = query.split('"');
    let mut before = parts.next().unwrap_or_default();
    while let (Some(inside), Some(after)) = (parts.next(), parts.next()) {
        if before.ends_with('@') {
            patterns.push(regex::Regex::new(inside).unwrap_or_else(|e| panic!("{inside}: {e}")));
        } else {
            texts.push(inside.to_string());
        }
        before = after;
    }
    (patterns, texts)
}

/// What the handler writes while doing each kind of work, and when it cannot start.
async fn lines_the_handler_writes() -> Vec<String> {
    let app = spawn_app_with(
        Options::default()
            .tenant("workflows=2,tasks=2,customTasks=1,users=4,inProgress=1,requests=8")
            .env("STALE_AFTER", "1s"),
    )
    .await;
    let mut lines = Vec::new();
    let mut logs = |answer: &Value| {
        lines.extend(
            answer["Logs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_string)),
        )
    };
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_, answer) = app.timer().await;
    logs(&answer);
    let mut payload = http_payload("InProgress", "");
    payload["Data"]["req"]["Method"] = "GET".into();
    let (_, answer) = app.invoke("InProgress", &payload).await;
    logs(&answer);
    // A throttled resume, then the same resume again.
    app.graph.add_fault("429:times=1,retry-after=1").unwrap();
    let task = app.waiting_task(0);
    let command = resume_task_command(&task, "completed");
    let (_, answer) = app
        .invoke(
            "ResumeTask",
            &http_payload("ResumeTask", &command.to_string()),
        )
        .await;
    logs(&answer);
    let (_, answer) = app.queue("ResumeTaskQueue", &command, "m-1", 1).await;
    logs(&answer);
    let request = app.waiting_request(0);
    let (_, answer) = app
        .queue(
            "ResumeAccessRequestQueue",
            &resume_access_command(&request),
            "m-2",
            1,
        )
        .await;
    logs(&answer);
    let (_, answer) = app
        .invoke(
            "ResumeAccessRequest",
            &http_payload(
                "ResumeAccessRequest",
                r#"{"Stage": "CustomExtensionConnectionTest"}"#,
            ),
        )
        .await;
    logs(&answer);
    let (_, _) = app.http("ResumeTask", r#"{"workflowId": "a/b"}"#).await;
    // A timer sweep that finds work that slipped.
    let slipped = spawn_app_with(
        Options::default()
            .edit(with_slipped_work)
            .env("SLIPPED_LOOK_BACK", "24h"),
    )
    .await;
    let (_, answer) = slipped.timer().await;
    logs(&answer);
    lines.extend(app.stderr());

    // Settings it refuses, and a port it cannot take.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_resume-handler"))
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "7071")
        .env("GRAPH_CLOUD", "mars")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    lines.extend(
        String::from_utf8_lossy(&refused.stderr)
            .lines()
            .map(str::to_string),
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let blocked = std::process::Command::new(env!("CARGO_BIN_EXE_resume-handler"))
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", &port)
        .env("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
        .env("IDENTITY_HEADER", "x")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!blocked.status.success());
    lines.extend(
        String::from_utf8_lossy(&blocked.stderr)
            .lines()
            .map(str::to_string),
    );
    lines
}

#[tokio::test]
async fn every_name_and_line_the_alerts_and_the_workbook_query_is_one_the_handler_writes() {
    let lines = lines_the_handler_writes().await;
    let written: BTreeSet<String> = lines.iter().flat_map(|l| names_read(l)).collect();
    for expected in [
        "kind",
        "graphCalls",
        "graphMs",
        "throttled",
        "graphStatus",
        "staleCount",
        "slippedCount",
        "reason",
    ] {
        assert!(
            written.contains(expected),
            "{expected} missing from {lines:#?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains(" throttled=1 ")),
        "the 429 is counted: {lines:#?}"
    );
    for (name, query) in queries() {
        for key in names_read(&query) {
            assert!(
                written.contains(&key),
                "{name} reads {key}=, which no line of the handler has"
            );
        }
        let (patterns, texts) = quoted(&query);
        for pattern in patterns {
            assert!(
                lines.iter().any(|l| pattern.is_match(l)),
                "{name}: no line of the handler matches {pattern}"
            );
        }
        for text in texts {
            assert!(
                lines.iter().any(|l| l.contains(&text))
                    || lines.iter().any(|l| l.contains(&format!("outcome={text}"))),
                "{name} looks for {text:?}, which no line of the handler has"
            );
        }
    }
}

#[test]
fn names_are_read_from_regexes_and_text_but_not_from_kql_assignments() {
    let names = names_read(
        r#"| where message startswith "ListInProgress invocationId=" | extend s = toint(extract(@"\bstaleCount=(\d+)", 1, message)) | where a >= 5 and b == 1"#,
    );
    assert_eq!(
        names,
        ["invocationId", "staleCount"].map(String::from).into()
    );
}

/// Values a sender chooses cannot move what the alerts read: five failing deliveries whose
/// MessageIds imitate a success, and an invocation the handler cannot read, are each one line
/// whose fields are the handler's own.
#[tokio::test]
async fn a_value_that_imitates_a_field_cannot_change_what_the_alerts_and_the_workbook_read() {
    let app = spawn_app().await;
    let forged = ["resumed", "204", "accessRequest", "9"];
    for n in 0..5 {
        let message_id =
            format!("hr-{n} outcome=resumed graphStatus=204 kind=accessRequest throttled=9\nResumeTaskQueue invocationId=x outcome=resumed");
        let (status, _) = app
            .queue(
                "ResumeTaskQueue",
                &serde_json::json!({"workflowId": "a b"}),
                &message_id,
                1,
            )
            .await;
        assert_eq!(status, 500, "an invalid command fails its delivery");
    }
    let (status, _) = app
        .invoke(
            "ResumeTaskQueue",
            &serde_json::json!(["not", "an", "envelope"]),
        )
        .await;
    assert_eq!(status, 500);

    let summary = regex::Regex::new(r"(^|: )ResumeTaskQueue invocationId=").unwrap();
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = app
            .stderr()
            .into_iter()
            .filter(|l| summary.is_match(l))
            .collect();
        if lines.len() >= 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        lines.len(),
        6,
        "one line each, and no forged second line: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("outcome=malformedInvocation") && l.contains(" reason=")),
        "{lines:#?}"
    );
    let outcome = regex::Regex::new(r"\boutcome=(\w+)").unwrap();
    for line in &lines {
        let read = &outcome.captures(line).expect("an outcome")[1];
        assert!(
            ["invalidCommand", "malformedInvocation"].contains(&read),
            "{line}"
        );
    }
    for (name, query) in queries() {
        let (patterns, _) = quoted(&query);
        for pattern in patterns.iter().filter(|p| p.captures_len() > 1) {
            for line in &lines {
                if let Some(value) = pattern.captures(line).and_then(|c| c.get(1)) {
                    assert!(
                        !forged.contains(&value.as_str()),
                        "{name}: {pattern} reads the forged {:?} from {line}",
                        value.as_str()
                    );
                }
            }
        }
    }
}
