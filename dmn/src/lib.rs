//! DMN 1.5 decisions and the FEEL language (OMG DMN 1.5, formal/24-01-01).
//!
//! * [`feel`]: FEEL parser and evaluator (chapter 10).
//! * [`value`], [`number`], [`temporal`]: the FEEL semantic domain.
//!
//! The crate does no I/O: models come in as `&str`, results go out as values.

pub mod feel;
pub mod number;
pub mod temporal;
pub mod value;

pub use number::Number;
pub use value::{Context, Type, Value};
