//! The boxed expressions that need more than the FEEL syntax tree: typed
//! results, the strict DMN 1.5 conditional/filter/iterators, contexts with
//! a result entry, and decision services invoked as functions.

use super::run::Run;
use super::*;

/// A boxed expression with a declared type: the value is coerced.
#[derive(Debug)]
pub(super) struct Typed {
    pub(super) inner: Expr,
    pub(super) ty: Arc<DmnType>,
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
pub(super) enum Strict {
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
pub(super) struct ContextResult {
    pub(super) entries: Vec<(String, Expr)>,
    pub(super) result: Expr,
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
pub(super) struct ServiceBody {
    pub(super) set: Arc<Set>,
    pub(super) service: usize,
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

/// An expression that did not parse, in a dialect where that fails the
/// evaluation: evaluating it fails with the parse error and its place.
#[derive(Debug)]
pub(super) struct Fails(pub(super) Arc<str>);

impl Boxed for Fails {
    fn eval(&self, ev: &mut Evaluator, _scope: &mut Scope) -> Value {
        ev.fail(self.0.to_string())
    }
}

/// An input expression or literal expression that says where it is when
/// it reads a name that is not in scope (a misspelt variable).
#[derive(Debug)]
pub(super) struct Located {
    pub(super) inner: Expr,
    /// The expression's text.
    pub(super) text: Arc<str>,
    /// Where the element is, for the message (`12:9 in decision 'X'`).
    pub(super) at: Arc<str>,
}

impl Boxed for Located {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        let v = ev.eval(&self.inner, scope);
        match v.null_reason() {
            Some(r) if r.contains("no variable named '") => {
                let placed = crate::feel::locate_unknown_name(&self.text, v.clone());
                let reason = placed.null_reason().unwrap_or(r);
                Value::null(format!(
                    "{} (expression `{}`): {reason}",
                    self.at,
                    self.text.trim()
                ))
            }
            _ => v,
        }
    }
}
