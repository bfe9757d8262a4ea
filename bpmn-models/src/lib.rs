//! BPMN 2.0 models: XML import and export, a typed semantic model, typed views
//! of the Camunda 7 and Camunda 8 extensions, and validation.
//!
//! This crate knows nothing of the engine, storage, async runtimes or the
//! filesystem: it takes text and returns values.
//!
//! ```
//! let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
//!     id="d" targetNamespace="t">
//!   <process id="P" isExecutable="true">
//!     <startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/>
//!   </process>
//! </definitions>"#;
//! let defs = bpmn_models::parse(xml).unwrap();
//! assert_eq!(defs.processes().count(), 1);
//! let again = bpmn_models::parse(&bpmn_models::write(&defs)).unwrap();
//! assert_eq!(defs, again);
//! ```

pub mod calendar;
pub mod ext;
pub mod lang;
pub mod model;
pub mod names;
pub mod parse;
pub mod span;
pub mod synth;
pub mod timer;
pub mod validate;
pub mod write;
pub mod xml;

pub use model::*;
pub use parse::{ParseError, ParseOptions, decode, parse, parse_with};
pub use span::Span;
pub use validate::{Diagnostic, Severity, ValidationContext, validate, validate_with};
pub use write::write;

impl Definitions {
    /// The processes of this file, in document order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.root_elements.iter().filter_map(|r| match r {
            RootElement::Process(p) => Some(p),
            _ => None,
        })
    }

    /// The collaborations of this file, in document order.
    pub fn collaborations(&self) -> impl Iterator<Item = &Collaboration> {
        self.root_elements.iter().filter_map(|r| match r {
            RootElement::Collaboration(c) => Some(c),
            _ => None,
        })
    }

    /// A root element by id, or by a QName reference to it (`tns:invoice`:
    /// references in BPMN are QNames, and a prefix names the file's own
    /// namespace; validation resolves them the same way).
    pub fn root_element(&self, id: &str) -> Option<&RootElement> {
        let find = |id: &str| self.root_elements.iter().find(|r| r.id() == Some(id));
        find(id).or_else(|| id.split_once(':').and_then(|(_, local)| find(local)))
    }
}
