//! CloudFormation's read API for the stacks a test or the local run plays.
//!
//! The functions act only on requests that CloudFormation's own record confirms
//! (docs/design.md#genuine-requests), so everything that sends them requests must also answer
//! `DescribeStackResource` and `DescribeStacks` as CloudFormation would at that moment. moto's
//! CloudFormation cannot (it keeps no in-progress states for custom resources), so this is a small
//! in-memory record served over CloudFormation's query protocol on 127.0.0.1. Point the SDK at it
//! with `AWS_ENDPOINT_URL_CLOUDFORMATION` (or a client's `endpoint_url`).
//!
//! Besides the two reads the functions make, it answers what the nightly cleanup reads
//! (`ListStackResources`, `GetTemplate`, `DescribeStacks` without a name) and records
//! `DeleteStack` calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;

/// One resource of a stack, as CloudFormation records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRecord {
    pub resource_type: String,
    /// None until the resource's Create was answered.
    pub physical_id: Option<String>,
    /// `CREATE_IN_PROGRESS`, `UPDATE_COMPLETE`, …
    pub status: String,
}

/// One stack, as CloudFormation records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRecord {
    pub stack_id: String,
    pub status: String,
    pub resources: BTreeMap<String, ResourceRecord>,
    /// The template body `GetTemplate` returns.
    pub template_body: String,
    pub tags: Vec<(String, String)>,
    pub termination_protection: bool,
    pub created_at: OffsetDateTime,
    /// Set for a nested stack: its parent's and its root's ids.
    pub parent_id: Option<String>,
    pub root_id: Option<String>,
}

impl StackRecord {
    pub fn new(stack_id: &str, status: &str) -> Self {
        StackRecord {
            stack_id: stack_id.to_owned(),
            status: status.to_owned(),
            resources: BTreeMap::new(),
            template_body: "{}".to_owned(),
            tags: Vec::new(),
            termination_protection: false,
            created_at: OffsetDateTime::now_utc(),
            parent_id: None,
            root_id: None,
        }
    }

