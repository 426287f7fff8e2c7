//! A deserialization error as a 422 item, in the old backend's words.
//!
//! FastAPI answered with pydantic's messages: pydantic's own for the constraints it checks before
//! any custom validator (`Field required`, `String should have at least 8 characters`, `Input
//! should be a valid integer`, ...), each with its own `type`, and `"Value error, <text>"` for the
//! text of a custom validator (original-api.md §0.2). serde's messages quote the offending value
//! (`invalid type: string "hunter2"`), so none is passed on as it is: only the parts serde takes
//! from our types (what it expected, a field name) are kept, in pydantic's wording.

use crate::error::{LocPart, ValidationIssue};

/// pydantic's messages for the constraints it checked before any custom validator, by how they
/// begin, with their `type`. The types in `input` use these words for the same rules; any other
/// message of theirs is a custom validator's.
const CONSTRAINTS: [(&str, &str); 6] = [
    ("String should have at least ", "string_too_short"),
    ("String should have at most ", "string_too_long"),
    // Before "greater than ", which it begins with.
    (
        "Input should be greater than or equal to ",
        "greater_than_equal",
    ),
    ("Input should be greater than ", "greater_than"),
    ("Input should be less than or equal to ", "less_than_equal"),
    // pydantic's `EmailStr`: a PydanticCustomError, not a ValueError, so no "Value error, ".
    ("value is not a valid email address: ", "value_error"),
];

/// pydantic's words for a request model (the body itself, or an object in it) given something
/// else than an object: FastAPI validated with `from_attributes`.
const NOT_AN_OBJECT: (&str, &str) = (
    "Input should be a valid dictionary or object to extract fields from",
    "model_attributes_type",
);

/// The 422 item for `message`, written by one of our own checks (a `TryFrom` of a type in
/// `input`): as it is when it is one of pydantic's constraint messages, else as a custom
/// validator's (`"Value error, <message>"`).
pub(crate) fn value_issue(loc: Vec<LocPart>, message: &str) -> ValidationIssue {
    let (msg, kind) = match CONSTRAINTS
        .iter()
        .find(|(start, _)| message.starts_with(start))
    {
        Some((_, kind)) => (message.to_owned(), *kind),
        None => (format!("Value error, {message}"), "value_error"),
    };
    ValidationIssue {
        loc,
        msg,
        kind: kind.into(),
    }
}

/// Turns a serde_json error found at `loc` into a 422 item.
pub(crate) fn describe(err: &serde_json::Error, mut loc: Vec<LocPart>) -> ValidationIssue {
    use serde_json::error::Category;
    let full = err.to_string();
    if full.starts_with("recursion limit exceeded") {
        return issue(
            loc,
            "JSON nested too deeply (at most 128 levels)",
            "json_invalid",
        );
    }
    if matches!(
        err.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return issue(loc, "JSON decode error", "json_invalid");
    }
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    // The last ", expected ": what comes before it may quote the input, commas included.
    let expected = message
        .rsplit_once(", expected ")
        .map_or("", |(_, expected)| expected);

    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        loc.push(LocPart::from(field));
        issue(loc, "Field required", "missing")
    } else if message.starts_with("unknown field `") {
        issue(loc, "Extra inputs are not permitted", "extra_forbidden")
    } else if message.starts_with("unknown variant `") {
        issue(
            loc,
            format!("Input should be {}", choices(expected)),
            "enum",
        )
    } else if let Some(found) = message.strip_prefix("invalid type: ") {
        let (msg, kind) = wrong_type(found, expected);
        issue(loc, msg, kind)
    } else if expected.starts_with("struct ") {
        // A list where an object belongs: serde reads a struct from its fields' values in
        // order, and stops at the first missing one ("invalid length 1, expected struct ...").
        issue(loc, NOT_AN_OBJECT.0, NOT_AN_OBJECT.1)
    } else if message.starts_with("invalid value:") || message.starts_with("invalid length") {
        issue(loc, format!("Input should be {expected}"), "value_error")
    } else {
        // A message written by one of our own `Deserialize` impls: it is ours and safe to show.
        value_issue(loc, message)
    }
}

