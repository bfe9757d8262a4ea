//! DMN XML import (DMN 1.5 chapter 6–9 metamodel, XML schema DMN15.xsd; the
//! 1.1–1.4 namespaces are read the same way because element names did not
//! change). Produces a typed, position-annotated model; no evaluation here.
//!
//! Safety: DTDs are refused (roxmltree's default), input size and node count
//! are bounded, nesting depth of boxed expressions is bounded, and every
//! failure is a [`ModelError`] with line/column and a stable code.
//!
//! Deviation: elements outside the DMN vocabulary (DMNDI, extension
//! elements, vendor attributes) are ignored rather than rejected.

/// Maximum accepted XML size in bytes.
pub const MAX_XML_BYTES: usize = 32 * 1024 * 1024;
/// Maximum nesting depth of boxed expressions and item definitions.
pub const MAX_NESTING: usize = 64;

/// Known DMN model namespaces (1.1 to 1.5).
pub const DMN_NAMESPACES: &[&str] = &[
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20211108/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
];

/// A model import failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at {line}:{column}{}: expected {expected}, found {found}", element.as_ref().map(|e| format!(" (element '{e}')")).unwrap_or_default())]
pub struct ModelError {
    /// Stable diagnostic code (`DMN001`...).
    pub code: &'static str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Id or name of the element concerned.
    pub element: Option<String>,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub found: String,
}

/// Named parameters with optional type references.
pub type Params = Vec<(String, Option<String>)>;

/// A context entry: optional variable (name, type) and optional value.
pub type ContextEntry = (Option<(String, Option<String>)>, Option<BoxedExpr>);

/// Source position of an element.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// `<definitions>`.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    /// Model name.
    pub name: String,
    /// Target namespace.
    pub namespace: String,
    /// Default `expressionLanguage` of the model, if given.
    pub expression_language: Option<String>,
    /// The tool that wrote the file (`exporter`, e.g. "Camunda Modeler").
    pub exporter: Option<String>,
    /// The platform the file was modelled for
    /// (`modeler:executionPlatform`: "Camunda Platform", "Camunda Cloud").
    pub execution_platform: Option<String>,
    /// The version of that platform (`modeler:executionPlatformVersion`).
    pub execution_platform_version: Option<String>,
    /// The file declares Camunda's DMN extension namespace
    /// (`http://camunda.org/schema/1.0/dmn`).
    pub camunda_namespace: bool,
    /// Imports.
    pub imports: Vec<Import>,
    /// Item definitions.
    pub item_definitions: Vec<ItemDefinition>,
    /// Input data.
    pub inputs: Vec<InputData>,
    /// Decisions.
    pub decisions: Vec<Decision>,
    /// Business knowledge models.
    pub bkms: Vec<Bkm>,
    /// Decision services.
    pub services: Vec<DecisionService>,
}

/// `<import>`.
#[derive(Debug, Clone, Default)]
pub struct Import {
    /// Prefix under which the imported names are visible.
    pub name: String,
    /// Imported namespace.
    pub namespace: String,
    /// Import type URI.
    pub import_type: String,
}

/// `<itemDefinition>` or `<itemComponent>`.
#[derive(Debug, Clone, Default)]
pub struct ItemDefinition {
    /// Name.
    pub name: String,
    /// Base type reference.
    pub type_ref: Option<String>,
    /// `allowedValues` unary tests.
    pub allowed_values: Option<String>,
    /// DMN 1.5 `typeConstraint` unary tests.
    pub type_constraint: Option<String>,
    /// `isCollection`.
    pub is_collection: bool,
    /// Components of a structured type.
    pub components: Vec<ItemDefinition>,
    /// `functionItem`: parameter types and output type.
    pub function: Option<(Params, Option<String>)>,
    /// Position.
    pub pos: Pos,
}

/// `<inputData>`.
#[derive(Debug, Clone, Default)]
pub struct InputData {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Declared type.
    pub type_ref: Option<String>,
    /// Position.
    pub pos: Pos,
}

