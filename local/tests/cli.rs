//! The local runner as a user runs it: the real `local` binary in a folder of its own, playing
//! the repository's template.yaml on the embedded emulator with the real function binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ecs_private_auth::local::free_port;
use ecs_private_auth::local::runtime_api::{FunctionProcess, RuntimeApi};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the local crate sits in the workspace")
}

/// The folder the function binaries were built into, beside this binary.
fn binaries() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_local"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A user's folder: the runner keeps its state in `.local/run` under it.
struct Folder(tempfile::TempDir);

impl Folder {
    fn new() -> Self {
        Folder(tempfile::tempdir().unwrap())
    }

    fn run(&self, args: &[&str]) -> (Output, String) {
        let template = workspace().join("template.yaml");
        let mut command = Command::new(env!("CARGO_BIN_EXE_local"));
        command.current_dir(self.0.path()).args(args);
        if !matches!(args[0], "status" | "stop") {
            command
                .arg("--template")
                .arg(&template)
                .arg("--binaries")
                .arg(binaries());
        }
        let output = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output, text)
    }

    fn kept_pids(&self) -> Vec<u32> {
        let file = self.0.path().join(".local/run/emulator.json");
        let Ok(text) = std::fs::read_to_string(file) else {
            return Vec::new();
        };
        let address: serde_json::Value = serde_json::from_str(&text).unwrap();
        address["pids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pid| pid.as_u64().unwrap() as u32)
            .collect()
    }
}

impl Drop for Folder {
    /// A failed test must not leave a kept emulator running.
    fn drop(&mut self) {
        for pid in self.kept_pids() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// Running, not a zombie waiting to be reaped.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| !status.lines().any(|line| line.starts_with("State:\tZ")))
        .unwrap_or(false)
}

#[test]
fn the_demo_creates_updates_deletes_and_cleans_up_leaving_nothing() {
    let folder = Folder::new();

    let (output, text) = folder.run(&["demo"]);

    assert!(output.status.success(), "{text}");
    let order = [
        "== up",
        "CREATE_COMPLETE                              AWS::CloudFormation::Stack",
        "== update",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "task-definition/lab-web:2",
        "== down",
        "DELETE_COMPLETE                              AWS::CloudFormation::Stack",
        "== nightly cleanup",
        "== what is left in the emulator\n  nothing",
    ];
    let mut from = 0;
    for step in order {
        let at = text[from..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} after byte {from}:\n{text}"));
        from += at + step.len();
    }
    assert!(
        folder.kept_pids().is_empty(),
        "without --keep the emulator stops"
    );
}

#[test]
fn a_kept_stack_is_shown_updated_rolled_back_and_taken_down_across_commands() {
    let folder = Folder::new();

    let (output, text) = folder.run(&["up", "--keep", "--stack-name", "web"]);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:"),
        "{text}"
    );
    let pids = folder.kept_pids();
    assert_eq!(pids.len(), 2, "moto and the registry are kept");
    assert!(pids.iter().all(|pid| is_running(*pid)));

    let (_, status) = folder.run(&["status"]);
    assert!(
        status.contains("Stack web (CREATE_COMPLETE)")
            && status.contains("task-definition/web-web:1"),
        "{status}"
    );
    let (output, text) = folder.run(&["up", "--stack-name", "web"]);
    assert!(!output.status.success());
    assert!(text.contains("stack web already exists"), "{text}");

