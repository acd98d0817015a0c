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

/// Names a Ref, GetAtt or Sub anywhere in `value` points at.
fn references(value: &Yaml, out: &mut BTreeSet<String>) {
    if let Some((function, argument)) = intrinsic(value) {
        match (function.as_str(), argument) {
            ("Ref", Yaml::String(name)) => {
                out.insert(name.clone());
            }
            ("Fn::GetAtt", Yaml::String(path)) => {
                out.insert(path.split('.').next().unwrap_or_default().to_owned());
            }
            ("Fn::GetAtt", Yaml::Sequence(parts)) => {
                if let Some(name) = parts.first().and_then(Yaml::as_str) {
                    out.insert(name.to_owned());
                }
            }
            ("Fn::Sub", Yaml::String(text)) => {
                for name in sub_names(text) {
                    out.insert(name.split('.').next().unwrap_or_default().to_owned());
                }
            }
            _ => {}
        }
        references(argument, out);
        return;
    }
    match value {
        Yaml::Sequence(items) => items.iter().for_each(|item| references(item, out)),
        Yaml::Mapping(map) => map.values().for_each(|item| references(item, out)),
        _ => {}
    }
}

/// `!Ref x` and `{"Ref": x}` alike, as ("Ref", x); `!Sub` as "Fn::Sub".
fn intrinsic(value: &Yaml) -> Option<(String, &Yaml)> {
    match value {
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let function = match name {
                "Ref" | "Condition" => name.to_owned(),
                other => format!("Fn::{other}"),
            };
            Some((function, &tagged.value))
        }
        Yaml::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                .then(|| (key.to_owned(), argument))
        }
        _ => None,
    }
}

fn sub_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}').map(|end| end + start) else {
            break;
        };
        let name = &rest[start + 2..end];
        // `${!Literal}` is no reference.
        if !name.starts_with('!') {
            names.push(name.to_owned());
        }
        rest = &rest[end + 1..];
    }
    names
}

struct Evaluator<'a> {
    template: &'a Template,
    scope: &'a Scope,
    pseudo: &'a Pseudo,
}

