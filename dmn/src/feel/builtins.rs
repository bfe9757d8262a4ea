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
    ("string join", &[&["list", "delimiter"]]),
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
    ("decimal", &[&["n", "scale"]]),
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
];

/// Canonical static name of a built-in function.
pub fn canonical(name: &str) -> Option<&'static str> {
    SIGS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n)
}

/// Orders named arguments by the matching signature variant.
pub fn order_named(name: &str, args: Vec<(String, Value)>) -> Result<Vec<Value>, Value> {
    let Some((_, variants)) = SIGS.iter().find(|(n, _)| *n == name) else {
        return Err(Value::null(format!("no function named '{name}'")));
    };
    'v: for params in variants.iter() {
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
        "is defined" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            Value::Bool(!matches!(args[0], Value::Null(Some(_))))
        }
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
            context_fn(name, args)
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

fn chars_sub(s: &str, start: i64, len: Option<i64>) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let st = if start > 0 {
        start - 1
    } else if start < 0 {
        n + start
    } else {
        return None;
    };
    if st < 0 || st > n {
        return None;
    }
    let end = match len {
        Some(l) if l < 0 => return None,
        Some(l) => st.saturating_add(l).min(n),
        None => n,
    };
    Some(chars[st as usize..end.max(st) as usize].iter().collect())
}

/// Translates an XSD/XPath regular expression and flags into `regex` syntax.
/// A compiled XSD regular expression: the linear-time `regex` engine, or the
/// backtracking `fancy-regex` engine (with its backtrack limit) when the
/// pattern uses back-references.
enum XsdRegex {
    Plain(regex::Regex),
    Backtracking(Box<fancy_regex::Regex>),
}

impl XsdRegex {
    fn is_match(&self, s: &str) -> Result<bool, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.is_match(s)),
            XsdRegex::Backtracking(r) => r.is_match(s).map_err(|e| e.to_string()),
        }
    }

    fn replace_all(&self, s: &str, rep: &str) -> Result<String, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.replace_all(s, rep).into_owned()),
            XsdRegex::Backtracking(r) => r
                .try_replacen(s, 0, rep)
                .map(|c| c.into_owned())
                .map_err(|e| e.to_string()),
        }
    }

    fn split(&self, s: &str) -> Result<Vec<String>, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.split(s).map(str::to_string).collect()),
            XsdRegex::Backtracking(r) => r
                .split(s)
                .map(|p| p.map(str::to_string).map_err(|e| e.to_string()))
                .collect(),
        }
    }
}

fn xsd_regex(pattern: &str, flags: &str) -> Result<XsdRegex, String> {
    let mut prefix = String::new();
    let (mut literal, mut extended, mut dot_all) = (false, false, false);
    for f in flags.chars() {
        match f {
            's' | 'm' | 'i' => {
                if !prefix.contains(f) {
                    prefix.push(f);
                }
                dot_all |= f == 's';
            }
            'x' => extended = true,
            'q' => literal = true,
            other => {
                return Err(format!(
                    "expected regex flags from 'smixq', found '{other}'"
                ));
            }
        }
    }
    let body = if literal {
        (regex::escape(pattern), false)
    } else if extended {
        translate_xsd(&strip_ws(pattern), false, dot_all)?
    } else {
        translate_xsd(pattern, false, dot_all)?
    };
    let (body, backrefs) = body;
    let full = if prefix.is_empty() {
        body
    } else {
        format!("(?{prefix}){body}")
    };
    if backrefs {
        return fancy_regex::RegexBuilder::new(&full)
            .backtrack_limit(100_000)
            .build()
            .map(|r| XsdRegex::Backtracking(Box::new(r)))
            .map_err(|e| e.to_string());
    }
    regex::RegexBuilder::new(&full)
        .size_limit(1 << 20)
        .build()
        .map(XsdRegex::Plain)
        .map_err(|e| e.to_string())
}

/// The `x` flag: whitespace outside character classes is removed before the
/// expression is read (XPath 3.1 §5.6.1).
fn strip_ws(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in p.chars() {
        if depth == 0 && matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ => {}
        }
    }
    out
}

