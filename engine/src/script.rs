//! Rhai, the engine's native script and expression language: script tasks with
//! `scriptFormat="rhai"` (or none) and conditions with `language="rhai"` (or none).
//!
//! One [`ScriptEngine`] holds a configured [`rhai::Engine`]; it is `Send + Sync` and meant to
//! be created once and shared by `Arc`. Sources compile to a [`Script`]: immutable, cheap to
//! clone (an `Arc` inside) and shareable across threads. Compilation walks the syntax tree once
//! to find the *free* variables (names the script uses without declaring them with `let`,
//! `const`, a loop, a `catch` or a closure parameter) and which of them it may modify, so that a
//! run converts only those process variables to Rhai values and back, never the whole map.
//!
//! # Variables
//! * Every free variable the script names is read from the process variables. Reading one
//!   that does not exist is a runtime error ("Variable not found"), with its position.
//! * Assigning to a free variable (`counter = counter + 1`, `total = a + b`, `x += 1`,
//!   `order.total = 5`, `items[0] = 1`) or calling a method on it (`items.push(4)`, which may
//!   change it in place) writes back: [`ScriptOutcome::updates`] lists each such variable whose
//!   value at the end differs from before, or which did not exist before and now holds a value
//!   other than `()`. Closures that capture a free variable count as possibly modifying it.
//! * Variables declared with `let`/`const` are the script's own locals and are never written
//!   back, even when they shadow a process variable (`let counter = counter + 1` reads the
//!   process variable and leaves it untouched).
//! * [`ScriptEngine::run`] never mutates its input map: the caller applies the updates.
//!
//! # Values
//! JSON `null` ↔ `()`, booleans ↔ `bool`, integers that fit `i64` ↔ `INT` (exact), other
//! numbers ↔ `FLOAT` (`f64`), strings ↔ strings, arrays ↔ arrays, objects ↔ object maps.
//! Back to JSON, a `char` becomes a one-character string, a BLOB an array of byte values, and
//! a non-finite float `null`. Values JSON cannot hold (function pointers, ranges, …) and
//! nesting deeper than [`MAX_JSON_DEPTH`] are errors, not silently dropped.
//!
//! # Sandbox
//! Built with rhai's `no_module` (so `import` is a compile error) and `no_time` (no
//! `timestamp()`); `eval` is disabled at compile time; there is no filesystem, network,
//! clock or randomness among the functions a script can call. `print` and `debug` output goes
//! to [`ScriptOutcome::log`], capped at [`ScriptLimits::max_log_bytes`]. Every run is bounded
//! by [`ScriptLimits`] (operations, call depth, expression depth, sizes, variables).
//!
//! # Limits and their cost
//! Rhai counts operations, not work: cloning an array costs one operation whatever its size,
//! so the time a run can take is bounded by `max_operations` times the data size limits
//! (measured in release: a loop copying a 1,000-item array exhausts 1,000,000 operations in
//! about 5 s). Rhai also recurses once per nesting level of arrays and maps when it clones,
//! compares, prints or drops them, using up to about 2 KiB of stack per level in release builds
//! (about 8 KiB in debug builds); nesting is bounded only by `max_array_size + max_map_size`.
//! Run scripts on threads with at least [`SCRIPT_THREAD_STACK_SIZE`] of stack, or lower those
//! limits, or a script that nests deeply can overflow the stack.
//!
//! Deliberate deviations and limitations:
//! * A free variable the script may assign but that does not exist yet starts as `()`; a read
//!   before the first assignment therefore sees `()` instead of failing, and a script that
//!   leaves it `()` creates nothing (JavaScript would fail the read; Camunda would create a
//!   `null` variable for an explicit `x = null`).
//! * Names reached only dynamically (`is_def_var("x")`) see only variables the script also
//!   names literally.
//! * Integers above `i64::MAX` in process variables arrive as `FLOAT` (Rhai has no wider
//!   integer type).
//! * Conditions ([`ScriptEngine::compile_expression`]) cannot assign; a method call in a
//!   condition that changes a value in place (`list.pop() == 3`) has no effect outside it.

use rhai::{
    AST, Dynamic, Engine, EvalAltResult, Expr, FnCallExpr, ImmutableString, ParseError,
    ParseErrorType, Position, Scope, Stmt, StmtBlock, Token,
};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

/// Deepest nesting of arrays/objects converted between JSON and Rhai (the depth
/// `serde_json` accepts when parsing, so every value produced can be read back).
pub const MAX_JSON_DEPTH: usize = 128;

/// Stack a thread running scripts with the default [`ScriptLimits`] should have: Rhai's
/// recursion over values nested `max_array_size + max_map_size` deep stays within it in release
/// builds. (The main thread's default is 8 MiB; `std::thread` spawns with 2 MiB.)
pub const SCRIPT_THREAD_STACK_SIZE: usize = 32 << 20;

/// Deepest syntax tree the free-variable analysis walks; the parser's own depth limits keep
/// ordinary scripts far below it.
const MAX_WALK_DEPTH: usize = 1024;

/// Resource limits applied to every compile and run. A limit of zero lifts it (as in Rhai).
///
/// The defaults are the same in debug and release builds, so a process behaves the same in
/// both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Operations one run may perform (roughly: expressions evaluated, loop iterations).
    pub max_operations: u64,
    /// Nesting of script-defined function calls (bounds recursion).
    pub max_call_levels: usize,
    /// Nesting of expressions and statements at the top level of a script.
    pub max_expr_depth: usize,
    /// Nesting of expressions and statements inside script-defined functions.
    pub max_function_expr_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Items in one array (nested arrays count their items too) or bytes in one BLOB.
    pub max_array_size: usize,
    /// Properties in one object map (nested maps count their properties too).
    pub max_map_size: usize,
    /// Variables alive at once, the process variables a script names included.
    pub max_variables: usize,
    /// Bytes of `print`/`debug` output kept in [`ScriptOutcome::log`]; the rest is dropped.
    pub max_log_bytes: usize,
    /// Memory, stack and step limits of JavaScript runs ([`crate::js`]).
    pub js: crate::js::JsLimits,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 1 << 20,
            max_array_size: 10_000,
            max_map_size: 1_000,
            max_variables: 1_000,
            max_log_bytes: 64 << 10,
            js: crate::js::JsLimits::default(),
        }
    }
}

/// An error compiling or running a Rhai script. Lines and columns are 1-based; `0` means
/// Rhai reported no position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The source is not valid Rhai, or uses something the sandbox removes.
    #[error("{message}{}", At(*line, *column))]
    Compile {
        message: String,
        line: usize,
        column: usize,
    },
    /// The script failed while running, or threw a value (`throw "x"` gives message `x`).
    #[error("{message}{}", At(*line, *column))]
    Runtime {
        message: String,
        line: usize,
        column: usize,
    },
    /// The script threw a BPMN error with `throw_error(code)` or
    /// `throw_error(code, message)`: it travels to an error catch event.
    #[error("BPMN error `{code}`{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    BpmnError {
        code: String,
        message: Option<String>,
    },
    /// The script hit one of the [`ScriptLimits`].
    #[error("the script exceeded the limit of {limit} {which}")]
    LimitExceeded { which: &'static str, limit: u64 },
    /// A condition produced something other than a boolean.
    #[error("expected a boolean, found {found}")]
    NotBoolean { found: String },
    /// A value cannot cross between JSON and Rhai (`target` says which).
    #[error("expected a value JSON can hold for {target}, found {found}")]
    Unrepresentable { target: String, found: String },
}

