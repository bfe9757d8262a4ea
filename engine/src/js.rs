//! JavaScript, for Camunda 7 scripts (`scriptFormat` `javascript`,
//! `JavaScript`, `ecmascript`, `js`): script tasks, conditions,
//! `camunda:script` input/output parameters. Runs on QuickJS (`rquickjs`)
//! in a fresh runtime per run, sandboxed:
//!
//! - no I/O: QuickJS's `std`/`os` modules are not built, modules cannot be
//!   loaded, and the only host object is `execution`;
//! - a memory limit and a stack limit per run ([`JsLimits`]);
//! - a step budget: QuickJS polls an interrupt hook about every 10,000
//!   jumps and calls (regular expressions included); past the budget the
//!   run stops with an error that `try`/`catch` cannot swallow, so a
//!   runaway script raises an incident in bounded time;
//! - no clock or randomness: `Date.now()` and `new Date()` give the
//!   command's time, `Math.random()` throws (the engine core is
//!   deterministic).
//!
//! As in Camunda 7, the variables a script mentions are globals (read only:
//! assigning a global does not set a process variable), and `execution`
//! offers `getVariable(name)`, `getVariableLocal(name)`,
//! `setVariable(name, value)` (applied after the run, where the engine
//! applies them: script tasks and expression tasks),
//! `getProcessInstanceId()` and `getProcessBusinessKey()`. Scripts run in
//! sloppy (non-strict) mode, like Camunda's Nashorn/Graal.js; the value is
//! the completion value of the last statement, converted to JSON
//! (`undefined` and functions are `null`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::context::EvalOptions;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Object, Runtime, Value};
use serde_json::Map;

use crate::expr::Vars;

/// Limits of one JavaScript run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsLimits {
    /// Heap the run may allocate, in bytes.
    pub memory_bytes: usize,
    /// Native stack the interpreter may use, in bytes (bounds recursion).
    pub stack_bytes: usize,
    /// Interrupt polls (about 10,000 jumps or calls each) before the run
    /// is stopped.
    pub max_polls: u64,
}

impl Default for JsLimits {
    fn default() -> Self {
        JsLimits {
            memory_bytes: 32 << 20,
            stack_bytes: 256 << 10,
            max_polls: 1_000,
        }
    }
}

/// A JavaScript script, checked for syntax at deploy time.
#[derive(Clone)]
pub struct JsScript {
    source: Arc<str>,
    /// Identifiers the source mentions: the variables made globals.
    names: Arc<[String]>,
}

impl std::fmt::Debug for JsScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsScript({:?})", self.source)
    }
}

/// Sets the command's clock and removes randomness (the core is
/// deterministic). `__orchid_now` is defined before it runs.
const PRELUDE: &str = r#"(function () {
  var RealDate = Date, now = __orchid_now;
  function OrchidDate() {
    if (!new.target) { return new RealDate(now).toString(); }
    var a = Array.prototype.slice.call(arguments);
    return a.length === 0 ? new RealDate(now) : new (Function.prototype.bind.apply(RealDate, [null].concat(a)))();
  }
  OrchidDate.prototype = RealDate.prototype;
  OrchidDate.now = function () { return now; };
  OrchidDate.UTC = RealDate.UTC;
  OrchidDate.parse = RealDate.parse;
  Date = OrchidDate;
  Math.random = function () { throw new Error("Math.random() is not available: scripts run deterministically"); };
  delete globalThis.__orchid_now;
})();"#;

