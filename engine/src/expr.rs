//! Expressions and scripts in the three languages the engine runs.
//!
//! Which language a body is in follows [`bpmn_models::lang`]: `=…` is FEEL
//! (Camunda 8), `${…}` is JUEL (Camunda 7), anything else is Rhai unless a
//! `language`/`scriptFormat` attribute says otherwise. Everything is compiled
//! once at deploy time; evaluation takes the visible variables.
//!
//! Variables are JSON values. FEEL sees them converted losslessly by the
//! `dmn` crate; JUEL reads them directly; Rhai converts only the variables a
//! script mentions (see [`crate::script`]).

use std::sync::Arc;

use bpmn_models::lang::{self, Language};
use serde_json::{Map, Value};

use crate::juel::JuelExpr;
use crate::script::{Script, ScriptEngine};

/// Why an expression did not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    pub message: String,
}

/// Why an expression failed at run time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

fn eval_err(message: impl Into<String>) -> EvalError {
    EvalError {
        message: message.into(),
    }
}

/// A compiled expression: immutable, cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Expr {
    kind: ExprKind,
    source: Arc<str>,
}

#[derive(Clone)]
enum ExprKind {
    Rhai(Script),
    /// With the identifiers its source mentions (sorted): only variables of
    /// those names are converted for an evaluation, so a large variable
    /// the expression does not read costs nothing.
    Feel(dmn::feel::Expression, Arc<[String]>),
    Juel(JuelExpr),
    JavaScript(crate::js::JsScript),
}

