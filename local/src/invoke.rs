//! `invoke`: one sample event, sent to a function running under `cargo lambda watch`, with what
//! the function needs around it — moto, CloudFormation's record of the request in flight, and a
//! receiver that prints the answer. The ports are the ones the function's env file names, so
//! the function and this command meet where `local/watch.env` says.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ecs_private_auth::local::cloudformation::LocalCloudFormation;
use ecs_private_auth::local::moto::Moto;
use ecs_private_auth::local::provider::carried_requests;
use ecs_private_auth::local::receiver::Receiver;
use serde_json::Value;

use crate::args::InvokeOptions;

/// How long the answers may take after the function returned.
const ANSWER_GRACE: Duration = Duration::from_secs(10);

pub async fn invoke(options: &InvokeOptions) -> Result<(), String> {
    let env = read_env_file(&options.env_file)?;
    let needed = |name: &str| {
        env.get(name)
            .cloned()
            .ok_or_else(|| format!("{}: {name} is not set", options.env_file.display()))
    };
    let moto_endpoint = needed("AWS_ENDPOINT_URL")?;
    let cloudformation_endpoint = needed("AWS_ENDPOINT_URL_CLOUDFORMATION")?;
    let response_prefix = needed("ALLOWED_RESPONSE_URL_PREFIXES")?;
    let event = read_event(&options.data_file)?;
    let requests = carried_requests(&event);
    if requests.is_empty() {
        return Err(format!(
            "{}: neither a CloudFormation request nor an SNS event carrying one",
            options.data_file.display()
        ));
    }
    for request in &requests {
        let url = request["ResponseURL"].as_str().unwrap_or_default();
        if !url.starts_with(&response_prefix) {
            return Err(format!(
                "{}: its ResponseURL is not under {response_prefix} (ALLOWED_RESPONSE_URL_PREFIXES in {}), so the function would drop it",
                options.data_file.display(),
                options.env_file.display()
            ));
        }
    }

    let _moto = match Moto::attach(&moto_endpoint).await {
        Some(moto) => moto,
        None => Moto::start_on(port_of(&moto_endpoint)?, &[])
            .await
            .map_err(|err| err.to_string())?,
    };
    let cloudformation = LocalCloudFormation::start_on(&host_port(&cloudformation_endpoint)?)
        .await
        .map_err(|err| format!("listening at {cloudformation_endpoint}: {err}"))?;
    let receiver = Receiver::start_on(&host_port(&response_prefix)?)
        .await
        .map_err(|err| format!("listening at {response_prefix}: {err}"))?;
    for request in &requests {
        cloudformation.play(request);
    }

    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        options.watch_url.trim_end_matches('/'),
        options.function
    );
    let result = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .map_err(|err| {
            format!(
                "invoking {url}: {err}. Is `cargo lambda watch --env-file {}` running?",
                options.env_file.display()
            )
        })?;
    let status = result.status();
    let body = result.text().await.unwrap_or_default();
    println!("{} returned (HTTP {status}):\n{body}\n", options.function);

    let answers = receiver
        .wait_for_accepted(requests.len(), ANSWER_GRACE)
        .await;
    for answer in &answers {
        let answer = answer.json();
        println!(
            "Answer for {}: {}\n  PhysicalResourceId: {}\n  Reason: {}\n  Data: {}",
            answer["LogicalResourceId"].as_str().unwrap_or("?"),
            answer["Status"].as_str().unwrap_or("?"),
            answer["PhysicalResourceId"].as_str().unwrap_or("-"),
            answer["Reason"].as_str().unwrap_or("-"),
            answer["Data"]
        );
    }
    if answers.len() < requests.len() {
        return Err(format!(
            "{} of {} request(s) got no answer; the function's log says why",
            requests.len() - answers.len(),
            requests.len()
        ));
    }
    Ok(())
}

/// `KEY=VALUE` lines; `#` starts a comment line.
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect())
}

fn read_event(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("{}: not JSON: {err}", path.display()))
}

/// `127.0.0.1:9102` from `http://127.0.0.1:9102/…`; only loopback is served.
fn host_port(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .ok_or_else(|| format!("{url}: the local run serves only http://127.0.0.1:<port>"))?;
    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if port.is_empty() {
        return Err(format!("{url}: no port"));
    }
    Ok(format!("127.0.0.1:{port}"))
}

fn port_of(url: &str) -> Result<u16, String> {
    host_port(url)?
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| format!("{url}: no port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_ports_are_served() {
        assert_eq!(
            host_port("http://127.0.0.1:9101/").unwrap(),
            "127.0.0.1:9101"
        );
        assert_eq!(port_of("http://127.0.0.1:9100").unwrap(), 9100);
        assert!(host_port("http://0.0.0.0:9101/").is_err());
        assert!(host_port("http://127.0.0.1:/").is_err());
    }
}
