//! FEEL evaluation (DMN 1.5 §10.3.2 semantics, §10.3.2.5–§10.3.2.15: ternary
//! logic, arithmetic on numbers/temporals/durations, comparison, paths,
//! filters, iteration, quantifiers, invocation with named and positional
//! arguments, closures, unary-test semantics of §10.3.2.13/table 53).
//!
//! Every error is a null value carrying a reason. Work is bounded by a step
//! budget (every node and every loop iteration costs one step, copying a
//! value costs in proportion to its size, so memory is bounded too) and by a
//! nesting depth; running out aborts the whole evaluation with
//! [`EvalError`].
//!
//! Deviation: a user function sees its closure first and then the caller's
//! scope, which makes directly recursive definitions inside contexts work.

use super::ast::{Args, ArithOp, CmpOp, Expr, UnaryTest, UnaryTests};
use super::builtins;
use crate::number::Number;
use crate::value::{Bound, Context, Function, Range, Type, UserFunction, Value, date_as_dt};
use std::cmp::Ordering;
use std::sync::Arc;

/// Default number of evaluation steps allowed per evaluation.
pub const DEFAULT_STEP_LIMIT: u64 = 5_000_000;
/// Largest string that concatenation may build.
pub const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;
/// Maximum evaluation nesting (function calls, nested expressions).
pub const MAX_EVAL_DEPTH: u32 = 180;

/// Why an evaluation was aborted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The step budget ran out.
    #[error("expected at most {limit} evaluation steps, found more (loop or recursion too large)")]
    StepLimit {
        /// The configured limit.
        limit: u64,
    },
    /// Nesting too deep.
    #[error("expected at most {limit} nested evaluations, found more (recursion too deep)")]
    TooDeep {
        /// The configured limit.
        limit: u32,
    },
    /// The expression itself failed the evaluation (Camunda's `assert`).
    #[error("{message}")]
    Failed {
        /// What failed, in the expression's words.
        message: String,
    },
}

/// One frame of variables: owned, or shared with a closure.
#[derive(Debug, Clone)]
enum Frame {
    Own(Vec<(String, Value)>),
    Shared(Arc<Vec<(String, Value)>>),
}

impl Frame {
    fn vars(&self) -> &[(String, Value)] {
        match self {
            Frame::Own(v) => v,
            Frame::Shared(v) => v,
        }
    }
}

/// Variables in scope: a stack of frames searched from the top.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    frames: Vec<Frame>,
    input: Vec<Value>,
}

impl Scope {
    /// Empty scope.
    pub fn new() -> Scope {
        Scope::default()
    }

    /// Scope with one frame of variables.
    pub fn with(vars: Vec<(String, Value)>) -> Scope {
        Scope {
            frames: vec![Frame::Own(vars)],
            input: vec![],
        }
    }

    /// Pushes a frame.
    pub fn push(&mut self, vars: Vec<(String, Value)>) {
        self.frames.push(Frame::Own(vars));
    }

    /// Pushes a frame shared with a closure (no copy).
    pub fn push_shared(&mut self, vars: Arc<Vec<(String, Value)>>) {
        self.frames.push(Frame::Shared(vars));
    }

    /// Pops the top frame.
    pub fn pop(&mut self) {
        self.frames.pop();
    }

    /// Defines a variable in the top frame.
    pub fn set(&mut self, name: impl Into<String>, v: Value) {
        if !matches!(self.frames.last(), Some(Frame::Own(_))) {
            self.frames.push(Frame::Own(vec![]));
        }
        let name = name.into();
        if let Some(Frame::Own(top)) = self.frames.last_mut() {
            if let Some(e) = top.iter_mut().find(|(n, _)| *n == name) {
                e.1 = v;
            } else {
                top.push((name, v));
            }
        }
    }

    /// Looks a variable up.
    pub fn get(&self, name: &str) -> Option<&Value> {
        for f in self.frames.iter().rev() {
            for (n, v) in f.vars().iter().rev() {
                if n == name {
                    return Some(v);
                }
            }
        }
        None
    }

    /// All visible variables, innermost definition of each name (for closures).
    pub fn flatten(&self) -> Vec<(String, Value)> {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut out: Vec<(String, Value)> = Vec::new();
        for f in &self.frames {
            for (n, v) in f.vars() {
                match index.get(n.as_str()) {
                    Some(&i) => out[i].1 = v.clone(),
                    None => {
                        index.insert(n, out.len());
                        out.push((n.clone(), v.clone()));
                    }
                }
            }
        }
        out
    }

    /// Sets `?` for unary tests.
    pub fn push_input(&mut self, v: Value) {
        self.input.push(v);
    }

    /// Restores the previous `?`.
    pub fn pop_input(&mut self) {
        self.input.pop();
    }

    fn input(&self) -> Value {
        self.input.last().cloned().unwrap_or_default()
    }

    fn depth(&self) -> usize {
        self.frames.len()
    }

    fn truncate(&mut self, n: usize) {
        self.frames.truncate(n);
    }
}

/// Which rules of a decision table matched during an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAudit {
    /// Id of the decision table.
    pub table_id: String,
    /// Matched rules: 0-based index and rule id.
    pub matched: Vec<(usize, String)>,
    /// Annotations of the matched rules (column name, text), parallel to `matched`.
    pub annotations: Vec<Vec<(String, String)>>,
    /// Set when the hit policy was violated (UNIQUE with several matches,
    /// ANY with differing outputs): the policy name; the offending rules are
    /// those in `matched`.
    pub violation: Option<&'static str>,
}

/// Per-evaluation state: the step budget and depth counter.
#[derive(Debug)]
pub struct Evaluator {
    /// Decision tables evaluated so far, with their matched rules.
    pub audit: Vec<TableAudit>,
    steps: u64,
    limit: u64,
    partial_needed: bool,
    depth: u32,
    aborted: Option<EvalError>,
    /// The evaluation's clock for `now()` and `today()`, in milliseconds
    /// since the Unix epoch: the caller's (the engine's command time, a
    /// scenario's virtual clock, the CLI's system clock). Without one they
    /// are null: this crate reads no clock.
    now: Option<i64>,
    /// Whose FEEL this evaluation speaks.
    dialect: Dialect,
}

