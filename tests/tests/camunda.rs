//! Camunda's dialect of FEEL and DMN, data-driven like the TCK.
//!
//! FEEL: runs the cases in `fixtures/camunda/feel/*.json` (written from
//! Camunda's FEEL reference) with the Camunda dialect and a fixed clock.
//! DMN: evaluates the decisions listed in `fixtures/camunda/dmn/cases.json`
//! over the Camunda-style models beside it (`expect`, `expectError` with a
//! part of the message, `expectNullReason` with the whole reason of a null). Every case must pass, and there
//! may never be fewer of them than `fixtures/camunda/*-baseline.txt` record.
//!
//! A FEEL case is a JSON object:
//! - `expr`: the FEEL expression; with `input`, a list of unary tests
//!   applied to that input value (`inputFeel`: a FEEL expression for it);
//! - `vars` (JSON values) and `varsFeel` (FEEL expressions, for dates and
//!   durations): the variables in scope;
//! - one of `expect` (a JSON value; numbers compare numerically, objects
//!   without regard to order), `expectFeel` (a FEEL expression whose value
//!   the result must equal) or `expectError: true` (the expression does not
//!   parse, or the evaluation fails).
//!
//! `CAMUNDA_FEEL_CASES=file.jsonl` also runs a file of cases in the same
//! form (one per line) and prints its pass rate without failing: a way to
//! measure against a larger outside collection without shipping it.

use dmn::Value;
use dmn::feel::{Dialect, Evaluator, Expression, Options, Scope, parse_unary_tests};
use serde_json::Value as J;
use std::fs;
use std::path::{Path, PathBuf};

/// 2020-07-31T12:27:30Z, the instant FEEL's `now()` sees in these cases.
const NOW_MILLIS: i64 = 1_596_198_450_000;

fn fixtures() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/camunda")).to_path_buf()
}

fn baseline(name: &str) -> usize {
    fs::read_to_string(fixtures().join(name))
        .unwrap_or_else(|e| panic!("fixtures/camunda/{name}: {e}"))
        .trim()
        .parse()
        .expect("a number")
}

fn feel(src: &str) -> Result<Value, String> {
    let e = Expression::compile(src, &[]).map_err(|e| format!("`{src}`: {e}"))?;
    e.evaluate_with(
        &[],
        &Options {
            now_millis: Some(NOW_MILLIS),
            dialect: Dialect::Camunda,
            ..Options::default()
        },
    )
    .map_err(|e| e.to_string())
}

/// Structural equality for checking results: nulls are equal, contexts
/// compare without regard to order, everything else by FEEL equality.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null(_), Value::Null(_)) => true,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Context(x), Value::Context(y)) => {
            x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a.feel_eq(b) == Some(true),
    }
}

fn variables(case: &J) -> Result<Vec<(String, Value)>, String> {
    let mut vars = Vec::new();
    if let Some(J::Object(o)) = case.get("vars") {
        for (k, v) in o {
            vars.push((k.clone(), Value::from_json(v)));
        }
    }
    if let Some(J::Object(o)) = case.get("varsFeel") {
        for (k, v) in o {
            let src = v.as_str().ok_or("varsFeel: expected strings")?;
            vars.push((k.clone(), feel(src)?));
        }
    }
    Ok(vars)
}

enum Outcome {
    Value(Value),
    Failed(String),
}

