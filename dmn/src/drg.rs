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
use crate::feel::ast::{Args, Boxed, Expr, UnaryTests};
use crate::feel::eval::{DEFAULT_STEP_LIMIT, EvalError, Evaluator, Scope, TableAudit};
use crate::feel::parser::{Names, parse_expression_in, parse_type, parse_unary_tests_in};
use crate::model::{self, BoxedExpr, BoxedKind, Definitions, ModelError, Pos};
use crate::value::{Context, Function, Type, UserFunction, Value};
use std::collections::HashMap;
use std::sync::Arc;

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
    #[error("expected the name of a {kind} in the model, found '{name}'")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// The name.
        name: String,
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

/// A DMN type: a FEEL type or an item definition.
#[derive(Debug, Clone)]
pub struct DmnType {
    /// Name (for messages).
    pub name: String,
    base: Base,
    collection: bool,
    allowed: Option<Arc<UnaryTests>>,
}

#[derive(Debug, Clone)]
enum Base {
    Feel(Type),
    Ref(Arc<DmnType>),
    Struct(Vec<(String, Arc<DmnType>)>),
    Function,
}

impl DmnType {
    fn any() -> DmnType {
        DmnType {
            name: "Any".into(),
            base: Base::Feel(Type::Any),
            collection: false,
            allowed: None,
        }
    }

    /// Approximate FEEL type (for typed function parameters).
    pub fn to_feel(&self) -> Type {
        let base = match &self.base {
            Base::Feel(t) => t.clone(),
            Base::Ref(r) => r.to_feel(),
            Base::Struct(fs) => {
                Type::Context(fs.iter().map(|(n, t)| (n.clone(), t.to_feel())).collect())
            }
            Base::Function => Type::Function(vec![], Box::new(Type::Any)),
        };
        if self.collection {
            Type::List(Box::new(base))
        } else {
            base
        }
    }

    fn conforms_base(&self, v: &Value, ev: &mut Evaluator) -> Option<Value> {
        let v = match &self.base {
            Base::Feel(Type::Any) => v.clone(),
            Base::Feel(t) => {
                let c = crate::feel::eval::coerce_to(t, v.clone());
                if !t.accepts(&c) {
                    return None;
                }
                c
            }
            Base::Ref(r) => {
                let c = r.coerce(v.clone(), ev);
                if c.is_null() {
                    return None;
                }
                c
            }
            Base::Struct(fields) => {
                let Value::Context(c) = v else { return None };
                let mut out = c.clone();
                for (n, t) in fields {
                    let fv = c.get(n)?;
                    if fv.is_null() {
                        continue;
                    }
                    let cv = t.coerce(fv.clone(), ev);
                    if cv.is_null() {
                        return None;
                    }
                    out.put(n.clone(), cv);
                }
                Value::Context(out)
            }
            Base::Function => {
                if !matches!(v, Value::Function(_)) {
                    return None;
                }
                v.clone()
            }
        };
        if let Some(a) = &self.allowed {
            let mut scope = Scope::new();
            if !matches!(ev.unary_tests(a, v.clone(), &mut scope), Value::Bool(true)) {
                return None;
            }
        }
        Some(v)
    }

    /// Checks `v` against this type (§7.3.4): the value itself, a singleton
    /// list for a collection type, or null when it does not conform.
    pub fn coerce(&self, v: Value, ev: &mut Evaluator) -> Value {
        self.coerce_impl(v, ev, false)
    }

    /// Coercion for parameter binding (§10.3.2.9.4): also unwraps a
    /// singleton list when a single value is expected.
    pub fn coerce_param(&self, v: Value, ev: &mut Evaluator) -> Value {
        self.coerce_impl(v, ev, true)
    }

    fn coerce_impl(&self, v: Value, ev: &mut Evaluator, unwrap: bool) -> Value {
        if v.is_null() {
            return v;
        }
        if self.collection {
            let items = match v {
                Value::List(l) => l,
                other => vec![other],
            };
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                if i.is_null() {
                    out.push(i);
                    continue;
                }
                match self.conforms_base(&i, ev) {
                    Some(c) => out.push(c),
                    None => {
                        return Value::null(format!(
                            "value does not conform to type {}",
                            self.name
                        ));
                    }
                }
            }
            return Value::List(out);
        }
        let v = match v {
            Value::List(mut l) if unwrap && l.len() == 1 && !self.is_list_like() => {
                l.pop().unwrap_or_default()
            }
            other => other,
        };
        match self.conforms_base(&v, ev) {
            Some(c) => c,
            None => Value::null(format!(
                "{} does not conform to type {}",
                v.kind(),
                self.name
            )),
        }
    }

    fn is_list_like(&self) -> bool {
        match &self.base {
            Base::Feel(Type::List(_)) | Base::Feel(Type::Any) => true,
            Base::Ref(r) => r.collection || r.is_list_like(),
            _ => false,
        }
    }
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
    name: String,
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

