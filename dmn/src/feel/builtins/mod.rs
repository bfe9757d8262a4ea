//! The built-in functions of DMN 1.5 §10.3.4 (conversion, boolean, string,
//! list, numeric, date/time, range, context and sort functions), with the
//! parameter names of the spec so that named invocation works.
//!
//! Deviation: `matches`/`replace` translate XSD/XPath regular expressions to
//! the `regex` crate's syntax; back-references and character-class
//! subtraction are not supported and yield null.

use super::eval::{Evaluator, Scope, make_range, range_contains};
use crate::number::Number;
use crate::temporal::{self, FeelDateTime, FeelTime, Tz};
use crate::value::{Context, Function, Value, date_as_dt};
use dec::Rounding;
use std::cmp::Ordering;

mod camunda;
mod contexts;
mod dates;
mod lists;
mod numbers;
mod strings;

use contexts::context_fn;
use dates::{date_fn, range_fn, range_from_string};
use lists::{list_fn, list_replace, sort};
use numbers::numeric;
use strings::string_fn;

/// Built-in names with the parameter-name variants of each signature.
/// A trailing `...` marks a variadic function.
const SIGS: &[(&str, &[&[&str]])] = &[
    ("date", &[&["from"], &["year", "month", "day"]]),
    ("date and time", &[&["from"], &["date", "time"]]),
    (
        "time",
        &[&["from"], &["hour", "minute", "second", "offset"]],
    ),
    (
        "number",
        &[&["from", "grouping separator", "decimal separator"]],
    ),
    ("string", &[&["from"]]),
    ("duration", &[&["from"]]),
    ("years and months duration", &[&["from", "to"]]),
    ("not", &[&["negand"]]),
    ("is", &[&["value1", "value2"]]),
    ("is defined", &[&["value"]]),
    ("substring", &[&["string", "start position", "length"]]),
    ("string length", &[&["string"]]),
    ("upper case", &[&["string"]]),
    ("lower case", &[&["string"]]),
    ("substring before", &[&["string", "match"]]),
    ("substring after", &[&["string", "match"]]),
    ("replace", &[&["input", "pattern", "replacement", "flags"]]),
    ("contains", &[&["string", "match"]]),
    ("starts with", &[&["string", "match"]]),
    ("ends with", &[&["string", "match"]]),
    ("matches", &[&["input", "pattern", "flags"]]),
    ("split", &[&["string", "delimiter"]]),
    ("string join", &[&["list", "delimiter", "prefix", "suffix"]]),
    ("list contains", &[&["list", "element"]]),
    ("count", &[&["list"]]),
    ("min", &[&["list"]]),
    ("max", &[&["list"]]),
    ("sum", &[&["list"]]),
    ("mean", &[&["list"]]),
    ("all", &[&["list"]]),
    ("any", &[&["list"]]),
    ("sublist", &[&["list", "start position", "length"]]),
    ("append", &[&["list", "item"]]),
    ("concatenate", &[&["list"]]),
    ("insert before", &[&["list", "position", "newItem"]]),
    ("remove", &[&["list", "position"]]),
    ("reverse", &[&["list"]]),
    ("index of", &[&["list", "match"]]),
    ("union", &[&["list"]]),
    ("distinct values", &[&["list"]]),
    ("flatten", &[&["list"]]),
    ("product", &[&["list"]]),
    ("median", &[&["list"]]),
    ("stddev", &[&["list"]]),
    ("mode", &[&["list"]]),
    ("decimal", &[&["n", "scale", "mode"]]),
    ("floor", &[&["n", "scale"]]),
    ("ceiling", &[&["n", "scale"]]),
    ("round up", &[&["n", "scale"]]),
    ("round down", &[&["n", "scale"]]),
    ("round half up", &[&["n", "scale"]]),
    ("round half down", &[&["n", "scale"]]),
    ("abs", &[&["n"]]),
    ("modulo", &[&["dividend", "divisor"]]),
    ("sqrt", &[&["number"]]),
    ("log", &[&["number"]]),
    ("exp", &[&["number"]]),
    ("odd", &[&["number"]]),
    ("even", &[&["number"]]),
    ("day of year", &[&["date"]]),
    ("day of week", &[&["date"]]),
    ("month of year", &[&["date"]]),
    ("week of year", &[&["date"]]),
    (
        "before",
        &[
            &["point1", "point2"],
            &["point", "range"],
            &["range", "point"],
            &["range1", "range2"],
        ],
    ),
    (
        "after",
        &[
            &["point1", "point2"],
            &["point", "range"],
            &["range", "point"],
            &["range1", "range2"],
        ],
    ),
    ("meets", &[&["range1", "range2"]]),
    ("met by", &[&["range1", "range2"]]),
    ("overlaps", &[&["range1", "range2"]]),
    ("overlaps before", &[&["range1", "range2"]]),
    ("overlaps after", &[&["range1", "range2"]]),
    ("finishes", &[&["point", "range"], &["range1", "range2"]]),
    ("finished by", &[&["range", "point"], &["range1", "range2"]]),
    ("includes", &[&["range", "point"], &["range1", "range2"]]),
    ("during", &[&["point", "range"], &["range1", "range2"]]),
    ("starts", &[&["point", "range"], &["range1", "range2"]]),
    ("started by", &[&["range", "point"], &["range1", "range2"]]),
    ("coincides", &[&["point1", "point2"], &["range1", "range2"]]),
    ("get value", &[&["m", "key"]]),
    ("get entries", &[&["m"]]),
    ("context", &[&["entries"]]),
    (
        "context put",
        &[&["context", "key", "value"], &["context", "keys", "value"]],
    ),
    ("context merge", &[&["contexts"]]),
    (
        "list replace",
        &[
            &["list", "position", "newItem"],
            &["list", "match", "newItem"],
        ],
    ),
    ("sort", &[&["list", "precedes"]]),
    ("range", &[&["from"]]),
    ("now", &[&[]]),
    ("today", &[&[]]),
    // Camunda's FEEL (feel-scala), with its parameter names.
    ("get or else", &[&["value", "default"]]),
    ("assert", &[&["value", "condition", "cause"]]),
    ("extract", &[&["input", "pattern"], &["string", "pattern"]]),
    ("trim", &[&["string"]]),
    ("is blank", &[&["string"]]),
    ("is empty", &[&["list"]]),
    ("to base64", &[&["value"]]),
    ("from base64", &[&["value"]]),
    ("duplicate values", &[&["list"]]),
    ("partition", &[&["list", "size"]]),
    ("last day of month", &[&["date"]]),
    ("from json", &[&["json"], &["value"]]),
    ("to json", &[&["value"]]),
    ("and", &[&["list"]]),
    ("or", &[&["list"]]),
    (
        "put",
        &[&["context", "key", "value"], &["context", "keys", "value"]],
    ),
    ("put all", &[&["contexts"]]),
];

