//! Runner for the DMN Technology Compatibility Kit test files (the format of
//! the TCK's `testCases.xsd`). It takes strings (model XML texts and one
//! test-case XML text) and returns one result per `<testCase>`; walking
//! folders is the caller's job.
//!
//! Comparison rules: numbers compare by value; because the TCK's expected
//! values for irrational results were computed with binary doubles, a
//! relative difference up to 1e-12 is accepted, and an expected value written
//! with 8 or more decimals also matches the actual value rounded or truncated
//! to that many decimals. Strings compare exactly, temporal values by FEEL
//! equality plus equal zone notation, lists element-wise, contexts by their
//! keys. An `errorResult="true"` node expects null.

use crate::drg::{DmnModel, Inputs};
use crate::number::Number;
use crate::temporal;
use crate::value::{Context, Type, Value};

/// Failure to read a test file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TckError {
    /// The test file is not valid XML.
    #[error("test file {line}:{column}: expected well-formed XML, found {found}")]
    Xml {
        /// Line.
        line: u32,
        /// Column.
        column: u32,
        /// Parser message.
        found: String,
    },
    /// The model named by `<modelName>` is not among the given models.
    #[error("expected model '{0}' among the model files, found none")]
    MissingModel(String),
    /// A model failed to import.
    #[error("model {file}: {error}")]
    Model {
        /// Model file.
        file: String,
        /// The import error.
        error: crate::model::ModelError,
    },
}

/// The outcome of one `<testCase>`.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Test-case id.
    pub id: String,
    /// Whether all result nodes matched.
    pub passed: bool,
    /// Expected vs actual for failing nodes.
    pub detail: String,
}

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

fn elems<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// Reads a `valueType` element (value, components or list).
fn read_value(n: roxmltree::Node, hint: Option<&Type>) -> Value {
    if let Some(v) = elems(n, "value").next() {
        return read_simple(v, hint);
    }
    if let Some(l) = elems(n, "list").next() {
        if l.attribute((XSI, "nil")) == Some("true") {
            return Value::Null(None);
        }
        let inner = match hint {
            Some(Type::List(t)) => Some(t.as_ref()),
            _ => None,
        };
        return Value::List(elems(l, "item").map(|i| read_value(i, inner)).collect());
    }
    let comps: Vec<_> = elems(n, "component").collect();
    if !comps.is_empty() {
        let mut c = Context::new();
        for comp in comps {
            let name = comp.attribute("name").unwrap_or_default().to_string();
            let h = match hint {
                Some(Type::Context(fs)) => fs.iter().find(|(k, _)| *k == name).map(|(_, t)| t),
                _ => None,
            };
            let v = if comp.attribute((XSI, "nil")) == Some("true") {
                Value::Null(None)
            } else {
                read_value(comp, h)
            };
            c.put(name, v);
        }
        return Value::Context(c);
    }
    Value::Null(None)
}

fn read_simple(v: roxmltree::Node, hint: Option<&Type>) -> Value {
    if v.attribute((XSI, "nil")) == Some("true") {
        return Value::Null(None);
    }
    let text = v.text().unwrap_or("");
    let ty = v
        .attribute((XSI, "type"))
        .map(|t| t.rsplit(':').next().unwrap_or(t));
    let t = text.trim();
    let parsed = match ty {
        Some("decimal" | "double" | "integer" | "int" | "long" | "float") => {
            Number::parse(t).map(Value::Number)
        }
        Some("boolean") => match t {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        Some("date") => temporal::parse_date(t).map(Value::Date),
        Some("dateTime") => temporal::parse_date_time(t).map(Value::DateTime),
        Some("time") => temporal::parse_time(t).map(Value::Time),
        Some("duration" | "dayTimeDuration" | "yearMonthDuration") => temporal::parse_duration(t)
            .map(|d| match d {
                Ok(m) => Value::YmDuration(m),
                Err(n) => Value::DtDuration(n),
            }),
        Some("string") => Some(Value::String(text.to_string())),
        _ => match hint {
            Some(Type::Number) => Number::parse(t).map(Value::Number),
            Some(Type::Boolean) => Some(Value::Bool(t == "true")),
            Some(Type::Date) => temporal::parse_date(t).map(Value::Date),
            Some(Type::DateTime) => temporal::parse_date_time(t).map(Value::DateTime),
            Some(Type::Time) => temporal::parse_time(t).map(Value::Time),
            Some(Type::DtDuration | Type::YmDuration) => {
                temporal::parse_duration(t).map(|d| match d {
                    Ok(m) => Value::YmDuration(m),
                    Err(n) => Value::DtDuration(n),
                })
            }
            _ => Some(Value::String(text.to_string())),
        },
    };
    parsed.unwrap_or_else(|| Value::null(format!("unreadable test value '{t}'")))
}

fn num_close(a: &Number, b: &Number) -> bool {
    if a == b {
        return true;
    }
    let Some(diff) = a.sub(b).map(|d| d.abs()) else {
        return false;
    };
    let scale = if a.abs() > Number::one() {
        a.abs()
    } else {
        Number::one()
    };
    let tol = Number::parse("1e-12").and_then(|t| t.mul(&scale));
    if tol.is_some_and(|t| diff <= t) {
        return true;
    }
    // Expected values stated with 8 or more decimals (results of irrational
    // functions) match the actual value rounded or truncated to the same
    // number of decimals.
    let places = -a.written_exponent();
    places >= 8
        && [dec::Rounding::HalfEven, dec::Rounding::Down]
            .into_iter()
            .any(|mode| b.round(places as i64, mode).is_some_and(|r| r == *a))
}

/// TCK comparison of an expected and an actual value.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (e, a) if e.is_null() => a.is_null(),
        (Value::Number(x), Value::Number(y)) => num_close(x, y),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| matches(a, b))
        }
        (Value::Context(x), Value::Context(y)) => {
            x.entries.iter().all(|(k, v)| match y.get(k) {
                Some(w) => matches(v, w),
                None => v.is_null(),
            }) && y
                .entries
                .iter()
                .all(|(k, w)| x.get(k).is_some() || w.is_null())
        }
        (Value::Time(x), Value::Time(y)) => {
            x == y || (expected.feel_eq(actual) == Some(true) && x.tz.is_some() == y.tz.is_some())
        }
        (Value::DateTime(x), Value::DateTime(y)) => {
            x == y || (expected.feel_eq(actual) == Some(true) && x.to_string() == y.to_string())
        }
        // A singleton list is accepted where a single value is expected only
        // when the spec would coerce; the TCK does not need it.
        _ => expected.feel_eq(actual) == Some(true) && expected.kind() == actual.kind(),
    }
}

