//! `dmn eval`, `dmn tck` and `feel`: the DMN and FEEL commands. All file
//! reading happens here; the `dmn` crate only sees strings.
//!
//! Exit codes: 0 success; 1 a failing TCK case, an unreadable model or input;
//! an evaluation that yields null still exits 0 (null is a FEEL value) but
//! prints the reason on standard error.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use miette::{IntoDiagnostic, WrapErr, miette};

/// `orchid-bpmn dmn ...`
#[derive(Debug, Subcommand)]
pub enum DmnCommand {
    /// Evaluate one decision (or decision service) and print the result as JSON.
    Eval {
        /// The DMN model (other `.dmn` files in its folder are available for imports).
        model: PathBuf,
        /// Id or name of the decision to evaluate (ids first).
        #[arg(long)]
        decision: String,
        /// Input values: a JSON object, or `@file.json`.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Evaluate a decision service of that name instead of a decision.
        #[arg(long)]
        service: bool,
        /// Also print the decision-table rules that matched.
        #[arg(long)]
        audit: bool,
        /// Make every input visible as a variable even without an input-data
        /// element, in a model that does not speak Camunda's dialect (a
        /// Camunda-modelled file does this already).
        #[arg(long)]
        free_variables: bool,
        /// The instant FEEL's `now()` and `today()` see, as an ISO date-time
        /// with an offset (e.g. `2026-01-31T12:00:00Z`); the system clock by default.
        #[arg(long, value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Run the DMN TCK test cases found under a folder.
    Tck {
        /// A TCK folder (e.g. `../shared/tck/compliance-level-3` or one test folder).
        dir: PathBuf,
        /// Write results in the TCK's CSV results format.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Also run sub-folders named `non-compliant` (tests of features the
        /// TCK marks as outside the compliance levels); skipped by default.
        #[arg(long)]
        include_non_compliant: bool,
    },
}

/// `orchid-bpmn feel 'EXPR' [--context JSON]`
#[derive(Debug, Args)]
pub struct FeelArgs {
    /// The FEEL expression.
    pub expr: String,
    /// Variables in scope: a JSON object, or `@file.json`.
    #[arg(long)]
    pub context: Option<String>,
    /// The instant `now()` and `today()` see, as an ISO date-time with an
    /// offset (e.g. `2026-01-31T12:00:00Z`); the system clock by default.
    #[arg(long, value_parser = parse_now)]
    pub now: Option<i64>,
    /// Whose FEEL: Camunda's (feel-scala, what Camunda 7 and 8 evaluate;
    /// the default) or the DMN 1.5 standard's.
    #[arg(long, value_enum, default_value_t = FeelDialect::Camunda)]
    pub dialect: FeelDialect,
}

/// `--dialect` of `feel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FeelDialect {
    /// Camunda's FEEL (feel-scala).
    Camunda,
    /// DMN 1.5 FEEL, as the TCK checks it.
    Standard,
}

/// Parses `--now`: a date-time with a zone, to milliseconds since the epoch.
fn parse_now(s: &str) -> Result<i64, String> {
    let dt = dmn::temporal::parse_date_time(s).ok_or_else(|| {
        format!("expected an ISO date-time such as 2026-01-31T12:00:00Z, found `{s}`")
    })?;
    let nanos = dt
        .instant()
        .ok_or_else(|| format!("expected a date-time with an offset or zone, found `{s}`"))?;
    i64::try_from(nanos.div_euclid(1_000_000))
        .map_err(|_| format!("expected a date-time within the representable range, found `{s}`"))
}

fn read_json_arg(arg: &str) -> miette::Result<serde_json::Value> {
    let text = match arg.strip_prefix('@') {
        Some(path) => {
            crate::input::read_bounded_text(Path::new(path)).map_err(|e| miette!("{e}"))?
        }
        None => arg.to_string(),
    };
    serde_json::from_str(&text)
        .into_diagnostic()
        .wrap_err("expected a JSON value")
}

