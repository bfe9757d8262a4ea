//! The built-in functions Camunda's FEEL engine (feel-scala) adds to DMN 1.5,
//! as Camunda's FEEL reference documents them: `get or else`, `assert`,
//! `extract`, `trim`, `is blank`, `is empty`, `to base64`, `from base64`,
//! `duplicate values`, `partition`, `last day of month`, `from json`,
//! `to json`, and the older names `and`, `or`, `put`, `put all`. They are
//! available in every dialect: none of them is a DMN 1.5 name, so no
//! standard expression changes meaning.
//!
//! Deviation: `uuid()` and `random number()` are not provided — the engine
//! evaluates FEEL deterministically (the same command gives the same
//! events), which a random source would break.

use super::strings::xsd_regex;
use super::*;

/// Calls one of Camunda's additional built-ins.
pub(super) fn call(ev: &mut Evaluator, name: &str, args: Vec<Value>) -> Value {
    match name {
        "get or else" => {
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            let mut args = args;
            let default = args.pop().unwrap_or_default();
            match args.pop().unwrap_or_default() {
                Value::Null(_) => default,
                v => v,
            }
        }
        "assert" => {
            if let Some(e) = arity(name, &args, 2, 3) {
                return e;
            }
            match (&args[1], args.get(2)) {
                (Value::Bool(true), _) => args.into_iter().next().unwrap_or_default(),
                (_, Some(Value::String(cause))) => ev.fail(cause.clone()),
                _ => ev.fail("The condition is not fulfilled"),
            }
        }
        "extract" => {
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            let (Value::String(s), Value::String(p)) = (&args[0], &args[1]) else {
                return null("extract: expected a string and a pattern string");
            };
            match xsd_regex(p, "").and_then(|r| r.find_all(s)) {
                Ok(found) => Value::List(found.into_iter().map(Value::String).collect()),
                Err(e) => null(format!("extract: invalid pattern \"{p}\": {e}")),
            }
        }
        "trim" | "is blank" | "to base64" | "from base64" | "from json" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            let Value::String(s) = &args[0] else {
                return want(name, "a string", &args[0]);
            };
            string_function(name, s)
        }
        "to json" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            let mut out = String::new();
            write_json(&to_json(&args[0]), &mut out);
            Value::String(out)
        }
        "is empty" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            match &args[0] {
                Value::List(l) => Value::Bool(l.is_empty()),
                v => want(name, "a list", v),
            }
        }
        "duplicate values" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            let Value::List(l) = &args[0] else {
                return want(name, "a list", &args[0]);
            };
            let same = |a: &Value, b: &Value| a.feel_eq(b) == Some(true);
            // In the order the values first occur.
            let mut dups: Vec<Value> = Vec::new();
            for (i, v) in l.iter().enumerate() {
                if l[i + 1..].iter().any(|w| same(v, w)) && !dups.iter().any(|d| same(v, d)) {
                    dups.push(v.clone());
                }
            }
            Value::List(dups)
        }
        "partition" => {
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            let Value::List(l) = &args[0] else {
                return want(name, "a list", &args[0]);
            };
            match int_arg(&args[1]) {
                Some(size) if size > 0 => Value::List(
                    l.chunks(usize::try_from(size).unwrap_or(usize::MAX))
                        .map(|c| Value::List(c.to_vec()))
                        .collect(),
                ),
                _ => null(format!(
                    "partition: expected a size greater than zero, found {}",
                    args[1]
                )),
            }
        }
        "last day of month" => {
            if let Some(e) = arity(name, &args, 1, 1) {
                return e;
            }
            let d = match &args[0] {
                Value::Date(d) => *d,
                Value::DateTime(dt) => dt.date,
                v => return want(name, "a date or date and time", v),
            };
            let last = temporal::days_in_month(d.year() as i64, d.month());
            temporal::Date::new(d.year() as i64, d.month() as i64, last as i64)
                .map_or_else(|| null("last day of month: out of range"), Value::Date)
        }
        _ => null(format!("unknown function `{name}`")),
    }
}

fn string_function(name: &str, s: &str) -> Value {
    match name {
        // Java's String.trim: characters up to U+0020 at both ends.
        "trim" => Value::String(s.trim_matches(|c: char| c <= ' ').to_string()),
        "is blank" => Value::Bool(s.chars().all(char::is_whitespace)),
        "to base64" => Value::String(base64_encode(s.as_bytes())),
        "from base64" => match base64_decode(s).and_then(|b| String::from_utf8(b).ok()) {
            Some(t) => Value::String(t),
            None => null(format!("from base64: invalid Base64 value '{s}'")),
        },
        _ => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(j) => Value::from_json(&j),
            Err(e) => null(format!("from json: failed to parse JSON from '{s}': {e}")),
        },
    }
}

/// `string(v)` in Camunda's format: a zero duration is `P0D` or `P0Y`,
/// a context `{a:1, b:"x"}`; strings inside lists and contexts are quoted.
pub(super) fn string(v: &Value) -> String {
    fn nested(v: &Value) -> String {
        match v {
            Value::String(s) => format!("\"{s}\""),
            Value::Null(_) => "null".to_string(),
            other => string(other),
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::DtDuration(0) => "P0D".to_string(),
        Value::YmDuration(0) => "P0Y".to_string(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(nested).collect::<Vec<_>>().join(", ")
        ),
        Value::Context(c) => format!(
            "{{{}}}",
            c.entries
                .iter()
                .map(|(k, v)| format!("{k}:{}", nested(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 (RFC 4648 §4) with padding.
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard Base64 with or without padding; `None` when invalid.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be padding zeros, and one leftover symbol is invalid.
    (bits < 6 && acc == 0).then_some(out)
}

/// Compact JSON text, object keys in the context's order (serde_json's map
/// would sort them).
fn write_json(j: &Json, out: &mut String) {
    match j {
        Json::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(v, out);
            }
            out.push(']');
        }
        Json::Object(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
        Json::Scalar(v) => out.push_str(&v.to_string()),
    }
}

/// JSON with ordered objects.
enum Json {
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    Scalar(serde_json::Value),
}

/// A FEEL value as Camunda's `to json` writes it: temporal values as ISO
/// text (a zone id as `+01:00[Europe/Berlin]`), functions and ranges as
/// their FEEL text.
fn to_json(v: &Value) -> Json {
    use serde_json::Value as J;
    Json::Scalar(match v {
        Value::List(items) => return Json::Array(items.iter().map(to_json).collect()),
        Value::Context(c) => {
            return Json::Object(
                c.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect(),
            );
        }
        Value::DateTime(dt) => match (&dt.tz, dt.offset_seconds()) {
            (Some(temporal::Tz::Zone(z)), Some(off)) => {
                let base = FeelDateTime {
                    tz: Some(temporal::Tz::Offset(off)),
                    ..dt.clone()
                };
                J::String(format!("{base}[{z}]"))
            }
            _ => J::String(dt.to_string()),
        },
        Value::Function(f) => J::String(match f.as_ref() {
            Function::User(u) => format!(
                "function({})",
                u.params
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Function::Builtin(n) => format!("function {n}"),
        }),
        other => other.to_json(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "F", "FE", "FEE", "FEEL", "Camunda", "ünïcödé"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).as_deref(), Some(s.as_bytes()), "{s}");
        }
        assert_eq!(base64_encode(b"FEEL"), "RkVFTA==");
        assert_eq!(base64_decode("!!!"), None);
        assert_eq!(base64_decode("R"), None);
    }
}