/// Translates XSD/XPath regular-expression syntax into `regex` syntax:
/// `.` excludes CR and LF, class subtraction `[a-z-[aeiou]]`, `\i`/`\c`,
/// `\p{IsBlock}` for the Basic Latin and Latin-1 blocks, and the `x` flag's
/// whitespace removal outside character classes.
fn translate_xsd(p: &str, extended: bool, dot_all: bool) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut backrefs = false;
    let mut depth = 0usize;
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        if extended && depth == 0 && matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        match c {
            '\\' => {
                let Some(e) = it.next() else {
                    return Err("regex ends with '\\'".into());
                };
                match e {
                    'p' | 'P' if it.peek() == Some(&'{') => {
                        it.next();
                        let mut name = String::new();
                        for x in it.by_ref() {
                            if x == '}' {
                                break;
                            }
                            if !(extended && x.is_whitespace()) {
                                name.push(x);
                            }
                        }
                        let class = match name.as_str() {
                            "IsBasicLatin" => Some(r"\x00-\x7F"),
                            "IsLatin-1Supplement" => Some(r"\x80-\xFF"),
                            n if n.starts_with("Is") => {
                                return Err(format!("Unicode block {n} is not supported"));
                            }
                            _ => None,
                        };
                        match (class, e, depth) {
                            (Some(r), 'p', 0) => out.push_str(&format!("[{r}]")),
                            (Some(r), 'P', 0) => out.push_str(&format!("[^{r}]")),
                            (Some(r), 'p', _) => out.push_str(r),
                            (Some(_), _, _) => return Err("negated block inside a class".into()),
                            (None, _, _) => out.push_str(&format!("\\{e}{{{name}}}")),
                        }
                    }
                    'i' => out.push_str(if depth == 0 { r"[\p{L}_:]" } else { r"\p{L}_:" }),
                    'c' => out.push_str(if depth == 0 {
                        r"[\p{L}\p{Nd}._:\-]"
                    } else {
                        r"\p{L}\p{Nd}._:\-"
                    }),
                    d if d.is_ascii_digit() && depth == 0 => {
                        backrefs = true;
                        out.push('\\');
                        out.push(d);
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                if depth > 0 && out.ends_with('-') {
                    out.push('-');
                }
                depth += 1;
                out.push('[');
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(']');
            }
            '.' if depth == 0 && !dot_all => out.push_str(r"[^\n\r]"),
            '(' if it.peek() == Some(&'?') => {
                return Err("'(?' is not XSD regular-expression syntax".into());
            }
            other => out.push(other),
        }
    }
    Ok((out, backrefs))
}

fn xsd_replacement(r: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = r.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(x @ ('\\' | '$')) => {
                    if x == '$' {
                        out.push_str("$$");
                    } else {
                        out.push('\\');
                    }
                }
                _ => return None,
            },
            '$' => {
                let mut d = String::new();
                while let Some(x) = it.peek().copied().filter(|x| x.is_ascii_digit()) {
                    d.push(x);
                    it.next();
                }
                if d.is_empty() {
                    return None;
                }
                out.push_str(&format!("${{{d}}}"));
            }
            c => out.push(c),
        }
    }
    Some(out)
}

fn string_fn(name: &str, args: Vec<Value>) -> Value {
    let ranges: (usize, usize) = match name {
        "substring" => (2, 3),
        "string length" | "upper case" | "lower case" => (1, 1),
        "replace" => (3, 4),
        "matches" => (2, 3),
        "string join" => (1, 2),
        _ => (2, 2),
    };
    if let Some(e) = arity(name, &args, ranges.0, ranges.1) {
        return e;
    }
    if name == "string join" {
        let items = match &args[0] {
            Value::List(l) => l.clone(),
            Value::String(s) => vec![Value::String(s.clone())],
            v => return want(name, "a list", v),
        };
        let items = &items;
        let delim = match args.get(1) {
            None | Some(Value::Null(_)) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return want(name, "a string delimiter", v),
        };
        let mut parts = Vec::new();
        for i in items {
            match i {
                Value::String(s) => parts.push(s.clone()),
                Value::Null(_) => {}
                v => return want(name, "a list of strings", v),
            }
        }
        return Value::String(parts.join(&delim));
    }
    let Some(s) = s_arg(&args[0]) else {
        return want(name, "a string", &args[0]);
    };
    match name {
        "substring" => {
            let Some(start) = n_arg(&args[1]) else {
                return want(name, "a number", &args[1]);
            };
            let start = start.trunc_i64();
            let len = match args.get(2) {
                None => None,
                Some(Value::Number(n)) => match n.trunc_i64() {
                    Some(l) => Some(l),
                    None => return null("substring: bad length"),
                },
                Some(v) => return want(name, "a number", v),
            };
            match start.and_then(|st| chars_sub(s, st, len)) {
                Some(r) => Value::String(r),
                None => null("substring: start position out of range"),
            }
        }
        "string length" => Value::int(s.chars().count() as i64),
        "upper case" => Value::String(s.to_uppercase()),
        "lower case" => Value::String(s.to_lowercase()),
        "replace" | "matches" => {
            let Some(p) = s_arg(&args[1]) else {
                return want(name, "a pattern string", &args[1]);
            };
            let fl_idx = if name == "replace" { 3 } else { 2 };
            let flags = match args.get(fl_idx) {
                None | Some(Value::Null(_)) => "",
                Some(Value::String(f)) => f.as_str(),
                Some(v) => return want(name, "a flags string", v),
            };
            let re = match xsd_regex(p, flags) {
                Ok(r) => r,
                Err(e) => return null(format!("{name}: {e}")),
            };
            if name == "matches" {
                return match re.is_match(s) {
                    Ok(b) => Value::Bool(b),
                    Err(e) => null(format!("matches: {e}")),
                };
            }
            let Some(r) = s_arg(&args[2]) else {
                return want(name, "a replacement string", &args[2]);
            };
            if re.is_match("").unwrap_or(true) {
                return null("replace: pattern matches the empty string");
            }
            let rep = if flags.contains('q') {
                r.replace('$', "$$")
            } else {
                match xsd_replacement(r) {
                    Some(x) => x,
                    None => return null("replace: invalid replacement string"),
                }
            };
            match re.replace_all(s, rep.as_str()) {
                Ok(r) => Value::String(r),
                Err(e) => null(format!("replace: {e}")),
            }
        }
        "split" => {
            let Some(d) = s_arg(&args[1]) else {
                return want(name, "a delimiter string", &args[1]);
            };
            let re = match xsd_regex(d, "") {
                Ok(r) => r,
                Err(e) => return null(format!("split: {e}")),
            };
            match re.split(s) {
                Ok(parts) => Value::List(parts.into_iter().map(Value::String).collect()),
                Err(e) => null(format!("split: {e}")),
            }
        }
        _ => {
            let Some(m) = s_arg(&args[1]) else {
                return want(name, "a string", &args[1]);
            };
            match name {
                "substring before" => {
                    Value::String(s.find(m).map(|i| s[..i].to_string()).unwrap_or_default())
                }
                "substring after" => Value::String(
                    s.find(m)
                        .map(|i| s[i + m.len()..].to_string())
                        .unwrap_or_default(),
                ),
                "contains" => Value::Bool(s.contains(m)),
                "starts with" => Value::Bool(s.starts_with(m)),
                _ => Value::Bool(s.ends_with(m)),
            }
        }
    }
}