/// Formats " at line L, column C" when a position is known.
struct At(usize, usize);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (0, _) => Ok(()),
            (line, 0) => write!(f, " at line {line}"),
            (line, column) => write!(f, " at line {line}, column {column}"),
        }
    }
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScriptOutcome {
    /// The value of the last statement (`null` when it has none, e.g. an assignment).
    pub value: Value,
    /// Process variables to write back, in order of first mention in the source: only those
    /// that changed or were created.
    pub updates: Vec<(String, Value)>,
    /// Lines written by `print(…)` and `debug(…)` (the latter prefixed `[debug line:column]`).
    pub log: Vec<String>,
}

/// A compiled script or expression. Immutable; cloning shares it.
#[derive(Debug, Clone)]
pub struct Script {
    inner: Arc<ScriptInner>,
}

#[derive(Debug)]
struct ScriptInner {
    ast: AST,
    /// Free variables in order of first mention.
    free: Box<[FreeVar]>,
    expression: bool,
    /// The same script as a direct computation, when it is one of the shapes of [`Fast`].
    fast: Option<Fast>,
}

/// Scripts simple enough to compute without the interpreter: one statement
/// or expression over one integer variable and an integer literal — the
/// counters and loop conditions of most processes (`i += 1;`, `i < 1000`).
///
/// A fast run gives exactly what Rhai gives, or declines: it runs only when
/// the variable holds an integer (`INT`, as [`to_dynamic`] converts it) and
/// the arithmetic does not overflow; anything else (a float, a string, a
/// missing variable, an overflow and its error) goes to the interpreter.
#[derive(Debug, Clone)]
enum Fast {
    /// `x += n`, `x -= n`, `x = x + n`, `x = x - n` (a statement; its value is `()`).
    Add {
        name: ImmutableString,
        n: i64,
        sub: bool,
    },
    /// `x < n`, `x <= n`, `x > n`, `x >= n`, `x == n`, `x != n`.
    Cmp {
        name: ImmutableString,
        op: CmpOp,
        n: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Fast {
    /// Recognises the shapes above in a compiled script.
    fn detect(ast: &AST) -> Option<Fast> {
        let [stmt] = ast.statements() else {
            return None;
        };
        let free_var = |e: &Expr| match e {
            Expr::Variable(var, ..) if var.0.is_none() => Some(var.1.clone()),
            _ => None,
        };
        let int = |e: &Expr| match e {
            Expr::IntegerConstant(n, _) => Some(*n),
            _ => None,
        };
        match stmt {
            Stmt::Assignment(a) => {
                let (op, bin) = (&a.0, &a.1);
                let name = free_var(&bin.lhs)?;
                match op.get_op_assignment_info() {
                    Some((.., op_assign, _, _, _)) => {
                        let sub = match op_assign {
                            Token::PlusAssign => false,
                            Token::MinusAssign => true,
                            _ => return None,
                        };
                        Some(Fast::Add {
                            name,
                            n: int(&bin.rhs)?,
                            sub,
                        })
                    }
                    None => {
                        // `x = x + n` / `x = x - n`
                        let Expr::FnCall(call, _) = &bin.rhs else {
                            return None;
                        };
                        let sub = match call.op_token {
                            Some(Token::Plus) => false,
                            Some(Token::Minus) => true,
                            _ => return None,
                        };
                        let [x, n] = &call.args[..] else {
                            return None;
                        };
                        if free_var(x)? != name {
                            return None;
                        }
                        Some(Fast::Add {
                            name,
                            n: int(n)?,
                            sub,
                        })
                    }
                }
            }
            Stmt::Expr(_) | Stmt::FnCall(..) => {
                let call = match stmt {
                    Stmt::FnCall(call, _) => call,
                    Stmt::Expr(e) => match e.as_ref() {
                        Expr::FnCall(call, _) => call,
                        _ => return None,
                    },
                    _ => return None,
                };
                let op = match call.op_token {
                    Some(Token::LessThan) => CmpOp::Lt,
                    Some(Token::LessThanEqualsTo) => CmpOp::Le,
                    Some(Token::GreaterThan) => CmpOp::Gt,
                    Some(Token::GreaterThanEqualsTo) => CmpOp::Ge,
                    Some(Token::EqualsTo) => CmpOp::Eq,
                    Some(Token::NotEqualsTo) => CmpOp::Ne,
                    _ => return None,
                };
                let [x, n] = &call.args[..] else {
                    return None;
                };
                Some(Fast::Cmp {
                    name: free_var(x)?,
                    op,
                    n: int(n)?,
                })
            }
            _ => None,
        }
    }

    /// The outcome Rhai would give, or `None` to let Rhai run.
    fn run<'v>(&self, get: impl Fn(&str) -> Option<&'v Value>) -> Option<ScriptOutcome> {
        match self {
            Fast::Add { name, n, sub } => {
                let x = get(name.as_str())?.as_i64()?;
                let y = if *sub {
                    x.checked_sub(*n)?
                } else {
                    x.checked_add(*n)?
                };
                let updates = if y == x {
                    Vec::new()
                } else {
                    vec![(name.to_string(), Value::from(y))]
                };
                Some(ScriptOutcome {
                    value: Value::Null,
                    updates,
                    log: Vec::new(),
                })
            }
            Fast::Cmp { name, op, n } => {
                let x = get(name.as_str())?.as_i64()?;
                let b = match op {
                    CmpOp::Lt => x < *n,
                    CmpOp::Le => x <= *n,
                    CmpOp::Gt => x > *n,
                    CmpOp::Ge => x >= *n,
                    CmpOp::Eq => x == *n,
                    CmpOp::Ne => x != *n,
                };
                Some(ScriptOutcome {
                    value: Value::Bool(b),
                    updates: Vec::new(),
                    log: Vec::new(),
                })
            }
        }
    }
}

#[derive(Debug)]
struct FreeVar {
    name: ImmutableString,
    /// The script may change this variable (assignment, method call, closure capture).
    written: bool,
}

impl Script {
    /// Names of the process variables the script reads or writes, in order of first mention.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.inner.free.iter().map(|v| v.name.as_str())
    }

    /// Names of the process variables the script may write back.
    pub fn written_variables(&self) -> impl Iterator<Item = &str> {
        self.inner
            .free
            .iter()
            .filter(|v| v.written)
            .map(|v| v.name.as_str())
    }

    /// Whether this came from [`ScriptEngine::compile_expression`].
    pub fn is_expression(&self) -> bool {
        self.inner.expression
    }
}

/// The configured Rhai engine. Create once, share by `Arc`.
pub struct ScriptEngine {
    engine: Engine,
    limits: ScriptLimits,
}

impl fmt::Debug for ScriptEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for ScriptEngine {
    fn default() -> Self {
        Self::new(ScriptLimits::default())
    }
}

/// `print`/`debug` output of the run in progress on this thread.
#[derive(Default)]
struct Log {
    lines: Vec<String>,
    bytes: usize,
    truncated: bool,
}

impl Log {
    fn push(&mut self, line: String, max_bytes: usize) {
        if self.truncated {
            return;
        }
        if max_bytes != 0 && self.bytes + line.len() > max_bytes {
            self.truncated = true;
            self.lines.push("… (log truncated)".to_owned());
            return;
        }
        self.bytes += line.len();
        self.lines.push(line);
    }
}

thread_local! {
    static LOG: RefCell<Log> = RefCell::default();
    /// A scope reused from run to run on this thread, so the hot path does not allocate one.
    static SCOPE: RefCell<Scope<'static>> = RefCell::new(Scope::new());
}