fn evaluate(case: &J, vars: &[(String, Value)]) -> Result<Outcome, String> {
    let src = case
        .get("expr")
        .and_then(J::as_str)
        .ok_or("expected an `expr` string")?;
    let names: Vec<String> = vars.iter().map(|(n, _)| n.clone()).collect();
    let mut ev = Evaluator::new(dmn::feel::eval::DEFAULT_STEP_LIMIT)
        .with_now(Some(NOW_MILLIS))
        .with_dialect(Dialect::Camunda);
    let mut scope = Scope::with(vars.to_vec());
    let input = match (case.get("input"), case.get("inputFeel")) {
        (Some(j), _) => Some(Value::from_json(j)),
        (None, Some(J::String(src))) => Some(feel(src)?),
        _ => None,
    };
    let v = if let Some(input) = input {
        let tests = match parse_unary_tests(src, &names) {
            Ok(t) => t,
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        ev.unary_tests(&tests, input, &mut scope)
    } else {
        let e = match Expression::compile(src, &names) {
            Ok(e) => e,
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        ev.eval(e.ast(), &mut scope)
    };
    Ok(match ev.aborted() {
        Some(e) => Outcome::Failed(e.to_string()),
        None => Outcome::Value(v),
    })
}

/// Runs one case: `Ok(())` when it passes, else what went wrong.
fn run_case(case: &J) -> Result<(), String> {
    let vars = variables(case)?;
    let outcome = evaluate(case, &vars)?;
    let expect_error = case.get("expectError").and_then(J::as_bool) == Some(true);
    let expected = match (case.get("expect"), case.get("expectFeel")) {
        _ if expect_error => None,
        (Some(j), None) => Some(Value::from_json(j)),
        (None, Some(J::String(src))) => Some(feel(src)?),
        _ => return Err("expected one of `expect`, `expectFeel`, `expectError`".into()),
    };
    match (outcome, expected) {
        (Outcome::Failed(_), None) => Ok(()),
        (Outcome::Value(v), None) => Err(format!("expected a failure, found {v}")),
        (Outcome::Failed(e), Some(x)) => Err(format!("expected {x}, found a failure: {e}")),
        (Outcome::Value(v), Some(x)) if same(&v, &x) => Ok(()),
        (Outcome::Value(v), Some(x)) => Err(format!(
            "expected {x}, found {v}{}",
            v.null_reason()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )),
    }
}

fn describe(case: &J) -> String {
    let expr = case.get("expr").and_then(J::as_str).unwrap_or("?");
    match case.get("input") {
        Some(i) => format!("{i} matches `{expr}`"),
        None => format!("`{expr}`"),
    }
}

#[test]
fn camunda_feel_cases() {
    let mut files: Vec<PathBuf> = fs::read_dir(fixtures().join("feel"))
        .expect("fixtures/camunda/feel")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut passed = 0usize;
    let mut failed = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("readable fixture");
        let cases: Vec<J> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: expected a JSON array of cases: {e}", f.display()));
        for c in &cases {
            match run_case(c) {
                Ok(()) => passed += 1,
                Err(e) => failed.push(format!(
                    "{}: {}: {e}",
                    f.file_name().unwrap_or_default().to_string_lossy(),
                    describe(c)
                )),
            }
        }
    }
    let baseline = baseline("feel-baseline.txt");
    assert!(
        failed.is_empty(),
        "{} of {} Camunda FEEL cases failed:\n{}",
        failed.len(),
        passed + failed.len(),
        failed.join("\n")
    );
    assert!(
        passed >= baseline,
        "expected at least {baseline} Camunda FEEL cases, found {passed}"
    );

    if let Ok(path) = std::env::var("CAMUNDA_FEEL_CASES") {
        measure(Path::new(&path));
    }
}

/// Runs an outside collection of cases (one JSON object per line) and
/// prints the pass rate and the failures; never fails the test.
fn measure(path: &Path) {
    let text = fs::read_to_string(path).expect("CAMUNDA_FEEL_CASES file");
    let (mut passed, mut total) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(c) = serde_json::from_str::<J>(line) else {
            continue;
        };
        total += 1;
        match run_case(&c) {
            Ok(()) => passed += 1,
            Err(e) => println!("FAIL {}: {e}", describe(&c)),
        }
    }
    println!("measured {passed} of {total} cases from {}", path.display());
}

/// Runs one DMN case: `Ok(())` when it passes.
fn run_dmn_case(case: &J) -> Result<(), String> {
    let field = |k: &str| {
        case.get(k)
            .and_then(J::as_str)
            .ok_or(format!("expected `{k}`"))
    };
    let path = fixtures().join("dmn").join(field("model")?);
    let xml = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let defs = dmn::model::parse_definitions(&xml).map_err(|e| e.to_string())?;
    let model = dmn::DmnModel::from_definitions(vec![defs]);
    let input = case
        .get("input")
        .cloned()
        .unwrap_or(J::Object(Default::default()));
    let inputs = dmn::Inputs::from_json(&input)
        .map_err(|e| e.to_string())?
        .at(NOW_MILLIS);
    let result = model.evaluate(field("decision")?, &inputs);
    match (result, case.get("expectError"), case.get("expect")) {
        (Err(e), Some(J::String(want)), _) if e.to_string().contains(want.as_str()) => Ok(()),
        (Err(e), Some(want), _) => Err(format!("expected an error with {want}, found `{e}`")),
        (Ok(r), Some(_), _) => Err(format!("expected an error, found {}", r.value)),
        (Err(e), None, _) => Err(format!("expected a value, found the error `{e}`")),
        (Ok(r), None, Some(want)) => {
            let want = Value::from_json(want);
            let reason = case.get("expectNullReason").and_then(J::as_str);
            if let Some(reason) = reason
                && r.value.null_reason() != Some(reason)
            {
                return Err(format!(
                    "expected a null because `{reason}`, found {} ({:?})",
                    r.value,
                    r.value.null_reason()
                ));
            }
            if same(&r.value, &want) {
                Ok(())
            } else {
                Err(format!(
                    "expected {want}, found {}{}",
                    r.value,
                    r.value
                        .null_reason()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default()
                ))
            }
        }
        (Ok(_), None, None) => Err("expected `expect` or `expectError`".into()),
    }
}

#[test]
fn camunda_dmn_cases() {
    let text = fs::read_to_string(fixtures().join("dmn/cases.json")).expect("cases.json");
    let cases: Vec<J> = serde_json::from_str(&text).expect("a JSON array of cases");
    let mut failed = Vec::new();
    for c in &cases {
        if let Err(e) = run_dmn_case(c) {
            failed.push(format!(
                "{} {}: {e}",
                c.get("model").and_then(J::as_str).unwrap_or("?"),
                c.get("decision").and_then(J::as_str).unwrap_or("?")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} Camunda DMN cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
    let baseline = baseline("dmn-baseline.txt");
    assert!(
        cases.len() >= baseline,
        "expected at least {baseline} Camunda DMN cases, found {}",
        cases.len()
    );
}