/// Whose FEEL an evaluation follows where the DMN 1.5 standard and Camunda's
/// FEEL engine (feel-scala, used by Camunda 8 and by Camunda 7 since 7.13)
/// disagree: output formats of `string()`, `is defined(null)`, the rules of
/// a few built-ins. Camunda's extra built-ins are available in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// DMN 1.5 as the TCK checks it.
    #[default]
    Standard,
    /// Camunda's FEEL (feel-scala), as its documentation and tests describe it.
    Camunda,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new(DEFAULT_STEP_LIMIT)
    }
}

fn num(n: Option<Number>, what: &str) -> Value {
    match n {
        Some(n) => Value::Number(n),
        None => Value::null(format!("{what}: result is not a finite decimal128 number")),
    }
}

impl Evaluator {
    /// A fresh evaluator with the given step limit.
    pub fn new(limit: u64) -> Evaluator {
        Evaluator {
            audit: Vec::new(),
            steps: 0,
            limit,
            partial_needed: false,
            depth: 0,
            aborted: None,
            now: None,
            dialect: Dialect::Standard,
        }
    }

    /// The same evaluator speaking `dialect`.
    pub fn with_dialect(mut self, dialect: Dialect) -> Evaluator {
        self.dialect = dialect;
        self
    }

    /// Whose FEEL this evaluation follows.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The same evaluator with a clock (milliseconds since the epoch).
    pub fn with_now(mut self, now_millis: Option<i64>) -> Evaluator {
        self.now = now_millis;
        self
    }

    /// The evaluation's clock, if it has one.
    pub fn now(&self) -> Option<i64> {
        self.now
    }

    /// The abort reason, if the budget ran out.
    pub fn aborted(&self) -> Option<&EvalError> {
        self.aborted.as_ref()
    }

    /// Fails the whole evaluation (Camunda's `assert`): nothing after it runs.
    pub fn fail(&mut self, message: impl Into<String>) -> Value {
        if self.aborted.is_none() {
            self.aborted = Some(EvalError::Failed {
                message: message.into(),
            });
        }
        Value::null("evaluation failed")
    }

    /// Enters one level of nesting (used by the DMN layer for requirement
    /// chains); false when the depth limit is reached.
    pub fn enter(&mut self) -> bool {
        if self.depth >= MAX_EVAL_DEPTH {
            self.aborted = Some(EvalError::TooDeep {
                limit: MAX_EVAL_DEPTH,
            });
            return false;
        }
        self.depth += 1;
        true
    }

    /// Leaves a level entered with [`Evaluator::enter`].
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Charges steps for copying `v`: one per list element or context entry
    /// and per 256 bytes of string, counted recursively; false when the
    /// budget is exhausted. This bounds the memory one evaluation can build.
    pub fn charge(&mut self, v: &Value) -> bool {
        fn weight(v: &Value, budget: u64) -> u64 {
            match v {
                Value::List(items) => {
                    let mut w = items.len() as u64;
                    for i in items {
                        if w > budget {
                            break;
                        }
                        w += weight(i, budget);
                    }
                    w
                }
                Value::Context(c) => {
                    let mut w = c.entries.len() as u64;
                    for (_, i) in &c.entries {
                        if w > budget {
                            break;
                        }
                        w += weight(i, budget);
                    }
                    w
                }
                Value::String(s) => s.len() as u64 / 256,
                _ => 0,
            }
        }
        let remaining = self.limit.saturating_sub(self.steps);
        let w = weight(v, remaining.saturating_add(1));
        self.step(w)
    }

