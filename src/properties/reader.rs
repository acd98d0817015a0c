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
    pub(crate) fn invalid(name: impl Into<String>, expected: impl Into<String>) -> Self {
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
pub(crate) struct NestedProps {
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

    pub(crate) fn required_string(&self, name: &str) -> Result<String, PropertyError> {
        self.props().required_string(name)
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, PropertyError> {
        self.props().string(name)
    }
}

impl<'a> Props<'a> {
    /// The top-level `ResourceProperties` of a resource: `known` plus the protocol's own
    /// `ServiceToken` and `ServiceTimeout`.
    pub(crate) fn top_level(
        value: &'a Value,
        known: &[&'static str],
    ) -> Result<Self, PropertyError> {
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

    pub(crate) fn required_string(&self, name: &str) -> Result<String, PropertyError> {
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
    pub(crate) fn non_empty_string(&self, name: &str) -> Result<Option<String>, PropertyError> {
        match self.string(name)? {
            Some(text) if text.is_empty() => Err(PropertyError::invalid(
                self.path_of(name),
                "a non-empty string",
            )),
            other => Ok(other),
        }
    }

    /// An ECS cluster or service name when present: up to 255 letters, digits, hyphens and
    /// underscores.
    pub(crate) fn ecs_name(&self, name: &str) -> Result<Option<String>, PropertyError> {
        let value = self.non_empty_string(name)?;
        let valid = |text: &String| {
            text.len() <= 255
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        match value {
            Some(text) if !valid(&text) => Err(PropertyError::invalid(
                self.path_of(name),
                "up to 255 letters, digits, hyphens and underscores",
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
    pub(crate) fn integer(
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
    pub(crate) fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, PropertyError> {
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

    pub(crate) fn required_string_list(&self, name: &str) -> Result<Vec<String>, PropertyError> {
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
    pub(crate) fn object(
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
    pub(crate) fn object_list(
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
    pub(crate) fn string_map(
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
    pub(crate) fn one_of<T: Copy>(
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
mod tests;
