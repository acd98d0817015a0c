//! A reader over one JSON object of properties: it knows which names are allowed, coerces
//! CloudFormation's strings, and reports errors by property path without echoing values.

use serde_json::{Map, Value};

use super::PROTOCOL_PROPERTIES;

/// Longest piece of a user-supplied property name echoed back in an error.
const MAX_ECHOED_NAME: usize = 100;

/// What was wrong with the properties. Names are property paths (`ContainerDefinitions[0].Image`);
/// values are never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    #[error("unknown property {name}{}", suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    Unknown {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("missing required property {name}")]
    Missing { name: String },
    #[error("property {name} must be {expected}")]
    Invalid { name: String, expected: String },
    #[error("{0}")]
    Conflict(String),
}

impl PropertyError {
    pub fn invalid(name: impl Into<String>, expected: impl Into<String>) -> Self {
        PropertyError::Invalid {
            name: name.into(),
            expected: expected.into(),
        }
    }
}

/// One object of properties at a path, checked against the names it may hold.
#[derive(Debug, Clone, Copy)]
pub struct Props<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

/// Owned path storage for nested objects, so that [`Props`] can borrow it.
#[derive(Debug)]
pub struct NestedProps {
    path: String,
    map: Map<String, Value>,
}

impl NestedProps {
    pub fn props(&self) -> Props<'_> {
        Props {
            path: &self.path,
            map: &self.map,
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, PropertyError> {
        self.props().required_string(name)
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, PropertyError> {
        self.props().string(name)
    }
}

impl<'a> Props<'a> {
    /// The top-level `ResourceProperties` of a resource: `known` plus the protocol's own
    /// `ServiceToken` and `ServiceTimeout`.
    pub fn top_level(value: &'a Value, known: &[&'static str]) -> Result<Self, PropertyError> {
        let map = value
            .as_object()
            .ok_or_else(|| PropertyError::invalid("ResourceProperties", "an object"))?;
        let props = Props { path: "", map };
        props.reject_unknown(known, PROTOCOL_PROPERTIES)?;
        Ok(props)
    }

    fn reject_unknown(
        &self,
        known: &[&'static str],
        also_allowed: &[&'static str],
    ) -> Result<(), PropertyError> {
        for name in self.map.keys() {
            let name = name.as_str();
            if known.contains(&name) || also_allowed.contains(&name) {
                continue;
            }
            return Err(PropertyError::Unknown {
                name: self.path_of(&shorten_name(name)),
                suggestion: nearest_name(name, known),
            });
        }
        Ok(())
    }

    fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{}", self.path, name)
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        // CloudFormation drops a property set to AWS::NoValue; an explicit null means the same.
        self.map.get(name).filter(|value| !value.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn missing(&self, name: &str) -> PropertyError {
        PropertyError::Missing {
            name: self.path_of(name),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, PropertyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            Some(_) => Err(PropertyError::invalid(self.path_of(name), "a string")),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, PropertyError> {
        match self.string(name)? {
            Some(text) if !text.is_empty() => Ok(text),
            Some(_) => Err(PropertyError::invalid(
                self.path_of(name),
                "a non-empty string",
            )),
            None => Err(self.missing(name)),
        }
    }

    /// A non-empty string when present.
    pub fn non_empty_string(&self, name: &str) -> Result<Option<String>, PropertyError> {
        match self.string(name)? {
            Some(text) if text.is_empty() => Err(PropertyError::invalid(
                self.path_of(name),
                "a non-empty string",
            )),
            other => Ok(other),
        }
    }

    /// `true`/`false` in any case, or `1`/`0`, as JSON or as a string.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, PropertyError> {
        let invalid = || PropertyError::invalid(self.path_of(name), "true or false");
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::Number(number)) => match number.as_u64() {
                Some(1) => Ok(Some(true)),
                Some(0) => Ok(Some(false)),
                _ => Err(invalid()),
            },
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(invalid()),
            },
            Some(_) => Err(invalid()),
        }
    }

    /// A whole number within `range`, as JSON or as a string.
    pub fn integer(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, PropertyError> {
        let invalid = || {
            PropertyError::invalid(
                self.path_of(name),
                format!("a whole number from {} to {}", range.start(), range.end()),
            )
        };
        let number = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(number)) => number.as_i64().ok_or_else(invalid)?,
            Some(Value::String(text)) => text.trim().parse::<i64>().map_err(|_| invalid())?,
            Some(_) => return Err(invalid()),
        };
        if range.contains(&number) {
            Ok(Some(number))
        } else {
            Err(invalid())
        }
    }

    /// A list of strings; a single string counts as a one-item list, as CloudFormation's
    /// comma-delimited parameters are often passed without `!Split`.
    pub fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, PropertyError> {
        let invalid = || PropertyError::invalid(self.path_of(name), "a list of strings");
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    Value::Number(number) => Ok(number.to_string()),
                    _ => Err(invalid()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::String(text)) => Ok(Some(
                text.split(',')
                    .map(|part| part.trim().to_owned())
                    .filter(|part| !part.is_empty())
                    .collect(),
            )),
            Some(_) => Err(invalid()),
        }
    }

