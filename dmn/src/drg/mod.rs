//! Decision requirements graphs (DMN 1.5 §6: decisions, input data, business
//! knowledge models, decision services, knowledge and information
//! requirements, imports §6.3.3), item definitions with type checking and the
//! coercion rules of §7.3.4/§10.3.2.9.4, and compilation of every boxed
//! expression (§7.2.2 literal, context, relation, list, invocation, function
//! definition, and the DMN 1.5 conditional, filter and iterators) into the
//! FEEL syntax tree.
//!
//! Compile once: [`DmnModel::compile`] parses and builds everything; the
//! result is immutable, `Send + Sync` and cheap to share through `Arc`.
//! Evaluate many: [`DmnModel::evaluate`] only walks the prepared trees.
//!
//! Deviations: a FEEL syntax error in one expression does not reject the
//! whole model; the expression evaluates to null with the syntax error as
//! reason and the error is listed in [`DmnModel::diagnostics`]. Only FEEL
//! is supported as expression language (other `kind`s of function
//! definitions evaluate to null).

use crate::decision_table::{DecisionTable, HitPolicy, InputClause, OutputClause, Rule};
use crate::dialect::{Dialect, ResultShape};
use crate::feel::ast::{Args, Boxed, Expr, UnaryTests};
use crate::feel::eval::{DEFAULT_STEP_LIMIT, EvalError, Evaluator, Scope, TableAudit};
use crate::feel::parser::{Names, parse_expression_in, parse_type, parse_unary_tests_in};
use crate::model::{self, BoxedExpr, BoxedKind, Definitions, ModelError, Pos};
use crate::value::{Context, Function, Type, UserFunction, Value};
use std::collections::HashMap;
use std::sync::Arc;

mod boxed;
mod build;
mod run;
mod types;

use boxed::ServiceBody;
use run::Run;
use types::Base;
pub use types::DmnType;

/// A compile-time diagnostic (expression that failed to parse, unresolved reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code.
    pub code: &'static str,
    /// Element name.
    pub element: String,
    /// Position in the XML.
    pub line: u32,
    /// Column in the XML.
    pub column: u32,
    /// Message ("expected ..., found ...").
    pub message: String,
}

/// Evaluation failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluateError {
    /// No such decision/service.
    #[error("expected the id or name of a {kind} in the model ({known}), found '{name}'")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// The id or name asked for.
        name: String,
        /// What the model has, for the message.
        known: String,
    },
    /// Budget exhausted.
    #[error(transparent)]
    Aborted(#[from] EvalError),
    /// JSON input that is not an object.
    #[error("expected a JSON object of input values, found {found}")]
    InputNotObject {
        /// The JSON kind found.
        found: &'static str,
    },
}

#[derive(Debug)]
struct ModelInfo {
    namespace: String,
    name: String,
    imports: Vec<(String, String)>,
    item_defs: Vec<model::ItemDefinition>,
    names: Vec<String>,
    name_set: Arc<Names>,
    feel_types: Vec<(String, Type)>,
    language: Option<String>,
    /// Whose DMN the file speaks ([`crate::dialect::detect`]).
    dialect: Dialect,
}

#[derive(Debug, Clone)]
struct Req {
    elem: usize,
    prefix: Option<String>,
}

#[derive(Debug)]
enum Kind {
    Input,
    Decision {
        expr: Expr,
        info: Vec<Req>,
        knowledge: Vec<Req>,
    },
    Bkm {
        expr: Expr,
        knowledge: Vec<Req>,
    },
    Service {
        outputs: Vec<usize>,
        params: Vec<usize>,
    },
}

#[derive(Debug)]
struct Elem {
    model: usize,
    id: String,
    name: String,
    /// A decision's result as Camunda 7 binds it for the decisions that
    /// require it (set for decisions of Camunda-dialect models).
    shape: Option<ResultShape>,
    ty: Option<Arc<DmnType>>,
    kind: Kind,
}

#[derive(Debug)]
struct Set {
    models: Vec<ModelInfo>,
    elems: Vec<Elem>,
    diagnostics: Vec<Diagnostic>,
}

/// A compiled DMN model (with its imported models).
#[derive(Debug, Clone)]
pub struct DmnModel {
    set: Arc<Set>,
}

