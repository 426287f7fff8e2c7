//! What every handler can reach: the configuration and the store.

use std::sync::Arc;

use crate::Config;
use crate::storage::Storage;

/// Shared, cheap-to-clone state of one service instance.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) config: Arc<Config>,
    pub(crate) storage: Arc<dyn Storage>,
}
