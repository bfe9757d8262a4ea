//! `validate`, `fmt` and `inspect`: the BPMN model commands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use bpmn_models::{ActivityKind, Definitions, FlowElement, FlowNodeKind, RootElement, Severity};
use clap::{Args, ValueEnum};

use crate::report::{self, Problem};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// BPMN files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// The BPMN file to rewrite.
    file: PathBuf,
    /// Where to write the result (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The BPMN file to summarise.
    file: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// A file read and decoded, or a problem saying why not.
pub fn read_text(path: &std::path::Path) -> Result<String, String> {
    let bytes = crate::input::read_bounded(path)?;
    bpmn_models::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads and imports a BPMN file; on failure prints the problem to stderr.
pub fn load(path: &std::path::Path) -> Option<(String, Definitions)> {
    let text = match read_text(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    match bpmn_models::parse(&text) {
        Ok(d) => Some((text, d)),
        Err(e) => {
            let name = path.display().to_string();
            eprint!(
                "{}",
                report::render_text(&name, &text, &[Problem::from(&e)], report::stderr_color())
            );
            None
        }
    }
}

/// Checks files the way `exec` deploys them: every file goes through
/// [`engine::Engine::deploy`] on one in-memory engine (DMN files first, so
/// business rule tasks see their decisions), so a file `validate` calls
/// clean is one the engine runs. Warnings come from the model's validation.
pub fn validate(args: ValidateArgs) -> ExitCode {
    let mut any_error = false;
    let mut json = Vec::new();
    let mut text_out = String::new();
    let (mut errors, mut warnings) = (0usize, 0usize);
    let mut checker = engine::Engine::in_memory();
    let mut files: Vec<(String, Result<String, String>)> = args
        .files
        .iter()
        .map(|p| (p.display().to_string(), read_text(p)))
        .collect();
    // Decisions first; otherwise the order given (a stable sort).
    files.sort_by_key(|(name, text)| match text {
        Ok(t) => engine::runtime::resource_kind(name, t).is_bpmn(),
        Err(_) => true,
    });
    // Processes of the other files are callable (as `exec` deploys them
    // together).
    let context = bpmn_models::ValidationContext {
        external_processes: files
            .iter()
            .filter_map(|(_, t)| t.as_ref().ok())
            .filter_map(|t| bpmn_models::parse(t).ok())
            .flat_map(|d| d.processes().map(|p| p.id.clone()).collect::<Vec<_>>())
            .collect(),
        decisions: None,
    };
    for (name, text) in files {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                any_error = true;
                errors += 1;
                match args.format {
                    Format::Json => json.push(serde_json::json!({
                        "file": name, "code": "IO001", "severity": "error", "message": e,
                        "elementId": null, "line": null, "column": null,
                    })),
                    Format::Text => text_out.push_str(&format!("error[IO001]: {e}\n\n")),
                }
                continue;
            }
        };
        let mut problems: Vec<Problem> = Vec::new();
        if engine::runtime::resource_kind(&name, &text).is_bpmn()
            && let Ok(defs) = bpmn_models::parse(&text)
        {
            problems.extend(
                bpmn_models::validate_with(&defs, &context)
                    .iter()
                    .filter(|d| d.severity == Severity::Warning)
                    .map(Problem::from),
            );
        }
        if let Err(e) = checker.deploy(&name, &text) {
            match report::engine_problems(&text, &e) {
                Some(found) => problems.extend(found.into_iter().map(|mut p| {
                    // A diagram without an executable process is documentation:
                    // worth saying, since `exec` cannot run it, but not wrong.
                    if p.code == "ENG001" {
                        p.severity = Severity::Warning;
                    }
                    p
                })),
                None => problems.push(Problem {
                    code: "ENG000".into(),
                    severity: Severity::Error,
                    message: e.to_string(),
                    element_id: None,
                    span: None,
                }),
            }
        }
        problems.sort_by_key(|p| (p.span.map_or(0, |s| s.start), p.code.clone()));
        for p in &problems {
            match p.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
        }
        any_error |= problems.iter().any(|p| p.severity == Severity::Error);
        match args.format {
            Format::Json => json.extend(report::to_json(&name, &problems)),
            Format::Text => {
                text_out.push_str(&report::render_text(
                    &name,
                    &text,
                    &problems,
                    report::stdout_color(),
                ));
            }
        }
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Array(json))
                .unwrap_or_else(|_| "[]".into())
        ),
        Format::Text => {
            print!("{text_out}");
            println!(
                "{} file(s) checked: {errors} error(s), {warnings} warning(s)",
                args.files.len()
            );
        }
    }
    if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn fmt(args: FmtArgs) -> ExitCode {
    let Some((_, defs)) = load(&args.file) else {
        return ExitCode::from(1);
    };
    let out = bpmn_models::write(&defs);
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, out) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
        None => print!("{out}"),
    }
    ExitCode::SUCCESS
}

