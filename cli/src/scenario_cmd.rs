//! `orchid-bpmn test SCENARIO.json...`: runs process scenarios (see
//! `engine::scenario`), one per file, each against its own in-memory engine
//! with a virtual clock. The files a scenario names are read here, relative
//! to the scenario file.
//!
//! Prints one line per scenario and the closing line `N passed, N failed`;
//! exits 0 only when every scenario passed, 1 otherwise, 2 on usage errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use engine::scenario::{self, Scenario, ScenarioReport};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Scenario files (JSON), one scenario each.
    #[arg(required = true, value_name = "SCENARIO.json")]
    files: Vec<PathBuf>,
}

/// Reads a file a scenario names, relative to the scenario's folder.
fn load_relative(dir: &Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    let bytes = crate::input::read_bounded(&path)?;
    bpmn_models::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one scenario file; `Err` carries the failure message.
fn run_file(path: &Path) -> Result<ScenarioReport, String> {
    let text = crate::input::read_bounded_text(path)?;
    let scenario = Scenario::from_json(&text).map_err(|e| e.to_string())?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(scenario::run_with_loader(&scenario, |name| {
        load_relative(dir, name)
    }))
}

/// Indents the continuation lines of a multi-line message.
fn indent(message: &str) -> String {
    message.replace('\n', "\n        ")
}

pub fn test(args: TestArgs) -> ExitCode {
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &args.files {
        let name = path.display();
        match run_file(path) {
            Ok(report) => match &report.failure {
                None => {
                    passed += 1;
                    println!("ok      {name} ({} steps)", report.steps);
                }
                Some(f) => {
                    failed += 1;
                    println!("FAILED  {name}: {}", indent(&f.to_string()));
                }
            },
            Err(message) => {
                failed += 1;
                println!("FAILED  {name}: {}", indent(&message));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
