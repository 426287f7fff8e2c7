//! Validated request values, parsed once at the edge.
//!
//! Each type deserializes through `TryFrom`, so a request body that holds one is already
//! valid; handlers never re-check. The error texts are the ones the old backend answered with:
//! pydantic's own for the constraints its fields declared (`"String should have at least 8
//! characters"`, checked before any custom validator), the custom validator's text otherwise.
//! [`ApiJson`](crate::extract::ApiJson) passes the former on as they are and the latter as
//! `"Value error, <text>"`, never repeating the submitted value.

mod email;

use std::fmt;

use serde::Deserialize;

pub(crate) use self::email::{Email, LookupEmail};

/// Passwords common enough to refuse outright (compared lowercased).
const COMMON_PASSWORDS: [&str; 9] = [
    "password",
    "12345678",
    "password123",
    "qwerty123",
    "abc123456",
    "password1",
    "welcome123",
    "admin123",
    "letmein",
];

/// A new password that follows the rules, checked in the old backend's order with its
/// messages. Any characters otherwise, NUL and control characters included: it is only ever
/// hashed, never stored as text. Its `Debug` never shows the value.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct NewPassword(String);

impl NewPassword {
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

fn has_run_of_four(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    chars.windows(4).any(|w| w.iter().all(|c| *c == w[0]))
}

impl TryFrom<String> for NewPassword {
    type Error = &'static str;

    fn try_from(password: String) -> Result<Self, Self::Error> {
        let length = password.chars().count();
        // The field's `min_length`/`max_length`, which pydantic checked before the password
        // validator: its first two rules ("Password must be at least 8 characters long", "...
        // must not exceed 128 ...") never reached a client.
        if length < 8 {
            Err("String should have at least 8 characters")
        } else if length > 128 {
            Err("String should have at most 128 characters")
        } else if COMMON_PASSWORDS.contains(&password.to_lowercase().as_str()) {
            Err("Password is too common. Please choose a stronger password")
        } else if !password.chars().any(|c| c.is_ascii_alphabetic()) {
            Err("Password must contain at least one letter")
        } else if !password.chars().any(|c| c.is_ascii_digit()) {
            Err("Password must contain at least one digit")
        } else if has_run_of_four(&password) {
            Err("Password contains too many repeated characters")
        } else {
            Ok(Self(password))
        }
    }
}

/// Trims, collapses inner whitespace and refuses control characters; `what` names the field
/// in the message ("Name", "Location").
fn clean_text(raw: &str, invalid: &'static str) -> Result<String, &'static str> {
    let length = raw.chars().count();
    if length == 0 {
        return Err("String should have at least 1 character");
    }
    if length > 100 {
        return Err("String should have at most 100 characters");
    }
    if !crate::text::is_identifier(raw) {
        return Err(invalid);
    }
    let cleaned = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        return Err(invalid);
    }
    Ok(cleaned)
}

/// A first or last name: 1–100 characters, digits and punctuation allowed, no control
/// characters, whitespace tidied. Stored as given otherwise (no HTML escaping).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct PersonName(String);

impl PersonName {
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        clean_text(&raw, "Name contains invalid characters").map(Self)
    }
}

/// A group's display name: 1-30 characters once trimmed and whitespace-collapsed, digits and
/// punctuation kept (the old backend stripped them), no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct GroupName(String);

impl GroupName {
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        if raw.is_empty() {
            return Err("String should have at least 1 character");
        }
        if !crate::text::is_identifier(&raw) {
            return Err("Group name contains invalid characters");
        }
        let cleaned = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match cleaned.chars().count() {
            0 => Err("Group name contains invalid characters"),
            1..=30 => Ok(Self(cleaned)),
            _ => Err("String should have at most 30 characters"),
        }
    }
}

/// An invite code as typed: trimmed, not empty, at most 64 characters (codes are 8; matched
/// case-sensitively).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct InviteCodeInput(String);