    /// Consumes `n` steps; returns false when the budget is exhausted.
    pub fn step(&mut self, n: u64) -> bool {
        if self.aborted.is_some() {
            return false;
        }
        self.steps += n;
        if self.steps > self.limit {
            self.aborted = Some(EvalError::StepLimit { limit: self.limit });
            return false;
        }
        true
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, e: &Expr, scope: &mut Scope) -> Value {
        if !self.step(1) {
            return Value::null("evaluation aborted");
        }
        if self.depth >= MAX_EVAL_DEPTH {
            self.aborted = Some(EvalError::TooDeep {
                limit: MAX_EVAL_DEPTH,
            });
            return Value::null("evaluation aborted");
        }
        self.depth += 1;
        let r = self.eval_inner(e, scope);
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, e: &Expr, scope: &mut Scope) -> Value {
        match e {
            Expr::Const(v) => v.clone(),
            Expr::Input => scope.input(),
            Expr::Name(n) => match scope.get(n) {
                Some(v) => {
                    // Copying a value costs in proportion to its size, so
                    // that doubling tricks run out of budget, not memory.
                    if !self.charge(v) {
                        return Value::null("evaluation aborted");
                    }
                    v.clone()
                }
                None => match builtins::canonical(n) {
                    Some(b) => Value::Function(Arc::new(Function::Builtin(b))),
                    None => dotted(n, scope).unwrap_or_else(|| {
                        Value::null(format!("no variable named '{n}' in scope"))
                    }),
                },
            },
            Expr::Path(base, name) => {
                // `variable.field` reads the field without copying the variable.
                if let Expr::Name(n) = base.as_ref()
                    && let Some(v) = scope.get(n)
                {
                    let r = path(v, name);
                    if !self.charge(&r) {
                        return Value::null("evaluation aborted");
                    }
                    return r;
                }
                let b = self.eval(base, scope);
                path(&b, name)
            }
            Expr::Filter(base, f) => {
                let b = self.eval(base, scope);
                self.filter(b, f, scope)
            }
            Expr::Call(callee, args) => self.call_expr(callee, args, scope),
            Expr::Neg(a) => {
                let v = self.eval(a, scope);
                match v {
                    Value::Number(n) => Value::Number(n.neg()),
                    Value::DtDuration(d) => Value::DtDuration(-d),
                    Value::YmDuration(m) => Value::YmDuration(-m),
                    o => Value::null(format!(
                        "expected a number or duration after '-', found {}",
                        o.kind()
                    )),
                }
            }
            Expr::Arith(op, a, b) => {
                let x = self.eval(a, scope);
                let y = self.eval(b, scope);
                let r = arith(*op, &x, &y);
                // Camunda's FEEL raises to a fractional power in doubles.
                match (op, &y, self.dialect) {
                    (ArithOp::Pow, Value::Number(e), d)
                        if d.computes_in_doubles() && !e.is_integer() =>
                    {
                        builtins::as_double(r)
                    }
                    _ => r,
                }
            }
            Expr::Cmp(op, a, b) => {
                let x = self.eval(a, scope);
                let y = self.eval(b, scope);
                match (op, &x, &y, self.dialect) {
                    // Camunda's FEEL: lists or contexts whose items differ
                    // in kind are unequal, not incomparable.
                    (
                        CmpOp::Eq | CmpOp::Ne,
                        Value::List(_) | Value::Context(_),
                        Value::List(_) | Value::Context(_),
                        d,
                    ) if d.mixed_collections_unequal() && x.feel_eq(&y).is_none() => {
                        Value::Bool(*op == CmpOp::Ne)
                    }
                    _ => compare(*op, &x, &y),
                }
            }
            Expr::And(a, b) => {
                let x = self.eval(a, scope);
                if matches!(x, Value::Bool(false)) {
                    return Value::Bool(false);
                }
                let y = self.eval(b, scope);
                match (x, y) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::null("expected boolean operands of 'and'"),
                }
            }
            Expr::Or(a, b) => {
                let x = self.eval(a, scope);
                if matches!(x, Value::Bool(true)) {
                    return Value::Bool(true);
                }
                let y = self.eval(b, scope);
                match (x, y) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::null("expected boolean operands of 'or'"),
                }
            }
            Expr::Between(x, a, b) => {
                let x = self.eval(x, scope);
                let a = self.eval(a, scope);
                let b = self.eval(b, scope);
                match (compare(CmpOp::Ge, &x, &a), compare(CmpOp::Le, &x, &b)) {
                    (Value::Bool(p), Value::Bool(q)) => Value::Bool(p && q),
                    (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
                    _ => Value::null("'between' needs comparable values"),
                }
            }
            Expr::In(x, tests) => {
                let v = self.eval(x, scope);
                self.positive_tests(tests, v, scope)
            }
            Expr::InstanceOf(x, t) => {
                let v = self.eval(x, scope);
                Value::Bool(t.accepts(&v))
            }
            Expr::If(c, a, b) => {
                let c = self.eval(c, scope);
                match c {
                    Value::Bool(true) => self.eval(a, scope),
                    // Camunda's FEEL: a condition that is not a boolean
                    // (nor null) makes the whole expression null.
                    Value::Bool(false) | Value::Null(_) => self.eval(b, scope),
                    other if self.dialect.non_boolean_condition_is_null() => Value::null(format!(
                        "expected a boolean condition after 'if', found {}",
                        other.kind()
                    )),
                    _ => self.eval(b, scope),
                }
            }
            Expr::For(ctxs, body) => {
                let mut out = Vec::new();
                let base = scope.depth();
                scope.push(vec![]);
                let saved = self.partial_needed;
                self.partial_needed = any_node(
                    body,
                    &|x| matches!(x, Expr::Name(n) if n.starts_with("partial")),
                    true,
                );
                let r = self.for_loop(ctxs, 0, body, scope, &mut out);
                self.partial_needed = saved;
                scope.truncate(base);
                if let Err(e) = r {
                    return e;
                }
                Value::List(out)
            }
            Expr::Quantified(every, ctxs, body) => {
                let base = scope.depth();
                scope.push(vec![]);
                let mut results = Vec::new();
                self.quant_loop(ctxs, 0, body, scope, &mut results);
                scope.truncate(base);
                let mut saw_null = false;
                for r in results {
                    match (every, r) {
                        (true, Value::Bool(false)) => return Value::Bool(false),
                        (false, Value::Bool(true)) => return Value::Bool(true),
                        (_, Value::Bool(_)) => {}
                        _ => saw_null = true,
                    }
                }
                if saw_null {
                    Value::null("quantified expression: non-boolean result")
                } else {
                    Value::Bool(*every)
                }
            }
            Expr::List(items) => {
                let mut v = Vec::with_capacity(items.len());
                for i in items {
                    v.push(self.eval(i, scope));
                }
                Value::List(v)
            }
            Expr::Context(entries) => {
                let base = scope.depth();
                scope.push(vec![]);
                let mut c = Context::new();
                for (k, e) in entries {
                    if c.get(k).is_some() {
                        scope.truncate(base);
                        return Value::null(format!("duplicate context entry '{k}'"));
                    }
                    let v = self.eval(e, scope);
                    scope.set(k.clone(), v.clone());
                    c.put(k.clone(), v);
                }
                scope.truncate(base);
                Value::Context(c)
            }
            Expr::Range {
                start,
                start_incl,
                end,
                end_incl,
            } => {
                let s = start.as_ref().map(|e| self.eval(e, scope));
                let en = end.as_ref().map(|e| self.eval(e, scope));
                make_range(s, *start_incl, en, *end_incl)
            }
            Expr::IterRange(a, b) => {
                let a = self.eval(a, scope);
                let b = self.eval(b, scope);
                make_range(Some(a), true, Some(b), true)
            }
            Expr::UnaryRange(op, e) => {
                let v = self.eval(e, scope);
                unary_range(*op, v)
            }
            Expr::FunctionDef { params, body } => {
                Value::Function(Arc::new(Function::User(UserFunction {
                    params: params.clone(),
                    ret: None,
                    body: body.clone(),
                    closure: Arc::new(scope.flatten()),
                })))
            }
            Expr::Tests(t) => {
                let input = scope.input();
                self.unary_tests(t, input, scope)
            }
            Expr::Boxed(b) => b.eval(self, scope),
        }
    }

    fn seq_numbers(&mut self, a: i64, b: i64) -> Result<Vec<Value>, Value> {
        let n = (b as i128 - a as i128).unsigned_abs() + 1;
        if !self.step(n.min(u64::MAX as u128) as u64) {
            return Err(Value::null("evaluation aborted"));
        }
        Ok(if a <= b {
            (a..=b).map(Value::int).collect()
        } else {
            (b..=a).rev().map(Value::int).collect()
        })
    }

    fn seq_dates(
        &mut self,
        a: crate::temporal::Date,
        b: crate::temporal::Date,
    ) -> Result<Vec<Value>, Value> {
        let mut out = Vec::new();
        let step: i64 = if a <= b { 1 } else { -1 };
        let mut d = a;
        loop {
            if !self.step(1) {
                return Err(Value::null("evaluation aborted"));
            }
            out.push(Value::Date(d));
            if d == b {
                break;
            }
            match d.add_days(step) {
                Some(n) => d = n,
                None => break,
            }
        }
        Ok(out)
    }

    /// The values an iteration context runs over (§10.3.2.14: lists, and
    /// ranges of integers or dates).
    fn iteration(&mut self, e: &Expr, scope: &mut Scope) -> Result<Vec<Value>, Value> {
        if let Expr::IterRange(a, b) = e {
            let a = self.eval(a, scope);
            let b = self.eval(b, scope);
            return match (&a, &b) {
                (Value::Number(x), Value::Number(y)) => match (x.to_i64(), y.to_i64()) {
                    (Some(x), Some(y)) => self.seq_numbers(x, y),
                    _ => Err(Value::null("expected integer bounds for '..'")),
                },
                (Value::Date(x), Value::Date(y)) => self.seq_dates(*x, *y),
                _ => Err(Value::null(format!(
                    "expected integers or dates around '..', found {} and {}",
                    a.kind(),
                    b.kind()
                ))),
            };
        }
        match self.eval(e, scope) {
            Value::List(l) => Ok(l),
            Value::Range(r) => {
                let (Some(s), Some(en)) = (&r.start.value, &r.end.value) else {
                    return Err(Value::null("cannot iterate over an unbounded range"));
                };
                if s.feel_cmp(en) == Some(Ordering::Greater) {
                    return Err(Value::null("range start is after its end"));
                }
                match (s, en) {
                    (Value::Number(x), Value::Number(y)) => {
                        let (Some(mut x), Some(mut y)) = (x.to_i64(), y.to_i64()) else {
                            return Err(Value::null("expected a range of integers"));
                        };
                        if !r.start.inclusive {
                            x += 1;
                        }
                        if !r.end.inclusive {
                            y -= 1;
                        }
                        if x > y {
                            return Ok(vec![]);
                        }
                        self.seq_numbers(x, y)
                    }
                    (Value::Date(x), Value::Date(y)) => {
                        let mut v = self.seq_dates(*x, *y)?;
                        if !r.end.inclusive {
                            v.pop();
                        }
                        if !r.start.inclusive && !v.is_empty() {
                            v.remove(0);
                        }
                        Ok(v)
                    }
                    _ => Err(Value::null(
                        "can only iterate over ranges of integers or dates",
                    )),
                }
            }
            Value::Null(r) => Err(Value::Null(r)),
            // Camunda's FEEL iterates over lists and ranges only.
            other if !self.dialect.iterates_single_values() => Err(Value::null(format!(
                "expected a list to iterate over, found {}",
                other.kind()
            ))),
            other => Ok(vec![other]),
        }
    }

    fn for_loop(
        &mut self,
        ctxs: &[(String, Expr)],
        i: usize,
        body: &Expr,
        scope: &mut Scope,
        out: &mut Vec<Value>,
    ) -> Result<(), Value> {
        if i == ctxs.len() {
            if self.partial_needed {
                let partial = Value::List(out.clone());
                if !self.charge(&partial) {
                    return Err(Value::null("evaluation aborted"));
                }
                scope.set("partial", partial);
            }
            let v = self.eval(body, scope);
            out.push(v);
            return Ok(());
        }
        let (name, e) = &ctxs[i];
        let items = self.iteration(e, scope)?;
        for it in items {
            if !self.step(1) {
                return Err(Value::null("evaluation aborted"));
            }
            scope.set(name.clone(), it);
            self.for_loop(ctxs, i + 1, body, scope, out)?;
        }
        Ok(())
    }

    fn quant_loop(
        &mut self,
        ctxs: &[(String, Expr)],
        i: usize,
        body: &Expr,
        scope: &mut Scope,
        out: &mut Vec<Value>,
    ) {
        if i == ctxs.len() {
            out.push(self.eval(body, scope));
            return;
        }
        let (name, e) = &ctxs[i];
        let Ok(items) = self.iteration(e, scope) else {
            out.push(Value::null("not iterable"));
            return;
        };
        for it in items {
            if !self.step(1) {
                return;
            }
            scope.set(name.clone(), it);
            self.quant_loop(ctxs, i + 1, body, scope, out);
        }
    }

    fn filter(&mut self, base: Value, f: &Expr, scope: &mut Scope) -> Value {
        let (list, was_list) = match base {
            Value::List(l) => (l, true),
            Value::Null(_) => return Value::null("filter on null"),
            other if !self.dialect.iterates_single_values() => {
                return Value::null(format!("expected a list to filter, found {}", other.kind()));
            }
            other => (vec![other], false),
        };
        // A numeric filter is an index.
        if let Expr::Const(Value::Number(n)) = f {
            return index(&list, n);
        }
        let mut out = Vec::new();
        for (i, item) in list.iter().enumerate() {
            if !self.step(1) {
                return Value::null("evaluation aborted");
            }
            let mut frame = vec![("item".to_string(), item.clone())];
            if let Value::Context(c) = item {
                frame.extend(c.entries.iter().cloned());
            }
            scope.push(frame);
            let r = self.eval(f, scope);
            scope.pop();
            match r {
                Value::Bool(true) => out.push(item.clone()),
                Value::Number(n) if i == 0 => return index(&list, &n),
                _ => {}
            }
        }
        if !was_list && out.is_empty() {
            return Value::List(vec![]);
        }
        Value::List(out)
    }

    fn call_expr(&mut self, callee: &Expr, args: &Args, scope: &mut Scope) -> Value {
        let f = match callee {
            Expr::Name(n) if scope.get(n).is_none() && builtins::canonical(n).is_some() => {
                match builtins::canonical(n) {
                    Some(b) => Value::Function(Arc::new(Function::Builtin(b))),
                    None => return Value::null(format!("no function named '{n}'")),
                }
            }
            other => self.eval(other, scope),
        };
        let Value::Function(f) = f else {
            if let Expr::Name(n) = callee
                && scope.get(n).is_none()
            {
                return Value::null(format!("unknown function `{n}`"));
            }
            return Value::null(format!("expected a function to invoke, found {}", f.kind()));
        };
        match args {
            Args::Positional(a) => {
                let mut vals = Vec::with_capacity(a.len());
                for e in a {
                    vals.push(self.eval(e, scope));
                }
                self.call(&f, vals, scope)
            }
            Args::Named(a) => {
                let mut vals = Vec::with_capacity(a.len());
                for (n, e) in a {
                    vals.push((n.clone(), self.eval(e, scope)));
                }
                self.call_named(&f, vals, scope)
            }
        }
    }

    /// Invokes a function value with positional arguments.
    pub fn call(&mut self, f: &Function, args: Vec<Value>, scope: &mut Scope) -> Value {
        match f {
            Function::Builtin(name) => builtins::call(self, name, args, scope),
            Function::User(u) => {
                if args.len() != u.params.len() {
                    return Value::null(format!(
                        "expected {} arguments, found {}",
                        u.params.len(),
                        args.len()
                    ));
                }
                let bound: Vec<(String, Value)> =
                    u.params.iter().map(|(n, _)| n.clone()).zip(args).collect();
                self.call_user(u, bound, scope)
            }
        }
    }

    /// Invokes a function value with named arguments.
    pub fn call_named(
        &mut self,
        f: &Function,
        args: Vec<(String, Value)>,
        scope: &mut Scope,
    ) -> Value {
        match f {
            Function::Builtin(name) => match builtins::order_named(name, args, self.dialect) {
                Ok(pos) => builtins::call(self, name, pos, scope),
                Err(e) => e,
            },
            Function::User(u) => {
                for (n, _) in &args {
                    if !u.params.iter().any(|(p, _)| p == n) {
                        return Value::null(format!("expected a parameter name, found '{n}'"));
                    }
                }
                let bound: Vec<(String, Value)> = u
                    .params
                    .iter()
                    .map(|(p, _)| {
                        let v = args
                            .iter()
                            .find(|(n, _)| n == p)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default();
                        (p.clone(), v)
                    })
                    .collect();
                self.call_user(u, bound, scope)
            }
        }
    }

    fn call_user(
        &mut self,
        u: &UserFunction,
        mut bound: Vec<(String, Value)>,
        scope: &mut Scope,
    ) -> Value {
        for ((_, t), (n, v)) in u.params.iter().zip(bound.iter_mut()) {
            if let Some(t) = t {
                let c = coerce_to(t, std::mem::take(v));
                if !c.is_null() && !t.accepts(&c) {
                    return Value::null(format!(
                        "parameter '{n}': expected {t}, found {}",
                        c.kind()
                    ));
                }
                *v = c;
            }
        }
        // Parameters first, then the closure, then the caller's scope.
        let base = scope.depth();
        scope.push_shared(u.closure.clone());
        scope.push(bound);
        let saved_input = std::mem::take(&mut scope.input);
        let r = self.eval(&u.body, scope);
        scope.input = saved_input;
        scope.truncate(base);
        match &u.ret {
            Some(t) => {
                let c = coerce_to(t, r);
                if t.accepts(&c) {
                    c
                } else {
                    Value::null(format!("expected result of type {t}, found {}", c.kind()))
                }
            }
            None => r,
        }
    }

    /// Evaluates unary tests against `input` (§10.3.2.13).
    pub fn unary_tests(&mut self, t: &UnaryTests, input: Value, scope: &mut Scope) -> Value {
        match t {
            UnaryTests::Any => Value::Bool(true),
            UnaryTests::Tests(ts) => self.positive_tests(ts, input, scope),
            UnaryTests::Not(ts) => match self.positive_tests(ts, input, scope) {
                Value::Bool(b) => Value::Bool(!b),
                other => other,
            },
        }
    }

    fn positive_tests(&mut self, ts: &[UnaryTest], input: Value, scope: &mut Scope) -> Value {
        let mut saw_null = false;
        for t in ts {
            match self.positive_test(t, &input, scope) {
                Value::Bool(true) => return Value::Bool(true),
                Value::Bool(false) => {}
                _ => saw_null = true,
            }
        }
        if saw_null {
            Value::null("unary test is not applicable to the input")
        } else {
            Value::Bool(false)
        }
    }

    fn positive_test(&mut self, t: &UnaryTest, input: &Value, scope: &mut Scope) -> Value {
        scope.push_input(input.clone());
        let r = match t {
            UnaryTest::Cmp(op, e) => {
                let v = self.eval(e, scope);
                compare(*op, input, &v)
            }
            // Camunda's FEEL reads a literal test (`true`, `1`, `"a"`) as
            // `? = literal` whatever its type: `true` does not match null.
            UnaryTest::Expr(Expr::Const(v)) if self.dialect.literal_tests_compare() => {
                match input.feel_eq(v) {
                    Some(b) => Value::Bool(b),
                    None => {
                        Value::null(format!("cannot compare {} with {}", input.kind(), v.kind()))
                    }
                }
            }
            UnaryTest::Expr(e) => {
                let v = self.eval(e, scope);
                test_value(input, &v, uses_input(e))
            }
        };
        scope.pop_input();
        r
    }
}