/// What a script that calls `sleep` is told.
const SLEEP_REFUSED: &str =
    "`sleep` is not available in scripts: expected a script that does not block the engine";

impl ScriptEngine {
    /// An engine with the given limits.
    pub fn new(limits: ScriptLimits) -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_variables(limits.max_variables)
            .disable_symbol("eval");
        let max_log = limits.max_log_bytes;
        engine.on_print(move |text| {
            LOG.with(|log| log.borrow_mut().push(text.to_owned(), max_log));
        });
        // Rhai's `sleep` blocks the thread without counting operations (so
        // a script could hold the engine as long as it asked, and a huge
        // argument panics): these take its place and refuse.
        engine.register_fn("sleep", |_: rhai::INT| -> Result<(), Box<EvalAltResult>> {
            Err(SLEEP_REFUSED.into())
        });
        engine.register_fn(
            "sleep",
            |_: rhai::FLOAT| -> Result<(), Box<EvalAltResult>> { Err(SLEEP_REFUSED.into()) },
        );
        engine.register_fn(
            "throw_error",
            |code: &str| -> Result<(), Box<EvalAltResult>> { Err(bpmn_error(code, None)) },
        );
        engine.register_fn(
            "throw_error",
            |code: &str, message: &str| -> Result<(), Box<EvalAltResult>> {
                Err(bpmn_error(code, Some(message)))
            },
        );
        engine.on_debug(move |text, _source, pos| {
            let line = match (pos.line(), pos.position()) {
                (Some(l), Some(c)) => format!("[debug {l}:{c}] {text}"),
                (Some(l), None) => format!("[debug {l}] {text}"),
                _ => format!("[debug] {text}"),
            };
            LOG.with(|log| log.borrow_mut().push(line, max_log));
        });
        ScriptEngine { engine, limits }
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// Compiles a script: any sequence of statements, the value of the last one being the
    /// result.
    pub fn compile_script(&self, source: &str) -> Result<Script, ScriptError> {
        let ast = self
            .engine
            .compile(source)
            .map_err(|e| self.parse_error(e))?;
        self.finish(ast, false)
    }

    /// Compiles a single expression, as conditions are; statements (`let`, assignments, `;`
    /// sequences, loops) are rejected.
    pub fn compile_expression(&self, source: &str) -> Result<Script, ScriptError> {
        let ast = self
            .engine
            .compile_expression(source)
            .map_err(|e| self.parse_error(e))?;
        self.finish(ast, true)
    }

    fn finish(&self, ast: AST, expression: bool) -> Result<Script, ScriptError> {
        let mut walker = FreeVarWalker::default();
        for stmt in ast.statements() {
            walker.stmt(stmt, 0);
        }
        if walker.too_deep {
            return Err(ScriptError::LimitExceeded {
                which: "levels of expression nesting",
                limit: MAX_WALK_DEPTH as u64,
            });
        }
        let fast = Fast::detect(&ast);
        Ok(Script {
            inner: Arc::new(ScriptInner {
                ast,
                free: walker.vars.into_boxed_slice(),
                expression,
                fast,
            }),
        })
    }

