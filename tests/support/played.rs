//! A stack played by the runner (src/local/runner.rs) on the embedded emulator, with the real
//! function binaries: what the lifecycle and the examples' tests share.

use std::path::Path;
use std::sync::{Arc, Mutex};

use ecs_private_auth::local::cloudformation::LocalCloudFormation;
use ecs_private_auth::local::emulator::Emulator;
use ecs_private_auth::local::provider::{Environment, LocalProvider};
use ecs_private_auth::local::receiver::Receiver;
use ecs_private_auth::local::runner::{
    Event, Runner, Services, Stack, parameters_from_file, table_header, table_row,
};
use ecs_private_auth::local::template::{Pseudo, Template};
use serde_json::{Map, Value};

use super::{ACCOUNT, REGION, function_binary};

pub const STACK_NAME: &str = "lab";

/// The five custom resources of the lab (and of each example), in the order they are made.
pub const MADE_IN_ORDER: [&str; 5] = [
    "Cluster",
    "RegistryCredentials",
    "ExecutionRole",
    "TaskDefinition",
    "Service",
];

/// The logical ids a stack holds, in the order they were made.
pub fn logical_ids(stack: &Stack) -> Vec<&str> {
    stack.resources.iter().map(|(id, _)| id.as_str()).collect()
}

/// Everything a played stack needs, started for one test.
pub struct World {
    pub emulator: Emulator,
    pub cloudformation: LocalCloudFormation,
    pub receiver: Receiver,
    pub provider: LocalProvider,
    pub template: Template,
    pub clients: ecs_private_auth::aws::Clients,
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl World {
    /// Everything started for playing `template` (a path under the workspace) as a stack named
    /// `STACK_NAME`.
    pub async fn start(template: &str) -> Self {
        let emulator = Emulator::start(None).await.unwrap();
        emulator.put_registry_password(STACK_NAME).await.unwrap();
        let cloudformation = LocalCloudFormation::start().await.unwrap();
        let receiver = Receiver::start().await.unwrap();
        let binaries = function_binary("on-create").parent().unwrap().to_owned();
        let environment = Environment::local(
            &emulator.moto.endpoint,
            &cloudformation,
            &receiver,
            &emulator.boundary_arn,
        );
        let provider = LocalProvider::start(&binaries, &environment).await.unwrap();
        let clients = ecs_private_auth::aws::Clients::new(&emulator.config);
        let template = Template::load(&root().join(template)).unwrap();
        eprintln!("\n{}", table_header());
        World {
            emulator,
            cloudformation,
            receiver,
            provider,
            template,
            clients,
            events: Arc::default(),
        }
    }

    pub fn runner(&self) -> Runner<'_> {
        let events = self.events.clone();
        Runner::new(
            &self.template,
            Pseudo::new(STACK_NAME, REGION, ACCOUNT),
            Services {
                provider: &self.provider,
                receiver: &self.receiver,
                cloudformation: &self.cloudformation,
            },
            move |event: &Event| {
                eprintln!("{}", table_row(event));
                events.lock().unwrap().push(event.clone());
            },
        )
    }

    /// The values of parameter `files` (paths under the workspace), later ones on top.
    pub fn parameters(&self, files: &[&str]) -> Map<String, Value> {
        let mut placeholders = self.emulator.placeholders();
        placeholders.insert("stack", STACK_NAME.to_owned());
        let mut values = Map::new();
        for file in files {
            values.extend(parameters_from_file(&root().join(file), &placeholders).unwrap());
        }
        values
    }

    /// `(status, logical id)` of every event so far, in order.
    pub fn timeline(&self) -> Vec<(String, String)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|event| (event.status.clone(), event.logical_id.clone()))
            .collect()
    }

    pub async fn password_in(&self, secret: &str) -> String {
        let value = self
            .clients
            .secrets
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .unwrap();
        let value: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
        value["password"].as_str().unwrap().to_owned()
    }

    /// Everything of ours still in moto.
    pub async fn left_over(&self) -> Vec<String> {
        self.emulator.leftovers().await.unwrap()
    }
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The physical id of `logical_id` in `stack`.
pub fn id(stack: &Stack, logical_id: &str) -> String {
    stack
        .resource(logical_id)
        .unwrap_or_else(|| panic!("the stack holds no {logical_id}"))
        .physical_id
        .clone()
}