/// A name such as `import.decision` that was read as one name but is a path
/// into a variable (an import prefix or a context).
fn dotted(n: &str, scope: &Scope) -> Option<Value> {
    for (i, _) in n.match_indices('.') {
        let Some(base) = scope.get(n[..i].trim()) else {
            continue;
        };
        let rest = n[i + 1..].trim();
        let whole = path(base, rest);
        if !whole.is_null() || !rest.contains('.') {
            return Some(whole);
        }
        let mut v = base.clone();
        for part in rest.split('.') {
            v = path(&v, part.trim());
        }
        return Some(v);
    }
    None
}

fn uses_input(e: &Expr) -> bool {
    any_node(e, &|x| matches!(x, Expr::Input), false)
}

/// Does any node of `e` satisfy `p`? Function bodies are searched only when
/// `into_functions` is set.
pub(crate) fn any_node(e: &Expr, p: &dyn Fn(&Expr) -> bool, into_functions: bool) -> bool {
    if p(e) {
        return true;
    }
    let rec = |x: &Expr| any_node(x, p, into_functions);
    match e {
        Expr::Input | Expr::Const(_) | Expr::Name(_) | Expr::Tests(_) | Expr::Boxed(_) => false,
        Expr::Path(a, _) | Expr::Neg(a) | Expr::InstanceOf(a, _) | Expr::UnaryRange(_, a) => rec(a),
        Expr::Filter(a, b)
        | Expr::IterRange(a, b)
        | Expr::Arith(_, a, b)
        | Expr::Cmp(_, a, b)
        | Expr::And(a, b)
        | Expr::Or(a, b) => rec(a) || rec(b),
        Expr::Between(a, b, c) | Expr::If(a, b, c) => rec(a) || rec(b) || rec(c),
        Expr::Call(f, args) => {
            rec(f)
                || match args {
                    Args::Positional(v) => v.iter().any(rec),
                    Args::Named(v) => v.iter().any(|(_, e)| rec(e)),
                }
        }
        Expr::In(a, ts) => {
            rec(a)
                || ts.iter().any(|t| match t {
                    UnaryTest::Cmp(_, e) | UnaryTest::Expr(e) => rec(e),
                })
        }
        Expr::For(c, b) | Expr::Quantified(_, c, b) => c.iter().any(|(_, e)| rec(e)) || rec(b),
        Expr::List(v) => v.iter().any(rec),
        Expr::Context(v) => v.iter().any(|(_, e)| rec(e)),
        Expr::Range { start, end, .. } => {
            start.as_ref().is_some_and(|e| rec(e)) || end.as_ref().is_some_and(|e| rec(e))
        }
        Expr::FunctionDef { body, .. } => into_functions && rec(body),
    }
}

