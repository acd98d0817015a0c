//! What outlives one command, under `.local/run/`: where a kept emulator is, the stacks played on
//! it, the registry's storage and each function's log of the last command.

use std::path::{Path, PathBuf};

use ecs_private_auth::local::emulator::Address;
use ecs_private_auth::local::runner::Stack;
use serde::{Deserialize, Serialize};

/// A stack as a later command needs it: the template it was played from, and the stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedStack {
    pub template: PathBuf,
    pub provider_stack: String,
    pub stack: Stack,
}

pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: PathBuf) -> Self {
        StateDir { root }
    }

    pub fn registry_dir(&self) -> PathBuf {
        self.root.join("registry")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    fn emulator_file(&self) -> PathBuf {
        self.root.join("emulator.json")
    }

    fn stacks_dir(&self) -> PathBuf {
        self.root.join("stacks")
    }

    fn stack_file(&self, name: &str) -> PathBuf {
        self.stacks_dir().join(format!("{name}.json"))
    }

    pub fn kept_emulator(&self) -> Result<Option<Address>, String> {
        read_json(&self.emulator_file())
    }

    pub fn keep_emulator(&self, address: &Address) -> Result<(), String> {
        write_json(&self.emulator_file(), address)
    }

    /// Forgets the emulator and every stack played on it (they lived only in it).
    pub fn forget_emulator(&self) -> Result<(), String> {
        remove(&self.emulator_file())?;
        match std::fs::remove_dir_all(self.stacks_dir()) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("removing {}: {err}", self.stacks_dir().display()))
            }
            _ => Ok(()),
        }
    }

    pub fn stack(&self, name: &str) -> Result<Option<SavedStack>, String> {
        read_json(&self.stack_file(name))
    }

    pub fn save_stack(&self, saved: &SavedStack) -> Result<(), String> {
        write_json(&self.stack_file(&saved.stack.name), saved)
    }

    pub fn forget_stack(&self, name: &str) -> Result<(), String> {
        remove(&self.stack_file(name))
    }

    pub fn stacks(&self) -> Result<Vec<SavedStack>, String> {
        let entries = match std::fs::read_dir(self.stacks_dir()) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(format!("reading {}: {err}", self.stacks_dir().display())),
        };
        let mut stacks = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|err| format!("reading {}: {err}", self.stacks_dir().display()))?
                .path();
            if let Some(saved) = read_json(&path)? {
                stacks.push(saved);
            }
        }
        stacks.sort_by(|a: &SavedStack, b| a.stack.name.cmp(&b.stack.name));
        Ok(stacks)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
            format!(
                "{} is not what this version wrote ({err}); remove it",
                path.display()
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("reading {}: {err}", path.display())),
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        // Written aside and renamed, so an interrupted command never leaves half a file.
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, path)
    };
    write().map_err(|err| format!("writing {}: {err}", path.display()))
}

fn remove(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("removing {}: {err}", path.display()))
        }
        _ => Ok(()),
    }
}