pub fn inspect(args: InspectArgs) -> ExitCode {
    let Some((_, defs)) = load(&args.file) else {
        return ExitCode::from(1);
    };
    let summary = summarise(&defs);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_else(|_| "{}".into())
        );
        return ExitCode::SUCCESS;
    }
    println!("file:     {}", args.file.display());
    println!("dialect:  {}", summary["dialect"].as_str().unwrap_or("?"));
    if let Some(e) = summary["exporter"].as_str() {
        println!("exporter: {e}");
    }
    for p in summary["processes"].as_array().into_iter().flatten() {
        println!(
            "process {}{} ({})",
            p["id"].as_str().unwrap_or_default(),
            p["name"]
                .as_str()
                .map(|n| format!(" \"{n}\""))
                .unwrap_or_default(),
            if p["executable"] == true {
                "executable"
            } else {
                "not executable"
            }
        );
        for (kind, n) in p["elements"].as_object().into_iter().flatten() {
            println!("  {kind:<28}{n}");
        }
    }
    for c in summary["collaborations"].as_array().into_iter().flatten() {
        println!(
            "collaboration {}: {} participant(s), {} message flow(s)",
            c["id"].as_str().unwrap_or_default(),
            c["participants"],
            c["messageFlows"]
        );
    }
    println!("diagrams: {}", summary["diagrams"]);
    ExitCode::SUCCESS
}

fn summarise(defs: &Definitions) -> serde_json::Value {
    let processes: Vec<serde_json::Value> = defs
        .processes()
        .map(|p| {
            let mut counts = BTreeMap::new();
            count(&p.flow_elements, &mut counts);
            serde_json::json!({
                "id": p.id, "name": p.name, "executable": p.is_executable == Some(true),
                "elements": counts,
            })
        })
        .collect();
    let collaborations: Vec<serde_json::Value> = defs
        .collaborations()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "participants": c.participants.len(), "messageFlows": c.message_flows.len(),
            })
        })
        .collect();
    let others = defs
        .root_elements
        .iter()
        .filter(|r| !matches!(r, RootElement::Process(_) | RootElement::Collaboration(_)))
        .count();
    serde_json::json!({
        "dialect": dialect_label(defs),
        "exporter": defs.exporter.as_ref().map(|e| match &defs.exporter_version {
            Some(v) => format!("{e} {v}"),
            None => e.clone(),
        }),
        "processes": processes,
        "collaborations": collaborations,
        "otherRootElements": others,
        "diagrams": defs.diagrams.len(),
    })
}

/// "Camunda 8 (Camunda Cloud 8.6.0)", "Camunda 7", or plain BPMN.
/// The engine's decision (`docs/dialects.md`), so that inspect says what
/// `exec` will do.
fn dialect_label(defs: &Definitions) -> String {
    use bpmn_models::ext::execution_platform;
    use engine::compile::Dialect;
    let base = match Dialect::of(defs) {
        Dialect::Camunda7 => "Camunda 7",
        Dialect::Camunda8 => "Camunda 8",
        Dialect::Mixed => "mixed (Camunda 8 rules, Camunda 7 extensions read too)",
        Dialect::Standard => "plain BPMN 2.0 (no Camunda dialect detected)",
    };
    match execution_platform(defs) {
        Some((platform, Some(version))) => format!("{base} ({platform} {version})"),
        Some((platform, None)) => format!("{base} ({platform})"),
        None => base.to_string(),
    }
}

/// Counts flow elements by XML element name, descending into sub-processes.
fn count(elements: &[FlowElement], counts: &mut BTreeMap<String, usize>) {
    for fe in elements {
        let name = match fe {
            FlowElement::SequenceFlow(_) => "sequenceFlow",
            FlowElement::DataObject(_) => "dataObject",
            FlowElement::DataObjectReference(_) => "dataObjectReference",
            FlowElement::DataStoreReference(_) => "dataStoreReference",
            FlowElement::FlowNode(n) => {
                if let FlowNodeKind::Activity(a) = &n.kind
                    && let Some(s) = a.kind.sub_process()
                {
                    count(&s.flow_elements, counts);
                }
                let name = n.element_name();
                if let FlowNodeKind::Activity(a) = &n.kind
                    && matches!(a.kind, ActivityKind::SubProcess(ref s) if s.triggered_by_event)
                {
                    "eventSubProcess"
                } else {
                    name
                }
            }
        };
        *counts.entry(name.to_string()).or_default() += 1;
    }
}