fn print_json(v: &serde_json::Value) -> miette::Result<()> {
    let s = serde_json::to_string_pretty(v).into_diagnostic()?;
    println!("{s}");
    Ok(())
}

/// Runs `orchid-bpmn dmn ...`.
pub fn run_dmn(cmd: DmnCommand) -> Result<ExitCode, miette::Report> {
    match cmd {
        DmnCommand::Eval {
            model,
            decision,
            input,
            service,
            audit,
            free_variables,
            now,
        } => eval(
            &model,
            &decision,
            &input,
            EvalOptions {
                service,
                audit,
                free_variables,
                now_millis: now.unwrap_or_else(system_now_millis),
            },
        ),
        DmnCommand::Tck {
            dir,
            csv,
            include_non_compliant,
        } => tck(&dir, csv.as_deref(), include_non_compliant),
    }
}

fn load_model(path: &Path) -> miette::Result<dmn::DmnModel> {
    let xml = crate::input::read_bounded_text(path).map_err(|e| miette!("{e}"))?;
    let main =
        dmn::model::parse_definitions(&xml).map_err(|e| miette!("{}: {e}", path.display()))?;
    let mut defs = vec![main];
    if !defs[0].imports.is_empty()
        && let Some(dir) = path.parent()
        && let Ok(rd) = fs::read_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        let mut siblings: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "dmn") && p.file_name() != path.file_name()
            })
            .collect();
        siblings.sort();
        for s in siblings {
            // Siblings are only candidates for imports: unreadable ones are skipped.
            if let Ok(text) = crate::input::read_bounded_text(&s)
                && let Ok(d) = dmn::model::parse_definitions(&text)
            {
                defs.push(d);
            }
        }
    }
    let model = dmn::DmnModel::from_definitions(defs);
    for d in model.diagnostics() {
        eprintln!(
            "warning: {}:{}:{} [{}] {}: {}",
            path.display(),
            d.line,
            d.column,
            d.code,
            d.element,
            d.message
        );
    }
    Ok(model)
}

/// The switches of `dmn eval`.
struct EvalOptions {
    service: bool,
    audit: bool,
    free_variables: bool,
    now_millis: i64,
}