    pub fn required_string_list(&self, name: &str) -> Result<Vec<String>, PropertyError> {
        match self.string_list(name)? {
            Some(list) if !list.is_empty() => Ok(list),
            Some(_) => Err(PropertyError::invalid(
                self.path_of(name),
                "a list of at least one string",
            )),
            None => Err(self.missing(name)),
        }
    }

    /// An object holding only `known` names.
    pub fn object(
        &self,
        name: &str,
        known: &[&'static str],
    ) -> Result<Option<NestedProps>, PropertyError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => nested(self.path_of(name), value, known).map(Some),
        }
    }

    /// A list of objects, each holding only `known` names.
    pub fn object_list(
        &self,
        name: &str,
        known: &[&'static str],
    ) -> Result<Vec<NestedProps>, PropertyError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    nested(format!("{}[{index}]", self.path_of(name)), item, known)
                })
                .collect(),
            Some(_) => Err(PropertyError::invalid(
                self.path_of(name),
                "a list of objects",
            )),
        }
    }

    /// An object of free-form string values (for example log driver options).
    pub fn string_map(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, PropertyError> {
        let invalid = || PropertyError::invalid(self.path_of(name), "an object of strings");
        match self.get(name) {
            None => Ok(Default::default()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) => Ok((key.clone(), text.clone())),
                    Value::Number(number) => Ok((key.clone(), number.to_string())),
                    Value::Bool(flag) => Ok((key.clone(), flag.to_string())),
                    _ => Err(invalid()),
                })
                .collect(),
            Some(_) => Err(invalid()),
        }
    }

    /// One of `allowed`, matched exactly as AWS spells it; an error lists them.
    pub fn one_of<T: Copy>(
        &self,
        name: &str,
        allowed: &[(&'static str, T)],
    ) -> Result<Option<T>, PropertyError> {
        let Some(text) = self.string(name)? else {
            return Ok(None);
        };
        allowed
            .iter()
            .find(|(spelling, _)| *spelling == text)
            .map(|(_, value)| Some(*value))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(spelling, _)| *spelling).collect();
                PropertyError::invalid(self.path_of(name), format!("one of {}", names.join(", ")))
            })
    }

    pub fn path(&self, name: &str) -> String {
        self.path_of(name)
    }
}