/// Runs one test file. `models` are (file name, XML) of every model in the
/// test folder; the one named by `<modelName>` is the main model and the
/// others are available for imports. `now_millis` is the clock `now()` and
/// `today()` read (the caller's: this crate reads none).
pub fn run_test_file(
    models: &[(String, String)],
    test_xml: &str,
    now_millis: i64,
) -> Result<Vec<CaseResult>, TckError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
        ..Default::default()
    };
    let doc =
        roxmltree::Document::parse_with_options(test_xml, opts).map_err(|e| TckError::Xml {
            line: e.pos().row,
            column: e.pos().col,
            found: e.to_string(),
        })?;
    let root = doc.root_element();
    let model_name = elems(root, "modelName")
        .next()
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim()
        .to_string();
    let main_idx = if model_name.is_empty() {
        if models.is_empty() { None } else { Some(0) }
    } else {
        models.iter().position(|(n, _)| *n == model_name)
    }
    .ok_or_else(|| TckError::MissingModel(model_name.clone()))?;
    let mut defs = Vec::new();
    for (k, (file, xml)) in models.iter().enumerate() {
        if k == main_idx {
            continue;
        }
        match crate::model::parse_definitions(xml) {
            Ok(d) => defs.push(d),
            Err(error) => {
                return Err(TckError::Model {
                    file: file.clone(),
                    error,
                });
            }
        }
    }
    let main =
        crate::model::parse_definitions(&models[main_idx].1).map_err(|error| TckError::Model {
            file: models[main_idx].0.clone(),
            error,
        })?;
    defs.insert(0, main);
    let model = DmnModel::from_definitions(defs);
    let mut out = Vec::new();
    for tc in elems(root, "testCase") {
        out.push(run_case(&model, tc, now_millis));
    }
    Ok(out)
}

fn run_case(model: &DmnModel, tc: roxmltree::Node, now_millis: i64) -> CaseResult {
    let id = tc.attribute("id").unwrap_or("").to_string();
    let mut inputs = Inputs::default().at(now_millis);
    for n in elems(tc, "inputNode") {
        let name = n.attribute("name").unwrap_or("").to_string();
        let hint = model.input_type(&name);
        let v = read_value(n, hint.as_ref());
        match n.attribute("namespace") {
            Some(ns) => inputs.namespaced.push((ns.to_string(), name, v)),
            None => inputs.values.put(name, v),
        }
    }
    let is_service = tc.attribute("type") == Some("decisionService");
    let mut passed = true;
    let mut detail = String::new();
    let mut service_value: Option<Value> = None;
    for rn in elems(tc, "resultNode") {
        let name = rn.attribute("name").unwrap_or("");
        let expected = match elems(rn, "expected").next() {
            Some(e) => read_value(e, None),
            None => Value::Null(None),
        };
        let actual = if is_service {
            let inv = tc.attribute("invocableName").unwrap_or(name);
            let v = match &service_value {
                Some(v) => v.clone(),
                None => {
                    let v = match model.evaluate_service(inv, &inputs) {
                        Ok(e) => e.value,
                        Err(e) => Value::null(e.to_string()),
                    };
                    service_value = Some(v.clone());
                    v
                }
            };
            match &v {
                Value::Context(c)
                    if !matches!(expected, Value::Context(_)) && c.get(name).is_some() =>
                {
                    c.get(name).cloned().unwrap_or_default()
                }
                _ => v,
            }
        } else {
            match model.evaluate(name, &inputs) {
                Ok(e) => e.value,
                Err(e) => Value::null(e.to_string()),
            }
        };
        let error_result = rn.attribute("errorResult") == Some("true");
        let ok = if error_result {
            actual.is_null()
        } else {
            matches(&expected, &actual)
        };
        if !ok {
            passed = false;
            let reason = actual
                .null_reason()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            detail.push_str(&format!(
                "{name}: expected {}, found {}{reason}; ",
                expected.to_feel_literal(),
                actual.to_feel_literal()
            ));
        }
    }
    CaseResult {
        id,
        passed,
        detail: detail.trim_end_matches("; ").to_string(),
    }
}