/// `<decision>`.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Declared result type.
    pub type_ref: Option<String>,
    /// `requiredDecision`/`requiredInput` hrefs.
    pub info_reqs: Vec<String>,
    /// `requiredKnowledge` hrefs.
    pub knowledge_reqs: Vec<String>,
    /// Decision logic.
    pub logic: Option<BoxedExpr>,
    /// Position.
    pub pos: Pos,
}

/// `<businessKnowledgeModel>`.
#[derive(Debug, Clone, Default)]
pub struct Bkm {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Declared type.
    pub type_ref: Option<String>,
    /// `requiredKnowledge` hrefs.
    pub knowledge_reqs: Vec<String>,
    /// Encapsulated logic (a function definition).
    pub logic: Option<BoxedExpr>,
    /// Position.
    pub pos: Pos,
}

/// `<decisionService>`.
#[derive(Debug, Clone, Default)]
pub struct DecisionService {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Declared type.
    pub type_ref: Option<String>,
    /// Output decisions.
    pub outputs: Vec<String>,
    /// Encapsulated decisions.
    pub encapsulated: Vec<String>,
    /// Parameters in document order: (is input data, href).
    pub params: Vec<(bool, String)>,
    /// Position.
    pub pos: Pos,
}

/// A boxed expression with its common attributes.
#[derive(Debug, Clone)]
pub struct BoxedExpr {
    /// Id, if any.
    pub id: Option<String>,
    /// Declared type.
    pub type_ref: Option<String>,
    /// The expression.
    pub kind: BoxedKind,
    /// `expressionLanguage` of a literal expression, if given.
    pub language: Option<String>,
    /// Position.
    pub pos: Pos,
}

/// Kinds of boxed expressions (DMN 1.5 chapter 7 and 8).
#[derive(Debug, Clone)]
pub enum BoxedKind {
    /// Literal FEEL text.
    Literal(String),
    /// Context entries; an entry without name is the result.
    Context(Vec<ContextEntry>),
    /// Decision table.
    DecisionTable(DecisionTableDef),
    /// Invocation: callee and named bindings.
    Invocation(Box<BoxedExpr>, Vec<(String, Option<BoxedExpr>)>),
    /// Relation: columns and rows.
    Relation(Vec<String>, Vec<Vec<Option<BoxedExpr>>>),
    /// List.
    List(Vec<BoxedExpr>),
    /// Function definition: kind, parameters, body.
    Function(
        String,
        Vec<(String, Option<String>)>,
        Option<Box<BoxedExpr>>,
    ),
    /// Conditional.
    Conditional(Box<BoxedExpr>, Box<BoxedExpr>, Box<BoxedExpr>),
    /// Filter: list, match.
    Filter(Box<BoxedExpr>, Box<BoxedExpr>),
    /// Iterator: kind (`for`/`some`/`every`), variable, in, body.
    Iterator(String, String, Box<BoxedExpr>, Box<BoxedExpr>),
    /// An element with no content.
    Empty,
}

/// `<decisionTable>`.
#[derive(Debug, Clone, Default)]
pub struct DecisionTableDef {
    /// Id.
    pub id: String,
    /// Hit policy (`UNIQUE`, `ANY`, ...).
    pub hit_policy: String,
    /// Aggregation for COLLECT.
    pub aggregation: Option<String>,
    /// Inputs.
    pub inputs: Vec<DtInput>,
    /// Outputs.
    pub outputs: Vec<DtOutput>,
    /// Annotation column names.
    pub annotations: Vec<String>,
    /// Rules.
    pub rules: Vec<DtRule>,
    /// Position.
    pub pos: Pos,
}

/// Decision-table input clause.
#[derive(Debug, Clone, Default)]
pub struct DtInput {
    /// Input expression text.
    pub expr: String,
    /// Declared type of the input expression.
    pub type_ref: Option<String>,
    /// Input values (unary tests).
    pub values: Option<String>,
    /// `expressionLanguage` of the input expression, if given.
    pub language: Option<String>,
}

/// Decision-table output clause.
#[derive(Debug, Clone, Default)]
pub struct DtOutput {
    /// Output name (for multi-output tables).
    pub name: Option<String>,
    /// Declared type.
    pub type_ref: Option<String>,
    /// Output values (unary tests, also the priority order).
    pub values: Option<String>,
    /// Default output entry.
    pub default: Option<String>,
}

