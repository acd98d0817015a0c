//! A stack played the way CloudFormation plays it: each custom resource's request sent through
//! the provider after what it needs, CloudFormation's record kept as it would be at that moment,
//! and a failed Create or Update rolled back — the Deletes of what a Create made, the Updates back
//! to the old properties and the clean-up of what an Update replaced. Every step is an event, as
//! `sam deploy` prints them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::LocalError;
use super::cloudformation::{LocalCloudFormation, ResourceRecord, StackRecord};
use super::provider::{Delivery, LocalProvider};
use super::receiver::Receiver;
use super::template::{Output, Pseudo, Scope, Template};

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";
/// How long an answer may take to arrive after the function returned.
const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// One line of the events table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: OffsetDateTime,
    pub status: String,
    pub resource_type: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub reason: Option<String>,
}

/// One custom resource of a played stack, as the stack holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub resource_type: String,
    pub physical_id: String,
    pub data: BTreeMap<String, String>,
    /// The properties it was last created or updated with, as sent.
    pub properties: Value,
}

/// A played stack: what `status` shows and what `update` and `down` start from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub name: String,
    pub stack_id: String,
    pub status: String,
    /// The parameter values given (defaults are the template's).
    pub parameters: Map<String, Value>,
    /// In creation order.
    pub resources: Vec<(String, Resource)>,
    pub outputs: Vec<(String, String)>,
    /// The outputs' exports, by export name, for other stacks' `Fn::ImportValue`.
    #[serde(default)]
    pub exports: BTreeMap<String, String>,
}

impl Stack {
    pub fn resource(&self, logical_id: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|(id, _)| id == logical_id)
            .map(|(_, resource)| resource)
    }

    fn set(&mut self, logical_id: &str, resource: Resource) {
        match self.resources.iter_mut().find(|(id, _)| id == logical_id) {
            Some((_, held)) => *held = resource,
            None => self.resources.push((logical_id.to_owned(), resource)),
        }
    }

    fn remove(&mut self, logical_id: &str) {
        self.resources.retain(|(id, _)| id != logical_id);
    }
}

/// A resource's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub succeeded: bool,
    pub physical_id: String,
    pub data: BTreeMap<String, String>,
    pub reason: Option<String>,
}

/// What the runner sends requests through and keeps the record in.
pub struct Services<'a> {
    pub provider: &'a LocalProvider,
    pub receiver: &'a Receiver,
    pub cloudformation: &'a LocalCloudFormation,
}

/// Plays one template as one stack.
pub struct Runner<'a> {
    template: &'a Template,
    pseudo: Pseudo,
    services: Services<'a>,
    /// Exports of other stacks, for `Fn::ImportValue`.
    pub exports: BTreeMap<String, String>,
    on_event: Box<dyn FnMut(&Event) + Send + 'a>,
    counter: u32,
}

impl<'a> Runner<'a> {
    pub fn new(
        template: &'a Template,
        pseudo: Pseudo,
        services: Services<'a>,
        on_event: impl FnMut(&Event) + Send + 'a,
    ) -> Self {
        Runner {
            template,
            pseudo,
            services,
            exports: BTreeMap::new(),
            on_event: Box::new(on_event),
            counter: 0,
        }
    }

    /// Puts a stack an earlier command played back into CloudFormation's record, as it stood
    /// when that command ended, so that its resources' requests are confirmed again.
    pub fn resume(&mut self, stack: &Stack) {
        let mut record = StackRecord::new(&stack.stack_id, &stack.status);
        record.template_body = self.template.body().to_owned();
        self.services.cloudformation.put_stack(record);
        for (logical_id, resource) in &stack.resources {
            self.record_resource(stack, logical_id, resource, "CREATE_COMPLETE");
        }
    }

    /// The scope a stack's properties are evaluated in.
    fn scope(&self, stack: &Stack) -> Result<Scope, LocalError> {
        let mut scope = Scope {
            parameters: self.template.parameters(&stack.parameters)?,
            exports: self.exports.clone(),
            ..Scope::default()
        };
        for (logical_id, resource) in &stack.resources {
            scope
                .physical_ids
                .insert(logical_id.clone(), resource.physical_id.clone());
            scope.data.insert(logical_id.clone(), resource.data.clone());
        }
        Ok(scope)
    }

