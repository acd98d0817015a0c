//! A template as CloudFormation reads it, for the stacks played locally: parameters (with their
//! validation), rules, conditions, the order of the custom resources, their properties with
//! every intrinsic resolved, and the outputs. The other resources are not made; a reference to
//! one resolves to a stand-in value (a name or ARN of the right shape). Anything this does not
//! know fails naming it, so a local run never silently differs from what `sam deploy` deploys.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value as Json, json};
use serde_yaml_ng::Value as Yaml;

use super::LocalError;

/// The stack's pseudo parameters.
#[derive(Debug, Clone)]
pub struct Pseudo {
    pub stack_name: String,
    pub stack_id: String,
    pub region: String,
    pub account: String,
}

impl Pseudo {
    /// A stack of this name in `region` and `account`, with a stable id.
    pub fn new(stack_name: &str, region: &str, account: &str) -> Self {
        Pseudo {
            stack_name: stack_name.to_owned(),
            stack_id: format!(
                "arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/5c0a9e70-aaaa-4bbb-8ccc-0123456789ab"
            ),
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }
}

/// What evaluation knows: parameter values, each custom resource's physical id and Data, and the
/// exports other stacks made.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    pub parameters: BTreeMap<String, Json>,
    pub physical_ids: BTreeMap<String, String>,
    pub data: BTreeMap<String, BTreeMap<String, String>>,
    pub exports: BTreeMap<String, String>,
}

/// One custom resource, with the custom resources it needs first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomResource {
    pub logical_id: String,
    pub resource_type: String,
    pub depends_on: BTreeSet<String>,
}

/// One output, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export: Option<String>,
}

pub struct Template {
    root: Yaml,
    body: String,
}

type Eval<T> = Result<T, String>;

impl Template {
    pub fn load(path: &Path) -> Result<Self, LocalError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| LocalError::Template(format!("{}: {err}", path.display())))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, LocalError> {
        let root: Yaml = serde_yaml_ng::from_str(text)
            .map_err(|err| LocalError::Template(format!("not YAML or JSON: {err}")))?;
        if !root["Resources"].is_mapping() {
            return Err(LocalError::Template("it has no Resources".into()));
        }
        Ok(Template {
            root,
            body: text.to_owned(),
        })
    }

    /// The template's text, as `GetTemplate` returns it.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The parameters' values: `values` where given, else the defaults, each checked as
    /// CloudFormation checks it (allowed values and pattern, lengths, numbers).
    pub fn parameters(
        &self,
        values: &Map<String, Json>,
    ) -> Result<BTreeMap<String, Json>, LocalError> {
        let declared = self.root["Parameters"].as_mapping();
        if let Some(unknown) = values
            .keys()
            .find(|name| !declared.is_some_and(|declared| declared.contains_key(name.as_str())))
        {
            return Err(LocalError::Parameters(format!(
                "{unknown} is not a parameter of the template"
            )));
        }
        let mut parameters = BTreeMap::new();
        for (name, spec) in declared.into_iter().flatten() {
            let name = name.as_str().unwrap_or_default().to_owned();
            let text = match values.get(&name) {
                Some(Json::String(text)) => text.clone(),
                Some(Json::Array(items)) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
                Some(other) => scalar(other),
                None => match &spec["Default"] {
                    Yaml::Null => {
                        return Err(LocalError::Parameters(format!(
                            "parameter {name} must have a value (it has no Default)"
                        )));
                    }
                    default => scalar(&to_json(default).map_err(LocalError::Template)?),
                },
            };
            check_parameter(&name, spec, &text).map_err(LocalError::Parameters)?;
            let kind = spec["Type"].as_str().unwrap_or("String");
            let value = if kind.starts_with("List<") || kind.starts_with("CommaDelimitedList") {
                json!(
                    text.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .collect::<Vec<_>>()
                )
            } else {
                json!(text)
            };
            parameters.insert(name, value);
        }
        Ok(parameters)
    }

    /// The template's Rules, as CloudFormation checks them before it changes anything: every
    /// failed assertion's description.
    pub fn check_rules(&self, scope: &Scope, pseudo: &Pseudo) -> Result<(), LocalError> {
        let evaluator = self.evaluator(scope, pseudo);
        let mut failed = Vec::new();
        for (name, rule) in self.root["Rules"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            let applies = match &rule["RuleCondition"] {
                Yaml::Null => true,
                condition => evaluator
                    .boolean(condition)
                    .map_err(|err| LocalError::Template(format!("rule {name}: {err}")))?,
            };
            if !applies {
                continue;
            }
            for assertion in rule["Assertions"].as_sequence().into_iter().flatten() {
                let holds = evaluator
                    .boolean(&assertion["Assert"])
                    .map_err(|err| LocalError::Template(format!("rule {name}: {err}")))?;
                if !holds {
                    let description = assertion["AssertDescription"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("rule {name} does not hold"));
                    failed.push(description);
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(LocalError::Parameters(failed.join("; ")))
        }
    }

    /// The custom resources the stack holds with these parameters (their Condition true), in an
    /// order where each comes after what it needs.
    pub fn custom_resources(
        &self,
        scope: &Scope,
        pseudo: &Pseudo,
    ) -> Result<Vec<CustomResource>, LocalError> {
        let evaluator = self.evaluator(scope, pseudo);
        let mut customs: BTreeMap<String, &Yaml> = BTreeMap::new();
        for (id, resource) in self.resources() {
            let kind = resource["Type"].as_str().unwrap_or_default();
            let is_custom =
                kind.starts_with("Custom::") || kind == "AWS::CloudFormation::CustomResource";
            if is_custom && evaluator.resource_condition(resource).map_err(template)? {
                customs.insert(id.to_owned(), resource);
            }
        }
        let mut all = Vec::new();
        for (id, resource) in &customs {
            let mut needs = BTreeSet::new();
            references(&resource["Properties"], &mut needs);
            match &resource["DependsOn"] {
                Yaml::String(name) => {
                    needs.insert(name.clone());
                }
                Yaml::Sequence(names) => {
                    needs.extend(names.iter().filter_map(|d| d.as_str().map(str::to_owned)));
                }
                _ => {}
            }
            needs.retain(|name| customs.contains_key(name));
            all.push(CustomResource {
                logical_id: id.clone(),
                resource_type: resource["Type"].as_str().unwrap_or_default().to_owned(),
                depends_on: needs,
            });
        }
        let mut ordered: Vec<CustomResource> = Vec::new();
        while ordered.len() < all.len() {
            let before = ordered.len();
            for resource in &all {
                let placed = ordered.iter().any(|o| o.logical_id == resource.logical_id);
                let ready = resource
                    .depends_on
                    .iter()
                    .all(|need| ordered.iter().any(|o| &o.logical_id == need));
                if !placed && ready {
                    ordered.push(resource.clone());
                }
            }
            if ordered.len() == before {
                return Err(LocalError::Template(
                    "the custom resources depend on each other in a cycle".into(),
                ));
            }
        }
        Ok(ordered)
    }

    /// A resource's properties with every intrinsic resolved (AWS::NoValue dropped).
    pub fn properties(
        &self,
        logical_id: &str,
        scope: &Scope,
        pseudo: &Pseudo,
    ) -> Result<Json, LocalError> {
        let properties = &self.root["Resources"][logical_id]["Properties"];
        let value = self
            .evaluator(scope, pseudo)
            .eval(properties)
            .map_err(|err| LocalError::Template(format!("{logical_id}: {err}")))?;
        Ok(value.unwrap_or(Json::Object(Map::new())))
    }

    /// The outputs whose Condition holds.
    pub fn outputs(&self, scope: &Scope, pseudo: &Pseudo) -> Result<Vec<Output>, LocalError> {
        let evaluator = self.evaluator(scope, pseudo);
        let mut outputs = Vec::new();
        for (key, output) in self.root["Outputs"].as_mapping().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default().to_owned();
            let failed = |err: String| LocalError::Template(format!("output {key}: {err}"));
            if !evaluator.resource_condition(output).map_err(failed)? {
                continue;
            }
            let value = evaluator.eval(&output["Value"]).map_err(failed)?;
            let export = match &output["Export"]["Name"] {
                Yaml::Null => None,
                name => evaluator
                    .eval(name)
                    .map_err(failed)?
                    .map(|name| scalar(&name)),
            };
            outputs.push(Output {
                value: value.as_ref().map(scalar).unwrap_or_default(),
                description: output["Description"].as_str().map(str::to_owned),
                export,
                key,
            });
        }
        Ok(outputs)
    }

    /// A resource's type, if the template has it.
    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.root["Resources"][logical_id]["Type"].as_str()
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Yaml)> {
        self.root["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(id, resource)| Some((id.as_str()?, resource)))
    }

    fn evaluator<'a>(&'a self, scope: &'a Scope, pseudo: &'a Pseudo) -> Evaluator<'a> {
        Evaluator {
            template: self,
            scope,
            pseudo,
        }
    }
}

