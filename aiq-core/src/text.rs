//! Text the stores can hold: the one rule applied to what clients send.
//!
//! Two kinds of characters cannot be stored as they arrive. A JSON string may carry a UTF-16
//! surrogate escape with no partner (`"\ud800"`, which Swift's encoder writes for a broken
//! string), and no Rust string can hold that; PostgreSQL's `text` and `jsonb` refuse NUL
//! (U+0000). The rule, for every string of every request (body, query, path, stored header):
//! - in every JSON body, an unpaired surrogate escape reads as U+FFFD, the replacement character,
//!   as a lossy UTF-16 decode would (applied by [`ApiJson`](crate::extract::ApiJson) before
//!   parsing, and to bank files before their rows are read);
//! - free text (a feedback description, an operator's reason, a question's wording, analytics
//!   event properties, a search) keeps NUL as U+FFFD ([`storable`], [`FreeText`]); other control
//!   characters are kept;
//! - identifiers and names (ids, tokens, codes, emails, names, device tokens, versions, stored
//!   headers) refuse control characters, NUL included (`is_identifier`), with a 422 that names
//!   the field (the request types of the API);
//! - a password is taken as sent, NUL included: it is only ever hashed, never stored as text,
//!   and refusing a character could lock out whoever chose it.

use std::borrow::Cow;

/// What NUL and unpaired surrogates become.
pub(crate) const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

/// The JSON text `bytes` with every unpaired `\uD800`-`\uDFFF` escape replaced by `\uFFFD`;
/// borrowed when there is none. Escapes have one length, so the text keeps its length and a
/// parse error keeps its position.
pub(crate) fn repair_surrogate_escapes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut repaired: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = unicode_escape(bytes, i) else {
            // Any other escape (`\"`, `\\`, ...) is two bytes; skipping both keeps `\\u` intact.
            i += 2;
            continue;
        };
        let high = (0xD800..=0xDBFF).contains(&unit);
        let low = (0xDC00..=0xDFFF).contains(&unit);
        if high
            && unicode_escape(bytes, i + 6).is_some_and(|next| (0xDC00..=0xDFFF).contains(&next))
        {
            i += 12;
            continue;
        }
        if high || low {
            let out = repaired.get_or_insert_with(|| bytes.to_vec());
            out[i + 2..i + 6].copy_from_slice(b"fffd");
        }
        i += 6;
    }
    repaired.map_or(Cow::Borrowed(bytes), Cow::Owned)
}

/// The code unit of a `\uXXXX` escape starting at `at`, if one starts there.
fn unicode_escape(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

/// Free text as it can be stored: NUL replaced by U+FFFD, everything else kept.
///
/// ```
/// assert_eq!(aiq_core::text::storable("a\0b\n"), "a\u{fffd}b\n");
/// ```
pub fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', &REPLACEMENT.to_string()))
    } else {
        Cow::Borrowed(text)
    }
}

/// Free text from a request, NUL already replaced ([`storable`]): an operator's reason, a
/// dashboard form's text. Deserializes from any string, so it is never a 422 by itself; length
/// rules belong to whoever reads it.
///
/// ```
/// let reason: aiq_core::text::FreeText = serde_json::from_str(r#""two\u0000 answers""#).unwrap();
/// assert_eq!(reason.as_str(), "two\u{fffd} answers");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub struct FreeText(String);

impl FreeText {
    /// The text, NUL replaced.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for FreeText {
    fn from(text: String) -> Self {
        match storable(&text) {
            Cow::Borrowed(_) => Self(text),
            Cow::Owned(clean) => Self(clean),
        }
    }
}

/// Whether `text` may be an identifier or a name: no control characters (C0, DEL, C1), NUL
/// included. What to say when it may not, and whether to trim, is the caller's.
pub(crate) fn is_identifier(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// [`storable`] applied to every string and every object key of `value`.
pub(crate) fn storable_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            if let Cow::Owned(clean) = storable(text) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(storable_json),
        Value::Object(map) => {
            if map.keys().any(|key| key.contains('\0')) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(key, value)| (storable(&key).into_owned(), value))
                    .collect();
            }
            map.values_mut().for_each(storable_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(json: &str) -> String {
        String::from_utf8(repair_surrogate_escapes(json.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn unpaired_surrogates_become_the_replacement_character() {
        assert_eq!(repaired(r#""a\ud800b""#), r#""a\ufffdb""#);
        assert_eq!(repaired(r#""a\uDC00""#), r#""a\ufffd""#);
        assert_eq!(repaired(r#""\ud800\ud800""#), r#""\ufffd\ufffd""#);
        assert_eq!(repaired(r#""\udc00\ud83d""#), r#""\ufffd\ufffd""#);
        let parsed: String = serde_json::from_str(&repaired(r#""x\ud800y""#)).unwrap();
        assert_eq!(parsed, "x\u{fffd}y");
    }

    #[test]
    fn pairs_other_escapes_and_escaped_backslashes_are_left_alone() {
        for json in [
            r#""\ud83d\ude00""#,
            r#""\\ud800""#,
            r#""\"\u0041\n""#,
            r#"{"k": "\u00e9", "n": 1}"#,
            r#""\ud80""#,
            r#""tail\"#,
        ] {
            assert!(
                matches!(repair_surrogate_escapes(json.as_bytes()), Cow::Borrowed(_)),
                "{json}"
            );
        }
    }

    #[test]
    fn identifiers_refuse_every_control_character() {
        assert!(is_identifier("ada@example.com"));
        assert!(is_identifier("Zoë Ørsted 3rd"));
        for bad in [
            "a\0b",
            "tab\there",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }

    #[test]
    fn free_text_keeps_control_characters_but_not_nul() {
        let text = FreeText::from("line\none\0two\u{1b}".to_owned());
        assert_eq!(text.as_str(), "line\none\u{fffd}two\u{1b}");
    }

    #[test]
    fn nul_is_replaced_in_text_keys_and_nested_values() {
        assert_eq!(storable("a\0b"), "a\u{fffd}b");
        assert!(matches!(storable("a\u{1}b\n"), Cow::Borrowed(_)));
        let mut value = serde_json::json!({"k\0": ["x\0", {"deep": "\0"}], "n": 1});
        storable_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"k\u{fffd}": ["x\u{fffd}", {"deep": "\u{fffd}"}], "n": 1})
        );
    }
}