struct Builder<'a> {
    defs: &'a [Definitions],
    models: Vec<ModelInfo>,
    elems: Vec<Elem>,
    by_id: HashMap<(usize, String), usize>,
    diagnostics: Vec<Diagnostic>,
    type_cache: HashMap<(usize, String), Arc<DmnType>>,
    resolving: Vec<(usize, String)>,
    cur_elem: String,
}

fn collect_boxed_names(b: &BoxedExpr, out: &mut Vec<String>) {
    match &b.kind {
        BoxedKind::Context(es) => {
            for (v, e) in es {
                if let Some((n, _)) = v {
                    out.push(n.clone());
                }
                if let Some(e) = e {
                    collect_boxed_names(e, out);
                }
            }
        }
        BoxedKind::Invocation(c, bs) => {
            collect_boxed_names(c, out);
            for (n, e) in bs {
                out.push(n.clone());
                if let Some(e) = e {
                    collect_boxed_names(e, out);
                }
            }
        }
        BoxedKind::Relation(cols, rows) => {
            out.extend(cols.iter().cloned());
            for r in rows {
                for e in r.iter().flatten() {
                    collect_boxed_names(e, out);
                }
            }
        }
        BoxedKind::List(items) => items.iter().for_each(|e| collect_boxed_names(e, out)),
        BoxedKind::Function(_, ps, body) => {
            out.extend(ps.iter().map(|(n, _)| n.clone()));
            if let Some(b) = body {
                collect_boxed_names(b, out);
            }
        }
        BoxedKind::Conditional(a, b, c) => {
            collect_boxed_names(a, out);
            collect_boxed_names(b, out);
            collect_boxed_names(c, out);
        }
        BoxedKind::Filter(a, b) => {
            collect_boxed_names(a, out);
            collect_boxed_names(b, out);
        }
        BoxedKind::Iterator(_, v, a, b) => {
            out.push(v.clone());
            collect_boxed_names(a, out);
            collect_boxed_names(b, out);
        }
        BoxedKind::DecisionTable(t) => {
            out.extend(t.outputs.iter().filter_map(|o| o.name.clone()));
        }
        BoxedKind::Literal(_) | BoxedKind::Empty => {}
    }
}

fn collect_item_names(i: &model::ItemDefinition, out: &mut Vec<String>) {
    for c in &i.components {
        out.push(c.name.clone());
        collect_item_names(c, out);
    }
}

fn model_names(d: &Definitions) -> Vec<String> {
    let mut out = Vec::new();
    for i in &d.inputs {
        out.push(i.name.clone());
    }
    for x in &d.decisions {
        out.push(x.name.clone());
        if let Some(l) = &x.logic {
            collect_boxed_names(l, &mut out);
        }
    }
    for x in &d.bkms {
        out.push(x.name.clone());
        if let Some(l) = &x.logic {
            collect_boxed_names(l, &mut out);
        }
    }
    for x in &d.services {
        out.push(x.name.clone());
    }
    for i in &d.item_definitions {
        collect_item_names(i, &mut out);
    }
    out
}

impl<'a> Builder<'a> {
    fn diag(&mut self, code: &'static str, pos: Pos, message: String) {
        self.diagnostics.push(Diagnostic {
            code,
            element: self.cur_elem.clone(),
            line: pos.line,
            column: pos.column,
            message,
        });
    }

    fn model_of_ns(&self, ns: &str) -> Option<usize> {
        self.models.iter().position(|m| m.namespace == ns)
    }

    fn resolve_href(&self, m: usize, href: &str) -> Option<Req> {
        let (ns, id) = href.split_once('#').unwrap_or(("", href));
        let target = if ns.is_empty() {
            m
        } else {
            self.model_of_ns(ns).unwrap_or(m)
        };
        let elem = *self.by_id.get(&(target, id.to_string()))?;
        let prefix = if target == m {
            None
        } else {
            let tns = &self.models[target].namespace;
            self.models[m]
                .imports
                .iter()
                .find(|(_, ns)| ns == tns)
                .map(|(p, _)| p.clone())
        };
        Some(Req { elem, prefix })
    }

    fn resolve_type(&mut self, m: usize, type_ref: &str, depth: usize) -> Arc<DmnType> {
        let t = type_ref.trim();
        if let Some(c) = self.type_cache.get(&(m, t.to_string())) {
            return c.clone();
        }
        // A type that refers to itself (directly or through components) is
        // checked only down to the recursive reference.
        let key = (m, t.to_string());
        if depth > model::MAX_NESTING || self.resolving.contains(&key) {
            return Arc::new(DmnType::any());
        }
        self.resolving.push(key.clone());
        let r = self.resolve_type_uncached(m, t, depth);
        self.resolving.pop();
        self.type_cache.insert(key, r.clone());
        r
    }

