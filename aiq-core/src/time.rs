//! Timestamps as the API and the stores use them.
//!
//! Every instant is UTC with microsecond precision (what PostgreSQL keeps), so a value read back
//! from either store equals the one written. On the wire they are RFC 3339 with a `Z` and six
//! fractional digits only when the microseconds are non-zero, exactly as the old backend wrote
//! them (`2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.123456Z`).

use time::{OffsetDateTime, UtcOffset};

/// The current instant, in UTC, truncated to microseconds.
///
/// ```
/// let now = aiq_core::time::now();
/// assert_eq!(now.nanosecond() % 1_000, 0);
/// ```
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// `t` in UTC, truncated to microseconds.
pub fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// Formats `t` the way the API writes datetimes.
///
/// ```
/// use time::macros::datetime;
/// use aiq_core::time::format_rfc3339;
/// assert_eq!(format_rfc3339(datetime!(2024-01-02 03:04:05 UTC)), "2024-01-02T03:04:05Z");
/// assert_eq!(format_rfc3339(datetime!(2024-01-02 03:04:05.123456 UTC)), "2024-01-02T03:04:05.123456Z");
/// assert_eq!(format_rfc3339(datetime!(2024-01-02 04:04:05.5 +01:00)), "2024-01-02T03:04:05.500000Z");
/// ```
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    let t = truncate(t);
    let micros = t.nanosecond() / 1_000;
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push('Z');
    out
}

/// `#[serde(with = "aiq_core::time::rfc3339")]` for `OffsetDateTime` fields of API bodies.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Writes the timestamp with [`super::format_rfc3339`].
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*t))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<OffsetDateTime>` (`null` when absent).
    pub mod option {
        use super::*;

        /// Writes the timestamp, or `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// Reads an RFC 3339 timestamp or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| {
                    OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}
