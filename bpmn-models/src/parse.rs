//! BPMN 2.0 XML import (OMG BPMN 2.0.2, chapter 15 "XML schema" and the
//! Semantic/BPMNDI/DC/DI XSDs).
//!
//! The importer refuses what is not well-formed XML and accepts every
//! well-formed BPMN file, keeping what it does not interpret:
//! - an element in the BPMN namespace that BPMN 2.0 does not define (a
//!   vendor's own element), or that cannot stand where it is found, is kept
//!   verbatim with its parent and reported as a warning (`XML007`, `XML008`)
//!   naming line, column and the enclosing element's id;
//! - an element without `id` (the XSD makes `id` optional) gets one generated
//!   from its position, the same on every import, which export does not
//!   write back ([`Base::generated_id`]); a missing reference (`sourceRef`,
//!   `attachedToRef`, …) or diagram bound is kept empty and reported
//!   (`XML009`: an error for references, a warning for diagram bounds);
//! - elements and attributes from other namespaces are kept verbatim wherever
//!   they appear (a foreign element outside `extensionElements` is kept with
//!   the extension elements of its parent);
//! - child order inside an element is not checked against the XSD sequence.
//!
//! The warnings travel with the model ([`Definitions::import_notes`]) and
//! [`crate::validate`] reports them with its own diagnostics.
//!
//! Safety: input size and element depth are limited ([`ParseOptions`]), DTDs
//! and entity declarations are refused (no entity expansion, no external
//! entities), and no input makes the importer panic.

use roxmltree::{Node, NodeType};

use crate::model::*;
use crate::names::{BPMN, BPMNDI, DC, DI, UNMODELED, XSI};
use crate::span::{LineIndex, Span};
use crate::validate::{Diagnostic, Severity};
use crate::xml::{PrefixHint, XmlAttribute, XmlElement, XmlNode};

/// Limits applied while importing.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Largest accepted input, in bytes.
    pub max_size: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_size: 64 * 1024 * 1024,
            max_depth: 256,
        }
    }
}

/// Why a document could not be imported. Every variant that concerns a place
/// in the input carries its [`Span`]; [`ParseError::element_id`] names the
/// nearest enclosing element id when there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("elements are nested more than {limit} levels deep (the limit)")]
    TooDeep { limit: usize, span: Span },
    #[error(
        "DTDs and entity declarations are refused (they allow entity expansion and external entities)"
    )]
    Dtd { span: Span },
    #[error("input is not valid {encoding}: {message}")]
    Encoding { encoding: String, message: String },
    #[error("malformed XML: {message}")]
    Xml { message: String, span: Span },
    #[error("expected a BPMN 2.0 <definitions> root element ({BPMN}), found <{found}>")]
    NotBpmn { found: String, span: Span },
    #[error("unexpected element in <{parent}>: expected {expected}, found <{name}>")]
    UnexpectedElement {
        name: String,
        parent: String,
        expected: &'static str,
        id: Option<String>,
        span: Span,
    },
    #[error("invalid `{attribute}` on <{element}>: expected {expected}, found \"{found}\"")]
    InvalidAttribute {
        element: String,
        attribute: &'static str,
        expected: &'static str,
        found: String,
        id: Option<String>,
        span: Span,
    },
    #[error("unexpected text in <{element}>: expected only elements, found \"{found}\"")]
    UnexpectedText {
        element: String,
        found: String,
        id: Option<String>,
        span: Span,
    },
}

impl ParseError {
    /// Where in the input the problem is, when it concerns a place.
    pub fn span(&self) -> Option<Span> {
        match self {
            ParseError::TooLarge { .. } | ParseError::Encoding { .. } => None,
            ParseError::TooDeep { span, .. }
            | ParseError::Dtd { span }
            | ParseError::Xml { span, .. }
            | ParseError::NotBpmn { span, .. }
            | ParseError::UnexpectedElement { span, .. }
            | ParseError::InvalidAttribute { span, .. }
            | ParseError::UnexpectedText { span, .. } => Some(*span),
        }
    }

    /// The id of the element the problem is in (or of its nearest ancestor with one).
    pub fn element_id(&self) -> Option<&str> {
        match self {
            ParseError::UnexpectedElement { id, .. }
            | ParseError::InvalidAttribute { id, .. }
            | ParseError::UnexpectedText { id, .. } => id.as_deref(),
            _ => None,
        }
    }

    /// A stable code for this kind of error, like the validator's `BPMNxxx` codes.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::TooLarge { .. } => "XML001",
            ParseError::TooDeep { .. } => "XML002",
            ParseError::Dtd { .. } => "XML003",
            ParseError::Encoding { .. } => "XML004",
            ParseError::Xml { .. } => "XML005",
            ParseError::NotBpmn { .. } => "XML006",
            ParseError::UnexpectedElement { .. } => "XML008",
            ParseError::InvalidAttribute { .. } => "XML010",
            ParseError::UnexpectedText { .. } => "XML011",
        }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// Imports a BPMN 2.0 document with the default limits.
pub fn parse(text: &str) -> Result<Definitions> {
    parse_with(text, &ParseOptions::default())
}

/// Imports a BPMN 2.0 document with the given limits.
pub fn parse_with(text: &str, options: &ParseOptions) -> Result<Definitions> {
    if text.len() > options.max_size {
        return Err(ParseError::TooLarge {
            size: text.len(),
            limit: options.max_size,
        });
    }
    let lines = LineIndex::new(text);
    let doc = roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: false,
            ..roxmltree::ParsingOptions::default()
        },
    )
    .map_err(|e| xml_error(&lines, text, e))?;
    check_depth(&doc, &lines, options.max_depth)?;
    let root = doc.root_element();
    let p = Parser {
        lines: &lines,
        doc: &doc,
        ids: std::cell::OnceCell::new(),
        notes: std::cell::RefCell::new(Vec::new()),
    };
    if !is(root, BPMN, "definitions") {
        return Err(ParseError::NotBpmn {
            found: qualified_name(root),
            span: p.span(root),
        });
    }
    let mut d = p.definitions(root)?;
    d.import_notes = ImportNotes(p.notes.into_inner());
    Ok(d)
}

/// Decodes the bytes of a file into text: a byte order mark (UTF-8, UTF-16)
/// decides; otherwise the encoding the XML declaration names (any label of
/// the WHATWG Encoding Standard: ISO-8859-1, windows-1252, Shift_JIS, …),
/// and UTF-8 when it names none. Bytes that are not valid in that encoding
/// are refused (`XML004`), never replaced. The result is what [`parse`]
/// expects.
pub fn decode(bytes: &[u8]) -> Result<String> {
    let (encoding, body) = match encoding_rs::Encoding::for_bom(bytes) {
        Some((enc, bom)) => (enc, &bytes[bom..]),
        None => (declared_encoding(bytes)?, bytes),
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .map(|text| text.into_owned())
        .ok_or_else(|| {
            let message = match std::str::from_utf8(body) {
                Err(e) if encoding == encoding_rs::UTF_8 => {
                    format!("invalid byte sequence at byte {}", e.valid_up_to())
                }
                _ => "a byte sequence that is not valid in it".into(),
            };
            ParseError::Encoding {
                encoding: encoding.name().into(),
                message,
            }
        })
}

/// The encoding named by the XML declaration (UTF-8 when there is none);
/// UTF-16 without a byte order mark is recognised by its first characters.
fn declared_encoding(bytes: &[u8]) -> Result<&'static encoding_rs::Encoding> {
    if bytes.starts_with(&[b'<', 0, b'?', 0]) {
        return Ok(encoding_rs::UTF_16LE);
    }
    if bytes.starts_with(&[0, b'<', 0, b'?']) {
        return Ok(encoding_rs::UTF_16BE);
    }
    let head = &bytes[..bytes.len().min(200)];
    let Some(decl) = head
        .strip_prefix(b"<?xml")
        .and_then(|d| d.split(|&b| b == b'>').next())
    else {
        return Ok(encoding_rs::UTF_8);
    };
    let decl = String::from_utf8_lossy(decl);
    let Some(label) = decl
        .split("encoding")
        .nth(1)
        .and_then(|d| d.split(['"', '\'']).nth(1))
    else {
        return Ok(encoding_rs::UTF_8);
    };
    match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
        // A declaration inside the file cannot make it UTF-16: its bytes
        // were readable as ASCII, so it is not.
        Some(enc) if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE => {
            Ok(encoding_rs::UTF_8)
        }
        Some(enc) => Ok(enc),
        None => Err(ParseError::Encoding {
            encoding: label.trim().to_string(),
            message: "expected an encoding name such as UTF-8 or ISO-8859-1, found an unknown one"
                .into(),
        }),
    }
}

fn xml_error(lines: &LineIndex<'_>, text: &str, e: roxmltree::Error) -> ParseError {
    let pos = e.pos();
    let offset = lines.offset_of(pos.row, pos.col);
    let span = Span {
        start: offset as u32,
        end: offset as u32,
        line: pos.row,
        column: pos.col,
    };
    match e {
        roxmltree::Error::DtdDetected => ParseError::Dtd { span },
        _ => {
            let mut message = e.to_string();
            // roxmltree appends " at row:col"; we show the position ourselves.
            if let Some(i) = message.rfind(" at ") {
                message.truncate(i);
            }
            if offset >= text.len() && matches!(e, roxmltree::Error::UnexpectedEndOfStream) {
                message = "unexpected end of input (is the file truncated?)".into();
            }
            ParseError::Xml { message, span }
        }
    }
}