/// Does `input` satisfy the value of a positive unary test expression?
fn test_value(input: &Value, v: &Value, uses_q: bool) -> Value {
    if uses_q && let Value::Bool(b) = v {
        return Value::Bool(*b);
    }
    match v {
        Value::Range(r) => range_contains(r, input),
        Value::List(items) => {
            if let Value::List(_) = input
                && input.feel_eq(v) == Some(true)
            {
                return Value::Bool(true);
            }
            for i in items {
                match i {
                    Value::Range(r) => {
                        if let Value::Bool(true) = range_contains(r, input) {
                            return Value::Bool(true);
                        }
                    }
                    other => {
                        if input.feel_eq(other) == Some(true) {
                            return Value::Bool(true);
                        }
                    }
                }
            }
            Value::Bool(false)
        }
        Value::Bool(b) if !matches!(input, Value::Bool(_)) => Value::Bool(*b),
        other => match input.feel_eq(other) {
            Some(b) => Value::Bool(b),
            None => Value::Bool(false),
        },
    }
}

/// Range membership.
pub fn range_contains(r: &Range, x: &Value) -> Value {
    if x.is_null() {
        return Value::null("null is not in a range");
    }
    if r.unary == Some(CmpOp::Ne)
        && let Some(v) = &r.start.value
    {
        return match x.feel_eq(v) {
            Some(b) => Value::Bool(!b),
            None => Value::null(format!("cannot compare {} with {}", x.kind(), v.kind())),
        };
    }
    if let Some(s) = &r.start.value {
        match x.feel_cmp(s) {
            Some(Ordering::Less) => return Value::Bool(false),
            Some(Ordering::Equal) if !r.start.inclusive => return Value::Bool(false),
            None => {
                return Value::null(format!(
                    "cannot compare {} with range of {}",
                    x.kind(),
                    s.kind()
                ));
            }
            _ => {}
        }
    }
    if let Some(e) = &r.end.value {
        match x.feel_cmp(e) {
            Some(Ordering::Greater) => return Value::Bool(false),
            Some(Ordering::Equal) if !r.end.inclusive => return Value::Bool(false),
            None => {
                return Value::null(format!(
                    "cannot compare {} with range of {}",
                    x.kind(),
                    e.kind()
                ));
            }
            _ => {}
        }
    }
    Value::Bool(true)
}