    /// Runs the script without the interpreter when it is simple enough
    /// (see `Fast`): the outcome [`ScriptEngine::run`] would give, or `None`.
    /// `get` looks a process variable up (scope layers need no merging).
    pub fn run_fast<'v>(
        &self,
        script: &Script,
        get: impl Fn(&str) -> Option<&'v Value>,
    ) -> Option<ScriptOutcome> {
        script.inner.fast.as_ref()?.run(get)
    }

    /// Runs a script against the process variables (which it does not mutate) and returns
    /// its result and the variables to write back.
    pub fn run(
        &self,
        script: &Script,
        vars: &Map<String, Value>,
    ) -> Result<ScriptOutcome, ScriptError> {
        if let Some(outcome) = self.run_fast(script, |name| vars.get(name)) {
            return Ok(outcome);
        }
        self.run_interpreted(script, vars)
    }

    /// [`ScriptEngine::run`] with the variables looked up by name (layered
    /// scopes need no merging; only the variables the script names are
    /// read).
    pub fn run_with<'v>(
        &self,
        script: &Script,
        get: impl Fn(&str) -> Option<&'v Value>,
    ) -> Result<ScriptOutcome, ScriptError> {
        if let Some(outcome) = self.run_fast(script, &get) {
            return Ok(outcome);
        }
        SCOPE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scope) => {
                let result = self.run_in(&script.inner, &get, &mut scope);
                scope.clear();
                result
            }
            // Only reachable if a run re-entered this thread's run (nothing does today).
            Err(_) => self.run_in(&script.inner, &get, &mut Scope::new()),
        })
    }

    /// [`ScriptEngine::run`] always through the interpreter.
    fn run_interpreted(
        &self,
        script: &Script,
        vars: &Map<String, Value>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let get = |name: &str| vars.get(name);
        SCOPE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scope) => {
                let result = self.run_in(&script.inner, &get, &mut scope);
                scope.clear();
                result
            }
            // Only reachable if a run re-entered this thread's run (nothing does today).
            Err(_) => self.run_in(&script.inner, &get, &mut Scope::new()),
        })
    }

    /// Evaluates a condition: the result must be a boolean.
    pub fn eval_condition(
        &self,
        script: &Script,
        vars: &Map<String, Value>,
    ) -> Result<bool, ScriptError> {
        if let Some(ScriptOutcome {
            value: Value::Bool(b),
            ..
        }) = self.run_fast(script, |name| vars.get(name))
        {
            return Ok(b);
        }
        SCOPE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scope) => {
                let result = self.condition_in(&script.inner, &|name| vars.get(name), &mut scope);
                scope.clear();
                result
            }
            Err(_) => self.condition_in(&script.inner, &|name| vars.get(name), &mut Scope::new()),
        })
    }

    fn condition_in<'v>(
        &self,
        script: &ScriptInner,
        vars: &dyn Fn(&str) -> Option<&'v Value>,
        scope: &mut Scope<'static>,
    ) -> Result<bool, ScriptError> {
        let value = self.eval_in(script, vars, scope)?;
        value.as_bool().map_err(|_| ScriptError::NotBoolean {
            found: describe(&value),
        })
    }

    /// Pushes the free variables and evaluates; leaves the pushed variables at the bottom of
    /// `scope`, in the order of `script.free` minus the read-only ones that do not exist.
    fn eval_in<'v>(
        &self,
        script: &ScriptInner,
        vars: &dyn Fn(&str) -> Option<&'v Value>,
        scope: &mut Scope<'static>,
    ) -> Result<Dynamic, ScriptError> {
        scope.clear();
        for var in script.free.iter() {
            match vars(var.name.as_str()) {
                Some(value) => {
                    let value =
                        to_dynamic(value, 0).map_err(|found| ScriptError::Unrepresentable {
                            target: format!("variable `{}`", var.name),
                            found,
                        })?;
                    scope.push_dynamic(var.name.as_str(), value);
                }
                None if var.written => {
                    scope.push_dynamic(var.name.as_str(), Dynamic::UNIT);
                }
                // Not pushed: reading it fails with Rhai's "Variable not found" and position.
                None => {}
            }
        }
        LOG.with(|log| *log.borrow_mut() = Log::default());
        self.engine
            .eval_ast_with_scope::<Dynamic>(scope, &script.ast)
            .map_err(|e| self.eval_error(*e))
    }

    fn run_in<'v>(
        &self,
        script: &ScriptInner,
        vars: &dyn Fn(&str) -> Option<&'v Value>,
        scope: &mut Scope<'static>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let result = self.eval_in(script, vars, scope);
        let log = LOG.with(|log| std::mem::take(&mut log.borrow_mut().lines));
        let value = result?;
        let value = to_json(&value, 0).map_err(|found| ScriptError::Unrepresentable {
            target: "the script's result".to_owned(),
            found,
        })?;
        // Drop the script's own top-level `let`s so names resolve to the pushed variables.
        let pushed = script
            .free
            .iter()
            .filter(|v| v.written || vars(v.name.as_str()).is_some())
            .count();
        scope.rewind(pushed);
        let mut updates = Vec::new();
        for var in script.free.iter().filter(|v| v.written) {
            let Some(now) = scope.get(var.name.as_str()) else {
                continue;
            };
            let changed = match vars(var.name.as_str()) {
                Some(before) => !same_value(now, before, 0),
                None => !now.is_unit(),
            };
            if changed {
                let json = to_json(now, 0).map_err(|found| ScriptError::Unrepresentable {
                    target: format!("variable `{}`", var.name),
                    found,
                })?;
                updates.push((var.name.to_string(), json));
            }
        }
        Ok(ScriptOutcome {
            value,
            updates,
            log,
        })
    }

    fn parse_error(&self, error: ParseError) -> ScriptError {
        let ParseError(kind, pos) = error;
        let (line, column) = position(pos);
        let message = match *kind {
            ParseErrorType::ExprTooDeep => {
                return ScriptError::LimitExceeded {
                    which: "levels of expression nesting",
                    limit: self.limits.max_expr_depth as u64,
                };
            }
            ParseErrorType::LiteralTooLarge(what, max) => {
                return ScriptError::LimitExceeded {
                    which: size_limit_name(&what),
                    limit: max as u64,
                };
            }
            ParseErrorType::MissingToken(token, context) => {
                format!("expected `{token}` {context}")
            }
            ParseErrorType::Reserved(word) if word == "eval" => {
                "`eval` is not available in scripts".to_owned()
            }
            ParseErrorType::Reserved(word) if word == "import" || word == "export" => {
                format!("`{word}` is not available in scripts: modules are disabled")
            }
            other => other.to_string(),
        };
        ScriptError::Compile {
            message,
            line,
            column,
        }
    }

    fn eval_error(&self, error: EvalAltResult) -> ScriptError {
        let mut error = error;
        // Report the innermost cause of an error raised inside a script-defined function.
        while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = error {
            error = *inner;
        }
        let limits = &self.limits;
        match error {
            EvalAltResult::ErrorTooManyOperations(_) => ScriptError::LimitExceeded {
                which: "operations",
                limit: limits.max_operations,
            },
            EvalAltResult::ErrorStackOverflow(_) => ScriptError::LimitExceeded {
                which: "levels of nested function calls",
                limit: limits.max_call_levels as u64,
            },
            EvalAltResult::ErrorTooManyVariables(_) => ScriptError::LimitExceeded {
                which: "variables",
                limit: limits.max_variables as u64,
            },
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let which = size_limit_name(&what);
                let limit = match which {
                    "bytes in a string" => limits.max_string_size,
                    "properties in an object map" => limits.max_map_size,
                    _ => limits.max_array_size,
                };
                ScriptError::LimitExceeded {
                    which,
                    limit: limit as u64,
                }
            }
            EvalAltResult::ErrorParsing(kind, pos) => {
                self.parse_error(ParseError(kind.into(), pos))
            }
            EvalAltResult::ErrorRuntime(thrown, _)
                if thrown
                    .read_lock::<rhai::Map>()
                    .is_some_and(|m| m.contains_key(BPMN_ERROR_KEY)) =>
            {
                let map = thrown.cast::<rhai::Map>();
                let text = |k: &str| {
                    map.get(k)
                        .and_then(|v| v.clone().into_immutable_string().ok())
                        .map(|s| s.to_string())
                };
                ScriptError::BpmnError {
                    code: text(BPMN_ERROR_KEY).unwrap_or_default(),
                    message: text("message"),
                }
            }
            EvalAltResult::ErrorRuntime(thrown, pos) => {
                let (line, column) = position(pos);
                let message = match thrown.as_immutable_string_ref() {
                    Ok(text) => text.to_string(),
                    Err(_) => thrown.to_string(),
                };
                ScriptError::Runtime {
                    message,
                    line,
                    column,
                }
            }
            mut other => {
                let (line, column) = position(other.take_position());
                ScriptError::Runtime {
                    message: other.to_string(),
                    line,
                    column,
                }
            }
        }
    }
}

/// The key that marks a value thrown by `throw_error`.
const BPMN_ERROR_KEY: &str = "__bpmnErrorCode";

/// The value `throw_error` throws.
fn bpmn_error(code: &str, message: Option<&str>) -> Box<EvalAltResult> {
    let mut map = rhai::Map::new();
    map.insert(BPMN_ERROR_KEY.into(), code.into());
    if let Some(m) = message {
        map.insert("message".into(), m.into());
    }
    Box::new(EvalAltResult::ErrorRuntime(map.into(), Position::NONE))
}

fn position(pos: Position) -> (usize, usize) {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

/// The [`ScriptError::LimitExceeded::which`] for Rhai's "X too large" messages.
fn size_limit_name(what: &str) -> &'static str {
    let what = what.to_ascii_lowercase();
    if what.contains("string") {
        "bytes in a string"
    } else if what.contains("map") {
        "properties in an object map"
    } else {
        "items in an array"
    }
}

/// Collects free variables from a syntax tree (see the module docs for what counts).
///
/// Rhai's parser resolves every variable declared in the script to a stack offset; a
/// `Variable` node without one names something outside the script: a free variable.
#[derive(Default)]
struct FreeVarWalker {
    vars: Vec<FreeVar>,
    too_deep: bool,
}

impl FreeVarWalker {
    fn note(&mut self, name: &ImmutableString, written: bool) {
        match self.vars.iter_mut().find(|v| v.name == *name) {
            Some(var) => var.written |= written,
            None => self.vars.push(FreeVar {
                name: name.clone(),
                written,
            }),
        }
    }

    /// Marks the variable at the root of an access chain (`x`, `x.a.b`, `x[1].c`) as written.
    fn note_root_written(&mut self, expr: &Expr) {
        let mut expr = expr;
        loop {
            match expr {
                Expr::Variable(var, ..) if var.0.is_none() => {
                    let name = var.1.clone();
                    self.note(&name, true);
                    return;
                }
                Expr::Dot(chain, ..) | Expr::Index(chain, ..) => expr = &chain.lhs,
                _ => return,
            }
        }
    }

