//! One command's world: the emulator (started, or a kept one found again), CloudFormation's read
//! API for the stacks played, the ResponseURL receiver and the five functions.

use std::path::{Path, PathBuf};

use ecs_private_auth::local::cloudformation::LocalCloudFormation;
use ecs_private_auth::local::emulator::{Address, Emulator};
use ecs_private_auth::local::provider::{Environment, FUNCTIONS, LocalProvider};
use ecs_private_auth::local::receiver::Receiver;
use ecs_private_auth::local::runner::{Event, Runner, Services, table_row};
use ecs_private_auth::local::template::{Pseudo, Template};
use ecs_private_auth::local::{ACCOUNT, REGION};

use crate::state::StateDir;

pub struct Session {
    pub emulator: Emulator,
    /// Whether this command started the emulator (else an earlier one kept it running).
    pub started_here: bool,
    pub cloudformation: LocalCloudFormation,
    pub receiver: Receiver,
    pub provider: LocalProvider,
    pub state: StateDir,
}

impl Session {
    pub async fn open(state: StateDir, binaries: &Path) -> Result<Self, String> {
        let (emulator, started_here) = match state.kept_emulator()? {
            Some(address) => match Emulator::attach(&address, &state.registry_dir()).await {
                Some(emulator) => (emulator, false),
                None => {
                    eprintln!("The kept emulator no longer answers; starting a new one.");
                    stop_processes(&address);
                    state.forget_emulator()?;
                    (start_emulator(&state).await?, true)
                }
            },
            None => {
                // Stacks saved without a kept emulator lived in one that has stopped.
                state.forget_emulator()?;
                (start_emulator(&state).await?, true)
            }
        };
        let cloudformation = LocalCloudFormation::start()
            .await
            .map_err(|err| format!("starting the local CloudFormation endpoint: {err}"))?;
        let receiver = Receiver::start()
            .await
            .map_err(|err| format!("starting the ResponseURL receiver: {err}"))?;
        let environment = Environment::local(
            &emulator.moto.endpoint,
            &cloudformation,
            &receiver,
            &emulator.boundary_arn,
        );
        let provider = LocalProvider::start(binaries, &environment)
            .await
            .map_err(|err| err.to_string())?;
        Ok(Session {
            emulator,
            started_here,
            cloudformation,
            receiver,
            provider,
            state,
        })
    }

    /// A runner for one stack of `template`, printing each event as a table row.
    pub fn runner<'a>(&'a self, template: &'a Template, stack_name: &str) -> Runner<'a> {
        Runner::new(
            template,
            Pseudo::new(stack_name, REGION, ACCOUNT),
            Services {
                provider: &self.provider,
                receiver: &self.receiver,
                cloudformation: &self.cloudformation,
            },
            |event: &Event| println!("{}", table_row(event)),
        )
    }

    /// Ends the command: the functions' logs are written under `.local/run/logs/`; the emulator
    /// is kept running when asked to (or when an earlier command kept it), else stopped.
    pub fn close(mut self, keep: bool) -> Result<(), String> {
        self.write_logs()?;
        if !self.started_here {
            // Kept by an earlier command, whose record (with the process ids) stays as it is.
            print_how_to_inspect(&self.emulator.address());
        } else if keep {
            let address = self.emulator.detach();
            self.state.keep_emulator(&address)?;
            print_how_to_inspect(&address);
        } else {
            self.state.forget_emulator()?;
        }
        Ok(())
    }

    /// Ends the command and stops the emulator, kept or not.
    pub fn close_and_stop(self) -> Result<(), String> {
        self.write_logs()?;
        if !self.started_here
            && let Some(kept) = self.state.kept_emulator()?
        {
            stop_processes(&kept);
        }
        // What this command started stops as `self.emulator` is dropped on return.
        self.state.forget_emulator()
    }

    fn write_logs(&self) -> Result<(), String> {
        let dir = self.state.logs_dir();
        std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
        for name in FUNCTIONS {
            let path = dir.join(format!("{name}.log"));
            std::fs::write(&path, self.provider.logs(name))
                .map_err(|err| format!("{}: {err}", path.display()))?;
        }
        Ok(())
    }
}

async fn start_emulator(state: &StateDir) -> Result<Emulator, String> {
    println!("Starting the emulator: moto and docker-registry on 127.0.0.1 …");
    // The registry's storage is rebuilt with the emulator: what it held lived in its run.
    let registry = state.registry_dir();
    let _ = std::fs::remove_dir_all(&registry);
    std::fs::create_dir_all(&registry).map_err(|err| format!("{}: {err}", registry.display()))?;
    Emulator::start(Some(&registry))
        .await
        .map_err(|err| err.to_string())
}

/// Stops the processes a kept emulator runs as — only those still running moto or the
/// registry: the ids come from a file, and an id may since belong to something else.
pub fn stop_processes(address: &Address) {
    for pid in &address.pids {
        if is_emulator_process(*pid) {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// Whether `pid` is a process (not a group, not "every process") whose command line is moto's
/// or the registry's.
fn is_emulator_process(pid: u32) -> bool {
    if pid < 2 || i32::try_from(pid).is_err() {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| {
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains("moto_server") || cmdline.contains("docker-registry")
        })
        .unwrap_or(false)
}

fn print_how_to_inspect(address: &Address) {
    println!(
        "\nThe emulator keeps running. Inspect it with the aws CLI:\n  \
         export AWS_ENDPOINT_URL={} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={REGION}\n  \
         aws ecs list-clusters\n\
         The registry is at http://{} (user robot; the password is in moto's SSM under /ecs-private-auth/<stack>/).\n\
         Stop both with: cargo run -p local -- stop",
        address.aws_endpoint, address.registry_host
    );
}

/// Where the function binaries are: next to this program unless told.
pub fn binaries_dir(given: Option<&PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = given {
        return Ok(dir.clone());
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned))
        .ok_or_else(|| "cannot tell where this program is; pass --binaries".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_moto_and_the_registry_are_ever_stopped() {
        assert!(!is_emulator_process(0), "0 is the process group");
        assert!(!is_emulator_process(1));
        assert!(
            !is_emulator_process(u32::MAX),
            "kill reads it as -1: everything"
        );
        assert!(!is_emulator_process(std::process::id()));
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(!is_emulator_process(other.id()));
        other.kill().unwrap();
        other.wait().unwrap();
    }
}