impl InviteCodeInput {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InviteCodeInput {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            Err("Invite code cannot be empty")
        } else if trimmed.chars().count() > 64 || !crate::text::is_identifier(trimmed) {
            Err("Invalid invite code format")
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }
}

/// A country or region, with the same rules as a name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Location(String);

impl Location {
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for Location {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        clean_text(&raw, "Location contains invalid characters").map(Self)
    }
}

/// A year of birth between 1900 and the current year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i32")]
pub(crate) struct BirthYear(i32);

impl BirthYear {
    pub(crate) fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i32> for BirthYear {
    type Error = String;

    fn try_from(year: i32) -> Result<Self, Self::Error> {
        let current = crate::time::now().year();
        if year < 1900 {
            Err("Input should be greater than or equal to 1900".to_owned())
        } else if year > current {
            Err(format!("Birth year cannot be later than {current}"))
        } else {
            Ok(Self(year))
        }
    }
}

/// Checks that `value` is `min..=max` characters long, in pydantic's words.
fn check_length(value: &str, min: usize, max: usize) -> Result<(), String> {
    let length = value.chars().count();
    if length < min {
        Err(format!(
            "String should have at least {min} character{}",
            if min == 1 { "" } else { "s" }
        ))
    } else if length > max {
        Err(format!("String should have at most {max} characters"))
    } else {
        Ok(())
    }
}

/// Checks an identifier: no control characters (the rule in `text`), then its length.
fn check_identifier(value: &str, min: usize, max: usize) -> Result<(), String> {
    if !crate::text::is_identifier(value) {
        return Err("String should not contain control characters".to_owned());
    }
    check_length(value, min, max)
}

/// A password typed to sign in: at most 4096 characters, any of them. It is only hashed and
/// compared, never stored as text, so NUL and control characters are taken as sent (refusing
/// one could lock out an account whose password holds it). Its `Debug` never shows the value.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct LoginPassword(String);

impl LoginPassword {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginPassword(***)")
    }
}

impl TryFrom<String> for LoginPassword {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        check_length(&value, 0, 4096).map(|()| Self(value))
    }
}

/// A token from us or from a provider (a refresh, reset, guest or claim token, an identity
/// token, a nonce): a length limit in characters and no control characters, which no token
/// holds, refused with a 422 that names the field. Its `Debug` never shows the value.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Token<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Token<MIN, MAX> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Debug for Token<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl<const MIN: usize, const MAX: usize> TryFrom<String> for Token<MIN, MAX> {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        check_identifier(&value, MIN, MAX).map(|()| Self(value))
    }
}

/// A short label or identifier (an app version, a platform, a device id): a length limit in
/// characters and no control characters (NUL included, which PostgreSQL cannot store), refused
/// with a 422 that names the field.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Label<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Label<MIN, MAX> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> TryFrom<String> for Label<MIN, MAX> {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        check_identifier(&value, MIN, MAX).map(|()| Self(value))
    }
}

/// A submitted answer: control characters removed, surrounding whitespace trimmed, at most
/// [`MAX_USER_ANSWER_CHARS`] characters kept. Otherwise stored verbatim (no HTML escaping, no keyword
/// filter: see DECISIONS.md "Input"). It may be empty; the handler decides what that means.
/// Removed rather than refused or replaced: an answer is an option's text, and a bank row whose
/// options hold a control character is refused at import, so nothing is lost (NUL included).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub(crate) struct Answer(String);

/// The longest answer kept (the `responses.user_answer` column).
pub(crate) const MAX_USER_ANSWER_CHARS: usize = 1000;

