//! The benchmarks' reference component: it responds to every request with the
//! same JSON body without reading the request or touching any store, so
//! its throughput is what the host and spin-sdk cost per request.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_request: Request) -> impl IntoResponse {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(r#"{"ok":true}"#)
        .build()
}
