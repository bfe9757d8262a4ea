//! BPMN 2.0 XML export: the inverse of [`crate::parse()`].
//!
//! Output uses the standard prefixes (`bpmn`, `bpmndi`, `dc`, `di`, `camunda`,
//! `zeebe`, `modeler`, …), keeps every id and the order of elements, writes
//! children in the order of the BPMN XSD sequences, and writes verbatim
//! extensions back with their namespaces. The root element re-declares the
//! source file's namespace declarations so that QName values (`xsd:string`,
//! `tns:Message_1`) keep resolving. Indentation is two spaces; element text
//! (documentation, scripts, expressions) is written exactly, escaped.

use std::fmt::Write as _;

use crate::model::*;
use crate::names::{BPMN, BPMNDI, DC, DI, STANDARD_PREFIXES, XSI};
use crate::xml::{XmlAttribute, XmlElement, XmlNode};

/// Exports a model as BPMN 2.0 XML.
pub fn write(d: &Definitions) -> String {
    let mut w = Writer::new(d);
    w.depth = 1;
    w.definitions_body(d);
    let body = std::mem::take(&mut w.out);
    // The root's own attributes may need namespace prefixes too.
    let mut root = Tag::new("bpmn:definitions");
    root.opt("id", &d.id);
    root.opt("name", &d.name);
    root.attr("targetNamespace", &d.target_namespace);
    root.opt("expressionLanguage", &d.expression_language);
    root.opt("typeLanguage", &d.type_language);
    root.opt("exporter", &d.exporter);
    root.opt("exporterVersion", &d.exporter_version);
    w.ext_attrs(&mut root, &d.base.extensions.attributes);
    let mut out = String::with_capacity(body.len() + 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bpmn:definitions");
    for (prefix, uri) in &w.ns.decls {
        let _ = write!(out, " xmlns:{prefix}=\"");
        escape_attr(&mut out, uri);
        out.push('"');
    }
    for (k, v) in &root.attrs {
        let _ = write!(out, " {k}=\"");
        escape_attr(&mut out, v);
        out.push('"');
    }
    out.push('>');
    out.push_str(&body);
    out.push_str("\n</bpmn:definitions>\n");
    out
}

/// Namespace prefixes chosen for the output document.
struct Namespaces {
    decls: Vec<(String, String)>,
}

impl Namespaces {
    fn standard_prefix(uri: &str) -> Option<&'static str> {
        STANDARD_PREFIXES
            .iter()
            .find(|(_, u)| *u == uri)
            .map(|(p, _)| *p)
    }

    fn standard_uri(prefix: &str) -> Option<&'static str> {
        STANDARD_PREFIXES
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u)
    }

    fn taken(&self, prefix: &str) -> Option<&str> {
        self.decls
            .iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// The prefix to use for `uri`, declaring one if needed.
    fn prefix(&mut self, uri: &str, hint: Option<&str>) -> String {
        if uri == XML_NS {
            return "xml".into();
        }
        if let Some(p) = Self::standard_prefix(uri) {
            match self.taken(p) {
                Some(u) if u == uri => return p.to_string(),
                None => {
                    self.decls.push((p.to_string(), uri.to_string()));
                    return p.to_string();
                }
                Some(_) => {}
            }
        }
        if let Some((p, _)) = self.decls.iter().find(|(_, u)| u == uri) {
            return p.clone();
        }
        if let Some(h) = hint.filter(|h| {
            !h.is_empty()
                && !h.eq_ignore_ascii_case("xml")
                && !h.starts_with("xmlns")
                && self.taken(h).is_none()
                && Self::standard_uri(h).is_none_or(|u| u == uri)
        }) {
            self.decls.push((h.to_string(), uri.to_string()));
            return h.to_string();
        }
        let mut n = 1;
        loop {
            let p = format!("ns{n}");
            if self.taken(&p).is_none() {
                self.decls.push((p.clone(), uri.to_string()));
                return p;
            }
            n += 1;
        }
    }
}

struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn new(name: impl Into<String>) -> Self {
        Tag {
            name: name.into(),
            attrs: Vec::new(),
        }
    }

    fn attr(&mut self, k: &str, v: &str) -> &mut Self {
        self.attrs.push((k.to_string(), v.to_string()));
        self
    }

    fn opt(&mut self, k: &str, v: &Option<String>) -> &mut Self {
        if let Some(v) = v {
            self.attr(k, v);
        }
        self
    }

    fn opt_bool(&mut self, k: &str, v: Option<bool>) -> &mut Self {
        if let Some(v) = v {
            self.attr(k, if v { "true" } else { "false" });
        }
        self
    }

    /// Writes a boolean only when it differs from the BPMN default.
    fn bool_unless(&mut self, k: &str, v: bool, default: bool) -> &mut Self {
        if v != default {
            self.attr(k, if v { "true" } else { "false" });
        }
        self
    }

    fn num<T: std::fmt::Display>(&mut self, k: &str, v: Option<T>) -> &mut Self {
        if let Some(v) = v {
            self.attr(k, &v.to_string());
        }
        self
    }
}

