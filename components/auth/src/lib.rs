//! The auth component: sign-in, sessions, API tokens, users and
//! organizations (`/auth/...`, `/users/...`, `/orgs/...`). The routes and
//! rules live in `stowage_core::api::auth`.

use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    stowage_spin_adapter::serve(request, out, stowage_core::api::auth::handle);
}