fn numeric(name: &str, args: Vec<Value>) -> Value {
    let (lo, hi) = match name {
        "decimal" | "round up" | "round down" | "round half up" | "round half down" | "modulo" => {
            (2, 2)
        }
        "floor" | "ceiling" => (1, 2),
        _ => (1, 1),
    };
    if let Some(e) = arity(name, &args, lo, hi) {
        return e;
    }
    let Some(n) = n_arg(&args[0]) else {
        if name == "abs" {
            return match &args[0] {
                Value::DtDuration(d) => Value::DtDuration(d.abs()),
                Value::YmDuration(m) => Value::YmDuration(m.abs()),
                v => want(name, "a number", v),
            };
        }
        return want(name, "a number", &args[0]);
    };
    let fin = |r: Option<Number>| {
        r.map(Value::Number)
            .unwrap_or_else(|| null(format!("{name}: result is not a finite number")))
    };
    let scale = || -> Result<i64, Value> {
        match args.get(1) {
            None => Ok(0),
            Some(Value::Number(s)) => match s.trunc_i64() {
                Some(i) if (-6111..=6176).contains(&i) => Ok(i),
                _ => Err(null(format!(
                    "{name}: scale must be an integer in -6111..6176"
                ))),
            },
            Some(v) => Err(want(name, "a number scale", v)),
        }
    };
    let mode = match name {
        "decimal" => Some(Rounding::HalfEven),
        "floor" => Some(Rounding::Floor),
        "ceiling" => Some(Rounding::Ceiling),
        "round up" => Some(Rounding::Up),
        "round down" => Some(Rounding::Down),
        "round half up" => Some(Rounding::HalfUp),
        "round half down" => Some(Rounding::HalfDown),
        _ => None,
    };
    if let Some(mode) = mode {
        return match scale() {
            Ok(s) => fin(n.round(s, mode)),
            Err(e) => e,
        };
    }
    match name {
        "abs" => Value::Number(n.abs()),
        "modulo" => match n_arg(&args[1]) {
            Some(d) if d.is_zero() => null("modulo: division by zero"),
            Some(d) => fin(n.modulo(&d)),
            None => want(name, "a number divisor", &args[1]),
        },
        "sqrt" => fin(n.sqrt()),
        "log" => fin(n.ln()),
        "exp" => fin(n.exp()),
        "odd" | "even" => {
            if !n.is_integer() {
                return null(format!("{name}: expected an integer"));
            }
            let r = n
                .modulo(&Number::from(2i64))
                .map(|r| r.is_zero())
                .unwrap_or(false);
            Value::Bool(if name == "even" { r } else { !r })
        }
        _ => null(format!("unknown function {name}")),
    }
}

