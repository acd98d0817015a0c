//! The functions' costs: a benchmark, not a test. With the release binaries under the Lambda
//! Runtime API emulator and moto on loopback it prints, and writes to target/bench/lifecycle.json:
//! - per function, the init time (process start → first poll for an invocation) as median, min
//!   and max over BENCH_COLD_STARTS cold starts (default 20), and the peak RSS;
//! - the lab's whole lifecycle (template.yaml: create, update to image tag 1.1, delete) played by
//!   the local runner, cold (fresh processes) and warm (the same processes again, median, min
//!   and max of BENCH_WARM_ROUNDS rounds, default 5);
//! - per request: its duration and the AWS calls it made by operation, counted at the emulator
//!   (CloudFormation's read calls at the local CloudFormation endpoint);
//! - the size of each function's deployment zip (the binary as `bootstrap`, deflated).
//!
//! `make bench` runs it.

#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ecs_private_auth::local::cloudformation::LocalCloudFormation;
use ecs_private_auth::local::emulator::Emulator;
use ecs_private_auth::local::provider::{Environment, FUNCTIONS, LocalProvider};
use ecs_private_auth::local::receiver::Receiver;
use ecs_private_auth::local::runner::{Event, Runner, Services, parameters_from_file};
use ecs_private_auth::local::template::{Pseudo, Template};
use serde_json::{Value, json};
use support::counting_proxy::CountingProxy;
use support::played::root;
use support::runtime_api::{FunctionProcess, RuntimeApi};
use support::{ACCOUNT, REGION, function_binary};

/// One request of a played lifecycle, with what it cost.
#[derive(Debug, Clone, serde::Serialize)]
struct RequestCost {
    request: String,
    resource_type: String,
    logical_id: String,
    millis: f64,
    calls: BTreeMap<String, u64>,
}

