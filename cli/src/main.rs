//! `orchid-bpmn`: the command line. The only crate that touches files, the
//! terminal and exit codes; everything else is a library call.
//!
//! Exit codes: 0 success, 1 the input has errors (invalid model, failing
//! test), 2 usage error (clap's own code for bad arguments), 3 reserved for
//! `exec` on an invalid model.

mod bpmn_cmd;
mod dmn_cmd;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "orchid-bpmn", version, about = "BPMN 2.0 / DMN process engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check BPMN files and print every problem found (exit 1 if any is an error).
    Validate(bpmn_cmd::ValidateArgs),
    /// Import and re-export a BPMN file (a normalising rewrite).
    Fmt(bpmn_cmd::FmtArgs),
    /// Summarise a BPMN file: processes, element counts, Camunda dialect.
    Inspect(bpmn_cmd::InspectArgs),
    /// DMN decisions: evaluate a model, run the TCK.
    #[command(subcommand)]
    Dmn(dmn_cmd::DmnCommand),
    /// Evaluate one FEEL expression.
    Feel(dmn_cmd::FeelArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => bpmn_cmd::validate(args),
        Command::Fmt(args) => bpmn_cmd::fmt(args),
        Command::Inspect(args) => bpmn_cmd::inspect(args),
        Command::Dmn(cmd) => report_errors(dmn_cmd::run_dmn(cmd)),
        Command::Feel(args) => report_errors(dmn_cmd::run_feel(args)),
    }
}

/// Prints a failed command's report (miette style) and exits 1.
fn report_errors(result: Result<ExitCode, miette::Report>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(1)
        }
    }
}