    fn resolve_type_uncached(&mut self, m: usize, t: &str, depth: usize) -> Arc<DmnType> {
        // Item definitions of this model shadow FEEL built-in names.
        let defs = self.models[m].item_defs.clone();
        if let Some(d) = defs.iter().find(|d| d.name == t) {
            return Arc::new(self.item_type(m, d, depth + 1));
        }
        if let Some((prefix, rest)) = t.split_once('.')
            && let Some((_, ns)) = self.models[m]
                .imports
                .iter()
                .find(|(p, _)| p == prefix)
                .cloned()
            && let Some(tm) = self.model_of_ns(&ns)
        {
            return self.resolve_type(tm, rest, depth + 1);
        }
        if let Ok(ft) = parse_type(t) {
            return Arc::new(DmnType {
                name: t.to_string(),
                base: Base::Feel(ft),
                collection: false,
                allowed: None,
            });
        }
        // DMN 1.1 and some modellers write XML QNames: `feel:number`,
        // `xsd:string`, `tns:tPerson`.
        if let Some((_, local)) = t.split_once(':')
            && !local.is_empty()
        {
            return self.resolve_type(m, local, depth + 1);
        }
        Arc::new(DmnType {
            name: t.to_string(),
            ..DmnType::any()
        })
    }

    fn tests(&mut self, text: &str, m: usize, pos: Pos) -> Option<Arc<UnaryTests>> {
        if text.trim().is_empty() {
            return None;
        }
        let names = self.models[m].name_set.clone();
        match parse_unary_tests_in(text, &names) {
            Ok(t) => Some(Arc::new(t)),
            Err(e) => {
                self.diag("DMN101", pos, format!("in unary tests '{text}': {e}"));
                None
            }
        }
    }

    fn item_type(&mut self, m: usize, d: &model::ItemDefinition, depth: usize) -> DmnType {
        let allowed = match (&d.allowed_values, &d.type_constraint) {
            (Some(a), _) | (None, Some(a)) => self.tests(a, m, d.pos),
            _ => None,
        };
        let base = if !d.components.is_empty() {
            let mut fs = Vec::new();
            for c in &d.components {
                fs.push((c.name.clone(), Arc::new(self.item_type(m, c, depth + 1))));
            }
            Base::Struct(fs)
        } else if d.function.is_some() {
            Base::Function
        } else if let Some(tr) = &d.type_ref {
            let inner = self.resolve_type(m, tr, depth + 1);
            Base::Ref(inner)
        } else {
            Base::Feel(Type::Any)
        };
        DmnType {
            name: d.name.clone(),
            base,
            collection: d.is_collection,
            allowed,
        }
    }

    fn opt_type(&mut self, m: usize, t: &Option<String>) -> Option<Arc<DmnType>> {
        t.as_ref().map(|t| self.resolve_type(m, t, 0))
    }

    /// Expressions in a language other than FEEL (Camunda's `juel`,
    /// `javascript`, ...) cannot be evaluated: they become null with a
    /// reason and a `DMN105` diagnostic.
    fn foreign_language(&mut self, lang: Option<&str>, m: usize, pos: Pos) -> Option<Expr> {
        let lang = lang
            .or(self.models[m].language.as_deref())?
            .trim()
            .to_string();
        if lang.is_empty() || lang.to_ascii_lowercase().contains("feel") {
            return None;
        }
        let msg = format!("expected a FEEL expression, found expression language '{lang}'");
        self.diag("DMN105", pos, msg.clone());
        Some(Expr::Const(Value::null(msg)))
    }

    fn feel(&mut self, text: &str, m: usize, pos: Pos) -> Expr {
        let names = self.models[m].name_set.clone();
        let types = self.models[m].feel_types.clone();
        let resolve = |n: &str| types.iter().find(|(k, _)| k == n).map(|(_, t)| t.clone());
        match parse_expression_in(text, &names, Some(&resolve)) {
            Ok(e) => e,
            Err(e) => {
                let msg = format!("in FEEL '{}': {e}", text.trim());
                self.diag("DMN100", pos, msg.clone());
                Expr::Const(Value::null(msg))
            }
        }
    }

    fn boxed(&mut self, b: &BoxedExpr, m: usize) -> Expr {
        let e = self.boxed_inner(b, m);
        match &b.type_ref {
            Some(t) if !matches!(b.kind, BoxedKind::Function(..)) => {
                let ty = self.resolve_type(m, t, 0);
                if matches!(ty.base, Base::Feel(Type::Any))
                    && !ty.collection
                    && ty.allowed.is_none()
                {
                    return e;
                }
                Expr::Boxed(Arc::new(Typed { inner: e, ty }))
            }
            _ => e,
        }
    }