fn eval(path: &Path, decision: &str, input: &str, opts: EvalOptions) -> miette::Result<ExitCode> {
    let EvalOptions {
        service,
        audit,
        free_variables,
        now_millis,
    } = opts;
    let model = load_model(path)?;
    let input = read_json_arg(input)?;
    let mut inputs = dmn::Inputs::from_json(&input)
        .map_err(|e| miette!("{e}"))?
        .at(now_millis);
    inputs.free_variables = free_variables;
    let result = if service {
        model.evaluate_service(decision, &inputs)
    } else {
        model.evaluate(decision, &inputs)
    }
    .map_err(|e| miette!("{e}"))?;
    if let Some(reason) = result.value.null_reason() {
        eprintln!("note: result is null: {reason}");
    }
    if audit {
        let rules: Vec<serde_json::Value> = result
            .audit
            .iter()
            .map(|a| {
                serde_json::json!({
                    "decisionTable": a.table_id,
                    "matched": a.matched.iter().zip(&a.annotations).map(|((i, id), notes)| {
                        let notes: serde_json::Map<String, serde_json::Value> = notes
                            .iter()
                            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                            .collect();
                        serde_json::json!({"index": i + 1, "rule": id, "annotations": notes})
                    }).collect::<Vec<_>>(),
                    "violation": a.violation,
                })
            })
            .collect();
        print_json(&serde_json::json!({"result": result.value.to_json(), "audit": rules}))?;
    } else {
        print_json(&result.value.to_json())?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Tally {
    passed: usize,
    failed: usize,
    include_non_compliant: bool,
    rows: Vec<[String; 4]>,
}

fn tck_folder(root: &Path, dir: &Path, t: &mut Tally) -> miette::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let models: Vec<(String, String)> = entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dmn"))
        .filter_map(|p| {
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                fs::read_to_string(p).ok()?,
            ))
        })
        .collect();
    let folder = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
    let folder = if folder.is_empty() {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        folder
    };
    for p in &entries {
        if p.is_dir() {
            let non_compliant = p.file_name().is_some_and(|n| n == "non-compliant");
            if !non_compliant || t.include_non_compliant {
                tck_folder(root, p, t)?;
            }
            continue;
        }
        let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if !(name.ends_with(".xml") && name.contains("test")) {
            continue;
        }
        let xml = fs::read_to_string(p)
            .into_diagnostic()
            .wrap_err_with(|| format!("reading {}", p.display()))?;
        match dmn::tck::run_test_file(&models, &xml, system_now_millis()) {
            Ok(results) => {
                for r in results {
                    if r.passed {
                        t.passed += 1;
                    } else {
                        t.failed += 1;
                        println!("FAIL {folder}/{name} {}: {}", r.id, r.detail);
                    }
                    let status = if r.passed { "SUCCESS" } else { "ERROR" };
                    t.rows
                        .push([folder.clone(), name.clone(), r.id, status.to_string()]);
                }
            }
            Err(e) => {
                t.failed += 1;
                println!("FAIL {folder}/{name}: {e}");
                t.rows
                    .push([folder.clone(), name.clone(), String::new(), "ERROR".into()]);
            }
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn tck(dir: &Path, csv: Option<&Path>, include_non_compliant: bool) -> miette::Result<ExitCode> {
    let mut t = Tally {
        include_non_compliant,
        passed: 0,
        failed: 0,
        rows: Vec::new(),
    };
    let root = dir.parent().unwrap_or(dir);
    tck_folder(root, dir, &mut t)?;
    if let Some(out) = csv {
        let mut f = fs::File::create(out)
            .into_diagnostic()
            .wrap_err_with(|| format!("creating {}", out.display()))?;
        for row in &t.rows {
            let line: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
            writeln!(f, "{}", line.join(",")).into_diagnostic()?;
        }
    }
    println!("{} passed, {} failed", t.passed, t.failed);
    Ok(if t.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs `orchid-bpmn feel ...`: prints the value as JSON.
pub fn run_feel(args: FeelArgs) -> Result<ExitCode, miette::Report> {
    let vars: Vec<(String, dmn::Value)> = match &args.context {
        None => Vec::new(),
        Some(c) => match dmn::Value::from_json(&read_json_arg(c)?) {
            dmn::Value::Context(ctx) => ctx.entries,
            other => {
                return Err(miette!(
                    "--context: expected a JSON object, found {}",
                    other.kind()
                ));
            }
        },
    };
    let names: Vec<String> = vars.iter().map(|(n, _)| n.clone()).collect();
    let expr = dmn::feel::Expression::compile(&args.expr, &names).map_err(|e| miette!("{e}"))?;
    let options = dmn::feel::Options {
        now_millis: Some(args.now.unwrap_or_else(system_now_millis)),
        dialect: match args.dialect {
            FeelDialect::Camunda => dmn::Dialect::Camunda,
            FeelDialect::Standard => dmn::Dialect::Standard,
        },
        ..dmn::feel::Options::default()
    };
    let v = expr
        .evaluate_with(&vars, &options)
        .map_err(|e| miette!("{e}"))?;
    if let Some(reason) = v.null_reason() {
        eprintln!("note: result is null: {reason}");
    }
    let j = match &v {
        // Values without a JSON form are printed in their FEEL form.
        dmn::Value::Function(_) | dmn::Value::Range(_) => serde_json::Value::String(v.to_string()),
        _ => v.to_json(),
    };
    print_json(&j)?;
    Ok(ExitCode::SUCCESS)
}

/// The system clock, for FEEL's `now()` and `today()` (the default of
/// `--now`, and the TCK's clock).
fn system_now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r##"<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="m" namespace="urn:m">
  <inputData id="x" name="x"><variable name="x" typeRef="number"/></inputData>
  <decision id="d" name="double"><variable name="double" typeRef="number"/>
    <informationRequirement><requiredInput href="#x"/></informationRequirement>
    <literalExpression><text>x * 2</text></literalExpression></decision>
</definitions>"##;

    fn test_file(expected: &str) -> String {
        format!(
            r#"<testCases xmlns="http://www.omg.org/spec/DMN/20160719/testcase" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <modelName>m.dmn</modelName>
  <testCase id="001"><inputNode name="x"><value xsi:type="xsd:decimal">21</value></inputNode>
    <resultNode name="double"><expected><value xsi:type="xsd:decimal">{expected}</value></expected></resultNode></testCase>
</testCases>"#
        )
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("orchid-dmn-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("0001-double")).unwrap();
        dir
    }

    #[test]
    fn tck_passes_and_writes_csv() {
        let dir = scratch("pass");
        fs::write(dir.join("0001-double/m.dmn"), MODEL).unwrap();
        fs::write(dir.join("0001-double/m-test-01.xml"), test_file("42")).unwrap();
        let csv = dir.join("out.csv");
        let code = tck(&dir, Some(&csv), false).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let text = fs::read_to_string(&csv).unwrap();
        assert!(
            text.ends_with("\"m-test-01.xml\",\"001\",\"SUCCESS\"\n"),
            "{text}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn tck_failure_exits_1() {
        let dir = scratch("fail");
        fs::write(dir.join("0001-double/m.dmn"), MODEL).unwrap();
        fs::write(dir.join("0001-double/m-test-01.xml"), test_file("41")).unwrap();
        let code = tck(&dir, None, false).unwrap();
        assert_eq!(code, ExitCode::from(1));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn eval_reads_inline_and_file_input() {
        let dir = scratch("eval");
        let model = dir.join("m.dmn");
        fs::write(&model, MODEL).unwrap();
        let input = dir.join("in.json");
        fs::write(&input, r#"{"x": 0.5}"#).unwrap();
        let opts = |audit, free_variables| EvalOptions {
            service: false,
            audit,
            free_variables,
            now_millis: 0,
        };
        assert!(eval(&model, "double", r#"{"x": 2}"#, opts(true, false)).is_ok());
        let at_file = format!("@{}", input.display());
        assert!(eval(&model, "double", &at_file, opts(false, true)).is_ok());
        assert!(eval(&model, "nope", "{}", opts(false, false)).is_err());
        assert!(eval(&model, "double", "[1]", opts(false, false)).is_err());
        let missing = dir.join("missing.dmn");
        assert!(eval(&missing, "double", "{}", opts(false, false)).is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn now_option_reads_a_zoned_date_time() {
        assert_eq!(parse_now("1970-01-01T00:00:01Z"), Ok(1000));
        assert_eq!(parse_now("1970-01-01T01:00:00+01:00"), Ok(0));
        assert!(
            parse_now("1970-01-01T00:00:00")
                .unwrap_err()
                .contains("offset")
        );
        assert!(
            parse_now("tomorrow")
                .unwrap_err()
                .contains("found `tomorrow`")
        );
    }

    #[test]
    fn feel_command() {
        let ok = run_feel(FeelArgs {
            expr: "a + 1".into(),
            context: Some(r#"{"a": 1.5}"#.into()),
            now: None,
            dialect: FeelDialect::Camunda,
        });
        assert_eq!(ok.unwrap(), ExitCode::SUCCESS);
        assert!(
            run_feel(FeelArgs {
                expr: "1 +".into(),
                context: None,
                now: None,
                dialect: FeelDialect::Standard,
            })
            .is_err()
        );
        assert!(
            run_feel(FeelArgs {
                expr: "1".into(),
                context: Some("[1]".into()),
                now: None,
                dialect: FeelDialect::Camunda,
            })
            .is_err()
        );
    }

    #[test]
    fn csv_fields_are_quoted() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}
