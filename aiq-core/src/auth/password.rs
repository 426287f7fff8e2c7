//! Password hashing.
//!
//! New hashes are argon2id with m = 19 MiB, t = 2, p = 1 (the OWASP recommendation; about 19 ms
//! on one core of the project's machines). Hashes from the old backend are bcrypt (`$2a$`,
//! `$2b$`, `$2y$`, cost 12) and still verify; a successful verification of one yields an argon2id
//! replacement to store. Hashing runs on the blocking pool behind a semaphore with one permit
//! less than the number of cores, so a flood of logins queues instead of starving the async
//! workers that serve everything else.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::BoxError;

/// argon2id memory cost in KiB.
const MEMORY_KIB: u32 = 19_456;
/// argon2id passes.
const ITERATIONS: u32 = 2;
/// argon2id lanes.
const LANES: u32 = 1;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verified {
    /// It matches; `upgrade` is a fresh argon2id hash to store when the old one was bcrypt or
    /// used other parameters.
    Valid { upgrade: Option<String> },
    /// It does not match (or the stored value is not a hash at all).
    Invalid,
}

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Debug, Clone)]
pub(crate) struct Passwords {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when an account does not exist so that a wrong
    /// email costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .expect("the argon2 parameters are valid constants");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, BoxError> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| format!("argon2 hashing failed: {e}"))?
        .to_string())
}

fn verify_now(password: &str, stored: &str) -> Result<Verified, BoxError> {
    if stored.starts_with("$2") {
        // bcrypt only looks at the first 72 bytes; the crate truncates the same way the old
        // backend's library did when these hashes were made.
        return Ok(match bcrypt::verify(password, stored) {
            Ok(true) => Verified::Valid {
                upgrade: Some(hash_now(password)?),
            },
            Ok(false) | Err(_) => Verified::Invalid,
        });
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Ok(Verified::Invalid);
    };
    if argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Ok(Verified::Invalid);
    }
    let current = Params::try_from(&parsed)
        .is_ok_and(|p| p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == LANES)
        && parsed.algorithm.as_str() == "argon2id";
    Ok(Verified::Valid {
        upgrade: if current {
            None
        } else {
            Some(hash_now(password)?)
        },
    })
}

/// Whether `password` matches `stored`, an argon2 or bcrypt hash (the admin dashboard's
/// `ADMIN_PASSWORD_HASH`). It takes a hash's time: call it off the async workers
/// (`tokio::task::spawn_blocking`). Anything that is not a hash never matches.
///
/// ```
/// use aiq_core::auth::password::{hash_password, verify_password_hash};
/// let hash = hash_password("correct horse").unwrap();
/// assert!(verify_password_hash("correct horse", &hash));
/// assert!(!verify_password_hash("wrong", &hash));
/// assert!(!verify_password_hash("anything", "not a hash"));
/// ```
pub fn verify_password_hash(password: &str, stored: &str) -> bool {
    matches!(verify_now(password, stored), Ok(Verified::Valid { .. }))
}

/// Whether `hash` is a well-formed bcrypt (`$2a$`/`$2b$`/`$2y$`) or argon2 PHC string (what
/// `ADMIN_PASSWORD_HASH` must be).
///
/// ```
/// use aiq_core::auth::password::{hash_password, is_password_hash};
/// assert!(is_password_hash(&hash_password("a long password").unwrap()));
/// assert!(!is_password_hash("$2b$12$truncated"));
/// assert!(!is_password_hash("hunter2"));
/// ```
pub fn is_password_hash(hash: &str) -> bool {
    if hash.starts_with("$argon2") {
        return PasswordHash::new(hash).is_ok();
    }
    hash.parse::<bcrypt::HashParts>().is_ok()
}

/// A new argon2id hash of `password`, in the PHC string format (`$argon2id$...`), as
/// `aiq-admin hash-password` prints it. Blocking, like [`verify_password_hash`].
///
/// # Errors
/// The system's random number generator failed.
pub fn hash_password(password: &str) -> Result<String, BoxError> {
    hash_now(password)
}

impl Passwords {
    /// Prepares the hasher; computing the dummy hash takes one hash's time.
    pub(crate) fn new() -> Self {
        let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
        let random = uuid::Uuid::new_v4().to_string();
        Self {
            permits: Arc::new(Semaphore::new(parallelism.saturating_sub(1).max(1))),
            dummy_hash: hash_now(&random)
                .expect("argon2 hashes a fixed-size input")
                .into(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, BoxError> + Send + 'static,
    ) -> Result<T, BoxError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| "the password hasher is shut down")?;
        // The permit travels with the work: a request that is cancelled (client gone, timeout)
        // cannot free its slot while its hash is still running.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?
    }

    /// A new argon2id hash of `password`.
    pub(crate) async fn hash(&self, password: String) -> Result<String, BoxError> {
        self.run(move || hash_now(&password)).await
    }

    /// Checks `password` against `stored` (argon2 or bcrypt).
    pub(crate) async fn verify(
        &self,
        password: String,
        stored: String,
    ) -> Result<Verified, BoxError> {
        self.run(move || verify_now(&password, &stored)).await
    }

    /// Spends the time of a verification without an account, and always fails.
    pub(crate) async fn verify_nothing(&self, password: String) -> Result<Verified, BoxError> {
        let dummy = Arc::clone(&self.dummy_hash);
        self.run(move || verify_now(&password, &dummy).map(|_| Verified::Invalid))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2_hashes_verify_and_need_no_upgrade() {
        let passwords = Passwords::new();
        let hash = passwords.hash("correct horse 9".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            passwords
                .verify("correct horse 9".into(), hash.clone())
                .await
                .unwrap(),
            Verified::Valid { upgrade: None }
        );
        assert_eq!(
            passwords
                .verify("wrong horse 9".into(), hash)
                .await
                .unwrap(),
            Verified::Invalid
        );
    }

    #[tokio::test]
    async fn bcrypt_hashes_verify_and_are_upgraded() {
        let passwords = Passwords::new();
        for prefix in [
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoY,
        ] {
            let legacy = bcrypt::hash_with_result("legacy pass 1", 4)
                .unwrap()
                .format_for_version(prefix);
            let Verified::Valid { upgrade: Some(new) } = passwords
                .verify("legacy pass 1".into(), legacy.clone())
                .await
                .unwrap()
            else {
                panic!("{legacy} should verify and be upgraded");
            };
            assert!(new.starts_with("$argon2id$"));
            assert_eq!(
                passwords
                    .verify("legacy pass 2".into(), legacy)
                    .await
                    .unwrap(),
                Verified::Invalid
            );
        }
    }

    #[tokio::test]
    async fn long_passwords_work_with_both_schemes() {
        let passwords = Passwords::new();
        let long = "é".repeat(100); // 200 bytes: bcrypt's 72-byte limit no longer fails
        let hash = passwords.hash(long.clone()).await.unwrap();
        assert!(matches!(
            passwords.verify(long.clone(), hash).await.unwrap(),
            Verified::Valid { .. }
        ));
        let legacy = bcrypt::hash(&long, 4).unwrap();
        assert!(matches!(
            passwords.verify(long, legacy).await.unwrap(),
            Verified::Valid { .. }
        ));
    }

    #[tokio::test]
    async fn non_hashes_never_verify() {
        let passwords = Passwords::new();
        assert_eq!(
            passwords.verify("!".into(), "!".into()).await.unwrap(),
            Verified::Invalid
        );
        assert_eq!(
            passwords.verify_nothing("anything".into()).await.unwrap(),
            Verified::Invalid
        );
    }
}
