//! FEEL, the Friendly Enough Expression Language of DMN 1.5 chapter 10:
//! parse once into an immutable [`ast::Expr`], evaluate many times.

pub mod ast;
pub mod builtins;
pub mod eval;
pub mod java;
pub mod parser;

pub use eval::{Dialect, EvalError, Evaluator, Scope};
pub use parser::{ParseError, parse_expression, parse_unary_tests};

use crate::value::Value;
use std::sync::Arc;

/// A compiled FEEL expression (`Send + Sync`, cheap to clone).
#[derive(Clone, Debug)]
pub struct Expression {
    expr: Arc<ast::Expr>,
    /// The source text, to place an unknown variable in its message.
    src: Arc<str>,
}

impl Expression {
    /// Parses `src`; `names` are variable names in scope (needed for names
    /// that contain spaces or special characters).
    pub fn compile(src: &str, names: &[String]) -> Result<Expression, ParseError> {
        Ok(Expression {
            expr: Arc::new(parse_expression(src, names)?),
            src: src.into(),
        })
    }

    /// Evaluates against the given variables with the default step budget.
    pub fn evaluate(&self, vars: &[(String, Value)]) -> Result<Value, EvalError> {
        self.evaluate_with_limit(vars, eval::DEFAULT_STEP_LIMIT)
    }

    /// Evaluates with a clock for `now()`/`today()` (milliseconds since
    /// the epoch; `None`: they are null).
    pub fn evaluate_at(
        &self,
        vars: &[(String, Value)],
        now_millis: Option<i64>,
    ) -> Result<Value, EvalError> {
        self.evaluate_with(
            vars,
            &Options {
                now_millis,
                ..Options::default()
            },
        )
    }

    /// Evaluates with an explicit step budget.
    pub fn evaluate_with_limit(
        &self,
        vars: &[(String, Value)],
        limit: u64,
    ) -> Result<Value, EvalError> {
        self.evaluate_with(
            vars,
            &Options {
                step_limit: limit,
                ..Options::default()
            },
        )
    }

    /// Evaluates with the given clock, dialect and budget.
    pub fn evaluate_with(
        &self,
        vars: &[(String, Value)],
        options: &Options,
    ) -> Result<Value, EvalError> {
        let mut ev = Evaluator::new(options.step_limit)
            .with_now(options.now_millis)
            .with_dialect(options.dialect);
        let mut scope = Scope::with(vars.to_vec());
        let v = ev.eval(&self.expr, &mut scope);
        match ev.aborted() {
            Some(e) => Err(e.clone()),
            None => Ok(locate_unknown_name(&self.src, v)),
        }
    }

    /// The syntax tree.
    pub fn ast(&self) -> &ast::Expr {
        &self.expr
    }
}

/// A null caused by a name that is not in scope says where the name is:
/// `1:9: cannot compare null (no variable named 'amout' in scope) ...`.
pub fn locate_unknown_name(src: &str, v: Value) -> Value {
    const MARK: &str = "no variable named '";
    let Some(reason) = v.null_reason() else {
        return v;
    };
    let Some(start) = reason.find(MARK).map(|i| i + MARK.len()) else {
        return v;
    };
    let Some(name) = reason[start..].split('\'').next() else {
        return v;
    };
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let at = src.match_indices(name).map(|(i, _)| i).find(|&i| {
        !word(src[..i].chars().next_back()) && !word(src[i + name.len()..].chars().next())
    });
    let Some(at) = at else {
        return v;
    };
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Value::null(format!("{line}:{column}: {reason}"))
}

/// How one evaluation runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The clock for `now()` and `today()`, in milliseconds since the epoch.
    pub now_millis: Option<i64>,
    /// Whose FEEL.
    pub dialect: Dialect,
    /// The step budget.
    pub step_limit: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            now_millis: None,
            dialect: Dialect::Standard,
            step_limit: eval::DEFAULT_STEP_LIMIT,
        }
    }
}

/// Parses and evaluates a FEEL expression in one go.
pub fn eval_str(src: &str, vars: &[(String, Value)]) -> Result<Value, FeelError> {
    let names: Vec<String> = vars.iter().map(|(n, _)| n.clone()).collect();
    let e = Expression::compile(src, &names)?;
    Ok(e.evaluate(vars)?)
}

/// Parse or evaluation failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FeelError {
    /// Syntax error.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Budget exhausted.
    #[error(transparent)]
    Eval(#[from] EvalError),
}
