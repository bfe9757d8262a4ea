//! DMN 1.5 decisions and the FEEL language (OMG DMN 1.5).
//!
//! * [`feel`]: FEEL parser and evaluator (chapter 10), [`feel::Expression`]
//!   for embedding single expressions.
//! * [`model`]: DMN XML import (1.1–1.5 namespaces) into a typed model.
//! * [`drg`]: compiled decision requirements graphs, [`DmnModel`] is the
//!   embedding entry point (compile once, evaluate many).
//! * [`decision_table`]: hit policies and rule matching.
//! * [`dialect`]: where Camunda's DMN differs from the standard, and how a
//!   file says it speaks Camunda's.
//! * [`value`], [`number`], [`temporal`]: the FEEL semantic domain.
//! * [`tck`]: runner for DMN TCK test files (strings in, results out).
//!
//! The crate does no I/O: models come in as `&str`, results go out as values.

pub mod decision_table;
pub mod dialect;
pub mod drg;
pub mod feel;
pub mod model;
pub mod number;
pub mod tck;
pub mod temporal;
pub mod value;

pub use dialect::Dialect;
pub use drg::{DmnModel, EvaluateError, Evaluation, Inputs};
pub use number::Number;
pub use value::{Context, Type, Value};
