//! The method calls of the JUEL subset: Camunda 7's `execution` accessors
//! (`DelegateExecution`: `getVariable`, `setVariable`, `getProcessInstanceId`,
//! `getProcessBusinessKey`, …) and the Java methods diagrams call on the
//! strings, lists and maps that variables hold, over JSON values.
//!
//! Deviations: lengths and positions count characters (Java counts UTF-16
//! units); `equals` compares numbers by value (`1` equals `1.0`); a method
//! called on `null` is an error, as Java's `NullPointerException` is.

use std::cmp::Ordering;

use serde_json::Value;

use super::{JuelError, NodeKind, describe, to_el_string, to_f64, to_i64};

/// What `execution.…` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionProperty {
    /// `processInstanceId`, `id` (an execution is its instance here).
    ProcessInstanceId,
    /// `processBusinessKey`, `businessKey`.
    BusinessKey,
}

/// The methods of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Size,
    Length,
    IsEmpty,
    Contains,
    ContainsKey,
    Equals,
    EqualsIgnoreCase,
    StartsWith,
    EndsWith,
    IndexOf,
    Substring,
    ToUpperCase,
    ToLowerCase,
    Trim,
    ToString,
    Get,
    CompareTo,
    /// Camunda Spin's JSON API: `prop(name)`, `hasProp(name)`,
    /// `elements()`, `numberValue()`, `stringValue()`, `boolValue()`,
    /// `value()`, `isNull()`.
    Prop,
    HasProp,
    Elements,
    NumberValue,
    StringValue,
    BoolValue,
    SpinValue,
    IsNull,
}

/// For error messages: what is supported.
pub(super) const SUPPORTED: &str = "method calls other than size(), length(), isEmpty(), contains(x), containsKey(k), equals(x), equalsIgnoreCase(s), startsWith(s), endsWith(s), indexOf(x), substring(a, b), toUpperCase(), toLowerCase(), trim(), toString(), get(i), compareTo(x), Spin's prop(name), hasProp(name), elements(), numberValue(), stringValue(), boolValue(), value(), isNull() on values and execution's variable methods and properties";

impl Method {
    pub(super) fn named(name: &str) -> Option<Method> {
        Some(match name {
            "size" => Method::Size,
            "length" => Method::Length,
            "isEmpty" => Method::IsEmpty,
            "contains" => Method::Contains,
            "containsKey" => Method::ContainsKey,
            "equals" => Method::Equals,
            "equalsIgnoreCase" => Method::EqualsIgnoreCase,
            "startsWith" => Method::StartsWith,
            "endsWith" => Method::EndsWith,
            "indexOf" => Method::IndexOf,
            "substring" => Method::Substring,
            "toUpperCase" => Method::ToUpperCase,
            "toLowerCase" => Method::ToLowerCase,
            "trim" => Method::Trim,
            "toString" => Method::ToString,
            "get" => Method::Get,
            "compareTo" => Method::CompareTo,
            "prop" | "jsonPath" => Method::Prop,
            "hasProp" => Method::HasProp,
            "elements" => Method::Elements,
            "numberValue" => Method::NumberValue,
            "stringValue" => Method::StringValue,
            "boolValue" => Method::BoolValue,
            "value" => Method::SpinValue,
            "isNull" => Method::IsNull,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Method::Size => "size",
            Method::Length => "length",
            Method::IsEmpty => "isEmpty",
            Method::Contains => "contains",
            Method::ContainsKey => "containsKey",
            Method::Equals => "equals",
            Method::EqualsIgnoreCase => "equalsIgnoreCase",
            Method::StartsWith => "startsWith",
            Method::EndsWith => "endsWith",
            Method::IndexOf => "indexOf",
            Method::Substring => "substring",
            Method::ToUpperCase => "toUpperCase",
            Method::ToLowerCase => "toLowerCase",
            Method::Trim => "trim",
            Method::ToString => "toString",
            Method::Get => "get",
            Method::CompareTo => "compareTo",
            Method::Prop => "prop",
            Method::HasProp => "hasProp",
            Method::Elements => "elements",
            Method::NumberValue => "numberValue",
            Method::StringValue => "stringValue",
            Method::BoolValue => "boolValue",
            Method::SpinValue => "value",
            Method::IsNull => "isNull",
        }
    }

    /// How many arguments it takes (inclusive range).
    fn arity(self) -> (usize, usize) {
        match self {
            Method::Substring => (1, 2),
            Method::Contains
            | Method::ContainsKey
            | Method::Equals
            | Method::EqualsIgnoreCase
            | Method::StartsWith
            | Method::EndsWith
            | Method::IndexOf
            | Method::Get
            | Method::CompareTo
            | Method::Prop
            | Method::HasProp => (1, 1),
            _ => (0, 0),
        }
    }
}

/// The node for `execution.<name>` (a call when `call`), or the feature
/// that is not supported.
pub(super) fn execution_node(
    name: &str,
    call: bool,
    mut args: Vec<super::Node>,
) -> Result<NodeKind, &'static str> {
    let prop = |p| Ok(NodeKind::Execution(p));
    match (name, call, args.len()) {
        ("getVariable" | "getVariableLocal", true, 1) => {
            Ok(NodeKind::GetVariable(Box::new(args.remove(0))))
        }
        ("setVariable" | "setVariableLocal", true, 2) => {
            let value = args.remove(1);
            Ok(NodeKind::SetVariable(
                Box::new(args.remove(0)),
                Box::new(value),
            ))
        }
        ("getProcessInstanceId" | "getId", true, 0) | ("processInstanceId" | "id", false, 0) => {
            prop(ExecutionProperty::ProcessInstanceId)
        }
        ("getProcessBusinessKey" | "getBusinessKey", true, 0)
        | ("processBusinessKey" | "businessKey", false, 0) => prop(ExecutionProperty::BusinessKey),
        _ => Err(
            "uses of `execution` other than getVariable(name), getVariableLocal(name), setVariable(name, value), setVariableLocal(name, value), getProcessInstanceId(), getId(), getProcessBusinessKey(), getBusinessKey() and the properties processInstanceId, id, processBusinessKey, businessKey",
        ),
    }
}

