//! `orchid-bpmn`: the command line. The only crate that touches files, the
//! terminal and exit codes; everything else is a library call.
//!
//! Exit codes: 0 success, 1 the input has errors (invalid model, failing
//! test, an instance stopped by an incident, an unknown instance), 2 usage
//! error (clap's own code for bad arguments), 3 `exec` on an invalid model.

mod bpmn_cmd;
mod dmn_cmd;
mod engine_cmd;
mod history_cmd;
mod input;
mod report;
mod scenario_cmd;

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
    /// Deploy a BPMN file, start an instance and run it until it completes or every token waits.
    Exec(engine_cmd::ExecArgs),
    /// List the active instances in a store, with their state and where they wait.
    Instances(engine_cmd::InstancesArgs),
    /// List the ended instances of a store (history); remove those past their time to live.
    History(history_cmd::HistoryArgs),
    /// User and receive tasks of stored instances.
    #[command(subcommand)]
    Task(engine_cmd::TaskCommand),
    /// Jobs of stored instances (as an external worker would report them).
    #[command(subcommand)]
    Job(engine_cmd::JobCommand),
    /// Variables of stored instances.
    #[command(subcommand)]
    Var(engine_cmd::VarCommand),
    /// Publish a message to the instances of a store.
    #[command(subcommand)]
    Message(engine_cmd::MessageCommand),
    /// Broadcast a signal to the instances of a store.
    #[command(subcommand)]
    Signal(engine_cmd::SignalCommand),
    /// Incidents of stored instances: list and retry.
    #[command(subcommand)]
    Incident(engine_cmd::IncidentCommand),
    /// Fire the timers of a store's instances and its timer start events as they fall due (until killed, or `--once`).
    Run(engine_cmd::RunArgs),
    /// Run process scenarios (JSON files) against an in-memory engine with a virtual clock.
    Test(scenario_cmd::TestArgs),
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    // Scripts (Rhai) and deep FEEL recurse on the stack; give the work the
    // stack the script engine's limits are sized for, instead of relying on
    // the main thread's default.
    let worker = std::thread::Builder::new()
        .name("orchid-bpmn".into())
        .stack_size(engine::script::SCRIPT_THREAD_STACK_SIZE)
        .spawn(move || run(cli.command));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => {
            eprintln!("error: orchid-bpmn stopped on an internal error (a bug: please report it)");
            ExitCode::from(70)
        }
        Err(e) => {
            eprintln!("error: cannot start the worker thread: {e}");
            ExitCode::from(71)
        }
    }
}

/// Output piped into a reader that stops early (`orchid-bpmn … | head`)
/// ends the program quietly, like other command-line tools, instead of as
/// an internal error: `print!` fails with a broken pipe then.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            // 128 + SIGPIPE, what a shell reports for a killed writer.
            std::process::exit(141);
        }
        default(info);
    }));
}

fn run(command: Command) -> ExitCode {
    match command {
        Command::Validate(args) => bpmn_cmd::validate(args),
        Command::Fmt(args) => bpmn_cmd::fmt(args),
        Command::Inspect(args) => bpmn_cmd::inspect(args),
        Command::Dmn(cmd) => report_errors(dmn_cmd::run_dmn(cmd)),
        Command::Feel(args) => report_errors(dmn_cmd::run_feel(args)),
        Command::Exec(args) => engine_cmd::exec(args),
        Command::Instances(args) => engine_cmd::instances(args),
        Command::History(args) => history_cmd::history(args),
        Command::Task(cmd) => engine_cmd::task(cmd),
        Command::Job(cmd) => engine_cmd::job(cmd),
        Command::Var(cmd) => engine_cmd::var(cmd),
        Command::Message(cmd) => engine_cmd::message(cmd),
        Command::Signal(cmd) => engine_cmd::signal(cmd),
        Command::Incident(cmd) => engine_cmd::incident(cmd),
        Command::Run(args) => engine_cmd::run(args),
        Command::Test(args) => scenario_cmd::test(args),
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