fn issue(loc: Vec<LocPart>, msg: impl Into<String>, kind: &str) -> ValidationIssue {
    ValidationIssue {
        loc,
        msg: msg.into(),
        kind: kind.into(),
    }
}

/// pydantic's message and type for a value of the wrong JSON type, from what serde `found` (only
/// its kind is read, never the value it quotes) and what it `expected` (a description of our
/// type).
fn wrong_type(found: &str, expected: &str) -> (String, &'static str) {
    let integer = matches!(
        expected,
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize"
    );
    let (msg, kind) = match expected {
        _ if integer && found.starts_with("floating point") => (
            "Input should be a valid integer, got a number with a fractional part",
            "int_from_float",
        ),
        _ if integer && found.starts_with("string") => (
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        ),
        _ if integer => ("Input should be a valid integer", "int_type"),
        "f32" | "f64" => ("Input should be a valid number", "float_type"),
        "a string" => ("Input should be a valid string", "string_type"),
        "a boolean" => ("Input should be a valid boolean", "bool_type"),
        "a sequence" => ("Input should be a valid list", "list_type"),
        "a map" => ("Input should be a valid dictionary", "dict_type"),
        _ if expected.starts_with("struct ") => NOT_AN_OBJECT,
        _ => return (format!("Input should be {expected}"), "type_error"),
    };
    (msg.to_owned(), kind)
}

/// serde's list of enum variants (``one of `a`, `b`, `c` ``, or `` `a` or `b` `` for two) as
/// pydantic words it: `'a', 'b' or 'c'`.
fn choices(expected: &str) -> String {
    let quoted: Vec<String> = expected
        .trim_start_matches("one of ")
        .replace("` or `", "`, `")
        .split(", ")
        .map(|variant| format!("'{}'", variant.trim_matches('`')))
        .collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_issue(message: &str) -> ValidationIssue {
        value_issue(vec![LocPart::from("body")], message)
    }

    #[test]
    fn constraint_messages_keep_pydantic_words_and_types() {
        for (message, kind) in [
            (
                "String should have at least 8 characters",
                "string_too_short",
            ),
            (
                "String should have at most 100 characters",
                "string_too_long",
            ),
            (
                "Input should be greater than or equal to 1900",
                "greater_than_equal",
            ),
            ("Input should be greater than 0", "greater_than"),
            (
                "value is not a valid email address: An email address must have an @-sign.",
                "value_error",
            ),
        ] {
            let issue = body_issue(message);
            assert_eq!((issue.msg.as_str(), issue.kind.as_str()), (message, kind));
        }
    }

    #[test]
    fn other_messages_are_custom_validators() {
        let issue = body_issue("Name contains invalid characters");
        assert_eq!(issue.msg, "Value error, Name contains invalid characters");
        assert_eq!(issue.kind, "value_error");
    }

    #[test]
    fn enum_choices_read_as_pydantic_lists_them() {
        assert_eq!(choices("one of `a`, `b`, `c`"), "'a', 'b' or 'c'");
        assert_eq!(choices("`a` or `b`"), "'a' or 'b'");
        assert_eq!(choices("`a`"), "'a'");
    }

    #[test]
    fn wrong_types_are_named_by_the_expected_type_only() {
        assert_eq!(
            wrong_type(r#"string "12, expected a boolean""#, "i64"),
            (
                "Input should be a valid integer, unable to parse string as an integer".to_owned(),
                "int_parsing"
            )
        );
        assert_eq!(wrong_type("null", "a string").1, "string_type");
        assert_eq!(
            wrong_type("floating point `1.5`", "i32").1,
            "int_from_float"
        );
        assert_eq!(
            wrong_type("string \"x\"", "struct Item").1,
            "model_attributes_type"
        );
    }
}