impl Evaluator<'_> {
    /// `None` is AWS::NoValue: the property is dropped.
    fn eval(&self, value: &Yaml) -> Eval<Option<Json>> {
        if let Some((function, argument)) = intrinsic(value) {
            return self.intrinsic(&function, argument);
        }
        Ok(Some(match value {
            Yaml::Sequence(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.eval(item)?);
                }
                Json::Array(out)
            }
            Yaml::Mapping(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    let key = key.as_str().ok_or("a mapping key that is not a string")?;
                    if let Some(item) = self.eval(item)? {
                        out.insert(key.to_owned(), item);
                    }
                }
                Json::Object(out)
            }
            other => to_json(other)?,
        }))
    }

    fn required(&self, value: &Yaml) -> Eval<Json> {
        self.eval(value)?
            .ok_or_else(|| "AWS::NoValue where a value is needed".into())
    }

    fn boolean(&self, value: &Yaml) -> Eval<bool> {
        match self.required(value)? {
            Json::Bool(flag) => Ok(flag),
            Json::String(text) if text == "true" || text == "false" => Ok(text == "true"),
            other => Err(format!("{other} is not true or false")),
        }
    }

    fn strings(&self, value: &Yaml) -> Eval<Vec<String>> {
        match self.required(value)? {
            Json::Array(items) => Ok(items.iter().map(scalar).collect()),
            other => Ok(vec![scalar(&other)]),
        }
    }

    /// Whether a resource's or output's Condition (if any) holds.
    fn resource_condition(&self, resource: &Yaml) -> Eval<bool> {
        match resource["Condition"].as_str() {
            None => Ok(true),
            Some(name) => self.condition(name),
        }
    }

    fn condition(&self, name: &str) -> Eval<bool> {
        let condition = &self.template.root["Conditions"][name];
        if condition.is_null() {
            return Err(format!("unknown condition {name}"));
        }
        self.boolean(condition)
            .map_err(|err| format!("condition {name}: {err}"))
    }

    fn arguments<'y>(argument: &'y Yaml, function: &str, count: usize) -> Eval<&'y [Yaml]> {
        match argument.as_sequence() {
            Some(items) if items.len() >= count => Ok(items),
            _ => Err(format!("{function} takes a list of {count}")),
        }
    }

    fn intrinsic(&self, function: &str, argument: &Yaml) -> Eval<Option<Json>> {
        let value = match function {
            "Ref" => {
                return self.reference(argument.as_str().ok_or("Ref takes a name")?);
            }
            "Condition" => {
                json!(self.condition(argument.as_str().ok_or("Condition takes a name")?)?)
            }
            "Fn::GetAtt" => {
                let (resource, attribute) = match argument {
                    Yaml::String(path) => path
                        .split_once('.')
                        .map(|(r, a)| (r.to_owned(), a.to_owned()))
                        .ok_or("GetAtt takes Resource.Attribute")?,
                    other => {
                        let parts = Self::arguments(other, "GetAtt", 2)?;
                        (scalar(&to_json(&parts[0])?), scalar(&to_json(&parts[1])?))
                    }
                };
                json!(self.attribute(&resource, &attribute)?)
            }
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Yaml::String(text) => (text.clone(), Map::new()),
                    other => {
                        let parts = Self::arguments(other, "Sub", 2)?;
                        let text = parts[0].as_str().ok_or("Sub takes a string")?.to_owned();
                        let variables = match self.required(&parts[1])? {
                            Json::Object(map) => map,
                            _ => return Err("Sub's variables must be a mapping".into()),
                        };
                        (text, variables)
                    }
                };
                let mut out = text.clone();
                for name in sub_names(&text) {
                    let value = match (variables.get(&name), name.split_once('.')) {
                        (Some(value), _) => scalar(value),
                        (None, Some((resource, attribute))) => {
                            self.attribute(resource, attribute)?
                        }
                        (None, None) => scalar(&self.reference(&name)?.unwrap_or_default()),
                    };
                    out = out.replace(&format!("${{{name}}}"), &value);
                }
                json!(out.replace("${!", "${"))
            }
            "Fn::If" => {
                let items = Self::arguments(argument, "If", 3)?;
                let name = items[0].as_str().ok_or("If takes a condition name")?;
                return self.eval(&items[if self.condition(name)? { 1 } else { 2 }]);
            }
            "Fn::Join" => {
                let items = Self::arguments(argument, "Join", 2)?;
                let separator = items[0].as_str().unwrap_or_default();
                json!(self.strings(&items[1])?.join(separator))
            }
            "Fn::Split" => {
                let items = Self::arguments(argument, "Split", 2)?;
                let separator = items[0].as_str().ok_or("Split takes a separator")?;
                let text = scalar(&self.required(&items[1])?);
                json!(text.split(separator).collect::<Vec<_>>())
            }
            "Fn::Select" => {
                let items = Self::arguments(argument, "Select", 2)?;
                let index: usize = scalar(&self.required(&items[0])?)
                    .parse()
                    .map_err(|_| "Select takes an index")?;
                let list = self.strings(&items[1])?;
                json!(
                    list.get(index)
                        .ok_or("Select's index is past the list's end")?
                )
            }
            "Fn::ImportValue" => {
                let name = scalar(&self.required(argument)?);
                json!(self.scope.exports.get(&name).ok_or_else(|| format!(
                    "ImportValue {name}: no stack exports it (deploy the provider first)"
                ))?)
            }
            "Fn::Equals" => {
                let items = Self::arguments(argument, "Equals", 2)?;
                let (left, right) = (self.eval(&items[0])?, self.eval(&items[1])?);
                json!(left.as_ref().map(scalar) == right.as_ref().map(scalar))
            }
            "Fn::Not" => {
                let items = Self::arguments(argument, "Not", 1)?;
                json!(!self.boolean(&items[0])?)
            }
            "Fn::And" | "Fn::Or" => {
                let items = argument.as_sequence().ok_or("And and Or take a list")?;
                let mut values = Vec::new();
                for item in items {
                    values.push(self.boolean(item)?);
                }
                json!(if function == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Fn::Contains" => {
                let items = Self::arguments(argument, "Contains", 2)?;
                let needle = scalar(&self.required(&items[1])?);
                json!(self.strings(&items[0])?.contains(&needle))
            }
            "Fn::EachMemberEquals" => {
                let items = Self::arguments(argument, "EachMemberEquals", 2)?;
                let value = scalar(&self.required(&items[1])?);
                json!(
                    self.strings(&items[0])?
                        .iter()
                        .all(|member| *member == value)
                )
            }
            "Fn::EachMemberIn" => {
                let items = Self::arguments(argument, "EachMemberIn", 2)?;
                let allowed = self.strings(&items[1])?;
                json!(
                    self.strings(&items[0])?
                        .iter()
                        .all(|member| allowed.contains(member))
                )
            }
            other => return Err(format!("{other} is not supported by the local run")),
        };
        Ok(Some(value))
    }

    fn reference(&self, name: &str) -> Eval<Option<Json>> {
        let pseudo = self.pseudo;
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::StackName" => json!(pseudo.stack_name),
            "AWS::StackId" => json!(pseudo.stack_id),
            "AWS::Region" => json!(pseudo.region),
            "AWS::AccountId" => json!(pseudo.account),
            "AWS::Partition" => json!("aws"),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            _ => {
                if let Some(value) = self.scope.parameters.get(name) {
                    return Ok(Some(value.clone()));
                }
                if let Some(id) = self.scope.physical_ids.get(name) {
                    return Ok(Some(json!(id)));
                }
                json!(self.stand_in(name, None)?)
            }
        }))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Eval<String> {
        if let Some(data) = self.scope.data.get(resource) {
            return data.get(attribute).cloned().ok_or_else(|| {
                format!("GetAtt {resource}.{attribute}: the resource's Data has no {attribute}")
            });
        }
        self.stand_in(resource, Some(attribute))
    }

    /// The value a resource that is not played stands in with: its name, or an ARN of its kind.
    fn stand_in(&self, logical_id: &str, attribute: Option<&str>) -> Eval<String> {
        let resource = &self.template.root["Resources"][logical_id];
        let kind = resource["Type"]
            .as_str()
            .ok_or_else(|| format!("{logical_id}: no parameter or resource of that name"))?;
        if kind.starts_with("Custom::") {
            return Err(format!(
                "{logical_id} is referenced before it was created (or its Condition is false)"
            ));
        }
        let Pseudo {
            stack_name,
            region,
            account,
            ..
        } = self.pseudo;
        let named = |property: &str| -> Eval<Option<String>> {
            Ok(self
                .eval(&resource["Properties"][property])?
                .filter(|name| !name.is_null())
                .map(|name| scalar(&name)))
        };
        let fallback = format!("{stack_name}-{logical_id}");
        let (name, arn) = match kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                let name = named("FunctionName")?.unwrap_or(fallback);
                let arn = format!("arn:aws:lambda:{region}:{account}:function:{name}");
                (name, arn)
            }
            "AWS::SNS::Topic" => {
                let name = named("TopicName")?.unwrap_or(fallback);
                let arn = format!("arn:aws:sns:{region}:{account}:{name}");
                (arn.clone(), arn)
            }
            "AWS::Logs::LogGroup" => {
                let name = named("LogGroupName")?.unwrap_or(format!("/local/{fallback}"));
                let arn = format!("arn:aws:logs:{region}:{account}:log-group:{name}:*");
                (name, arn)
            }
            "AWS::IAM::ManagedPolicy" => {
                let arn = format!("arn:aws:iam::{account}:policy/{fallback}");
                (arn.clone(), arn)
            }
            "AWS::KMS::Key" => {
                let id = "0a1b2c3d-0000-4000-8000-local0000000".to_owned();
                let arn = format!("arn:aws:kms:{region}:{account}:key/{id}");
                (id, arn)
            }
            other => {
                let service = other.split("::").nth(1).unwrap_or("local").to_lowercase();
                let arn = format!("arn:aws:{service}:{region}:{account}:stand-in/{fallback}");
                (fallback, arn)
            }
        };
        Ok(match attribute {
            Some("Arn") => arn,
            _ => name,
        })
    }
}

fn scalar(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn to_json(value: &Yaml) -> Eval<Json> {
    Ok(match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(flag) => json!(flag),
        Yaml::Number(number) => number
            .as_i64()
            .map(|n| json!(n))
            .unwrap_or_else(|| json!(number.as_f64())),
        Yaml::String(text) => json!(text),
        Yaml::Sequence(items) => Json::Array(items.iter().map(to_json).collect::<Eval<_>>()?),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                out.insert(key.as_str().unwrap_or_default().to_owned(), to_json(value)?);
            }
            Json::Object(out)
        }
        Yaml::Tagged(tagged) => return Err(format!("unresolved intrinsic {}", tagged.tag)),
    })
}

#[cfg(test)]
mod tests;