/// Input values for an evaluation.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Values by element name (main model, or `import.name`).
    pub values: Context,
    /// Values for elements of a given namespace.
    pub namespaced: Vec<(String, String, Value)>,
    /// Deviation, off by default: also make every entry of `values` visible
    /// to the main model's decision logic as a variable, below the required
    /// elements. Camunda-style models reference process variables without
    /// declaring input data; the spec's scoping would make them null.
    pub free_variables: bool,
    /// The evaluation's clock for FEEL's `now()` and `today()`, in
    /// milliseconds since the epoch; without one they are null.
    pub now_millis: Option<i64>,
}

impl Inputs {
    /// Inputs from a JSON object (numbers are read exactly from their text;
    /// strings become dates, times or durations where the input data's type
    /// says so).
    pub fn from_json(j: &serde_json::Value) -> Result<Inputs, EvaluateError> {
        match Value::from_json(j) {
            Value::Context(c) => Ok(Inputs::from_context(c)),
            _ => Err(EvaluateError::InputNotObject {
                found: match j {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::Object(_) => "an object",
                },
            }),
        }
    }

    /// Inputs from name/value pairs.
    pub fn from_context(c: Context) -> Inputs {
        Inputs {
            values: c,
            namespaced: vec![],
            free_variables: false,
            now_millis: None,
        }
    }

    /// The clock for `now()` and `today()` (milliseconds since the epoch).
    pub fn at(mut self, now_millis: i64) -> Inputs {
        self.now_millis = Some(now_millis);
        self
    }

    /// Turns on [`Inputs::free_variables`].
    pub fn with_free_variables(mut self) -> Inputs {
        self.free_variables = true;
        self
    }
}

/// Result of an evaluation.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The value (null with a reason on errors).
    pub value: Value,
    /// Decision tables evaluated and their matched rules.
    pub audit: Vec<TableAudit>,
}

impl DmnModel {
    /// Compiles a model without imports.
    pub fn compile(xml: &str) -> Result<DmnModel, ModelError> {
        DmnModel::compile_with_imports(xml, &[])
    }

    /// Compiles a model together with the models it may import (matched by namespace).
    pub fn compile_with_imports(xml: &str, others: &[&str]) -> Result<DmnModel, ModelError> {
        let mut defs = vec![model::parse_definitions(xml)?];
        for o in others {
            defs.push(model::parse_definitions(o)?);
        }
        Ok(DmnModel::from_definitions(defs))
    }

    /// Builds from parsed definitions; the first one is the main model.
    pub fn from_definitions(defs: Vec<Definitions>) -> DmnModel {
        DmnModel {
            set: Arc::new(build::build(&defs)),
        }
    }

