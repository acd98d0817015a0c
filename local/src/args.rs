//! The command line, parsed by hand: five commands and a handful of options.

use std::path::PathBuf;

pub const USAGE: &str = "\
Usage: cargo run -p local -- <command> [options]

Commands:
  up        create a stack (starts the emulator unless one is kept running)
  update    update a kept stack with changed parameters
  down      delete a kept stack (stops a kept emulator once no stack is left, unless --keep)
  status    show the kept emulator and its stacks
  stop      stop a kept emulator and forget its stacks
  demo      the whole lab: up, update to image tag 1.1, down, then the nightly cleanup
  invoke FUNCTION --data-file EVENT
            send a sample event to FUNCTION under `cargo lambda watch --env-file
            local/watch.env`, with moto, CloudFormation's record of the request and a
            receiver for its answer where that file says (--env-file, --watch-url)

Options:
  --stack-name NAME       the stack (default: lab)
  --template FILE         the template to play (default: template.yaml)
  --parameters FILE       parameter values as a JSON object; {{registry}}, {{subnet}},
                          {{security_group}}, {{registry_password}} and {{stack}} are filled in. For update, values
                          not given keep their previous value. May be repeated.
                          (default for up: local/parameters/lab.json with template.yaml)
  --provider-stack NAME   export <NAME>-ServiceToken for stacks that import the provider's
                          ServiceToken (default: ecs-private-auth)
  --keep                  leave the emulator running afterwards, to inspect it or run
                          update / down later
  --binaries DIR          where the function binaries are (default: next to this program)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Up(Options),
    Update(Options),
    Down(Options),
    Status,
    Stop,
    Demo(Options),
    Invoke(InvokeOptions),
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOptions {
    pub function: String,
    pub data_file: PathBuf,
    pub env_file: PathBuf,
    /// Where `cargo lambda watch` serves Lambda's Invoke API.
    pub watch_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub stack_name: String,
    pub template: Option<PathBuf>,
    pub parameters: Vec<PathBuf>,
    pub provider_stack: String,
    pub keep: bool,
    pub binaries: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stack_name: "lab".into(),
            template: None,
            parameters: Vec::new(),
            provider_stack: "ecs-private-auth".into(),
            keep: false,
            binaries: None,
        }
    }
}

pub fn parse(mut words: impl Iterator<Item = String>) -> Result<Command, String> {
    let Some(command) = words.next() else {
        return Ok(Command::Help);
    };
    if command == "invoke" {
        return parse_invoke(words);
    }
    let mut options = Options::default();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--stack-name" => options.stack_name = value_of(&mut words, "--stack-name")?,
            "--template" => options.template = Some(value_of(&mut words, "--template")?.into()),
            "--parameters" => options
                .parameters
                .push(value_of(&mut words, "--parameters")?.into()),
            "--provider-stack" => {
                options.provider_stack = value_of(&mut words, "--provider-stack")?
            }
            "--binaries" => options.binaries = Some(value_of(&mut words, "--binaries")?.into()),
            "--keep" => options.keep = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    check_stack_name(&options.stack_name)?;
    Ok(match command.as_str() {
        "up" => Command::Up(options),
        "update" => Command::Update(options),
        "down" => Command::Down(options),
        "status" => Command::Status,
        "stop" => Command::Stop,
        "demo" => Command::Demo(options),
        "help" | "--help" | "-h" => Command::Help,
        other => return Err(format!("unknown command {other}")),
    })
}

fn parse_invoke(mut words: impl Iterator<Item = String>) -> Result<Command, String> {
    let function = words.next().filter(|word| !word.starts_with("--")).ok_or(
        "invoke needs a function: on-create, on-update, on-delete, on-failure or nightly-cleanup",
    )?;
    let mut data_file = None;
    let mut env_file = PathBuf::from("local/watch.env");
    let mut watch_url = "http://127.0.0.1:9000".to_owned();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--data-file" => data_file = Some(value_of(&mut words, "--data-file")?.into()),
            "--env-file" => env_file = value_of(&mut words, "--env-file")?.into(),
            "--watch-url" => watch_url = value_of(&mut words, "--watch-url")?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Command::Invoke(InvokeOptions {
        function,
        data_file: data_file.ok_or("invoke needs --data-file EVENT (see events/)")?,
        env_file,
        watch_url,
    }))
}

/// The value that follows option `name`.
fn value_of(words: &mut impl Iterator<Item = String>, name: &str) -> Result<String, String> {
    words
        .next()
        .filter(|value| !value.starts_with("--"))
        .ok_or_else(|| format!("{name} needs a value"))
}

/// CloudFormation's rule for a stack name, which also keeps it safe as a file name.
fn check_stack_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "--stack-name {name:?}: a stack name starts with a letter and holds only letters, digits and hyphens (at most 128)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Command, String> {
        parse(words.iter().map(|word| word.to_string()))
    }

    #[test]
    fn options_follow_the_command() {
        let command = parse_words(&[
            "update",
            "--stack-name",
            "web",
            "--parameters",
            "a.json",
            "--parameters",
            "b.json",
            "--keep",
        ])
        .unwrap();
        let Command::Update(options) = command else {
            panic!("{command:?}")
        };
        assert_eq!(options.stack_name, "web");
        assert_eq!(
            options.parameters,
            [PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        assert!(options.keep);
        assert_eq!(options.provider_stack, "ecs-private-auth");
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            parse_words(&["up", "--template"]).unwrap_err(),
            "--template needs a value"
        );
        assert_eq!(
            parse_words(&["up", "--force"]).unwrap_err(),
            "unknown option --force"
        );
        assert_eq!(
            parse_words(&["deploy"]).unwrap_err(),
            "unknown command deploy"
        );
        assert!(
            parse_words(&["up", "--stack-name", "../etc"])
                .unwrap_err()
                .contains("starts with a letter")
        );
    }
}