/// Builds a range value, checking that the end points are comparable.
pub fn make_range(s: Option<Value>, si: bool, e: Option<Value>, ei: bool) -> Value {
    if let (Some(a), Some(b)) = (&s, &e)
        && !a.is_null()
        && !b.is_null()
        && (a.feel_cmp(b).is_none() || a.kind() != b.kind())
    {
        return Value::null(format!(
            "range ends must be comparable, found {} and {}",
            a.kind(),
            b.kind()
        ));
    }
    for v in [&s, &e].into_iter().flatten() {
        if !matches!(
            v,
            Value::Null(_)
                | Value::Number(_)
                | Value::String(_)
                | Value::Date(_)
                | Value::Time(_)
                | Value::DateTime(_)
                | Value::DtDuration(_)
                | Value::YmDuration(_)
        ) {
            return Value::null(format!(
                "expected comparable range ends, found {}",
                v.kind()
            ));
        }
    }
    if s.is_none() && e.is_none() {
        return Value::null("range with no ends");
    }
    Value::Range(Box::new(Range {
        start: Bound {
            value: s,
            inclusive: si,
        },
        end: Bound {
            value: e,
            inclusive: ei,
        },
        unary: None,
    }))
}

/// Range from a unary comparison (`< 10` → `(..10)`).
pub fn unary_range(op: CmpOp, v: Value) -> Value {
    if v.is_null() {
        return Value::null("range end is null");
    }
    let r = match op {
        CmpOp::Lt => make_range(None, false, Some(v), false),
        CmpOp::Le => make_range(None, false, Some(v), true),
        CmpOp::Gt => make_range(Some(v), false, None, false),
        CmpOp::Ge => make_range(Some(v), true, None, false),
        CmpOp::Eq => make_range(Some(v.clone()), true, Some(v), true),
        CmpOp::Ne => make_range(Some(v.clone()), false, Some(v), false),
    };
    match r {
        Value::Range(mut r) => {
            r.unary = Some(op);
            Value::Range(r)
        }
        other => other,
    }
}

fn index(list: &[Value], n: &Number) -> Value {
    let Some(i) = n.to_i64() else {
        return Value::null("list index must be an integer");
    };
    let len = list.len() as i64;
    let k = if i > 0 {
        i - 1
    } else if i < 0 {
        len + i
    } else {
        -1
    };
    if k < 0 || k >= len {
        return Value::null(format!("index {i} out of bounds for list of size {len}"));
    }
    list[k as usize].clone()
}