impl Answer {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for Answer {
    fn from(value: String) -> Self {
        let cleaned: String = value.chars().filter(|c| !c.is_control()).collect();
        Self(cleaned.trim().chars().take(MAX_USER_ANSWER_CHARS).collect())
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Answer({} chars)", self.0.chars().count())
    }
}

/// An id that must be greater than zero (`question_id`, `session_id` in bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub(crate) struct PositiveId(i64);

impl PositiveId {
    pub(crate) fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for PositiveId {
    type Error = &'static str;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err("Input should be greater than 0")
        }
    }
}

/// A count of seconds that must not be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub(crate) struct Seconds(i32);

impl Seconds {
    pub(crate) fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for Seconds {
    type Error = &'static str;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if value < 0 {
            return Err("Input should be greater than or equal to 0");
        }
        i32::try_from(value)
            .map(Self)
            .map_err(|_| "Input should be less than or equal to 2147483647")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_apply_in_order_with_their_messages() {
        let cases = [
            ("short1", "String should have at least 8 characters"),
            (
                &"a1".repeat(65),
                "String should have at most 128 characters",
            ),
            (
                "Password123",
                "Password is too common. Please choose a stronger password",
            ),
            (
                "12345678",
                "Password is too common. Please choose a stronger password",
            ),
            ("1234567890", "Password must contain at least one letter"),
            ("abcdefghij", "Password must contain at least one digit"),
            (
                "abcdddd123",
                "Password contains too many repeated characters",
            ),
        ];
        for (password, message) in cases {
            let err = NewPassword::try_from(password.to_owned()).unwrap_err();
            assert_eq!(err, message, "{password}");
        }
        assert!(NewPassword::try_from("correct horse 9".to_owned()).is_ok());
        assert!(
            NewPassword::try_from("abccc123".to_owned()).is_ok(),
            "three in a row is fine"
        );
        let debug = format!(
            "{:?}",
            NewPassword::try_from("secret-pw-1".to_owned()).unwrap()
        );
        assert!(!debug.contains("secret"));
    }

    #[test]
    fn names_keep_digits_and_punctuation_but_not_control_characters() {
        assert_eq!(
            PersonName::try_from("  O'Brien-Smith   3rd ".to_owned())
                .unwrap()
                .into_string(),
            "O'Brien-Smith 3rd"
        );
        assert_eq!(
            PersonName::try_from("bad\u{0}name".to_owned()).unwrap_err(),
            "Name contains invalid characters"
        );
        assert_eq!(
            PersonName::try_from("   ".to_owned()).unwrap_err(),
            "Name contains invalid characters"
        );
        assert!(PersonName::try_from("x".repeat(101)).is_err());
        assert_eq!(
            Location::try_from("\t".to_owned()).unwrap_err(),
            "Location contains invalid characters"
        );
    }

    #[test]
    fn group_names_keep_digits_and_refuse_blanks() {
        assert_eq!(
            GroupName::try_from("  Team   1! ".to_owned())
                .unwrap()
                .into_string(),
            "Team 1!"
        );
        assert_eq!(
            GroupName::try_from("   ".to_owned()).unwrap_err(),
            "Group name contains invalid characters"
        );
        assert_eq!(
            GroupName::try_from("a\nb".to_owned()).unwrap_err(),
            "Group name contains invalid characters"
        );
        assert!(GroupName::try_from("x".repeat(31)).is_err());
        assert!(GroupName::try_from(format!("  {}  ", "x".repeat(30))).is_ok());
        assert_eq!(
            InviteCodeInput::try_from(" AB12CD34 ".to_owned())
                .unwrap()
                .as_str(),
            "AB12CD34"
        );
        assert!(InviteCodeInput::try_from("  ".to_owned()).is_err());
    }

    #[test]
    fn birth_years_are_bounded() {
        assert!(BirthYear::try_from(1899).is_err());
        assert_eq!(BirthYear::try_from(1990).unwrap().get(), 1990);
        let next = crate::time::now().year() + 1;
        assert_eq!(
            BirthYear::try_from(next).unwrap_err(),
            format!("Birth year cannot be later than {}", next - 1)
        );
    }
}
