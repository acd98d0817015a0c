//! Evaluating a template's values: the intrinsic functions (long and short forms), references
//! to parameters, pseudo parameters, conditions and resources, and the stand-ins for resources
//! a local run does not make.

use std::collections::BTreeSet;

use serde_json::{Map, Value as Json, json};
use serde_yaml_ng::Value as Yaml;

use super::{Eval, Pseudo, Scope, Template};

/// Names a Ref, GetAtt or Sub anywhere in `value` points at.
pub(super) fn references(value: &Yaml, out: &mut BTreeSet<String>) {
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
pub(super) fn intrinsic(value: &Yaml) -> Option<(String, &Yaml)> {
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

pub(super) fn sub_names(text: &str) -> Vec<String> {
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

pub(super) struct Evaluator<'a> {
    pub(super) template: &'a Template,
    pub(super) scope: &'a Scope,
    pub(super) pseudo: &'a Pseudo,
}

impl Evaluator<'_> {
    /// `None` is AWS::NoValue: the property is dropped.
    pub(super) fn eval(&self, value: &Yaml) -> Eval<Option<Json>> {
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

    pub(super) fn required(&self, value: &Yaml) -> Eval<Json> {
        self.eval(value)?
            .ok_or_else(|| "AWS::NoValue where a value is needed".into())
    }

    pub(super) fn boolean(&self, value: &Yaml) -> Eval<bool> {
        match self.required(value)? {
            Json::Bool(flag) => Ok(flag),
            Json::String(text) if text == "true" || text == "false" => Ok(text == "true"),
            other => Err(format!("{other} is not true or false")),
        }
    }

    pub(super) fn strings(&self, value: &Yaml) -> Eval<Vec<String>> {
        match self.required(value)? {
            Json::Array(items) => Ok(items.iter().map(scalar).collect()),
            other => Ok(vec![scalar(&other)]),
        }
    }

    /// Whether a resource's or output's Condition (if any) holds.
    pub(super) fn resource_condition(&self, resource: &Yaml) -> Eval<bool> {
        match resource["Condition"].as_str() {
            None => Ok(true),
            Some(name) => self.condition(name),
        }
    }

    pub(super) fn condition(&self, name: &str) -> Eval<bool> {
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

    pub(super) fn attribute(&self, resource: &str, attribute: &str) -> Eval<String> {
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

pub(super) fn scalar(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

pub(super) fn to_json(value: &Yaml) -> Eval<Json> {
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
