//! What a person sees of a played stack and gives it: the events table as `sam deploy` prints
//! it, and parameters files.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Event;
use crate::local::LocalError;

/// The events table's header, as `sam deploy` prints it.
pub fn table_header() -> String {
    let rule = "-".repeat(118);
    format!(
        "{rule}\n{:<12} {:<44} {:<28} {:<20} {}\n{rule}",
        "Time", "ResourceStatus", "ResourceType", "LogicalResourceId", "ResourceStatusReason"
    )
}

/// One event as a row of the table.
pub fn table_row(event: &Event) -> String {
    let time = event
        .at
        .format(time::macros::format_description!(
            "[hour]:[minute]:[second].[subsecond digits:3]"
        ))
        .unwrap_or_default();
    format!(
        "{:<12} {:<44} {:<28} {:<20} {}",
        time,
        event.status,
        event.resource_type,
        event.logical_id,
        event.reason.as_deref().unwrap_or("-")
    )
}

/// A parameters file: a JSON object of parameter values (strings, numbers, lists), where
/// `{{name}}` stands for what the emulator made (`{{registry}}`, `{{subnet}}`, …).
pub fn parameters_from_file(
    path: &std::path::Path,
    placeholders: &BTreeMap<&str, String>,
) -> Result<Map<String, Value>, LocalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| LocalError::Parameters(format!("{}: {err}", path.display())))?;
    let filled = fill_placeholders(&text, placeholders);
    let value: Value = serde_json::from_str(&filled)
        .map_err(|err| LocalError::Parameters(format!("{}: not JSON: {err}", path.display())))?;
    match value {
        Value::Object(map) => Ok(map
            .into_iter()
            .filter(|(key, _)| !key.starts_with("//"))
            .collect()),
        _ => Err(LocalError::Parameters(format!(
            "{}: a JSON object of parameter values is expected",
            path.display()
        ))),
    }
}

/// `{{name}}` replaced by its value.
pub fn fill_placeholders(text: &str, placeholders: &BTreeMap<&str, String>) -> String {
    placeholders
        .iter()
        .fold(text.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{{{name}}}}}"), value)
        })
}