    fn boxed_inner(&mut self, b: &BoxedExpr, m: usize) -> Expr {
        match &b.kind {
            BoxedKind::Literal(t) => match self.foreign_language(b.language.as_deref(), m, b.pos) {
                Some(e) => e,
                None => self.feel(t, m, b.pos),
            },
            BoxedKind::Empty => Expr::Const(Value::Null(None)),
            BoxedKind::Context(entries) => {
                let mut out = Vec::new();
                let mut result = None;
                for (var, val) in entries {
                    let mut e = match val {
                        Some(v) => self.boxed(v, m),
                        None => Expr::Const(Value::Null(None)),
                    };
                    match var {
                        Some((n, t)) => {
                            if let Some(t) = t {
                                let ty = self.resolve_type(m, t, 0);
                                e = Expr::Boxed(Arc::new(Typed { inner: e, ty }));
                            }
                            out.push((n.clone(), e))
                        }
                        None => result = Some(e),
                    }
                }
                match result {
                    None => Expr::Context(out),
                    Some(r) => Expr::Boxed(Arc::new(ContextResult {
                        entries: out,
                        result: r,
                    })),
                }
            }
            BoxedKind::List(items) => Expr::List(items.iter().map(|i| self.boxed(i, m)).collect()),
            BoxedKind::Relation(cols, rows) => Expr::List(
                rows.iter()
                    .map(|r| {
                        Expr::Context(
                            cols.iter()
                                .zip(r.iter())
                                .map(|(c, e)| {
                                    (
                                        c.clone(),
                                        e.as_ref()
                                            .map(|e| self.boxed(e, m))
                                            .unwrap_or(Expr::Const(Value::Null(None))),
                                    )
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
            BoxedKind::Invocation(callee, binds) => {
                let f = self.boxed(callee, m);
                let args = binds
                    .iter()
                    .map(|(n, e)| {
                        (
                            n.clone(),
                            e.as_ref()
                                .map(|e| self.boxed(e, m))
                                .unwrap_or(Expr::Const(Value::Null(None))),
                        )
                    })
                    .collect();
                Expr::Call(Box::new(f), Args::Named(args))
            }
            BoxedKind::Function(kind, params, body) => {
                let ps: Vec<(String, Option<Type>)> = params
                    .iter()
                    .map(|(n, t)| {
                        (
                            n.clone(),
                            t.as_ref()
                                .map(|t| self.resolve_type(m, t, 0).to_feel())
                                .filter(|t| *t != Type::Any),
                        )
                    })
                    .collect();
                let body = if kind == "Java" {
                    let mapping = match body {
                        Some(b) => self.boxed(b, m),
                        None => Expr::Const(Value::Null(None)),
                    };
                    Expr::Boxed(Arc::new(crate::feel::java::JavaFunction {
                        mapping,
                        params: ps.iter().map(|(n, _)| n.clone()).collect(),
                    }))
                } else if kind != "FEEL" && !kind.is_empty() {
                    Expr::Const(Value::null(format!(
                        "function kind {kind} is not supported"
                    )))
                } else {
                    match body {
                        Some(b) => self.boxed(b, m),
                        None => Expr::Const(Value::Null(None)),
                    }
                };
                Expr::FunctionDef {
                    params: ps,
                    body: Arc::new(body),
                }
            }
            BoxedKind::Conditional(c, a, e) => Expr::Boxed(Arc::new(Strict::If(
                self.boxed(c, m),
                self.boxed(a, m),
                self.boxed(e, m),
            ))),
            BoxedKind::Filter(l, f) => {
                Expr::Boxed(Arc::new(Strict::Filter(self.boxed(l, m), self.boxed(f, m))))
            }
            BoxedKind::Iterator(k, var, input, body) => {
                let i = self.boxed(input, m);
                let bd = self.boxed(body, m);
                match k.as_str() {
                    "for" => Expr::For(vec![(var.clone(), i)], Box::new(bd)),
                    other => Expr::Boxed(Arc::new(Strict::Quantified(
                        other == "every",
                        var.clone(),
                        i,
                        bd,
                    ))),
                }
            }
            BoxedKind::DecisionTable(t) => self.table(t, m),
        }
    }

    fn table(&mut self, t: &model::DecisionTableDef, m: usize) -> Expr {
        let Some(hit) = HitPolicy::parse(&t.hit_policy, t.aggregation.as_deref()) else {
            let msg = format!("expected a DMN hit policy, found '{}'", t.hit_policy);
            self.diag("DMN102", t.pos, msg.clone());
            return Expr::Const(Value::null(msg));
        };
        let mut inputs = Vec::new();
        for i in &t.inputs {
            let expr = match self.foreign_language(i.language.as_deref(), m, t.pos) {
                Some(e) => e,
                None => self.feel(&i.expr, m, t.pos),
            };
            let values = i.values.as_ref().and_then(|v| self.tests(v, m, t.pos));
            // The input expression's typeRef is informative (§8.3.2); values
            // are checked against the input values instead.
            inputs.push(InputClause { expr, values });
        }
        let mut outputs = Vec::new();
        for o in &t.outputs {
            let values = o.values.as_ref().and_then(|v| self.tests(v, m, t.pos));
            let default = o.default.as_ref().map(|d| self.feel(d, m, t.pos));
            outputs.push(OutputClause {
                name: o.name.clone().unwrap_or_default(),
                values,
                default,
            });
        }
        let mut rules = Vec::new();
        for r in &t.rules {
            if r.inputs.len() != t.inputs.len() || r.outputs.len() != t.outputs.len() {
                let msg = format!(
                    "expected {} input and {} output entries in rule {}, found {} and {}",
                    t.inputs.len(),
                    t.outputs.len(),
                    r.id,
                    r.inputs.len(),
                    r.outputs.len()
                );
                self.diag("DMN103", t.pos, msg.clone());
                return Expr::Const(Value::null(msg));
            }
            let mut tests = Vec::new();
            for (txt, pos) in &r.inputs {
                let names = self.models[m].name_set.clone();
                match parse_unary_tests_in(txt, &names) {
                    Ok(u) => tests.push(crate::decision_table::Matcher::new(u)),
                    Err(e) => {
                        let msg = format!("in input entry '{txt}' of rule {}: {e}", r.id);
                        self.diag("DMN101", *pos, msg.clone());
                        return Expr::Const(Value::null(msg));
                    }
                }
            }
            let outs = r
                .outputs
                .iter()
                .map(|(txt, pos)| self.feel(txt, m, *pos))
                .collect();
            rules.push(Rule {
                id: r.id.clone(),
                tests,
                outputs: outs,
                annotations: r.annotations.clone(),
            });
        }
        Expr::Boxed(Arc::new(DecisionTable {
            id: if t.id.is_empty() {
                self.cur_elem.clone()
            } else {
                t.id.clone()
            },
            hit,
            inputs,
            outputs,
            rules,
            annotation_names: t.annotations.clone(),
        }))
    }
}

/// A boxed expression with a declared type: the value is coerced.
#[derive(Debug)]
struct Typed {
    inner: Expr,
    ty: Arc<DmnType>,
}

impl Boxed for Typed {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        let v = ev.eval(&self.inner, scope);
        self.ty.coerce(v, ev)
    }
}

/// The DMN 1.5 boxed conditional, filter and some/every (§8.3.x): a
/// condition, match or satisfies expression that yields a non-boolean value
/// makes the whole expression null.
#[derive(Debug)]
enum Strict {
    If(Expr, Expr, Expr),
    Filter(Expr, Expr),
    Quantified(bool, String, Expr, Expr),
}

impl Boxed for Strict {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        match self {
            Strict::If(c, a, b) => match ev.eval(c, scope) {
                Value::Bool(true) => ev.eval(a, scope),
                Value::Bool(false) | Value::Null(_) => ev.eval(b, scope),
                other => Value::null(format!(
                    "conditional: expected a boolean condition, found {}",
                    other.kind()
                )),
            },
            Strict::Filter(l, f) => {
                let items = match ev.eval(l, scope) {
                    Value::List(l) => l,
                    Value::Null(r) => return Value::Null(r),
                    other => vec![other],
                };
                let mut out = Vec::new();
                for item in items {
                    if !ev.step(1) {
                        return Value::null("evaluation aborted");
                    }
                    let mut frame = vec![("item".to_string(), item.clone())];
                    if let Value::Context(c) = &item {
                        frame.extend(c.entries.iter().cloned());
                    }
                    scope.push(frame);
                    let r = ev.eval(f, scope);
                    scope.pop();
                    match r {
                        Value::Bool(true) => out.push(item),
                        Value::Bool(false) | Value::Null(_) => {}
                        other => {
                            return Value::null(format!(
                                "filter: expected a boolean match, found {}",
                                other.kind()
                            ));
                        }
                    }
                }
                Value::List(out)
            }
            Strict::Quantified(every, var, input, body) => {
                let items = match ev.eval(input, scope) {
                    Value::List(l) => l,
                    Value::Null(r) => return Value::Null(r),
                    other => vec![other],
                };
                let mut result = *every;
                for item in items {
                    if !ev.step(1) {
                        return Value::null("evaluation aborted");
                    }
                    scope.push(vec![(var.clone(), item)]);
                    let r = ev.eval(body, scope);
                    scope.pop();
                    match r {
                        Value::Bool(b) => {
                            if b != *every {
                                result = b;
                            }
                        }
                        other => {
                            return Value::null(format!(
                                "expected a boolean from 'satisfies', found {}",
                                other.kind()
                            ));
                        }
                    }
                }
                Value::Bool(result)
            }
        }
    }
}

/// A context whose final, unnamed entry is the result.
#[derive(Debug)]
struct ContextResult {
    entries: Vec<(String, Expr)>,
    result: Expr,
}

impl Boxed for ContextResult {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        scope.push(vec![]);
        for (k, e) in &self.entries {
            let v = ev.eval(e, scope);
            scope.set(k.clone(), v);
        }
        let r = ev.eval(&self.result, scope);
        scope.pop();
        r
    }
}

/// The body of a decision service used as a function value.
#[derive(Debug)]
struct ServiceBody {
    set: Arc<Set>,
    service: usize,
}

impl Boxed for ServiceBody {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        let Kind::Service { params, .. } = &self.set.elems[self.service].kind else {
            return Value::null("not a decision service");
        };
        let mut overrides = HashMap::new();
        for &p in params {
            let name = &self.set.elems[p].name;
            let v = scope.get(name).cloned().unwrap_or_default();
            let v = match &self.set.elems[p].ty {
                Some(t) if !v.is_null() => {
                    let c = t.coerce_param(v, ev);
                    if c.is_null() {
                        return Value::null(format!(
                            "decision service parameter '{name}' does not conform to type {}",
                            t.name
                        ));
                    }
                    c
                }
                _ => v,
            };
            overrides.insert(p, v);
        }
        let inputs = Inputs::default();
        let mut run = Run {
            set: &self.set,
            inputs: &inputs,
            memo: vec![None; self.set.elems.len()],
            overrides,
            ev,
        };
        run.service_result(self.service)
    }
}

#[derive(Clone, Debug)]
enum Memo {
    InProgress,
    Done(Value),
}

struct Run<'a> {
    set: &'a Arc<Set>,
    inputs: &'a Inputs,
    memo: Vec<Option<Memo>>,
    overrides: HashMap<usize, Value>,
    ev: &'a mut Evaluator,
}

impl Run<'_> {
    fn coerce(&mut self, idx: usize, v: Value) -> Value {
        match &self.set.elems[idx].ty {
            Some(t) => t.clone().coerce(v, self.ev),
            None => v,
        }
    }