fn date_fn(name: &str, args: Vec<Value>) -> Value {
    if let Some(e) = arity(name, &args, 1, 1) {
        return e;
    }
    let d = match &args[0] {
        Value::Date(d) => *d,
        Value::DateTime(dt) => dt.date,
        v => return want(name, "a date", v),
    };
    match name {
        "day of year" => Value::int(d.day_of_year() as i64),
        "day of week" => Value::String(
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ][(d.weekday() - 1) as usize]
                .into(),
        ),
        "month of year" => Value::String(
            [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ][(d.month() - 1) as usize]
                .into(),
        ),
        _ => Value::int(d.iso_week() as i64),
    }
}

// ----- ranges -----

#[derive(Clone, Copy)]
enum Ext<'a> {
    Neg,
    V(&'a Value),
    Pos,
}

fn ext_cmp(a: Ext, b: Ext) -> Option<Ordering> {
    match (a, b) {
        (Ext::Neg, Ext::Neg) | (Ext::Pos, Ext::Pos) => Some(Ordering::Equal),
        (Ext::Neg, _) | (_, Ext::Pos) => Some(Ordering::Less),
        (_, Ext::Neg) | (Ext::Pos, _) => Some(Ordering::Greater),
        (Ext::V(x), Ext::V(y)) => x.feel_cmp(y),
    }
}

struct R<'a> {
    s: Ext<'a>,
    si: bool,
    e: Ext<'a>,
    ei: bool,
}

fn as_r(v: &Value) -> Option<R<'_>> {
    match v {
        Value::Range(r) => Some(R {
            s: r.start.value.as_ref().map(Ext::V).unwrap_or(Ext::Neg),
            si: r.start.inclusive,
            e: r.end.value.as_ref().map(Ext::V).unwrap_or(Ext::Pos),
            ei: r.end.inclusive,
        }),
        Value::Null(_)
        | Value::List(_)
        | Value::Context(_)
        | Value::Function(_)
        | Value::Bool(_) => None,
        p => Some(R {
            s: Ext::V(p),
            si: true,
            e: Ext::V(p),
            ei: true,
        }),
    }
}

fn range_fn(name: &str, args: Vec<Value>) -> Value {
    if let Some(e) = arity(name, &args, 2, 2) {
        return e;
    }
    let (Some(a), Some(b)) = (as_r(&args[0]), as_r(&args[1])) else {
        return null(format!("{name}: expected points or ranges"));
    };
    let a_pt = !matches!(args[0], Value::Range(_));
    let b_pt = !matches!(args[1], Value::Range(_));
    let c = |x: Ext, y: Ext| ext_cmp(x, y);
    macro_rules! t {
        ($e:expr) => {
            match (|| -> Option<bool> { Some($e) })() {
                Some(b) => Value::Bool(b),
                None => null(format!("{name}: incomparable arguments")),
            }
        };
    }
    use Ordering::*;
    let before = |a: &R, b: &R| -> Option<bool> {
        let o = c(a.e, b.s)?;
        Some(o == Less || (o == Equal && !(a.ei && b.si)))
    };
    match name {
        "before" => t!(before(&a, &b)?),
        "after" => t!(before(&b, &a)?),
        "meets" | "met by" => {
            if a_pt || b_pt {
                return null(format!("{name}: expected ranges"));
            }
            let (x, y) = if name == "meets" { (&a, &b) } else { (&b, &a) };
            t!(x.ei && y.si && c(x.e, y.s)? == Equal)
        }
        "overlaps" => {
            if a_pt || b_pt {
                return null(format!("{name}: expected ranges"));
            }
            t!({
                let o1 = c(a.e, b.s)?;
                let o2 = c(a.s, b.e)?;
                (o1 == Greater || (o1 == Equal && a.ei && b.si))
                    && (o2 == Less || (o2 == Equal && a.si && b.ei))
            })
        }
        "overlaps before" | "overlaps after" => {
            if a_pt || b_pt {
                return null(format!("{name}: expected ranges"));
            }
            let (x, y) = if name == "overlaps before" {
                (&a, &b)
            } else {
                (&b, &a)
            };
            t!({
                let ss = c(x.s, y.s)?;
                let es = c(x.e, y.s)?;
                let ee = c(x.e, y.e)?;
                (ss == Less || (ss == Equal && x.si && !y.si))
                    && (es == Greater || (es == Equal && x.ei && y.si))
                    && (ee == Less || (ee == Equal && (!x.ei || y.ei)))
            })
        }
        "finishes" | "finished by" => {
            let (x, y, xpt, ypt) = if name == "finishes" {
                (&a, &b, a_pt, b_pt)
            } else {
                (&b, &a, b_pt, a_pt)
            };
            if ypt {
                return null(format!("{name}: expected a range"));
            }
            if xpt {
                t!(y.ei && c(x.e, y.e)? == Equal)
            } else {
                t!({
                    let ss = c(x.s, y.s)?;
                    x.ei == y.ei
                        && c(x.e, y.e)? == Equal
                        && (ss == Greater || (ss == Equal && (!x.si || y.si)))
                })
            }
        }
        "includes" | "during" => {
            let (x, y, xpt, ypt) = if name == "includes" {
                (&a, &b, a_pt, b_pt)
            } else {
                (&b, &a, b_pt, a_pt)
            };
            if xpt {
                return null(format!("{name}: expected a range"));
            }
            if ypt {
                let Value::Range(r) = (if name == "includes" {
                    &args[0]
                } else {
                    &args[1]
                }) else {
                    return null("range expected");
                };
                let p = if name == "includes" {
                    &args[1]
                } else {
                    &args[0]
                };
                return range_contains(r, p);
            }
            t!({
                let ss = c(x.s, y.s)?;
                let ee = c(x.e, y.e)?;
                (ss == Less || (ss == Equal && (x.si || !y.si)))
                    && (ee == Greater || (ee == Equal && (x.ei || !y.ei)))
            })
        }
        "starts" | "started by" => {
            let (x, y, xpt, ypt) = if name == "starts" {
                (&a, &b, a_pt, b_pt)
            } else {
                (&b, &a, b_pt, a_pt)
            };
            if ypt {
                return null(format!("{name}: expected a range"));
            }
            if xpt {
                t!(y.si && c(x.s, y.s)? == Equal)
            } else {
                t!({
                    let ee = c(x.e, y.e)?;
                    x.si == y.si
                        && c(x.s, y.s)? == Equal
                        && (ee == Less || (ee == Equal && (!x.ei || y.ei)))
                })
            }
        }
        _ => {
            // coincides
            if a_pt != b_pt {
                return null("coincides: expected two points or two ranges");
            }
            t!(c(a.s, b.s)? == Equal && c(a.e, b.e)? == Equal && a.si == b.si && a.ei == b.ei)
        }
    }
}