    fn block(&mut self, block: &StmtBlock, depth: usize) {
        for stmt in block.statements() {
            self.stmt(stmt, depth + 1);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            self.too_deep = true;
            return;
        }
        let depth = depth + 1;
        match stmt {
            Stmt::If(flow, _) | Stmt::While(flow, _) | Stmt::Do(flow, ..) => {
                self.expr(&flow.expr, depth);
                self.block(&flow.body, depth);
                self.block(&flow.branch, depth);
            }
            // `flow.expr` is the `catch` variable: a declaration, not a use.
            Stmt::TryCatch(flow, _) => {
                self.block(&flow.body, depth);
                self.block(&flow.branch, depth);
            }
            Stmt::Switch(switch, _) => {
                self.expr(&switch.0, depth);
                for case in switch.1.expressions.iter() {
                    self.expr(&case.lhs, depth);
                    self.expr(&case.rhs, depth);
                }
            }
            Stmt::For(for_loop, _) => {
                let flow = &for_loop.2;
                self.expr(&flow.expr, depth);
                self.block(&flow.body, depth);
                self.block(&flow.branch, depth);
            }
            Stmt::Var(var, ..) => self.expr(&var.1, depth),
            Stmt::Assignment(assignment) => {
                let target = &assignment.1.lhs;
                self.note_root_written(target);
                self.expr(target, depth);
                self.expr(&assignment.1.rhs, depth);
            }
            Stmt::FnCall(call, _) => self.call(call, depth),
            Stmt::Block(block) => self.block(block, depth),
            Stmt::Expr(expr) => self.expr(expr, depth),
            Stmt::BreakLoop(value, ..) | Stmt::Return(value, ..) => {
                if let Some(value) = value {
                    self.expr(value, depth);
                }
            }
            // A closure captures these; its body may assign them.
            Stmt::Share(shared) => {
                for (ident, index) in shared.iter() {
                    if index.is_none() {
                        self.note(&ident.name, true);
                    }
                }
            }
            Stmt::Noop(_) => {}
            // `Stmt` is non-exhaustive; the remaining variants (modules) are compiled out.
            _ => {}
        }
    }

    fn call(&mut self, call: &FnCallExpr, depth: usize) {
        // In function-call style (`push(list, 1)`) Rhai may pass a variable first argument by
        // reference, so the function can change it. Operators never do.
        if call.op_token.is_none() {
            if let Some(first) = call.args.first() {
                self.note_root_written(first);
            }
        }
        for arg in call.args.iter() {
            self.expr(arg, depth);
        }
    }

    fn expr(&mut self, expr: &Expr, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            self.too_deep = true;
            return;
        }
        let depth = depth + 1;
        match expr {
            Expr::Variable(var, ..) if var.0.is_none() => {
                let name = var.1.clone();
                self.note(&name, false);
            }
            Expr::Variable(..) => {}
            Expr::InterpolatedString(items, _) | Expr::Array(items, _) => {
                for item in items.iter() {
                    self.expr(item, depth);
                }
            }
            Expr::Map(map, _) => {
                for (_, value) in map.0.iter() {
                    self.expr(value, depth);
                }
            }
            Expr::FnCall(call, _) | Expr::MethodCall(call, _) => self.call(call, depth),
            Expr::Stmt(block) => self.block(block, depth),
            Expr::Dot(chain, ..) | Expr::Index(chain, ..) => {
                if has_method_call(&chain.rhs) {
                    self.note_root_written(&chain.lhs);
                }
                self.expr(&chain.lhs, depth);
                self.expr(&chain.rhs, depth);
            }
            Expr::And(items, _) | Expr::Or(items, _) | Expr::Coalesce(items, _) => {
                for item in items.iter() {
                    self.expr(item, depth);
                }
            }
            Expr::DynamicConstant(..)
            | Expr::BoolConstant(..)
            | Expr::IntegerConstant(..)
            | Expr::FloatConstant(..)
            | Expr::CharConstant(..)
            | Expr::StringConstant(..)
            | Expr::Unit(..)
            | Expr::ThisPtr(..)
            | Expr::Property(..) => {}
            // `Expr` is non-exhaustive; custom syntax is compiled out.
            _ => {}
        }
    }
}

/// Whether an access chain calls a method anywhere (a method may change its object).
fn has_method_call(expr: &Expr) -> bool {
    let mut expr = expr;
    loop {
        match expr {
            Expr::MethodCall(..) => return true,
            Expr::Dot(chain, ..) | Expr::Index(chain, ..) => {
                if has_method_call(&chain.lhs) {
                    return true;
                }
                expr = &chain.rhs;
            }
            _ => return false,
        }
    }
}

/// JSON to Rhai. The error is a description of what could not be converted.
fn to_dynamic(value: &Value, depth: usize) -> Result<Dynamic, String> {
    Ok(match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(items) => {
            if depth >= MAX_JSON_DEPTH {
                return Err(too_deep());
            }
            let mut array = rhai::Array::with_capacity(items.len());
            for item in items {
                array.push(to_dynamic(item, depth + 1)?);
            }
            Dynamic::from_array(array)
        }
        Value::Object(object) => {
            if depth >= MAX_JSON_DEPTH {
                return Err(too_deep());
            }
            let mut map = rhai::Map::new();
            for (key, item) in object {
                map.insert(key.as_str().into(), to_dynamic(item, depth + 1)?);
            }
            Dynamic::from_map(map)
        }
    })
}

fn too_deep() -> String {
    format!("a value nested deeper than {MAX_JSON_DEPTH} levels")
}

