//! Email addresses: strict for new accounts, loose for looking existing ones up.
//!
//! The old backend's `EmailStr` refused an address with pydantic's `"value is not a valid email
//! address: <reason>"`, the reason from the `email-validator` package. The reasons here are its
//! words for the same rules, checked in its order; where its reason lists the offending
//! characters, they are left out, so that a 422 never repeats what was submitted.

use std::fmt;

use serde::Deserialize;

/// An email address, normalised as the old backend did: surrounding and inner whitespace
/// removed, lowercased.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Email(String);

impl Email {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", crate::auth::audit::mask_email(&self.0))
    }
}

impl TryFrom<String> for Email {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let normalised = normalise(&raw);
        match problem(&normalised) {
            None => Ok(Self(normalised)),
            Some(reason) => Err(invalid(&reason)),
        }
    }
}

/// An email to look an existing account up by (login, password reset), normalised exactly as
/// [`Email`] but checked only loosely: accounts the old backend created may carry addresses
/// (Unicode local parts, internationalised domains) that the strict rules for new accounts
/// refuse, and their owners must still be able to sign in.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct LookupEmail(String);

impl LookupEmail {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LookupEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LookupEmail({})",
            crate::auth::audit::mask_email(&self.0)
        )
    }
}

impl TryFrom<String> for LookupEmail {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let normalised = normalise(&raw);
        match lookup_problem(&normalised) {
            None => Ok(Self(normalised)),
            Some(reason) => Err(invalid(&reason)),
        }
    }
}

/// Whitespace removed, lowercased.
fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// pydantic's message for an invalid `EmailStr`.
fn invalid(reason: &str) -> String {
    format!("value is not a valid email address: {reason}")
}

/// `email-validator`'s count of characters over a limit: `(2 characters too many)`.
fn too_many(length: usize, limit: usize) -> String {
    let over = length - limit;
    format!(
        "({over} character{} too many)",
        if over > 1 { "s" } else { "" }
    )
}

const TWO_PERIODS: &str = "An email address cannot have two periods in a row.";

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
}

/// Why `email` is not an address a new account may have, or `None` when it is one: ASCII only,
/// a domain of at least two labels under a top-level domain of two or more letters.
fn problem(email: &str) -> Option<String> {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Some("An email address must have an @-sign.".into());
    };
    let fixed = if local.is_empty() {
        "There must be something before the @-sign."
    } else if local.len() > 64 {
        return Some(format!(
            "The email address is too long before the @-sign {}.",
            too_many(local.len(), 64)
        ));
    } else if !local.chars().all(is_local_char) {
        "The email address contains invalid characters before the @-sign."
    } else if local.ends_with('.') {
        "An email address cannot have a period immediately before the @-sign."
    } else if local.starts_with('.') {
        "An email address cannot start with a period."
    } else if local.contains("..") {
        TWO_PERIODS
    } else {
        return domain_problem(domain).or_else(|| {
            (email.len() > 254).then(|| {
                format!(
                    "The email address is too long {}.",
                    too_many(email.len(), 254)
                )
            })
        });
    };
    Some(fixed.into())
}

/// Why the part after the @-sign of a new account's address is not valid.
fn domain_problem(domain: &str) -> Option<String> {
    let fixed = if domain.is_empty() {
        "There must be something after the @-sign."
    } else if !domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        "The part after the @-sign contains invalid characters."
    } else if domain.ends_with('.') {
        "An email address cannot end with a period."
    } else if domain.starts_with('.') {
        "An email address cannot have a period immediately after the @-sign."
    } else if domain.contains("..") {
        TWO_PERIODS
    } else if domain.ends_with('-') {
        "An email address cannot end with a hyphen."
    } else if domain.starts_with('-') {
        "An email address cannot have a hyphen immediately after the @-sign."
    } else if domain.contains(".-") || domain.contains("-.") {
        "An email address cannot have a period and a hyphen next to each other."
    } else if let Some(label) = domain.split('.').find(|label| label.len() > 63) {
        return Some(format!(
            "After the @-sign, periods cannot be separated by so many characters {}.",
            too_many(label.len(), 63)
        ));
    } else if !domain.contains('.') {
        "The part after the @-sign is not valid. It should have a period."
    } else if !domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
    {
        "The part after the @-sign is not valid. It is not within a valid top-level domain."
    } else {
        return None;
    };
    Some(fixed.into())
}

