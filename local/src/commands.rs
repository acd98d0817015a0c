//! The commands: each opens a session, plays the stack with the runner, saves what a later
//! command needs and closes the session as asked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ecs_private_auth::local::emulator::state_dir;
use ecs_private_auth::local::runner::{Stack, parameters_from_file, table_header};
use ecs_private_auth::local::template::Template;
use ecs_private_auth::local::{ACCOUNT, REGION};
use serde_json::{Map, Value, json};

use crate::args::{Command, Options};
use crate::session::{Session, binaries_dir, stop_processes};
use crate::state::{SavedStack, StateDir};

const DEFAULT_TEMPLATE: &str = "template.yaml";
/// The lab's parameters, beside template.yaml.
const LAB_PARAMETERS: &str = "local/parameters/lab.json";
const LAB_UPDATE_PARAMETERS: &str = "local/parameters/lab-update.json";

/// A file of the lab's, found beside the template.
fn beside(template_path: &Path, file: &str) -> PathBuf {
    template_path.parent().unwrap_or(Path::new(".")).join(file)
}

pub async fn run(command: Command) -> Result<(), String> {
    let state = StateDir::new(state_dir(Path::new(".")));
    match command {
        Command::Up(options) => up(state, &options).await,
        Command::Update(options) => update(state, &options).await,
        Command::Down(options) => down(state, &options).await,
        Command::Status => status(&state),
        Command::Stop => stop(&state),
        Command::Demo(options) => demo(state, &options).await,
        Command::Invoke(options) => crate::invoke::invoke(&options).await,
        Command::Help => Ok(()),
    }
}

/// What `up` and `demo` start from: no stack of that name yet, the template, a session.
async fn open_new_stack(
    state: StateDir,
    options: &Options,
) -> Result<(PathBuf, Template, Session), String> {
    refuse_existing_stack(&state, &options.stack_name)?;
    let template_path = options
        .template
        .clone()
        .unwrap_or_else(|| DEFAULT_TEMPLATE.into());
    let template = load_template(&template_path)?;
    let session = Session::open(state, &binaries_dir(options.binaries.as_ref())?).await?;
    Ok((template_path, template, session))
}

async fn up(state: StateDir, options: &Options) -> Result<(), String> {
    let (template_path, template, session) = open_new_stack(state, options).await?;
    let stack = create(&session, &template, &template_path, options).await?;
    session.close(options.keep)?;
    expect_status(&stack, "CREATE_COMPLETE")
}

async fn update(state: StateDir, options: &Options) -> Result<(), String> {
    let saved = kept_stack(&state, &options.stack_name)?;
    let template_path = options.template.clone().unwrap_or(saved.template.clone());
    let template = load_template(&template_path)?;
    let session = Session::open(state, &binaries_dir(options.binaries.as_ref())?).await?;
    let stack = apply_update(&session, &template, saved, &options.parameters).await?;
    session.close(true)?;
    expect_status(&stack, "UPDATE_COMPLETE")
}

async fn down(state: StateDir, options: &Options) -> Result<(), String> {
    let saved = kept_stack(&state, &options.stack_name)?;
    let template = load_template(&saved.template)?;
    let session = Session::open(state, &binaries_dir(options.binaries.as_ref())?).await?;
    let stack = delete(&session, &template, saved).await?;
    if session.state.stacks()?.is_empty() && !options.keep {
        session.close_and_stop()?;
        println!("\nNo stack is left: the emulator has stopped.");
    } else {
        session.close(true)?;
    }
    expect_status(&stack, "DELETE_COMPLETE")
}

fn status(state: &StateDir) -> Result<(), String> {
    let Some(address) = state.kept_emulator()? else {
        println!("No emulator is kept running (start one with: cargo run -p local -- up --keep).");
        return Ok(());
    };
    println!("Emulator: AWS_ENDPOINT_URL={}", address.aws_endpoint);
    println!("Registry: http://{}", address.registry_host);
    let stacks = state.stacks()?;
    if stacks.is_empty() {
        println!("\nNo stack.");
    }
    for saved in stacks {
        let stack = &saved.stack;
        println!(
            "\nStack {} ({}) from {}",
            stack.name,
            stack.status,
            saved.template.display()
        );
        for (logical_id, resource) in &stack.resources {
            println!(
                "  {logical_id:<22} {:<28} {}",
                resource.resource_type, resource.physical_id
            );
        }
        print_outputs(stack);
    }
    Ok(())
}