    fn input_value(&mut self, idx: usize) -> Value {
        let e = &self.set.elems[idx];
        let ns = &self.set.models[e.model].namespace;
        if let Some((_, _, v)) = self
            .inputs
            .namespaced
            .iter()
            .find(|(n, k, _)| n == ns && *k == e.name)
        {
            return v.clone();
        }
        if e.model == 0 {
            if let Some(v) = self.inputs.values.get(&e.name) {
                return v.clone();
            }
        } else {
            // `import.name` or a context under the import name.
            for (p, ins) in &self.set.models[0].imports {
                if ins == ns {
                    if let Some(v) = self.inputs.values.get(&format!("{p}.{}", e.name)) {
                        return v.clone();
                    }
                    if let Some(Value::Context(c)) = self.inputs.values.get(p)
                        && let Some(v) = c.get(&e.name)
                    {
                        return v.clone();
                    }
                }
            }
            if let Some(v) = self.inputs.values.get(&e.name) {
                return v.clone();
            }
        }
        Value::Null(None)
    }

    fn value(&mut self, idx: usize) -> Value {
        if !self.ev.enter() {
            return Value::null("evaluation aborted");
        }
        let v = self.value_inner(idx);
        self.ev.leave();
        v
    }

    fn value_inner(&mut self, idx: usize) -> Value {
        if let Some(v) = self.overrides.get(&idx) {
            let v = match &self.set.elems[idx].ty {
                Some(t) => crate::value::convert_strings(&t.to_feel(), v.clone()),
                None => v.clone(),
            };
            return self.coerce(idx, v);
        }
        match &self.memo[idx] {
            Some(Memo::Done(v)) => return v.clone(),
            Some(Memo::InProgress) => {
                return Value::null(format!(
                    "cyclic requirement on '{}'",
                    self.set.elems[idx].name
                ));
            }
            None => {}
        }
        self.memo[idx] = Some(Memo::InProgress);
        let set = self.set.clone();
        let e = &set.elems[idx];
        let v = match &e.kind {
            Kind::Input => {
                let v = self.input_value(idx);
                let v = match &e.ty {
                    Some(t) => crate::value::convert_strings(&t.to_feel(), v),
                    None => v,
                };
                self.coerce(idx, v)
            }
            Kind::Decision {
                expr,
                info,
                knowledge,
            } => {
                let mut scope = self.scope_for(info, knowledge);
                let v = self.ev.eval(expr, &mut scope);
                self.coerce(idx, v)
            }
            Kind::Bkm { expr, knowledge } => {
                let mut scope = self.scope_for(&[], knowledge);
                self.ev.eval(expr, &mut scope)
            }
            Kind::Service { params, .. } => {
                let ps = params
                    .iter()
                    .map(|&p| (set.elems[p].name.clone(), None))
                    .collect();
                Value::Function(Arc::new(Function::User(UserFunction {
                    params: ps,
                    ret: None,
                    body: Arc::new(Expr::Boxed(Arc::new(ServiceBody {
                        set: set.clone(),
                        service: idx,
                    }))),
                    closure: Arc::new(vec![]),
                })))
            }
        };
        self.memo[idx] = Some(Memo::Done(v.clone()));
        v
    }

