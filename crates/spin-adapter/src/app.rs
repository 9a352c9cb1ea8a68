//! The request cycle every HTTP component shares: open storage, read the
//! configuration, call the core's route handler and send its response.

use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use stowage_core::clock::SystemClock;
use stowage_core::config::Config;
use stowage_core::http::{BodyReader, Request, Response};
use stowage_core::storage::{Database, Publisher};
use stowage_core::{ApiError, Services};

use crate::http::{into_core_request, send_response, IncomingBodyReader};
use crate::{load_config, variable, RedisPublisher, SpinDatabase, SpinKeyValue};

/// A core route handler: one per component.
pub type Handler = fn(&Services, &Request, &mut dyn BodyReader) -> Response;

/// Storage opened for one request.
struct Storage {
    db: SpinDatabase,
    kv: SpinKeyValue,
    publisher: Option<RedisPublisher>,
}

/// Serves one request with `handler`. When the component defines the
/// variable `redis_address`, uploads can be published there.
pub fn serve(request: IncomingRequest, out: ResponseOutparam, handler: Handler) {
    let core_request = into_core_request(&request);
    let mut body = IncomingBodyReader::new(request);

    let prepared = open_storage().and_then(|storage| Ok((storage, load_config()?)));
    let (storage, config) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            send_response(out, error.into_response(), |_, _| Ok(()));
            return;
        }
    };

    let services = services(&storage, config);
    let response = handler(&services, &core_request, &mut body);
    send_response(out, response, |content, writer| {
        stowage_core::files::content::write_content(&storage.db, content, writer)
    });
}

fn open_storage() -> Result<Storage, ApiError> {
    Ok(Storage {
        db: SpinDatabase::open_default()?,
        kv: SpinKeyValue::open_default()?,
        publisher: variable("redis_address").map(RedisPublisher::new),
    })
}

fn services(storage: &Storage, config: Config) -> Services<'_> {
    Services {
        db: &storage.db as &dyn Database,
        kv: &storage.kv,
        publisher: storage.publisher.as_ref().map(|publisher| publisher as &dyn Publisher),
        clock: &SystemClock,
        config,
    }
}