fn range_from_string(ev: &mut Evaluator, s: &str) -> Value {
    let Ok(e) = super::parser::parse_expression(s, &[]) else {
        return null(format!("range: cannot parse \"{s}\""));
    };
    use super::ast::Expr;
    let literal_ok = |e: &Option<Box<Expr>>| match e.as_deref() {
        None => true,
        Some(Expr::Const(_)) => true,
        Some(Expr::Call(f, super::ast::Args::Positional(a))) => {
            matches!(f.as_ref(), Expr::Name(n) if ["date", "time", "date and time", "duration"].contains(&n.as_str()))
                && a.iter().all(|x| matches!(x, Expr::Const(Value::String(_))))
        }
        _ => false,
    };
    match &e {
        Expr::Range { start, end, .. } if literal_ok(start) && literal_ok(end) => {}
        _ => return null(format!("range: expected a range literal, found \"{s}\"")),
    }
    let mut scope = Scope::new();
    let v = ev.eval(&e, &mut scope);
    if let Value::Range(r) = &v {
        match (&r.start.value, &r.end.value) {
            (Some(a), Some(b)) if a.is_null() && b.is_null() => {
                return null("range: both ends are null");
            }
            (Some(a), Some(b)) if !a.is_null() && !b.is_null() => {
                if a.kind() != b.kind() {
                    return null("range: ends of different types");
                }
                if a.feel_cmp(b) == Some(Ordering::Greater) {
                    return null("range: start is after end");
                }
            }
            _ => {}
        }
    }
    v
}

