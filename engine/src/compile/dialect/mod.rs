//! The dialect layer: the one place that knows Camunda 7 and Camunda 8.
//!
//! A file's platform is decided once ([`Dialect::of`]): Camunda Modeler's
//! `modeler:executionPlatform` when it names one, otherwise the extension
//! namespace the file uses (the Activiti namespace counts as Camunda 7's,
//! as Camunda 7 reads it). Each dialect then reads the extensions of every
//! element into the neutral specs of [`super::ir`] through [`Rules`]
//! (`c7.rs`, `c8.rs`), and decides the behaviour where the platforms differ
//! from each other or from BPMN as [`Semantics`] flags the core consults.
//! The rest of the compiler and the whole core know no extension
//! namespace. The table of differences is `docs/dialects.md`.

use bpmn_models::{Definitions, EventDefinition, FlowNode, Message, MultiInstance};

use super::Compiler;
use super::ir::{CallSpec, CatchVariables, DecisionSpec, ElementKind, Mapping, MappingSource};
use crate::expr::Expr;

mod c7;
mod c8;

/// The platform a file was drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Camunda 7 (Camunda Platform 7), `http://camunda.org/schema/1.0/bpmn`
    /// or the Activiti namespace.
    Camunda7,
    /// Camunda 8 (Zeebe), `http://camunda.org/schema/zeebe/1.0`.
    Camunda8,
    /// Both extension namespaces in use and no `executionPlatform` to
    /// decide: Camunda 8 rules, with Camunda 7 extensions read where an
    /// element has no Camunda 8 one.
    Mixed,
    /// No Camunda extension at all: BPMN 2.0.2 as written.
    Standard,
}

/// Behaviour that differs between the dialects, as the core needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semantics {
    /// An `errorRef` that names no `<error>` is the error code itself
    /// (Camunda 7, and plain BPMN, which Camunda 7 runs); a Camunda 8 file
    /// is refused.
    pub dangling_error_ref_is_code: bool,
    /// A BPMN error nothing catches ends the token that threw it like a
    /// none end event (Camunda 7's default,
    /// `enableExceptionsAfterUnhandledBpmnError=false`) instead of raising
    /// an incident (Camunda 8).
    pub uncaught_error_ends_token: bool,
    /// A message throw or end event with no implementation and no message
    /// is a none event (Camunda 7); elsewhere it is refused (ENG017).
    pub empty_message_throw_is_none: bool,
    /// The compensation handlers of one scope start together, newest
    /// completion first (Camunda 7), instead of one after the other.
    pub concurrent_compensation: bool,
    /// Messages are correlated as Camunda 7's API does: to exactly one
    /// waiting execution or start event, refusing ambiguity, unless to all
    /// ([`crate::Engine::correlate_message`]); otherwise they are published
    /// as Camunda 8 does (one subscription per process,
    /// [`crate::Engine::publish_message`]). Scenarios of the process use it.
    pub correlate_one: bool,
    /// `loopCounter` of the first inner instance of a multi-instance
    /// activity: 1 in Camunda 8, 0 in Camunda 7.
    pub loop_counter_base: i64,
}

impl Dialect {
    /// The dialect of a file.
    pub fn of(defs: &Definitions) -> Dialect {
        use bpmn_models::ext::{self, Dialect as D};
        match ext::dialect(defs) {
            D::Camunda7 => Dialect::Camunda7,
            D::Camunda8 => Dialect::Camunda8,
            D::Unknown if ext::uses_extension_namespaces(defs) => Dialect::Mixed,
            D::Unknown => Dialect::Standard,
        }
    }

    pub fn semantics(self) -> Semantics {
        match self {
            Dialect::Camunda7 => Semantics {
                dangling_error_ref_is_code: true,
                uncaught_error_ends_token: true,
                empty_message_throw_is_none: true,
                concurrent_compensation: true,
                correlate_one: true,
                loop_counter_base: 0,
            },
            Dialect::Camunda8 | Dialect::Mixed => Semantics {
                dangling_error_ref_is_code: false,
                uncaught_error_ends_token: false,
                empty_message_throw_is_none: false,
                concurrent_compensation: false,
                correlate_one: false,
                loop_counter_base: 1,
            },
            Dialect::Standard => Semantics {
                dangling_error_ref_is_code: true,
                uncaught_error_ends_token: false,
                empty_message_throw_is_none: false,
                concurrent_compensation: false,
                correlate_one: false,
                loop_counter_base: 0,
            },
        }
    }