#[tokio::main]
async fn main() {
    let cold_starts: usize = std::env::var("BENCH_COLD_STARTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let binaries = function_binary("on-create").parent().unwrap().to_owned();
    let emulator = Emulator::start(None).await.unwrap();
    let proxy = CountingProxy::start(&emulator.moto.endpoint).await;

    println!(
        "\n== init: process start → first poll, {cold_starts} cold starts each (release build)"
    );
    println!(
        "  {:<16} {:>9} {:>9} {:>9}",
        "function", "median", "min", "max"
    );
    let mut init = BTreeMap::new();
    for name in FUNCTIONS {
        let times =
            cold_start_times(&function_binary(name), name, &proxy.endpoint, cold_starts).await;
        let figures = spread(&times);
        let ms = |key: &str| figures[key].as_f64().unwrap_or_default();
        println!(
            "  {name:<16} {:>6.2} ms {:>6.2} ms {:>6.2} ms",
            ms("median"),
            ms("min"),
            ms("max")
        );
        init.insert(name, figures);
    }

    let template = Template::load(&root().join("template.yaml")).unwrap();
    let mut lifecycles = BTreeMap::new();
    let mut requests = Vec::new();
    let cloudformation = LocalCloudFormation::start().await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    let mut environment = Environment::local(
        &proxy.endpoint,
        &cloudformation,
        &receiver,
        &emulator.boundary_arn,
    );
    environment.extra = vec![("RUST_LOG".into(), "warn".into())];
    let provider = LocalProvider::start(&binaries, &environment).await.unwrap();
    // Cold once (fresh processes), then warm BENCH_WARM_ROUNDS times: one lifecycle's time is
    // mostly moto's and varies by tens of percent from run to run, so warm is a spread.
    let warm_rounds: usize = std::env::var("BENCH_WARM_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let mut warm_walls = Vec::new();
    let mut warm_played = String::new();
    for round in 0..=warm_rounds {
        let stack_name = format!("bench-{round}");
        emulator.put_registry_password(&stack_name).await.unwrap();
        let costs = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let played = play_lifecycle(
            &template,
            &stack_name,
            &emulator,
            Services {
                provider: &provider,
                receiver: &receiver,
                cloudformation: &cloudformation,
            },
            &proxy,
            costs.clone(),
        )
        .await;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        requests = costs.lock().unwrap().clone();
        if round == 0 {
            lifecycles.insert(
                "cold",
                json!({"millis": millis, "requests": requests.len(), "stacks": played}),
            );
        } else {
            warm_walls.push(millis);
            warm_played = played;
        }
    }
    lifecycles.insert(
        "warm",
        json!({"millis": spread(&warm_walls), "rounds": warm_rounds, "requests": requests.len(), "stacks": warm_played}),
    );
    let rss: BTreeMap<&str, Option<u64>> = provider.peak_rss_kib().into_iter().collect();
    println!(
        "\n== the lab's lifecycle (create, update to 1.1, delete), local runner, CloudFormation verification included"
    );
    let cold = &lifecycles["cold"];
    println!(
        "  cold  {:>8.1} ms for {} requests",
        cold["millis"].as_f64().unwrap_or_default(),
        cold["requests"]
    );
    let warm = &lifecycles["warm"];
    let ms = |key: &str| warm["millis"][key].as_f64().unwrap_or_default();
    println!(
        "  warm  {:>8.1} ms for {} requests (median of {warm_rounds}; min {:.1}, max {:.1})",
        ms("median"),
        warm["requests"],
        ms("min"),
        ms("max")
    );
    println!("\n== peak RSS after every lifecycle");
    for (name, kib) in &rss {
        println!(
            "  {name:<16} {:>6} KiB",
            kib.map_or("?".into(), |kib| kib.to_string())
        );
    }
    println!("\n== per request (the last warm round): duration and AWS calls by operation");
    for cost in &requests {
        let total: u64 = cost.calls.values().sum();
        println!(
            "  {:<7} {:<28} {:<20} {:>7.1} ms  {total:>2} calls",
            cost.request, cost.resource_type, cost.logical_id, cost.millis
        );
        for (operation, count) in &cost.calls {
            println!("      {operation:<48} {count:>2}");
        }
    }

    println!("\n== deployment zip (the release binary as bootstrap, zip -9)");
    let mut zips = BTreeMap::new();
    for name in FUNCTIONS {
        let binary = function_binary(name);
        let binary_bytes = std::fs::metadata(&binary).unwrap().len();
        let zip_bytes = zipped_size(&binary);
        println!(
            "  {name:<16} binary {:>5.1} MB  zip {:>5.1} MB",
            binary_bytes as f64 / 1e6,
            zip_bytes as f64 / 1e6
        );
        zips.insert(
            name,
            json!({"binaryBytes": binary_bytes, "zipBytes": zip_bytes}),
        );
    }

    let figures = json!({
        "coldStarts": cold_starts,
        "initMillis": init,
        "peakRssKib": rss,
        "lifecycle": lifecycles,
        "requests": requests,
        "deployment": zips,
    });
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("lifecycle.json"),
        serde_json::to_string_pretty(&figures).unwrap(),
    )
    .unwrap();
    println!("\nwritten to target/bench/lifecycle.json");
}

/// How long each of `count` fresh processes of `binary` took from spawn to its first poll.
async fn cold_start_times(binary: &Path, name: &str, endpoint: &str, count: usize) -> Vec<f64> {
    let mut times = Vec::new();
    for _ in 0..count {
        let runtime = RuntimeApi::start().await.unwrap();
        let process = FunctionProcess::start(
            binary,
            &runtime,
            name,
            &[("AWS_ENDPOINT_URL", endpoint), ("RUST_LOG", "warn")],
        )
        .unwrap();
        let polled = runtime
            .first_poll(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{name} never polled: {}", process.logs()));
        times.push((polled - process.started_at).as_secs_f64() * 1000.0);
        process.stop().await;
    }
    times
}

fn spread(times: &[f64]) -> Value {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    json!({
        "median": sorted[sorted.len() / 2],
        "min": sorted[0],
        "max": sorted[sorted.len() - 1],
    })
}

/// Creates, updates and deletes the lab as `stack_name`, recording each request's cost.
async fn play_lifecycle(
    template: &Template,
    stack_name: &str,
    emulator: &Emulator,
    services: Services<'_>,
    proxy: &CountingProxy,
    costs: Arc<Mutex<Vec<RequestCost>>>,
) -> String {
    let cloudformation = services.cloudformation;
    let counts = move || {
        let mut counts = proxy.counts();
        for call in cloudformation.calls() {
            let action = call.split(' ').next().unwrap_or_default();
            *counts
                .entry(format!("cloudformation:{action}"))
                .or_default() += 1;
        }
        counts
    };
    let mut started: Option<(Instant, BTreeMap<String, u64>)> = None;
    let mut runner = Runner::new(
        template,
        Pseudo::new(stack_name, REGION, ACCOUNT),
        services,
        move |event: &Event| {
            if event.resource_type == "AWS::CloudFormation::Stack" {
                return;
            }
            if event.status.ends_with("_IN_PROGRESS") {
                started = Some((Instant::now(), counts()));
            } else if let Some((at, before)) = started.take() {
                let after = counts();
                let calls = after
                    .iter()
                    .map(|(operation, n)| {
                        (operation.clone(), n - before.get(operation).unwrap_or(&0))
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                let request = event.status.split('_').next().unwrap_or_default();
                costs.lock().unwrap().push(RequestCost {
                    request: request.to_ascii_lowercase(),
                    resource_type: event.resource_type.clone(),
                    logical_id: event.logical_id.clone(),
                    millis: at.elapsed().as_secs_f64() * 1000.0,
                    calls,
                });
            }
        },
    );
    let mut placeholders = emulator.placeholders();
    placeholders.insert("stack", stack_name.to_owned());
    let parameters = |files: &[&str]| {
        let mut values = serde_json::Map::new();
        for file in files {
            values.extend(parameters_from_file(&root().join(file), &placeholders).unwrap());
        }
        values
    };
    let lab = "local/parameters/lab.json";
    let mut stack = runner.create(parameters(&[lab])).await.unwrap();
    assert_eq!(stack.status, "CREATE_COMPLETE");
    runner
        .update(
            &mut stack,
            parameters(&[lab, "local/parameters/lab-update.json"]),
        )
        .await
        .unwrap();
    assert_eq!(stack.status, "UPDATE_COMPLETE");
    runner.delete(&mut stack).await.unwrap();
    assert_eq!(stack.status, "DELETE_COMPLETE");
    stack.status
}

/// The size of a zip holding `binary` as `bootstrap`, as Lambda's deployment package.
fn zipped_size(binary: &Path) -> u64 {
    let name = binary.file_name().unwrap().to_string_lossy();
    let dir = root().join("target/bench/zip").join(name.as_ref());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(binary, dir.join("bootstrap")).unwrap();
    let status = std::process::Command::new("zip")
        .current_dir(&dir)
        .args(["-9", "-q", "package.zip", "bootstrap"])
        .status()
        .expect("zip (Debian package zip) is installed");
    assert!(status.success());
    std::fs::metadata(dir.join("package.zip")).unwrap().len()
}
