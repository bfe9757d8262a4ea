//! The orchid-bpmn process engine: compile BPMN models into immutable
//! executable processes, run instances as a deterministic token state
//! machine, and keep them in a store. See `docs/ARCHITECTURE.md`.

pub mod builder;
pub mod compile;
pub mod core;
pub mod expr;
pub mod handle;
pub mod js;
pub mod juel;
pub mod runtime;
pub mod scenario;
pub mod schedule;
pub mod script;
pub mod store;

pub use handle::EngineHandle;
pub use runtime::{
    Clock, Engine, EngineError, EngineOptions, JobInfo, SystemClock, TaskHandler, TaskResult,
    VirtualClock,
};