    /// The extension rules of this dialect.
    pub(super) fn rules(self) -> &'static dyn Rules {
        match self {
            Dialect::Camunda7 => &c7::Camunda7,
            Dialect::Camunda8 => &c8::Camunda8,
            Dialect::Mixed => &Mixed,
            Dialect::Standard => &Standard,
        }
    }
}

/// What a script task runs, as its dialect says.
#[derive(Debug, Default)]
pub(super) struct ScriptExt {
    /// An expression that replaces the BPMN script (Camunda 8 `zeebe:script`).
    pub expression: Option<String>,
    pub result_variable: Option<String>,
}

/// A multi-instance activity's extension settings.
#[derive(Debug, Default)]
pub(super) struct MultiInstanceExt {
    /// The input collection: an expression, or a variable name.
    pub collection: Option<Expr>,
    pub element_variable: Option<String>,
    pub output_collection: Option<String>,
    pub output_element: Option<Expr>,
}

/// Input and output mappings from an element's extensions.
#[derive(Debug, Default)]
pub(super) struct IoExt {
    pub inputs: Vec<Mapping>,
    /// `None`: no output mapping.
    pub outputs: Option<Vec<Mapping>>,
    /// With output mappings, only they leave the element's scope
    /// (Camunda 8 `zeebe:ioMapping`).
    pub outputs_only: bool,
}

impl IoExt {
    /// Mappings from (target, source) pairs; a source that did not
    /// compile (its problem is reported) is left out.
    fn mappings(pairs: impl Iterator<Item = (String, Option<MappingSource>)>) -> Vec<Mapping> {
        pairs
            .filter_map(|(target, source)| source.map(|source| Mapping { target, source }))
            .collect()
    }
}