/// One cell of a decision-table rule.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The entry's text.
    pub text: String,
    /// Where it is.
    pub pos: Pos,
    /// Its `expressionLanguage`, if given.
    pub language: Option<String>,
}

/// Decision-table rule.
#[derive(Debug, Clone, Default)]
pub struct DtRule {
    /// Rule id.
    pub id: String,
    /// Input entries (unary tests).
    pub inputs: Vec<Entry>,
    /// Output entries (expressions).
    pub outputs: Vec<Entry>,
    /// Annotation entries.
    pub annotations: Vec<String>,
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

struct Reader<'a> {
    text: &'a str,
    /// Byte offsets at which lines start (for O(log n) positions).
    line_starts: Vec<usize>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Reader<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Reader { text, line_starts }
    }

    fn pos(&self, n: Node) -> Pos {
        let off = n.range().start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= off).max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..off)
            .map(|t| t.chars().count())
            .unwrap_or(0)
            + 1;
        Pos {
            line: line as u32,
            column: column as u32,
        }
    }

    fn err(&self, n: Node, code: &'static str, expected: &str, found: &str) -> ModelError {
        let p = self.pos(n);
        ModelError {
            code,
            line: p.line,
            column: p.column,
            element: n
                .attribute("id")
                .or(n.attribute("name"))
                .map(str::to_string),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children(n, name).next()
}

fn text_of(n: Node) -> String {
    child(n, "text")
        .and_then(|t| t.text())
        .map(str::to_string)
        .unwrap_or_default()
}

fn attr(n: Node, a: &str) -> Option<String> {
    n.attribute(a).map(str::to_string)
}

fn hrefs(n: Node, req: &'static str, inner: &[&'static str]) -> Vec<String> {
    let mut out = Vec::new();
    for r in children(n, req) {
        for i in inner {
            for h in children(r, i) {
                if let Some(href) = h.attribute("href") {
                    out.push(href.to_string());
                }
            }
        }
    }
    out
}

const BOXED: &[&str] = &[
    "literalExpression",
    "context",
    "decisionTable",
    "invocation",
    "relation",
    "list",
    "functionDefinition",
    "conditional",
    "filter",
    "for",
    "some",
    "every",
];

/// Camunda's DMN extension namespace (`camunda:historyTimeToLive`, ...).
pub const CAMUNDA_DMN_NS: &str = "http://camunda.org/schema/1.0/dmn";
/// Camunda Modeler's namespace (`modeler:executionPlatform`).
pub const MODELER_NS: &str = "http://camunda.org/schema/modeler/1.0";

