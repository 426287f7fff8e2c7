//! User accounts: the record, the values that create one, and the store contract.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StorageError;

/// A user's id. Ids are positive, except the guest sentinel [`GUEST_USER_ID`].
pub type UserId = i64;

/// The sentinel user that owns guest test sessions (seeded by the first migration).
pub const GUEST_USER_ID: UserId = -1;

/// Highest completed education, as the iOS app sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EducationLevel {
    /// High school.
    HighSchool,
    /// Some college.
    SomeCollege,
    /// Associate's degree.
    Associates,
    /// Bachelor's degree.
    Bachelors,
    /// Master's degree.
    Masters,
    /// Doctorate.
    Doctorate,
    /// Declined to say.
    PreferNotToSay,
}

impl EducationLevel {
    /// Every level, in order.
    pub const ALL: [Self; 7] = [
        Self::HighSchool,
        Self::SomeCollege,
        Self::Associates,
        Self::Bachelors,
        Self::Masters,
        Self::Doctorate,
        Self::PreferNotToSay,
    ];

    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::storage::EducationLevel;
    /// assert_eq!(EducationLevel::PreferNotToSay.as_str(), "prefer_not_to_say");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HighSchool => "high_school",
            Self::SomeCollege => "some_college",
            Self::Associates => "associates",
            Self::Bachelors => "bachelors",
            Self::Masters => "masters",
            Self::Doctorate => "doctorate",
            Self::PreferNotToSay => "prefer_not_to_say",
        }
    }

    /// Parses a wire value.
    ///
    /// ```
    /// use aiq_core::storage::EducationLevel;
    /// assert_eq!(EducationLevel::parse("masters"), Some(EducationLevel::Masters));
    /// assert_eq!(EducationLevel::parse("MASTERS"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == value)
    }
}

/// A stored user account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The id, assigned by the store.
    pub id: UserId,
    /// The normalised email; unique.
    pub email: String,
    /// An argon2id or bcrypt hash; never logged or returned.
    pub password_hash: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// The last successful login.
    pub last_login_at: Option<OffsetDateTime>,
    /// Whether push reminders are wanted.
    pub notification_enabled: bool,
    /// The device token for push notifications.
    pub apns_device_token: Option<String>,
    /// When the day-30 reminder was sent.
    pub day_30_reminder_sent_at: Option<OffsetDateTime>,
    /// Tokens issued before this instant are revoked (logout-all; for tokens without a
    /// generation, such as those of the old backend).
    pub token_revoked_before: Option<OffsetDateTime>,
    /// Tokens carrying a lower generation are revoked (bumped by logout-all and password resets).
    pub token_generation: i32,
    /// Lets the user skip the test cadence and cooldown.
    pub bypass_cooldown: bool,
    /// Operator flag.
    pub is_admin: bool,
    /// False for accounts created through Apple/Google until a password is set.
    pub password_login_enabled: bool,
    /// Year of birth.
    pub birth_year: Option<i32>,
    /// Highest completed education.
    pub education_level: Option<EducationLevel>,
    /// Country.
    pub country: Option<String>,
    /// Region within the country.
    pub region: Option<String>,
}

/// The values a new account starts with; the store assigns the id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// The normalised email.
    pub email: String,
    /// The password hash.
    pub password_hash: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Year of birth.
    pub birth_year: Option<i32>,
    /// Highest completed education.
    pub education_level: Option<EducationLevel>,
    /// Country.
    pub country: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// False for accounts created through Apple/Google.
    pub password_login_enabled: bool,
    /// Creation time (from the caller's clock, so tests can control it).
    pub created_at: OffsetDateTime,
}

impl NewUser {
    /// A password account with no profile details, created now.
    ///
    /// ```
    /// use aiq_core::storage::NewUser;
    /// let user = NewUser::with_password("ada@example.com", "$argon2id$...");
    /// assert!(user.password_login_enabled);
    /// ```
    pub fn with_password(email: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password_hash: password_hash.into(),
            first_name: None,
            last_name: None,
            birth_year: None,
            education_level: None,
            country: None,
            region: None,
            password_login_enabled: true,
            created_at: crate::time::now(),
        }
    }

    /// The record a store keeps for this new user once it has picked `id` (for storage
    /// backends: every field not given here starts at its default).
    pub fn into_user(self, id: UserId) -> User {
        User {
            id,
            email: self.email,
            password_hash: self.password_hash,
            first_name: self.first_name,
            last_name: self.last_name,
            created_at: self.created_at,
            last_login_at: None,
            notification_enabled: true,
            apns_device_token: None,
            day_30_reminder_sent_at: None,
            token_revoked_before: None,
            token_generation: 0,
            bypass_cooldown: false,
            is_admin: false,
            password_login_enabled: self.password_login_enabled,
            birth_year: self.birth_year,
            education_level: self.education_level,
            country: self.country,
            region: self.region,
        }
    }
}

/// A change to a user's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    /// New given name (`Some(None)` clears it).
    pub first_name: Option<Option<String>>,
    /// New family name (`Some(None)` clears it).
    pub last_name: Option<Option<String>>,
    /// New push preference.
    pub notification_enabled: Option<bool>,
}

/// Storing and finding user accounts.
#[async_trait]
pub trait UserStore {
    /// Creates a user. Fails with [`Conflict::UserEmail`](super::Conflict::UserEmail) when the
    /// email is taken, even when several creations race.
    async fn create_user(&self, user: NewUser) -> Result<User, StorageError>;

    /// The user with this id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError>;

    /// The user with exactly this email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError>;

    /// Deletes the user and everything that belongs to them; false when there was no such user.
    ///
    /// Their group memberships go; invites they generated or used stay, without their id. A
    /// group they owned passes to its longest-standing remaining member (earliest `joined_at`),
    /// or is deleted when no member remains. Groups they created but no longer own are kept.
    async fn delete_user(&self, id: UserId) -> Result<bool, StorageError>;

    /// Records a successful login at `at`, replacing the password hash when `new_password_hash`
    /// is given (an upgrade from bcrypt). Only if the stored hash is still `verified_hash`, the
    /// one the password was checked against: `None` (and no change) when the user no longer
    /// exists or a password reset got in between, so a login racing a reset can neither undo it
    /// nor outlive it.
    async fn record_login(
        &self,
        id: UserId,
        at: OffsetDateTime,
        verified_hash: &str,
        new_password_hash: Option<String>,
    ) -> Result<Option<User>, StorageError>;

    /// Applies a profile change. `None` when the user does not exist.
    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
    ) -> Result<Option<User>, StorageError>;

    /// Revokes every token issued so far (logout-all): bumps the token generation and sets
    /// `token_revoked_before` to `at`. `None` when the user does not exist.
    async fn revoke_all_tokens(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<User>, StorageError>;

    /// Stores `token` as the user's push device token, or clears it with `None`. A token
    /// belongs to one account at a time: storing it clears it from any other user, in the same
    /// write. False (and nothing changed) when the user does not exist.
    async fn set_device_token(&self, id: UserId, token: Option<&str>)
    -> Result<bool, StorageError>;

    /// Clears the user's device token only if it is still `token`: APNs reported it invalid,
    /// and a token registered since then must survive. False when nothing was cleared.
    async fn clear_device_token_if(&self, id: UserId, token: &str) -> Result<bool, StorageError>;
}