fn context_fn(name: &str, args: Vec<Value>) -> Value {
    match name {
        "get value" => {
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            match (&args[0], &args[1]) {
                (Value::Context(c), Value::String(k)) => c.get(k).cloned().unwrap_or_default(),
                _ => null("get value: expected a context and a string key"),
            }
        }
        "get entries" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::Context(c) => Value::List(
                    c.entries
                        .iter()
                        .map(|(k, v)| {
                            Value::Context(Context {
                                entries: vec![
                                    ("key".into(), Value::String(k.clone())),
                                    ("value".into(), v.clone()),
                                ],
                            })
                        })
                        .collect(),
                ),
                v => want(name, "a context", v),
            }
        }
        "context" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            let items = match &args[0] {
                Value::List(l) => l.clone(),
                Value::Context(c) => vec![Value::Context(c.clone())],
                v => return want(name, "a list of entries", v),
            };
            let mut out = Context::new();
            for i in items {
                let Value::Context(e) = i else {
                    return null("context: expected entries {key, value}");
                };
                let (Some(Value::String(k)), Some(v)) = (e.get("key"), e.get("value")) else {
                    return null("context: entry needs a string 'key' and a 'value'");
                };
                if out.get(k).is_some() {
                    return null(format!("context: duplicate key '{k}'"));
                }
                out.put(k.clone(), v.clone());
            }
            Value::Context(out)
        }
        "context put" => {
            if let Some(e) = arity(name, &args, 3, 3) {
                return e;
            }
            let Value::Context(c) = &args[0] else {
                return want(name, "a context", &args[0]);
            };
            let keys: Vec<String> = match &args[1] {
                Value::String(k) => vec![k.clone()],
                Value::List(l) if !l.is_empty() => {
                    let mut ks = Vec::new();
                    for k in l {
                        match k {
                            Value::String(s) => ks.push(s.clone()),
                            _ => return null("context put: keys must be strings"),
                        }
                    }
                    ks
                }
                v => return want(name, "a key string or a non-empty list of keys", v),
            };
            fn put(c: &Context, keys: &[String], v: Value) -> Option<Context> {
                let mut c = c.clone();
                if keys.len() == 1 {
                    c.put(keys[0].clone(), v);
                    return Some(c);
                }
                let inner = match c.get(&keys[0]) {
                    Some(Value::Context(i)) => i.clone(),
                    None => Context::new(),
                    Some(_) => return None,
                };
                let n = put(&inner, &keys[1..], v)?;
                c.put(keys[0].clone(), Value::Context(n));
                Some(c)
            }
            match put(c, &keys, args[2].clone()) {
                Some(c) => Value::Context(c),
                None => null("context put: path goes through a non-context value"),
            }
        }
        _ => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            let l = match &args[0] {
                Value::List(l) => l.clone(),
                Value::Context(c) => vec![Value::Context(c.clone())],
                v => return want(name, "a list of contexts", v),
            };
            let mut out = Context::new();
            for c in l {
                let Value::Context(c) = c else {
                    return null("context merge: expected contexts");
                };
                for (k, v) in &c.entries {
                    out.put(k.clone(), v.clone());
                }
            }
            Value::Context(out)
        }
    }
}

