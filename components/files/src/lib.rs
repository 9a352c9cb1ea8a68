//! The files component: upload, list, details, download and deletion
//! (`/files/...`). The routes and rules live in `stowage_core::api::files`.

use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    stowage_spin_adapter::serve(request, out, stowage_core::api::files::handle);
}