/// The parameter names Camunda's FEEL gives standard functions besides the
/// spec's, tried first in the Camunda dialect.
const CAMUNDA_SIGS: &[(&str, &[&[&str]])] = &[
    (
        "get value",
        &[&["context", "key"], &["context", "keys"], &["m", "keys"]],
    ),
    ("get entries", &[&["context"]]),
    ("union", &[&["lists"]]),
    ("abs", &[&["number"]]),
    ("date and time", &[&["date", "timezone"]]),
];

/// A number rounded to the nearest double, as Camunda's FEEL computes
/// logarithms, exponentials, standard deviations and fractional powers.
pub fn as_double(v: Value) -> Value {
    match v {
        Value::Number(n) => Number::from_f64(n.to_f64()).map_or(v, Value::Number),
        other => other,
    }
}

/// The signature entry of a built-in, by name (hashed: names are looked
/// up at every call and every unresolved name).
fn sig(name: &str) -> Option<&'static (&'static str, &'static [&'static [&'static str]])> {
    static INDEX: std::sync::LazyLock<std::collections::HashMap<&'static str, usize>> =
        std::sync::LazyLock::new(|| SIGS.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect());
    INDEX.get(name).map(|&i| &SIGS[i])
}

/// Canonical static name of a built-in function.
pub fn canonical(name: &str) -> Option<&'static str> {
    sig(name).map(|(n, _)| *n)
}

/// Orders named arguments by the matching signature variant.
pub fn order_named(
    name: &str,
    args: Vec<(String, Value)>,
    dialect: crate::feel::Dialect,
) -> Result<Vec<Value>, Value> {
    let Some((_, variants)) = sig(name) else {
        return Err(Value::null(format!("no function named '{name}'")));
    };
    let camunda = CAMUNDA_SIGS
        .iter()
        .filter(|_| dialect.camunda_parameter_names())
        .filter(|(n, _)| *n == name)
        .flat_map(|(_, v)| v.iter());
    'v: for params in camunda.chain(variants.iter()) {
        for (n, _) in &args {
            if !params.contains(&n.as_str()) {
                continue 'v;
            }
        }
        let mut out: Vec<Value> = Vec::new();
        let last = params
            .iter()
            .rposition(|p| args.iter().any(|(n, _)| n == p));
        if let Some(last) = last {
            for p in &params[..=last] {
                out.push(
                    args.iter()
                        .find(|(n, _)| n == p)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                );
            }
        }
        if name == "is" {
            out.resize(2, Value::Null(None));
        }
        // Camunda's `union(lists: [...])` names the list of its arguments.
        if name == "union"
            && params == &["lists"]
            && let [Value::List(lists)] = out.as_slice()
        {
            return Ok(lists.clone());
        }
        if name == "context put"
            && args
                .iter()
                .any(|(n, v)| n == "key" && matches!(v, Value::List(_)))
        {
            return Err(Value::null(
                "context put: 'key' must be a string, use 'keys' for a path",
            ));
        }
        return Ok(out);
    }
    Err(Value::null(format!(
        "{name}: expected parameter names of the spec, found {:?}",
        args.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    )))
}