/// Why `email` cannot be an existing account's address, or `None` when it may be one.
fn lookup_problem(email: &str) -> Option<String> {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Some("An email address must have an @-sign.".into());
    };
    let length = email.chars().count();
    let fixed = if local.is_empty() {
        "There must be something before the @-sign."
    } else if domain.is_empty() {
        "There must be something after the @-sign."
    } else if !domain.contains('.') {
        "The part after the @-sign is not valid. It should have a period."
    } else if length > 320 {
        return Some(format!(
            "The email address is too long {}.",
            too_many(length, 320)
        ));
    } else if !crate::text::is_identifier(email) {
        "The email address contains unsafe characters."
    } else {
        return None;
    };
    Some(fixed.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        let email = Email::try_from(" Ada.Lovelace @Example.COM ".to_owned()).unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a..b@example.com",
            "a@-x.com",
            "a@example.c0m",
        ] {
            assert!(Email::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_emails_get_email_validator_reasons_without_the_input() {
        let long_local = format!("{}@example.com", "a".repeat(66));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long = format!(
            "{}@{}com",
            "a".repeat(64),
            format!("{}.", "b".repeat(60)).repeat(4)
        );
        let cases = [
            ("plain", "An email address must have an @-sign."),
            ("@example.com", "There must be something before the @-sign."),
            (
                long_local.as_str(),
                "The email address is too long before the @-sign (2 characters too many).",
            ),
            (
                "se<cret>@example.com",
                "The email address contains invalid characters before the @-sign.",
            ),
            (
                "a@@b.com",
                "The email address contains invalid characters before the @-sign.",
            ),
            (
                "ada.@example.com",
                "An email address cannot have a period immediately before the @-sign.",
            ),
            (
                ".ada@example.com",
                "An email address cannot start with a period.",
            ),
            (
                "a..b@example.com",
                "An email address cannot have two periods in a row.",
            ),
            ("ada@", "There must be something after the @-sign."),
            (
                "ada@exa_mple.com",
                "The part after the @-sign contains invalid characters.",
            ),
            (
                "ada@example.com.",
                "An email address cannot end with a period.",
            ),
            (
                "ada@.example.com",
                "An email address cannot have a period immediately after the @-sign.",
            ),
            (
                "a@-x.com",
                "An email address cannot have a hyphen immediately after the @-sign.",
            ),
            (
                "a@x-.com",
                "An email address cannot have a period and a hyphen next to each other.",
            ),
            (
                long_label.as_str(),
                "After the @-sign, periods cannot be separated by so many characters \
                 (1 character too many).",
            ),
            (
                "a@b",
                "The part after the @-sign is not valid. It should have a period.",
            ),
            (
                "a@example.c0m",
                "The part after the @-sign is not valid. It is not within a valid top-level \
                 domain.",
            ),
            (
                long.as_str(),
                "The email address is too long (58 characters too many).",
            ),
        ];
        for (email, reason) in cases {
            assert_eq!(
                Email::try_from(email.to_owned()).unwrap_err(),
                format!("value is not a valid email address: {reason}"),
                "{email}"
            );
        }
    }

    #[test]
    fn lookup_emails_accept_what_older_accounts_may_hold() {
        for legacy in [
            "zoë@example.de",
            "user@xn--mnchen-3ya.de",
            "o'brien@example.com",
        ] {
            let email = LookupEmail::try_from(format!(" {} ", legacy.to_uppercase())).unwrap();
            assert_eq!(email.as_str(), legacy.to_lowercase(), "{legacy}");
        }
        for (bad, reason) in [
            ("not-an-email", "An email address must have an @-sign."),
            ("@example.com", "There must be something before the @-sign."),
            (
                "a@localhost",
                "The part after the @-sign is not valid. It should have a period.",
            ),
            ("", "An email address must have an @-sign."),
            (
                "a\u{7}@example.com",
                "The email address contains unsafe characters.",
            ),
        ] {
            assert_eq!(
                LookupEmail::try_from(bad.to_owned()).unwrap_err(),
                format!("value is not a valid email address: {reason}"),
                "{bad:?}"
            );
        }
    }
}
