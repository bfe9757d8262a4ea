//! FEEL abstract syntax (DMN 1.5 §10.3.1.2 grammar rules 1–67). DMN boxed
//! expressions that have no textual form (decision tables, relations, decision
//! services) plug in through [`Boxed`].

use crate::number::Number;
use crate::value::{Type, Value};
use std::fmt;
use std::sync::Arc;

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `**`
    Pow,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Arguments of an invocation.
#[derive(Clone, Debug)]
pub enum Args {
    /// `f(a, b)`
    Positional(Vec<Expr>),
    /// `f(x: a, y: b)`
    Named(Vec<(String, Expr)>),
}

/// A boxed expression evaluated by the DMN layer.
pub trait Boxed: Send + Sync + fmt::Debug {
    /// Evaluates in the given scope.
    fn eval(&self, ev: &mut super::eval::Evaluator, scope: &mut super::eval::Scope) -> Value;
}

/// One positive unary test (§10.3.1.2 rule 7).
#[derive(Clone, Debug)]
pub enum UnaryTest {
    /// `< e`, `<= e`, `= e`, ...
    Cmp(CmpOp, Expr),
    /// Any other expression (value, list, range, boolean expression using `?`).
    Expr(Expr),
}

/// Unary tests (§10.3.1.2 rule 14): `-`, a list, or `not(list)`.
#[derive(Clone, Debug)]
pub enum UnaryTests {
    /// `-`: matches anything.
    Any,
    /// A disjunction of tests.
    Tests(Vec<UnaryTest>),
    /// `not(...)`.
    Not(Vec<UnaryTest>),
}

/// A FEEL expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A literal or precomputed value.
    Const(Value),
    /// A variable or function name.
    Name(String),
    /// `?` in unary tests.
    Input,
    /// `a.b`
    Path(Box<Expr>, String),
    /// `a[b]`
    Filter(Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(Box<Expr>, Args),
    /// `-a`
    Neg(Box<Expr>),
    /// Arithmetic.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// Comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `a between b and c`
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a in tests`
    In(Box<Expr>, Vec<UnaryTest>),
    /// `a instance of T`
    InstanceOf(Box<Expr>, Type),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `for x in a, y in b return e`
    For(Vec<(String, Expr)>, Box<Expr>),
    /// `some/every x in a satisfies e` (`true` = every)
    Quantified(bool, Vec<(String, Expr)>, Box<Expr>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{a: 1, b: a + 1}`
    Context(Vec<(String, Expr)>),
    /// `[a..b]`, `(a..b)`, `]a..b[`; `None` ends are unbounded.
    Range {
        /// Lower end.
        start: Option<Box<Expr>>,
        /// Lower end included.
        start_incl: bool,
        /// Upper end.
        end: Option<Box<Expr>>,
        /// Upper end included.
        end_incl: bool,
    },
    /// `a..b` in an iteration context (`for x in 1..3`), ascending or descending.
    IterRange(Box<Expr>, Box<Expr>),
    /// A range built from a unary comparison (`< 10` used as a value).
    UnaryRange(CmpOp, Box<Expr>),
    /// `function(a, b: number) body`
    FunctionDef {
        /// Parameters with optional types.
        params: Vec<(String, Option<Type>)>,
        /// Body.
        body: Arc<Expr>,
    },
    /// Unary tests evaluated against `?` (used for decision-table cells).
    Tests(Arc<UnaryTests>),
    /// DMN boxed expression.
    Boxed(Arc<dyn Boxed>),
}

impl Expr {
    /// Number literal helper.
    pub fn num(n: Number) -> Expr {
        Expr::Const(Value::Number(n))
    }
}
