//! FEEL values (DMN 1.5 §10.3.2.3 semantic domain, §10.3.2.9 equality and
//! ordering), FEEL types for `instance of` (§10.3.2.9.1 type conformance) and
//! lossless conversion to and from `serde_json::Value`.
//!
//! Deviation: comparing values of different kinds with `=` yields null, as
//! the spec says; `!=` of such values is null too.

use crate::number::Number;
use crate::temporal::Date;
use crate::temporal::{self, FeelDateTime, FeelTime};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A FEEL value.
#[derive(Clone, Debug)]
pub enum Value {
    /// `null`, optionally carrying the reason an operation failed.
    Null(Option<Arc<str>>),
    /// `true`/`false`.
    Bool(bool),
    /// Decimal number.
    Number(Number),
    /// Unicode string.
    String(String),
    /// `date`.
    Date(Date),
    /// `time`.
    Time(FeelTime),
    /// `date and time`.
    DateTime(FeelDateTime),
    /// Days-and-time duration, in nanoseconds.
    DtDuration(i128),
    /// Years-and-months duration, in months.
    YmDuration(i64),
    /// List.
    List(Vec<Value>),
    /// Ordered context.
    Context(Context),
    /// Range.
    Range(Box<Range>),
    /// Function.
    Function(Arc<Function>),
}

impl Default for Value {
    fn default() -> Value {
        Value::Null(None)
    }
}

/// Ordered map of names to values.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Entries in insertion order.
    pub entries: Vec<(String, Value)>,
}

impl Context {
    /// Empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Looks up an entry.
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.entries.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }

    /// Inserts or replaces an entry (replacement keeps the position).
    pub fn put(&mut self, k: impl Into<String>, v: Value) {
        let k = k.into();
        if let Some(e) = self.entries.iter_mut().find(|(n, _)| *n == k) {
            e.1 = v;
        } else {
            self.entries.push((k, v));
        }
    }
}

/// One end of a range; `value == None` means unbounded.
#[derive(Clone, Debug)]
pub struct Bound {
    /// The end point.
    pub value: Option<Value>,
    /// Whether the end point belongs to the range.
    pub inclusive: bool,
}

/// A FEEL range.
#[derive(Clone, Debug)]
pub struct Range {
    /// Lower end.
    pub start: Bound,
    /// Upper end.
    pub end: Bound,
    /// Set for ranges written as a unary comparison (`< 10`, `= 10`,
    /// `!= 10`): DMN 1.5 §10.3.2.7 makes them a different kind of range, so
    /// `(= 10) = [10..10]` is false and `!= 10` contains every other value.
    pub unary: Option<crate::feel::ast::CmpOp>,
}

/// A FEEL type as used by `instance of`, function signatures and item definitions.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// Any value.
    Any,
    /// Only null.
    Null,
    /// number
    Number,
    /// string
    String,
    /// boolean
    Boolean,
    /// date
    Date,
    /// time
    Time,
    /// date and time
    DateTime,
    /// days and time duration
    DtDuration,
    /// years and months duration
    YmDuration,
    /// `list<T>`
    List(Box<Type>),
    /// `context<k: T, ...>`
    Context(Vec<(String, Type)>),
    /// `range<T>`
    Range(Box<Type>),
    /// `function<T, ...> -> T`
    Function(Vec<Type>, Box<Type>),
}

impl Type {
    /// Resolves a built-in type name.
    pub fn from_name(n: &str) -> Option<Type> {
        let n = n.trim();
        let n = n.strip_prefix("feel:").unwrap_or(n);
        Some(match n {
            "Any" | "any" => Type::Any,
            "Null" | "null" => Type::Null,
            "number" | "decimal" | "integer" | "double" | "int" | "long" | "float" => Type::Number,
            "string" => Type::String,
            "boolean" => Type::Boolean,
            "date" => Type::Date,
            "time" => Type::Time,
            "date and time" | "dateTime" => Type::DateTime,
            "days and time duration" | "dayTimeDuration" => Type::DtDuration,
            "years and months duration" | "yearMonthDuration" => Type::YmDuration,
            "list" => Type::List(Box::new(Type::Any)),
            "context" => Type::Context(vec![]),
            "range" => Type::Range(Box::new(Type::Any)),
            "function" => Type::Function(vec![], Box::new(Type::Any)),
            _ => return None,
        })
    }