fn check_depth(doc: &roxmltree::Document<'_>, lines: &LineIndex<'_>, limit: usize) -> Result<()> {
    // Document order visits parents before children, so one pass suffices.
    let mut depth = vec![0usize; doc.descendants().count()];
    for n in doc.descendants() {
        let d = n.parent().map_or(0, |p| depth[p.id().get_usize()]) + usize::from(n.is_element());
        if d > limit {
            return Err(ParseError::TooDeep {
                limit,
                span: lines.span(n.range()),
            });
        }
        depth[n.id().get_usize()] = d;
    }
    Ok(())
}

fn is(node: Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

fn qualified_name(node: Node<'_, '_>) -> String {
    let tag = node.tag_name();
    match tag.namespace().and_then(|ns| node.lookup_prefix(ns)) {
        Some(p) if !p.is_empty() => format!("{p}:{}", tag.name()),
        _ => tag.name().to_string(),
    }
}

/// The BPMN local name of an element, or `None` for other namespaces.
fn bpmn_name<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    (node.tag_name().namespace() == Some(BPMN)).then(|| node.tag_name().name())
}

fn element_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

/// All character data directly inside an element.
fn text_of(node: Node<'_, '_>) -> String {
    let mut s = String::new();
    for c in node.children() {
        if c.is_text()
            && let Some(t) = c.text()
        {
            s.push_str(t);
        }
    }
    s
}

/// Nearest `id` attribute on the node or its ancestors.
fn nearest_id(node: Node<'_, '_>) -> Option<String> {
    node.ancestors()
        .find_map(|n| n.attribute("id"))
        .map(str::to_string)
}

struct Parser<'a> {
    lines: &'a LineIndex<'a>,
    doc: &'a roxmltree::Document<'a>,
    /// Built on the first element without an id: a file whose elements
    /// all have one pays nothing for it.
    ids: std::cell::OnceCell<GeneratedIds>,
    /// Warnings and recoverable errors, in the order found.
    notes: std::cell::RefCell<Vec<Diagnostic>>,
}

/// Positions of the BPMN elements that have no `id` (computed on the first
/// element that needs one): the n-th element of a
/// local name without one is `<name>_<n>` (a suffix `_` is added while that
/// collides with an id of the file), so the id is the same on every import
/// and after a round trip through export (which keeps the order of
/// elements of one kind).
struct GeneratedIds {
    /// Per node (by roxmltree node index): the 1-based ordinal among
    /// id-less BPMN elements of its local name, 0 when it has an id.
    ordinal: Vec<u32>,
    /// Every id in the file.
    taken: std::collections::HashSet<String>,
}

impl GeneratedIds {
    fn new(doc: &roxmltree::Document<'_>) -> Self {
        let mut ordinal = vec![0u32; doc.descendants().count()];
        let mut counters: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        for n in doc.descendants() {
            if n.is_element()
                && n.tag_name().namespace() == Some(BPMN)
                && n.attribute("id").is_none()
            {
                let c = counters.entry(n.tag_name().name()).or_insert(0);
                *c += 1;
                ordinal[n.id().get_usize()] = *c;
            }
        }
        let taken = doc
            .descendants()
            .filter_map(|n| n.attribute("id").map(str::to_string))
            .collect();
        GeneratedIds { ordinal, taken }
    }

    fn id_for(&self, node: Node<'_, '_>) -> Option<String> {
        let n = *self.ordinal.get(node.id().get_usize())?;
        if n == 0 {
            return None;
        }
        let mut id = format!("{}_{n}", node.tag_name().name());
        while self.taken.contains(id.as_str()) {
            id.push('_');
        }
        Some(id)
    }
}

/// Reads the attributes of one element, remembering which ones the typed model
/// consumed; the rest become verbatim extension attributes.
struct Attrs<'a, 'i> {
    node: Node<'a, 'i>,
    used: Vec<bool>,
    span: Span,
    parser: &'a Parser<'a>,
    /// The id was generated ([`GeneratedIds`]) because the file has none.
    generated_id: bool,
}

impl<'a, 'i> Attrs<'a, 'i> {
    fn new(p: &'a Parser<'a>, node: Node<'a, 'i>) -> Self {
        Attrs {
            node,
            used: vec![false; node.attributes().len()],
            span: p.span(node),
            parser: p,
            generated_id: false,
        }
    }

    fn get(&mut self, name: &str) -> Option<String> {
        for (i, a) in self.node.attributes().enumerate() {
            if a.namespace().is_none() && a.name() == name {
                self.used[i] = true;
                return Some(a.value().to_string());
            }
        }
        None
    }

    /// The element's `id`, or the one generated from its position.
    fn id(&mut self) -> String {
        if let Some(id) = self.get("id") {
            return id;
        }
        self.generated_id = true;
        let parser = self.parser;
        parser
            .ids
            .get_or_init(|| GeneratedIds::new(parser.doc))
            .id_for(self.node)
            .unwrap_or_else(|| format!("{}_0", self.node.tag_name().name()))
    }

    /// A reference the element cannot do without (`sourceRef`, …): when it is
    /// missing, an `XML009` error is noted and the value is empty, so that
    /// the import goes on and validation reports every problem at once.
    fn required(&mut self, name: &'static str) -> String {
        self.get(name).unwrap_or_else(|| {
            self.missing(name, Severity::Error, "");
            String::new()
        })
    }

    fn missing(&self, name: &'static str, severity: Severity, assumed: &str) {
        self.parser.note(
            "XML009",
            severity,
            self.node,
            format!(
                "missing attribute on <{}>: expected `{name}`, found none{assumed}",
                qualified_name(self.node)
            ),
        );
    }

    fn invalid(&self, name: &'static str, expected: &'static str, found: String) -> ParseError {
        ParseError::InvalidAttribute {
            element: qualified_name(self.node),
            attribute: name,
            expected,
            found,
            id: nearest_id(self.node),
            span: self.span,
        }
    }

    /// A typed attribute's text. An empty value (some tools write
    /// `loopMaximum=""`) counts as absent: the attribute is kept verbatim
    /// and a warning noted.
    fn typed(&mut self, name: &'static str) -> Option<String> {
        for (i, a) in self.node.attributes().enumerate() {
            if a.namespace().is_none() && a.name() == name {
                let v = a.value();
                if v.trim().is_empty() {
                    self.parser.note(
                        "XML010",
                        Severity::Warning,
                        self.node,
                        format!(
                            "empty `{name}` on <{}>: expected a value, found none (treated as absent)",
                            qualified_name(self.node)
                        ),
                    );
                    return None;
                }
                self.used[i] = true;
                return Some(v.to_string());
            }
        }
        None
    }

    fn bool(&mut self, name: &'static str) -> Result<Option<bool>> {
        match self.typed(name) {
            None => Ok(None),
            Some(v) => match v.trim() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(self.invalid(name, "`true` or `false`", v)),
            },
        }
    }

    fn parsed<T: std::str::FromStr>(
        &mut self,
        name: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>> {
        match self.typed(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(name, expected, v)),
        }
    }

    fn f64(&mut self, name: &'static str) -> Result<Option<f64>> {
        let v = self.parsed::<f64>(name, "a number")?;
        match v {
            Some(x) if !x.is_finite() => Err(self.invalid(name, "a finite number", x.to_string())),
            _ => Ok(v),
        }
    }

    /// A diagram measure: when missing, 0 is assumed with a warning.
    fn required_f64(&mut self, name: &'static str) -> Result<f64> {
        match self.f64(name)? {
            Some(v) => Ok(v),
            None => {
                self.missing(name, Severity::Warning, " (0 assumed)");
                Ok(0.0)
            }
        }
    }

    /// Attributes the typed model did not consume, verbatim.
    fn rest(self) -> Vec<XmlAttribute> {
        self.node
            .attributes()
            .zip(self.used)
            .filter(|(_, used)| !used)
            .map(|(a, _)| XmlAttribute {
                namespace: a.namespace().map(str::to_string),
                prefix: PrefixHint(
                    a.namespace()
                        .and_then(|ns| self.node.lookup_prefix(ns))
                        .map(str::to_string),
                ),
                name: a.name().to_string(),
                value: a.value().to_string(),
            })
            .collect()
    }
}