fn null(msg: impl Into<String>) -> Value {
    Value::null(msg)
}

fn want(name: &str, what: &str, v: &Value) -> Value {
    null(format!("{name}: expected {what}, found {}", v.kind()))
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Option<Value> {
    if args.len() < min || args.len() > max {
        Some(null(format!(
            "{name}: expected {min}..{max} arguments, found {}",
            args.len()
        )))
    } else {
        None
    }
}

/// Arguments of a list-or-varargs function (`min([1,2])` or `min(1, 2)`).
fn list_arg(args: Vec<Value>) -> Option<Vec<Value>> {
    match args.len() {
        0 => None,
        1 => match args.into_iter().next() {
            Some(Value::List(l)) => Some(l),
            Some(Value::Null(_)) => None,
            Some(v) => Some(vec![v]),
            None => None,
        },
        _ => Some(args),
    }
}

fn n_arg(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

fn int_arg(v: &Value) -> Option<i64> {
    n_arg(v).and_then(|n| n.to_i64())
}

fn s_arg(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Calls a built-in function with positional arguments.
pub fn call(ev: &mut Evaluator, name: &str, args: Vec<Value>, scope: &mut Scope) -> Value {
    if !ev.step(1 + args.len() as u64) {
        return null("evaluation aborted");
    }
    // §10.3.2.9.4: a singleton list is accepted where a single value is
    // expected (functions whose parameters are not lists).
    const SCALAR: &[&str] = &[
        "substring",
        "string length",
        "upper case",
        "lower case",
        "substring before",
        "substring after",
        "replace",
        "contains",
        "starts with",
        "ends with",
        "matches",
        "split",
        "decimal",
        "floor",
        "ceiling",
        "round up",
        "round down",
        "round half up",
        "round half down",
        "abs",
        "modulo",
        "sqrt",
        "log",
        "exp",
        "odd",
        "even",
        "day of year",
        "day of week",
        "month of year",
        "week of year",
        "date",
        "time",
        "date and time",
        "number",
        "duration",
        "years and months duration",
    ];
    let args: Vec<Value> = if SCALAR.contains(&name) {
        args.into_iter()
            .map(|a| match a {
                Value::List(mut l) if l.len() == 1 => l.pop().unwrap_or_default(),
                other => other,
            })
            .collect()
    } else {
        args
    };
    match name {
        "not" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::Bool(b) => Value::Bool(!b),
                _ => null("not: expected a boolean"),
            }
        }
        "is" => {
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            Value::Bool(is_same(&args[0], &args[1]))
        }
        // Camunda's FEEL (feel-scala): false for a variable or path that
        // does not exist (a null with a reason), true otherwise — a
        // variable holding null is defined.
        // and, since feel-scala 1.17, false for null too.
        "is defined" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::Null(_) if !ev.dialect().null_is_defined() => Value::Bool(false),
                v => Value::Bool(!matches!(v, Value::Null(Some(_)))),
            }
        }
        "get or else" | "assert" | "extract" | "trim" | "is blank" | "is empty" | "to base64"
        | "from base64" | "duplicate values" | "partition" | "last day of month" | "from json"
        | "to json" => camunda::call(ev, name, args),
        // Camunda's older names for all, any, context put, context merge.
        "string" if ev.dialect().camunda_string_format() => match args.as_slice() {
            [Value::Null(_)] => Value::Null(None),
            [v] => Value::String(camunda::string(v)),
            _ => null(format!("string: expected 1 argument, found {}", args.len())),
        },
        // Camunda's FEEL computes these in doubles.
        "log" | "exp" | "stddev" if ev.dialect().computes_in_doubles() => {
            let r = if name == "stddev" {
                list_fn(ev, name, args)
            } else {
                numeric(name, args)
            };
            as_double(r)
        }
        "and" => list_fn(ev, "all", args),
        "or" => list_fn(ev, "any", args),
        "put" => context_fn("context put", args, ev.dialect()),
        "put all" => context_fn("context merge", args, ev.dialect()),
        "date"
        | "date and time"
        | "time"
        | "number"
        | "string"
        | "duration"
        | "years and months duration" => conversion(name, args),
        "now" | "today" if !args.is_empty() => null(format!("{name}: expected no arguments")),
        "now" => match ev.now().and_then(FeelDateTime::at_millis) {
            Some(t) => Value::DateTime(t),
            None => null("now(): expected the evaluation to be given a clock, found none"),
        },
        "today" => match ev.now().and_then(temporal::Date::at_millis) {
            Some(d) => Value::Date(d),
            None => null("today(): expected the evaluation to be given a clock, found none"),
        },
        // The prefix and suffix of `string join` are Camunda's.
        "string join" if args.len() > 2 && !ev.dialect().camunda_parameter_names() => null(
            format!("string join: expected 1..2 arguments, found {}", args.len()),
        ),
        "substring" | "string length" | "upper case" | "lower case" | "substring before"
        | "substring after" | "replace" | "contains" | "starts with" | "ends with" | "matches"
        | "split" | "string join" => string_fn(name, args),
        "decimal" | "floor" | "ceiling" | "round up" | "round down" | "round half up"
        | "round half down" | "abs" | "modulo" | "sqrt" | "log" | "exp" | "odd" | "even" => {
            numeric(name, args)
        }
        "day of year" | "day of week" | "month of year" | "week of year" => date_fn(name, args),
        "before" | "after" | "meets" | "met by" | "overlaps" | "overlaps before"
        | "overlaps after" | "finishes" | "finished by" | "includes" | "during" | "starts"
        | "started by" | "coincides" => range_fn(name, args),
        "range" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::String(s) => range_from_string(ev, s),
                v => want(name, "a string", v),
            }
        }
        "get value" | "get entries" | "context" | "context put" | "context merge" => {
            context_fn(name, args, ev.dialect())
        }
        "sort" => sort(ev, args, scope),
        "list replace" => list_replace(ev, args, scope),
        _ => list_fn(ev, name, args),
    }
}

