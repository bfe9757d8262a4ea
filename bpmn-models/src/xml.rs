//! Verbatim XML for what the typed model does not interpret.
//!
//! Extension elements (Camunda, Zeebe, or any vendor's), attributes from
//! foreign namespaces, and the few BPMN 2.0 elements the typed model keeps
//! uninterpreted (see [`crate::names::UNMODELED`]) are stored as [`XmlElement`]
//! trees and written back unchanged on export. Comments and processing
//! instructions are not kept.

use crate::span::Span;

/// An XML attribute outside the typed model, with its namespace URI.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlAttribute {
    /// Namespace URI; `None` for an unqualified attribute.
    pub namespace: Option<String>,
    /// The prefix the source used; a hint for export, not part of equality.
    pub prefix: PrefixHint,
    pub name: String,
    pub value: String,
}

/// An element kept verbatim: namespace, prefix, attributes, children and text.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlElement {
    pub namespace: Option<String>,
    pub prefix: PrefixHint,
    pub name: String,
    pub attributes: Vec<XmlAttribute>,
    pub children: Vec<XmlNode>,
    pub span: Span,
}

/// Content of an [`XmlElement`]: child elements and text, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum XmlNode {
    Element(XmlElement),
    /// Character data (CDATA sections are folded into text).
    Text(String),
}

/// The namespace prefix an element or attribute had in its source file.
///
/// Export reuses it when it is free, so that vendor extensions keep their
/// familiar prefixes; a prefix is syntax, so it always compares equal.
#[derive(Debug, Clone, Default)]
pub struct PrefixHint(pub Option<String>);

impl PartialEq for PrefixHint {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl XmlElement {
    /// Child elements, skipping text.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|c| match c {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }

    /// Child elements with the given namespace and local name.
    pub fn elements_named<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a XmlElement> + 'a {
        self.elements()
            .filter(move |e| e.name == name && e.namespace.as_deref() == Some(namespace))
    }

    /// The value of an unqualified attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// All text content of this element (not of its descendants), concatenated.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let XmlNode::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }

    /// Is this element `name` in `namespace`?
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(namespace)
    }
}
