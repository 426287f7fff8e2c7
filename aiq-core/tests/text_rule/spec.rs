//! The string fields of the OpenAPI document: every operation's body fields (through `$ref`s,
//! nested objects, arrays and map keys), string query, path and header parameters, and a
//! valid-ish request to carry each one, built from the schemas alone.

use http::Method;
use serde_json::{Map, Value, json};

/// What a body template holds where the walked field goes; the test puts the hostile JSON text
/// there (a surrogate escape cannot live in a `serde_json::Value`).
pub(crate) const SLOT: &str = "<<slot>>";

/// One operation of the document.
#[derive(Debug)]
pub(crate) struct Operation<'a> {
    pub(crate) method: Method,
    /// As the document writes it, `{name}` for path parameters.
    pub(crate) path: String,
    /// Query, path and header parameters.
    pub(crate) params: Vec<Param>,
    /// The body's schema, when it takes one.
    schema: Option<&'a Value>,
    /// A valid-ish body with every optional field present.
    pub(crate) body: Option<Value>,
}

/// A parameter and the value it has unless it is the field walked.
#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) name: String,
    /// `query`, `path` or `header`.
    pub(crate) location: String,
    pub(crate) required: bool,
    /// Valid-ish, as text.
    pub(crate) value: String,
    pub(crate) is_string: bool,
}

/// A step from a body's root to one of its strings.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Key(String),
    /// The first item of an array.
    First,
    /// The key of a map's only entry (`propertyNames`).
    MapKey,
}

/// Where a string field sits.
#[derive(Debug, Clone)]
pub(crate) enum Place {
    Body(Vec<Step>),
    /// A parameter, by its index in [`Operation::params`].
    Param(usize),
}

/// One string field of one operation, with the valid-ish value it has otherwise.
#[derive(Debug)]
pub(crate) struct Field<'a> {
    pub(crate) operation: &'a Operation<'a>,
    /// `events[].event_name`, `weights.<key>`, `header X-Device-Id`.
    pub(crate) name: String,
    pub(crate) place: Place,
    pub(crate) base: String,
}

/// The key of the one entry a map gets.
const MAP_KEY: &str = "pattern";

/// Every operation of `spec`.
pub(crate) fn operations(spec: &Value) -> Vec<Operation<'_>> {
    let mut operations = Vec::new();
    for (path, methods) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in methods.as_object().expect("methods") {
            let params = operation["parameters"]
                .as_array()
                .map(|params| params.iter().map(|p| param(spec, p)).collect())
                .unwrap_or_default();
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            let schema = (!schema.is_null()).then_some(schema);
            operations.push(Operation {
                method: method.to_uppercase().parse().expect("a method"),
                path: path.clone(),
                params,
                schema,
                body: schema.map(|schema| example(spec, schema, "")),
            });
        }
    }
    operations
}

fn param(spec: &Value, param: &Value) -> Param {
    let name = param["name"].as_str().expect("a name").to_owned();
    let schema = concrete(spec, &param["schema"]);
    let value = match example(spec, schema, &name) {
        Value::String(text) => text,
        other => other.to_string(),
    };
    Param {
        location: param["in"].as_str().expect("in").to_owned(),
        required: param["required"].as_bool().unwrap_or(false),
        is_string: kind(schema) == "string",
        value,
        name,
    }
}

/// Every string field of every operation.
pub(crate) fn string_fields<'a>(spec: &Value, operations: &'a [Operation<'a>]) -> Vec<Field<'a>> {
    let mut fields = Vec::new();
    for operation in operations {
        for (index, param) in operation.params.iter().enumerate() {
            if param.is_string {
                fields.push(Field {
                    operation,
                    name: format!("{} {}", param.location, param.name),
                    place: Place::Param(index),
                    base: param.value.clone(),
                });
            }
        }
        if let (Some(schema), Some(body)) = (operation.schema, &operation.body) {
            let mut found = Vec::new();
            strings(spec, schema, "", &mut Vec::new(), &mut found);
            for (name, steps) in found {
                let base = at(body, &steps).to_owned();
                fields.push(Field {
                    operation,
                    name,
                    place: Place::Body(steps),
                    base,
                });
            }
        }
    }
    fields
}

/// The body of `operation` as JSON text with the field at `steps` replaced by [`SLOT`].
pub(crate) fn template(body: &Value, steps: &[Step]) -> String {
    let mut body = body.clone();
    let mut node = &mut body;
    for step in steps {
        match step {
            Step::Key(key) => node = &mut node[key.as_str()],
            Step::First => node = &mut node[0],
            // A key is always the last step: the entry is moved under the slot.
            Step::MapKey => {
                let map = node.as_object_mut().expect("a map");
                let value = map.remove(MAP_KEY).expect("the map's entry");
                map.insert(SLOT.to_owned(), value);
                return body.to_string();
            }
        }
    }
    *node = json!(SLOT);
    body.to_string()
}

/// The string at `steps` of `body` (the map key itself for [`Step::MapKey`]).
fn at<'a>(body: &'a Value, steps: &[Step]) -> &'a str {
    match steps.split_first() {
        None => body.as_str().expect("a string"),
        Some((Step::Key(key), rest)) => at(&body[key.as_str()], rest),
        Some((Step::First, rest)) => at(&body[0], rest),
        Some((Step::MapKey, _)) => MAP_KEY,
    }
}