impl Parser<'_> {
    fn span(&self, node: Node<'_, '_>) -> Span {
        self.lines.span(node.range())
    }

    fn base(&self, node: Node<'_, '_>) -> Base {
        Base {
            span: self.span(node),
            ..Base::default()
        }
    }

    /// Verbatim copy of any element and its subtree (depth is bounded by
    /// [`check_depth`], so the recursion is too).
    fn verbatim(&self, node: Node<'_, '_>) -> XmlElement {
        let tag = node.tag_name();
        let attributes = node
            .attributes()
            .map(|a| XmlAttribute {
                namespace: a.namespace().map(str::to_string),
                prefix: PrefixHint(
                    a.namespace()
                        .and_then(|ns| node.lookup_prefix(ns))
                        .map(str::to_string),
                ),
                name: a.name().to_string(),
                value: a.value().to_string(),
            })
            .collect();
        let mut children = Vec::new();
        for c in node.children() {
            match c.node_type() {
                NodeType::Element => children.push(XmlNode::Element(self.verbatim(c))),
                NodeType::Text => {
                    let t = c.text().unwrap_or_default();
                    // Merge adjacent text (e.g. text followed by CDATA).
                    if let Some(XmlNode::Text(prev)) = children.last_mut() {
                        prev.push_str(t);
                    } else {
                        children.push(XmlNode::Text(t.to_string()));
                    }
                }
                _ => {}
            }
        }
        // Whitespace-only text between child elements is layout, not content.
        if children.iter().any(|c| matches!(c, XmlNode::Element(_))) {
            children.retain(|c| !matches!(c, XmlNode::Text(t) if t.trim().is_empty()));
        }
        XmlElement {
            namespace: tag.namespace().map(str::to_string),
            prefix: PrefixHint(
                tag.namespace()
                    .and_then(|ns| node.lookup_prefix(ns))
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            ),
            name: tag.name().to_string(),
            attributes,
            children,
            span: self.span(node),
        }
    }

    /// Handles the children every BPMN element may have (`documentation`,
    /// `extensionElements`, unmodeled BPMN elements, foreign elements); any
    /// other child is an error saying what was expected instead.
    fn common_child(
        &self,
        child: Node<'_, '_>,
        base: &mut Base,
        expected: &'static str,
    ) -> Result<()> {
        match bpmn_name(child) {
            Some("documentation") => {
                let mut a = Attrs::new(self, child);
                let id = a.get("id");
                let text_format = a.get("textFormat");
                base.documentation.push(Documentation {
                    id,
                    text_format,
                    text: text_of(child),
                    span: self.span(child),
                });
            }
            Some("extensionElements") => {
                for e in element_children(child) {
                    base.extensions.elements.push(self.verbatim(e));
                }
            }
            Some(name) if UNMODELED.contains(&name) => base.unmodeled.push(self.verbatim(child)),
            Some(name) => {
                self.unexpected(child, name, expected);
                base.unmodeled.push(self.verbatim(child));
            }
            None => base.extensions.elements.push(self.verbatim(child)),
        }
        Ok(())
    }

    /// Notes a BPMN element that is unknown (`XML007`) or stands where BPMN
    /// does not allow it (`XML008`); the caller keeps it verbatim.
    fn unexpected(&self, child: Node<'_, '_>, name: &str, expected: &'static str) {
        let parent = child.parent().map(qualified_name).unwrap_or_default();
        let found = qualified_name(child);
        let (code, message) = if is_modeled_bpmn_name(name) {
            let expected = if expected.is_empty() {
                "no BPMN element"
            } else {
                expected
            };
            (
                "XML008",
                format!(
                    "misplaced element in <{parent}>: expected {expected}, found <{found}> (kept as it is, not executed)"
                ),
            )
        } else {
            (
                "XML007",
                format!(
                    "unknown BPMN element in <{parent}>: expected an element BPMN 2.0 defines, found <{found}> (kept as it is, not executed)"
                ),
            )
        };
        self.notes.borrow_mut().push(Diagnostic {
            code,
            severity: Severity::Warning,
            message,
            element_id: child.parent().and_then(nearest_id),
            span: self.span(child),
        });
    }

    fn finish(&self, attrs: Attrs<'_, '_>, base: &mut Base) {
        base.generated_id = attrs.generated_id;
        base.extensions.attributes = attrs.rest();
    }

    fn note(&self, code: &'static str, severity: Severity, node: Node<'_, '_>, message: String) {
        self.notes.borrow_mut().push(Diagnostic {
            code,
            severity,
            message,
            element_id: nearest_id(node),
            span: self.span(node),
        });
    }

    // ------------------------------------------------------------ definitions

    fn definitions(&self, node: Node<'_, '_>) -> Result<Definitions> {
        let mut a = Attrs::new(self, node);
        let mut d = Definitions {
            id: a.get("id"),
            name: a.get("name"),
            target_namespace: a.get("targetNamespace").unwrap_or_default(),
            expression_language: a.get("expressionLanguage"),
            type_language: a.get("typeLanguage"),
            exporter: a.get("exporter"),
            exporter_version: a.get("exporterVersion"),
            namespaces: Namespaces(
                node.namespaces()
                    .filter(|ns| ns.uri() != "http://www.w3.org/XML/1998/namespace")
                    .map(|ns| (ns.name().unwrap_or("").to_string(), ns.uri().to_string()))
                    .collect(),
            ),
            base: self.base(node),
            ..Definitions::default()
        };
        for c in element_children(node) {
            if c.tag_name().namespace() == Some(BPMNDI) && c.tag_name().name() == "BPMNDiagram" {
                d.diagrams.push(self.diagram(c)?);
                continue;
            }
            match bpmn_name(c) {
                Some("import") => {
                    let mut a = Attrs::new(self, c);
                    let mut base = self.base(c);
                    let import = Import {
                        namespace: a.get("namespace").unwrap_or_default(),
                        location: a.get("location").unwrap_or_default(),
                        import_type: a.get("importType").unwrap_or_default(),
                        base: Base::default(),
                    };
                    for cc in element_children(c) {
                        self.common_child(cc, &mut base, "documentation or extensionElements")?;
                    }
                    self.finish(a, &mut base);
                    d.imports.push(Import { base, ..import });
                }
                Some(name) if UNMODELED.contains(&name) => {
                    d.root_elements.push(RootElement::Unmodeled(self.verbatim(c)))
                }
                Some(name) => match self.root_element(c, name)? {
                    Some(r) => d.root_elements.push(r),
                    None => self.common_child(
                        c,
                        &mut d.base,
                        "a root element (process, collaboration, message, …), import or BPMNDiagram",
                    )?,
                },
                None => self.common_child(c, &mut d.base, "")?,
            }
        }
        self.finish(a, &mut d.base);
        Ok(d)
    }

    fn root_element(&self, c: Node<'_, '_>, name: &str) -> Result<Option<RootElement>> {
        let r = match name {
            "process" => RootElement::Process(self.process(c)?),
            "collaboration" => RootElement::Collaboration(self.collaboration(c)?),
            "itemDefinition" => {
                let (x, base) = self.leaf(c, |a| {
                    Ok(ItemDefinition {
                        id: a.id(),
                        structure_ref: a.get("structureRef"),
                        import_ref: a.get("import"),
                        is_collection: a.bool("isCollection")?.unwrap_or(false),
                        item_kind: a.get("itemKind"),
                        base: Base::default(),
                    })
                })?;
                RootElement::ItemDefinition(ItemDefinition { base, ..x })
            }
            "message" => {
                let (x, base) = self.leaf(c, |a| {
                    Ok(Message {
                        id: a.id(),
                        name: a.get("name"),
                        item_ref: a.get("itemRef"),
                        base: Base::default(),
                    })
                })?;
                RootElement::Message(Message { base, ..x })
            }
            "signal" => {
                let (x, base) = self.leaf(c, |a| {
                    Ok(Signal {
                        id: a.id(),
                        name: a.get("name"),
                        structure_ref: a.get("structureRef"),
                        base: Base::default(),
                    })
                })?;
                RootElement::Signal(Signal { base, ..x })
            }
            "error" => {
                let (x, base) = self.leaf(c, |a| {
                    Ok(ErrorDef {
                        id: a.id(),
                        name: a.get("name"),
                        error_code: a.get("errorCode"),
                        structure_ref: a.get("structureRef"),
                        base: Base::default(),
                    })
                })?;
                RootElement::Error(ErrorDef { base, ..x })
            }
            "escalation" => {
                let (x, base) = self.leaf(c, |a| {
                    Ok(Escalation {
                        id: a.id(),
                        name: a.get("name"),
                        escalation_code: a.get("escalationCode"),
                        structure_ref: a.get("structureRef"),
                        base: Base::default(),
                    })
                })?;
                RootElement::Escalation(Escalation { base, ..x })
            }
            "dataStore" => {
                let mut a = Attrs::new(self, c);
                let mut base = self.base(c);
                let id = a.id();
                let name = a.get("name");
                let capacity = a.parsed("capacity", "a non-negative integer")?;
                let is_unlimited = a.bool("isUnlimited")?;
                let item_subject_ref = a.get("itemSubjectRef");
                let mut data_state = None;
                for cc in element_children(c) {
                    match bpmn_name(cc) {
                        Some("dataState") => data_state = Some(self.data_state(cc)?),
                        _ => self.common_child(cc, &mut base, "dataState")?,
                    }
                }
                self.finish(a, &mut base);
                RootElement::DataStore(DataStore {
                    id,
                    name,
                    capacity,
                    is_unlimited,
                    item_subject_ref,
                    data_state,
                    base,
                })
            }
            "resource" => {
                let mut a = Attrs::new(self, c);
                let mut base = self.base(c);
                let id = a.id();
                let name = a.get("name");
                let mut parameters = Vec::new();
                for cc in element_children(c) {
                    match bpmn_name(cc) {
                        Some("resourceParameter") => {
                            let (p, base) = self.leaf(cc, |a| {
                                Ok(ResourceParameter {
                                    id: a.get("id"),
                                    name: a.get("name"),
                                    type_ref: a.get("type"),
                                    is_required: a.bool("isRequired")?,
                                    base: Base::default(),
                                })
                            })?;
                            parameters.push(ResourceParameter { base, ..p });
                        }
                        _ => self.common_child(cc, &mut base, "resourceParameter")?,
                    }
                }
                self.finish(a, &mut base);
                RootElement::Resource(Resource {
                    id,
                    name,
                    parameters,
                    base,
                })
            }
            "interface" => RootElement::Interface(self.interface(c)?),
            "category" => {
                let mut a = Attrs::new(self, c);
                let mut base = self.base(c);
                let id = a.id();
                let name = a.get("name");
                let mut values = Vec::new();
                for cc in element_children(c) {
                    match bpmn_name(cc) {
                        Some("categoryValue") => {
                            let ((id, value), base) =
                                self.leaf(cc, |a| Ok((a.id(), a.get("value"))))?;
                            values.push(CategoryValue { id, value, base });
                        }
                        _ => self.common_child(cc, &mut base, "categoryValue")?,
                    }
                }
                self.finish(a, &mut base);
                RootElement::Category(Category {
                    id,
                    name,
                    values,
                    base,
                })
            }
            n if n.ends_with("EventDefinition") => match self.event_definition(c, n)? {
                Some(def) => RootElement::EventDefinition(def),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(Some(r))
    }

    /// Children of an element that has only the common ones.
    fn leaf_children(&self, node: Node<'_, '_>, base: &mut Base) -> Result<()> {
        for c in element_children(node) {
            self.common_child(c, base, "documentation or extensionElements")?;
        }
        Ok(())
    }

    /// An element made of attributes and the common children only: `read`
    /// takes the typed attributes, the rest become extension attributes.
    /// Returns the typed value (its `base` left default) and the base.
    fn leaf<T>(
        &self,
        c: Node<'_, '_>,
        read: impl FnOnce(&mut Attrs<'_, '_>) -> Result<T>,
    ) -> Result<(T, Base)> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let value = read(&mut a)?;
        self.leaf_children(c, &mut base)?;
        self.finish(a, &mut base);
        Ok((value, base))
    }

    fn interface(&self, c: Node<'_, '_>) -> Result<Interface> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.id();
        let name = a.get("name");
        let implementation_ref = a.get("implementationRef");
        let mut operations = Vec::new();
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("operation") => {
                    let mut oa = Attrs::new(self, cc);
                    let mut obase = self.base(cc);
                    let id = oa.id();
                    let name = oa.get("name");
                    let implementation_ref = oa.get("implementationRef");
                    let (mut inm, mut outm, mut errs) = (None, None, Vec::new());
                    for o in element_children(cc) {
                        match bpmn_name(o) {
                            Some("inMessageRef") => inm = Some(text_of(o).trim().to_string()),
                            Some("outMessageRef") => outm = Some(text_of(o).trim().to_string()),
                            Some("errorRef") => errs.push(text_of(o).trim().to_string()),
                            _ => self.common_child(
                                o,
                                &mut obase,
                                "inMessageRef, outMessageRef or errorRef",
                            )?,
                        }
                    }
                    self.finish(oa, &mut obase);
                    operations.push(Operation {
                        id,
                        name,
                        implementation_ref,
                        in_message_ref: inm,
                        out_message_ref: outm,
                        error_refs: errs,
                        base: obase,
                    });
                }
                _ => self.common_child(cc, &mut base, "operation")?,
            }
        }
        self.finish(a, &mut base);
        Ok(Interface {
            id,
            name,
            implementation_ref,
            operations,
            base,
        })
    }

    fn data_state(&self, c: Node<'_, '_>) -> Result<DataState> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let name = a.get("name");
        self.leaf_children(c, &mut base)?;
        self.finish(a, &mut base);
        Ok(DataState { id, name, base })
    }

    /// `tExpression`/`tFormalExpression` content: attributes plus body text.
    fn expression(&self, c: Node<'_, '_>) -> Result<Expression> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let language = a.get("language");
        let evaluates_to_type_ref = a.get("evaluatesToTypeRef");
        let mut formal = c.tag_name().name() == "formalExpression";
        for (i, attr) in c.attributes().enumerate() {
            if attr.namespace() == Some(XSI) && attr.name() == "type" {
                let local = attr.value().rsplit(':').next().unwrap_or_default();
                if local == "tFormalExpression" {
                    formal = true;
                    a.used[i] = true;
                } else if local == "tExpression" {
                    a.used[i] = true;
                }
            }
        }
        for cc in element_children(c) {
            self.common_child(cc, &mut base, "only text")?;
        }
        self.finish(a, &mut base);
        Ok(Expression {
            id,
            formal,
            language,
            evaluates_to_type_ref,
            body: text_of(c),
            base,
        })
    }

    // ------------------------------------------------------------ process

    fn process(&self, c: Node<'_, '_>) -> Result<Process> {
        let mut a = Attrs::new(self, c);
        let mut p = Process {
            id: a.id(),
            name: a.get("name"),
            is_executable: a.bool("isExecutable")?,
            process_type: a.get("processType"),
            is_closed: a.bool("isClosed")?,
            definitional_collaboration_ref: a.get("definitionalCollaborationRef"),
            base: self.base(c),
            ..Process::default()
        };
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("ioSpecification") => p.io_specification = Some(self.io_specification(cc)?),
                Some("property") => p.properties.push(self.property(cc)?),
                Some("laneSet") => p.lane_sets.push(self.lane_set(cc)?),
                Some(n @ ("resourceRole" | "performer" | "humanPerformer" | "potentialOwner")) => {
                    p.resource_roles.push(self.resource_role(cc, n)?)
                }
                Some(n) => {
                    if let Some(fe) = self.flow_element(cc, n)? {
                        p.flow_elements.push(fe);
                    } else if let Some(art) = self.artifact(cc, n)? {
                        p.artifacts.push(art);
                    } else {
                        self.common_child(
                            cc,
                            &mut p.base,
                            "a flow element, artifact, laneSet, property or ioSpecification",
                        )?;
                    }
                }
                None => self.common_child(cc, &mut p.base, "")?,
            }
        }
        self.finish(a, &mut p.base);
        Ok(p)
    }

    fn lane_set(&self, c: Node<'_, '_>) -> Result<LaneSet> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let name = a.get("name");
        let mut lanes = Vec::new();
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("lane") => lanes.push(self.lane(cc)?),
                _ => self.common_child(cc, &mut base, "lane")?,
            }
        }
        self.finish(a, &mut base);
        Ok(LaneSet {
            id,
            name,
            lanes,
            base,
        })
    }

    fn lane(&self, c: Node<'_, '_>) -> Result<Lane> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.id();
        let name = a.get("name");
        let partition_element_ref = a.get("partitionElementRef");
        let mut flow_node_refs = Vec::new();
        let mut child_lane_set = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("flowNodeRef") => flow_node_refs.push(text_of(cc).trim().to_string()),
                Some("childLaneSet") => child_lane_set = Some(self.lane_set(cc)?),
                Some("partitionElement") => base.unmodeled.push(self.verbatim(cc)),
                _ => self.common_child(cc, &mut base, "flowNodeRef or childLaneSet")?,
            }
        }
        self.finish(a, &mut base);
        Ok(Lane {
            id,
            name,
            partition_element_ref,
            flow_node_refs,
            child_lane_set,
            base,
        })
    }

    fn property(&self, c: Node<'_, '_>) -> Result<Property> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.id();
        let name = a.get("name");
        let item_subject_ref = a.get("itemSubjectRef");
        let mut data_state = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("dataState") => data_state = Some(self.data_state(cc)?),
                _ => self.common_child(cc, &mut base, "dataState")?,
            }
        }
        self.finish(a, &mut base);
        Ok(Property {
            id,
            name,
            item_subject_ref,
            data_state,
            base,
        })
    }

    /// `dataInput` / `dataOutput` (same shape).
    fn data_io(&self, c: Node<'_, '_>) -> Result<DataInput> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.id();
        let name = a.get("name");
        let item_subject_ref = a.get("itemSubjectRef");
        let is_collection = a.bool("isCollection")?.unwrap_or(false);
        let mut data_state = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("dataState") => data_state = Some(self.data_state(cc)?),
                _ => self.common_child(cc, &mut base, "dataState")?,
            }
        }
        self.finish(a, &mut base);
        Ok(DataInput {
            id,
            name,
            item_subject_ref,
            is_collection,
            data_state,
            base,
        })
    }

    fn input_set(&self, c: Node<'_, '_>) -> Result<InputSet> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let mut s = InputSet {
            id: a.get("id"),
            name: a.get("name"),
            data_input_refs: Vec::new(),
            optional_input_refs: Vec::new(),
            while_executing_input_refs: Vec::new(),
            output_set_refs: Vec::new(),
            base: Base::default(),
        };
        for cc in element_children(c) {
            let t = || text_of(cc).trim().to_string();
            match bpmn_name(cc) {
                Some("dataInputRefs") => s.data_input_refs.push(t()),
                Some("optionalInputRefs") => s.optional_input_refs.push(t()),
                Some("whileExecutingInputRefs") => s.while_executing_input_refs.push(t()),
                Some("outputSetRefs") => s.output_set_refs.push(t()),
                _ => self.common_child(cc, &mut base, "dataInputRefs or outputSetRefs")?,
            }
        }
        self.finish(a, &mut base);
        s.base = base;
        Ok(s)
    }

    fn output_set(&self, c: Node<'_, '_>) -> Result<OutputSet> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let mut s = OutputSet {
            id: a.get("id"),
            name: a.get("name"),
            data_output_refs: Vec::new(),
            optional_output_refs: Vec::new(),
            while_executing_output_refs: Vec::new(),
            input_set_refs: Vec::new(),
            base: Base::default(),
        };
        for cc in element_children(c) {
            let t = || text_of(cc).trim().to_string();
            match bpmn_name(cc) {
                Some("dataOutputRefs") => s.data_output_refs.push(t()),
                Some("optionalOutputRefs") => s.optional_output_refs.push(t()),
                Some("whileExecutingOutputRefs") => s.while_executing_output_refs.push(t()),
                Some("inputSetRefs") => s.input_set_refs.push(t()),
                _ => self.common_child(cc, &mut base, "dataOutputRefs or inputSetRefs")?,
            }
        }
        self.finish(a, &mut base);
        s.base = base;
        Ok(s)
    }

    fn io_specification(&self, c: Node<'_, '_>) -> Result<IoSpecification> {
        let mut a = Attrs::new(self, c);
        let mut io = IoSpecification {
            id: a.get("id"),
            base: self.base(c),
            ..IoSpecification::default()
        };
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("dataInput") => io.data_inputs.push(self.data_io(cc)?),
                Some("dataOutput") => io.data_outputs.push(self.data_io(cc)?),
                Some("inputSet") => io.input_sets.push(self.input_set(cc)?),
                Some("outputSet") => io.output_sets.push(self.output_set(cc)?),
                _ => self.common_child(
                    cc,
                    &mut io.base,
                    "dataInput, dataOutput, inputSet or outputSet",
                )?,
            }
        }
        self.finish(a, &mut io.base);
        Ok(io)
    }

    fn data_association(&self, c: Node<'_, '_>) -> Result<DataAssociation> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let mut d = DataAssociation {
            id,
            source_refs: Vec::new(),
            target_ref: None,
            transformation: None,
            assignments: Vec::new(),
            base: Base::default(),
        };
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("sourceRef") => d.source_refs.push(text_of(cc).trim().to_string()),
                Some("targetRef") => d.target_ref = Some(text_of(cc).trim().to_string()),
                Some("transformation") => d.transformation = Some(self.expression(cc)?),
                Some("assignment") => {
                    let mut aa = Attrs::new(self, cc);
                    let mut abase = self.base(cc);
                    let id = aa.get("id");
                    let (mut from, mut to) = (None, None);
                    for x in element_children(cc) {
                        match bpmn_name(x) {
                            Some("from") => from = Some(self.expression(x)?),
                            Some("to") => to = Some(self.expression(x)?),
                            _ => self.common_child(x, &mut abase, "from or to")?,
                        }
                    }
                    self.finish(aa, &mut abase);
                    d.assignments.push(Assignment {
                        id,
                        from: from.unwrap_or_default(),
                        to: to.unwrap_or_default(),
                        base: abase,
                    });
                }
                _ => self.common_child(
                    cc,
                    &mut base,
                    "sourceRef, targetRef, transformation or assignment",
                )?,
            }
        }
        self.finish(a, &mut base);
        d.base = base;
        Ok(d)
    }

    fn resource_role(&self, c: Node<'_, '_>, name: &str) -> Result<ResourceRole> {
        let element = match name {
            "performer" => ResourceRoleKind::Performer,
            "humanPerformer" => ResourceRoleKind::HumanPerformer,
            "potentialOwner" => ResourceRoleKind::PotentialOwner,
            _ => ResourceRoleKind::ResourceRole,
        };
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let rname = a.get("name");
        let mut resource_ref = None;
        let mut assignment = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("resourceRef") => resource_ref = Some(text_of(cc).trim().to_string()),
                Some("resourceAssignmentExpression") => {
                    let mut ra = Attrs::new(self, cc);
                    let mut rbase = self.base(cc);
                    let id = ra.get("id");
                    let mut inner = None;
                    for e in element_children(cc) {
                        match bpmn_name(e) {
                            Some(n @ ("expression" | "formalExpression")) => {
                                inner = Some((n == "formalExpression", self.expression(e)?))
                            }
                            _ => self.common_child(e, &mut rbase, "expression")?,
                        }
                    }
                    self.finish(ra, &mut rbase);
                    let (formal_element, expression) = inner.unwrap_or_default();
                    assignment = Some(ResourceAssignment {
                        id,
                        formal_element,
                        expression,
                        base: rbase,
                    });
                }
                _ => {
                    self.common_child(cc, &mut base, "resourceRef or resourceAssignmentExpression")?
                }
            }
        }
        self.finish(a, &mut base);
        Ok(ResourceRole {
            element,
            id,
            name: rname,
            resource_ref,
            assignment,
            base,
        })
    }

    // ------------------------------------------------------------ flow elements

    /// A flow element by its BPMN local name; `None` if `name` is not one.
    fn flow_element(&self, c: Node<'_, '_>, name: &str) -> Result<Option<FlowElement>> {
        let fe = match name {
            "sequenceFlow" => FlowElement::SequenceFlow(self.sequence_flow(c)?),
            "dataObject" => {
                let mut a = Attrs::new(self, c);
                let mut base = self.base(c);
                let id = a.id();
                let name = a.get("name");
                let item_subject_ref = a.get("itemSubjectRef");
                let is_collection = a.bool("isCollection")?.unwrap_or(false);
                let data_state = self.data_state_child(c, &mut base)?;
                self.finish(a, &mut base);
                FlowElement::DataObject(DataObject {
                    id,
                    name,
                    item_subject_ref,
                    is_collection,
                    data_state,
                    base,
                })
            }
            "dataObjectReference" => {
                let mut a = Attrs::new(self, c);
                let mut base = self.base(c);
                let id = a.id();
                let name = a.get("name");
                let item_subject_ref = a.get("itemSubjectRef");
                let data_object_ref = a.get("dataObjectRef");
                let data_state = self.data_state_child(c, &mut base)?;
                self.finish(a, &mut base);
                FlowElement::DataObjectReference(DataObjectReference {
                    id,
                    name,
                    item_subject_ref,
                    data_object_ref,
                    data_state,
                    base,
                })
            }
            "dataStoreReference" => {
                let mut a = Attrs::new(self, c);
                let mut base = self.base(c);
                let id = a.id();
                let name = a.get("name");
                let item_subject_ref = a.get("itemSubjectRef");
                let data_store_ref = a.get("dataStoreRef");
                let data_state = self.data_state_child(c, &mut base)?;
                self.finish(a, &mut base);
                FlowElement::DataStoreReference(DataStoreReference {
                    id,
                    name,
                    item_subject_ref,
                    data_store_ref,
                    data_state,
                    base,
                })
            }
            _ => match self.flow_node(c, name)? {
                Some(n) => FlowElement::FlowNode(n),
                None => return Ok(None),
            },
        };
        Ok(Some(fe))
    }

    fn data_state_child(&self, c: Node<'_, '_>, base: &mut Base) -> Result<Option<DataState>> {
        let mut data_state = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("dataState") => data_state = Some(self.data_state(cc)?),
                _ => self.common_child(cc, base, "dataState")?,
            }
        }
        Ok(data_state)
    }

    fn sequence_flow(&self, c: Node<'_, '_>) -> Result<SequenceFlow> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.id();
        let name = a.get("name");
        let source_ref = a.required("sourceRef");
        let target_ref = a.required("targetRef");
        let is_immediate = a.bool("isImmediate")?;
        let mut condition_expression = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("conditionExpression") => condition_expression = Some(self.expression(cc)?),
                _ => self.common_child(cc, &mut base, "conditionExpression")?,
            }
        }
        self.finish(a, &mut base);
        Ok(SequenceFlow {
            id,
            name,
            source_ref,
            target_ref,
            is_immediate,
            condition_expression,
            base,
        })
    }

    fn artifact(&self, c: Node<'_, '_>, name: &str) -> Result<Option<Artifact>> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let art = match name {
            "textAnnotation" => {
                let id = a.id();
                let text_format = a.get("textFormat");
                let mut text = None;
                for cc in element_children(c) {
                    match bpmn_name(cc) {
                        Some("text") => text = Some(text_of(cc)),
                        _ => self.common_child(cc, &mut base, "text")?,
                    }
                }
                self.finish(a, &mut base);
                Artifact::TextAnnotation(TextAnnotation {
                    id,
                    text_format,
                    text,
                    base,
                })
            }
            "association" => {
                let id = a.id();
                let source_ref = a.required("sourceRef");
                let target_ref = a.required("targetRef");
                let association_direction = a.get("associationDirection");
                self.leaf_children(c, &mut base)?;
                self.finish(a, &mut base);
                Artifact::Association(Association {
                    id,
                    source_ref,
                    target_ref,
                    association_direction,
                    base,
                })
            }
            "group" => {
                let id = a.id();
                let category_value_ref = a.get("categoryValueRef");
                self.leaf_children(c, &mut base)?;
                self.finish(a, &mut base);
                Artifact::Group(Group {
                    id,
                    category_value_ref,
                    base,
                })
            }
            _ => return Ok(None),
        };
        Ok(Some(art))
    }

    /// Activities, events and gateways; `None` if `name` is none of them.
    fn flow_node(&self, c: Node<'_, '_>, name: &str) -> Result<Option<FlowNode>> {
        enum Family {
            Activity,
            Event,
            Gateway,
        }
        let family = match name {
            "task" | "manualTask" | "userTask" | "serviceTask" | "sendTask" | "receiveTask"
            | "businessRuleTask" | "scriptTask" | "subProcess" | "transaction"
            | "adHocSubProcess" | "callActivity" => Family::Activity,
            "startEvent"
            | "endEvent"
            | "intermediateCatchEvent"
            | "intermediateThrowEvent"
            | "boundaryEvent" => Family::Event,
            "exclusiveGateway" | "inclusiveGateway" | "parallelGateway" | "eventBasedGateway"
            | "complexGateway" => Family::Gateway,
            _ => return Ok(None),
        };
        let mut a = Attrs::new(self, c);
        let id = a.id();
        let node_name = a.get("name");
        let mut base = self.base(c);
        let mut incoming = Vec::new();
        let mut outgoing = Vec::new();
        let kind = match family {
            Family::Activity => FlowNodeKind::Activity(Box::new(self.activity(
                c,
                name,
                &mut a,
                &mut base,
                &mut incoming,
                &mut outgoing,
            )?)),
            Family::Event => FlowNodeKind::Event(Box::new(self.event(
                c,
                name,
                &mut a,
                &mut base,
                &mut incoming,
                &mut outgoing,
            )?)),
            Family::Gateway => FlowNodeKind::Gateway(self.gateway(
                c,
                name,
                &mut a,
                &mut base,
                &mut incoming,
                &mut outgoing,
            )?),
        };
        self.finish(a, &mut base);
        Ok(Some(FlowNode {
            id,
            name: node_name,
            incoming,
            outgoing,
            kind,
            base,
        }))
    }

    fn activity(
        &self,
        c: Node<'_, '_>,
        name: &str,
        a: &mut Attrs<'_, '_>,
        base: &mut Base,
        incoming: &mut Vec<String>,
        outgoing: &mut Vec<String>,
    ) -> Result<Activity> {
        let is_for_compensation = a.bool("isForCompensation")?.unwrap_or(false);
        let start_quantity = a.parsed("startQuantity", "a non-negative integer")?;
        let completion_quantity = a.parsed("completionQuantity", "a non-negative integer")?;
        let default = a.get("default");
        let mut act = Activity {
            is_for_compensation,
            start_quantity,
            completion_quantity,
            default,
            io_specification: None,
            properties: Vec::new(),
            data_input_associations: Vec::new(),
            data_output_associations: Vec::new(),
            resource_roles: Vec::new(),
            loop_characteristics: None,
            kind: ActivityKind::Task,
        };
        let is_container = matches!(name, "subProcess" | "transaction" | "adHocSubProcess");
        let mut sub = SubProcess::default();
        if is_container {
            sub.triggered_by_event = a.bool("triggeredByEvent")?.unwrap_or(false);
        }
        let mut script = None;
        let mut completion_condition = None;
        let expected = match name {
            "scriptTask" => "incoming, outgoing, ioSpecification, loop characteristics or script",
            "subProcess" | "transaction" => {
                "incoming, outgoing, ioSpecification, loop characteristics, flow elements or artifacts"
            }
            "adHocSubProcess" => {
                "incoming, outgoing, flow elements, artifacts or completionCondition"
            }
            _ => "incoming, outgoing, ioSpecification, data associations or loop characteristics",
        };
        for cc in element_children(c) {
            let Some(n) = bpmn_name(cc) else {
                self.common_child(cc, base, expected)?;
                continue;
            };
            match n {
                "incoming" => incoming.push(text_of(cc).trim().to_string()),
                "outgoing" => outgoing.push(text_of(cc).trim().to_string()),
                "ioSpecification" => act.io_specification = Some(self.io_specification(cc)?),
                "property" => act.properties.push(self.property(cc)?),
                "dataInputAssociation" => {
                    act.data_input_associations.push(self.data_association(cc)?)
                }
                "dataOutputAssociation" => act
                    .data_output_associations
                    .push(self.data_association(cc)?),
                "resourceRole" | "performer" | "humanPerformer" | "potentialOwner" => {
                    act.resource_roles.push(self.resource_role(cc, n)?)
                }
                "standardLoopCharacteristics" => {
                    act.loop_characteristics =
                        Some(LoopCharacteristics::Standard(self.standard_loop(cc)?))
                }
                "multiInstanceLoopCharacteristics" => {
                    act.loop_characteristics =
                        Some(LoopCharacteristics::MultiInstance(self.multi_instance(cc)?))
                }
                "script" if name == "scriptTask" => {
                    script = Some(Script {
                        text: text_of(cc),
                        span: self.span(cc),
                    });
                    for x in element_children(cc) {
                        self.common_child(x, base, "only text")?;
                    }
                }
                "completionCondition" if name == "adHocSubProcess" => {
                    completion_condition = Some(self.expression(cc)?)
                }
                "laneSet" if is_container => sub.lane_sets.push(self.lane_set(cc)?),
                _ if is_container => {
                    if let Some(fe) = self.flow_element(cc, n)? {
                        sub.flow_elements.push(fe);
                    } else if let Some(art) = self.artifact(cc, n)? {
                        sub.artifacts.push(art);
                    } else {
                        self.common_child(cc, base, expected)?;
                    }
                }
                _ => self.common_child(cc, base, expected)?,
            }
        }
        act.kind = match name {
            "task" => ActivityKind::Task,
            "manualTask" => ActivityKind::ManualTask,
            "userTask" => ActivityKind::UserTask {
                implementation: a.get("implementation"),
            },
            "serviceTask" => ActivityKind::ServiceTask {
                implementation: a.get("implementation"),
                operation_ref: a.get("operationRef"),
            },
            "sendTask" => ActivityKind::SendTask {
                implementation: a.get("implementation"),
                message_ref: a.get("messageRef"),
                operation_ref: a.get("operationRef"),
            },
            "receiveTask" => ActivityKind::ReceiveTask {
                implementation: a.get("implementation"),
                instantiate: a.bool("instantiate")?.unwrap_or(false),
                message_ref: a.get("messageRef"),
                operation_ref: a.get("operationRef"),
            },
            "businessRuleTask" => ActivityKind::BusinessRuleTask {
                implementation: a.get("implementation"),
            },
            "scriptTask" => ActivityKind::ScriptTask {
                script_format: a.get("scriptFormat"),
                script,
            },
            "subProcess" => ActivityKind::SubProcess(sub),
            "transaction" => ActivityKind::Transaction {
                sub_process: sub,
                method: a.get("method"),
            },
            "adHocSubProcess" => ActivityKind::AdHocSubProcess {
                sub_process: sub,
                completion_condition,
                ordering: a.get("ordering"),
                cancel_remaining_instances: a.bool("cancelRemainingInstances")?,
            },
            _ => ActivityKind::CallActivity {
                called_element: a.get("calledElement"),
            },
        };
        Ok(act)
    }

    fn standard_loop(&self, c: Node<'_, '_>) -> Result<StandardLoop> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let test_before = a.bool("testBefore")?.unwrap_or(false);
        let loop_maximum = a.parsed("loopMaximum", "a non-negative integer")?;
        let mut loop_condition = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("loopCondition") => loop_condition = Some(self.expression(cc)?),
                _ => self.common_child(cc, &mut base, "loopCondition")?,
            }
        }
        self.finish(a, &mut base);
        Ok(StandardLoop {
            id,
            test_before,
            loop_maximum,
            loop_condition,
            base,
        })
    }

    fn multi_instance(&self, c: Node<'_, '_>) -> Result<MultiInstance> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let mut m = MultiInstance {
            id: a.get("id"),
            is_sequential: a.bool("isSequential")?.unwrap_or(false),
            behavior: a.get("behavior"),
            one_behavior_event_ref: a.get("oneBehaviorEventRef"),
            none_behavior_event_ref: a.get("noneBehaviorEventRef"),
            loop_cardinality: None,
            loop_data_input_ref: None,
            loop_data_output_ref: None,
            input_data_item: None,
            output_data_item: None,
            completion_condition: None,
            base: Base::default(),
        };
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("loopCardinality") => m.loop_cardinality = Some(self.expression(cc)?),
                Some("loopDataInputRef") => {
                    m.loop_data_input_ref = Some(text_of(cc).trim().to_string())
                }
                Some("loopDataOutputRef") => {
                    m.loop_data_output_ref = Some(text_of(cc).trim().to_string())
                }
                Some("inputDataItem") => m.input_data_item = Some(self.data_io(cc)?),
                Some("outputDataItem") => m.output_data_item = Some(self.data_io(cc)?),
                Some("completionCondition") => m.completion_condition = Some(self.expression(cc)?),
                _ => self.common_child(
                    cc,
                    &mut base,
                    "loopCardinality, loopDataInputRef, inputDataItem, outputDataItem or completionCondition",
                )?,
            }
        }
        self.finish(a, &mut base);
        m.base = base;
        Ok(m)
    }

    fn event(
        &self,
        c: Node<'_, '_>,
        name: &str,
        a: &mut Attrs<'_, '_>,
        base: &mut Base,
        incoming: &mut Vec<String>,
        outgoing: &mut Vec<String>,
    ) -> Result<Event> {
        let kind = match name {
            "startEvent" => EventKind::Start {
                is_interrupting: a.bool("isInterrupting")?.unwrap_or(true),
            },
            "endEvent" => EventKind::End,
            "intermediateCatchEvent" => EventKind::IntermediateCatch,
            "intermediateThrowEvent" => EventKind::IntermediateThrow,
            _ => EventKind::Boundary {
                attached_to_ref: a.required("attachedToRef"),
                cancel_activity: a.bool("cancelActivity")?.unwrap_or(true),
            },
        };
        let catch = kind.is_catch();
        let mut ev = Event {
            parallel_multiple: if catch {
                a.bool("parallelMultiple")?.unwrap_or(false)
            } else {
                false
            },
            properties: Vec::new(),
            data_items: Vec::new(),
            data_associations: Vec::new(),
            data_set: None,
            event_definitions: Vec::new(),
            event_definition_refs: Vec::new(),
            kind,
        };
        let (item, assoc, set) = if catch {
            ("dataOutput", "dataOutputAssociation", "outputSet")
        } else {
            ("dataInput", "dataInputAssociation", "inputSet")
        };
        for cc in element_children(c) {
            let Some(n) = bpmn_name(cc) else {
                self.common_child(cc, base, "")?;
                continue;
            };
            match n {
                "incoming" => incoming.push(text_of(cc).trim().to_string()),
                "outgoing" => outgoing.push(text_of(cc).trim().to_string()),
                "property" => ev.properties.push(self.property(cc)?),
                "eventDefinitionRef" => ev
                    .event_definition_refs
                    .push(text_of(cc).trim().to_string()),
                _ if n == item => ev.data_items.push(self.data_io(cc)?),
                _ if n == assoc => ev.data_associations.push(self.data_association(cc)?),
                _ if n == set => {
                    ev.data_set = Some(if catch {
                        IoSet::Output(self.output_set(cc)?)
                    } else {
                        IoSet::Input(self.input_set(cc)?)
                    })
                }
                _ => match self.event_definition(cc, n)? {
                    Some(d) => ev.event_definitions.push(d),
                    None => self.common_child(
                        cc,
                        base,
                        if catch {
                            "incoming, outgoing, an event definition, dataOutput or dataOutputAssociation"
                        } else {
                            "incoming, outgoing, an event definition, dataInput or dataInputAssociation"
                        },
                    )?,
                },
            }
        }
        Ok(ev)
    }

    /// An event definition by its BPMN local name; `None` if `name` is not one.
    fn event_definition(&self, c: Node<'_, '_>, name: &str) -> Result<Option<EventDefinition>> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.get("id");
        let kind = match name {
            "messageEventDefinition" => EventDefinitionKind::Message {
                message_ref: a.get("messageRef"),
                operation_ref: None,
            },
            "errorEventDefinition" => EventDefinitionKind::Error {
                error_ref: a.get("errorRef"),
            },
            "escalationEventDefinition" => EventDefinitionKind::Escalation {
                escalation_ref: a.get("escalationRef"),
            },
            "signalEventDefinition" => EventDefinitionKind::Signal {
                signal_ref: a.get("signalRef"),
            },
            "compensateEventDefinition" => EventDefinitionKind::Compensate {
                activity_ref: a.get("activityRef"),
                wait_for_completion: a.bool("waitForCompletion")?,
            },
            "cancelEventDefinition" => EventDefinitionKind::Cancel,
            "terminateEventDefinition" => EventDefinitionKind::Terminate,
            "timerEventDefinition" => EventDefinitionKind::Timer(TimerDefinition::default()),
            "conditionalEventDefinition" => EventDefinitionKind::Conditional { condition: None },
            "linkEventDefinition" => EventDefinitionKind::Link {
                name: a.get("name"),
                sources: Vec::new(),
                target: None,
            },
            _ => return Ok(None),
        };
        let mut kind = kind;
        for cc in element_children(c) {
            let n = bpmn_name(cc);
            match (&mut kind, n) {
                (EventDefinitionKind::Timer(t), Some("timeDate")) => {
                    t.time_date = Some(self.expression(cc)?)
                }
                (EventDefinitionKind::Timer(t), Some("timeDuration")) => {
                    t.time_duration = Some(self.expression(cc)?)
                }
                (EventDefinitionKind::Timer(t), Some("timeCycle")) => {
                    t.time_cycle = Some(self.expression(cc)?)
                }
                (EventDefinitionKind::Conditional { condition }, Some("condition")) => {
                    *condition = Some(self.expression(cc)?)
                }
                (EventDefinitionKind::Link { sources, .. }, Some("source")) => {
                    sources.push(text_of(cc).trim().to_string())
                }
                (EventDefinitionKind::Link { target, .. }, Some("target")) => {
                    *target = Some(text_of(cc).trim().to_string())
                }
                (EventDefinitionKind::Message { operation_ref, .. }, Some("operationRef")) => {
                    *operation_ref = Some(text_of(cc).trim().to_string())
                }
                _ => self.common_child(cc, &mut base, "the event definition's own children")?,
            }
        }
        self.finish(a, &mut base);
        Ok(Some(EventDefinition { id, kind, base }))
    }

    fn gateway(
        &self,
        c: Node<'_, '_>,
        name: &str,
        a: &mut Attrs<'_, '_>,
        base: &mut Base,
        incoming: &mut Vec<String>,
        outgoing: &mut Vec<String>,
    ) -> Result<Gateway> {
        let direction = a.get("gatewayDirection");
        let mut activation_condition = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("incoming") => incoming.push(text_of(cc).trim().to_string()),
                Some("outgoing") => outgoing.push(text_of(cc).trim().to_string()),
                Some("activationCondition") if name == "complexGateway" => {
                    activation_condition = Some(self.expression(cc)?)
                }
                _ => self.common_child(cc, base, "incoming or outgoing")?,
            }
        }
        let kind = match name {
            "exclusiveGateway" => GatewayKind::Exclusive {
                default: a.get("default"),
            },
            "inclusiveGateway" => GatewayKind::Inclusive {
                default: a.get("default"),
            },
            "parallelGateway" => GatewayKind::Parallel,
            "eventBasedGateway" => GatewayKind::EventBased {
                instantiate: a.bool("instantiate")?.unwrap_or(false),
                event_gateway_type: a.get("eventGatewayType"),
            },
            _ => GatewayKind::Complex {
                default: a.get("default"),
                activation_condition,
            },
        };
        Ok(Gateway { direction, kind })
    }

    // ------------------------------------------------------------ collaboration

    fn collaboration(&self, c: Node<'_, '_>) -> Result<Collaboration> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let mut col = Collaboration {
            id: a.id(),
            name: a.get("name"),
            is_closed: a.bool("isClosed")?,
            participants: Vec::new(),
            message_flows: Vec::new(),
            artifacts: Vec::new(),
            base: Base::default(),
        };
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("participant") => col.participants.push(self.participant(cc)?),
                Some("messageFlow") => {
                    let (m, base) = self.leaf(cc, |a| {
                        Ok(MessageFlow {
                            id: a.id(),
                            name: a.get("name"),
                            source_ref: a.required("sourceRef"),
                            target_ref: a.required("targetRef"),
                            message_ref: a.get("messageRef"),
                            base: Base::default(),
                        })
                    })?;
                    col.message_flows.push(MessageFlow { base, ..m });
                }
                Some(n) => match self.artifact(cc, n)? {
                    Some(art) => col.artifacts.push(art),
                    None => {
                        self.common_child(cc, &mut base, "participant, messageFlow or an artifact")?
                    }
                },
                None => self.common_child(cc, &mut base, "")?,
            }
        }
        self.finish(a, &mut base);
        col.base = base;
        Ok(col)
    }

    fn participant(&self, c: Node<'_, '_>) -> Result<Participant> {
        let mut a = Attrs::new(self, c);
        let mut base = self.base(c);
        let id = a.id();
        let name = a.get("name");
        let process_ref = a.get("processRef");
        let mut multiplicity = None;
        for cc in element_children(c) {
            match bpmn_name(cc) {
                Some("participantMultiplicity") => {
                    let mut ma = Attrs::new(self, cc);
                    let min = ma.parsed("minimum", "a non-negative integer")?;
                    let max = ma.parsed("maximum", "a non-negative integer")?;
                    multiplicity = Some((min, max));
                    let mut mbase = self.base(cc);
                    self.leaf_children(cc, &mut mbase)?;
                }
                _ => self.common_child(cc, &mut base, "participantMultiplicity")?,
            }
        }
        self.finish(a, &mut base);
        Ok(Participant {
            id,
            name,
            process_ref,
            multiplicity,
            base,
        })
    }

    // ------------------------------------------------------------ BPMNDI

    fn di_extras(&self, node: Node<'_, '_>, a: Attrs<'_, '_>) -> DiExtras {
        DiExtras {
            attributes: a.rest(),
            elements: Vec::new(),
            span: self.span(node),
        }
    }

    fn diagram(&self, c: Node<'_, '_>) -> Result<BpmnDiagram> {
        let mut a = Attrs::new(self, c);
        let id = a.get("id");
        let name = a.get("name");
        let documentation = a.get("documentation");
        let resolution = a.f64("resolution")?;
        let mut plane = None;
        let mut label_styles = Vec::new();
        let mut other = Vec::new();
        for cc in element_children(c) {
            let tag = cc.tag_name();
            match (tag.namespace(), tag.name()) {
                (Some(BPMNDI), "BPMNPlane") => plane = Some(self.plane(cc)?),
                (Some(BPMNDI), "BPMNLabelStyle") => label_styles.push(self.label_style(cc)?),
                _ => other.push(self.verbatim(cc)),
            }
        }
        let mut ext = self.di_extras(c, a);
        ext.elements = other;
        let plane = plane.ok_or_else(|| ParseError::UnexpectedElement {
            name: "(none)".into(),
            parent: qualified_name(c),
            expected: "a BPMNPlane",
            id: nearest_id(c),
            span: self.span(c),
        })?;
        Ok(BpmnDiagram {
            id,
            name,
            documentation,
            resolution,
            plane,
            label_styles,
            ext,
        })
    }

    fn plane(&self, c: Node<'_, '_>) -> Result<BpmnPlane> {
        let mut a = Attrs::new(self, c);
        let id = a.get("id");
        let bpmn_element = a.get("bpmnElement");
        let mut elements = Vec::new();
        let mut other = Vec::new();
        for cc in element_children(c) {
            let tag = cc.tag_name();
            match (tag.namespace(), tag.name()) {
                (Some(BPMNDI), "BPMNShape") => {
                    elements.push(DiagramElement::Shape(self.shape(cc)?))
                }
                (Some(BPMNDI), "BPMNEdge") => elements.push(DiagramElement::Edge(self.edge(cc)?)),
                _ => other.push(self.verbatim(cc)),
            }
        }
        let mut ext = self.di_extras(c, a);
        ext.elements = other;
        Ok(BpmnPlane {
            id,
            bpmn_element,
            elements,
            ext,
        })
    }

    fn bounds(&self, c: Node<'_, '_>) -> Result<Bounds> {
        let mut a = Attrs::new(self, c);
        Ok(Bounds {
            x: a.required_f64("x")?,
            y: a.required_f64("y")?,
            width: a.required_f64("width")?,
            height: a.required_f64("height")?,
        })
    }

    fn shape(&self, c: Node<'_, '_>) -> Result<BpmnShape> {
        let mut a = Attrs::new(self, c);
        let id = a.get("id");
        let bpmn_element = a.get("bpmnElement");
        let is_horizontal = a.bool("isHorizontal")?;
        let is_expanded = a.bool("isExpanded")?;
        let is_marker_visible = a.bool("isMarkerVisible")?;
        let is_message_visible = a.bool("isMessageVisible")?;
        let participant_band_kind = a.get("participantBandKind");
        let choreography_activity_shape = a.get("choreographyActivityShape");
        let mut bounds = None;
        let mut label = None;
        let mut other = Vec::new();
        for cc in element_children(c) {
            let tag = cc.tag_name();
            match (tag.namespace(), tag.name()) {
                (Some(DC), "Bounds") => bounds = Some(self.bounds(cc)?),
                (Some(BPMNDI), "BPMNLabel") => label = Some(self.label(cc)?),
                _ => other.push(self.verbatim(cc)),
            }
        }
        let bounds = bounds.ok_or_else(|| ParseError::UnexpectedElement {
            name: "(none)".into(),
            parent: qualified_name(c),
            expected: "a dc:Bounds",
            id: nearest_id(c),
            span: self.span(c),
        })?;
        let mut ext = self.di_extras(c, a);
        ext.elements = other;
        Ok(BpmnShape {
            id,
            bpmn_element,
            is_horizontal,
            is_expanded,
            is_marker_visible,
            is_message_visible,
            participant_band_kind,
            choreography_activity_shape,
            bounds,
            label,
            ext,
        })
    }

    fn edge(&self, c: Node<'_, '_>) -> Result<BpmnEdge> {
        let mut a = Attrs::new(self, c);
        let id = a.get("id");
        let bpmn_element = a.get("bpmnElement");
        let source_element = a.get("sourceElement");
        let target_element = a.get("targetElement");
        let message_visible_kind = a.get("messageVisibleKind");
        let mut waypoints = Vec::new();
        let mut label = None;
        let mut other = Vec::new();
        for cc in element_children(c) {
            let tag = cc.tag_name();
            match (tag.namespace(), tag.name()) {
                (Some(DI), "waypoint") => {
                    let mut wa = Attrs::new(self, cc);
                    waypoints.push(Point {
                        x: wa.required_f64("x")?,
                        y: wa.required_f64("y")?,
                    });
                }
                (Some(BPMNDI), "BPMNLabel") => label = Some(self.label(cc)?),
                _ => other.push(self.verbatim(cc)),
            }
        }
        let mut ext = self.di_extras(c, a);
        ext.elements = other;
        Ok(BpmnEdge {
            id,
            bpmn_element,
            source_element,
            target_element,
            message_visible_kind,
            waypoints,
            label,
            ext,
        })
    }

    fn label(&self, c: Node<'_, '_>) -> Result<BpmnLabel> {
        let mut a = Attrs::new(self, c);
        let id = a.get("id");
        let label_style = a.get("labelStyle");
        let mut bounds = None;
        let mut other = Vec::new();
        for cc in element_children(c) {
            if is(cc, DC, "Bounds") {
                bounds = Some(self.bounds(cc)?);
            } else {
                other.push(self.verbatim(cc));
            }
        }
        let mut ext = self.di_extras(c, a);
        ext.elements = other;
        Ok(BpmnLabel {
            id,
            label_style,
            bounds,
            ext,
        })
    }

    fn label_style(&self, c: Node<'_, '_>) -> Result<BpmnLabelStyle> {
        let mut a = Attrs::new(self, c);
        let id = a.get("id");
        let mut font = None;
        let mut other = Vec::new();
        for cc in element_children(c) {
            if is(cc, DC, "Font") {
                let mut fa = Attrs::new(self, cc);
                let f = Font {
                    name: fa.get("name"),
                    size: fa.f64("size")?,
                    is_bold: fa.bool("isBold")?,
                    is_italic: fa.bool("isItalic")?,
                    is_underline: fa.bool("isUnderline")?,
                    is_strike_through: fa.bool("isStrikeThrough")?,
                    ext: DiExtras::default(),
                };
                let ext = self.di_extras(cc, fa);
                font = Some(Font { ext, ..f });
            } else {
                other.push(self.verbatim(cc));
            }
        }
        let mut ext = self.di_extras(c, a);
        ext.elements = other;
        Ok(BpmnLabelStyle { id, font, ext })
    }
}