fn identifiers(src: &str) -> Arc<[String]> {
    let mut out: Vec<String> = src
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| w.chars().next().is_some_and(|c| !c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out.into()
}

/// The message of a JavaScript failure, with its line when known.
fn caught(e: CaughtError<'_>) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let message = ex.message().unwrap_or_default();
            // QuickJS's stack reads `    at <eval> (<input>:LINE:COLUMN)`.
            let line = ex
                .stack()
                .and_then(|s| {
                    let first = s.lines().next()?.to_string();
                    let (_, rest) = first.rsplit_once('(')?;
                    let digits: String = rest
                        .split(':')
                        .nth(1)?
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse::<u32>().ok()
                })
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            format!("{message}{line}")
        }
        CaughtError::Value(v) => format!("thrown {}", describe(&v)),
        CaughtError::Error(e) => e.to_string(),
    }
}

fn describe(v: &Value<'_>) -> String {
    if let Some(s) = v.as_string().and_then(|s| s.to_string().ok()) {
        return format!("\"{s}\"");
    }
    format!("{:?}", v.type_of())
}

fn to_json<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> rquickjs::Result<serde_json::Value> {
    match ctx.json_stringify(v)? {
        Some(s) => serde_json::from_str(&s.to_string()?)
            .map_err(|e| rquickjs::Error::new_from_js_message("value", "JSON", e.to_string())),
        None => Ok(serde_json::Value::Null),
    }
}

fn from_json<'js>(ctx: &Ctx<'js>, v: &serde_json::Value) -> rquickjs::Result<Value<'js>> {
    ctx.json_parse(v.to_string())
}

/// The `execution` object of a run.
fn execution_object<'js>(
    ctx: &Ctx<'js>,
    visible: &Rc<Map<String, serde_json::Value>>,
    sets: &Rc<RefCell<Vec<(String, serde_json::Value)>>>,
    instance: &str,
    business_key: Option<&str>,
) -> rquickjs::Result<Object<'js>> {
    let exec = Object::new(ctx.clone())?;
    for getter in ["getVariable", "getVariableLocal"] {
        let v = visible.clone();
        let f = move |ctx: Ctx<'js>, name: String| -> rquickjs::Result<Value<'js>> {
            from_json(&ctx, v.get(&name).unwrap_or(&serde_json::Value::Null))
        };
        exec.set(getter, Function::new(ctx.clone(), f)?)?;
    }
    for setter in ["setVariable", "setVariableLocal"] {
        let s = sets.clone();
        let f = move |ctx: Ctx<'js>, name: String, v: Value<'js>| -> rquickjs::Result<()> {
            let j = to_json(&ctx, v)?;
            s.borrow_mut().push((name, j));
            Ok(())
        };
        exec.set(setter, Function::new(ctx.clone(), f)?)?;
    }
    for getter in ["getProcessInstanceId", "getId"] {
        let id = instance.to_string();
        exec.set(getter, Function::new(ctx.clone(), move || id.clone())?)?;
    }
    let key = business_key.map(str::to_string);
    exec.set(
        "getProcessBusinessKey",
        Function::new(ctx.clone(), move || key.clone())?,
    )?;
    Ok(exec)
}

/// What a run may touch of the engine.
pub(crate) struct Host<'a> {
    pub vars: Vars<'a>,
    /// `execution.setVariable` calls, when the caller applies them.
    pub effects: Option<&'a RefCell<Vec<(String, serde_json::Value)>>>,
}