fn type_err(m: Method, expected: &'static str, found: &Value, at: usize) -> JuelError {
    JuelError::Type {
        offset: at,
        expected,
        found: format!("{} before `.{}()`", describe(found), m.name()),
    }
}

/// Calls a method on a value.
pub(super) fn call(m: Method, base: Value, args: &[Value], at: usize) -> Result<Value, JuelError> {
    let (min, max) = m.arity();
    if args.len() < min || args.len() > max {
        return Err(JuelError::Type {
            offset: at,
            expected: if max == 0 {
                "no arguments"
            } else if min == max {
                "one argument"
            } else {
                "one or two arguments"
            },
            found: format!("{} argument(s) to `.{}()`", args.len(), m.name()),
        });
    }
    if m == Method::IsNull {
        return Ok(Value::Bool(base.is_null()));
    }
    if base.is_null() {
        return Err(type_err(
            m,
            "a value (the method was called on null)",
            &base,
            at,
        ));
    }
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let chars = |s: &str| s.chars().count() as i64;
    Ok(match (m, &base) {
        (Method::ToString, v) => Value::String(to_el_string(v)),
        (Method::Equals, v) => Value::Bool(crate::scenario::same_value(v, &arg(0))),
        (Method::Size | Method::Length, Value::String(s)) => Value::from(chars(s)),
        (Method::Size, Value::Array(a)) => Value::from(a.len()),
        (Method::Size, Value::Object(o)) => Value::from(o.len()),
        (Method::IsEmpty, Value::String(s)) => Value::Bool(s.is_empty()),
        (Method::IsEmpty, Value::Array(a)) => Value::Bool(a.is_empty()),
        (Method::IsEmpty, Value::Object(o)) => Value::Bool(o.is_empty()),
        (Method::Contains, Value::String(s)) => Value::Bool(s.contains(&to_el_string(&arg(0)))),
        (Method::Contains, Value::Array(a)) => {
            Value::Bool(a.iter().any(|x| crate::scenario::same_value(x, &arg(0))))
        }
        (Method::ContainsKey, Value::Object(o)) => {
            Value::Bool(o.contains_key(&to_el_string(&arg(0))))
        }
        (Method::EqualsIgnoreCase, Value::String(s)) => {
            Value::Bool(s.to_lowercase() == to_el_string(&arg(0)).to_lowercase())
        }
        (Method::StartsWith, Value::String(s)) => {
            Value::Bool(s.starts_with(&to_el_string(&arg(0))))
        }
        (Method::EndsWith, Value::String(s)) => Value::Bool(s.ends_with(&to_el_string(&arg(0)))),
        (Method::IndexOf, Value::String(s)) => {
            let needle = to_el_string(&arg(0));
            Value::from(s.find(&needle).map_or(-1, |i| chars(&s[..i])))
        }
        (Method::IndexOf, Value::Array(a)) => Value::from(
            a.iter()
                .position(|x| crate::scenario::same_value(x, &arg(0)))
                .map_or(-1, |i| i as i64),
        ),
        (Method::Substring, Value::String(s)) => {
            let n = chars(s);
            let from = to_i64(&arg(0), at)?;
            let to = match args.get(1) {
                Some(v) => to_i64(v, at)?,
                None => n,
            };
            if from < 0 || to > n || from > to {
                return Err(JuelError::Type {
                    offset: at,
                    expected: "substring bounds within the string",
                    found: format!("({from}, {to}) for a string of {n} characters"),
                });
            }
            Value::String(
                s.chars()
                    .skip(from as usize)
                    .take((to - from) as usize)
                    .collect(),
            )
        }
        (Method::ToUpperCase, Value::String(s)) => Value::String(s.to_uppercase()),
        (Method::ToLowerCase, Value::String(s)) => Value::String(s.to_lowercase()),
        (Method::Trim, Value::String(s)) => Value::String(s.trim().to_string()),
        (Method::Get, Value::Array(a)) => {
            let i = to_i64(&arg(0), at)?;
            match usize::try_from(i).ok().and_then(|i| a.get(i)) {
                Some(v) => v.clone(),
                None => {
                    return Err(JuelError::Type {
                        offset: at,
                        expected: "an index within the list",
                        found: format!("{i} for a list of {}", a.len()),
                    });
                }
            }
        }
        (Method::Get, Value::Object(o)) => o
            .get(&to_el_string(&arg(0)))
            .cloned()
            .unwrap_or(Value::Null),
        (Method::CompareTo, v) => {
            let other = arg(0);
            let ord = match (v, &other) {
                (Value::String(a), Value::String(b)) => a.cmp(b),
                _ => to_f64(v, at)?
                    .partial_cmp(&to_f64(&other, at)?)
                    .unwrap_or(Ordering::Equal),
            };
            Value::from(ord as i64)
        }
        (Method::Prop, Value::Object(o)) => match o.get(&to_el_string(&arg(0))) {
            Some(v) => v.clone(),
            // Spin: "Unable to find property".
            None => {
                return Err(JuelError::Type {
                    offset: at,
                    expected: "a property the JSON object has",
                    found: format!("none named `{}`", to_el_string(&arg(0))),
                });
            }
        },
        (Method::HasProp, Value::Object(o)) => Value::Bool(o.contains_key(&to_el_string(&arg(0)))),
        (Method::Elements, Value::Array(_)) => base.clone(),
        (Method::NumberValue, Value::Number(_))
        | (Method::StringValue, Value::String(_))
        | (Method::BoolValue, Value::Bool(_))
        | (Method::SpinValue, _) => base.clone(),
        (Method::Prop | Method::HasProp, v) => return Err(type_err(m, "a JSON object", v, at)),
        (Method::Elements, v) => return Err(type_err(m, "a JSON array", v, at)),
        (Method::NumberValue, v) => return Err(type_err(m, "a JSON number", v, at)),
        (Method::BoolValue, v) => return Err(type_err(m, "a JSON boolean", v, at)),
        (Method::Size | Method::IsEmpty, v) => {
            return Err(type_err(m, "a string, list or map", v, at));
        }
        (Method::Contains | Method::IndexOf, v) => {
            return Err(type_err(m, "a string or list", v, at));
        }
        (Method::ContainsKey, v) => return Err(type_err(m, "a map", v, at)),
        (Method::Get, v) => return Err(type_err(m, "a list or map", v, at)),
        (_, v) => return Err(type_err(m, "a string", v, at)),
    })
}

/// A call of a method on a bean — `${service.method(args)}`, the whole
/// expression, on a name that is not `execution` — which Camunda 7 would
/// invoke on a Java bean: the bean's and the method's names. `None` for
/// anything else.
pub fn bean_call(source: &str) -> Option<(String, String)> {
    let t = source.trim();
    let inner = t
        .strip_prefix("${")
        .or_else(|| t.strip_prefix("#{"))?
        .strip_suffix('}')?
        .trim();
    let (bean, rest) = inner.split_once('.')?;
    let bean = bean.trim();
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    let (method, _) = rest.split_once('(')?;
    let method = method.trim();
    if bean == "execution" || !ident(bean) || !ident(method) || !inner.ends_with(')') {
        return None;
    }
    // A method of values (`${name.toUpperCase()}`) is not a bean call.
    if Method::named(method).is_some() {
        return None;
    }
    Some((bean.to_string(), method.to_string()))
}