    /// Whether `v` conforms to this type.
    pub fn accepts(&self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null(_)) => matches!(self, Type::Null),
            (Type::Any, _) => true,
            (Type::Null, _) => false,
            (Type::Number, Value::Number(_)) => true,
            (Type::String, Value::String(_)) => true,
            (Type::Boolean, Value::Bool(_)) => true,
            (Type::Date, Value::Date(_)) => true,
            (Type::Time, Value::Time(_)) => true,
            (Type::DateTime, Value::DateTime(_)) => true,
            (Type::DtDuration, Value::DtDuration(_)) => true,
            (Type::YmDuration, Value::YmDuration(_)) => true,
            (Type::List(t), Value::List(items)) => items.iter().all(|i| t.accepts(i)),
            (Type::Context(fields), Value::Context(c)) => fields
                .iter()
                .all(|(k, t)| c.get(k).is_some_and(|v| v.is_null() || t.accepts(v))),
            (Type::Range(t), Value::Range(r)) => [&r.start, &r.end]
                .iter()
                .all(|b| b.value.as_ref().is_none_or(|v| t.accepts(v))),
            (Type::Function(params, ret), Value::Function(f)) => f.conforms(params, ret),
            _ => false,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("Any"),
            Type::Null => f.write_str("Null"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Boolean => f.write_str("boolean"),
            Type::Date => f.write_str("date"),
            Type::Time => f.write_str("time"),
            Type::DateTime => f.write_str("date and time"),
            Type::DtDuration => f.write_str("days and time duration"),
            Type::YmDuration => f.write_str("years and months duration"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Context(fs) => {
                f.write_str("context<")?;
                for (i, (k, t)) in fs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {t}")?;
                }
                f.write_str(">")
            }
            Type::Range(t) => write!(f, "range<{t}>"),
            Type::Function(ps, r) => {
                f.write_str("function<")?;
                for (i, t) in ps.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, "> -> {r}")
            }
        }
    }
}

/// A function value.
#[derive(Debug)]
pub enum Function {
    /// A built-in function, by canonical name.
    Builtin(&'static str),
    /// A user-defined function (FEEL `function(...)`, a BKM, a decision service).
    User(UserFunction),
}

/// A user-defined function with its closure.
#[derive(Debug)]
pub struct UserFunction {
    /// Parameter names and optional declared types.
    pub params: Vec<(String, Option<Type>)>,
    /// Declared result type, if any.
    pub ret: Option<Type>,
    /// Function body.
    pub body: Arc<crate::feel::ast::Expr>,
    /// Variables captured at definition time.
    pub closure: Arc<Vec<(String, Value)>>,
}

impl Function {
    fn conforms(&self, params: &[Type], ret: &Type) -> bool {
        match self {
            Function::Builtin(_) => params.is_empty(),
            Function::User(u) => {
                if !params.is_empty() && u.params.len() != params.len() {
                    return false;
                }
                let params_ok = u.params.iter().zip(params).all(|((_, declared), want)| {
                    // Parameters are contravariant: the function must accept `want`.
                    match declared {
                        None => true,
                        Some(d) => *d == Type::Any || d == want,
                    }
                });
                let ret_ok = match (&u.ret, ret) {
                    (_, Type::Any) => true,
                    (Some(r), want) => r == want,
                    (None, _) => true,
                };
                params_ok && ret_ok
            }
        }
    }
}

impl Value {
    /// Null carrying a reason.
    pub fn null(reason: impl Into<String>) -> Value {
        Value::Null(Some(Arc::from(reason.into())))
    }

    /// True for null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null(_))
    }