    fn scope_for(&mut self, info: &[Req], knowledge: &[Req]) -> Scope {
        let mut frame: Vec<(String, Value)> = Vec::new();
        let mut prefixed: Vec<(String, Context)> = Vec::new();
        for r in info.iter().chain(knowledge) {
            let v = self.value(r.elem);
            let name = self.set.elems[r.elem].name.clone();
            match &r.prefix {
                None => frame.push((name, v)),
                Some(p) => {
                    if let Some((_, c)) = prefixed.iter_mut().find(|(q, _)| q == p) {
                        c.put(name, v);
                    } else {
                        let mut c = Context::new();
                        c.put(name, v);
                        prefixed.push((p.clone(), c));
                    }
                }
            }
        }
        for (p, c) in prefixed {
            frame.push((p, Value::Context(c)));
        }
        let mut scope = Scope::new();
        if self.inputs.free_variables {
            scope.push(self.inputs.values.entries.clone());
        }
        scope.push(frame);
        scope
    }

    fn service_result(&mut self, idx: usize) -> Value {
        let set = self.set.clone();
        let Kind::Service { outputs, .. } = &set.elems[idx].kind else {
            return Value::null("not a decision service");
        };
        let v = if outputs.len() == 1 {
            self.value(outputs[0])
        } else {
            let mut c = Context::new();
            for &o in outputs {
                let v = self.value(o);
                c.put(set.elems[o].name.clone(), v);
            }
            Value::Context(c)
        };
        self.coerce(idx, v)
    }
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
        let mut b = Builder {
            defs: &defs,
            models: Vec::new(),
            elems: Vec::new(),
            by_id: HashMap::new(),
            diagnostics: Vec::new(),
            type_cache: HashMap::new(),
            resolving: Vec::new(),
            cur_elem: String::new(),
        };
        for d in b.defs {
            b.models.push(ModelInfo {
                namespace: d.namespace.clone(),
                name: d.name.clone(),
                imports: d
                    .imports
                    .iter()
                    .map(|i| (i.name.clone(), i.namespace.clone()))
                    .collect(),
                item_defs: d.item_definitions.clone(),
                names: Vec::new(),
                name_set: Arc::new(Names::default()),
                feel_types: Vec::new(),
                language: d.expression_language.clone(),
            });
        }
        // Names in scope per model: own names, import prefixes and imported names.
        let own: Vec<Vec<String>> = defs.iter().map(model_names).collect();
        for m in 0..defs.len() {
            let mut names = own[m].clone();
            for (p, ns) in b.models[m].imports.clone() {
                names.push(p.clone());
                if let Some(t) = b.model_of_ns(&ns) {
                    for n in &own[t] {
                        names.push(n.clone());
                        names.push(format!("{p}.{n}"));
                    }
                }
            }
            names.sort();
            names.dedup();
            b.models[m].name_set = Arc::new(Names::new(&names));
            b.models[m].names = names;
        }
        // FEEL views of the item definitions, for `instance of`.
        for m in 0..defs.len() {
            let mut ts = Vec::new();
            for d in &defs[m].item_definitions {
                let t = b.resolve_type(m, &d.name, 0).to_feel();
                ts.push((d.name.clone(), t));
            }
            for (p, ns) in b.models[m].imports.clone() {
                if let Some(t) = b.model_of_ns(&ns) {
                    for d in &defs[t].item_definitions {
                        let ty = b.resolve_type(t, &d.name, 0).to_feel();
                        ts.push((format!("{p}.{}", d.name), ty));
                    }
                }
            }
            b.models[m].feel_types = ts;
        }
        // Allocate elements (per model: inputs, decisions, BKMs, services).
        let mut starts: Vec<usize> = Vec::new();
        for (m, d) in defs.iter().enumerate() {
            let add = |b: &mut Builder, id: &str, name: &str, kind: Kind| {
                let idx = b.elems.len();
                b.elems.push(Elem {
                    model: m,
                    name: name.to_string(),
                    ty: None,
                    kind,
                });
                if !id.is_empty() {
                    b.by_id.insert((m, id.to_string()), idx);
                }
            };
            starts.push(b.elems.len());
            for i in &d.inputs {
                add(&mut b, &i.id, &i.name, Kind::Input);
            }
            for x in &d.decisions {
                add(
                    &mut b,
                    &x.id,
                    &x.name,
                    Kind::Decision {
                        expr: Expr::Const(Value::Null(None)),
                        info: vec![],
                        knowledge: vec![],
                    },
                );
            }
            for x in &d.bkms {
                add(
                    &mut b,
                    &x.id,
                    &x.name,
                    Kind::Bkm {
                        expr: Expr::Const(Value::Null(None)),
                        knowledge: vec![],
                    },
                );
            }
            for x in &d.services {
                add(
                    &mut b,
                    &x.id,
                    &x.name,
                    Kind::Service {
                        outputs: vec![],
                        params: vec![],
                    },
                );
            }
        }
        // Compile.
        for (m, d) in defs.iter().enumerate() {
            for (k, i) in d.inputs.iter().enumerate() {
                let ty = b.opt_type(m, &i.type_ref);
                let idx = starts[m] + k;
                b.elems[idx].ty = ty;
            }
            for (k, x) in d.decisions.iter().enumerate() {
                b.cur_elem = x.name.clone();
                let ty = b.opt_type(m, &x.type_ref);
                let info = b.reqs(m, &x.info_reqs, x.pos);
                let knowledge = b.reqs(m, &x.knowledge_reqs, x.pos);
                let expr = match &x.logic {
                    Some(l) => b.boxed(l, m),
                    None => Expr::Const(Value::null(format!(
                        "decision '{}' has no decision logic",
                        x.name
                    ))),
                };
                let idx = starts[m] + d.inputs.len() + k;
                b.elems[idx].ty = ty;
                b.elems[idx].kind = Kind::Decision {
                    expr,
                    info,
                    knowledge,
                };
            }
            for (k, x) in d.bkms.iter().enumerate() {
                b.cur_elem = x.name.clone();
                let knowledge = b.reqs(m, &x.knowledge_reqs, x.pos);
                let mut expr = match &x.logic {
                    Some(l) => b.boxed(l, m),
                    None => Expr::FunctionDef {
                        params: vec![],
                        body: Arc::new(Expr::Const(Value::Null(None))),
                    },
                };
                // The BKM's variable type is the type of the invocation result.
                if let (Some(t), Expr::FunctionDef { params, body }) = (&x.type_ref, &expr) {
                    let ty = b.resolve_type(m, t, 0);
                    if !matches!(ty.base, Base::Feel(Type::Any) | Base::Function) {
                        expr = Expr::FunctionDef {
                            params: params.clone(),
                            body: Arc::new(Expr::Boxed(Arc::new(Typed {
                                inner: (**body).clone(),
                                ty,
                            }))),
                        };
                    }
                }
                let idx = starts[m] + d.inputs.len() + d.decisions.len() + k;
                b.elems[idx].kind = Kind::Bkm { expr, knowledge };
            }
            for (k, x) in d.services.iter().enumerate() {
                b.cur_elem = x.name.clone();
                let outputs = b
                    .reqs(m, &x.outputs, x.pos)
                    .into_iter()
                    .map(|r| r.elem)
                    .collect();
                let hs: Vec<String> = x.params.iter().map(|(_, h)| h.clone()).collect();
                let params = b.reqs(m, &hs, x.pos).into_iter().map(|r| r.elem).collect();
                let ty = b.opt_type(m, &x.type_ref);
                let idx = starts[m] + d.inputs.len() + d.decisions.len() + d.bkms.len() + k;
                b.elems[idx].ty = ty;
                b.elems[idx].kind = Kind::Service { outputs, params };
            }
        }
        let set = Set {
            models: b.models,
            elems: b.elems,
            diagnostics: b.diagnostics,
        };
        DmnModel { set: Arc::new(set) }
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