    /// The stack's name, from `arn:…:stack/<name>/<uuid>`.
    pub fn name(&self) -> &str {
        self.stack_id
            .split(":stack/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Record {
    stacks: BTreeMap<String, StackRecord>,
    /// Every action served, in order, as `Action StackName`.
    calls: Vec<String>,
    delete_requests: Vec<String>,
}

/// The CloudFormation record of the stacks being played, served on 127.0.0.1 until dropped.
pub struct LocalCloudFormation {
    pub endpoint: String,
    record: Arc<Mutex<Record>>,
    server: tokio::task::JoinHandle<()>,
}

impl LocalCloudFormation {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0").await
    }

    /// Listens at `address` (`127.0.0.1:9102`), where a function's environment points.
    pub async fn start_on(address: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let record = Arc::new(Mutex::new(Record::default()));
        let app = Router::new()
            .route("/", post(serve))
            .with_state(record.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "the local CloudFormation endpoint stopped");
            }
        });
        Ok(LocalCloudFormation {
            endpoint,
            record,
            server,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds or replaces a stack.
    pub fn put_stack(&self, stack: StackRecord) {
        self.lock().stacks.insert(stack.stack_id.clone(), stack);
    }

    /// A copy of a stack's record.
    pub fn stack(&self, stack_id: &str) -> Option<StackRecord> {
        self.lock().stacks.get(stack_id).cloned()
    }

    /// Changes a stack's record in place (it must exist).
    pub fn with_stack<T>(&self, stack_id: &str, change: impl FnOnce(&mut StackRecord) -> T) -> T {
        let mut record = self.lock();
        let stack = record
            .stacks
            .get_mut(stack_id)
            .unwrap_or_else(|| panic!("no stack {stack_id} is being played"));
        change(stack)
    }

    pub fn set_stack_status(&self, stack_id: &str, status: &str) {
        self.with_stack(stack_id, |stack| stack.status = status.to_owned());
    }

    /// Sets one resource's record, making the stack if needed.
    pub fn set_resource(&self, stack_id: &str, logical_id: &str, resource: ResourceRecord) {
        let mut record = self.lock();
        record
            .stacks
            .entry(stack_id.to_owned())
            .or_insert_with(|| StackRecord::new(stack_id, "CREATE_IN_PROGRESS"))
            .resources
            .insert(logical_id.to_owned(), resource);
    }

    /// The actions served so far, as `Action StackName`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The stacks `DeleteStack` was called for, in order.
    pub fn delete_requests(&self) -> Vec<String> {
        self.lock().delete_requests.clone()
    }

    /// Records what CloudFormation's record says while it sends `request`: the resource (and
    /// where the rules need it, the stack) in the matching in-progress state. A Delete of an id
    /// that is no longer the resource's current one is the clean-up after a replacement.
    pub fn play(&self, request: &Value) {
        let text = |key: &str| request[key].as_str().unwrap_or_default().to_owned();
        let (stack_id, logical_id) = (text("StackId"), text("LogicalResourceId"));
        let (request_type, physical_id) = (text("RequestType"), text("PhysicalResourceId"));
        let resource_type = text("ResourceType");
        let mut record = self.lock();
        let stack = record
            .stacks
            .entry(stack_id.clone())
            .or_insert_with(|| StackRecord::new(&stack_id, "CREATE_IN_PROGRESS"));
        let current = stack.resources.get(&logical_id).cloned();
        let (stack_status, resource) = match request_type.as_str() {
            "Create" => (
                if stack.status.starts_with("CREATE") {
                    "CREATE_IN_PROGRESS"
                } else {
                    "UPDATE_IN_PROGRESS"
                },
                Some(ResourceRecord {
                    resource_type,
                    physical_id: None,
                    status: "CREATE_IN_PROGRESS".into(),
                }),
            ),
            "Update" => (
                if stack.status.starts_with("UPDATE_ROLLBACK") {
                    "UPDATE_ROLLBACK_IN_PROGRESS"
                } else {
                    "UPDATE_IN_PROGRESS"
                },
                Some(ResourceRecord {
                    resource_type,
                    physical_id: Some(physical_id),
                    status: "UPDATE_IN_PROGRESS".into(),
                }),
            ),
            _ => match current {
                Some(current) if current.physical_id.as_deref() != Some(physical_id.as_str()) => {
                    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None)
                }
                _ => (
                    "DELETE_IN_PROGRESS",
                    Some(ResourceRecord {
                        resource_type,
                        physical_id: Some(physical_id),
                        status: "DELETE_IN_PROGRESS".into(),
                    }),
                ),
            },
        };
        stack.status = stack_status.to_owned();
        if let Some(resource) = resource {
            stack.resources.insert(logical_id, resource);
        }
    }

    /// Records the answer to a request [`LocalCloudFormation::play`] recorded: the resource's new
    /// id and its `*_COMPLETE` or `*_FAILED` state, and the stack's.
    pub fn record_answer(&self, request: &Value, answer: &Value) {
        let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
        let (stack_id, logical_id) = (text(request, "StackId"), text(request, "LogicalResourceId"));
        let request_type = text(request, "RequestType").to_ascii_uppercase();
        let succeeded = answer["Status"] == "SUCCESS";
        let mut record = self.lock();
        let Some(stack) = record.stacks.get_mut(&stack_id) else {
            return;
        };
        if stack.status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" {
            stack.status = "UPDATE_COMPLETE".into();
            return;
        }
        let outcome = if succeeded { "COMPLETE" } else { "FAILED" };
        stack.status = format!(
            "{}_{outcome}",
            if request_type == "DELETE" {
                "DELETE"
            } else if stack.status.starts_with("CREATE") {
                "CREATE"
            } else {
                "UPDATE"
            }
        );
        if let Some(resource) = stack.resources.get_mut(&logical_id) {
            resource.status = format!("{request_type}_{outcome}");
            let answered = text(answer, "PhysicalResourceId");
            if succeeded || request_type == "CREATE" {
                resource.physical_id = Some(answered).filter(|id| !id.is_empty());
            }
        }
    }
}

impl Drop for LocalCloudFormation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One query-protocol call: `Action=DescribeStackResource&StackName=…&…`.
async fn serve(State(record): State<Arc<Mutex<Record>>>, body: Bytes) -> Response {
    let params: BTreeMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |key: &str| params.get(key).map(String::as_str).unwrap_or_default();
    let action = param("Action").to_owned();
    let mut record = record.lock().unwrap_or_else(PoisonError::into_inner);
    record.calls.push(
        format!("{action} {}", param("StackName"))
            .trim_end()
            .to_owned(),
    );
    let answer = match action.as_str() {
        "DescribeStackResource" => describe_stack_resource(
            &record.stacks,
            param("StackName"),
            param("LogicalResourceId"),
        ),
        "DescribeStacks" => describe_stacks(&record.stacks, param("StackName")),
        "ListStackResources" => list_stack_resources(&record.stacks, param("StackName")),
        "GetTemplate" => get_template(&record.stacks, param("StackName")),
        "DeleteStack" => {
            let name = param("StackName").to_owned();
            let stack_id = find(&record.stacks, &name).map(|stack| stack.stack_id.clone());
            // Played as done at once: what deleting its resources takes is the player's business.
            if let Some(stack) = stack_id.as_ref().and_then(|id| record.stacks.get_mut(id)) {
                stack.status = "DELETE_COMPLETE".into();
            }
            record.delete_requests.push(stack_id.unwrap_or(name));
            Ok(String::new())
        }
        other => Err((
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("{other} is not served by the local CloudFormation endpoint"),
        )),
    };
    match answer {
        Ok(result) => xml_response(&action, &result),
        Err((status, code, message)) => error_response(status, code, &message),
    }
}