fn is_same(a: &Value, b: &Value) -> bool {
    if a.kind() != b.kind() {
        return false;
    }
    match (a, b) {
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::DateTime(x), Value::DateTime(y)) => x == y,
        _ => a.feel_eq(b) == Some(true),
    }
}

fn conversion(name: &str, args: Vec<Value>) -> Value {
    match name {
        "date" => match args.as_slice() {
            [Value::String(s)] => temporal::parse_date(s)
                .map(Value::Date)
                .unwrap_or_else(|| null(format!("date: expected YYYY-MM-DD, found \"{s}\""))),
            [Value::Date(d)] => Value::Date(*d),
            [Value::DateTime(dt)] => Value::Date(dt.date),
            [y, m, d] => match (int_arg(y), int_arg(m), int_arg(d)) {
                (Some(y), Some(m), Some(d)) => temporal::Date::new(y, m, d)
                    .map(Value::Date)
                    .unwrap_or_else(|| null("date: invalid date")),
                _ => null("date: expected integer year, month and day"),
            },
            [v] => want(name, "a string, date or date and time", v),
            _ => null("date: expected 1 or 3 arguments"),
        },
        "date and time" => match args.as_slice() {
            [Value::String(s)] => temporal::parse_date_time(s)
                .map(Value::DateTime)
                .unwrap_or_else(|| null(format!("date and time: invalid \"{s}\""))),
            [Value::DateTime(d)] => Value::DateTime(d.clone()),
            [Value::Date(d)] => Value::DateTime(date_as_dt(d, None)),
            [d, Value::Time(t)] => {
                let date = match d {
                    Value::Date(d) => *d,
                    Value::DateTime(dt) => dt.date,
                    v => return want(name, "a date", v),
                };
                Value::DateTime(FeelDateTime {
                    date,
                    time: t.time,
                    tz: t.tz.clone(),
                })
            }
            // Camunda's form: the same instant in another zone.
            [Value::DateTime(dt), Value::String(zone)] => match temporal::Tz::parse(zone) {
                Some(tz) => dt
                    .in_zone(tz)
                    .map_or_else(|| null("date and time: out of range"), Value::DateTime),
                None => null(format!(
                    "date and time: expected a zone id or offset, found \"{zone}\""
                )),
            },
            [v] => want(name, "a string", v),
            _ => null("date and time: expected (from) or (date, time)"),
        },
        "time" => match args.as_slice() {
            [Value::String(s)] => temporal::parse_time(s)
                .map(Value::Time)
                .unwrap_or_else(|| null(format!("time: invalid \"{s}\""))),
            [Value::Time(t)] => Value::Time(t.clone()),
            [Value::DateTime(dt)] => Value::Time(FeelTime {
                time: dt.time,
                tz: dt.tz.clone(),
            }),
            [Value::Date(_)] => Value::Time(FeelTime {
                time: jiff::civil::Time::midnight(),
                tz: Some(Tz::Offset(0)),
            }),
            [h, m, s] | [h, m, s, _] => {
                let (Some(h), Some(m), Some(s)) = (int_arg(h), int_arg(m), n_arg(s)) else {
                    return null("time: expected numbers");
                };
                let whole = s.round(0, Rounding::Floor).and_then(|w| w.to_i64());
                let Some(whole) = whole else {
                    return null("time: bad seconds");
                };
                let frac = s
                    .sub(&Number::from(whole))
                    .and_then(|f| f.mul(&Number::from(1_000_000_000i64)))
                    .and_then(|f| f.trunc_i64())
                    .unwrap_or(0);
                let tz = match args.get(3) {
                    None | Some(Value::Null(_)) => None,
                    Some(Value::DtDuration(d)) => match temporal::tz_from_offset_nanos(*d) {
                        Some(t) => Some(t),
                        None => return null("time: invalid offset"),
                    },
                    Some(v) => return want(name, "a days and time duration offset", v),
                };
                match (i8::try_from(h), i8::try_from(m), i8::try_from(whole)) {
                    (Ok(h), Ok(m), Ok(sec)) => match jiff::civil::Time::new(h, m, sec, frac as i32)
                    {
                        Ok(t) => Value::Time(FeelTime { time: t, tz }),
                        Err(_) => null("time: out of range"),
                    },
                    _ => null("time: out of range"),
                }
            }
            [v] => want(name, "a string", v),
            _ => null("time: wrong arguments"),
        },
        "number" => {
            if let Some(e) = arity(name, &args, 1, 3) {
                return e;
            }
            let Some(s) = s_arg(&args[0]) else {
                return want(name, "a string", &args[0]);
            };
            let g = args.get(1).cloned().unwrap_or_default();
            let d = args.get(2).cloned().unwrap_or_default();
            let g = match &g {
                Value::Null(_) => None,
                Value::String(x) if [" ", ",", "."].contains(&x.as_str()) => Some(x.clone()),
                _ => return null("number: grouping separator must be ' ', ',' or '.'"),
            };
            let d = match &d {
                Value::Null(_) => None,
                Value::String(x) if [",", "."].contains(&x.as_str()) => Some(x.clone()),
                _ => return null("number: decimal separator must be ',' or '.'"),
            };
            if g.is_some() && g == d {
                return null("number: separators must differ");
            }
            let mut t = s.to_string();
            if let Some(g) = &g {
                t = t.replace(g.as_str(), "");
            }
            if let Some(d) = &d {
                t = t.replace(d.as_str(), ".");
            }
            Number::parse(&t)
                .map(Value::Number)
                .unwrap_or_else(|| null(format!("number: cannot read \"{s}\"")))
        }
        "string" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::Null(_) => Value::Null(None),
                v => Value::String(v.to_string()),
            }
        }
        "duration" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::String(s) => match temporal::parse_duration(s) {
                    Some(Ok(m)) => Value::YmDuration(m),
                    Some(Err(n)) => Value::DtDuration(n),
                    None => null(format!("duration: invalid \"{s}\"")),
                },
                v @ (Value::DtDuration(_) | Value::YmDuration(_)) => v.clone(),
                v => want(name, "a string", v),
            }
        }
        _ => {
            // years and months duration
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            let dt = |v: &Value| match v {
                Value::Date(d) => Some(*d),
                Value::DateTime(d) => Some(d.date),
                _ => None,
            };
            match (dt(&args[0]), dt(&args[1])) {
                (Some(a), Some(b)) => Value::YmDuration(temporal::months_between(a, b)),
                _ => null("years and months duration: expected dates"),
            }
        }
    }
}

/// Calls a function value from outside an expression (used by the DMN layer).
pub fn invoke(ev: &mut Evaluator, f: &Function, args: Vec<Value>) -> Value {
    let mut scope = Scope::new();
    ev.call(f, args, &mut scope)
}

/// Builds a range value (used by tests and the DMN layer).
pub fn range(start: Option<Value>, si: bool, end: Option<Value>, ei: bool) -> Value {
    make_range(start, si, end, ei)
}
