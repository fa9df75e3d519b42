//! The custom handler protocol, byte for byte as the host speaks it.
use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn get_root_answers_at_once_for_the_hosts_readiness_probe() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_queue_message_resumes_in_every_encoding_the_host_produces() {
    let app = spawn_app().await;
    for (n, encoding) in [Encoding::Double, Encoding::Single, Encoding::Object]
        .into_iter()
        .enumerate()
    {
        let ids = app.waiting_task(0);
        let payload = queue_payload(
            &resume_task_command(&ids, "completed"),
            encoding,
            &format!("m-{n}"),
            1,
        );
        let (status, answer) = app.invoke("ResumeTaskQueue", &payload).await;
        assert_eq!(status, 200, "{encoding:?}: {answer}");
        assert_eq!(answer["ReturnValue"]["outcome"], "resumed", "{encoding:?}");
        assert_eq!(
            app.graph
                .task_processing_result(&ids.2)
                .unwrap()
                .processing_status,
            "completed"
        );
    }
}

#[tokio::test]
async fn an_http_body_resumes_as_a_string_an_object_or_base64() {
    let app = spawn_app().await;
    let bodies = |ids: &(String, String, String)| {
        let command = resume_task_command(ids, "completed");
        use base64::Engine;
        [
            (json!(command.to_string()), "application/json"),
            (command.clone(), "application/json"),
            (
                json!(base64::engine::general_purpose::STANDARD.encode(command.to_string())),
                "application/octet-stream",
            ),
        ]
    };
    for i in 0..3 {
        let ids = app.waiting_task(0);
        let (body, content_type) = bodies(&ids)[i].clone();
        let mut payload = http_payload("ResumeTask", "");
        payload["Data"]["req"]["Body"] = body;
        payload["Data"]["req"]["Headers"]["Content-Type"] = json!([content_type]);
        let (status, answer) = app.invoke("ResumeTask", &payload).await;
        assert_eq!(status, 200);
        assert_eq!(answer["Outputs"]["res"]["statusCode"], 200, "{answer}");
        assert_eq!(answer["Outputs"]["res"]["body"]["outcome"], "resumed");
    }
}

#[tokio::test]
async fn a_chunked_invocation_body_is_read_whole() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    let payload = queue_payload(
        &resume_task_command(&ids, "failed"),
        Encoding::Double,
        "chunked",
        1,
    )
    .to_string();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = payload
        .as_bytes()
        .chunks(7)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let response = app
        .client
        .post(app.url("/ResumeTaskQueue"))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["ReturnValue"]["outcome"], "resumed");
    assert_eq!(
        app.graph
            .task_processing_result(&ids.2)
            .unwrap()
            .processing_status,
        "failed"
    );
}

#[tokio::test]
async fn an_unknown_function_gets_404_with_an_error_json() {
    let app = spawn_app().await;
    let (status, answer) = app.invoke("ResumeEverything", &timer_payload()).await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "unknownFunction");
}

#[tokio::test]
async fn a_malformed_invocation_gets_500_with_an_error_json_and_the_handler_lives_on() {
    let app = spawn_app().await;
    for payload in [
        json!({}),
        json!({"Data": {}}),
        json!({"Data": {"req": null}}),
        json!({"Data": "x"}),
        json!([1]),
    ] {
        for function in [
            "ResumeTask",
            "ResumeTaskQueue",
            "ListInProgress",
            "InProgress",
        ] {
            let (status, answer) = app.invoke(function, &payload).await;
            assert_eq!(status, 500, "{function} {payload}");
            assert_eq!(answer["error"]["code"], "malformedInvocation");
        }
    }
    let response = app
        .client
        .post(app.url("/ResumeTask"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_timer_without_schedule_status_still_runs() {
    let app = spawn_app().await;
    let payload = json!({"Data": {"timer": {"Schedule": {}, "ScheduleStatus": null, "IsPastDue": true}}, "Metadata": {"sys": {}}});
    let (status, answer) = app.invoke("ListInProgress", &payload).await;
    assert_eq!(status, 200);
    assert!(answer["ReturnValue"]["count"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_successful_invocation_logs_one_summary_line_in_logs() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    let (_, answer) = app
        .queue(
            "ResumeTaskQueue",
            &resume_task_command(&ids, "completed"),
            "audit-1",
            1,
        )
        .await;
    let logs = answer["Logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    let line = logs[0].as_str().unwrap();
    for part in [
        "ResumeTaskQueue",
        "invocationId=",
        "messageId=audit-1",
        &format!("taskProcessingResultId={}", ids.2),
        "outcome=resumed",
        "graphRequestId=",
        "durationMs=",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert!(!line.contains("emulator."), "no token in logs");
}

#[tokio::test]
async fn a_failed_invocation_logs_its_summary_to_stderr_without_free_text() {
    let app = spawn_app().await;
    let (request, instance, stage) = app.waiting_request(0);
    let command = json!({"assignmentRequestId": request, "customExtensionStageInstanceId": instance, "stage": stage,
        "customExtensionStageInstanceDetail": "private note about the user"});
    app.graph.add_fault("500:match=/resume").unwrap();
    let (status, _) = app
        .queue("ResumeAccessRequestQueue", &command, "audit-2", 1)
        .await;
    assert_eq!(status, 500);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let stderr = app.stderr().join("\n");
    assert!(
        stderr.contains("ResumeAccessRequestQueue")
            && stderr.contains("outcome=graphError")
            && stderr.contains("messageId=audit-2"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("private note"),
        "free text must not be logged"
    );
}

#[tokio::test]
async fn a_payload_that_stops_half_way_is_answered_408_and_its_connection_let_go() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    stream
        .write_all(b"POST /ResumeTask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Data\":")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        resume_handler::startup::PAYLOAD_READ_TIMEOUT + std::time::Duration::from_secs(10),
        async {
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
        },
    )
    .await;
    assert!(read.is_ok(), "no answer to a stalled payload");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("payloadTimeout"), "{text}");
}