type Answer = Result<String, (StatusCode, &'static str, String)>;

/// A stack by its id (deleted ones too), or by name (live ones only), as CloudFormation finds it.
fn find<'a>(stacks: &'a BTreeMap<String, StackRecord>, name: &str) -> Option<&'a StackRecord> {
    if name.starts_with("arn:") {
        return stacks.get(name);
    }
    stacks
        .values()
        .find(|stack| stack.name() == name && stack.status != "DELETE_COMPLETE")
}

fn no_stack(name: &str) -> (StatusCode, &'static str, String) {
    (
        StatusCode::BAD_REQUEST,
        "ValidationError",
        format!("Stack with id {name} does not exist"),
    )
}

fn describe_stack_resource(
    stacks: &BTreeMap<String, StackRecord>,
    name: &str,
    logical_id: &str,
) -> Answer {
    let stack = find(stacks, name).ok_or_else(|| no_stack(name))?;
    let resource = stack.resources.get(logical_id).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "ValidationError",
            format!("Resource {logical_id} does not exist for stack {name}"),
        )
    })?;
    Ok(format!(
        "<StackResourceDetail>{}</StackResourceDetail>",
        resource_fields(stack, logical_id, resource)
    ))
}

fn describe_stacks(stacks: &BTreeMap<String, StackRecord>, name: &str) -> Answer {
    let chosen: Vec<&StackRecord> = if name.is_empty() {
        stacks
            .values()
            .filter(|stack| stack.status != "DELETE_COMPLETE")
            .collect()
    } else {
        vec![find(stacks, name).ok_or_else(|| no_stack(name))?]
    };
    let members: String = chosen.iter().map(|stack| stack_member(stack)).collect();
    Ok(format!("<Stacks>{members}</Stacks>"))
}

fn list_stack_resources(stacks: &BTreeMap<String, StackRecord>, name: &str) -> Answer {
    let stack = find(stacks, name).ok_or_else(|| no_stack(name))?;
    let members: String = stack
        .resources
        .iter()
        .map(|(logical_id, resource)| {
            format!(
                "<member>{}</member>",
                resource_fields(stack, logical_id, resource)
            )
        })
        .collect();
    Ok(format!(
        "<StackResourceSummaries>{members}</StackResourceSummaries>"
    ))
}

fn get_template(stacks: &BTreeMap<String, StackRecord>, name: &str) -> Answer {
    let stack = find(stacks, name).ok_or_else(|| no_stack(name))?;
    Ok(format!(
        "<TemplateBody>{}</TemplateBody>",
        escape(&stack.template_body)
    ))
}

fn resource_fields(stack: &StackRecord, logical_id: &str, resource: &ResourceRecord) -> String {
    let physical = resource
        .physical_id
        .as_deref()
        .map(|id| format!("<PhysicalResourceId>{}</PhysicalResourceId>", escape(id)))
        .unwrap_or_default();
    format!(
        "<StackId>{}</StackId><StackName>{}</StackName><LogicalResourceId>{}</LogicalResourceId>{physical}<ResourceType>{}</ResourceType><LastUpdatedTimestamp>{}</LastUpdatedTimestamp><ResourceStatus>{}</ResourceStatus>",
        escape(&stack.stack_id),
        escape(stack.name()),
        escape(logical_id),
        escape(&resource.resource_type),
        timestamp(OffsetDateTime::now_utc()),
        escape(&resource.status),
    )
}

fn stack_member(stack: &StackRecord) -> String {
    let tags: String = stack
        .tags
        .iter()
        .map(|(key, value)| {
            format!(
                "<member><Key>{}</Key><Value>{}</Value></member>",
                escape(key),
                escape(value)
            )
        })
        .collect();
    let nested = |tag: &str, id: &Option<String>| {
        id.as_deref()
            .map(|id| format!("<{tag}>{}</{tag}>", escape(id)))
            .unwrap_or_default()
    };
    format!(
        "<member><StackId>{}</StackId><StackName>{}</StackName><CreationTime>{}</CreationTime><StackStatus>{}</StackStatus><EnableTerminationProtection>{}</EnableTerminationProtection>{}{}<Tags>{tags}</Tags></member>",
        escape(&stack.stack_id),
        escape(stack.name()),
        timestamp(stack.created_at),
        escape(&stack.status),
        stack.termination_protection,
        nested("ParentId", &stack.parent_id),
        nested("RootId", &stack.root_id),
    )
}

fn timestamp(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn xml_response(action: &str, result: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></{action}Response>"
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>local</RequestId></ErrorResponse>",
        escape(message)
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