/// Parses one DMN XML document.
pub fn parse_definitions(xml: &str) -> Result<Definitions, ModelError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(ModelError {
            code: "DMN001",
            line: 1,
            column: 1,
            element: None,
            expected: format!("at most {MAX_XML_BYTES} bytes of XML"),
            found: format!("{} bytes", xml.len()),
        });
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts).map_err(|e| {
        let p = e.pos();
        ModelError {
            code: "DMN002",
            line: p.row,
            column: p.col,
            element: None,
            expected: "well-formed XML without DTD".into(),
            found: e.to_string(),
        }
    })?;
    let r = Reader::new(xml);
    let root = doc.root_element();
    if root.tag_name().name() != "definitions" {
        return Err(r.err(
            root,
            "DMN003",
            "a <definitions> root element",
            &format!("<{}>", root.tag_name().name()),
        ));
    }
    let mut d = Definitions {
        name: attr(root, "name").unwrap_or_default(),
        namespace: attr(root, "namespace").unwrap_or_default(),
        expression_language: attr(root, "expressionLanguage"),
        exporter: attr(root, "exporter"),
        execution_platform: root
            .attribute((MODELER_NS, "executionPlatform"))
            .map(str::to_string),
        execution_platform_version: root
            .attribute((MODELER_NS, "executionPlatformVersion"))
            .map(str::to_string),
        camunda_namespace: root.namespaces().any(|n| n.uri() == CAMUNDA_DMN_NS),
        ..Default::default()
    };
    for c in root.children().filter(|c| c.is_element()) {
        let pos = r.pos(c);
        match c.tag_name().name() {
            "import" => d.imports.push(Import {
                name: attr(c, "name").unwrap_or_default(),
                namespace: attr(c, "namespace").unwrap_or_default(),
                import_type: attr(c, "importType").unwrap_or_default(),
            }),
            "itemDefinition" => d.item_definitions.push(item_definition(&r, c, 0)?),
            "inputData" => {
                let v = child(c, "variable");
                d.inputs.push(InputData {
                    id: attr(c, "id").unwrap_or_default(),
                    name: required_name(&r, c)?,
                    type_ref: v.and_then(|v| attr(v, "typeRef")),
                    pos,
                })
            }
            "decision" => {
                let v = child(c, "variable");
                let logic = match c
                    .children()
                    .find(|x| x.is_element() && BOXED.contains(&x.tag_name().name()))
                {
                    Some(b) => Some(boxed(&r, b, 0)?),
                    None => None,
                };
                d.decisions.push(Decision {
                    id: attr(c, "id").unwrap_or_default(),
                    name: required_name(&r, c)?,
                    type_ref: v.and_then(|v| attr(v, "typeRef")),
                    info_reqs: hrefs(
                        c,
                        "informationRequirement",
                        &["requiredDecision", "requiredInput"],
                    ),
                    knowledge_reqs: hrefs(c, "knowledgeRequirement", &["requiredKnowledge"]),
                    logic,
                    pos,
                })
            }
            "businessKnowledgeModel" => {
                let v = child(c, "variable");
                let logic = match child(c, "encapsulatedLogic") {
                    Some(b) => Some(boxed(&r, b, 0)?),
                    None => None,
                };
                d.bkms.push(Bkm {
                    id: attr(c, "id").unwrap_or_default(),
                    name: required_name(&r, c)?,
                    type_ref: v.and_then(|v| attr(v, "typeRef")),
                    knowledge_reqs: hrefs(c, "knowledgeRequirement", &["requiredKnowledge"]),
                    logic,
                    pos,
                })
            }
            "decisionService" => {
                let v = child(c, "variable");
                let h = |name: &'static str| {
                    children(c, name)
                        .filter_map(|x| attr(x, "href"))
                        .collect::<Vec<_>>()
                };
                let params = c
                    .children()
                    .filter(|x| {
                        x.is_element()
                            && matches!(x.tag_name().name(), "inputDecision" | "inputData")
                    })
                    .filter_map(|x| Some((x.tag_name().name() == "inputData", attr(x, "href")?)))
                    .collect::<Vec<_>>();
                // Parameters: input data first, then input decisions (the
                // order the TCK and DMN 1.5 §6.3.10 use for invocation).
                let mut params = params;
                params.sort_by_key(|(is_input, _)| !*is_input);
                d.services.push(DecisionService {
                    id: attr(c, "id").unwrap_or_default(),
                    name: required_name(&r, c)?,
                    type_ref: v.and_then(|v| attr(v, "typeRef")),
                    outputs: h("outputDecision"),
                    encapsulated: h("encapsulatedDecision"),
                    params,
                    pos,
                })
            }
            _ => {}
        }
    }
    Ok(d)
}

fn required_name(r: &Reader, n: Node) -> Result<String, ModelError> {
    match n.attribute("name") {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(r.err(n, "DMN004", "a non-empty 'name' attribute", "none")),
    }
}

fn item_definition(r: &Reader, n: Node, depth: usize) -> Result<ItemDefinition, ModelError> {
    if depth > MAX_NESTING {
        return Err(r.err(
            n,
            "DMN005",
            &format!("at most {MAX_NESTING} nested item components"),
            "more",
        ));
    }
    let mut comps = Vec::new();
    for c in children(n, "itemComponent") {
        comps.push(item_definition(r, c, depth + 1)?);
    }
    let function = child(n, "functionItem").map(|f| {
        let params = children(f, "parameters")
            .map(|p| (attr(p, "name").unwrap_or_default(), attr(p, "typeRef")))
            .collect();
        (params, attr(f, "outputTypeRef"))
    });
    Ok(ItemDefinition {
        name: attr(n, "name").unwrap_or_default(),
        type_ref: child(n, "typeRef")
            .and_then(|t| t.text())
            .map(|s| s.trim().to_string()),
        allowed_values: child(n, "allowedValues").map(text_of),
        type_constraint: child(n, "typeConstraint").map(text_of),
        is_collection: n.attribute("isCollection") == Some("true"),
        components: comps,
        function,
        pos: r.pos(n),
    })
}