fn stop(state: &StateDir) -> Result<(), String> {
    match state.kept_emulator()? {
        Some(address) => {
            stop_processes(&address);
            state.forget_emulator()?;
            println!("Stopped the emulator and forgot its stacks.");
        }
        None => println!("No emulator is kept running."),
    }
    Ok(())
}

/// The whole lab in one command: up, an update to the next image tag, down, and the nightly
/// cleanup in dry-run and for real. Fails naming the step that did not end as it should.
async fn demo(state: StateDir, options: &Options) -> Result<(), String> {
    let (template_path, template, session) = open_new_stack(state, options).await?;

    println!("\n== up: create the stack");
    let stack = create(&session, &template, &template_path, options).await?;
    expect_status(&stack, "CREATE_COMPLETE")?;

    println!("\n== update: the image moves to tag 1.1");
    let saved = saved_stack(&session.state, &options.stack_name)?;
    let update = beside(&template_path, LAB_UPDATE_PARAMETERS);
    let stack = apply_update(&session, &template, saved, &[update]).await?;
    expect_status(&stack, "UPDATE_COMPLETE")?;

    println!("\n== down: delete the stack");
    let saved = saved_stack(&session.state, &options.stack_name)?;
    let stack = delete(&session, &template, saved).await?;
    expect_status(&stack, "DELETE_COMPLETE")?;

    println!("\n== nightly cleanup");
    for (label, payload) in [
        ("dry run", json!({"dryRun": true})),
        ("real run", json!({"source": "schedule"})),
    ] {
        let report = invoke_cleanup(&session, payload).await?;
        let counts = &report["counts"];
        println!(
            "  {label:<9} {} candidate(s), {} deleted, {} failed, {} skipped",
            counts["candidates"], counts["deleted"], counts["failed"], counts["skipped"]
        );
    }

    println!("\n== what is left in the emulator");
    let left = session
        .emulator
        .leftovers()
        .await
        .map_err(|err| err.to_string())?;
    if left.is_empty() {
        println!("  nothing");
    } else {
        for item in &left {
            println!("  {item}");
        }
    }
    session.close(options.keep)?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("{} resource(s) were left behind", left.len()))
    }
}

async fn create(
    session: &Session,
    template: &Template,
    template_path: &Path,
    options: &Options,
) -> Result<Stack, String> {
    let name = &options.stack_name;
    // Where the lab's parameters say the stack reads the registry password.
    session
        .emulator
        .put_registry_password(name)
        .await
        .map_err(|err| err.to_string())?;
    let mut files = options.parameters.clone();
    let lab_parameters = beside(template_path, LAB_PARAMETERS);
    let is_the_lab = template_path.file_name() == Some(DEFAULT_TEMPLATE.as_ref());
    if files.is_empty() && is_the_lab && lab_parameters.exists() {
        files.push(lab_parameters);
    }
    let parameters = read_parameters(session, name, &files)?;
    let mut runner = session.runner(template, name);
    runner.exports = exports(&session.state, &options.provider_stack)?;
    println!("{}", table_header());
    let stack = runner
        .create(parameters)
        .await
        .map_err(|err| err.to_string())?;
    print_outputs(&stack);
    // A stack rolled back holds nothing: like CloudFormation's, it can only be created again.
    if stack.status == "CREATE_COMPLETE" {
        session.state.save_stack(&SavedStack {
            template: template_path.to_owned(),
            provider_stack: options.provider_stack.clone(),
            stack: stack.clone(),
        })?;
    }
    Ok(stack)
}