    /// Creates the stack. Parameters and rules are checked first, as CloudFormation does, and
    /// nothing is made when they fail; a failed resource rolls the whole stack back.
    pub async fn create(&mut self, parameters: Map<String, Value>) -> Result<Stack, LocalError> {
        let mut stack = Stack {
            name: self.pseudo.stack_name.clone(),
            stack_id: self.pseudo.stack_id.clone(),
            status: "CREATE_IN_PROGRESS".into(),
            parameters,
            resources: Vec::new(),
            outputs: Vec::new(),
            exports: BTreeMap::new(),
        };
        let scope = self.scope(&stack)?;
        self.template.check_rules(&scope, &self.pseudo)?;
        let order = self.template.custom_resources(&scope, &self.pseudo)?;
        let mut record = StackRecord::new(&stack.stack_id, "CREATE_IN_PROGRESS");
        record.template_body = self.template.body().to_owned();
        self.services.cloudformation.put_stack(record);
        self.stack_event(&mut stack, "CREATE_IN_PROGRESS", Some("User Initiated"));
        for resource in &order {
            let scope = self.scope(&stack)?;
            let properties =
                self.template
                    .properties(&resource.logical_id, &scope, &self.pseudo)?;
            let answer = self
                .send(
                    &stack,
                    "Create",
                    &resource.logical_id,
                    &properties,
                    None,
                    None,
                )
                .await?;
            if !answer.physical_id.is_empty() {
                stack.set(
                    &resource.logical_id,
                    Resource {
                        resource_type: resource.resource_type.clone(),
                        physical_id: answer.physical_id.clone(),
                        data: answer.data.clone(),
                        properties,
                    },
                );
            }
            if !answer.succeeded {
                let reason = format!(
                    "The following resource(s) failed to create: [{}]. Rollback requested by user.",
                    resource.logical_id
                );
                self.roll_back_create(&mut stack, &reason).await?;
                return Ok(stack);
            }
        }
        self.finish(&mut stack, "CREATE_COMPLETE")?;
        Ok(stack)
    }

    async fn roll_back_create(
        &mut self,
        stack: &mut Stack,
        reason: &str,
    ) -> Result<(), LocalError> {
        self.stack_event(stack, "ROLLBACK_IN_PROGRESS", Some(reason));
        let status = if self.delete_held(stack).await? {
            "ROLLBACK_COMPLETE"
        } else {
            "ROLLBACK_FAILED"
        };
        self.stack_event(stack, status, None);
        Ok(())
    }

    /// Updates the stack to new parameter values: changed resources are updated (or replaced and
    /// the old one deleted in the clean-up), new ones created, dropped ones deleted. A failure
    /// rolls the update back.
    pub async fn update(
        &mut self,
        stack: &mut Stack,
        parameters: Map<String, Value>,
    ) -> Result<(), LocalError> {
        let before = stack.clone();
        let mut wanted = stack.clone();
        wanted.parameters = parameters;
        let scope = self.scope(&wanted)?;
        self.template.check_rules(&scope, &self.pseudo)?;
        let order = self.template.custom_resources(&scope, &self.pseudo)?;
        stack.parameters = wanted.parameters;
        self.stack_event(stack, "UPDATE_IN_PROGRESS", Some("User Initiated"));
        let mut replaced: Vec<(String, Resource)> = Vec::new();
        let mut failure = None;
        for resource in &order {
            let scope = self.scope(stack)?;
            let properties =
                self.template
                    .properties(&resource.logical_id, &scope, &self.pseudo)?;
            let held = stack.resource(&resource.logical_id).cloned();
            let answer = match &held {
                Some(held) if held.properties == properties => continue,
                Some(held) => {
                    self.send(
                        stack,
                        "Update",
                        &resource.logical_id,
                        &properties,
                        Some(&held.physical_id),
                        Some(&held.properties),
                    )
                    .await?
                }
                None => {
                    self.send(
                        stack,
                        "Create",
                        &resource.logical_id,
                        &properties,
                        None,
                        None,
                    )
                    .await?
                }
            };
            if answer.succeeded
                && let Some(held) = &held
                && held.physical_id != answer.physical_id
            {
                replaced.push((resource.logical_id.clone(), held.clone()));
            }
            // A Create that failed still leaves what it answered, for the clean-up.
            let keep = answer.succeeded || (held.is_none() && !answer.physical_id.is_empty());
            if keep {
                stack.set(
                    &resource.logical_id,
                    Resource {
                        resource_type: resource.resource_type.clone(),
                        physical_id: answer.physical_id,
                        data: answer.data,
                        properties,
                    },
                );
            }
            if !answer.succeeded {
                failure = Some(resource.logical_id.clone());
                break;
            }
        }
        if let Some(failed) = failure {
            return self.roll_back_update(stack, &before, &failed).await;
        }
        let dropped: Vec<(String, Resource)> = stack
            .resources
            .iter()
            .rev()
            .filter(|(id, _)| !order.iter().any(|r| &r.logical_id == id))
            .cloned()
            .collect();
        self.stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
        for (logical_id, old) in replaced.iter().rev().chain(dropped.iter()) {
            self.send(
                stack,
                "Delete",
                logical_id,
                &old.properties,
                Some(&old.physical_id),
                None,
            )
            .await?;
        }
        for (logical_id, _) in &dropped {
            stack.remove(logical_id);
        }
        self.finish(stack, "UPDATE_COMPLETE")
    }