/// Rhai to JSON. The error is a description of what could not be converted.
fn to_json(value: &Dynamic, depth: usize) -> Result<Value, String> {
    if value.is_shared() {
        return to_json(&value.flatten_clone(), depth);
    }
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(s) = value.as_immutable_string_ref() {
        return Ok(Value::String(s.as_str().to_owned()));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if depth >= MAX_JSON_DEPTH && (value.is_array() || value.is_map() || value.is_blob()) {
        return Err(too_deep());
    }
    if let Ok(array) = value.as_array_ref() {
        let mut items = Vec::with_capacity(array.len());
        for item in array.iter() {
            items.push(to_json(item, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(map) = value.as_map_ref() {
        let mut object = Map::new();
        for (key, item) in map.iter() {
            object.insert(key.to_string(), to_json(item, depth + 1)?);
        }
        return Ok(Value::Object(object));
    }
    if let Ok(blob) = value.as_blob_ref() {
        return Ok(Value::Array(
            blob.iter().map(|&b| Value::Number(b.into())).collect(),
        ));
    }
    Err(describe(value))
}

/// Whether a Rhai value converts to exactly `json` (without converting it).
fn same_value(value: &Dynamic, json: &Value, depth: usize) -> bool {
    if value.is_shared() {
        return same_value(&value.flatten_clone(), json, depth);
    }
    if depth > MAX_JSON_DEPTH {
        return false;
    }
    match json {
        Value::Null => value.is_unit(),
        Value::Bool(b) => value.as_bool() == Ok(*b),
        Value::Number(n) => match (n.as_i64(), value.as_int(), value.as_float()) {
            (Some(j), Ok(i), _) => i == j,
            (None, _, Ok(f)) => n.as_f64() == Some(f) && !n.is_u64(),
            _ => false,
        },
        Value::String(s) => match value.as_immutable_string_ref() {
            Ok(text) => text.as_str() == s,
            Err(_) => false,
        },
        Value::Array(items) => match value.as_array_ref() {
            Ok(array) => {
                array.len() == items.len()
                    && array
                        .iter()
                        .zip(items)
                        .all(|(a, b)| same_value(a, b, depth + 1))
            }
            Err(_) => false,
        },
        Value::Object(object) => match value.as_map_ref() {
            Ok(map) => {
                map.len() == object.len()
                    && map.iter().all(|(key, a)| {
                        object
                            .get(key.as_str())
                            .is_some_and(|b| same_value(a, b, depth + 1))
                    })
            }
            Err(_) => false,
        },
    }
}

/// A short description of a value for error messages: its type and, for scalars, the value.
fn describe(value: &Dynamic) -> String {
    const MAX_TEXT: usize = 40;
    if value.is_unit() {
        return "unit `()`".to_owned();
    }
    if let Ok(i) = value.as_int() {
        return format!("integer {i}");
    }
    if let Ok(f) = value.as_float() {
        return format!("float {f:?}");
    }
    if let Ok(s) = value.as_immutable_string_ref() {
        let mut text: String = s.chars().take(MAX_TEXT).collect();
        if text.len() < s.len() {
            text.push('…');
        }
        return format!("string {text:?}");
    }
    if let Ok(c) = value.as_char() {
        return format!("character {c:?}");
    }
    if let Ok(array) = value.as_array_ref() {
        return format!("array of {} items", array.len());
    }
    if let Ok(map) = value.as_map_ref() {
        return format!("object map of {} properties", map.len());
    }
    format!("a value of type `{}`", value.type_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    fn vars(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("test variables must be an object, got {other}"),
        }
    }

    fn run(source: &str, variables: Value) -> Result<ScriptOutcome, ScriptError> {
        let engine = ScriptEngine::default();
        let script = engine.compile_script(source)?;
        engine.run(&script, &vars(variables))
    }

    fn updates(source: &str, variables: Value) -> Vec<(String, Value)> {
        run(source, variables).expect("script runs").updates
    }

    fn compile_error(source: &str) -> ScriptError {
        ScriptEngine::default()
            .compile_script(source)
            .expect_err("compile must fail")
    }

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ScriptEngine>();
        assert_send_sync::<Script>();
        let engine = Arc::new(ScriptEngine::default());
        let script = engine.compile_script("n * 2").unwrap();
        let handles: Vec<_> = (0..2_i64)
            .map(|i| {
                let (engine, script) = (Arc::clone(&engine), script.clone());
                std::thread::spawn(move || engine.run(&script, &vars(json!({"n": i}))).unwrap())
            })
            .collect();
        let values: Vec<Value> = handles
            .into_iter()
            .map(|h| h.join().unwrap().value)
            .collect();
        assert_eq!(values, vec![json!(0), json!(2)]);
    }

    #[test]
    fn increments_a_counter() {
        let input = vars(json!({"counter": 41, "other": "x"}));
        let engine = ScriptEngine::default();
        let script = engine.compile_script("counter = counter + 1").unwrap();
        let outcome = engine.run(&script, &input).unwrap();
        assert_eq!(outcome.updates, vec![("counter".to_owned(), json!(42))]);
        assert_eq!(outcome.value, Value::Null);
        // The input is untouched; the caller applies updates.
        assert_eq!(input["counter"], json!(41));
        assert_eq!(
            updates("counter += 1", json!({"counter": 1})),
            vec![("counter".to_owned(), json!(2))]
        );
    }

    #[test]
    fn creates_a_variable() {
        assert_eq!(
            updates("total = a + b", json!({"a": 1, "b": 2})),
            vec![("total".to_owned(), json!(3))]
        );
        assert_eq!(
            updates(
                "let t = a * 2; result = #{ doubled: t, tags: [\"x\"] };",
                json!({"a": 4})
            ),
            vec![("result".to_owned(), json!({"doubled": 8, "tags": ["x"]}))]
        );
    }

    #[test]
    fn assignment_not_taken_creates_nothing() {
        assert_eq!(updates("if a > 5 { big = true }", json!({"a": 1})), vec![]);
        assert_eq!(
            updates("if a > 5 { big = true }", json!({"a": 9})),
            vec![("big".to_owned(), json!(true))]
        );
    }

    #[test]
    fn read_only_script_produces_no_updates() {
        let outcome = run(
            "let s = 0; for x in items { s += x } s + order.qty",
            json!({"items": [1, 2, 3], "order": {"qty": 4}}),
        )
        .unwrap();
        assert_eq!(outcome.value, json!(10));
        assert!(outcome.updates.is_empty());
        // Assigning the same value back is not a change.
        assert_eq!(updates("n = n; m = 2", json!({"n": 5, "m": 2})), vec![]);
    }

    #[test]
    fn let_is_local_even_when_it_shadows() {
        let outcome = run("let counter = counter + 1; counter", json!({"counter": 1})).unwrap();
        assert_eq!(outcome.value, json!(2));
        assert!(outcome.updates.is_empty());
    }

    #[test]
    fn in_place_changes_write_back() {
        assert_eq!(
            updates("items.push(4)", json!({"items": [1]})),
            vec![("items".to_owned(), json!([1, 4]))]
        );
        assert_eq!(
            updates(
                "order.total = 5; order.lines[0].qty += 1",
                json!({"order": {"lines": [{"qty": 1}]}})
            ),
            vec![(
                "order".to_owned(),
                json!({"lines": [{"qty": 2}], "total": 5})
            )]
        );
        assert_eq!(
            updates("push(items, 2)", json!({"items": [1]})),
            vec![("items".to_owned(), json!([1, 2]))]
        );
        assert_eq!(
            updates(
                "let add = |x| n += x; add.call(3); add.call(4);",
                json!({"n": 1})
            ),
            vec![("n".to_owned(), json!(8))]
        );
    }

    #[test]
    fn captured_values_inside_data_convert() {
        let outcome = run(
            "let f = || n; let a = [n, #{ m: n }]; a.push(n); out = a; a",
            json!({"n": 7}),
        )
        .unwrap();
        assert_eq!(outcome.value, json!([7, {"m": 7}, 7]));
        assert_eq!(
            outcome.updates,
            vec![("out".to_owned(), json!([7, {"m": 7}, 7]))]
        );
    }

    #[test]
    fn analysis_lists_free_variables() {
        let engine = ScriptEngine::default();
        let script = engine
            .compile_script(
                "let local = a; fn helper(p) { p + 1 } \
                 for i in 0..3 { b.push(i) } \
                 try { throw c } catch (err) { d = err } \
                 switch e { 1 => f, _ => g } \
                 loop { break h }",
            )
            .unwrap();
        let all: Vec<&str> = script.variables().collect();
        assert_eq!(all, ["a", "b", "c", "d", "e", "f", "g", "h"]);
        let written: Vec<&str> = script.written_variables().collect();
        assert_eq!(written, ["b", "d"]);
        assert!(!script.is_expression());
    }

    #[test]
    fn values_round_trip() {
        let value = json!({
            "int": -9_007_199_254_740_993_i64,
            "max": i64::MAX,
            "float": 1.5,
            "whole_float": 2.0,
            "s": "héllo",
            "nothing": null,
            "flag": false,
            "nested": {"list": [1, [2, {"deep": [true, null, "x"]}], 3.25], "empty": {}, "none": []}
        });
        let dynamic = to_dynamic(&value, 0).unwrap();
        assert!(same_value(&dynamic, &value, 0));
        assert_eq!(to_json(&dynamic, 0).unwrap(), value);
        // And through a script: copy every variable into a new one.
        let input = vars(value.clone());
        let engine = ScriptEngine::default();
        let script = engine
            .compile_script("copy = #{ int: int, max: max, float: float, whole_float: whole_float, s: s, nothing: nothing, flag: flag, nested: nested }")
            .unwrap();
        let outcome = engine.run(&script, &input).unwrap();
        assert_eq!(outcome.updates, vec![("copy".to_owned(), value)]);
    }

    #[test]
    fn special_values_convert() {
        let outcome = run("[1.0 / 0.0, 'c', blob(2, 7)]", json!({})).unwrap();
        assert_eq!(outcome.value, json!([null, "c", [7, 7]]));
        // A u64 beyond i64 arrives as a float.
        let outcome = run("big", json!({"big": u64::MAX})).unwrap();
        assert_eq!(outcome.value, json!(u64::MAX as f64));
        let err = run("f = |x| x", json!({})).unwrap_err();
        assert!(
            matches!(&err, ScriptError::Unrepresentable { target, .. } if target == "variable `f`"),
            "{err:?}"
        );
        let err = run("1..3", json!({})).unwrap_err();
        assert!(
            matches!(err, ScriptError::Unrepresentable { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn overly_deep_values_are_errors() {
        let mut deep = json!(1);
        for _ in 0..MAX_JSON_DEPTH + 1 {
            deep = json!([deep]);
        }
        let err = run("d", json!({"d": deep})).unwrap_err();
        assert!(
            matches!(err, ScriptError::Unrepresentable { .. }),
            "{err:?}"
        );
        let err = run("let a = []; for i in 0..200 { a = [a]; } a", json!({})).unwrap_err();
        assert!(
            matches!(err, ScriptError::Unrepresentable { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn unbounded_nesting_stops_at_a_limit() {
        // Rhai recurses per nesting level; `==` on nested values is its deepest recursion.
        let limits = ScriptLimits {
            max_array_size: 1_000,
            max_map_size: 1_000,
            ..ScriptLimits::default()
        };
        let source = "let a = []; for i in 0..990 { a = [#{ x: a }]; } \
                      if a != a { throw \"unequal\" } \
                      loop { a = [#{ x: a }]; }";
        let result = std::thread::Builder::new()
            .stack_size(SCRIPT_THREAD_STACK_SIZE)
            .spawn(move || {
                let engine = ScriptEngine::new(limits);
                let script = engine.compile_script(source)?;
                engine.run(&script, &Map::new())
            })
            .unwrap()
            .join()
            .unwrap();
        let err = result.unwrap_err();
        assert!(
            matches!(err, ScriptError::LimitExceeded { limit: 1_000, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn sleep_is_refused_not_run() {
        for source in [
            "sleep(1000); 1",
            "sleep(1e300); 1",
            "if true { sleep(5) } 2",
        ] {
            let err = run(source, json!({})).unwrap_err();
            assert!(
                err.to_string().contains("`sleep` is not available"),
                "{source}: {err}"
            );
        }
    }

    #[test]
    fn eval_is_rejected() {
        let err = compile_error("eval(\"1\")");
        assert!(
            matches!(&err, ScriptError::Compile { message, line: 1, column: 1 } if message.contains("eval")),
            "{err:?}"
        );
    }

    #[test]
    fn import_is_rejected_at_compile_time() {
        let err = compile_error("import \"x\" as x;\nx::f()");
        assert!(
            matches!(&err, ScriptError::Compile { message, line: 1, .. } if message.contains("import")),
            "{err:?}"
        );
    }

    #[test]
    fn timestamp_is_unavailable() {
        let err = run("timestamp()", json!({})).unwrap_err();
        assert!(
            matches!(&err, ScriptError::Runtime { message, line: 1, column: 1 } if message.contains("timestamp")),
            "{err:?}"
        );
    }

    #[test]
    fn infinite_loop_stops_quickly() {
        let start = Instant::now();
        let err = run("loop {}", json!({})).unwrap_err();
        assert_eq!(
            err,
            ScriptError::LimitExceeded {
                which: "operations",
                limit: 1_000_000
            }
        );
        assert_eq!(
            err.to_string(),
            "the script exceeded the limit of 1000000 operations"
        );
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        let limited = ScriptEngine::new(ScriptLimits {
            max_operations: 1_000,
            ..ScriptLimits::default()
        });
        let script = limited
            .compile_script("let i = 0; while true { i += 1 }")
            .unwrap();
        let err = limited.run(&script, &Map::new()).unwrap_err();
        assert!(matches!(
            err,
            ScriptError::LimitExceeded {
                which: "operations",
                limit: 1_000
            }
        ));
    }

    #[test]
    fn string_growth_stops() {
        let err = run("let s = \"x\"; loop { s += s; }", json!({})).unwrap_err();
        assert_eq!(
            err,
            ScriptError::LimitExceeded {
                which: "bytes in a string",
                limit: 1 << 20
            }
        );
        let err = run("let a = []; loop { a.push(1); }", json!({})).unwrap_err();
        assert!(
            matches!(
                err,
                ScriptError::LimitExceeded {
                    which: "items in an array",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = run(
            "let m = #{}; let i = 0; loop { let n = #{}; n[`k${i}`] = i; m += n; i += 1; }",
            json!({}),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ScriptError::LimitExceeded {
                    which: "properties in an object map",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn deep_recursion_stops_without_overflow() {
        let source = "fn down(n) { down(n + 1) } down(0)";
        // On a thread with the standard 2 MiB stack.
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || run(source, json!({})))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            result.unwrap_err(),
            ScriptError::LimitExceeded {
                which: "levels of nested function calls",
                limit: 32
            }
        );
    }

    #[test]
    fn deeply_nested_source_is_rejected() {
        let nested = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = compile_error(&nested);
        assert!(
            matches!(
                err,
                ScriptError::LimitExceeded { .. } | ScriptError::Compile { .. }
            ),
            "{err:?}"
        );
        let long_sum = vec!["1"; 20_000].join(" + ");
        // Long flat chains either compile or are rejected; they must not overflow.
        let _ = ScriptEngine::default().compile_script(&long_sum);
        let chain = format!("x{}", ".a".repeat(20_000));
        let _ = ScriptEngine::default().compile_script(&chain);
    }

    #[test]
    fn variable_limit_applies() {
        let engine = ScriptEngine::new(ScriptLimits {
            max_variables: 3,
            ..ScriptLimits::default()
        });
        let script = engine
            .compile_script("let a = 1; let b = 2; let c = 3; let d = 4;")
            .unwrap();
        let err = engine.run(&script, &Map::new()).unwrap_err();
        assert_eq!(
            err,
            ScriptError::LimitExceeded {
                which: "variables",
                limit: 3
            }
        );
    }

    #[test]
    fn throw_is_a_runtime_error_with_the_text() {
        let err = run("if x > 1 {\n  throw \"too big: \" + x;\n}", json!({"x": 5})).unwrap_err();
        assert_eq!(
            err,
            ScriptError::Runtime {
                message: "too big: 5".to_owned(),
                line: 2,
                column: 3
            }
        );
        assert_eq!(err.to_string(), "too big: 5 at line 2, column 3");
        let err = run("fn f() { throw 42 } f()", json!({})).unwrap_err();
        assert!(
            matches!(&err, ScriptError::Runtime { message, .. } if message == "42"),
            "{err:?}"
        );
    }

    #[test]
    fn runtime_errors_carry_positions() {
        let err = run("let a = 1;\na + missing", json!({})).unwrap_err();
        assert!(
            matches!(&err, ScriptError::Runtime { message, line: 2, column: 5 } if message.contains("missing")),
            "{err:?}"
        );
        let err = run("n + 1", json!({"n": i64::MAX})).unwrap_err();
        assert!(
            matches!(err, ScriptError::Runtime { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn compile_errors_carry_line_and_column() {
        let err = compile_error("let a = 1;\nlet b = (a + ;");
        let ScriptError::Compile { line, column, .. } = &err else {
            panic!("expected a compile error, got {err:?}");
        };
        assert_eq!((*line, *column), (2, 14), "{err}");
        assert!(err.to_string().ends_with("at line 2, column 14"), "{err}");
        let err = compile_error("foo(1, 2");
        assert!(
            matches!(&err, ScriptError::Compile { message, line: 1, .. } if message.starts_with("expected `)`")),
            "{err:?}"
        );
    }

    #[test]
    fn conditions() {
        let engine = ScriptEngine::default();
        let cond = engine
            .compile_expression("amount > 1000 && approved")
            .unwrap();
        assert!(cond.is_expression());
        assert!(
            engine
                .eval_condition(&cond, &vars(json!({"amount": 5000, "approved": true})))
                .unwrap()
        );
        assert!(
            !engine
                .eval_condition(&cond, &vars(json!({"amount": 5, "approved": true})))
                .unwrap()
        );
        let number = engine.compile_expression("amount + 1").unwrap();
        let err = engine
            .eval_condition(&number, &vars(json!({"amount": 2})))
            .unwrap_err();
        assert_eq!(
            err,
            ScriptError::NotBoolean {
                found: "integer 3".to_owned()
            }
        );
        assert_eq!(err.to_string(), "expected a boolean, found integer 3");
        for statement in ["x = 1", "let y = 1; y", "a; b"] {
            assert!(
                matches!(
                    engine.compile_expression(statement),
                    Err(ScriptError::Compile { .. })
                ),
                "{statement}"
            );
        }
        // A script may serve as a condition too.
        let script = engine
            .compile_script("let limit = 10; amount < limit")
            .unwrap();
        assert!(
            engine
                .eval_condition(&script, &vars(json!({"amount": 2})))
                .unwrap()
        );
    }

    #[test]
    fn print_and_debug_go_to_the_log() {
        let outcome = run("print(\"hello\"); debug(n); n", json!({"n": 3})).unwrap();
        assert_eq!(
            outcome.log,
            vec!["hello".to_owned(), "[debug 1:17] 3".to_owned()]
        );
        let engine = ScriptEngine::new(ScriptLimits {
            max_log_bytes: 10,
            ..ScriptLimits::default()
        });
        let script = engine
            .compile_script("for i in 0..100 { print(\"abcd\") }")
            .unwrap();
        let outcome = engine.run(&script, &Map::new()).unwrap();
        assert_eq!(outcome.log, ["abcd", "abcd", "… (log truncated)"]);
        // Nothing leaks into the next run.
        assert!(
            engine
                .run(&engine.compile_script("1").unwrap(), &Map::new())
                .unwrap()
                .log
                .is_empty()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_source_never_panics(source in "\\PC{0,80}") {
            let engine = ScriptEngine::new(ScriptLimits { max_operations: 10_000, ..ScriptLimits::default() });
            let variables = vars(json!({"a": 1, "b": [1, 2], "c": {"d": "e"}}));
            if let Ok(script) = engine.compile_script(&source) {
                let _ = engine.run(&script, &variables);
            }
            if let Ok(cond) = engine.compile_expression(&source) {
                let _ = engine.eval_condition(&cond, &variables);
            }
        }

        #[test]
        fn rhai_like_source_never_panics(
            tokens in proptest::collection::vec(
                prop_oneof![
                    Just("a"), Just("b"), Just("c"), Just("x"), Just("="), Just("+="), Just("+"),
                    Just("*"), Just("("), Just(")"), Just("["), Just("]"), Just("{"), Just("}"),
                    Just(";"), Just("."), Just(","), Just("let"), Just("if"), Just("else"),
                    Just("loop"), Just("while"), Just("fn"), Just("1"), Just("\"s\""), Just("push"),
                    Just("|"), Just("#{"), Just(":"), Just("return"), Just("break"), Just("throw"),
                ],
                0..40,
            )
        ) {
            let source = tokens.join(" ");
            let engine = ScriptEngine::new(ScriptLimits { max_operations: 10_000, ..ScriptLimits::default() });
            let variables = vars(json!({"a": 1, "b": [1, 2], "c": {"d": "e"}}));
            if let Ok(script) = engine.compile_script(&source) {
                let _ = engine.run(&script, &variables);
            }
        }
    }

    /// The direct computation of simple scripts gives what the interpreter gives,
    /// overflow errors, other types and missing variables included.
    #[test]
    fn fast_path_agrees_with_the_interpreter() {
        let engine = ScriptEngine::default();
        let sources = [
            "x += 7;",
            "x -= 7;",
            "x = x + 7",
            "x = x - 7;",
            "x += 0",
            "x < 7",
            "x <= 7",
            "x > 7",
            "x >= 7",
            "x == 7",
            "x != 7",
            "x += -9223372036854775807",
        ];
        let values = [
            json!(0),
            json!(6),
            json!(7),
            json!(8),
            json!(-7),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(i64::MAX - 3),
            json!(u64::MAX),
            json!(7.0),
            json!(7.5),
            json!("7"),
            json!(null),
            json!([7]),
        ];
        for source in sources {
            let script = engine.compile_script(source).unwrap();
            assert!(
                script.inner.fast.is_some(),
                "`{source}` takes the fast path"
            );
            for v in &values {
                let vars = vars(json!({ "x": v }));
                let fast = engine.run(&script, &vars);
                let slow = engine.run_interpreted(&script, &vars);
                assert_eq!(fast, slow, "`{source}` with x = {v}");
            }
            let empty = Map::new();
            assert_eq!(
                engine.run(&script, &empty),
                engine.run_interpreted(&script, &empty),
                "`{source}` without x"
            );
        }
        for source in ["x < 7", "x != -3", "x >= 9223372036854775807"] {
            let cond = engine.compile_expression(source).unwrap();
            assert!(cond.inner.fast.is_some());
            for v in &values {
                let vars = vars(json!({ "x": v }));
                let slow = SCOPE.with(|cell| {
                    engine.condition_in(&cond.inner, &|n| vars.get(n), &mut cell.borrow_mut())
                });
                assert_eq!(
                    engine.eval_condition(&cond, &vars),
                    slow,
                    "`{source}` with x = {v}"
                );
            }
        }
        for source in [
            "x += y;",
            "x += 1; y += 1",
            "x.a += 1",
            "let x = 1; x += 1",
            "x < y",
            "7 < x",
        ] {
            let script = engine.compile_script(source).unwrap();
            assert!(script.inner.fast.is_none(), "`{source}` is interpreted");
        }
    }

    proptest! {
        #[test]
        fn fast_path_agrees_on_any_integers(x in any::<i64>(), n in any::<i64>()) {
            let engine = ScriptEngine::default();
            let vars = vars(json!({ "x": x }));
            for source in [format!("x += {n}"), format!("x = x - {n};"), format!("x < {n}"), format!("x == {n}")] {
                let Ok(script) = engine.compile_script(&source) else { continue };
                prop_assert_eq!(engine.run(&script, &vars), engine.run_interpreted(&script, &vars));
            }
        }
    }

    /// `cargo test -p engine --release script -- --ignored --nocapture`
    #[test]
    #[ignore = "micro-benchmark; run in release"]
    fn bench_counter_increment() {
        let engine = ScriptEngine::default();
        let script = engine.compile_script("counter = counter + 1").unwrap();
        let mut input = Map::new();
        for i in 0..9 {
            input.insert(format!("var{i}"), json!(format!("value {i}")));
        }
        input.insert("counter".to_owned(), json!(0));
        let runs = 1_000_000_u32;
        let start = Instant::now();
        for _ in 0..runs {
            let outcome = engine.run(&script, &input).unwrap();
            std::hint::black_box(outcome);
        }
        let elapsed = start.elapsed();
        println!(
            "script run: {} ns/run",
            elapsed.as_nanos() / u128::from(runs)
        );
        let cond = engine
            .compile_expression("counter > 10 && var1 == \"value 1\"")
            .unwrap();
        let start = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(engine.eval_condition(&cond, &input).unwrap());
        }
        let elapsed = start.elapsed();
        println!(
            "condition: {} ns/eval",
            elapsed.as_nanos() / u128::from(runs)
        );
    }
}
