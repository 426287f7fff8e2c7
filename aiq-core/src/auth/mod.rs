//! Who is calling: passwords, tokens, revocation and the security audit log.
//!
//! - [`password`]: argon2id hashing (and legacy bcrypt verification) off the async workers;
//! - [`tokens`]: the JWTs, their claims and their validation;
//! - `session`: turning a bearer token into a user, in the old backend's order of checks,
//!   and the `CurrentUser` extractor every authenticated endpoint uses;
//! - `admin`: the `AdminToken` extractor of the routes guarded by `X-Admin-Token`;
//! - [`audit`]: `security.*` events with masked emails;
//! - `login_floor`: how long a failed login waits, so timing tells nothing.

pub(crate) mod admin;
pub mod audit;
pub(crate) mod login_floor;
pub mod password;
pub(crate) mod session;
pub mod tokens;

pub(crate) use self::admin::AdminToken;
pub(crate) use self::session::{CurrentUser, MaybeUser};
