//! `cargo run -p local -- <command>`: plays CloudFormation for template.yaml, or any template of
//! the five types, on this machine — the embedded emulator (moto on loopback and the Debian
//! docker-registry), the real function binaries behind the Lambda Runtime API, and an events
//! table as `sam deploy` prints it. docs/local-run.md tells the whole story.

mod args;
mod commands;
mod invoke;
mod session;
mod state;

use std::process::ExitCode;

use args::Command;

#[tokio::main]
async fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    if matches!(command, Command::Help) {
        println!("{}", args::USAGE);
        return ExitCode::SUCCESS;
    }
    // Dropping the command's future on Ctrl-C drops what it started: the function processes,
    // and moto and the registry unless an earlier command left them running.
    tokio::select! {
        outcome = commands::run(command) => match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("\nError: {error}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\nInterrupted: stopping what this command started.");
            ExitCode::from(130)
        }
    }
}