/// Merge sort with a fallible comparator (never panics on inconsistent orders).
fn merge_sort(
    ev: &mut Evaluator,
    v: Vec<Value>,
    less: &mut dyn FnMut(&mut Evaluator, &Value, &Value) -> Option<bool>,
) -> Option<Vec<Value>> {
    if v.len() <= 1 {
        return Some(v);
    }
    let mut v = v;
    let right = v.split_off(v.len() / 2);
    let l = merge_sort(ev, v, less)?;
    let r = merge_sort(ev, right, less)?;
    let mut out = Vec::with_capacity(l.len() + r.len());
    let (mut i, mut j) = (0, 0);
    while i < l.len() && j < r.len() {
        if !ev.step(1) {
            return None;
        }
        if less(ev, &r[j], &l[i])? {
            out.push(r[j].clone());
            j += 1;
        } else {
            out.push(l[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&l[i..]);
    out.extend_from_slice(&r[j..]);
    Some(out)
}

fn sort(ev: &mut Evaluator, args: Vec<Value>, scope: &mut Scope) -> Value {
    if let Some(e) = arity("sort", &args, 1, 2) {
        return e;
    }
    let list = match &args[0] {
        Value::List(l) => l.clone(),
        Value::Null(_) => return null("sort: expected a list"),
        v => vec![v.clone()],
    };
    let r = match args.get(1) {
        None => merge_sort(ev, list, &mut |_, a, b| {
            Some(a.feel_cmp(b)? == Ordering::Less)
        }),
        Some(Value::Function(f)) => {
            let f = f.clone();
            merge_sort(ev, list, &mut |ev, a, b| match ev.call(
                &f,
                vec![a.clone(), b.clone()],
                scope,
            ) {
                Value::Bool(x) => Some(x),
                _ => None,
            })
        }
        Some(v) => return want("sort", "a precedes function", v),
    };
    r.map(Value::List)
        .unwrap_or_else(|| null("sort: elements are not comparable"))
}

fn list_replace(ev: &mut Evaluator, args: Vec<Value>, scope: &mut Scope) -> Value {
    if let Some(e) = arity("list replace", &args, 3, 3) {
        return e;
    }
    let mut l = match &args[0] {
        Value::List(l) => l.clone(),
        Value::Null(_) => return want("list replace", "a list", &args[0]),
        v => vec![v.clone()],
    };
    match &args[1] {
        Value::Number(n) => {
            let Some(i) = n.trunc_i64() else {
                return null("list replace: position must be an integer");
            };
            let len = l.len() as i64;
            let k = if i > 0 { i - 1 } else { len + i };
            if i == 0 || k < 0 || k >= len {
                return null("list replace: position out of range");
            }
            l[k as usize] = args[2].clone();
            Value::List(l)
        }
        Value::Function(f) => {
            for item in l.iter_mut() {
                match ev.call(f, vec![item.clone(), args[2].clone()], scope) {
                    Value::Bool(true) => *item = args[2].clone(),
                    Value::Bool(false) => {}
                    _ => return null("list replace: match function must return a boolean"),
                }
            }
            Value::List(l)
        }
        v => want("list replace", "a position or a match function", v),
    }
}

fn list_fn(ev: &mut Evaluator, name: &str, args: Vec<Value>) -> Value {
    match name {
        "min" | "max" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            if l.is_empty() {
                return Value::Null(None);
            }
            let mut best = l[0].clone();
            for v in &l[1..] {
                match v.feel_cmp(&best) {
                    Some(o) => {
                        if (name == "min" && o == Ordering::Less)
                            || (name == "max" && o == Ordering::Greater)
                        {
                            best = v.clone();
                        }
                    }
                    None => return null(format!("{name}: elements are not comparable")),
                }
            }
            if l.len() == 1 && best.feel_cmp(&best).is_none() {
                return null(format!("{name}: element is not comparable"));
            }
            best
        }
        "sum" | "mean" | "product" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            if l.is_empty() {
                return if name == "sum" {
                    Value::Null(None)
                } else {
                    null(format!("{name}: empty list"))
                };
            }
            let mut acc = if name == "product" {
                Number::one()
            } else {
                Number::zero()
            };
            for v in &l {
                let Value::Number(n) = v else {
                    return want(name, "numbers", v);
                };
                let r = if name == "product" {
                    acc.mul(n)
                } else {
                    acc.add(n)
                };
                match r {
                    Some(r) => acc = r,
                    None => return null(format!("{name}: overflow")),
                }
            }
            if name == "mean" {
                return acc
                    .div(&Number::from(l.len()))
                    .map(Value::Number)
                    .unwrap_or_else(|| null("mean: overflow"));
            }
            Value::Number(acc)
        }
        "all" | "any" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            let mut saw_null = false;
            for v in &l {
                match (name, v) {
                    ("all", Value::Bool(false)) => return Value::Bool(false),
                    ("any", Value::Bool(true)) => return Value::Bool(true),
                    (_, Value::Bool(_)) => {}
                    _ => saw_null = true,
                }
            }
            if saw_null {
                null(format!("{name}: non-boolean element"))
            } else {
                Value::Bool(name == "all")
            }
        }
        "median" | "stddev" | "mode" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            let mut nums = Vec::new();
            for v in &l {
                match v {
                    Value::Number(n) => nums.push(*n),
                    v => return want(name, "numbers", v),
                }
            }
            if nums.is_empty() {
                return if name == "mode" {
                    Value::List(vec![])
                } else {
                    Value::Null(None)
                };
            }
            nums.sort();
            match name {
                "median" => {
                    let k = nums.len();
                    if k % 2 == 1 {
                        Value::Number(nums[k / 2])
                    } else {
                        nums[k / 2 - 1]
                            .add(&nums[k / 2])
                            .and_then(|s| s.div(&Number::from(2i64)))
                            .map(Value::Number)
                            .unwrap_or_default()
                    }
                }
                "stddev" => {
                    if nums.len() < 2 {
                        return null("stddev: needs at least two numbers");
                    }
                    let k = Number::from(nums.len());
                    let mut sum = Number::zero();
                    for n in &nums {
                        sum = sum.add(n).unwrap_or(sum);
                    }
                    let Some(mean) = sum.div(&k) else {
                        return null("stddev: overflow");
                    };
                    let mut sq = Number::zero();
                    for n in &nums {
                        let d = n.sub(&mean).unwrap_or(Number::zero());
                        sq = sq.add(&d.mul(&d).unwrap_or(Number::zero())).unwrap_or(sq);
                    }
                    sq.div(&Number::from(nums.len() - 1))
                        .and_then(|v| v.sqrt())
                        .map(Value::Number)
                        .unwrap_or_default()
                }
                _ => {
                    let mut best: Vec<Number> = Vec::new();
                    let mut best_n = 0;
                    let mut i = 0;
                    while i < nums.len() {
                        let mut j = i;
                        while j < nums.len() && nums[j] == nums[i] {
                            j += 1;
                        }
                        let c = j - i;
                        if c > best_n {
                            best_n = c;
                            best = vec![nums[i]];
                        } else if c == best_n {
                            best.push(nums[i]);
                        }
                        i = j;
                    }
                    Value::List(best.into_iter().map(Value::Number).collect())
                }
            }
        }
        "concatenate" => {
            let mut out = Vec::new();
            for a in args {
                match a {
                    Value::List(l) => out.extend(l),
                    v => return want(name, "lists", &v),
                }
            }
            Value::List(out)
        }
        "union" => {
            let mut out: Vec<Value> = Vec::new();
            for a in args {
                let items = match a {
                    Value::List(l) => l,
                    v => vec![v],
                };
                for i in items {
                    if !ev.step(out.len() as u64 / 16 + 1) {
                        return null("evaluation aborted");
                    }
                    if !out.iter().any(|o| o.feel_eq(&i) == Some(true)) {
                        out.push(i);
                    }
                }
            }
            Value::List(out)
        }
        "append" => {
            if args.is_empty() {
                return null("append: expected a list");
            }
            let mut it = args.into_iter();
            let mut l = match it.next() {
                Some(Value::List(l)) => l,
                Some(v) => return want(name, "a list", &v),
                None => return null("append: expected a list"),
            };
            l.extend(it);
            Value::List(l)
        }
        _ => {
            let Some(first) = args.first() else {
                return null(format!("{name}: expected arguments"));
            };
            let l = match first {
                Value::List(l) => l.clone(),
                Value::Null(_) => return null(format!("{name}: expected a list, found null")),
                v => vec![v.clone()],
            };
            match name {
                "list contains" => {
                    if let Some(e) = arity(name, &args, 2, 2) {
                        return e;
                    }
                    Value::Bool(l.iter().any(|x| x.feel_eq(&args[1]) == Some(true)))
                }
                "count" => {
                    if let Some(e) = arity(name, &args, 1, 1) {
                        return e;
                    }
                    Value::int(l.len() as i64)
                }
                "sublist" => {
                    if let Some(e) = arity(name, &args, 2, 3) {
                        return e;
                    }
                    let Some(st) = int_arg(&args[1]) else {
                        return want(name, "an integer start", &args[1]);
                    };
                    let n = l.len() as i64;
                    let s0 = if st > 0 { st - 1 } else { n + st };
                    if st == 0 || s0 < 0 || s0 >= n {
                        return null("sublist: start out of range");
                    }
                    let end = match args.get(2) {
                        None => n,
                        Some(v) => match int_arg(v) {
                            Some(len) if len >= 0 && s0.saturating_add(len) <= n => s0 + len,
                            _ => return null("sublist: bad length"),
                        },
                    };
                    Value::List(l[s0 as usize..end as usize].to_vec())
                }
                "insert before" => {
                    if let Some(e) = arity(name, &args, 3, 3) {
                        return e;
                    }
                    let Some(p) = int_arg(&args[1]) else {
                        return want(name, "an integer position", &args[1]);
                    };
                    let n = l.len() as i64;
                    let k = if p > 0 { p - 1 } else { n + p };
                    if p == 0 || k < 0 || k >= n {
                        return null("insert before: position out of range");
                    }
                    let mut l = l;
                    l.insert(k as usize, args[2].clone());
                    Value::List(l)
                }
                "remove" => {
                    if let Some(e) = arity(name, &args, 2, 2) {
                        return e;
                    }
                    let Some(p) = int_arg(&args[1]) else {
                        return want(name, "an integer position", &args[1]);
                    };
                    let n = l.len() as i64;
                    let k = if p > 0 { p - 1 } else { n + p };
                    if p == 0 || k < 0 || k >= n {
                        return null("remove: position out of range");
                    }
                    let mut l = l;
                    l.remove(k as usize);
                    Value::List(l)
                }
                "reverse" => {
                    let mut l = l;
                    l.reverse();
                    Value::List(l)
                }
                "index of" => {
                    if let Some(e) = arity(name, &args, 2, 2) {
                        return e;
                    }
                    Value::List(
                        l.iter()
                            .enumerate()
                            .filter(|(_, x)| x.feel_eq(&args[1]) == Some(true))
                            .map(|(i, _)| Value::int(i as i64 + 1))
                            .collect(),
                    )
                }
                "distinct values" => {
                    let mut out: Vec<Value> = Vec::new();
                    for i in l {
                        if !ev.step(1) {
                            return null("evaluation aborted");
                        }
                        if !out.iter().any(|o| o.feel_eq(&i) == Some(true)) {
                            out.push(i);
                        }
                    }
                    Value::List(out)
                }
                "flatten" => {
                    fn flat(v: Vec<Value>, out: &mut Vec<Value>, depth: u32) {
                        for i in v {
                            match i {
                                Value::List(l) if depth < 64 => flat(l, out, depth + 1),
                                o => out.push(o),
                            }
                        }
                    }
                    let mut out = Vec::new();
                    flat(l, &mut out, 0);
                    Value::List(out)
                }
                _ => null(format!("no function named '{name}'")),
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