impl JsScript {
    /// Checks the syntax (the script is parsed as a function body, not run).
    pub fn compile(source: &str, limits: &JsLimits) -> Result<JsScript, String> {
        let rt = Runtime::new().map_err(|e| e.to_string())?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.stack_bytes);
        let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
        ctx.with(|ctx| {
            let function: Function = ctx.globals().get("Function").catch(&ctx).map_err(caught)?;
            function
                .call::<_, Value>((source,))
                .map(|_| ())
                .catch(&ctx)
                .map_err(caught)
        })?;
        Ok(JsScript {
            source: source.into(),
            names: identifiers(source),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Runs the script; the completion value of its last statement.
    pub(crate) fn run(
        &self,
        limits: &JsLimits,
        host: Host<'_>,
    ) -> Result<serde_json::Value, String> {
        let rt = Runtime::new().map_err(|e| e.to_string())?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.stack_bytes);
        let stopped = Rc::new(Cell::new(false));
        let flag = stopped.clone();
        let max = limits.max_polls;
        let mut polls = 0u64;
        rt.set_interrupt_handler(Some(Box::new(move || {
            polls += 1;
            let stop = polls > max;
            if stop {
                flag.set(true);
            }
            stop
        })));
        let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
        let sets: Rc<RefCell<Vec<(String, serde_json::Value)>>> = Rc::default();
        let (instance, business_key, now) = host
            .vars
            .execution_info()
            .map(|e| {
                (
                    e.instance.to_string(),
                    e.business_key.map(str::to_string),
                    e.now,
                )
            })
            .unwrap_or_default();
        // `execution.getVariable` reads every visible variable: only then
        // are they all converted.
        let visible: Rc<Map<String, serde_json::Value>> =
            if self.names.iter().any(|n| n == "execution") {
                Rc::new(host.vars.merged().into_owned())
            } else {
                Rc::default()
            };
        let result = ctx.with(|ctx| -> Result<serde_json::Value, String> {
            let setup = || -> rquickjs::Result<()> {
                let g = ctx.globals();
                for name in self.names.iter() {
                    if let Some(v) = host.vars.get(name) {
                        g.set(name.as_str(), from_json(&ctx, v)?)?;
                    }
                }
                g.set("__orchid_now", now as f64)?;
                ctx.eval::<(), _>(PRELUDE)?;
                g.set(
                    "execution",
                    execution_object(&ctx, &visible, &sets, &instance, business_key.as_deref())?,
                )
            };
            setup().catch(&ctx).map_err(caught)?;
            let mut options = EvalOptions::default();
            options.strict = false;
            let value: Value = ctx
                .eval_with_options(self.source.as_bytes().to_vec(), options)
                .catch(&ctx)
                .map_err(|e| {
                    if stopped.get() {
                        format!(
                            "the script ran past its budget of about {} million steps and was stopped (an endless loop?)",
                            max.saturating_mul(10_000) / 1_000_000
                        )
                    } else {
                        caught(e)
                    }
                })?;
            to_json(&ctx, value).catch(&ctx).map_err(caught)
        });
        let value = result?;
        let sets = std::mem::take(&mut *sets.borrow_mut());
        if !sets.is_empty() {
            match host.effects {
                Some(effects) => effects.borrow_mut().extend(sets),
                None => {
                    return Err(
                        "execution.setVariable is applied in script and expression tasks only, not here"
                            .to_string(),
                    );
                }
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as J, json};

    fn limits() -> JsLimits {
        JsLimits::default()
    }

    fn run_with(src: &str, vars: &Map<String, J>) -> Result<J, String> {
        let script = JsScript::compile(src, &limits())?;
        let layers = [vars];
        let exec = crate::expr::Execution {
            instance: "7",
            business_key: Some("order-7"),
            now: 1_767_225_600_000,
        };
        script.run(
            &limits(),
            Host {
                vars: Vars::new(&layers).with_execution(exec),
                effects: None,
            },
        )
    }

    fn run(src: &str) -> Result<J, String> {
        let vars = json!({"amount": 12, "name": "Ada", "items": [1, 2, 3], "order": {"id": "o-1"}});
        run_with(src, vars.as_object().expect("object"))
    }

    #[test]
    fn values_variables_and_execution() {
        assert_eq!(run("amount * 2"), Ok(json!(24)));
        assert_eq!(run("var x = name + '!'; x"), Ok(json!("Ada!")));
        assert_eq!(
            run("items.map(function (i) { return i * 10; })"),
            Ok(json!([10, 20, 30]))
        );
        assert_eq!(
            run("({a: order.id, b: [true, null]})"),
            Ok(json!({"a": "o-1", "b": [true, null]}))
        );
        assert_eq!(run("`total ${amount}`"), Ok(json!("total 12")));
        assert_eq!(run("execution.getVariable('amount') + 1"), Ok(json!(13)));
        assert_eq!(run("execution.getVariable('missing')"), Ok(J::Null));
        assert_eq!(run("execution.getProcessInstanceId()"), Ok(json!("7")));
        assert_eq!(
            run("execution.getProcessBusinessKey()"),
            Ok(json!("order-7"))
        );
        assert_eq!(run("undefined"), Ok(J::Null));
        // A global assignment does not change a process variable (Camunda 7).
        assert_eq!(
            run("amount = 5; execution.getVariable('amount')"),
            Ok(json!(12))
        );
        // Sloppy mode, as Camunda's engines run scripts.
        assert_eq!(run("undeclared = 3; undeclared"), Ok(json!(3)));
    }

    #[test]
    fn set_variable_reaches_the_effects_only_where_applied() {
        let vars = Map::new();
        let e = run_with("execution.setVariable('x', 1)", &vars).expect_err("no effects here");
        assert!(e.contains("setVariable"), "{e}");
        let script = JsScript::compile("execution.setVariable('x', {n: [1]}); 'done'", &limits())
            .expect("compiles");
        let effects = RefCell::new(Vec::new());
        let layers = [&vars];
        let value = script
            .run(
                &limits(),
                Host {
                    vars: Vars::new(&layers),
                    effects: Some(&effects),
                },
            )
            .expect("runs");
        assert_eq!(value, json!("done"));
        assert_eq!(
            effects.into_inner(),
            vec![("x".to_string(), json!({"n": [1]}))]
        );
    }

    #[test]
    fn no_clock_or_randomness_but_the_commands_time() {
        assert_eq!(run("Date.now()"), Ok(json!(1_767_225_600_000i64)));
        assert_eq!(
            run("new Date().toISOString()"),
            Ok(json!("2026-01-01T00:00:00.000Z"))
        );
        assert_eq!(run("new Date(0).getTime()"), Ok(json!(0)));
        assert_eq!(run("new Date(2020, 0, 2).getFullYear()"), Ok(json!(2020)));
        let e = run("Math.random()").expect_err("no randomness");
        assert!(e.contains("Math.random() is not available"), "{e}");
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = JsScript::compile("var a = ;", &limits()).expect_err("syntax");
        assert!(!e.is_empty(), "{e}");
        let e = run("var a = 1;\nnull.x").expect_err("type error");
        assert!(
            e.contains("cannot read property") || e.contains("null"),
            "{e}"
        );
        let e = run("throw new Error('boom')").expect_err("thrown");
        assert!(e.contains("boom"), "{e}");
        let e = run("throw 'plain'").expect_err("thrown value");
        assert!(e.contains("plain"), "{e}");
        assert!(run("require('fs')").is_err(), "no modules");
        assert!(run("typeof std === 'undefined' && typeof os === 'undefined'") == Ok(json!(true)));
    }

    #[test]
    fn runaway_scripts_stop_within_their_limits() {
        for src in [
            "while (true) {}",
            "for (;;) { try { while (true) {} } catch (e) {} }",
            "/(a+)+$/.test('a'.repeat(40) + 'b')",
        ] {
            let e = run(src).expect_err(src);
            assert!(e.contains("past its budget"), "{src}: {e}");
        }
        let e = run("var s = 'x'; while (true) { s = s + s; }").expect_err("memory");
        assert!(e.contains("memory") || e.contains("too long"), "{e}");
        let e = run("var a = []; while (true) { a.push(new Array(100000).fill(1)); }")
            .expect_err("memory");
        assert!(e.contains("memory") || e.contains("budget"), "{e}");
        let e = run("function f(n) { return f(n + 1) + 1; } f(0)").expect_err("stack");
        assert!(e.contains("stack") || e.contains("recursion"), "{e}");
    }
}