    /// Puts every resource back as `before` held it: in-place changes are updated back (the one
    /// that failed too), replacements and new resources are deleted in the clean-up.
    async fn roll_back_update(
        &mut self,
        stack: &mut Stack,
        before: &Stack,
        failed: &str,
    ) -> Result<(), LocalError> {
        let reason = format!("The following resource(s) failed to update: [{failed}].");
        self.stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", Some(&reason));
        let mut clean_up: Vec<(String, Resource)> = Vec::new();
        let touched: Vec<(String, Resource)> = stack.resources.iter().rev().cloned().collect();
        for (logical_id, now) in touched {
            match before.resource(&logical_id) {
                None => clean_up.push((logical_id.clone(), now.clone())),
                Some(old) if old.physical_id != now.physical_id => {
                    clean_up.push((logical_id.clone(), now.clone()));
                }
                Some(old) if old.properties != now.properties || logical_id == failed => {
                    self.send(
                        stack,
                        "Update",
                        &logical_id,
                        &old.properties,
                        Some(&now.physical_id),
                        Some(&now.properties),
                    )
                    .await?;
                }
                Some(_) => {}
            }
        }
        // CloudFormation's record holds the old resources again before it cleans up.
        let mut rolled_back = before.clone();
        rolled_back.status = stack.status.clone();
        *stack = rolled_back;
        for (logical_id, resource) in &stack.resources {
            self.record_resource(stack, logical_id, resource, "UPDATE_COMPLETE");
        }
        self.stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None);
        for (logical_id, new) in clean_up {
            self.send(
                stack,
                "Delete",
                &logical_id,
                &new.properties,
                Some(&new.physical_id),
                None,
            )
            .await?;
        }
        self.stack_event(stack, "UPDATE_ROLLBACK_COMPLETE", None);
        Ok(())
    }

    /// Deletes every resource, dependents first.
    pub async fn delete(&mut self, stack: &mut Stack) -> Result<(), LocalError> {
        self.stack_event(stack, "DELETE_IN_PROGRESS", Some("User Initiated"));
        let status = if self.delete_held(stack).await? {
            "DELETE_COMPLETE"
        } else {
            "DELETE_FAILED"
        };
        stack.outputs.clear();
        for name in std::mem::take(&mut stack.exports).into_keys() {
            self.exports.remove(&name);
        }
        self.stack_event(stack, status, None);
        Ok(())
    }

    /// Sends a Delete for every resource the stack holds, dependents first; true when every
    /// one succeeded (what failed stays held).
    async fn delete_held(&mut self, stack: &mut Stack) -> Result<bool, LocalError> {
        let held: Vec<(String, Resource)> = stack.resources.iter().rev().cloned().collect();
        for (logical_id, resource) in held {
            let answer = self
                .send(
                    stack,
                    "Delete",
                    &logical_id,
                    &resource.properties,
                    Some(&resource.physical_id),
                    None,
                )
                .await?;
            if answer.succeeded {
                stack.remove(&logical_id);
            }
        }
        Ok(stack.resources.is_empty())
    }

    fn finish(&mut self, stack: &mut Stack, status: &str) -> Result<(), LocalError> {
        let scope = self.scope(stack)?;
        let outputs: Vec<Output> = self.template.outputs(&scope, &self.pseudo)?;
        stack.exports = outputs
            .iter()
            .filter_map(|output| Some((output.export.clone()?, output.value.clone())))
            .collect();
        self.exports.extend(stack.exports.clone());
        stack.outputs = outputs
            .into_iter()
            .map(|output| (output.key, output.value))
            .collect();
        self.stack_event(stack, status, None);
        Ok(())
    }

    /// The request CloudFormation would send, through the provider, answered at the receiver;
    /// CloudFormation's record shows it in progress meanwhile and its outcome after.
    async fn send(
        &mut self,
        stack: &Stack,
        request_type: &str,
        logical_id: &str,
        properties: &Value,
        physical_id: Option<&str>,
        old: Option<&Value>,
    ) -> Result<Answer, LocalError> {
        self.counter += 1;
        let resource_type = self
            .template
            .resource_type(logical_id)
            .or_else(|| stack.resource(logical_id).map(|r| r.resource_type.as_str()))
            .unwrap_or_default()
            .to_owned();
        let name = format!("{}-{logical_id}-{}", stack.name, self.counter);
        let properties = cloudformation_strings(properties);
        let mut request = json!({
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "RequestId": format!("{:08x}-0000-4000-8000-{:012x}", self.counter, self.counter),
            "ResponseURL": self.services.receiver.url(&name),
            "StackId": stack.stack_id,
            "ResourceType": resource_type,
            "LogicalResourceId": logical_id,
            "ResourceProperties": properties,
        });
        if let Some(id) = physical_id {
            request["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = old {
            request["OldResourceProperties"] = cloudformation_strings(old);
        }
        let in_progress = format!("{}_IN_PROGRESS", request_type.to_ascii_uppercase());
        let cleaning_up = stack.status.ends_with("_CLEANUP_IN_PROGRESS");
        if !cleaning_up {
            self.services.cloudformation.set_resource(
                &stack.stack_id,
                logical_id,
                ResourceRecord {
                    resource_type: resource_type.clone(),
                    physical_id: physical_id.map(str::to_owned),
                    status: in_progress.clone(),
                },
            );
        }
        self.event(&in_progress, &resource_type, logical_id, physical_id, None);
        let delivery = self.services.provider.deliver(&request).await?;
        let answer = self.answer_for(&name, &delivery).await;
        let outcome = if answer.succeeded {
            "COMPLETE"
        } else {
            "FAILED"
        };
        let done = format!("{}_{outcome}", request_type.to_ascii_uppercase());
        if !cleaning_up {
            let recorded_id = if answer.physical_id.is_empty() {
                physical_id.map(str::to_owned)
            } else {
                Some(answer.physical_id.clone())
            };
            self.services.cloudformation.set_resource(
                &stack.stack_id,
                logical_id,
                ResourceRecord {
                    resource_type: resource_type.clone(),
                    physical_id: recorded_id,
                    status: done.clone(),
                },
            );
        }
        let shown_id = Some(answer.physical_id.as_str()).filter(|id| !id.is_empty());
        self.event(
            &done,
            &resource_type,
            logical_id,
            shown_id,
            answer.reason.as_deref(),
        );
        Ok(answer)
    }

    /// The answer at the ResponseURL; none at all fails as CloudFormation would after the
    /// resource's ServiceTimeout.
    async fn answer_for(&self, name: &str, delivery: &Delivery) -> Answer {
        let deadline = tokio::time::Instant::now() + ANSWER_GRACE;
        loop {
            if let Some(received) = self.services.receiver.accepted_for(name).pop() {
                let body = received.json();
                let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
                let data = body["Data"]
                    .as_object()
                    .map(|data| {
                        data.iter()
                            .map(|(key, value)| {
                                (key.clone(), value.as_str().unwrap_or_default().to_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Answer {
                    succeeded: body["Status"] == "SUCCESS",
                    physical_id: text("PhysicalResourceId"),
                    data,
                    reason: Some(text("Reason")).filter(|reason| !reason.is_empty()),
                };
            }
            if tokio::time::Instant::now() >= deadline {
                let reason = match delivery {
                    Delivery::FailedToOnFailure { error } => format!(
                        "the function failed ({}) and no answer arrived",
                        error["errorType"].as_str().unwrap_or("an error")
                    ),
                    Delivery::Returned(_) => {
                        "no answer arrived (a wait handed over to a new invocation cannot go on in the local run)".to_owned()
                    }
                };
                return Answer {
                    succeeded: false,
                    physical_id: String::new(),
                    data: BTreeMap::new(),
                    reason: Some(reason),
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn record_resource(&self, stack: &Stack, logical_id: &str, resource: &Resource, status: &str) {
        self.services.cloudformation.set_resource(
            &stack.stack_id,
            logical_id,
            ResourceRecord {
                resource_type: resource.resource_type.clone(),
                physical_id: Some(resource.physical_id.clone()),
                status: status.to_owned(),
            },
        );
    }

    fn stack_event(&mut self, stack: &mut Stack, status: &str, reason: Option<&str>) {
        stack.status = status.to_owned();
        let (stack_id, name) = (stack.stack_id.clone(), stack.name.clone());
        self.services
            .cloudformation
            .set_stack_status(&stack_id, status);
        self.event(status, STACK_TYPE, &name, Some(&stack_id), reason);
    }

    fn event(
        &mut self,
        status: &str,
        resource_type: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        reason: Option<&str>,
    ) {
        let event = Event {
            at: OffsetDateTime::now_utc(),
            status: status.to_owned(),
            resource_type: resource_type.to_owned(),
            logical_id: logical_id.to_owned(),
            physical_id: physical_id.map(str::to_owned),
            reason: reason.map(str::to_owned),
        };
        (self.on_event)(&event);
    }
}

/// CloudFormation sends every scalar property as a string.
pub fn cloudformation_strings(value: &Value) -> Value {
    match value {
        Value::Number(number) => json!(number.to_string()),
        Value::Bool(flag) => json!(flag.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(cloudformation_strings).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), cloudformation_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

mod presentation;

pub use presentation::{fill_placeholders, parameters_from_file, table_header, table_row};
