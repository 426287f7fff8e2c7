//! A panic in a handler becomes a 500 with an error id, and the panic is logged under that id
//! inside the request's span (so the log line also carries the request id).

use std::any::Any;

use axum::response::Response;
use uuid::Uuid;

pub(super) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    metrics::counter!(crate::telemetry::APP_ERRORS, "error.type" => "panic").increment(1);
    let error_id = Uuid::new_v4();
    tracing::error!(%error_id, panic = %message, "handler panicked");
    crate::error::internal_error_response(error_id)
}