/// Path access `v.name` (§10.3.2.7 and the temporal properties of table 65).
pub fn path(v: &Value, name: &str) -> Value {
    use crate::temporal::NANOS;
    match v {
        Value::Context(c) => c
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::null(format!("no entry '{name}' in context"))),
        Value::List(items) => Value::List(items.iter().map(|i| path(i, name)).collect()),
        Value::Date(d) => match name {
            "year" => Value::int(d.year() as i64),
            "month" => Value::int(d.month() as i64),
            "day" => Value::int(d.day() as i64),
            "weekday" => Value::int(d.weekday() as i64),
            _ => Value::null(format!("date has no property '{name}'")),
        },
        Value::DateTime(dt) => match name {
            "year" => Value::int(dt.date.year() as i64),
            "month" => Value::int(dt.date.month() as i64),
            "day" => Value::int(dt.date.day() as i64),
            "weekday" => Value::int(dt.date.weekday() as i64),
            "hour" => Value::int(dt.time.hour() as i64),
            "minute" => Value::int(dt.time.minute() as i64),
            "second" => Value::int(dt.time.second() as i64),
            "time offset" => match dt.offset_seconds() {
                Some(s) => Value::DtDuration(s as i128 * NANOS),
                None => Value::Null(None),
            },
            "timezone" => match &dt.tz {
                Some(crate::temporal::Tz::Zone(z)) => Value::String(z.clone()),
                _ => Value::Null(None),
            },
            _ => Value::null(format!("date and time has no property '{name}'")),
        },
        Value::Time(t) => match name {
            "hour" => Value::int(t.time.hour() as i64),
            "minute" => Value::int(t.time.minute() as i64),
            "second" => Value::int(t.time.second() as i64),
            "time offset" => match t.offset_seconds() {
                Some(s) => Value::DtDuration(s as i128 * NANOS),
                None => Value::Null(None),
            },
            "timezone" => match &t.tz {
                Some(crate::temporal::Tz::Zone(z)) => Value::String(z.clone()),
                _ => Value::Null(None),
            },
            _ => Value::null(format!("time has no property '{name}'")),
        },
        Value::DtDuration(n) => {
            let secs = n / NANOS;
            match name {
                "days" => Value::int((secs / 86_400) as i64),
                "hours" => Value::int(((secs % 86_400) / 3600) as i64),
                "minutes" => Value::int(((secs % 3600) / 60) as i64),
                "seconds" => Value::int((secs % 60) as i64),
                _ => Value::null(format!("duration has no property '{name}'")),
            }
        }
        Value::YmDuration(m) => match name {
            "years" => Value::int(m / 12),
            "months" => Value::int(m % 12),
            _ => Value::null(format!("duration has no property '{name}'")),
        },
        Value::Range(r) => match name {
            "start" => r.start.value.clone().unwrap_or_default(),
            "end" => r.end.value.clone().unwrap_or_default(),
            "start included" => Value::Bool(r.start.inclusive),
            "end included" => Value::Bool(r.end.inclusive),
            _ => Value::null(format!("range has no property '{name}'")),
        },
        other => Value::null(format!(
            "expected a context for '.{name}', found {}",
            other.kind()
        )),
    }
}

/// FEEL comparison operators, with ternary logic.
/// A value's kind for a message; a null says why it is null (so that a
/// comparison with a misspelt variable names the variable).
fn described(v: &Value) -> String {
    match v.null_reason() {
        Some(r) => format!("null ({r})"),
        None => v.kind().to_string(),
    }
}

pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Value {
    match op {
        CmpOp::Eq => match a.feel_eq(b) {
            Some(x) => Value::Bool(x),
            None => Value::null(format!(
                "cannot compare {} with {}",
                described(a),
                described(b)
            )),
        },
        CmpOp::Ne => match a.feel_eq(b) {
            Some(x) => Value::Bool(!x),
            None => Value::null(format!(
                "cannot compare {} with {}",
                described(a),
                described(b)
            )),
        },
        _ => {
            if matches!(a, Value::Bool(_)) || matches!(b, Value::Bool(_)) {
                return Value::null("booleans are not ordered");
            }
            match a.feel_cmp(b) {
                None => Value::null(format!(
                    "cannot compare {} with {}",
                    described(a),
                    described(b)
                )),
                Some(o) => Value::Bool(match op {
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }),
            }
        }
    }
}

