//! `exec`, `instances`, `task`, `job`, `incident`, `var`, `message`,
//! `signal` and `run`: run a process and act on its instances. Files and stores are opened here; the engine
//! crate only sees texts and a [`engine::store::Store`].
//!
//! Timers: every command that opens a store first fires the timers that
//! became due while nothing was running; `exec` waits in real time for a
//! timer due within `--wait`; `run` is the long-running worker that fires
//! timers (timer start events included) as they fall due.
//!
//! Messages and signals: `message publish` correlates a message to the
//! store's waiting instances (or starts instances at message start events,
//! or buffers it for `--ttl`), `signal broadcast` reaches every waiting
//! signal subscription and signal start event.
//!
//! Exit codes: 0 the instance completed or is active (or a listing was
//! printed); 1 the instance has an open incident, or the command was
//! refused (unknown instance, element, job or incident; a store failure);
//! 2 usage error (bad arguments, an unreadable file, bad JSON, no store at
//! `--db`); 3 invalid model, with diagnostics on standard error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use engine::compile::CompiledProcess;
use engine::core::{IncidentId, InstanceState, JobId, SubscriptionKind, TokenState};
use engine::runtime::Delivery;
use engine::scenario::{InstanceStateName, Snapshot, describe_engine_error};
use engine::store::{Durability, StoreKind};
use engine::{Clock, Engine, EngineError, EngineOptions, SystemClock};
use miette::{GraphicalReportHandler, GraphicalTheme, miette};
use serde_json::{Map, Value};

use crate::report;

/// Which durable store `--db` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// A sled database (a directory).
    Sled,
    /// A redb database (a single file).
    Redb,
}

impl From<StoreArg> for StoreKind {
    fn from(s: StoreArg) -> Self {
        match s {
            StoreArg::Sled => StoreKind::Sled,
            StoreArg::Redb => StoreKind::Redb,
        }
    }
}

/// Variables given on the command line.
#[derive(Debug, Args)]
pub struct VarArgs {
    /// A variable as NAME=VALUE; VALUE is read as JSON when it parses as
    /// JSON (`15`, `true`, `{"a":1}`, `"15"`), as a string otherwise.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    var: Vec<(String, Value)>,
    /// Variables from a file holding one JSON object (`--var` wins on a
    /// name given in both).
    #[arg(long = "vars", value_name = "FILE.json")]
    vars: Option<PathBuf>,
}

/// The store of an existing engine.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The store written by `exec --db`.
    #[arg(long, value_name = "PATH")]
    pub(crate) db: PathBuf,
    /// The store implementation.
    #[arg(long, value_enum, default_value_t = StoreArg::Sled)]
    pub(crate) store: StoreArg,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The BPMN file to deploy and run.
    file: PathBuf,
    /// More files to deploy first: .dmn decisions for business rule tasks,
    /// .bpmn processes that call activities call.
    #[arg(value_name = "RESOURCE")]
    resources: Vec<PathBuf>,
    /// Which process to start, when the file holds several executable ones.
    #[arg(long, value_name = "ID")]
    process: Option<String>,
    #[command(flatten)]
    vars: VarArgs,
    /// The business key the instance starts with (read by Camunda 7
    /// expressions as `execution.processBusinessKey`).
    #[arg(long, value_name = "KEY")]
    business_key: Option<String>,
    /// Keep the instance in this store (created if missing) so that later
    /// commands can continue it; without it the store is in memory.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// The store implementation for `--db`.
    #[arg(long, value_enum, default_value_t = StoreArg::Sled, requires = "db")]
    store: StoreArg,
    /// Wait in real time for a timer due within this ISO 8601 duration
    /// (`PT30S`, `PT5M`, `P1DT2H`; no years or months), firing it and
    /// running on; a timer due later stays scheduled (with `--db`, a later
    /// `orchid-bpmn run` fires it). `PT0S` never waits.
    #[arg(long, value_name = "DURATION", default_value = "PT5M", value_parser = parse_wait)]
    wait: Duration,
    /// Print one JSON object on standard output and nothing else.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Fire the timers that are due and exit, instead of running until killed.
    #[arg(long)]
    once: bool,
    /// The longest sleep between two looks at the store, as an ISO 8601
    /// duration longer than zero.
    #[arg(long, value_name = "DURATION", default_value = "PT1S", value_parser = parse_poll)]
    poll: Duration,
}

#[derive(Debug, Args)]
pub struct InstancesArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Print a JSON array of instances.
    #[arg(long)]
    json: bool,
}

