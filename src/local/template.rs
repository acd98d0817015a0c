//! A small interpreter for the custom resources of template.yaml: parameters, conditions, and
//! the intrinsics the template uses (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Split,
//! Fn::Not, Fn::Equals, AWS::NoValue). Anything else fails clearly, so the local run can never
//! silently differ from what `sam deploy` deploys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json, json};
use serde_yaml_ng::Value as Yaml;

/// The stack's pseudo parameters as the local run sees them.
pub struct Pseudo {
    pub stack_name: String,
    pub region: String,
    pub account: String,
}

pub struct Template {
    root: Yaml,
}

/// One custom resource, with the resources it needs first.
#[derive(Debug, Clone)]
pub struct CustomResource {
    pub logical_id: String,
    pub resource_type: String,
    pub depends_on: BTreeSet<String>,
}

/// What the evaluation knows: parameter values, and each custom resource's physical id and Data.
#[derive(Default, Clone)]
pub struct Scope {
    pub parameters: BTreeMap<String, Json>,
    pub physical_ids: BTreeMap<String, String>,
    pub data: BTreeMap<String, BTreeMap<String, String>>,
    /// Values for the template's other resources (topic, log group) as the local run fakes them.
    pub others: BTreeMap<String, String>,
}

impl Template {
    pub fn load(path: &std::path::Path) -> Self {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Self {
        Template {
            root: serde_yaml_ng::from_str(text).expect("template.yaml is YAML"),
        }
    }

    /// The parameters with their defaults, overridden by `values`.
    pub fn parameters(&self, values: &Map<String, Json>) -> BTreeMap<String, Json> {
        let mut parameters = BTreeMap::new();
        for (name, spec) in self.root["Parameters"].as_mapping().expect("Parameters") {
            let name = name.as_str().unwrap().to_owned();
            let value = match values.get(&name) {
                Some(value) => value.clone(),
                None => match &spec["Default"] {
                    Yaml::Null => panic!("parameter {name} has no default and no local value"),
                    default => to_json(default),
                },
            };
            let is_list = spec["Type"]
                .as_str()
                .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList");
            let value = match (is_list, value) {
                (true, Json::String(text)) => json!(
                    text.split(',')
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                ),
                (_, value) => value,
            };
            parameters.insert(name, value);
        }
        parameters
    }

    /// The custom resources in an order where each comes after what it needs.
    pub fn custom_resources_in_order(&self) -> Vec<CustomResource> {
        let resources = self.root["Resources"].as_mapping().unwrap();
        let customs: BTreeMap<String, &Yaml> = resources
            .iter()
            .filter(|(_, r)| {
                r["Type"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("Custom::")
            })
            .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
            .collect();
        let mut all = Vec::new();
        for (id, resource) in &customs {
            let mut needs = BTreeSet::new();
            references(&resource["Properties"], &mut needs);
            if let Some(depends) = resource["DependsOn"].as_sequence() {
                needs.extend(depends.iter().filter_map(|d| d.as_str().map(str::to_owned)));
            }
            needs.retain(|name| customs.contains_key(name));
            all.push(CustomResource {
                logical_id: id.clone(),
                resource_type: resource["Type"].as_str().unwrap().to_owned(),
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
            assert!(
                ordered.len() > before,
                "the custom resources depend on each other in a cycle"
            );
        }
        ordered
    }

    /// The resource's properties with every intrinsic resolved.
    pub fn properties(&self, logical_id: &str, scope: &Scope, pseudo: &Pseudo) -> Json {
        let properties = &self.root["Resources"][logical_id]["Properties"];
        let evaluator = Evaluator {
            template: self,
            scope,
            pseudo,
        };
        evaluator
            .eval(properties)
            .unwrap_or(Json::Object(Map::new()))
    }

    fn condition(&self, name: &str, evaluator: &Evaluator<'_>) -> bool {
        let condition = &self.root["Conditions"][name];
        assert!(!condition.is_null(), "unknown condition {name}");
        evaluator
            .eval(condition)
            .and_then(|value| value.as_bool())
            .unwrap_or_else(|| panic!("condition {name} is not a boolean"))
    }
}

/// Names a Ref or GetAtt anywhere in `value` points at.
fn references(value: &Yaml, out: &mut BTreeSet<String>) {
    match value {
        Yaml::Tagged(tagged) => {
            match (tagged.tag.to_string().as_str(), &tagged.value) {
                ("!Ref", Yaml::String(name)) => {
                    out.insert(name.clone());
                }
                ("!GetAtt", Yaml::String(path)) => {
                    out.insert(path.split('.').next().unwrap().to_owned());
                }
                ("!Sub", Yaml::String(text)) => {
                    for name in sub_names(text) {
                        out.insert(name.split('.').next().unwrap().to_owned());
                    }
                }
                _ => {}
            }
            references(&tagged.value, out);
        }
        Yaml::Sequence(items) => items.iter().for_each(|item| references(item, out)),
        Yaml::Mapping(map) => map.values().for_each(|item| references(item, out)),
        _ => {}
    }
}

fn sub_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("unclosed ${ in !Sub") + start;
        names.push(rest[start + 2..end].to_owned());
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
    fn eval(&self, value: &Yaml) -> Option<Json> {
        match value {
            Yaml::Tagged(tagged) => self.intrinsic(&tagged.tag.to_string(), &tagged.value),
            Yaml::Sequence(items) => Some(Json::Array(
                items.iter().filter_map(|item| self.eval(item)).collect(),
            )),
            Yaml::Mapping(map) => Some(Json::Object(
                map.iter()
                    .filter_map(|(key, item)| {
                        Some((key.as_str().unwrap().to_owned(), self.eval(item)?))
                    })
                    .collect(),
            )),
            other => Some(to_json(other)),
        }
    }

    fn intrinsic(&self, tag: &str, argument: &Yaml) -> Option<Json> {
        match tag {
            "!Ref" => self.reference(argument.as_str().expect("!Ref takes a name")),
            "!GetAtt" => {
                let path = argument.as_str().expect("!GetAtt takes Resource.Attribute");
                let (resource, attribute) = path.split_once('.').unwrap();
                Some(json!(self.attribute(resource, attribute)))
            }
            "!Sub" => {
                let text = argument
                    .as_str()
                    .expect("!Sub takes a string (the list form is not used)");
                let mut out = text.to_owned();
                for name in sub_names(text) {
                    let value = match name.split_once('.') {
                        Some((resource, attribute)) => self.attribute(resource, attribute),
                        None => scalar(&self.reference(&name).unwrap_or_default()),
                    };
                    out = out.replace(&format!("${{{name}}}"), &value);
                }
                Some(json!(out))
            }
            "!If" => {
                let items = argument.as_sequence().expect("!If takes a list");
                let condition = self.template.condition(items[0].as_str().unwrap(), self);
                self.eval(&items[if condition { 1 } else { 2 }])
            }
            "!Join" => {
                let items = argument.as_sequence().unwrap();
                let separator = items[0].as_str().unwrap();
                let parts = self.eval(&items[1])?;
                let parts: Vec<String> = parts.as_array().unwrap().iter().map(scalar).collect();
                Some(json!(parts.join(separator)))
            }
            "!Split" => {
                let items = argument.as_sequence().unwrap();
                let separator = items[0].as_str().unwrap();
                let text = scalar(&self.eval(&items[1])?);
                Some(json!(text.split(separator).collect::<Vec<_>>()))
            }
            "!Equals" => {
                let items = argument.as_sequence().unwrap();
                Some(json!(self.eval(&items[0]) == self.eval(&items[1])))
            }
            "!Not" => {
                let items = argument.as_sequence().unwrap();
                Some(json!(
                    !self.eval(&items[0]).and_then(|v| v.as_bool()).unwrap()
                ))
            }
            other => panic!("template.yaml uses {other}, which the local run does not support"),
        }
    }

    fn reference(&self, name: &str) -> Option<Json> {
        match name {
            "AWS::NoValue" => None,
            "AWS::StackName" => Some(json!(self.pseudo.stack_name)),
            "AWS::Region" => Some(json!(self.pseudo.region)),
            "AWS::AccountId" => Some(json!(self.pseudo.account)),
            "AWS::Partition" => Some(json!("aws")),
            _ => {
                if let Some(value) = self.scope.parameters.get(name) {
                    return Some(value.clone());
                }
                if let Some(id) = self.scope.physical_ids.get(name) {
                    return Some(json!(id));
                }
                if let Some(value) = self.scope.others.get(name) {
                    return Some(json!(value));
                }
                panic!("!Ref {name}: no parameter, custom resource or known resource of that name")
            }
        }
    }

    fn attribute(&self, resource: &str, attribute: &str) -> String {
        self.scope
            .data
            .get(resource)
            .and_then(|data| data.get(attribute))
            .cloned()
            .unwrap_or_else(|| panic!("!GetAtt {resource}.{attribute}: not in the resource's Data"))
    }
}

fn scalar(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn to_json(value: &Yaml) -> Json {
    match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(flag) => json!(flag),
        Yaml::Number(number) => number
            .as_i64()
            .map(|n| json!(n))
            .unwrap_or_else(|| json!(number.as_f64())),
        Yaml::String(text) => json!(text),
        Yaml::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), to_json(v)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => panic!("unresolved intrinsic {}", tagged.tag),
    }
}