    /// Short type name used in error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null(_) => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::DateTime(_) => "date and time",
            Value::DtDuration(_) => "days and time duration",
            Value::YmDuration(_) => "years and months duration",
            Value::List(_) => "list",
            Value::Context(_) => "context",
            Value::Range(_) => "range",
            Value::Function(_) => "function",
        }
    }

    /// The reason carried by a null, if any.
    pub fn null_reason(&self) -> Option<&str> {
        match self {
            Value::Null(Some(r)) => Some(r),
            _ => None,
        }
    }

    /// Builds a number value from an integer.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::from(i))
    }

    /// FEEL equality: `Some(bool)` or `None` (null) for incomparable kinds.
    pub fn feel_eq(&self, o: &Value) -> Option<bool> {
        use Value::*;
        Some(match (self, o) {
            (a, b) if a.is_null() || b.is_null() => a.is_null() && b.is_null(),
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Time(a), Time(b)) => {
                a.compare(b)? == Ordering::Equal && (a.tz.is_some() == b.tz.is_some())
            }
            (DateTime(a), DateTime(b)) => a.compare(b)? == Ordering::Equal,
            (DtDuration(a), DtDuration(b)) => a == b,
            (YmDuration(a), YmDuration(b)) => a == b,
            (List(a), List(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                for (x, y) in a.iter().zip(b) {
                    if !x.feel_eq(y)? {
                        return Some(false);
                    }
                }
                true
            }
            (Context(a), Context(b)) => {
                if a.entries.len() != b.entries.len() {
                    return Some(false);
                }
                for (k, v) in &a.entries {
                    match b.get(k) {
                        None => return Some(false),
                        Some(w) => {
                            if !v.feel_eq(w)? {
                                return Some(false);
                            }
                        }
                    }
                }
                true
            }
            (Range(a), Range(b)) => {
                let be = |x: &Bound, y: &Bound| -> Option<bool> {
                    Some(match (&x.value, &y.value) {
                        (None, None) => true,
                        (Some(p), Some(q)) => x.inclusive == y.inclusive && p.feel_eq(q)?,
                        _ => false,
                    })
                };
                a.unary == b.unary && be(&a.start, &b.start)? && be(&a.end, &b.end)?
            }
            (Function(a), Function(b)) => Arc::ptr_eq(a, b),
            _ => return None,
        })
    }

    /// FEEL ordering of two values of the same comparable kind.
    pub fn feel_cmp(&self, o: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, o) {
            (Number(a), Number(b)) => Some(a.cmp(b)),
            (String(a), String(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (Time(a), Time(b)) => a.compare(b),
            (DateTime(a), DateTime(b)) => a.compare(b),
            (Date(a), DateTime(b)) => date_as_dt(a, b.tz.clone()).compare(b),
            (DateTime(a), Date(b)) => a.compare(&date_as_dt(b, a.tz.clone())),
            (DtDuration(a), DtDuration(b)) => Some(a.cmp(b)),
            (YmDuration(a), YmDuration(b)) => Some(a.cmp(b)),
            (Bool(a), Bool(b)) if a == b => Some(Ordering::Equal),
            _ => None,
        }
    }

    /// Converts to JSON. Numbers keep their exact digits; temporal values
    /// become their FEEL string form; functions become null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null(_) | Value::Function(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => n
                .to_string()
                .parse::<serde_json::Number>()
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::String(s) => J::String(s.clone()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Context(c) => J::Object(
                c.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            other => J::String(other.to_string()),
        }
    }

    /// Converts from JSON; numbers are read from their exact text.
    pub fn from_json(j: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::Null(None),
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match Number::parse(&n.to_string()) {
                Some(n) => Value::Number(n),
                None => Value::null(format!("number {n} is outside decimal128")),
            },
            J::String(s) => Value::String(s.clone()),
            J::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            J::Object(o) => Value::Context(Context {
                entries: o
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            }),
        }
    }
}