/// BPMN names the typed model interprets somewhere: such an element in the
/// wrong place is "unexpected", any other unknown name is "unknown".
fn is_modeled_bpmn_name(name: &str) -> bool {
    const MODELED: &[&str] = &[
        "definitions",
        "import",
        "process",
        "collaboration",
        "itemDefinition",
        "message",
        "signal",
        "error",
        "escalation",
        "dataStore",
        "resource",
        "resourceParameter",
        "interface",
        "operation",
        "inMessageRef",
        "outMessageRef",
        "errorRef",
        "category",
        "categoryValue",
        "documentation",
        "extensionElements",
        "laneSet",
        "lane",
        "childLaneSet",
        "flowNodeRef",
        "partitionElement",
        "property",
        "ioSpecification",
        "dataInput",
        "dataOutput",
        "inputSet",
        "outputSet",
        "dataInputRefs",
        "optionalInputRefs",
        "whileExecutingInputRefs",
        "outputSetRefs",
        "dataOutputRefs",
        "optionalOutputRefs",
        "whileExecutingOutputRefs",
        "inputSetRefs",
        "dataInputAssociation",
        "dataOutputAssociation",
        "sourceRef",
        "targetRef",
        "transformation",
        "assignment",
        "from",
        "to",
        "resourceRole",
        "performer",
        "humanPerformer",
        "potentialOwner",
        "resourceRef",
        "resourceAssignmentExpression",
        "expression",
        "formalExpression",
        "sequenceFlow",
        "conditionExpression",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "dataState",
        "textAnnotation",
        "text",
        "association",
        "group",
        "task",
        "manualTask",
        "userTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "scriptTask",
        "script",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "completionCondition",
        "callActivity",
        "incoming",
        "outgoing",
        "standardLoopCharacteristics",
        "loopCondition",
        "multiInstanceLoopCharacteristics",
        "loopCardinality",
        "loopDataInputRef",
        "loopDataOutputRef",
        "inputDataItem",
        "outputDataItem",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "eventDefinitionRef",
        "messageEventDefinition",
        "timerEventDefinition",
        "timeDate",
        "timeDuration",
        "timeCycle",
        "errorEventDefinition",
        "escalationEventDefinition",
        "signalEventDefinition",
        "conditionalEventDefinition",
        "condition",
        "compensateEventDefinition",
        "cancelEventDefinition",
        "terminateEventDefinition",
        "linkEventDefinition",
        "source",
        "target",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
        "activationCondition",
        "participant",
        "participantMultiplicity",
        "messageFlow",
    ];
    MODELED.contains(&name)
}