/// `orchid-bpmn task ...`
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Complete the user task, receive task or job waiting at an element.
    Complete {
        #[command(flatten)]
        db: DbArgs,
        /// The instance id.
        instance: String,
        /// The BPMN id of the element where the task waits.
        element: String,
        #[command(flatten)]
        vars: VarArgs,
        /// Print the resulting instance as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `orchid-bpmn job ...`
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Complete a job, as a worker that did the work.
    Complete {
        #[command(flatten)]
        db: DbArgs,
        /// The instance id.
        instance: String,
        /// The job id, or the BPMN id of the element whose job it is.
        job: String,
        #[command(flatten)]
        vars: VarArgs,
        /// Print the resulting instance as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Throw a BPMN error from a job, as a worker that hit a business error:
    /// the nearest error boundary or error event sub-process matching the
    /// code catches it (an incident when none does).
    ThrowError {
        #[command(flatten)]
        db: DbArgs,
        /// The instance id.
        instance: String,
        /// The job id, or the BPMN id of the element whose job it is.
        job: String,
        /// The error code.
        code: String,
        /// The error message.
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        vars: VarArgs,
        /// Print the resulting instance as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Report a job as failed; with no retries left it becomes an incident.
    Fail {
        #[command(flatten)]
        db: DbArgs,
        /// The instance id.
        instance: String,
        /// The job id, or the BPMN id of the element whose job it is.
        job: String,
        /// Why it failed.
        #[arg(long, default_value = "the job failed")]
        message: String,
        /// Retries left after this failure (default: one fewer than before).
        #[arg(long)]
        retries: Option<u32>,
        /// Print the resulting instance as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `orchid-bpmn var ...`
#[derive(Debug, Subcommand)]
pub enum VarCommand {
    /// Set process-level variables of an instance (conditions are evaluated).
    Set {
        #[command(flatten)]
        db: DbArgs,
        /// The instance id.
        instance: String,
        #[command(flatten)]
        vars: VarArgs,
        /// Print the resulting instance as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `orchid-bpmn message ...`
#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Publish a message: it correlates to the waiting subscriptions of that
    /// name (and key), at most one instance per process, starts instances at
    /// message start events, or is buffered for --ttl.
    Publish {
        #[command(flatten)]
        db: DbArgs,
        /// The message name.
        name: String,
        /// The correlation key.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Keep the message this long (ISO 8601 duration, e.g. PT1H) when
        /// nothing waits for it yet; delivered once to the first matching
        /// subscription that opens in that time.
        #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
        ttl: Option<Duration>,
        #[command(flatten)]
        vars: VarArgs,
        /// Print a JSON object saying where the message went.
        #[arg(long)]
        json: bool,
    },
}

/// `orchid-bpmn signal ...`
#[derive(Debug, Subcommand)]
pub enum SignalCommand {
    /// Broadcast a signal to every waiting signal subscription of every
    /// instance and to every process with a signal start event of that name.
    Broadcast {
        #[command(flatten)]
        db: DbArgs,
        /// The signal name.
        name: String,
        #[command(flatten)]
        vars: VarArgs,
        /// Print a JSON object saying where the signal went.
        #[arg(long)]
        json: bool,
    },
}

/// `orchid-bpmn incident ...`
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// List open incidents, of every instance or of one.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only this instance.
        instance: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Resolve an incident and retry the work it stopped.
    Retry {
        #[command(flatten)]
        db: DbArgs,
        /// The instance id.
        instance: String,
        /// The incident id, or the BPMN id of the element it stopped.
        incident: String,
        /// Retries a failed job gets back (default 1).
        #[arg(long)]
        retries: Option<u32>,
        /// Print the resulting instance as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A command that did not succeed, with its exit code.
#[derive(Debug)]
pub(crate) enum Fail {
    /// Print this report, exit with this code.
    Report(u8, miette::Report),
    /// Diagnostics were printed already; exit with this code.
    Printed(u8),
}

fn usage(message: impl std::fmt::Display) -> Fail {
    Fail::Report(2, miette!("{message}"))
}

pub(crate) fn refused(message: impl std::fmt::Display) -> Fail {
    Fail::Report(1, miette!("{message}"))
}

pub(crate) fn finish(result: Result<ExitCode, Fail>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(Fail::Report(code, report)) => {
            // Unwrapped, so that a message stays on one line for tools that grep it.
            let theme = if report::stderr_color() {
                GraphicalTheme::unicode()
            } else {
                GraphicalTheme::unicode_nocolor()
            };
            let mut out = String::new();
            let handler = GraphicalReportHandler::new_themed(theme).with_wrap_lines(false);
            match handler.render_report(&mut out, report.as_ref()) {
                Ok(()) => eprint!("{out}"),
                Err(_) => eprintln!("error: {report}"),
            }
            ExitCode::from(code)
        }
        Err(Fail::Printed(code)) => ExitCode::from(code),
    }
}

/// `NAME=VALUE`, the value as JSON when it parses, as a string otherwise.
pub(crate) fn parse_var(s: &str) -> Result<(String, Value), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, found `{s}`"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!(
            "expected a variable name before `=`, found none in `{s}`"
        ));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((name.to_string(), value))
}

/// An ISO 8601 duration of fixed length (`PT30S`, `PT5M`, `P1DT2H`).
fn parse_wait(s: &str) -> Result<Duration, String> {
    let d = bpmn_models::timer::parse_time_duration(s).map_err(|e| {
        format!("expected an ISO 8601 duration such as PT30S or PT5M, found `{s}` ({e})")
    })?;
    d.fixed_length().ok_or_else(|| {
        format!(
            "expected a duration of days, hours, minutes and seconds, found `{s}` (years and months have no fixed length)"
        )
    })
}

/// Like [`parse_wait`], but longer than zero.
fn parse_poll(s: &str) -> Result<Duration, String> {
    let d = parse_wait(s)?;
    if d.is_zero() {
        return Err(format!(
            "expected a poll interval longer than zero, found `{s}`"
        ));
    }
    Ok(d)
}

/// An instant as UTC, `2026-11-24T03:40:12Z` (milliseconds only when not zero).
pub(crate) fn utc(millis: i64) -> String {
    engine::schedule::format_utc(millis)
}

impl VarArgs {
    fn collect(&self) -> Result<Map<String, Value>, Fail> {
        let mut out = Map::new();
        if let Some(path) = &self.vars {
            let text = crate::input::read_bounded_text(path).map_err(usage)?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => out = m,
                Ok(other) => {
                    let found = match other {
                        Value::Array(_) => "an array",
                        Value::String(_) => "a string",
                        Value::Number(_) => "a number",
                        Value::Bool(_) => "a boolean",
                        _ => "null",
                    };
                    return Err(usage(format!(
                        "{}: expected a JSON object of variables, found {found}",
                        path.display()
                    )));
                }
                Err(e) => {
                    return Err(usage(format!(
                        "{}: expected a JSON object of variables: {e}",
                        path.display()
                    )));
                }
            }
        }
        for (k, v) in &self.var {
            out.insert(k.clone(), v.clone());
        }
        Ok(out)
    }
}

fn read_model(path: &Path) -> Result<String, Fail> {
    let bytes = crate::input::read_bounded(path).map_err(usage)?;
    bpmn_models::decode(&bytes).map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// Renders an invalid model's problems rustc-style on stderr (exit 3);
/// other engine errors become a refusal (exit 1).
fn deploy_failure(file: &str, text: &str, error: EngineError) -> Fail {
    let Some(problems) = report::engine_problems(text, &error) else {
        return refused(describe_engine_error(&error));
    };
    eprint!(
        "{}",
        report::render_text(file, text, &problems, report::stderr_color())
    );
    eprintln!("error: {file} cannot run: {} problem(s)", problems.len());
    Fail::Printed(3)
}

/// Opens the engine on a durable store and fires the timers that became
/// due while nothing was running. With `create`, a missing store is made;
/// otherwise a missing path is a usage error.
pub(crate) fn open_engine(path: &Path, kind: StoreArg, create: bool) -> Result<Engine, Fail> {
    let mut engine = open_store(path, kind, create)?;
    fire_timers(&mut engine)?;
    Ok(engine)
}

/// Fires every timer due now (of every instance in the store); how many fired.
/// A timer that could not fire is reported once on stderr (it stays in the
/// store and is tried again the next time the store is opened).
fn fire_timers(engine: &mut Engine) -> Result<usize, Fail> {
    let before = engine.stalled_timers().len();
    let fired = engine
        .fire_due_timers()
        .map_err(|e| refused(format!("firing due timers: {}", describe_engine_error(&e))))?;
    engine.flush().map_err(refused)?;
    for s in &engine.stalled_timers()[before..] {
        eprintln!(
            "warning: a timer of {} due at {} could not fire and is set aside: {}",
            s.owner,
            utc(s.due),
            s.message
        );
    }
    Ok(fired)
}

/// The environment variable naming the IANA time zone timers are read in.
pub const TIME_ZONE_VAR: &str = "ORCHID_TIME_ZONE";

/// Engine options: timers in the time zone `ORCHID_TIME_ZONE` names (UTC
/// when it is unset or empty).
fn engine_options() -> Result<EngineOptions, Fail> {
    match std::env::var(TIME_ZONE_VAR) {
        Ok(name) if !name.trim().is_empty() => EngineOptions::default()
            .with_time_zone(name.trim())
            .map_err(|e| usage(format!("{TIME_ZONE_VAR}: {e}"))),
        _ => Ok(EngineOptions::default()),
    }
}

/// Opens the engine on a durable store, firing nothing.
fn open_store(path: &Path, kind: StoreArg, create: bool) -> Result<Engine, Fail> {
    if !create && !path.exists() {
        return Err(usage(format!(
            "no store at {}: expected the --db path of an earlier `orchid-bpmn exec --db`",
            path.display()
        )));
    }
    let store = engine::store::open(kind.into(), path, Durability::Immediate)
        .map_err(|e| refused(format!("{}: {e}", path.display())))?;
    Engine::open(store, Arc::new(SystemClock), engine_options()?)
        .map_err(|e| refused(format!("{}: {}", path.display(), describe_engine_error(&e))))
}

/// An instance and the process version it runs.
fn load(engine: &Engine, id: &str) -> Result<(InstanceState, Arc<CompiledProcess>), Fail> {
    let state = match engine.instance(id).map_err(refused)? {
        Some(s) => s,
        None => {
            let known: Vec<String> = engine
                .instances()
                .map_err(refused)?
                .into_iter()
                .map(|s| s.id)
                .collect();
            let found = if known.is_empty() {
                "the store holds none".to_string()
            } else {
                format!("the store holds {}", known.join(", "))
            };
            return Err(refused(format!(
                "unknown instance `{id}`: expected the id of an instance in the store; {found}"
            )));
        }
    };
    let process = engine
        .process_version(&state.process)
        .cloned()
        .ok_or_else(|| {
            refused(format!(
                "instance `{id}` runs process {}, which is not deployed in this store",
                state.process
            ))
        })?;
    Ok((state, process))
}

/// Element name, falling back to its id.
fn label(process: &CompiledProcess, id: &str) -> String {
    process
        .element_by_id(id)
        .and_then(|i| process.element(i).name.clone())
        .filter(|n| !n.trim().is_empty() && n != id)
        .map_or_else(|| id.to_string(), |n| format!("{} [{id}]", n.trim()))
}

fn exit_for(state: &InstanceState) -> ExitCode {
    match InstanceStateName::of(state) {
        InstanceStateName::Incident => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

pub(crate) fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// Prints an instance: the trail of completed elements, where it waits,
/// incidents, the state and the process-level variables.
fn print_instance(state: &InstanceState, process: &CompiledProcess, json: bool) {
    let s = Snapshot::of(state, process);
    if json {
        print_json(&s.to_json());
        return;
    }
    println!(
        "instance {} of process {} (version {})",
        s.instance, s.process.id, s.process.version
    );
    for id in &s.visited {
        println!("  done      {}", label(process, id));
    }
    // Each waiting token once, with its job (or called instance) when it
    // has one.
    for (tid, t) in state.tokens.iter() {
        let id = &process.element(t.element).id;
        match t.state {
            TokenState::Waiting => println!("  waiting   {}", label(process, id)),
            TokenState::Job(j) => {
                let detail = s
                    .jobs
                    .iter()
                    .find(|v| v.id == j)
                    .map(|v| {
                        let mut d = format!(
                            "job {} of type `{}`, {} retries left",
                            v.id, v.job_type, v.retries
                        );
                        if let Some(e) = &v.last_error {
                            d.push_str(&format!(", last error: {e}"));
                        }
                        d
                    })
                    .unwrap_or_default();
                println!("  waiting   {}  ({detail})", label(process, id));
            }
            TokenState::Timer(timer) => match state.timers.get(&timer) {
                Some(t) => println!(
                    "  waiting   {}  (timer due {})",
                    label(process, id),
                    utc(t.due)
                ),
                None => println!("  waiting   {}  (timer)", label(process, id)),
            },
            TokenState::Called => match state.calls.get(tid) {
                Some(child) => println!("  calling   {}  (instance {child})", label(process, id)),
                None => println!("  calling   {}", label(process, id)),
            },
            TokenState::Event => {
                let what = waits_for(state, process, Some(*tid));
                println!(
                    "  waiting   {}  ({})",
                    label(process, id),
                    if what.is_empty() {
                        "an event".to_string()
                    } else {
                        what.join(", ")
                    }
                );
            }
            _ => {}
        }
    }
    for i in &s.incidents {
        println!(
            "  incident  {}  (incident {}): {}",
            label(process, &i.element),
            i.id,
            i.message
        );
    }
    println!("state: {}", s.state);
    if s.variables.is_empty() {
        println!("variables: none");
    } else {
        println!("variables:");
        for (k, v) in &s.variables {
            println!("  {k} = {v}");
        }
    }
}

/// What an instance's open subscriptions (of `element`, or all) wait
/// for: `message `Paid` (key o-7)`, `signal `Alarm``, `condition`.
/// What an instance waits for: with `token`, what that token waits for
/// (at an event-based gateway, each of the events after it, by element);
/// without, every subscription of the instance.
fn waits_for(
    state: &InstanceState,
    process: &CompiledProcess,
    token: Option<engine::core::TokenId>,
) -> Vec<String> {
    let mut out = Vec::new();
    let at_element = token.and_then(|t| state.tokens.get(&t)).map(|t| t.element);
    for sub in state.subscriptions.values() {
        if token.is_some() && sub.token != token {
            continue;
        }
        let at = if at_element == Some(sub.element) {
            String::new()
        } else {
            format!(" at {}", process.element(sub.element).id)
        };
        out.push(match &sub.kind {
            SubscriptionKind::Message { name, key: Some(k) } => {
                format!("message `{name}` (key {k}){at}")
            }
            SubscriptionKind::Message { name, key: None } => format!("message `{name}`{at}"),
            SubscriptionKind::Signal { name } => format!("signal `{name}`{at}"),
            SubscriptionKind::Conditional => format!("condition{at}"),
        });
    }
    if let Some(token) = token {
        for t in state.timers.values() {
            if t.token == token && !t.boundary {
                let at = if at_element == Some(t.element) {
                    String::new()
                } else {
                    format!(" at {}", process.element(t.element).id)
                };
                out.push(format!("timer due {}{at}", utc(t.due)));
            }
        }
    }
    out
}

/// How instances of a process without a none start event begin, for the
/// error `exec` gives.
fn how_it_starts(process: &CompiledProcess, db: Option<&Path>) -> String {
    use engine::compile::Trigger;
    let db = db.map_or_else(|| "PATH".to_string(), |p| p.display().to_string());
    let mut ways = Vec::new();
    for (element, trigger) in process.start_triggers() {
        let at = &process.element(element).id;
        match trigger {
            Trigger::Message { name, .. } => ways.push(format!(
                "message `{name}` at `{at}` (`orchid-bpmn message publish --db {db} {name}`)"
            )),
            Trigger::Signal { name } => ways.push(format!(
                "signal `{name}` at `{at}` (`orchid-bpmn signal broadcast --db {db} {name}`)"
            )),
            Trigger::Timer(_) => ways.push(format!(
                "timer at `{at}` (`orchid-bpmn run --db {db}` starts instances when it is due)"
            )),
            _ => {}
        }
    }
    if ways.is_empty() {
        "no start event that the engine can trigger".to_string()
    } else {
        ways.join("; ")
    }
}

// ------------------------------------------------------------------ commands

pub fn exec(args: ExecArgs) -> ExitCode {
    finish(exec_inner(args))
}

fn exec_inner(args: ExecArgs) -> Result<ExitCode, Fail> {
    let text = read_model(&args.file)?;
    let variables = args.vars.collect()?;
    let mut engine = match &args.db {
        Some(path) => open_engine(path, args.store, true)?,
        None => Engine::with_store(
            Box::new(engine::store::memory::MemoryStore::new()),
            Arc::new(SystemClock),
            engine_options()?,
        ),
    };
    let name = args.file.display().to_string();
    if engine::runtime::resource_kind(&name, &text) == engine::store::ResourceKind::Dmn {
        return Err(usage(format!(
            "{name}: expected a BPMN file to run first (decisions go after it: \
             `orchid-bpmn exec process.bpmn {name}`), found a DMN file"
        )));
    }
    for r in &args.resources {
        let rtext = read_model(r)?;
        let rname = r.display().to_string();
        engine
            .deploy(&rname, &rtext)
            .map_err(|e| deploy_failure(&rname, &rtext, e))?;
    }
    let keys = engine
        .deploy(&name, &text)
        .map_err(|e| deploy_failure(&name, &text, e))?;
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    let process_id = match (&args.process, ids.as_slice()) {
        (Some(p), _) if ids.contains(&p.as_str()) => p.clone(),
        (Some(p), _) => {
            return Err(usage(format!(
                "--process: expected one of the executable processes of {name} ({}), found `{p}`",
                ids.join(", ")
            )));
        }
        (None, [only]) => only.to_string(),
        (None, several) => {
            return Err(usage(format!(
                "{name} holds {} executable processes ({}): expected --process naming one",
                several.len(),
                several.join(", ")
            )));
        }
    };
    if let Some(p) = engine.process(&process_id)
        && p.scope(engine::compile::ScopeIdx(0))
            .start_events
            .is_empty()
    {
        let ways = how_it_starts(p, args.db.as_deref());
        let kept = match &args.db {
            Some(path) => format!("it is deployed in {}, ", path.display()),
            None => "deploy it into a store with --db, then ".to_string(),
        };
        engine.flush().map_err(refused)?;
        return Err(refused(format!(
            "`{process_id}` has no none start event, so `exec` cannot start it: expected a \
             process with a plain start event, found one that starts by {ways}; {kept}start \
             instances with those commands"
        )));
    }
    let id = engine
        .start_with_business_key(&process_id, variables, args.business_key.as_deref())
        .map_err(|e| refused(describe_engine_error(&e)))?;
    engine.flush().map_err(refused)?;
    wait_for_timers(&mut engine, &id, &args)?;
    let (state, process) = load(&engine, &id)?;
    print_family(&engine, &state, &process, args.json)?;
    Ok(exit_for(&state))
}

/// Prints an instance and, after it, the instances its call activities
/// started (at any depth); with `--json`, one object whose `children`
/// lists them.
fn print_family(
    engine: &Engine,
    state: &InstanceState,
    process: &CompiledProcess,
    json: bool,
) -> Result<(), Fail> {
    let children = engine::runtime::descendants(engine, &state.id).map_err(refused)?;
    if json {
        let s = Snapshot::of(state, process)
            .with_children(engine)
            .map_err(refused)?;
        print_json(&s.to_json());
        return Ok(());
    }
    print_instance(state, process, false);
    for child in &children {
        let (_, p) = load(engine, &child.id)?;
        let by = child
            .parent
            .as_ref()
            .map(|l| format!(" (called by instance {})", l.instance))
            .unwrap_or_default();
        println!();
        println!("child{by}:");
        print_instance(child, &p, false);
    }
    Ok(())
}

/// Fires due timers and, while the instance is active and its next timer
/// is due within `--wait`, sleeps until it is due and fires it. A timer
/// due later stays scheduled; the text output says so.
fn wait_for_timers(engine: &mut Engine, id: &str, args: &ExecArgs) -> Result<(), Fail> {
    let deadline = Instant::now() + args.wait;
    loop {
        fire_timers(engine)?;
        let (state, process) = load(engine, id)?;
        if state.status != engine::core::Status::Active {
            return Ok(());
        }
        let Some(next) = state.timers.values().min_by_key(|t| t.due) else {
            return Ok(());
        };
        let at = &process.element(next.element).id;
        // At least a millisecond, so that a clock that has not reached the
        // due time yet cannot make this loop spin.
        let ms = next.due.saturating_sub(SystemClock.now_millis()).max(1);
        let sleep = Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
        if sleep > deadline.saturating_duration_since(Instant::now()) {
            if !args.json {
                let later = if args.db.is_some() {
                    "`orchid-bpmn run --db` fires it when it is due"
                } else {
                    "the store is in memory, so it is dropped on exit; use --db to keep it"
                };
                println!(
                    "timer at `{at}` due {} is beyond --wait; it stays scheduled ({later})",
                    utc(next.due)
                );
            }
            return Ok(());
        }
        if !args.json {
            println!("waiting for timer at `{at}` due {}", utc(next.due));
        }
        std::thread::sleep(sleep);
    }
}

pub fn instances(args: InstancesArgs) -> ExitCode {
    finish(instances_inner(args))
}

fn instances_inner(args: InstancesArgs) -> Result<ExitCode, Fail> {
    let engine = open_engine(&args.db.db, args.db.store, false)?;
    // The runtime set; ended instances are history (`orchid-bpmn history`).
    let mut all = engine.active_instances().map_err(refused)?;
    // Numeric ids in numeric order, whatever order the store keeps them in.
    all.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
    let mut snapshots = Vec::with_capacity(all.len());
    for state in &all {
        let (_, process) = load(&engine, &state.id)?;
        snapshots.push(Snapshot::of(state, &process));
    }
    if args.json {
        let mut rows = Vec::with_capacity(snapshots.len());
        for (state, s) in all.iter().zip(&snapshots) {
            let (_, process) = load(&engine, &state.id)?;
            let mut row = s.to_json();
            if let Value::Object(m) = &mut row {
                m.insert(
                    "waitsFor".to_string(),
                    Value::from(waits_for(state, &process, None)),
                );
            }
            rows.push(row);
        }
        print_json(&Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    if snapshots.is_empty() {
        println!(
            "no active instances in {} (`orchid-bpmn history` lists ended ones)",
            args.db.db.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<24} {:<10} {:<10} WAITING AT / INCIDENTS",
        "INSTANCE", "PROCESS", "STATE", "PARENT"
    );
    for (state, s) in all.iter().zip(&snapshots) {
        let (_, process) = load(&engine, &state.id)?;
        let mut at: Vec<String> = s.waiting_at.clone();
        at.extend(waits_for(state, &process, None));
        at.extend(
            s.incidents
                .iter()
                .map(|i| format!("{} (incident {})", i.element, i.id)),
        );
        println!(
            "{:<10} {:<24} {:<10} {:<10} {}",
            s.instance,
            format!("{}:{}", s.process.id, s.process.version),
            s.state.as_str(),
            s.parent.as_deref().unwrap_or("-"),
            if at.is_empty() {
                "-".to_string()
            } else {
                at.join(", ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The job named by id, or the job waiting at the element of that id.
fn resolve_job(engine: &Engine, instance: &str, job: &str) -> Result<JobId, Fail> {
    let (state, process) = load(engine, instance)?;
    if let Ok(id) = job.parse::<JobId>() {
        if state.jobs.contains_key(&id) {
            return Ok(id);
        }
        return Err(refused(format!(
            "unknown job {id} in instance `{instance}`: expected one of {}",
            job_list(&state, &process)
        )));
    }
    let Some(el) = process.element_by_id(job) else {
        return Err(refused(format!(
            "unknown element `{job}`: expected a job id or an element id of process `{}`",
            process.key.id
        )));
    };
    engine::runtime::job_at(&state, el).ok_or_else(|| {
        refused(format!(
            "no job waits at `{job}` in instance `{instance}`: expected one of {}",
            job_list(&state, &process)
        ))
    })
}

fn job_list(state: &InstanceState, process: &CompiledProcess) -> String {
    if state.jobs.is_empty() {
        return "its jobs, found none".to_string();
    }
    state
        .jobs
        .iter()
        .map(|(id, j)| format!("{id} (at `{}`)", process.element(j.element).id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The incident named by id, or the open incident at the element of that id.
fn resolve_incident(engine: &Engine, instance: &str, incident: &str) -> Result<IncidentId, Fail> {
    let (state, process) = load(engine, instance)?;
    let listing = || {
        if state.incidents.is_empty() {
            "its open incidents, found none".to_string()
        } else {
            state
                .incidents
                .iter()
                .map(|(id, i)| format!("{id} (at `{}`)", process.element(i.element).id))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if let Ok(id) = incident.parse::<IncidentId>() {
        if state.incidents.contains_key(&id) {
            return Ok(id);
        }
        return Err(refused(format!(
            "unknown incident {id} in instance `{instance}`: expected one of {}",
            listing()
        )));
    }
    let el = process.element_by_id(incident);
    state
        .incidents
        .iter()
        .find(|(_, i)| Some(i.element) == el)
        .map(|(id, _)| *id)
        .ok_or_else(|| {
            refused(format!(
                "no open incident at `{incident}` in instance `{instance}`: expected one of {}",
                listing()
            ))
        })
}

/// Runs `act` on the engine, then prints the instance.
fn act_and_print(
    db: &DbArgs,
    instance: &str,
    json: bool,
    act: impl FnOnce(&mut Engine) -> Result<(), Fail>,
) -> Result<ExitCode, Fail> {
    let mut engine = open_engine(&db.db, db.store, false)?;
    act(&mut engine)?;
    engine.flush().map_err(refused)?;
    let (state, process) = load(&engine, instance)?;
    print_family(&engine, &state, &process, json)?;
    Ok(exit_for(&state))
}

/// A command refused by the engine, with the situation of the instance.
fn command_failure(engine: &Engine, instance: &str, e: EngineError) -> Fail {
    match (&e, load(engine, instance)) {
        (EngineError::Command(_), Ok((state, process)))
            if state.status == engine::core::Status::Active =>
        {
            let s = Snapshot::of(&state, &process);
            let mut found = format!(
                "instance `{instance}` is {} and waits at [{}]",
                s.state,
                s.waiting_at.join(", ")
            );
            for i in &s.incidents {
                found.push_str(&format!(
                    "; incident {} at `{}`: {}",
                    i.id, i.element, i.message
                ));
            }
            refused(format!("{e}; {found}"))
        }
        _ => refused(describe_engine_error(&e)),
    }
}

pub fn task(cmd: TaskCommand) -> ExitCode {
    finish(match cmd {
        TaskCommand::Complete {
            db,
            instance,
            element,
            vars,
            json,
        } => vars.collect().and_then(|variables| {
            act_and_print(&db, &instance, json, |engine| {
                load(engine, &instance)?;
                engine
                    .complete_task(&instance, &element, variables)
                    .map(|_| ())
                    .map_err(|e| command_failure(engine, &instance, e))
            })
        }),
    })
}

pub fn job(cmd: JobCommand) -> ExitCode {
    finish(match cmd {
        JobCommand::Complete {
            db,
            instance,
            job,
            vars,
            json,
        } => vars.collect().and_then(|variables| {
            act_and_print(&db, &instance, json, |engine| {
                let id = resolve_job(engine, &instance, &job)?;
                engine
                    .complete_job(&instance, id, variables)
                    .map(|_| ())
                    .map_err(|e| command_failure(engine, &instance, e))
            })
        }),
        JobCommand::ThrowError {
            db,
            instance,
            job,
            code,
            message,
            vars,
            json,
        } => vars.collect().and_then(|variables| {
            act_and_print(&db, &instance, json, |engine| {
                let id = resolve_job(engine, &instance, &job)?;
                engine
                    .throw_error(&instance, id, &code, message.as_deref(), variables)
                    .map(|_| ())
                    .map_err(|e| command_failure(engine, &instance, e))
            })
        }),
        JobCommand::Fail {
            db,
            instance,
            job,
            message,
            retries,
            json,
        } => act_and_print(&db, &instance, json, |engine| {
            let id = resolve_job(engine, &instance, &job)?;
            engine
                .fail_job(&instance, id, &message, retries)
                .map(|_| ())
                .map_err(|e| command_failure(engine, &instance, e))
        }),
    })
}

pub fn var(cmd: VarCommand) -> ExitCode {
    finish(match cmd {
        VarCommand::Set {
            db,
            instance,
            vars,
            json,
        } => vars.collect().and_then(|variables| {
            if variables.is_empty() {
                return Err(usage(
                    "expected variables to set (--var NAME=VALUE or --vars FILE.json), found none",
                ));
            }
            act_and_print(&db, &instance, json, |engine| {
                load(engine, &instance)?;
                engine
                    .set_variables(&instance, variables)
                    .map(|_| ())
                    .map_err(|e| command_failure(engine, &instance, e))
            })
        }),
    })
}

fn delivery_json(d: &Delivery) -> Value {
    serde_json::json!({"instance": d.instance, "process": d.process, "element": d.element})
}

pub fn message(cmd: MessageCommand) -> ExitCode {
    finish(match cmd {
        MessageCommand::Publish {
            db,
            name,
            key,
            ttl,
            vars,
            json,
        } => vars
            .collect()
            .and_then(|variables| message_publish(&db, &name, key, ttl, variables, json)),
    })
}

fn message_publish(
    db: &DbArgs,
    name: &str,
    key: Option<String>,
    ttl: Option<Duration>,
    variables: Map<String, Value>,
    json: bool,
) -> Result<ExitCode, Fail> {
    let mut engine = open_engine(&db.db, db.store, false)?;
    let ttl_ms = ttl.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let outcome = engine
        .publish_message(name, key.as_deref(), variables, ttl_ms)
        .map_err(|e| refused(describe_engine_error(&e)))?;
    engine.flush().map_err(refused)?;
    if json {
        print_json(&serde_json::json!({
            "message": name,
            "key": key,
            "correlated": outcome.correlated.iter().map(delivery_json).collect::<Vec<_>>(),
            "started": outcome.started.iter().map(delivery_json).collect::<Vec<_>>(),
            "bufferedUntil": outcome.buffered_until.map(utc),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let shown = match &key {
        Some(k) => format!("message `{name}` (key {k})"),
        None => format!("message `{name}`"),
    };
    for d in &outcome.correlated {
        println!(
            "{shown}: correlated to instance {} of {} at `{}`",
            d.instance, d.process, d.element
        );
    }
    for d in &outcome.started {
        println!(
            "{shown}: started instance {} of {} at `{}`",
            d.instance, d.process, d.element
        );
    }
    if let Some(until) = outcome.buffered_until {
        println!(
            "{shown}: nothing waits for it yet; buffered until {}",
            utc(until)
        );
    }
    if outcome.is_dropped() {
        println!("{shown}: nothing waited for it (give --ttl to buffer it)");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn signal(cmd: SignalCommand) -> ExitCode {
    finish(match cmd {
        SignalCommand::Broadcast {
            db,
            name,
            vars,
            json,
        } => vars.collect().and_then(|variables| {
            let mut engine = open_engine(&db.db, db.store, false)?;
            let outcome = engine
                .broadcast_signal_outcome(&name, variables)
                .map_err(|e| refused(describe_engine_error(&e)))?;
            engine.flush().map_err(refused)?;
            if json {
                print_json(&serde_json::json!({
                    "signal": name,
                    "triggered": outcome.triggered.iter().map(delivery_json).collect::<Vec<_>>(),
                    "started": outcome.started.iter().map(delivery_json).collect::<Vec<_>>(),
                }));
                return Ok(ExitCode::SUCCESS);
            }
            for d in &outcome.triggered {
                println!(
                    "signal `{name}`: caught by instance {} of {} at `{}`",
                    d.instance, d.process, d.element
                );
            }
            for d in &outcome.started {
                println!(
                    "signal `{name}`: started instance {} of {} at `{}`",
                    d.instance, d.process, d.element
                );
            }
            if outcome.triggered.is_empty() && outcome.started.is_empty() {
                println!("signal `{name}`: nothing waited for it");
            }
            Ok(ExitCode::SUCCESS)
        }),
    })
}

pub fn incident(cmd: IncidentCommand) -> ExitCode {
    finish(match cmd {
        IncidentCommand::List { db, instance, json } => incident_list(&db, instance, json),
        IncidentCommand::Retry {
            db,
            instance,
            incident,
            retries,
            json,
        } => act_and_print(&db, &instance, json, |engine| {
            let id = resolve_incident(engine, &instance, &incident)?;
            engine
                .resolve_incident(&instance, id, retries)
                .map(|_| ())
                .map_err(|e| command_failure(engine, &instance, e))
        }),
    })
}

fn incident_list(db: &DbArgs, instance: Option<String>, json: bool) -> Result<ExitCode, Fail> {
    let engine = open_engine(&db.db, db.store, false)?;
    let states = match &instance {
        Some(id) => vec![load(&engine, id)?.0],
        None => {
            let mut all = engine.instances().map_err(refused)?;
            all.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
            all
        }
    };
    let mut rows = Vec::new();
    for state in &states {
        let (_, process) = load(&engine, &state.id)?;
        for i in Snapshot::of(state, &process).incidents {
            rows.push((state.id.clone(), i));
        }
    }
    if json {
        print_json(&Value::Array(
            rows.iter()
                .map(|(inst, i)| {
                    serde_json::json!({
                        "instance": inst,
                        "id": i.id,
                        "element": i.element,
                        "job": i.job,
                        "kind": i.kind.as_str(),
                        "message": i.message,
                    })
                })
                .collect(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no open incidents");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<9} {:<24} {:<16} MESSAGE",
        "INSTANCE", "INCIDENT", "ELEMENT", "KIND"
    );
    for (inst, i) in &rows {
        println!(
            "{inst:<10} {:<9} {:<24} {:<16} {}",
            i.id,
            i.element,
            i.kind.as_str(),
            i.message
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: RunArgs) -> ExitCode {
    finish(run_inner(args))
}

/// The worker: fires due timers, sleeps until the next one is due (at most
/// `--poll`), until killed; with `--once`, one pass.
fn run_inner(args: RunArgs) -> Result<ExitCode, Fail> {
    let path = &args.db.db;
    let mut engine = open_store(path, args.db.store, false)?;
    if !args.once {
        println!(
            "orchid-bpmn run: firing the timers of {} as they fall due (stop with Ctrl-C)",
            path.display()
        );
    }
    // History past its time to live is removed on the first pass and then
    // at most once a minute (a scan of the ended instances' records).
    let mut cleaned: Option<Instant> = None;
    loop {
        let fired = fire_timers(&mut engine)?;
        if fired > 0 {
            println!(
                "{} fired {fired} timer{}",
                utc(SystemClock.now_millis()),
                if fired == 1 { "" } else { "s" }
            );
        }
        if cleaned.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            let removed = engine
                .remove_expired_history(SystemClock.now_millis())
                .map_err(|e| refused(describe_engine_error(&e)))?;
            engine.flush().map_err(refused)?;
            if removed > 0 {
                println!(
                    "{} removed {removed} ended instance{} past their history time to live",
                    utc(SystemClock.now_millis()),
                    if removed == 1 { "" } else { "s" }
                );
            }
            cleaned = Some(Instant::now());
        }
        let next = engine
            .next_timer_due()
            .map_err(|e| refused(describe_engine_error(&e)))?;
        if args.once {
            match next {
                Some(due) => println!("next timer due {}", utc(due)),
                None => println!("no pending timers"),
            }
            return Ok(ExitCode::SUCCESS);
        }
        let sleep = match next {
            Some(due) => {
                let ms = due.saturating_sub(SystemClock.now_millis()).max(1);
                Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)).min(args.poll)
            }
            None => args.poll,
        };
        std::thread::sleep(sleep);
    }
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_formats_instants_in_the_gregorian_calendar() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_000_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(utc(951_868_800_000), "2000-03-01T00:00:00Z");
        assert_eq!(utc(4_107_542_399_000), "2100-02-28T23:59:59Z");
        assert_eq!(utc(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999Z");
    }
}
