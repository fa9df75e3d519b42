//! The floor for cold start: the smallest warp server that answers what the handler is
//! asked first (`GET /`, then an invocation), with a fixed answer and nothing else.
use warp::Filter;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .expect("FUNCTIONS_CUSTOMHANDLER_PORT");
    let ready = warp::get().and(warp::path::end()).map(warp::reply);
    let invoke = warp::post().and(warp::path::param::<String>()).and(warp::body::bytes()).map(|_: String, _| {
        warp::reply::json(&serde_json::json!({"Outputs": {"res": {"statusCode": 400, "body": {}}}, "Logs": [], "ReturnValue": null}))
    });
    warp::serve(ready.or(invoke))
        .run(([127, 0, 0, 1], port))
        .await;
}