    fn find(&self, name: &str, service: bool) -> Option<usize> {
        self.set.elems.iter().position(|e| {
            e.model == 0
                && e.name == name
                && matches!(e.kind, Kind::Service { .. }) == service
                && !matches!(e.kind, Kind::Input | Kind::Bkm { .. })
        })
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
            })?;
        let mut ev = Evaluator::new(limit).with_now(inputs.now_millis);
        let value = {
            let mut run = Run {
                set: &self.set,
                inputs,
                memo: vec![None; self.set.elems.len()],
                overrides: HashMap::new(),
                ev: &mut ev,
            };
            run.value(idx)
        };
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
            })?;
        let Kind::Service { params, .. } = &self.set.elems[idx].kind else {
            return Err(EvaluateError::NotFound {
                kind: "decision service",
                name: service.to_string(),
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
        let mut ev = Evaluator::new(DEFAULT_STEP_LIMIT).with_now(inputs.now_millis);
        let value = {
            let mut run = Run {
                set: &self.set,
                inputs,
                memo: vec![None; self.set.elems.len()],
                overrides,
                ev: &mut ev,
            };
            run.service_result(idx)
        };
        if let Some(e) = ev.aborted() {
            return Err(e.clone().into());
        }
        Ok(Evaluation {
            value,
            audit: std::mem::take(&mut ev.audit),
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

impl Builder<'_> {
    fn reqs(&mut self, m: usize, hrefs: &[String], pos: Pos) -> Vec<Req> {
        let mut out = Vec::new();
        for h in hrefs {
            match self.resolve_href(m, h) {
                Some(r) => out.push(r),
                None => self.diag(
                    "DMN104",
                    pos,
                    format!("expected a reference to an element of a loaded model, found '{h}'"),
                ),
            }
        }
        out
    }
}