struct Writer {
    out: String,
    depth: usize,
    /// Inside mixed content nothing may add whitespace.
    inline: bool,
    last_was_text: bool,
    ns: Namespaces,
}

impl Writer {
    fn new(d: &Definitions) -> Self {
        let mut decls: Vec<(String, String)> = vec![("bpmn".into(), BPMN.into())];
        for (p, uri) in &d.namespaces.0 {
            let conflicts = Namespaces::standard_uri(p).is_some_and(|u| u != uri);
            if p.is_empty() || conflicts || decls.iter().any(|(q, _)| q == p) {
                continue;
            }
            decls.push((p.clone(), uri.clone()));
        }
        Writer {
            out: String::new(),
            depth: 0,
            inline: false,
            last_was_text: false,
            ns: Namespaces { decls },
        }
    }

    fn newline(&mut self) {
        if !self.inline {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn open(&mut self, tag: &Tag) {
        self.newline();
        self.out.push('<');
        self.out.push_str(&tag.name);
        for (k, v) in &tag.attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_attr(&mut self.out, v);
            self.out.push('"');
        }
    }

    /// Writes an element whose content `body` writes; self-closing when empty.
    fn elem(&mut self, tag: Tag, body: impl FnOnce(&mut Self)) {
        self.open(&tag);
        let mark = self.out.len();
        self.out.push('>');
        self.last_was_text = false;
        self.depth += 1;
        body(self);
        self.depth -= 1;
        if self.out.len() == mark + 1 {
            self.out.truncate(mark);
            self.out.push_str("/>");
        } else {
            if !self.last_was_text {
                self.newline();
            }
            self.out.push_str("</");
            self.out.push_str(&tag.name);
            self.out.push('>');
        }
        self.last_was_text = false;
    }

    fn empty(&mut self, tag: Tag) {
        self.elem(tag, |_| {});
    }

    fn text(&mut self, text: &str) {
        if !text.is_empty() {
            escape_text(&mut self.out, text);
            self.last_was_text = true;
        }
    }

    /// `<bpmn:name>text</bpmn:name>`
    fn text_elem(&mut self, name: &str, text: &str) {
        self.elem(Tag::new(bpmn(name)), |w| w.text(text));
    }

    fn ext_attrs(&mut self, tag: &mut Tag, attrs: &[XmlAttribute]) {
        for a in attrs {
            let name = match &a.namespace {
                Some(uri) => format!("{}:{}", self.ns.prefix(uri, a.prefix.0.as_deref()), a.name),
                None => a.name.clone(),
            };
            tag.attrs.push((name, a.value.clone()));
        }
    }

    fn verbatim(&mut self, e: &XmlElement) {
        let name = match &e.namespace {
            Some(uri) => format!("{}:{}", self.ns.prefix(uri, e.prefix.0.as_deref()), e.name),
            None => e.name.clone(),
        };
        let mut tag = Tag::new(name);
        self.ext_attrs(&mut tag, &e.attributes);
        let mixed = e
            .children
            .iter()
            .any(|c| matches!(c, XmlNode::Text(t) if !t.trim().is_empty()))
            && e.children.iter().any(|c| matches!(c, XmlNode::Element(_)));
        self.elem(tag, |w| {
            let was_inline = w.inline;
            w.inline |= mixed;
            for c in &e.children {
                match c {
                    XmlNode::Element(x) => w.verbatim(x),
                    XmlNode::Text(t) => w.text(t),
                }
            }
            w.inline = was_inline;
        });
    }

    /// A BPMN element tag with its id.
    fn tag(&mut self, name: &str, id: Option<&str>) -> Tag {
        let mut t = Tag::new(bpmn(name));
        if let Some(id) = id {
            t.attr("id", id);
        }
        t
    }

    /// A BPMN element tag with its id, unless the id was generated on import.
    fn id_tag(&mut self, name: &str, id: &str, base: &Base) -> Tag {
        self.tag(name, (!base.generated_id).then_some(id))
    }

    /// Writes the extension attributes of `base` onto `t` (call last, so that
    /// typed attributes come first) and then the element with `body`, after
    /// documentation, extension elements and unmodeled children.
    fn base_elem(&mut self, mut t: Tag, base: &Base, body: impl FnOnce(&mut Self)) {
        self.ext_attrs(&mut t, &base.extensions.attributes);
        self.elem(t, |w| {
            w.base_children(base);
            body(w);
        });
    }

    fn base_children(&mut self, base: &Base) {
        for d in &base.documentation {
            let mut t = Tag::new(bpmn("documentation"));
            t.opt("id", &d.id).opt("textFormat", &d.text_format);
            self.elem(t, |w| w.text(&d.text));
        }
        if !base.extensions.elements.is_empty() {
            self.elem(Tag::new(bpmn("extensionElements")), |w| {
                for e in &base.extensions.elements {
                    w.verbatim(e);
                }
            });
        }
        for e in &base.unmodeled {
            self.verbatim(e);
        }
    }

    fn expression(&mut self, name: &str, e: &Expression) {
        let mut t = Tag::new(bpmn(name));
        t.opt("id", &e.id);
        if e.formal && name != "formalExpression" {
            let xsi = self.ns.prefix(XSI, Some("xsi"));
            let b = self.ns.prefix(BPMN, Some("bpmn"));
            t.attr(&format!("{xsi}:type"), &format!("{b}:tFormalExpression"));
        }
        t.opt("language", &e.language);
        t.opt("evaluatesToTypeRef", &e.evaluates_to_type_ref);
        self.base_elem(t, &e.base, |w| w.text(&e.body));
    }

    // ------------------------------------------------------------ definitions

    fn definitions_body(&mut self, d: &Definitions) {
        self.base_children(&d.base);
        for i in &d.imports {
            let mut t = self.tag("import", None);
            t.attr("namespace", &i.namespace)
                .attr("location", &i.location)
                .attr("importType", &i.import_type);
            self.base_elem(t, &i.base, |_| {});
        }
        for r in &d.root_elements {
            self.root_element(r);
        }
        for dia in &d.diagrams {
            self.diagram(dia);
        }
    }

    fn root_element(&mut self, r: &RootElement) {
        match r {
            RootElement::Process(p) => self.process(p),
            RootElement::Collaboration(c) => self.collaboration(c),
            RootElement::ItemDefinition(x) => {
                let mut t = self.id_tag("itemDefinition", &x.id, &x.base);
                t.opt("structureRef", &x.structure_ref)
                    .opt("import", &x.import_ref)
                    .bool_unless("isCollection", x.is_collection, false)
                    .opt("itemKind", &x.item_kind);
                self.base_elem(t, &x.base, |_| {});
            }
            RootElement::Message(x) => {
                let mut t = self.id_tag("message", &x.id, &x.base);
                t.opt("name", &x.name).opt("itemRef", &x.item_ref);
                self.base_elem(t, &x.base, |_| {});
            }
            RootElement::Signal(x) => {
                let mut t = self.id_tag("signal", &x.id, &x.base);
                t.opt("name", &x.name).opt("structureRef", &x.structure_ref);
                self.base_elem(t, &x.base, |_| {});
            }
            RootElement::Error(x) => {
                let mut t = self.id_tag("error", &x.id, &x.base);
                t.opt("name", &x.name)
                    .opt("errorCode", &x.error_code)
                    .opt("structureRef", &x.structure_ref);
                self.base_elem(t, &x.base, |_| {});
            }
            RootElement::Escalation(x) => {
                let mut t = self.id_tag("escalation", &x.id, &x.base);
                t.opt("name", &x.name)
                    .opt("escalationCode", &x.escalation_code)
                    .opt("structureRef", &x.structure_ref);
                self.base_elem(t, &x.base, |_| {});
            }
            RootElement::DataStore(x) => {
                let mut t = self.id_tag("dataStore", &x.id, &x.base);
                t.opt("name", &x.name)
                    .num("capacity", x.capacity)
                    .opt_bool("isUnlimited", x.is_unlimited)
                    .opt("itemSubjectRef", &x.item_subject_ref);
                self.base_elem(t, &x.base, |w| w.data_state(&x.data_state));
            }
            RootElement::Resource(x) => {
                let mut t = self.id_tag("resource", &x.id, &x.base);
                t.opt("name", &x.name);
                self.base_elem(t, &x.base, |w| {
                    for p in &x.parameters {
                        let mut t = Tag::new(bpmn("resourceParameter"));
                        t.opt("id", &p.id)
                            .opt("name", &p.name)
                            .opt("type", &p.type_ref)
                            .opt_bool("isRequired", p.is_required);
                        w.base_elem(t, &p.base, |_| {});
                    }
                });
            }
            RootElement::Interface(x) => {
                let mut t = self.id_tag("interface", &x.id, &x.base);
                t.opt("name", &x.name)
                    .opt("implementationRef", &x.implementation_ref);
                self.base_elem(t, &x.base, |w| {
                    for o in &x.operations {
                        let mut t = w.id_tag("operation", &o.id, &o.base);
                        t.opt("name", &o.name)
                            .opt("implementationRef", &o.implementation_ref);
                        w.base_elem(t, &o.base, |w| {
                            if let Some(m) = &o.in_message_ref {
                                w.text_elem("inMessageRef", m);
                            }
                            if let Some(m) = &o.out_message_ref {
                                w.text_elem("outMessageRef", m);
                            }
                            for e in &o.error_refs {
                                w.text_elem("errorRef", e);
                            }
                        });
                    }
                });
            }
            RootElement::Category(x) => {
                let mut t = self.id_tag("category", &x.id, &x.base);
                t.opt("name", &x.name);
                self.base_elem(t, &x.base, |w| {
                    for v in &x.values {
                        let mut t = w.id_tag("categoryValue", &v.id, &v.base);
                        t.opt("value", &v.value);
                        w.base_elem(t, &v.base, |_| {});
                    }
                });
            }
            RootElement::EventDefinition(e) => self.event_definition(e),
            RootElement::Unmodeled(e) => self.verbatim(e),
        }
    }

    fn data_state(&mut self, s: &Option<DataState>) {
        if let Some(s) = s {
            let mut t = Tag::new(bpmn("dataState"));
            t.opt("id", &s.id).opt("name", &s.name);
            self.base_elem(t, &s.base, |_| {});
        }
    }

    // ------------------------------------------------------------ process

    fn process(&mut self, p: &Process) {
        let mut t = self.id_tag("process", &p.id, &p.base);
        t.opt("name", &p.name)
            .opt_bool("isExecutable", p.is_executable)
            .opt("processType", &p.process_type)
            .opt_bool("isClosed", p.is_closed)
            .opt(
                "definitionalCollaborationRef",
                &p.definitional_collaboration_ref,
            );
        self.base_elem(t, &p.base, |w| {
            if let Some(io) = &p.io_specification {
                w.io_specification(io);
            }
            for x in &p.properties {
                w.property(x);
            }
            for ls in &p.lane_sets {
                w.lane_set("laneSet", ls);
            }
            for fe in &p.flow_elements {
                w.flow_element(fe);
            }
            for a in &p.artifacts {
                w.artifact(a);
            }
            for r in &p.resource_roles {
                w.resource_role(r);
            }
        });
    }

    fn lane_set(&mut self, name: &str, ls: &LaneSet) {
        let mut t = Tag::new(bpmn(name));
        t.opt("id", &ls.id).opt("name", &ls.name);
        self.base_elem(t, &ls.base, |w| {
            for l in &ls.lanes {
                let mut t = w.id_tag("lane", &l.id, &l.base);
                t.opt("name", &l.name)
                    .opt("partitionElementRef", &l.partition_element_ref);
                w.base_elem(t, &l.base, |w| {
                    for r in &l.flow_node_refs {
                        w.text_elem("flowNodeRef", r);
                    }
                    if let Some(c) = &l.child_lane_set {
                        w.lane_set("childLaneSet", c);
                    }
                });
            }
        });
    }

    fn property(&mut self, p: &Property) {
        let mut t = self.id_tag("property", &p.id, &p.base);
        t.opt("name", &p.name)
            .opt("itemSubjectRef", &p.item_subject_ref);
        self.base_elem(t, &p.base, |w| w.data_state(&p.data_state));
    }

    fn data_io(&mut self, name: &str, d: &DataInput) {
        let mut t = self.id_tag(name, &d.id, &d.base);
        t.opt("name", &d.name)
            .opt("itemSubjectRef", &d.item_subject_ref)
            .bool_unless("isCollection", d.is_collection, false);
        self.base_elem(t, &d.base, |w| w.data_state(&d.data_state));
    }

    fn input_set(&mut self, s: &InputSet) {
        let mut t = Tag::new(bpmn("inputSet"));
        t.opt("id", &s.id).opt("name", &s.name);
        self.base_elem(t, &s.base, |w| {
            for r in &s.data_input_refs {
                w.text_elem("dataInputRefs", r);
            }
            for r in &s.optional_input_refs {
                w.text_elem("optionalInputRefs", r);
            }
            for r in &s.while_executing_input_refs {
                w.text_elem("whileExecutingInputRefs", r);
            }
            for r in &s.output_set_refs {
                w.text_elem("outputSetRefs", r);
            }
        });
    }

    fn output_set(&mut self, s: &OutputSet) {
        let mut t = Tag::new(bpmn("outputSet"));
        t.opt("id", &s.id).opt("name", &s.name);
        self.base_elem(t, &s.base, |w| {
            for r in &s.data_output_refs {
                w.text_elem("dataOutputRefs", r);
            }
            for r in &s.optional_output_refs {
                w.text_elem("optionalOutputRefs", r);
            }
            for r in &s.while_executing_output_refs {
                w.text_elem("whileExecutingOutputRefs", r);
            }
            for r in &s.input_set_refs {
                w.text_elem("inputSetRefs", r);
            }
        });
    }

    fn io_specification(&mut self, io: &IoSpecification) {
        let mut t = Tag::new(bpmn("ioSpecification"));
        t.opt("id", &io.id);
        self.base_elem(t, &io.base, |w| {
            for d in &io.data_inputs {
                w.data_io("dataInput", d);
            }
            for d in &io.data_outputs {
                w.data_io("dataOutput", d);
            }
            for s in &io.input_sets {
                w.input_set(s);
            }
            for s in &io.output_sets {
                w.output_set(s);
            }
        });
    }

    fn data_association(&mut self, name: &str, d: &DataAssociation) {
        let mut t = Tag::new(bpmn(name));
        t.opt("id", &d.id);
        self.base_elem(t, &d.base, |w| {
            for s in &d.source_refs {
                w.text_elem("sourceRef", s);
            }
            if let Some(tr) = &d.target_ref {
                w.text_elem("targetRef", tr);
            }
            if let Some(x) = &d.transformation {
                w.expression("transformation", x);
            }
            for a in &d.assignments {
                let mut t = Tag::new(bpmn("assignment"));
                t.opt("id", &a.id);
                w.base_elem(t, &a.base, |w| {
                    w.expression("from", &a.from);
                    w.expression("to", &a.to);
                });
            }
        });
    }

    fn resource_role(&mut self, r: &ResourceRole) {
        let mut t = Tag::new(bpmn(r.element.element_name()));
        t.opt("id", &r.id).opt("name", &r.name);
        self.base_elem(t, &r.base, |w| {
            if let Some(rr) = &r.resource_ref {
                w.text_elem("resourceRef", rr);
            }
            if let Some(ra) = &r.assignment {
                let mut t = Tag::new(bpmn("resourceAssignmentExpression"));
                t.opt("id", &ra.id);
                w.base_elem(t, &ra.base, |w| {
                    let name = if ra.formal_element {
                        "formalExpression"
                    } else {
                        "expression"
                    };
                    w.expression(name, &ra.expression);
                });
            }
        });
    }

    fn flow_element(&mut self, fe: &FlowElement) {
        match fe {
            FlowElement::SequenceFlow(f) => {
                let mut t = self.id_tag("sequenceFlow", &f.id, &f.base);
                t.opt("name", &f.name)
                    .attr("sourceRef", &f.source_ref)
                    .attr("targetRef", &f.target_ref)
                    .opt_bool("isImmediate", f.is_immediate);
                self.base_elem(t, &f.base, |w| {
                    if let Some(c) = &f.condition_expression {
                        w.expression("conditionExpression", c);
                    }
                });
            }
            FlowElement::FlowNode(n) => self.flow_node(n),
            FlowElement::DataObject(x) => {
                let mut t = self.id_tag("dataObject", &x.id, &x.base);
                t.opt("name", &x.name)
                    .opt("itemSubjectRef", &x.item_subject_ref)
                    .bool_unless("isCollection", x.is_collection, false);
                self.base_elem(t, &x.base, |w| w.data_state(&x.data_state));
            }
            FlowElement::DataObjectReference(x) => {
                let mut t = self.id_tag("dataObjectReference", &x.id, &x.base);
                t.opt("name", &x.name)
                    .opt("itemSubjectRef", &x.item_subject_ref)
                    .opt("dataObjectRef", &x.data_object_ref);
                self.base_elem(t, &x.base, |w| w.data_state(&x.data_state));
            }
            FlowElement::DataStoreReference(x) => {
                let mut t = self.id_tag("dataStoreReference", &x.id, &x.base);
                t.opt("name", &x.name)
                    .opt("itemSubjectRef", &x.item_subject_ref)
                    .opt("dataStoreRef", &x.data_store_ref);
                self.base_elem(t, &x.base, |w| w.data_state(&x.data_state));
            }
        }
    }

    fn artifact(&mut self, a: &Artifact) {
        match a {
            Artifact::TextAnnotation(x) => {
                let mut t = self.id_tag("textAnnotation", &x.id, &x.base);
                t.opt("textFormat", &x.text_format);
                self.base_elem(t, &x.base, |w| {
                    if let Some(text) = &x.text {
                        w.text_elem("text", text);
                    }
                });
            }
            Artifact::Association(x) => {
                let mut t = self.id_tag("association", &x.id, &x.base);
                t.attr("sourceRef", &x.source_ref)
                    .attr("targetRef", &x.target_ref)
                    .opt("associationDirection", &x.association_direction);
                self.base_elem(t, &x.base, |_| {});
            }
            Artifact::Group(x) => {
                let mut t = self.id_tag("group", &x.id, &x.base);
                t.opt("categoryValueRef", &x.category_value_ref);
                self.base_elem(t, &x.base, |_| {});
            }
        }
    }

    fn flow_node(&mut self, n: &FlowNode) {
        let mut t = self.id_tag(n.element_name(), &n.id, &n.base);
        t.opt("name", &n.name);
        match &n.kind {
            FlowNodeKind::Activity(a) => self.activity_attrs(&mut t, a),
            FlowNodeKind::Event(e) => match &e.kind {
                EventKind::Start { is_interrupting } => {
                    t.bool_unless("isInterrupting", *is_interrupting, true);
                    t.bool_unless("parallelMultiple", e.parallel_multiple, false);
                }
                EventKind::Boundary {
                    attached_to_ref,
                    cancel_activity,
                } => {
                    t.attr("attachedToRef", attached_to_ref);
                    t.bool_unless("cancelActivity", *cancel_activity, true);
                    t.bool_unless("parallelMultiple", e.parallel_multiple, false);
                }
                EventKind::IntermediateCatch => {
                    t.bool_unless("parallelMultiple", e.parallel_multiple, false);
                }
                EventKind::End | EventKind::IntermediateThrow => {}
            },
            FlowNodeKind::Gateway(g) => {
                t.opt("gatewayDirection", &g.direction);
                match &g.kind {
                    GatewayKind::Exclusive { default }
                    | GatewayKind::Inclusive { default }
                    | GatewayKind::Complex { default, .. } => {
                        t.opt("default", default);
                    }
                    GatewayKind::Parallel => {}
                    GatewayKind::EventBased {
                        instantiate,
                        event_gateway_type,
                    } => {
                        t.bool_unless("instantiate", *instantiate, false);
                        t.opt("eventGatewayType", event_gateway_type);
                    }
                }
            }
        }
        self.base_elem(t, &n.base, |w| {
            for i in &n.incoming {
                w.text_elem("incoming", i);
            }
            for o in &n.outgoing {
                w.text_elem("outgoing", o);
            }
            match &n.kind {
                FlowNodeKind::Activity(a) => w.activity_children(a),
                FlowNodeKind::Event(e) => w.event_children(e),
                FlowNodeKind::Gateway(g) => {
                    if let GatewayKind::Complex {
                        activation_condition: Some(c),
                        ..
                    } = &g.kind
                    {
                        w.expression("activationCondition", c);
                    }
                }
            }
        });
    }

    fn activity_attrs(&mut self, t: &mut Tag, a: &Activity) {
        t.bool_unless("isForCompensation", a.is_for_compensation, false)
            .num("startQuantity", a.start_quantity)
            .num("completionQuantity", a.completion_quantity)
            .opt("default", &a.default);
        match &a.kind {
            ActivityKind::Task | ActivityKind::ManualTask => {}
            ActivityKind::UserTask { implementation }
            | ActivityKind::BusinessRuleTask { implementation } => {
                t.opt("implementation", implementation);
            }
            ActivityKind::ServiceTask {
                implementation,
                operation_ref,
            } => {
                t.opt("implementation", implementation)
                    .opt("operationRef", operation_ref);
            }
            ActivityKind::SendTask {
                implementation,
                message_ref,
                operation_ref,
            } => {
                t.opt("implementation", implementation)
                    .opt("messageRef", message_ref)
                    .opt("operationRef", operation_ref);
            }
            ActivityKind::ReceiveTask {
                implementation,
                instantiate,
                message_ref,
                operation_ref,
            } => {
                t.opt("implementation", implementation)
                    .bool_unless("instantiate", *instantiate, false)
                    .opt("messageRef", message_ref)
                    .opt("operationRef", operation_ref);
            }
            ActivityKind::ScriptTask { script_format, .. } => {
                t.opt("scriptFormat", script_format);
            }
            ActivityKind::SubProcess(s) => {
                t.bool_unless("triggeredByEvent", s.triggered_by_event, false);
            }
            ActivityKind::Transaction {
                sub_process,
                method,
            } => {
                t.bool_unless("triggeredByEvent", sub_process.triggered_by_event, false)
                    .opt("method", method);
            }
            ActivityKind::AdHocSubProcess {
                sub_process,
                ordering,
                cancel_remaining_instances,
                ..
            } => {
                t.bool_unless("triggeredByEvent", sub_process.triggered_by_event, false)
                    .opt("ordering", ordering)
                    .opt_bool("cancelRemainingInstances", *cancel_remaining_instances);
            }
            ActivityKind::CallActivity { called_element } => {
                t.opt("calledElement", called_element);
            }
        }
    }

    fn activity_children(&mut self, a: &Activity) {
        if let Some(io) = &a.io_specification {
            self.io_specification(io);
        }
        for p in &a.properties {
            self.property(p);
        }
        for d in &a.data_input_associations {
            self.data_association("dataInputAssociation", d);
        }
        for d in &a.data_output_associations {
            self.data_association("dataOutputAssociation", d);
        }
        for r in &a.resource_roles {
            self.resource_role(r);
        }
        match &a.loop_characteristics {
            Some(LoopCharacteristics::Standard(l)) => {
                let mut t = Tag::new(bpmn("standardLoopCharacteristics"));
                t.opt("id", &l.id)
                    .bool_unless("testBefore", l.test_before, false)
                    .num("loopMaximum", l.loop_maximum);
                self.base_elem(t, &l.base, |w| {
                    if let Some(c) = &l.loop_condition {
                        w.expression("loopCondition", c);
                    }
                });
            }
            Some(LoopCharacteristics::MultiInstance(m)) => {
                let mut t = Tag::new(bpmn("multiInstanceLoopCharacteristics"));
                t.opt("id", &m.id)
                    .bool_unless("isSequential", m.is_sequential, false)
                    .opt("behavior", &m.behavior)
                    .opt("oneBehaviorEventRef", &m.one_behavior_event_ref)
                    .opt("noneBehaviorEventRef", &m.none_behavior_event_ref);
                self.base_elem(t, &m.base, |w| {
                    if let Some(c) = &m.loop_cardinality {
                        w.expression("loopCardinality", c);
                    }
                    if let Some(r) = &m.loop_data_input_ref {
                        w.text_elem("loopDataInputRef", r);
                    }
                    if let Some(r) = &m.loop_data_output_ref {
                        w.text_elem("loopDataOutputRef", r);
                    }
                    if let Some(d) = &m.input_data_item {
                        w.data_io("inputDataItem", d);
                    }
                    if let Some(d) = &m.output_data_item {
                        w.data_io("outputDataItem", d);
                    }
                    if let Some(c) = &m.completion_condition {
                        w.expression("completionCondition", c);
                    }
                });
            }
            None => {}
        }
        match &a.kind {
            ActivityKind::ScriptTask {
                script: Some(s), ..
            } => self.text_elem("script", &s.text),
            ActivityKind::SubProcess(s) | ActivityKind::Transaction { sub_process: s, .. } => {
                self.sub_process(s)
            }
            ActivityKind::AdHocSubProcess {
                sub_process,
                completion_condition,
                ..
            } => {
                self.sub_process(sub_process);
                if let Some(c) = completion_condition {
                    self.expression("completionCondition", c);
                }
            }
            _ => {}
        }
    }

    fn sub_process(&mut self, s: &SubProcess) {
        for ls in &s.lane_sets {
            self.lane_set("laneSet", ls);
        }
        for fe in &s.flow_elements {
            self.flow_element(fe);
        }
        for a in &s.artifacts {
            self.artifact(a);
        }
    }

    fn event_children(&mut self, e: &Event) {
        let catch = e.kind.is_catch();
        for p in &e.properties {
            self.property(p);
        }
        for d in &e.data_items {
            self.data_io(if catch { "dataOutput" } else { "dataInput" }, d);
        }
        for d in &e.data_associations {
            let name = if catch {
                "dataOutputAssociation"
            } else {
                "dataInputAssociation"
            };
            self.data_association(name, d);
        }
        match &e.data_set {
            Some(IoSet::Input(s)) => self.input_set(s),
            Some(IoSet::Output(s)) => self.output_set(s),
            None => {}
        }
        for d in &e.event_definitions {
            self.event_definition(d);
        }
        for r in &e.event_definition_refs {
            self.text_elem("eventDefinitionRef", r);
        }
    }

    fn event_definition(&mut self, d: &EventDefinition) {
        let mut t = Tag::new(bpmn(d.kind.element_name()));
        t.opt("id", &d.id);
        match &d.kind {
            EventDefinitionKind::Message { message_ref, .. } => {
                t.opt("messageRef", message_ref);
            }
            EventDefinitionKind::Error { error_ref } => {
                t.opt("errorRef", error_ref);
            }
            EventDefinitionKind::Escalation { escalation_ref } => {
                t.opt("escalationRef", escalation_ref);
            }
            EventDefinitionKind::Signal { signal_ref } => {
                t.opt("signalRef", signal_ref);
            }
            EventDefinitionKind::Compensate {
                activity_ref,
                wait_for_completion,
            } => {
                t.opt("activityRef", activity_ref)
                    .opt_bool("waitForCompletion", *wait_for_completion);
            }
            EventDefinitionKind::Link { name, .. } => {
                t.opt("name", name);
            }
            EventDefinitionKind::Timer(_)
            | EventDefinitionKind::Conditional { .. }
            | EventDefinitionKind::Cancel
            | EventDefinitionKind::Terminate => {}
        }
        self.base_elem(t, &d.base, |w| match &d.kind {
            EventDefinitionKind::Timer(timer) => {
                if let Some(x) = &timer.time_date {
                    w.expression("timeDate", x);
                }
                if let Some(x) = &timer.time_duration {
                    w.expression("timeDuration", x);
                }
                if let Some(x) = &timer.time_cycle {
                    w.expression("timeCycle", x);
                }
            }
            EventDefinitionKind::Conditional { condition: Some(c) } => {
                w.expression("condition", c);
            }
            EventDefinitionKind::Message {
                operation_ref: Some(op),
                ..
            } => w.text_elem("operationRef", op),
            EventDefinitionKind::Link {
                sources, target, ..
            } => {
                for s in sources {
                    w.text_elem("source", s);
                }
                if let Some(t) = target {
                    w.text_elem("target", t);
                }
            }
            _ => {}
        });
    }

    // ------------------------------------------------------------ collaboration

    fn collaboration(&mut self, c: &Collaboration) {
        let mut t = self.id_tag("collaboration", &c.id, &c.base);
        t.opt("name", &c.name).opt_bool("isClosed", c.is_closed);
        self.base_elem(t, &c.base, |w| {
            for p in &c.participants {
                let mut t = w.id_tag("participant", &p.id, &p.base);
                t.opt("name", &p.name).opt("processRef", &p.process_ref);
                w.base_elem(t, &p.base, |w| {
                    if let Some((min, max)) = p.multiplicity {
                        let mut t = Tag::new(bpmn("participantMultiplicity"));
                        t.num("minimum", min).num("maximum", max);
                        w.empty(t);
                    }
                });
            }
            for m in &c.message_flows {
                let mut t = w.id_tag("messageFlow", &m.id, &m.base);
                t.opt("name", &m.name)
                    .attr("sourceRef", &m.source_ref)
                    .attr("targetRef", &m.target_ref)
                    .opt("messageRef", &m.message_ref);
                w.base_elem(t, &m.base, |_| {});
            }
            for a in &c.artifacts {
                w.artifact(a);
            }
        });
    }

    // ------------------------------------------------------------ BPMNDI

    fn di_tag(&mut self, uri: &str, name: &str) -> Tag {
        let hint = Namespaces::standard_prefix(uri);
        let p = self.ns.prefix(uri, hint);
        Tag::new(format!("{p}:{name}"))
    }

    fn di_elem(&mut self, mut t: Tag, ext: &DiExtras, body: impl FnOnce(&mut Self)) {
        self.ext_attrs(&mut t, &ext.attributes);
        self.elem(t, |w| {
            body(w);
            for e in &ext.elements {
                w.verbatim(e);
            }
        });
    }

    fn diagram(&mut self, d: &BpmnDiagram) {
        let mut t = self.di_tag(BPMNDI, "BPMNDiagram");
        t.opt("id", &d.id)
            .opt("name", &d.name)
            .opt("documentation", &d.documentation)
            .num("resolution", d.resolution);
        self.di_elem(t, &d.ext, |w| {
            let p = &d.plane;
            let mut t = w.di_tag(BPMNDI, "BPMNPlane");
            t.opt("id", &p.id).opt("bpmnElement", &p.bpmn_element);
            w.di_elem(t, &p.ext, |w| {
                for e in &p.elements {
                    match e {
                        DiagramElement::Shape(s) => w.shape(s),
                        DiagramElement::Edge(e) => w.edge(e),
                    }
                }
            });
            for s in &d.label_styles {
                let mut t = w.di_tag(BPMNDI, "BPMNLabelStyle");
                t.opt("id", &s.id);
                w.di_elem(t, &s.ext, |w| {
                    if let Some(f) = &s.font {
                        let mut t = w.di_tag(DC, "Font");
                        t.opt("name", &f.name)
                            .num("size", f.size)
                            .opt_bool("isBold", f.is_bold)
                            .opt_bool("isItalic", f.is_italic)
                            .opt_bool("isUnderline", f.is_underline)
                            .opt_bool("isStrikeThrough", f.is_strike_through);
                        w.di_elem(t, &f.ext, |_| {});
                    }
                });
            }
        });
    }

    fn bounds(&mut self, b: &Bounds) {
        let mut t = self.di_tag(DC, "Bounds");
        t.attr("x", &b.x.to_string())
            .attr("y", &b.y.to_string())
            .attr("width", &b.width.to_string())
            .attr("height", &b.height.to_string());
        self.empty(t);
    }

    fn label(&mut self, l: &Option<BpmnLabel>) {
        if let Some(l) = l {
            let mut t = self.di_tag(BPMNDI, "BPMNLabel");
            t.opt("id", &l.id).opt("labelStyle", &l.label_style);
            self.di_elem(t, &l.ext, |w| {
                if let Some(b) = &l.bounds {
                    w.bounds(b);
                }
            });
        }
    }

    fn shape(&mut self, s: &BpmnShape) {
        let mut t = self.di_tag(BPMNDI, "BPMNShape");
        t.opt("id", &s.id)
            .opt("bpmnElement", &s.bpmn_element)
            .opt_bool("isHorizontal", s.is_horizontal)
            .opt_bool("isExpanded", s.is_expanded)
            .opt_bool("isMarkerVisible", s.is_marker_visible)
            .opt_bool("isMessageVisible", s.is_message_visible)
            .opt("participantBandKind", &s.participant_band_kind)
            .opt("choreographyActivityShape", &s.choreography_activity_shape);
        self.di_elem(t, &s.ext, |w| {
            w.bounds(&s.bounds);
            w.label(&s.label);
        });
    }

    fn edge(&mut self, e: &BpmnEdge) {
        let mut t = self.di_tag(BPMNDI, "BPMNEdge");
        t.opt("id", &e.id)
            .opt("bpmnElement", &e.bpmn_element)
            .opt("sourceElement", &e.source_element)
            .opt("targetElement", &e.target_element)
            .opt("messageVisibleKind", &e.message_visible_kind);
        self.di_elem(t, &e.ext, |w| {
            for p in &e.waypoints {
                let mut t = w.di_tag(DI, "waypoint");
                t.attr("x", &p.x.to_string()).attr("y", &p.y.to_string());
                w.empty(t);
            }
            w.label(&e.label);
        });
    }
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

fn bpmn(name: &str) -> String {
    format!("bpmn:{name}")
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Attribute values also escape quotes and the whitespace that XML attribute
/// normalisation would otherwise turn into spaces.
fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}