async fn apply_update(
    session: &Session,
    template: &Template,
    saved: SavedStack,
    files: &[PathBuf],
) -> Result<Stack, String> {
    let mut stack = saved.stack.clone();
    let mut parameters = stack.parameters.clone();
    parameters.extend(read_parameters(session, &stack.name, files)?);
    let mut runner = session.runner(template, &stack.name);
    runner.resume(&stack);
    runner.exports = exports(&session.state, &saved.provider_stack)?;
    println!("{}", table_header());
    runner
        .update(&mut stack, parameters)
        .await
        .map_err(|err| err.to_string())?;
    print_outputs(&stack);
    session.state.save_stack(&SavedStack {
        stack: stack.clone(),
        ..saved
    })?;
    Ok(stack)
}

async fn delete(
    session: &Session,
    template: &Template,
    saved: SavedStack,
) -> Result<Stack, String> {
    let mut stack = saved.stack.clone();
    let mut runner = session.runner(template, &stack.name);
    runner.resume(&stack);
    println!("{}", table_header());
    runner
        .delete(&mut stack)
        .await
        .map_err(|err| err.to_string())?;
    if stack.status == "DELETE_COMPLETE" {
        session.state.forget_stack(&stack.name)?;
    } else {
        session.state.save_stack(&SavedStack {
            stack: stack.clone(),
            ..saved
        })?;
    }
    Ok(stack)
}

async fn invoke_cleanup(session: &Session, payload: Value) -> Result<Value, String> {
    match session.provider.invoke("nightly-cleanup", payload).await {
        Ok(Some(result)) => Ok(result.response()),
        Ok(None) => Err("nightly-cleanup gave no result in time".into()),
        Err(err) => Err(err.to_string()),
    }
}

fn read_parameters(
    session: &Session,
    stack_name: &str,
    files: &[PathBuf],
) -> Result<Map<String, Value>, String> {
    let mut placeholders = session.emulator.placeholders();
    placeholders.insert("stack", stack_name.to_owned());
    let mut parameters = Map::new();
    for file in files {
        parameters
            .extend(parameters_from_file(file, &placeholders).map_err(|err| err.to_string())?);
    }
    Ok(parameters)
}

/// Every export of the stacks played on this emulator, and the provider's ServiceToken under the
/// name a provider stack of `provider_stack` exports it.
fn exports(state: &StateDir, provider_stack: &str) -> Result<BTreeMap<String, String>, String> {
    let mut exports = BTreeMap::from([(
        format!("{provider_stack}-ServiceToken"),
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:{provider_stack}-RequestTopic"),
    )]);
    for saved in state.stacks()? {
        exports.extend(saved.stack.exports);
    }
    Ok(exports)
}

fn load_template(path: &Path) -> Result<Template, String> {
    Template::load(path).map_err(|err| format!("{}: {err}", path.display()))
}

fn kept_stack(state: &StateDir, name: &str) -> Result<SavedStack, String> {
    if state.kept_emulator()?.is_none() {
        return Err(format!(
            "no emulator is kept running, so no stack {name} exists; create it with: cargo run -p local -- up --keep --stack-name {name}"
        ));
    }
    saved_stack(state, name)
}

fn saved_stack(state: &StateDir, name: &str) -> Result<SavedStack, String> {
    state.stack(name)?.ok_or_else(|| {
        format!("no stack {name} on the kept emulator (see: cargo run -p local -- status)")
    })
}

fn refuse_existing_stack(state: &StateDir, name: &str) -> Result<(), String> {
    if state.kept_emulator()?.is_some() && state.stack(name)?.is_some() {
        return Err(format!(
            "stack {name} already exists on the kept emulator; update it, take it down, or choose another --stack-name"
        ));
    }
    Ok(())
}

fn expect_status(stack: &Stack, wanted: &str) -> Result<(), String> {
    if stack.status == wanted {
        Ok(())
    } else {
        Err(format!(
            "stack {} ended {} (not {wanted}); the functions' logs are in .local/run/logs/",
            stack.name, stack.status
        ))
    }
}

fn print_outputs(stack: &Stack) {
    if stack.outputs.is_empty() {
        return;
    }
    let rule = "-".repeat(118);
    println!("{rule}\nOutputs\n{rule}");
    for (key, value) in &stack.outputs {
        println!("{key:<28} {value}");
    }
    println!("{rule}");
}
