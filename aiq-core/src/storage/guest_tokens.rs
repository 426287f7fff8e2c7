//! Guest tokens: the single-use submit token handed out by `/test/guest/start` and the claim
//! token handed out by `/test/guest/submit`, each living `GUEST_TOKEN_TTL_MINUTES`.
//!
//! [`MemoryGuestTokens`] keeps them in the process (one instance); [`RedisGuestTokens`] in Redis
//! (`GUEST_TOKEN_REDIS_URL`), where `GETDEL` makes taking a submit token atomic across instances.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StorageError;
use super::questions::QuestionId;
use super::sessions::SessionId;

#[cfg(feature = "redis")]
pub use self::in_redis::{GUEST_TOKENS_PREFIX, RedisGuestTokens};

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestTokenKind {
    /// Submit the answers of a guest session, once.
    Submit,
    /// Move a completed guest result to an account.
    Claim,
}

/// The payload behind a guest token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestToken {
    /// Submit or claim.
    pub token_type: GuestTokenKind,
    /// The guest session.
    pub session_id: SessionId,
    /// The device that started it.
    pub device_id: String,
    /// The questions served.
    pub question_ids: Vec<QuestionId>,
}

/// Where guest tokens live until they expire or are taken.
#[async_trait]
pub trait GuestTokenStore: std::fmt::Debug + Send + Sync + 'static {
    /// Stores `payload` under `token` for `ttl`.
    async fn put(
        &self,
        token: &str,
        payload: &GuestToken,
        ttl: Duration,
    ) -> Result<(), StorageError>;

    /// Removes and returns the payload: of two concurrent callers at most one gets it.
    async fn take(&self, token: &str) -> Result<Option<GuestToken>, StorageError>;

    /// Returns the payload and leaves it in place.
    async fn get(&self, token: &str) -> Result<Option<GuestToken>, StorageError>;
}

/// Guest tokens in process memory (one instance). Expired entries are dropped as new ones are
/// stored.
///
/// ```
/// use std::time::Duration;
/// use aiq_core::storage::{GuestToken, GuestTokenKind, GuestTokenStore, MemoryGuestTokens};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let tokens = MemoryGuestTokens::default();
/// let payload = GuestToken {
///     token_type: GuestTokenKind::Submit, session_id: 1, device_id: "d".into(), question_ids: vec![7],
/// };
/// tokens.put("t", &payload, Duration::from_secs(60)).await.unwrap();
/// assert_eq!(tokens.take("t").await.unwrap(), Some(payload));
/// assert_eq!(tokens.take("t").await.unwrap(), None);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryGuestTokens {
    entries: Mutex<HashMap<String, (GuestToken, Instant)>>,
}

impl MemoryGuestTokens {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (GuestToken, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl GuestTokenStore for MemoryGuestTokens {
    async fn put(
        &self,
        token: &str,
        payload: &GuestToken,
        ttl: Duration,
    ) -> Result<(), StorageError> {
        let now = Instant::now();
        let mut entries = self.entries();
        entries.retain(|_, (_, expires)| *expires > now);
        entries.insert(token.to_owned(), (payload.clone(), now + ttl));
        Ok(())
    }

    async fn take(&self, token: &str) -> Result<Option<GuestToken>, StorageError> {
        let entry = self.entries().remove(token);
        Ok(entry
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(payload, _)| payload))
    }

    async fn get(&self, token: &str) -> Result<Option<GuestToken>, StorageError> {
        Ok(self
            .entries()
            .get(token)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(payload, _)| payload.clone()))
    }
}

/// The Redis store (feature `redis`).
#[cfg(feature = "redis")]
mod in_redis {
    use std::time::Duration;

    use async_trait::async_trait;
    use redis::aio::ConnectionManager;
    use tracing::Instrument;

    use super::{GuestToken, GuestTokenStore, StorageError};

    /// The default key prefix in Redis (the old backend used `guest_token:`).
    pub const GUEST_TOKENS_PREFIX: &str = "guest_token:";

    /// Guest tokens in Redis, shared by every instance.
    ///
    /// ```no_run
    /// use aiq_core::storage::RedisGuestTokens;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tokens = RedisGuestTokens::new("redis://127.0.0.1:6379/0", "guest_token:")?;
    /// # Ok(()) }
    /// ```
    #[derive(Clone)]
    pub struct RedisGuestTokens {
        connection: ConnectionManager,
        prefix: String,
    }

    impl std::fmt::Debug for RedisGuestTokens {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisGuestTokens")
                .field("prefix", &self.prefix)
                .finish_non_exhaustive()
        }
    }

    impl RedisGuestTokens {
        /// Connects lazily to `url`; keys are `<prefix><token>`. Must be called within a Tokio
        /// runtime.
        ///
        /// # Errors
        /// A malformed URL.
        pub fn new(url: &str, prefix: &str) -> Result<Self, StorageError> {
            Ok(Self {
                connection: super::super::redis::connect(url).map_err(unavailable)?,
                prefix: prefix.to_owned(),
            })
        }
    }

    impl RedisGuestTokens {
        /// Runs `command` (`GET` or `GETDEL`) on the token's key and decodes the payload.
        async fn read(
            &self,
            command: &'static str,
            token: &str,
        ) -> Result<Option<GuestToken>, StorageError> {
            let value: Option<String> = redis::cmd(command)
                .arg(format!("{}{token}", self.prefix))
                .query_async(&mut self.connection.clone())
                .instrument(super::super::redis::command_span(command))
                .await
                .map_err(unavailable)?;
            decode(value)
        }
    }

    fn unavailable(err: redis::RedisError) -> StorageError {
        StorageError::Unavailable(Box::new(err))
    }

    fn decode(value: Option<String>) -> Result<Option<GuestToken>, StorageError> {
        value
            .map(|text| serde_json::from_str(&text).map_err(|e| StorageError::Backend(Box::new(e))))
            .transpose()
    }

    #[async_trait]
    impl GuestTokenStore for RedisGuestTokens {
        async fn put(
            &self,
            token: &str,
            payload: &GuestToken,
            ttl: Duration,
        ) -> Result<(), StorageError> {
            let value =
                serde_json::to_string(payload).map_err(|e| StorageError::Backend(Box::new(e)))?;
            let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            redis::cmd("SET")
                .arg(format!("{}{token}", self.prefix))
                .arg(value)
                .arg("PX")
                .arg(millis)
                .query_async::<()>(&mut self.connection.clone())
                .instrument(super::super::redis::command_span("SET"))
                .await
                .map_err(unavailable)
        }

        async fn take(&self, token: &str) -> Result<Option<GuestToken>, StorageError> {
            self.read("GETDEL", token).await
        }

        async fn get(&self, token: &str) -> Result<Option<GuestToken>, StorageError> {
            self.read("GET", token).await
        }
    }
}
