//! Every problem of a JSON object body, in the old backend's order.
//!
//! serde stops at the first problem; pydantic listed them all, in the model's field order, for
//! each field its problem (original-api.md §0.2). So when a body does not deserialize,
//! [`every_issue`] reads it again as an object and checks each declared field on its own,
//! through the type's own `Deserialize`, so that a field is judged exactly as the typed parse
//! judged it (`try_from` rules, `default`, `deserialize_with`):
//! - the fields and their order are those serde's derive names to `deserialize_struct`;
//! - a present field is checked by deserializing the type from an object holding that field
//!   alone: a problem inside its value is that field's (in a nested object or list, the first
//!   one, with its full location), and the other fields, then absent, are not its concern;
//! - an absent field is a problem when the type's schema lists it as required. serde cannot say
//!   which absent fields it would refuse (it stops at the first), and the schema is the contract
//!   the iOS client was generated from; utoipa derives it from the same `Option`s and serde
//!   `default`s.

use std::collections::HashMap;

use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::value::RawValue;
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::error::{LocPart, ValidationIssue};

/// The problems of the JSON object `bytes` as a `T`, field by field in declaration order;
/// empty when `bytes` is not an object, `T` is not a struct, or no single field is at fault
/// (the caller then reports the typed parse's error).
pub(crate) fn every_issue<T: DeserializeOwned + PartialSchema>(
    bytes: &[u8],
) -> Vec<ValidationIssue> {
    let Some(fields) = declared_fields::<T>() else {
        return Vec::new();
    };
    let Ok(object) = serde_json::from_slice::<HashMap<String, Box<RawValue>>>(bytes) else {
        return Vec::new();
    };
    let required = required_fields::<T>();
    fields
        .iter()
        .filter_map(|field| match object.get(*field) {
            Some(value) => field_issue::<T>(field, value),
            None => required
                .iter()
                .any(|name| name == field)
                .then(|| ValidationIssue::new(["body", field], "Field required", "missing")),
        })
        .collect()
}

/// The problem of `field`'s `value`, as `T` judges it in an object holding that field alone.
fn field_issue<T: DeserializeOwned>(field: &str, value: &RawValue) -> Option<ValidationIssue> {
    let key = serde_json::to_string(field).ok()?;
    let alone = format!("{{{key}:{}}}", value.get());
    let issue = super::parse_at::<T>(alone.as_bytes(), vec![LocPart::from("body")]).err()?;
    // Anything else (another field missing) is not this field's problem.
    (issue.loc.get(1) == Some(&LocPart::from(field))).then_some(issue)
}

/// The properties `T`'s schema marks required.
fn required_fields<T: PartialSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.required,
        _ => Vec::new(),
    }
}

/// The fields `T` declares, in declaration order; `None` when `T` is not a struct.
fn declared_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    // It fails by design: `FieldNames` records the names and refuses to go on.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that records the field names serde's derive hands to `deserialize_struct`.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use utoipa::ToSchema;

    #[derive(Debug, Deserialize, ToSchema)]
    #[allow(dead_code)]
    struct Item {
        id: u32,
    }

    #[derive(Debug, Deserialize, ToSchema)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        flag: bool,
        count: u32,
        note: Option<String>,
        items: Vec<Item>,
    }

    fn issues(json: &str) -> Vec<(Vec<LocPart>, String)> {
        every_issue::<Body>(json.as_bytes())
            .into_iter()
            .map(|issue| (issue.loc, issue.kind))
            .collect()
    }

    fn loc(parts: &[LocPart]) -> Vec<LocPart> {
        parts.to_vec()
    }

    #[test]
    fn fields_are_read_in_declaration_order() {
        assert_eq!(
            declared_fields::<Body>(),
            Some(&["name", "flag", "count", "note", "items"][..])
        );
        assert_eq!(declared_fields::<u32>(), None);
        assert_eq!(required_fields::<Body>(), ["name", "count", "items"]);
    }

    #[test]
    fn every_field_with_a_problem_is_listed_in_order() {
        let body = LocPart::from("body");
        assert_eq!(
            issues(r#"{"items": [{"id": 1}, {"id": "x"}], "count": -1, "flag": 3}"#),
            vec![
                (loc(&[body.clone(), "name".into()]), "missing".to_owned()),
                (loc(&[body.clone(), "flag".into()]), "bool_type".to_owned()),
                (
                    loc(&[body.clone(), "count".into()]),
                    "value_error".to_owned()
                ),
                (
                    loc(&[body, "items".into(), LocPart::Index(1), "id".into()]),
                    "int_parsing".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn absent_optional_and_defaulted_fields_are_fine() {
        assert_eq!(
            issues(r#"{"name": "a", "count": "two", "items": []}"#),
            vec![(
                loc(&["body".into(), "count".into()]),
                "int_parsing".to_owned()
            )]
        );
    }

    #[test]
    fn bodies_that_are_not_objects_have_no_field_issues() {
        assert!(issues("[1, 2]").is_empty());
        assert!(issues(r#"{"name": "#).is_empty());
        assert!(every_issue::<u32>(b"{}").is_empty());
    }
}
