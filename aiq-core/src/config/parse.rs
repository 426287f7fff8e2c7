//! Parsers for single environment values. Each returns `None` when the text is not acceptable;
//! the caller turns that into a [`super::ConfigProblem`] naming the variable.

use std::collections::BTreeMap;

/// Booleans as the old pydantic settings accepted them (`true/false`, `1/0`, `yes/no`, `on/off`,
/// `t/f`, `y/n`, any case).
pub(super) fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// A list given either as a JSON array of strings or as comma-separated text. Blank entries are
/// dropped and entries are trimmed.
pub(super) fn list(text: &str) -> Option<Vec<String>> {
    let trimmed = text.trim();
    let items: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed).ok()?
    } else {
        trimmed.split(',').map(str::to_owned).collect()
    };
    Some(
        items
            .into_iter()
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect(),
    )
}

/// A JSON object of numbers, e.g. `{"easy": 0.2, "medium": 0.5, "hard": 0.3}`.
pub(super) fn number_map(text: &str) -> Option<BTreeMap<String, f64>> {
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_the_pydantic_spellings() {
        for yes in ["true", "True", "1", "YES", "on", " t "] {
            assert_eq!(boolean(yes), Some(true), "{yes}");
        }
        for no in ["false", "FALSE", "0", "no", "Off", "f"] {
            assert_eq!(boolean(no), Some(false), "{no}");
        }
        assert_eq!(boolean("maybe"), None);
        assert_eq!(boolean(""), None);
    }

    #[test]
    fn lists_accept_commas_and_json() {
        let expected = vec![
            "https://a.example".to_owned(),
            "https://b.example".to_owned(),
        ];
        assert_eq!(
            list("https://a.example, https://b.example,").unwrap(),
            expected
        );
        assert_eq!(
            list(r#"["https://a.example","https://b.example"]"#).unwrap(),
            expected
        );
        assert_eq!(list("[not json"), None);
        assert_eq!(list("*").unwrap(), vec!["*".to_owned()]);
    }

    #[test]
    fn number_maps_are_json_objects() {
        let map = number_map(r#"{"easy": 0.5, "hard": 0.5}"#).unwrap();
        assert_eq!(map["easy"], 0.5);
        assert_eq!(number_map("easy=0.5"), None);
    }
}
