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
    Rfc3339::new(t).as_str().to_owned()
}

/// The text [`format_rfc3339`] gives, held on the stack: for writers that copy it into a
/// buffer of their own (a log line), it costs no allocation and no formatting machinery.
///
/// ```
/// use time::macros::datetime;
/// use aiq_core::time::Rfc3339;
/// assert_eq!(Rfc3339::new(datetime!(2024-01-02 03:04:05.000007 UTC)).as_str(), "2024-01-02T03:04:05.000007Z");
/// assert_eq!(Rfc3339::new(datetime!(-0001-12-31 23:59:59 UTC)).as_str(), "-0001-12-31T23:59:59Z");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339 {
    bytes: [u8; Self::MAX],
    len: usize,
}

impl Rfc3339 {
    /// `-YYYYYY-MM-DDTHH:MM:SS.ffffffZ`, the longest the `time` crate's years allow.
    const MAX: usize = 30;

    /// The text of `t` (in UTC, truncated to microseconds).
    pub fn new(t: OffsetDateTime) -> Self {
        let t = truncate(t);
        let mut text = Self {
            bytes: [0; Self::MAX],
            len: 0,
        };
        let year = t.year();
        if year < 0 {
            text.push(b'-');
        }
        text.digits(year.unsigned_abs(), 4);
        text.push(b'-');
        text.digits(u8::from(t.month()).into(), 2);
        text.push(b'-');
        text.digits(t.day().into(), 2);
        text.push(b'T');
        text.digits(t.hour().into(), 2);
        text.push(b':');
        text.digits(t.minute().into(), 2);
        text.push(b':');
        text.digits(t.second().into(), 2);
        let micros = t.nanosecond() / 1_000;
        if micros != 0 {
            text.push(b'.');
            text.digits(micros, 6);
        }
        text.push(b'Z');
        text
    }

    /// The timestamp as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` in decimal, zero-padded to at least `width` digits.
    fn digits(&mut self, value: u32, width: usize) {
        let mut scratch = [b'0'; 10];
        let mut at = scratch.len();
        let mut rest = value;
        while rest > 0 {
            at -= 1;
            scratch[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let start = at.min(scratch.len() - width);
        for &digit in &scratch[start..] {
            self.push(digit);
        }
    }
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