/// Reads strings as the declared FEEL type where the type is a number or a
/// temporal type (inputs that arrive as JSON or untyped XML text). Lists and
/// contexts are converted element- and entry-wise; anything else is kept.
pub fn convert_strings(t: &Type, v: Value) -> Value {
    match (t, v) {
        (Type::List(inner), Value::List(items)) => Value::List(
            items
                .into_iter()
                .map(|i| convert_strings(inner, i))
                .collect(),
        ),
        (Type::Context(fields), Value::Context(mut c)) => {
            for (k, ft) in fields {
                if let Some(e) = c.entries.iter_mut().find(|(n, _)| n == k) {
                    e.1 = convert_strings(ft, std::mem::take(&mut e.1));
                }
            }
            Value::Context(c)
        }
        (t, Value::String(s)) => {
            let parsed = match t {
                Type::Number => Number::parse(&s).map(Value::Number),
                Type::Date => temporal::parse_date(&s).map(Value::Date),
                Type::Time => temporal::parse_time(&s).map(Value::Time),
                Type::DateTime => temporal::parse_date_time(&s).map(Value::DateTime),
                Type::DtDuration | Type::YmDuration => {
                    temporal::parse_duration(&s).map(|d| match d {
                        Ok(m) => Value::YmDuration(m),
                        Err(n) => Value::DtDuration(n),
                    })
                }
                _ => None,
            };
            parsed.unwrap_or(Value::String(s))
        }
        (_, v) => v,
    }
}

/// A date as a date and time at midnight with the given zone (§10.3.2.3.6 coercion for comparisons).
pub fn date_as_dt(d: &Date, tz: Option<temporal::Tz>) -> FeelDateTime {
    FeelDateTime {
        date: *d,
        time: jiff::civil::Time::midnight(),
        tz,
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Value {
    /// FEEL literal-like form used inside lists and contexts (strings quoted).
    pub fn to_feel_literal(&self) -> String {
        match self {
            Value::String(s) => quote(s),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Value {
    /// The FEEL `string()` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null(_) => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => f.write_str(s),
            Value::Date(d) => f.write_str(&temporal::fmt_date(d)),
            Value::Time(t) => write!(f, "{t}"),
            Value::DateTime(t) => write!(f, "{t}"),
            Value::DtDuration(n) => f.write_str(&temporal::fmt_dt_duration(*n)),
            Value::YmDuration(m) => f.write_str(&temporal::fmt_ym_duration(*m)),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&v.to_feel_literal())?;
                }
                f.write_str("]")
            }
            Value::Context(c) => {
                f.write_str("{")?;
                for (i, (k, v)) in c.entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let plain = k
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphabetic() || c == '_')
                        && k.chars()
                            .all(|c| c.is_alphanumeric() || " _?'./-+*".contains(c));
                    if plain {
                        write!(f, "{k}: {}", v.to_feel_literal())?;
                    } else {
                        write!(f, "{}: {}", quote(k), v.to_feel_literal())?;
                    }
                }
                f.write_str("}")
            }
            Value::Range(r) => {
                let s = if r.start.inclusive { "[" } else { "(" };
                let e = if r.end.inclusive { "]" } else { ")" };
                let sv = r
                    .start
                    .value
                    .as_ref()
                    .map(|v| v.to_feel_literal())
                    .unwrap_or_default();
                let ev = r
                    .end
                    .value
                    .as_ref()
                    .map(|v| v.to_feel_literal())
                    .unwrap_or_default();
                write!(f, "{s}{sv}..{ev}{e}")
            }
            Value::Function(_) => f.write_str("function"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_exact() {
        let j: serde_json::Value =
            serde_json::from_str("[0.1, 12345678901234567890123456789.5]").unwrap();
        let v = Value::from_json(&j);
        assert_eq!(v.to_json(), j);
    }

    #[test]
    fn equality_rules() {
        assert_eq!(Value::int(1).feel_eq(&Value::String("1".into())), None);
        assert_eq!(Value::Null(None).feel_eq(&Value::Null(None)), Some(true));
        assert_eq!(Value::int(1).feel_eq(&Value::Null(None)), Some(false));
        let l = Value::List(vec![Value::int(1), Value::int(2)]);
        assert_eq!(l.feel_eq(&l.clone()), Some(true));
    }
}