/// FEEL arithmetic (§10.3.2.11, tables 55–59).
pub fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    use Value::*;
    let name = match op {
        ArithOp::Add => "+",
        ArithOp::Sub => "-",
        ArithOp::Mul => "*",
        ArithOp::Div => "/",
        ArithOp::Pow => "**",
    };
    let bad = || {
        Value::null(format!(
            "cannot apply '{name}' to {} and {}",
            a.kind(),
            b.kind()
        ))
    };
    match (op, a, b) {
        (_, Null(_), _) | (_, _, Null(_)) => Value::null(format!(
            "cannot apply '{name}' to {} and {}",
            described(a),
            described(b)
        )),
        (ArithOp::Add, Number(x), Number(y)) => num(x.add(y), "addition"),
        (ArithOp::Sub, Number(x), Number(y)) => num(x.sub(y), "subtraction"),
        (ArithOp::Mul, Number(x), Number(y)) => num(x.mul(y), "multiplication"),
        (ArithOp::Div, Number(x), Number(y)) => {
            if y.is_zero() {
                Value::null("division by zero")
            } else {
                num(x.div(y), "division")
            }
        }
        (ArithOp::Pow, Number(x), Number(y)) => num(x.pow(y), "exponentiation"),
        (ArithOp::Add, String(x), String(y)) => {
            if x.len() + y.len() > MAX_STRING_BYTES {
                return Value::null(format!(
                    "expected a string of at most {MAX_STRING_BYTES} bytes, found more"
                ));
            }
            String(format!("{x}{y}"))
        }
        // durations
        (ArithOp::Add, DtDuration(x), DtDuration(y)) => {
            x.checked_add(*y).map(DtDuration).unwrap_or_else(bad)
        }
        (ArithOp::Sub, DtDuration(x), DtDuration(y)) => {
            x.checked_sub(*y).map(DtDuration).unwrap_or_else(bad)
        }
        (ArithOp::Add, YmDuration(x), YmDuration(y)) => {
            x.checked_add(*y).map(YmDuration).unwrap_or_else(bad)
        }
        (ArithOp::Sub, YmDuration(x), YmDuration(y)) => {
            x.checked_sub(*y).map(YmDuration).unwrap_or_else(bad)
        }
        (ArithOp::Mul, DtDuration(d), Number(n)) | (ArithOp::Mul, Number(n), DtDuration(d)) => {
            scale_dt(*d, n, false)
        }
        (ArithOp::Div, DtDuration(d), Number(n)) => {
            if n.is_zero() {
                Value::null("division by zero")
            } else {
                scale_dt(*d, n, true)
            }
        }
        (ArithOp::Mul, YmDuration(d), Number(n)) | (ArithOp::Mul, Number(n), YmDuration(d)) => {
            scale_ym(*d, n, false)
        }
        (ArithOp::Div, YmDuration(d), Number(n)) => {
            if n.is_zero() {
                Value::null("division by zero")
            } else {
                scale_ym(*d, n, true)
            }
        }
        (ArithOp::Div, DtDuration(x), DtDuration(y)) => {
            if *y == 0 {
                Value::null("division by zero")
            } else {
                num(
                    crate::number::Number::parse(&x.to_string())
                        .and_then(|a| a.div(&crate::number::Number::parse(&y.to_string())?)),
                    "division",
                )
            }
        }
        (ArithOp::Div, YmDuration(x), YmDuration(y)) => {
            if *y == 0 {
                Value::null("division by zero")
            } else {
                num(
                    crate::number::Number::from(*x).div(&crate::number::Number::from(*y)),
                    "division",
                )
            }
        }
        // date and time with durations
        (ArithOp::Add, DateTime(t), DtDuration(d)) | (ArithOp::Add, DtDuration(d), DateTime(t)) => {
            t.add_nanos(*d).map(DateTime).unwrap_or_else(bad)
        }
        (ArithOp::Sub, DateTime(t), DtDuration(d)) => {
            t.add_nanos(-*d).map(DateTime).unwrap_or_else(bad)
        }
        (ArithOp::Add, DateTime(t), YmDuration(m)) | (ArithOp::Add, YmDuration(m), DateTime(t)) => {
            t.add_months(*m).map(DateTime).unwrap_or_else(bad)
        }
        (ArithOp::Sub, DateTime(t), YmDuration(m)) => {
            t.add_months(-*m).map(DateTime).unwrap_or_else(bad)
        }
        (ArithOp::Sub, DateTime(x), DateTime(y)) => x.sub(y).map(DtDuration).unwrap_or_else(|| {
            Value::null("cannot subtract a local date and time from a zoned one")
        }),
        (ArithOp::Sub, Date(x), Date(y)) => date_as_dt(x, None)
            .sub(&date_as_dt(y, None))
            .map(DtDuration)
            .unwrap_or_else(bad),
        (ArithOp::Sub, DateTime(x), Date(y)) => x
            .sub(&date_as_dt(y, Some(crate::temporal::Tz::Offset(0))))
            .map(DtDuration)
            .unwrap_or_else(bad),
        (ArithOp::Sub, Date(x), DateTime(y)) => date_as_dt(x, Some(crate::temporal::Tz::Offset(0)))
            .sub(y)
            .map(DtDuration)
            .unwrap_or_else(bad),
        (ArithOp::Add, Date(x), DtDuration(d)) | (ArithOp::Add, DtDuration(d), Date(x)) => {
            date_as_dt(x, None)
                .add_nanos(*d)
                .map(|t| Date(t.date))
                .unwrap_or_else(bad)
        }
        (ArithOp::Sub, Date(x), DtDuration(d)) => date_as_dt(x, None)
            .add_nanos(-*d)
            .map(|t| Date(t.date))
            .unwrap_or_else(bad),
        (ArithOp::Add, Date(x), YmDuration(m)) | (ArithOp::Add, YmDuration(m), Date(x)) => {
            crate::temporal::add_months_date(*x, *m)
                .map(Date)
                .unwrap_or_else(bad)
        }
        (ArithOp::Sub, Date(x), YmDuration(m)) => crate::temporal::add_months_date(*x, -*m)
            .map(Date)
            .unwrap_or_else(bad),
        (ArithOp::Add, Time(t), DtDuration(d)) | (ArithOp::Add, DtDuration(d), Time(t)) => {
            t.add_nanos(*d).map(Time).unwrap_or_else(bad)
        }
        (ArithOp::Sub, Time(t), DtDuration(d)) => t.add_nanos(-*d).map(Time).unwrap_or_else(bad),
        (ArithOp::Sub, Time(x), Time(y)) => x.sub(y).map(DtDuration).unwrap_or_else(bad),
        _ => bad(),
    }
}

fn scale_dt(d: i128, n: &Number, div: bool) -> Value {
    let Some(dn) = Number::parse(&d.to_string()) else {
        return Value::null("duration too large");
    };
    let r = if div { dn.div(n) } else { dn.mul(n) };
    match r
        .and_then(|r| r.round(0, dec::Rounding::HalfEven))
        .and_then(|r| r.to_string().parse::<i128>().ok())
    {
        Some(v) => Value::DtDuration(v),
        None => Value::null("duration arithmetic overflow"),
    }
}

fn scale_ym(m: i64, n: &Number, div: bool) -> Value {
    let mn = Number::from(m);
    let r = if div { mn.div(n) } else { mn.mul(n) };
    match r
        .and_then(|r| r.round(0, dec::Rounding::Down))
        .and_then(|r| r.to_i64())
    {
        Some(v) => Value::YmDuration(v),
        None => Value::null("duration arithmetic overflow"),
    }
}

/// Implicit conversions of §10.3.2.9.4 applied when a value meets a declared
/// type: singleton list → element, element → singleton list, date → date and
/// time at midnight UTC.
pub fn coerce_to(t: &Type, v: Value) -> Value {
    match (t, v) {
        (Type::List(_), Value::List(l)) => Value::List(l),
        (Type::List(inner), v) if !v.is_null() && inner.accepts(&v) => Value::List(vec![v]),
        (t, Value::List(mut l)) if l.len() == 1 && !matches!(t, Type::Any | Type::List(_)) => {
            let x = l.pop().unwrap_or_default();
            if t.accepts(&x) {
                x
            } else {
                Value::List(vec![x])
            }
        }
        (Type::DateTime, Value::Date(d)) => {
            Value::DateTime(date_as_dt(&d, Some(crate::temporal::Tz::Offset(0))))
        }
        (_, v) => v,
    }
}