fn nested(
    path: String,
    value: &Value,
    known: &[&'static str],
) -> Result<NestedProps, PropertyError> {
    let map = value
        .as_object()
        .ok_or_else(|| PropertyError::invalid(path.clone(), "an object"))?
        .clone();
    let nested = NestedProps { path, map };
    nested.props().reject_unknown(known, &[])?;
    Ok(nested)
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
fn nearest_name(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let lowered = name.to_ascii_lowercase();
    known
        .iter()
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&lowered, &candidate.to_ascii_lowercase());
            (distance, *candidate)
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn shorten_name(name: &str) -> String {
    if name.chars().count() <= MAX_ECHOED_NAME {
        return name.to_owned();
    }
    let head: String = name.chars().take(MAX_ECHOED_NAME).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(value: &Value) -> Props<'_> {
        Props::top_level(value, &["DesiredCount", "Enabled", "Name", "Subnets"]).unwrap()
    }

    #[test]
    fn unknown_name_suggests_the_nearest_known_one() {
        let value = json!({"DesiredCont": "2"});
        let err = Props::top_level(&value, &["DesiredCount", "Cluster"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown property DesiredCont (did you mean DesiredCount?)"
        );
    }

    #[test]
    fn unknown_name_far_from_every_known_name_has_no_suggestion() {
        let value = json!({"Zebra": "1"});
        let err = Props::top_level(&value, &["DesiredCount", "Cluster"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown property Zebra");
    }

    #[test]
    fn unknown_name_never_echoes_its_value() {
        let value = json!({"Pasword": "hunter2-secret"});
        let err = Props::top_level(&value, &["Password", "Username"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown property Pasword (did you mean Password?)"
        );
    }

    #[test]
    fn protocol_properties_are_accepted_everywhere() {
        let value = json!({"ServiceToken": "arn:aws:sns:us-east-1:123456789012:t", "ServiceTimeout": "300"});
        assert!(Props::top_level(&value, &[]).is_ok());
    }

    #[test]
    fn cloudformation_strings_coerce_to_booleans() {
        for (text, expected) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            ("TRUE", true),
        ] {
            let value = json!({ "Enabled": text });
            assert_eq!(
                props(&value).bool("Enabled").unwrap(),
                Some(expected),
                "{text}"
            );
        }
        let value = json!({ "Enabled": true });
        assert_eq!(props(&value).bool("Enabled").unwrap(), Some(true));
    }

    #[test]
    fn two_is_no_boolean() {
        let value = json!({ "Enabled": "2" });
        let err = props(&value).bool("Enabled").unwrap_err();
        assert_eq!(err.to_string(), "property Enabled must be true or false");
    }

    #[test]
    fn cloudformation_strings_coerce_to_numbers() {
        for (value, expected) in [
            (json!({"DesiredCount": "2"}), 2),
            (json!({"DesiredCount": 2}), 2),
            (json!({"DesiredCount": " 0 "}), 0),
        ] {
            assert_eq!(
                props(&value).integer("DesiredCount", 0..=10).unwrap(),
                Some(expected)
            );
        }
    }

    #[test]
    fn a_string_that_is_no_number_fails_naming_the_property() {
        let value = json!({ "DesiredCount": "two" });
        let err = props(&value).integer("DesiredCount", 0..=10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "property DesiredCount must be a whole number from 0 to 10"
        );
        assert!(!err.to_string().contains("two"));
    }

    #[test]
    fn a_number_out_of_range_fails() {
        let value = json!({ "DesiredCount": "11" });
        assert!(props(&value).integer("DesiredCount", 0..=10).is_err());
    }

    #[test]
    fn missing_required_property_is_named() {
        let value = json!({});
        let err = props(&value).required_string("Name").unwrap_err();
        assert_eq!(err.to_string(), "missing required property Name");
    }

    #[test]
    fn null_means_absent() {
        let value = json!({ "Name": null });
        assert_eq!(props(&value).string("Name").unwrap(), None);
    }

    #[test]
    fn string_lists_accept_comma_delimited_text() {
        let value = json!({ "Subnets": "subnet-1, subnet-2" });
        assert_eq!(
            props(&value).string_list("Subnets").unwrap(),
            Some(vec!["subnet-1".to_owned(), "subnet-2".to_owned()])
        );
    }

    #[test]
    fn nested_errors_carry_their_path() {
        let value = json!({ "Items": [{"Port": "80"}, {"Prot": "x"}] });
        let top = Props::top_level(&value, &["Items"]).unwrap();
        let err = top.object_list("Items", &["Port"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown property Items[1].Prot (did you mean Port?)"
        );
    }

    #[test]
    fn enum_errors_list_allowed_values() {
        let value = json!({ "Name": "MAYBE" });
        let err = props(&value)
            .one_of("Name", &[("ENABLED", true), ("DISABLED", false)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "property Name must be one of ENABLED, DISABLED"
        );
    }

    #[test]
    fn very_long_unknown_names_are_shortened_in_the_error() {
        let name = "X".repeat(6000);
        let value = json!({ name: "1" });
        let err = Props::top_level(&value, &["Name"]).unwrap_err();
        assert!(err.to_string().len() < 200, "{}", err.to_string().len());
    }
}