fn first_boxed<'a, 'i>(n: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|x| x.is_element() && BOXED.contains(&x.tag_name().name()))
}

fn boxed_child(r: &Reader, n: Node, depth: usize) -> Result<BoxedExpr, ModelError> {
    match first_boxed(n) {
        Some(b) => boxed(r, b, depth + 1),
        None => Ok(BoxedExpr {
            id: None,
            type_ref: None,
            kind: BoxedKind::Empty,
            language: None,
            pos: r.pos(n),
        }),
    }
}

fn boxed(r: &Reader, n: Node, depth: usize) -> Result<BoxedExpr, ModelError> {
    if depth > MAX_NESTING {
        return Err(r.err(
            n,
            "DMN005",
            &format!("at most {MAX_NESTING} nested boxed expressions"),
            "more",
        ));
    }
    let pos = r.pos(n);
    let kind = match n.tag_name().name() {
        "literalExpression" => BoxedKind::Literal(text_of(n)),
        "context" => {
            let mut entries = Vec::new();
            for e in children(n, "contextEntry") {
                let var = child(e, "variable")
                    .map(|v| (attr(v, "name").unwrap_or_default(), attr(v, "typeRef")));
                let val = match first_boxed(e) {
                    Some(b) => Some(boxed(r, b, depth + 1)?),
                    None => None,
                };
                entries.push((var, val));
            }
            BoxedKind::Context(entries)
        }
        "decisionTable" => BoxedKind::DecisionTable(decision_table(r, n)?),
        "invocation" => {
            let callee = boxed_child(r, n, depth)?;
            let mut binds = Vec::new();
            for b in children(n, "binding") {
                let name = child(b, "parameter")
                    .and_then(|p| attr(p, "name"))
                    .unwrap_or_default();
                let val = match first_boxed(b) {
                    Some(x) => Some(boxed(r, x, depth + 1)?),
                    None => None,
                };
                binds.push((name, val));
            }
            BoxedKind::Invocation(Box::new(callee), binds)
        }
        "relation" => {
            let cols: Vec<String> = children(n, "column")
                .map(|c| attr(c, "name").unwrap_or_default())
                .collect();
            let mut rows = Vec::new();
            for row in children(n, "row") {
                let mut cells = Vec::new();
                for c in row
                    .children()
                    .filter(|x| x.is_element() && BOXED.contains(&x.tag_name().name()))
                {
                    cells.push(Some(boxed(r, c, depth + 1)?));
                }
                rows.push(cells);
            }
            BoxedKind::Relation(cols, rows)
        }
        "list" => {
            let mut items = Vec::new();
            for c in n
                .children()
                .filter(|x| x.is_element() && BOXED.contains(&x.tag_name().name()))
            {
                items.push(boxed(r, c, depth + 1)?);
            }
            BoxedKind::List(items)
        }
        "functionDefinition" | "encapsulatedLogic" => {
            let params = children(n, "formalParameter")
                .map(|p| (attr(p, "name").unwrap_or_default(), attr(p, "typeRef")))
                .collect();
            let body = match first_boxed(n) {
                Some(b) => Some(Box::new(boxed(r, b, depth + 1)?)),
                None => None,
            };
            BoxedKind::Function(
                attr(n, "kind").unwrap_or_else(|| "FEEL".into()),
                params,
                body,
            )
        }
        "conditional" => {
            let part = |name: &'static str| -> Result<BoxedExpr, ModelError> {
                match child(n, name) {
                    Some(c) => boxed_child(r, c, depth),
                    None => Err(r.err(n, "DMN006", &format!("a <{name}> element"), "none")),
                }
            };
            BoxedKind::Conditional(
                Box::new(part("if")?),
                Box::new(part("then")?),
                Box::new(part("else")?),
            )
        }
        "filter" => {
            let part = |name: &'static str| -> Result<BoxedExpr, ModelError> {
                match child(n, name) {
                    Some(c) => boxed_child(r, c, depth),
                    None => Err(r.err(n, "DMN006", &format!("a <{name}> element"), "none")),
                }
            };
            BoxedKind::Filter(Box::new(part("in")?), Box::new(part("match")?))
        }
        k @ ("for" | "some" | "every") => {
            let body_name = if k == "for" { "return" } else { "satisfies" };
            let in_ = match child(n, "in") {
                Some(c) => boxed_child(r, c, depth)?,
                None => return Err(r.err(n, "DMN006", "an <in> element", "none")),
            };
            let body = match children(n, body_name).next() {
                Some(c) => boxed_child(r, c, depth)?,
                None => {
                    return Err(r.err(n, "DMN006", &format!("a <{body_name}> element"), "none"));
                }
            };
            BoxedKind::Iterator(
                k.to_string(),
                attr(n, "iteratorVariable").unwrap_or_default(),
                Box::new(in_),
                Box::new(body),
            )
        }
        other => return Err(r.err(n, "DMN007", "a boxed expression", &format!("<{other}>"))),
    };
    Ok(BoxedExpr {
        id: attr(n, "id"),
        type_ref: attr(n, "typeRef"),
        kind,
        language: attr(n, "expressionLanguage"),
        pos,
    })
}