    /// Compile-time diagnostics.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.set.diagnostics
    }

    /// Names of the main model's decisions.
    pub fn decision_names(&self) -> Vec<String> {
        self.set
            .elems
            .iter()
            .filter(|e| e.model == 0 && matches!(e.kind, Kind::Decision { .. }))
            .map(|e| e.name.clone())
            .collect()
    }

    /// Name of the main model.
    pub fn name(&self) -> &str {
        self.set
            .models
            .first()
            .map(|m| m.name.as_str())
            .unwrap_or("")
    }

    /// The main model's decision (or decision service) with this id, or
    /// else with this name.
    fn find(&self, key: &str, service: bool) -> Option<usize> {
        let candidate = |e: &Elem| {
            e.model == 0
                && matches!(e.kind, Kind::Service { .. }) == service
                && !matches!(e.kind, Kind::Input | Kind::Bkm { .. })
        };
        let elems = &self.set.elems;
        elems
            .iter()
            .position(|e| candidate(e) && e.id == key)
            .or_else(|| elems.iter().position(|e| candidate(e) && e.name == key))
    }

    /// The main model's decisions (or services) for a message: `id "name"`.
    fn known(&self, service: bool) -> String {
        let list: Vec<String> = self
            .set
            .elems
            .iter()
            .filter(|e| e.model == 0)
            .filter(|e| match e.kind {
                Kind::Service { .. } => service,
                Kind::Decision { .. } => !service,
                _ => false,
            })
            .map(|e| match (e.id.as_str(), e.name.as_str()) {
                (id, name) if id == name || id.is_empty() => format!("'{name}'"),
                (id, name) => format!("'{id}' \"{name}\""),
            })
            .collect();
        if list.is_empty() {
            "it has none".to_string()
        } else {
            format!("one of {}", list.join(", "))
        }
    }

    /// Whose DMN the main model speaks.
    pub fn dialect(&self) -> Dialect {
        self.set
            .models
            .first()
            .map_or(Dialect::Standard, |m| m.dialect)
    }

    /// Ids and names of the main model's decisions, in file order.
    pub fn decisions(&self) -> Vec<(String, String)> {
        self.set
            .elems
            .iter()
            .filter(|e| e.model == 0 && matches!(e.kind, Kind::Decision { .. }))
            .map(|e| (e.id.clone(), e.name.clone()))
            .collect()
    }

    /// Evaluates a decision of the main model.
    pub fn evaluate(&self, decision: &str, inputs: &Inputs) -> Result<Evaluation, EvaluateError> {
        self.evaluate_with_limit(decision, inputs, DEFAULT_STEP_LIMIT)
    }

    /// Evaluates a decision with an explicit step budget.
    pub fn evaluate_with_limit(
        &self,
        decision: &str,
        inputs: &Inputs,
        limit: u64,
    ) -> Result<Evaluation, EvaluateError> {
        let idx = self
            .find(decision, false)
            .ok_or_else(|| EvaluateError::NotFound {
                kind: "decision",
                name: decision.to_string(),
                known: self.known(false),
            })?;
        self.run(inputs, limit, HashMap::new(), |run| run.value(idx))
    }

    /// One evaluation: a fresh evaluator with the inputs' clock and the
    /// model's dialect, `f` over a fresh run, the audit collected.
    fn run(
        &self,
        inputs: &Inputs,
        limit: u64,
        overrides: HashMap<usize, Value>,
        f: impl FnOnce(&mut Run<'_>) -> Value,
    ) -> Result<Evaluation, EvaluateError> {
        let mut ev = Evaluator::new(limit)
            .with_now(inputs.now_millis)
            .with_dialect(self.dialect());
        let value = f(&mut Run {
            set: &self.set,
            inputs,
            memo: vec![None; self.set.elems.len()],
            overrides,
            ev: &mut ev,
        });
        if let Some(e) = ev.aborted() {
            return Err(e.clone().into());
        }
        Ok(Evaluation {
            value,
            audit: std::mem::take(&mut ev.audit),
        })
    }

    /// Evaluates a decision with JSON input and output.
    pub fn evaluate_json(
        &self,
        decision: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, EvaluateError> {
        let inputs = Inputs::from_json(input)?;
        Ok(self.evaluate(decision, &inputs)?.value.to_json())
    }

    /// Invokes a decision service of the main model; its parameters are
    /// taken from `inputs` by name.
    pub fn evaluate_service(
        &self,
        service: &str,
        inputs: &Inputs,
    ) -> Result<Evaluation, EvaluateError> {
        let idx = self
            .find(service, true)
            .ok_or_else(|| EvaluateError::NotFound {
                kind: "decision service",
                name: service.to_string(),
                known: self.known(true),
            })?;
        let Kind::Service { params, .. } = &self.set.elems[idx].kind else {
            return Err(EvaluateError::NotFound {
                kind: "decision service",
                name: service.to_string(),
                known: self.known(true),
            });
        };
        let mut overrides = HashMap::new();
        for &p in params {
            let v = inputs
                .values
                .get(&self.set.elems[p].name)
                .cloned()
                .unwrap_or_default();
            overrides.insert(p, v);
        }
        self.run(inputs, DEFAULT_STEP_LIMIT, overrides, |run| {
            run.service_result(idx)
        })
    }

    /// Declared types of the main model's input data (for converting untyped input).
    pub fn input_type(&self, name: &str) -> Option<Type> {
        self.set
            .elems
            .iter()
            .find(|e| e.model == 0 && e.name == name && matches!(e.kind, Kind::Input))
            .and_then(|e| e.ty.as_ref())
            .map(|t| t.to_feel())
    }
}