/// The identifiers a FEEL source mentions, sorted: a superset of the
/// variables it can read (names are compiled without a known variable
/// list, so a name is one identifier).
fn feel_identifiers(src: &str) -> Arc<[String]> {
    let mut out: Vec<String> = src
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '?'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out.into()
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`", self.language(), self.source)
    }
}

/// The variables an expression sees: scope layers, innermost first; and
/// the instance they belong to, when there is one.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    layers: &'a [&'a Map<String, Value>],
    execution: Option<Execution<'a>>,
    /// Where `execution.setVariable` calls go, where they are applied.
    effects: Option<&'a std::cell::RefCell<Vec<(String, Value)>>>,
}

/// What expressions read of the instance (Camunda 7's `execution`).
#[derive(Debug, Clone, Copy)]
pub struct Execution<'a> {
    pub instance: &'a str,
    pub business_key: Option<&'a str>,
    /// The command's time (milliseconds since the epoch): a script's clock.
    pub now: i64,
}

impl<'a> Vars<'a> {
    pub fn new(layers: &'a [&'a Map<String, Value>]) -> Self {
        Vars {
            layers,
            execution: None,
            effects: None,
        }
    }

    /// The same variables, seen from an instance.
    pub fn with_execution(mut self, execution: Execution<'a>) -> Self {
        self.execution = Some(execution);
        self
    }

    /// The instance, when the variables are an instance's.
    pub fn execution_info(&self) -> Option<Execution<'a>> {
        self.execution
    }

    /// The same variables, with `execution.setVariable` calls collected in
    /// `effects` for the caller to apply.
    pub fn with_effects(mut self, effects: &'a std::cell::RefCell<Vec<(String, Value)>>) -> Self {
        self.effects = Some(effects);
        self
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.layers.iter().find_map(|l| l.get(name))
    }

    /// One map with inner layers shadowing outer ones.
    pub fn merged(&self) -> std::borrow::Cow<'a, Map<String, Value>> {
        match self.layers {
            [] => std::borrow::Cow::Owned(Map::new()),
            [one] => std::borrow::Cow::Borrowed(*one),
            many => {
                let mut m = Map::new();
                for l in many.iter().rev() {
                    for (k, v) in l.iter() {
                        m.insert(k.clone(), v.clone());
                    }
                }
                std::borrow::Cow::Owned(m)
            }
        }
    }
}

impl crate::juel::Variables for Vars<'_> {
    fn get(&self, name: &str) -> Option<Value> {
        if let Some(effects) = self.effects
            && let Some((_, v)) = effects.borrow().iter().rev().find(|(k, _)| k == name)
        {
            return Some(v.clone());
        }
        Vars::get(self, name).cloned()
    }

    fn execution(&self, property: crate::juel::ExecutionProperty) -> Option<Value> {
        let e = self.execution?;
        Some(match property {
            crate::juel::ExecutionProperty::ProcessInstanceId => Value::String(e.instance.into()),
            crate::juel::ExecutionProperty::BusinessKey => e
                .business_key
                .map_or(Value::Null, |k| Value::String(k.into())),
        })
    }

    fn set(&self, name: &str, value: Value) -> bool {
        match self.effects {
            Some(effects) => {
                effects.borrow_mut().push((name.to_string(), value));
                true
            }
            None => false,
        }
    }
}

impl Expr {
    /// Compiles an expression (a condition, a mapping source, …) whose
    /// `language` attribute may be absent.
    pub fn compile(
        scripts: &ScriptEngine,
        language: Option<&str>,
        body: &str,
    ) -> Result<Expr, CompileError> {
        let lang = lang::expression_language(language, body).map_err(|l| CompileError {
            message: format!(
                "expression language `{l}` is not supported: expected Rhai, FEEL (`=…`), JUEL (`${{…}}`) or JavaScript"
            ),
        })?;
        Self::compile_as(scripts, lang, body)
    }

    /// Compiles a body in a known language; FEEL bodies may keep their `=`.
    pub fn compile_as(
        scripts: &ScriptEngine,
        lang: Language,
        body: &str,
    ) -> Result<Expr, CompileError> {
        let kind = match lang {
            Language::Feel => {
                let src = body.trim_start();
                let src = src.strip_prefix('=').unwrap_or(src);
                ExprKind::Feel(
                    dmn::feel::Expression::compile(src, &[]).map_err(|e| CompileError {
                        message: format!("FEEL: {e}"),
                    })?,
                    feel_identifiers(src),
                )
            }
            Language::Juel => {
                ExprKind::Juel(JuelExpr::parse(body.trim()).map_err(|e| CompileError {
                    message: format!("JUEL: {e}"),
                })?)
            }
            Language::Rhai => {
                ExprKind::Rhai(scripts.compile_expression(body).map_err(|e| CompileError {
                    message: format!("Rhai: {e}"),
                })?)
            }
            Language::JavaScript => ExprKind::JavaScript(
                crate::js::JsScript::compile(body, &scripts.limits().js).map_err(|e| {
                    CompileError {
                        message: format!("JavaScript: {e}"),
                    }
                })?,
            ),
        };
        Ok(Expr {
            kind,
            source: body.into(),
        })
    }

    pub fn language(&self) -> Language {
        match self.kind {
            ExprKind::Rhai(_) => Language::Rhai,
            ExprKind::Feel(..) => Language::Feel,
            ExprKind::Juel(_) => Language::Juel,
            ExprKind::JavaScript(_) => Language::JavaScript,
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates to a JSON value.
    pub fn eval(&self, scripts: &ScriptEngine, vars: Vars<'_>) -> Result<Value, EvalError> {
        match &self.kind {
            ExprKind::Rhai(s) => scripts
                .run_with(s, |name| vars.get(name))
                .map(|o| o.value)
                .map_err(|e| eval_err(format!("Rhai: {e}"))),
            ExprKind::Juel(j) => j.eval(&vars).map_err(|e| eval_err(format!("JUEL: {e}"))),
            ExprKind::JavaScript(js) => js
                .run(
                    &scripts.limits().js,
                    crate::js::Host {
                        vars,
                        effects: vars.effects,
                    },
                )
                .map_err(|e| eval_err(format!("JavaScript: {e}"))),
            ExprKind::Feel(f, names) => {
                let mut feel_vars: Vec<(String, dmn::Value)> = Vec::new();
                for layer in vars.layers.iter().rev() {
                    for (k, v) in layer.iter() {
                        if names.binary_search(k).is_ok() {
                            feel_vars.push((k.clone(), dmn::Value::from_json(v)));
                        }
                    }
                }
                // `now()` and `today()` read the command's time; FEEL in a
                // process is Camunda's (feel-scala's) dialect.
                let options = dmn::feel::Options {
                    now_millis: vars.execution.map(|e| e.now),
                    dialect: dmn::Dialect::Camunda,
                    ..dmn::feel::Options::default()
                };
                let v = f
                    .evaluate_with(&feel_vars, &options)
                    .map_err(|e| eval_err(format!("FEEL: {e}")))?;
                if let Some(reason) = v.null_reason() {
                    return Err(eval_err(format!("FEEL: {reason}")));
                }
                Ok(v.to_json())
            }
        }
    }

    /// Evaluates a condition; anything but a boolean is an error.
    pub fn eval_bool(&self, scripts: &ScriptEngine, vars: Vars<'_>) -> Result<bool, EvalError> {
        match self.eval(scripts, vars)? {
            Value::Bool(b) => Ok(b),
            // FEEL: a condition that evaluates to null is not satisfied.
            Value::Null if self.language() == Language::Feel => Ok(false),
            other => Err(eval_err(format!(
                "condition `{}`: expected a boolean, found {}",
                self.source.trim(),
                kind_of(&other)
            ))),
        }
    }
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