/// How one dialect reads an element's extensions. `Err(())` means a
/// problem was reported to the compiler; `Ok(None)` that the element has
/// nothing of the kind.
pub(super) trait Rules: Sync {
    /// How long an ended instance of the process stays in history (ms), if
    /// the process says. Only Camunda 7 has a process attribute for it
    /// (Camunda 8 configures retention in Operate).
    fn history_ttl(&self, _process: &bpmn_models::Base) -> Option<i64> {
        None
    }
    /// The job (or expression) that implements a service, send or business
    /// rule task, or a throwing message event (`definition` is its event
    /// definition, where Camunda 7 may put the implementation).
    fn implementation(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        definition: Option<&EventDefinition>,
    ) -> Result<Option<ElementKind>, ()>;
    /// A script task's extension settings.
    fn script(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<ScriptExt, ()>;
    /// The DMN decision of a business rule task, when it calls one.
    fn decision(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<DecisionSpec>, ()>;
    /// A call activity's target and variable passing (`called_element` is
    /// the BPMN attribute).
    fn call(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        called_element: Option<&str>,
    ) -> Result<CallSpec, ()>;
    /// Input and output mappings.
    fn io(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<IoExt, ()>;
    /// A multi-instance activity's collection and element variables.
    fn multi_instance(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        mi: &MultiInstance,
    ) -> Result<MultiInstanceExt, ()>;
    /// A message's correlation key expression.
    fn message_key(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        m: &Message,
    ) -> Result<Option<Expr>, ()>;
    /// Variables an error or escalation catch event sets from what it caught.
    fn catch_variables(&self, n: &FlowNode) -> Option<Box<CatchVariables>>;
    /// The message an `<error>` carries when thrown (Camunda 7
    /// `camunda:errorMessage`, literal or `${…}`).
    fn error_message(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        error: &bpmn_models::ErrorDef,
    ) -> Result<Option<MappingSource>, ()>;
    /// The expression picking the activities an ad-hoc sub-process enables.
    fn ad_hoc_active(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<Expr>, ()>;
}

/// A file without Camunda extensions: nothing to read.
struct Standard;

impl Rules for Standard {
    fn implementation(
        &self,
        _: &mut Compiler<'_>,
        _: &FlowNode,
        _: Option<&EventDefinition>,
    ) -> Result<Option<ElementKind>, ()> {
        Ok(None)
    }
    fn script(&self, _: &mut Compiler<'_>, _: &FlowNode) -> Result<ScriptExt, ()> {
        Ok(ScriptExt::default())
    }
    fn decision(&self, _: &mut Compiler<'_>, _: &FlowNode) -> Result<Option<DecisionSpec>, ()> {
        Ok(None)
    }
    fn call(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        called_element: Option<&str>,
    ) -> Result<CallSpec, ()> {
        // BPMN says nothing of variables crossing a call: everything does,
        // both ways.
        let process = c.called_process(n, called_element)?;
        Ok(CallSpec::passing_all(process))
    }
    fn io(&self, _: &mut Compiler<'_>, _: &FlowNode) -> Result<IoExt, ()> {
        Ok(IoExt::default())
    }
    fn multi_instance(
        &self,
        _: &mut Compiler<'_>,
        _: &FlowNode,
        _: &MultiInstance,
    ) -> Result<MultiInstanceExt, ()> {
        Ok(MultiInstanceExt::default())
    }
    fn message_key(
        &self,
        _: &mut Compiler<'_>,
        _: &FlowNode,
        _: &Message,
    ) -> Result<Option<Expr>, ()> {
        Ok(None)
    }
    fn catch_variables(&self, _: &FlowNode) -> Option<Box<CatchVariables>> {
        None
    }
    fn error_message(
        &self,
        _: &mut Compiler<'_>,
        _: &FlowNode,
        _: &bpmn_models::ErrorDef,
    ) -> Result<Option<MappingSource>, ()> {
        Ok(None)
    }
    fn ad_hoc_active(&self, _: &mut Compiler<'_>, _: &FlowNode) -> Result<Option<Expr>, ()> {
        Ok(None)
    }
}

/// Both namespaces: Camunda 8's reading first, Camunda 7's where it finds
/// nothing.
struct Mixed;

impl Rules for Mixed {
    fn implementation(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        definition: Option<&EventDefinition>,
    ) -> Result<Option<ElementKind>, ()> {
        match c8::Camunda8.implementation(c, n, definition)? {
            Some(k) => Ok(Some(k)),
            None => c7::Camunda7.implementation(c, n, definition),
        }
    }
    fn script(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<ScriptExt, ()> {
        let z = c8::Camunda8.script(c, n)?;
        let c7 = c7::Camunda7.script(c, n)?;
        Ok(ScriptExt {
            expression: z.expression,
            result_variable: z.result_variable.or(c7.result_variable),
        })
    }
    fn decision(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<DecisionSpec>, ()> {
        match c8::Camunda8.decision(c, n)? {
            Some(d) => Ok(Some(d)),
            None => c7::Camunda7.decision(c, n),
        }
    }
    fn call(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        called_element: Option<&str>,
    ) -> Result<CallSpec, ()> {
        if c7::uses_call_extensions(n) {
            c7::Camunda7.call(c, n, called_element)
        } else {
            c8::Camunda8.call(c, n, called_element)
        }
    }
    fn io(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<IoExt, ()> {
        let mut z = c8::Camunda8.io(c, n)?;
        let c7 = c7::Camunda7.io(c, n)?;
        z.inputs.extend(c7.inputs);
        if c7.outputs.is_some() {
            z.outputs = c7.outputs;
            z.outputs_only = false;
        }
        Ok(z)
    }
    fn multi_instance(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        mi: &MultiInstance,
    ) -> Result<MultiInstanceExt, ()> {
        let z = c8::Camunda8.multi_instance(c, n, mi)?;
        if z.collection.is_some() {
            return Ok(z);
        }
        c7::Camunda7.multi_instance(c, n, mi)
    }
    fn message_key(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        m: &Message,
    ) -> Result<Option<Expr>, ()> {
        c8::Camunda8.message_key(c, n, m)
    }
    fn catch_variables(&self, n: &FlowNode) -> Option<Box<CatchVariables>> {
        c7::Camunda7.catch_variables(n)
    }
    fn error_message(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        error: &bpmn_models::ErrorDef,
    ) -> Result<Option<MappingSource>, ()> {
        c7::Camunda7.error_message(c, n, error)
    }
    fn ad_hoc_active(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<Expr>, ()> {
        c8::Camunda8.ad_hoc_active(c, n)
    }
}