fn template(detail: String) -> LocalError {
    LocalError::Template(detail)
}

/// A parameter's value against its AllowedValues, AllowedPattern, lengths and numeric bounds.
fn check_parameter(name: &str, spec: &Yaml, text: &str) -> Result<(), String> {
    let kind = spec["Type"].as_str().unwrap_or("String");
    if let Some(allowed) = spec["AllowedValues"].as_sequence() {
        let allowed: Vec<String> = allowed
            .iter()
            .filter_map(|value| to_json(value).ok().map(|value| scalar(&value)))
            .collect();
        if !allowed.iter().any(|value| value == text) {
            return Err(format!(
                "{name} is {text:?}, not one of the allowed values ({})",
                allowed.join(", ")
            ));
        }
    }
    if let Some(pattern) = spec["AllowedPattern"].as_str() {
        let anchored = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|err| format!("{name}'s AllowedPattern is not a pattern: {err}"))?;
        if !anchored.is_match(text) {
            let hint = spec["ConstraintDescription"]
                .as_str()
                .map(|hint| format!(": {hint}"))
                .unwrap_or_default();
            return Err(format!(
                "{name} {text:?} does not match its AllowedPattern{hint}"
            ));
        }
    }
    let length = text.chars().count() as u64;
    if spec["MinLength"].as_u64().is_some_and(|min| length < min) {
        return Err(format!("{name} is shorter than its MinLength"));
    }
    if spec["MaxLength"].as_u64().is_some_and(|max| length > max) {
        return Err(format!("{name} is longer than its MaxLength"));
    }
    if kind == "Number" {
        let number: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{name} is {text:?}, not a number"))?;
        if spec["MinValue"].as_f64().is_some_and(|min| number < min) {
            return Err(format!("{name} is below its MinValue"));
        }
        if spec["MaxValue"].as_f64().is_some_and(|max| number > max) {
            return Err(format!("{name} is above its MaxValue"));
        }
    }
    Ok(())
}

mod evaluator;

use evaluator::{Evaluator, references, scalar, to_json};

#[cfg(test)]
mod tests;
