//! External Java functions (DMN 1.5 §10.3.2.13.3, `function(...) external
//! {java: {class: ..., method signature: ...}}` and boxed function
//! definitions of kind `Java`).
//!
//! Deviation: there is no JVM. A fixed whitelist of side-effect-free methods
//! of `java.lang` (Math, the boxed number types' `valueOf`, `String.valueOf`
//! and `String.format` with `%s`/`%d`) is implemented natively with Java's
//! double semantics; any other class or method yields null with a reason.

use super::ast::{Boxed, Expr};
use super::eval::{Evaluator, Scope};
use crate::number::Number;
use crate::value::Value;

/// Body of an external Java function: the mapping context expression and the
/// parameter names.
#[derive(Debug)]
pub struct JavaFunction {
    /// Expression that yields `{java: {class, method signature}}` or
    /// `{class, method signature}`.
    pub mapping: Expr,
    /// Parameter names, in order.
    pub params: Vec<String>,
}

impl Boxed for JavaFunction {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        let m = ev.eval(&self.mapping, scope);
        let m = match &m {
            Value::Context(c) => match c.get("java") {
                Some(Value::Context(j)) => j.clone(),
                _ => c.clone(),
            },
            _ => return Value::null("external function: expected a mapping context"),
        };
        let (Some(Value::String(class)), Some(Value::String(sig))) =
            (m.get("class"), m.get("method signature"))
        else {
            return Value::null("external function: expected 'class' and 'method signature'");
        };
        let args: Vec<Value> = self
            .params
            .iter()
            .map(|p| scope.get(p).cloned().unwrap_or_default())
            .collect();
        call(class, sig, &args)
    }
}

fn f64_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(n.to_f64()),
        _ => None,
    }
}

fn num(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::null("external function: result is not a finite number"),
    }
}

/// Dispatches a whitelisted `java.lang` method.
pub fn call(class: &str, signature: &str, args: &[Value]) -> Value {
    let Some((method, rest)) = signature.split_once('(') else {
        return Value::null(format!(
            "external function: malformed signature '{signature}'"
        ));
    };
    let types: Vec<String> = rest
        .trim_end_matches(')')
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let method = method.trim();
    let unsupported = || {
        Value::null(format!(
            "external function {class}.{signature} is not supported"
        ))
    };
    if types.len() != args.len() && !types.iter().any(|t| t.starts_with('[')) {
        return Value::null(format!(
            "expected {} arguments, found {}",
            types.len(),
            args.len()
        ));
    }
    let all = |t: &str| types.iter().all(|x| x == t);
    match class {
        "java.lang.Math" => {
            if !(all("double") || all("float") || all("int") || all("long")) {
                return unsupported();
            }
            let Some(xs) = args.iter().map(f64_of).collect::<Option<Vec<f64>>>() else {
                return Value::null("external function: expected numbers");
            };
            let integral = all("int") || all("long");
            if integral && xs.iter().any(|x| x.fract() != 0.0) {
                return Value::null("external function: expected integers");
            }
            let r = match (method, xs.as_slice()) {
                ("cos", [x]) => x.cos(),
                ("sin", [x]) => x.sin(),
                ("tan", [x]) => x.tan(),
                ("acos", [x]) => x.acos(),
                ("asin", [x]) => x.asin(),
                ("atan", [x]) => x.atan(),
                ("exp", [x]) => x.exp(),
                ("log", [x]) => x.ln(),
                ("log10", [x]) => x.log10(),
                ("sqrt", [x]) => x.sqrt(),
                ("cbrt", [x]) => x.cbrt(),
                ("ceil", [x]) => x.ceil(),
                ("floor", [x]) => x.floor(),
                ("abs", [x]) => x.abs(),
                ("signum", [x]) => x.signum(),
                ("toRadians", [x]) => x.to_radians(),
                ("toDegrees", [x]) => x.to_degrees(),
                ("max", [a, b]) => a.max(*b),
                ("min", [a, b]) => a.min(*b),
                ("pow", [a, b]) => a.powf(*b),
                ("atan2", [a, b]) => a.atan2(*b),
                ("hypot", [a, b]) => a.hypot(*b),
                _ => return unsupported(),
            };
            if all("float") {
                // Java's float result, read through its shortest decimal form.
                return Number::parse(&format!("{:e}", r as f32))
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::null("external function: result is not finite"));
            }
            num(r)
        }
        "java.lang.Integer" | "java.lang.Long" | "java.lang.Short" | "java.lang.Byte" => {
            if method != "valueOf" || args.len() != 1 {
                return unsupported();
            }
            let n = match &args[0] {
                Value::String(s) => s.trim().parse::<i64>().ok().map(Number::from),
                Value::Number(n) if n.is_integer() => Some(*n),
                _ => None,
            };
            n.map(Value::Number)
                .unwrap_or_else(|| Value::null("external function: not an integer"))
        }
        "java.lang.Double" | "java.lang.Float" => {
            if method != "valueOf" || args.len() != 1 {
                return unsupported();
            }
            match &args[0] {
                Value::String(s) => Number::parse(s)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::null("external function: not a number")),
                Value::Number(n) => Value::Number(*n),
                _ => Value::null("external function: expected a number"),
            }
        }
        "java.lang.String" => match (method, args) {
            ("valueOf", [Value::String(s)]) if types == ["char"] => {
                if s.chars().count() == 1 {
                    Value::String(s.clone())
                } else {
                    Value::null("external function: expected a single character")
                }
            }
            ("valueOf", [v]) if !v.is_null() => Value::String(v.to_string()),
            ("format", [Value::String(f), rest @ ..]) => format(f, rest),
            _ => unsupported(),
        },
        _ => unsupported(),
    }
}

fn format(f: &str, args: &[Value]) -> Value {
    let flat: Vec<Value> = match args {
        [Value::List(l)] => l.clone(),
        other => other.to_vec(),
    };
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut k = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('%') => out.push('%'),
            Some('n') => out.push('\n'),
            Some('s' | 'd') => match flat.get(k) {
                Some(v) => {
                    out.push_str(&v.to_string());
                    k += 1;
                }
                None => return Value::null("format: missing argument"),
            },
            _ => return Value::null("format: only %s, %d, %n and %% are supported"),
        }
    }
    Value::String(out)
}
