//! Context functions (DMN 1.5 §10.3.4.9), with Camunda's additions: `get
//! value` with a key path, `context merge` with several arguments; and, in
//! Camunda's dialect, `context` keeps the last of duplicate keys and
//! `context put` replaces a non-context value on its path.

use super::*;
use crate::feel::Dialect;

/// The longest key path `context put` follows.
pub const MAX_KEY_PATH: usize = 100;

pub(super) fn context_fn(name: &str, args: Vec<Value>, dialect: Dialect) -> Value {
    let camunda = dialect.lenient_contexts();
    match name {
        "get value" => {
            if let Some(e) = arity(name, &args, 2, 2) {
                return e;
            }
            match (&args[0], &args[1]) {
                (Value::Context(c), Value::String(k)) => c.get(k).cloned().unwrap_or_default(),
                (Value::Context(c), Value::List(keys)) if !keys.is_empty() => {
                    let mut v = Value::Context(c.clone());
                    for k in keys {
                        v = match (&v, k) {
                            (Value::Context(c), Value::String(k)) => match c.get(k) {
                                Some(x) => x.clone(),
                                None => return Value::Null(None),
                            },
                            _ => {
                                return null(
                                    "get value: expected a path of string keys through contexts",
                                );
                            }
                        };
                    }
                    v
                }
                _ => null("get value: expected a context and a string key or a list of keys"),
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
                if out.get(k).is_some() && !camunda {
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
            // Each key is one level of nesting (and one level of recursion
            // here and wherever the value goes): a path longer than any
            // store can keep is refused, not followed until the stack ends.
            if keys.len() > MAX_KEY_PATH {
                return null(format!(
                    "context put: expected a key path of at most {MAX_KEY_PATH} keys, found {}",
                    keys.len()
                ));
            }
            fn put(c: &Context, keys: &[String], v: Value, replace: bool) -> Option<Context> {
                let mut c = c.clone();
                if keys.len() == 1 {
                    c.put(keys[0].clone(), v);
                    return Some(c);
                }
                let inner = match c.get(&keys[0]) {
                    Some(Value::Context(i)) => i.clone(),
                    None => Context::new(),
                    Some(_) if replace => Context::new(),
                    Some(_) => return None,
                };
                let n = put(&inner, &keys[1..], v, replace)?;
                c.put(keys[0].clone(), Value::Context(n));
                Some(c)
            }
            match put(c, &keys, args[2].clone(), camunda) {
                Some(c) => Value::Context(c),
                None => null("context put: path goes through a non-context value"),
            }
        }
        _ => {
            if args.is_empty() {
                return null(format!(
                    "{name}: expected a list of contexts, found no argument"
                ));
            }
            // Camunda's FEEL also takes the contexts as separate arguments.
            let l = match (args.len(), &args[0]) {
                (1, Value::List(l)) => l.clone(),
                (1, Value::Context(c)) => vec![Value::Context(c.clone())],
                (1, v) => return want(name, "a list of contexts", v),
                _ => args,
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