/// Collects the string fields under `schema`, named from `name`, reached by `steps`.
fn strings(
    spec: &Value,
    schema: &Value,
    name: &str,
    steps: &mut Vec<Step>,
    out: &mut Vec<(String, Vec<Step>)>,
) {
    let schema = concrete(spec, schema);
    let child = |key: &str| {
        if name.is_empty() {
            key.to_owned()
        } else {
            format!("{name}.{key}")
        }
    };
    match kind(schema) {
        "string" => out.push((name.to_owned(), steps.clone())),
        "array" => {
            steps.push(Step::First);
            strings(spec, &schema["items"], &format!("{name}[]"), steps, out);
            steps.pop();
        }
        "object" => {
            for (key, property) in schema["properties"].as_object().into_iter().flatten() {
                steps.push(Step::Key(key.clone()));
                strings(spec, property, &child(key), steps, out);
                steps.pop();
            }
            if kind(&schema["propertyNames"]) == "string" {
                steps.push(Step::MapKey);
                out.push((child("<key>"), steps.clone()));
                steps.pop();
            }
            if schema["additionalProperties"].is_object() {
                steps.push(Step::Key(MAP_KEY.to_owned()));
                strings(
                    spec,
                    &schema["additionalProperties"],
                    &child("<value>"),
                    steps,
                    out,
                );
                steps.pop();
            }
        }
        _ => {}
    }
}

/// The schema behind `$ref`s, and the first alternative that is not `null` of a `oneOf`.
fn concrete<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return concrete(spec, &spec["components"]["schemas"][name]);
    }
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(first) = schema[alternatives]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["type"] != "null"))
        {
            return concrete(spec, first);
        }
    }
    schema
}

/// The schema's type, the first that is not `null` of a list (`["string", "null"]`).
fn kind(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(kind) => kind,
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if schema["properties"].is_object() => "object",
        _ => "",
    }
}

/// A valid-ish value of `schema` for a field called `name`: its example or default, the first
/// of an enum, else a minimal value of its type, with every optional property present.
fn example(spec: &Value, schema: &Value, name: &str) -> Value {
    let schema = concrete(spec, schema);
    for given in ["example", "default"] {
        if !schema[given].is_null() {
            return schema[given].clone();
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    match kind(schema) {
        "string" => json!(text(schema, name)),
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "number" => json!(1.0),
        "boolean" => json!(false),
        "array" => json!([example(spec, &schema["items"], name)]),
        "object" => {
            let mut object = Map::new();
            for (key, property) in schema["properties"].as_object().into_iter().flatten() {
                object.insert(key.clone(), example(spec, property, key));
            }
            if schema["additionalProperties"].is_object() {
                let value = example(spec, &schema["additionalProperties"], MAP_KEY);
                object.insert(MAP_KEY.to_owned(), value);
            }
            Value::Object(object)
        }
        _ => Value::Null,
    }
}

/// A string for `schema`: an address, a time, or letters and digits (hexadecimal, a letter and a
/// digit, no character four times in a row: a device token or a password too) of a length
/// within its bounds.
fn text(schema: &Value, name: &str) -> String {
    if schema["format"] == "email" || name.contains("email") {
        return "ada@example.com".to_owned();
    }
    if schema["format"] == "date-time" {
        return "2025-01-02T03:04:05Z".to_owned();
    }
    let min = schema["minLength"].as_u64().unwrap_or(0);
    let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX);
    let length = usize::try_from(12.clamp(min, max.max(min))).expect("a length");
    "abc123".chars().cycle().take(length).collect()
}