    // An image the registry does not hold: the update fails and is rolled back.
    let missing = folder.0.path().join("missing-tag.json");
    std::fs::write(&missing, r#"{"Image": "{{registry}}/lab/hello:9.9"}"#).unwrap();
    let (output, text) = folder.run(&[
        "update",
        "--stack-name",
        "web",
        "--parameters",
        missing.to_str().unwrap(),
    ]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("UPDATE_ROLLBACK_COMPLETE ") && text.contains("lab/hello:9.9"),
        "{text}"
    );
    let (_, status) = folder.run(&["status"]);
    assert!(
        status.contains("Stack web (UPDATE_ROLLBACK_COMPLETE)")
            && status.contains("task-definition/web-web:1"),
        "the stack is as it was: {status}"
    );
    assert_eq!(folder.kept_pids(), pids, "the same emulator throughout");

    let (output, text) = folder.run(&["down", "--stack-name", "web"]);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("the emulator has stopped"), "{text}");
    let stopped = || pids.iter().all(|pid| !is_running(*pid));
    for _ in 0..100 {
        if stopped() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let states: Vec<String> = pids
        .iter()
        .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default())
        .map(|status| status.lines().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(stopped(), "moto and the registry stopped: {states:?}");
    let (_, status) = folder.run(&["status"]);
    assert!(status.contains("No emulator is kept running"), "{status}");
}

#[test]
fn commands_on_a_stack_that_is_not_there_say_how_to_make_it() {
    let folder = Folder::new();
    let (output, text) = folder.run(&["down", "--stack-name", "web"]);
    assert!(!output.status.success());
    assert!(
        text.contains("no emulator is kept running, so no stack web exists")
            && text.contains("up --keep --stack-name web"),
        "{text}"
    );
    let (output, text) = folder.run(&["deploy"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text.contains("unknown command deploy") && text.contains("Usage:"));
}

/// Stands in for `cargo lambda watch`: Lambda's Invoke API in front of a Runtime API that hands
/// the function cargo lambda's placeholder ARN.
async fn watch(runtime: std::sync::Arc<RuntimeApi>) -> String {
    use axum::extract::{Path as UrlPath, State};
    let app = axum::Router::new()
        .route(
            "/2015-03-31/functions/{name}/invocations",
            axum::routing::post(
                |State(runtime): State<std::sync::Arc<RuntimeApi>>,
                 UrlPath(_name): UrlPath<String>,
                 body: String| async move {
                    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
                    runtime
                        .call("function-arn", payload, Duration::from_secs(30))
                        .await
                        .response()
                        .to_string()
                },
            ),
        )
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sample_event_is_answered_by_a_function_under_cargo_lambda_watch() {
    let folder = Folder::new();
    let port = || free_port().unwrap().to_string();
    let (moto, cloudformation, receiver) = (port(), port(), port());
    // local/watch.env, on ports free for this test.
    let shipped = std::fs::read_to_string(workspace().join("local/watch.env")).unwrap();
    let env_text = shipped
        .replace("127.0.0.1:9100", &format!("127.0.0.1:{moto}"))
        .replace("127.0.0.1:9102", &format!("127.0.0.1:{cloudformation}"))
        .replace("127.0.0.1:9101", &format!("127.0.0.1:{receiver}"));
    let env_file = folder.0.path().join("watch.env");
    std::fs::write(&env_file, &env_text).unwrap();
    let event = std::fs::read_to_string(workspace().join("events/fargate-cluster/create.json"))
        .unwrap()
        .replace("127.0.0.1:9101", &format!("127.0.0.1:{receiver}"));
    let event_file = folder.0.path().join("create.json");
    std::fs::write(&event_file, event).unwrap();

    let env: Vec<(String, String)> = env_text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let runtime = std::sync::Arc::new(RuntimeApi::start().await.unwrap());
    let function =
        FunctionProcess::start(&binaries().join("on-create"), &runtime, "on-create", &env).unwrap();
    let watch_url = watch(runtime.clone()).await;

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_local"))
        .current_dir(folder.0.path())
        .args(["invoke", "on-create", "--data-file"])
        .arg(&event_file)
        .arg("--env-file")
        .arg(&env_file)
        .args(["--watch-url", &watch_url])
        .output()
        .await
        .unwrap();

    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let logs = function.stop().await;
    assert!(output.status.success(), "{text}\n{logs}");
    assert!(
        text.contains("Answer for Cluster: SUCCESS")
            && text.contains("arn:aws:ecs:us-east-1:123456789012:cluster/"),
        "{text}\n{logs}"
    );
}