fn entry(r: &Reader, n: Node) -> Entry {
    Entry {
        text: text_of(n),
        pos: r.pos(n),
        language: attr(n, "expressionLanguage"),
    }
}

fn decision_table(r: &Reader, n: Node) -> Result<DecisionTableDef, ModelError> {
    let inputs = children(n, "input")
        .map(|i| {
            let ie = child(i, "inputExpression");
            DtInput {
                expr: ie.map(text_of).unwrap_or_default(),
                type_ref: ie.and_then(|e| attr(e, "typeRef")),
                values: child(i, "inputValues").map(text_of),
                language: ie.and_then(|e| attr(e, "expressionLanguage")),
            }
        })
        .collect();
    let outputs = children(n, "output")
        .map(|o| DtOutput {
            name: attr(o, "name"),
            type_ref: attr(o, "typeRef"),
            values: child(o, "outputValues").map(text_of),
            default: child(o, "defaultOutputEntry").map(text_of),
        })
        .collect();
    let annotations = children(n, "annotation")
        .map(|a| attr(a, "name").unwrap_or_default())
        .collect();
    let rules = children(n, "rule")
        .map(|rule| DtRule {
            id: attr(rule, "id").unwrap_or_default(),
            inputs: children(rule, "inputEntry").map(|e| entry(r, e)).collect(),
            outputs: children(rule, "outputEntry").map(|e| entry(r, e)).collect(),
            annotations: children(rule, "annotationEntry").map(text_of).collect(),
        })
        .collect();
    Ok(DecisionTableDef {
        id: attr(n, "id").unwrap_or_default(),
        hit_policy: attr(n, "hitPolicy").unwrap_or_else(|| "UNIQUE".into()),
        aggregation: attr(n, "aggregation"),
        inputs,
        outputs,
        annotations,
        rules,
        pos: r.pos(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_dtd_and_reports_position() {
        let e = parse_definitions(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]><definitions/>",
        )
        .unwrap_err();
        assert_eq!(e.code, "DMN002");
        let e = parse_definitions("<foo/>").unwrap_err();
        assert_eq!(e.code, "DMN003");
        assert!(
            e.to_string()
                .contains("expected a <definitions> root element")
        );
    }

    #[test]
    fn reads_a_decision() {
        let xml = r##"<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="m" namespace="ns">
          <inputData id="i" name="Age"><variable name="Age" typeRef="number"/></inputData>
          <decision id="d" name="Adult"><variable name="Adult" typeRef="boolean"/>
            <informationRequirement><requiredInput href="#i"/></informationRequirement>
            <literalExpression><text>Age &gt;= 18</text></literalExpression></decision></definitions>"##;
        let d = parse_definitions(xml).unwrap();
        assert_eq!(d.decisions[0].info_reqs, vec!["#i"]);
        assert!(
            matches!(d.decisions[0].logic.as_ref().unwrap().kind, BoxedKind::Literal(ref t) if t == "Age >= 18")
        );
    }
}
