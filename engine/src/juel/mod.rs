//! The subset of JUEL (Jakarta/Java Unified Expression Language, EL 3.0, JSR 341) used by
//! Camunda 7 diagrams: `${…}` conditions, `camunda:expression`, input/output mappings.
//!
//! Implemented: composite templates (EL 3.0 §1.2: literal text and `${…}`/`#{…}` evaluations,
//! `\${` and `\#{` escapes), literals, variables, `.` and `[]` access, arithmetic, relational,
//! equality, logical, `empty`, conditional and grouping operators, evaluated over
//! [`serde_json::Value`] with the EL coercion rules (§1.7–1.9, §1.23).
//!
//! Method calls (`methods.rs`): on `execution` — `getVariable(name)` and
//! `getVariableLocal(name)` (`null` when missing, as Camunda's are),
//! `setVariable(name, value)` and `setVariableLocal` (only where the engine
//! applies them: a `camunda:expression` task; [`Variables::set`]),
//! `getProcessInstanceId()`, `getId()`, `getProcessBusinessKey()`,
//! `getBusinessKey()`, and the same as properties (`execution.processInstanceId`,
//! `execution.processBusinessKey`, …) —, and on values the Java methods real
//! diagrams call on strings, lists and maps: `size()`, `length()`,
//! `isEmpty()`, `contains(x)`, `containsKey(k)`, `equals(x)`,
//! `equalsIgnoreCase(s)`, `startsWith(s)`, `endsWith(s)`, `indexOf(x)`,
//! `substring(a[, b])`, `toUpperCase()`, `toLowerCase()`, `trim()`,
//! `toString()`, `get(i)`, `compareTo(x)`; and Camunda Spin's JSON API on
//! JSON values (`S(text)`, `prop(name)`, `hasProp(name)`, `elements()`,
//! `numberValue()`, `stringValue()`, `boolValue()`, `value()`,
//! `isNull()`). [`bean_call`] recognises a call
//! on a bean (`${service.notify(order)}`), which the engine turns into a job
//! rather than evaluating.
//!
//! Rejected at parse time with an error naming the construct: other method calls, function
//! calls, lambdas, assignment `=`, `;`, `+=`, `instanceof`, list/set/map construction, and
//! any other use of `execution`.
//!
//! Deliberate deviations:
//! * Like JUEL's implementation (and unlike the letter of the spec), `==`/`!=` treat a string
//!   containing `.`, `e` or `E` as a decimal when compared with a number, as arithmetic does.
//! * Integer overflow is an error instead of Java's silent wrap-around; a division or
//!   remainder whose result is not a finite number (`1/0`, `0.0 % 0`) is an error, since JSON
//!   cannot hold infinities or NaN.
//! * Arrays and objects convert to strings as JSON text (Java would print `{a=1}` / `[1, 2]`).
//! * Decimal numbers convert to strings like Java's `Double.toString` for the common ranges
//!   (`2.0`, `0.5`, `1.0E10`), which is not digit-for-digit identical in every case.
//! * A missing variable is an error ("unknown property"), but a missing key of an object is
//!   `null`, and an array index out of range is `null` (§1.6).
//! * Java class references (`java.lang.Math.PI`) are not detected specially: they read as a
//!   variable named `java` and fail at evaluation as unknown.

use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Deepest expression tree accepted; keeps parsing, evaluation and drop off the stack limit.
const MAX_DEPTH: u32 = 64;

/// An error parsing or evaluating a JUEL expression. Offsets are bytes into the source text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JuelError {
    /// The text does not follow the grammar.
    #[error("expected {expected}, found {found} at byte {offset}")]
    Syntax {
        offset: usize,
        expected: Cow<'static, str>,
        found: String,
    },
    /// Valid EL, but outside the subset this engine evaluates.
    #[error("{feature} are not supported in the JUEL subset (found `{found}`) at byte {offset}")]
    Unsupported {
        offset: usize,
        feature: &'static str,
        found: String,
    },
    /// A variable that is not defined (Camunda: "Unknown property used in expression").
    #[error(
        "unknown property used in expression: expected a variable `{name}`, found none at byte {offset}"
    )]
    UnknownVariable { offset: usize, name: String },
    /// A value could not be coerced to the type an operator needs.
    #[error("expected {expected}, found {found} at byte {offset}")]
    Type {
        offset: usize,
        expected: &'static str,
        found: String,
    },
    /// Integer overflow, or a decimal result that is infinite or NaN.
    #[error("expected a result that fits in a {kind}, found {detail} at byte {offset}")]
    Arithmetic {
        offset: usize,
        kind: &'static str,
        detail: &'static str,
    },
}

impl JuelError {
    /// Byte offset into the source text.
    pub fn offset(&self) -> usize {
        match self {
            JuelError::Syntax { offset, .. }
            | JuelError::Unsupported { offset, .. }
            | JuelError::UnknownVariable { offset, .. }
            | JuelError::Type { offset, .. }
            | JuelError::Arithmetic { offset, .. } => *offset,
        }
    }
}

mod methods;

pub use methods::{ExecutionProperty, bean_call};

/// Variable lookup for evaluation.
pub trait Variables {
    /// The value of variable `name`, or `None` when it is not defined.
    fn get(&self, name: &str) -> Option<Value>;
    /// A property of the execution (`processInstanceId`,
    /// `processBusinessKey`), or `None` where there is none.
    fn execution(&self, _property: ExecutionProperty) -> Option<Value> {
        None
    }
    /// `execution.setVariable(name, value)`: `false` where variables
    /// cannot be set (conditions, mappings).
    fn set(&self, _name: &str, _value: Value) -> bool {
        false
    }
}

impl<F: Fn(&str) -> Option<Value>> Variables for F {
    fn get(&self, name: &str) -> Option<Value> {
        self(name)
    }
}

impl Variables for Map<String, Value> {
    fn get(&self, name: &str) -> Option<Value> {
        Map::get(self, name).cloned()
    }
}

impl<S: std::hash::BuildHasher> Variables for HashMap<String, Value, S> {
    fn get(&self, name: &str) -> Option<Value> {
        HashMap::get(self, name).cloned()
    }
}

/// A parsed JUEL expression or template; immutable, `Send + Sync`, evaluated many times.
#[derive(Debug, Clone, PartialEq)]
pub struct JuelExpr {
    body: Body,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// No evaluation at all: the text (with escapes resolved) is the value.
    Literal(String),
    /// Exactly one `${…}` and nothing around it: the value of the evaluation.
    Single(Node),
    /// Text and evaluations: the concatenation of their string forms.
    Composite(Vec<Part>),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Eval(Node),
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    at: usize,
    depth: u32,
    kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
enum NodeKind {
    Literal(Value),
    Variable(String),
    /// `execution.getVariable(name)`: `null` when missing.
    GetVariable(Box<Node>),
    /// `execution.setVariable(name, value)`.
    SetVariable(Box<Node>, Box<Node>),
    /// `execution.processInstanceId`, `execution.getProcessBusinessKey()`, …
    Execution(methods::ExecutionProperty),
    /// `value.method(args)` on a string, list or map.
    Method(Box<Node>, methods::Method, Vec<Node>),
    /// Camunda Spin's `S(value)`.
    Spin(Box<Node>),
    Property(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    Conditional(Box<Node>, Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnaryOp {
    Neg,
    Not,
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
}

impl JuelExpr {
    /// Parses a template such as `${a > 1}`, `Hello ${name}!` or plain text.
    pub fn parse(source: &str) -> Result<JuelExpr, JuelError> {
        let mut parts: Vec<Part> = Vec::new();
        let mut text = String::new();
        let mut delimiter: Option<(u8, usize)> = None;
        let bytes = source.as_bytes();
        let mut i = 0;
        let mut literal_start = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\\'
                && matches!(bytes.get(i + 1), Some(b'$' | b'#'))
                && bytes.get(i + 2) == Some(&b'{')
            {
                text.push_str(&source[literal_start..i]);
                text.push_str(&source[i + 1..i + 3]);
                i += 3;
                literal_start = i;
                continue;
            }
            if matches!(b, b'$' | b'#') && bytes.get(i + 1) == Some(&b'{') {
                match delimiter {
                    Some((d, _)) if d != b => {
                        return Err(JuelError::Syntax {
                            offset: i,
                            expected: format!(
                                "only `{}{{` evaluations in one template (EL forbids mixing `${{` and `#{{`)",
                                d as char
                            )
                            .into(),
                            found: format!("`{}{{`", b as char),
                        });
                    }
                    _ => delimiter = Some((b, i)),
                }
                text.push_str(&source[literal_start..i]);
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                let (node, end) = parse_eval(source, i + 2)?;
                parts.push(Part::Eval(node));
                i = end;
                literal_start = i;
                continue;
            }
            i += 1;
        }
        text.push_str(&source[literal_start..]);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        let body = match parts.len() {
            0 => Body::Literal(String::new()),
            1 => match parts.pop() {
                Some(Part::Text(t)) => Body::Literal(t),
                Some(Part::Eval(n)) => Body::Single(n),
                None => Body::Literal(String::new()),
            },
            _ => Body::Composite(parts),
        };
        Ok(JuelExpr { body })
    }

    /// True when the expression mixes text with evaluations (`Hello ${name}!`): its value is
    /// always a string. False for a single `${…}` (any value) and for plain text.
    pub fn is_template(&self) -> bool {
        matches!(self.body, Body::Composite(_))
    }

    /// True when there is no evaluation at all: the value is the text itself.
    pub fn is_literal(&self) -> bool {
        matches!(self.body, Body::Literal(_))
    }

    /// Evaluates against `vars`.
    pub fn eval(&self, vars: &dyn Variables) -> Result<Value, JuelError> {
        match &self.body {
            Body::Literal(t) => Ok(Value::String(t.clone())),
            Body::Single(n) => eval(n, vars),
            Body::Composite(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Eval(n) => out.push_str(&to_el_string(&eval(n, vars)?)),
                    }
                }
                Ok(Value::String(out))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// Punctuation and operator symbols, including word operators normalised to symbols.
    Sym(&'static str),
    /// The `}` closing the evaluation.
    End,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const SYMBOLS: [&str; 29] = [
    "==", "!=", "<=", ">=", "&&", "||", "->", "+=", "+", "-", "*", "/", "%", "<", ">", "!", "?",
    ":", "(", ")", "[", "]", ".", ",", "=", ";", "{", "|", "&",
];

/// Tokens from `start` up to and including the `}` that closes the evaluation.
fn lex(src: &str, start: usize) -> Result<Vec<Token>, JuelError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = start;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let Some(&b) = bytes.get(i) else {
            return Err(JuelError::Syntax {
                offset: i,
                expected: "`}` closing the expression".into(),
                found: "end of input".to_owned(),
            });
        };
        let s = i;
        if b == b'}' {
            toks.push(Token {
                tok: Tok::End,
                start: s,
                end: s + 1,
            });
            return Ok(toks);
        }
        let tok = if b.is_ascii_digit()
            || (b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (t, e) = lex_number(src, i)?;
            i = e;
            t
        } else if b == b'\'' || b == b'"' {
            let (t, e) = lex_string(src, i)?;
            i = e;
            t
        } else if let Some(c) = src[i..]
            .chars()
            .next()
            .filter(|c| c.is_alphabetic() || *c == '_' || *c == '$')
        {
            let mut e = i + c.len_utf8();
            for c in src[e..].chars() {
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    e += c.len_utf8();
                } else {
                    break;
                }
            }
            let word = &src[i..e];
            i = e;
            match word {
                "true" => Tok::Sym("true"),
                "false" => Tok::Sym("false"),
                "null" => Tok::Sym("null"),
                "and" => Tok::Sym("&&"),
                "or" => Tok::Sym("||"),
                "not" => Tok::Sym("!"),
                "eq" => Tok::Sym("=="),
                "ne" => Tok::Sym("!="),
                "lt" => Tok::Sym("<"),
                "gt" => Tok::Sym(">"),
                "le" => Tok::Sym("<="),
                "ge" => Tok::Sym(">="),
                "div" => Tok::Sym("/"),
                "mod" => Tok::Sym("%"),
                "empty" => Tok::Sym("empty"),
                "instanceof" => Tok::Sym("instanceof"),
                _ => Tok::Ident(word.to_owned()),
            }
        } else if let Some(sym) = SYMBOLS.iter().find(|sym| src[i..].starts_with(**sym)) {
            i += sym.len();
            Tok::Sym(sym)
        } else {
            let c = src[i..].chars().next().unwrap_or('?');
            return Err(JuelError::Syntax {
                offset: i,
                expected: "an operand or operator".into(),
                found: format!("`{c}`"),
            });
        };
        toks.push(Token {
            tok,
            start: s,
            end: i,
        });
    }
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), JuelError> {
    let bytes = src.as_bytes();
    let mut i = start;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_float = false;
    if bytes.get(i) == Some(&b'.')
        && !bytes
            .get(i + 1)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        is_float = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            return Err(JuelError::Syntax {
                offset: j,
                expected: "digits in the exponent".into(),
                found: found_at(src, j),
            });
        }
    }
    let text = &src[start..i];
    if is_float {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok((Tok::Float(f), i)),
            _ => Err(JuelError::Syntax {
                offset: start,
                expected: "a finite decimal literal".into(),
                found: format!("`{text}`"),
            }),
        }
    } else {
        match text.parse::<i64>() {
            Ok(n) => Ok((Tok::Int(n), i)),
            Err(_) => Err(JuelError::Syntax {
                offset: start,
                expected: "an integer literal that fits in 64 bits".into(),
                found: format!("`{text}`"),
            }),
        }
    }
}

fn lex_string(src: &str, start: usize) -> Result<(Tok, usize), JuelError> {
    let quote = src.as_bytes()[start];
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        if c == quote as char {
            return Ok((Tok::Str(out), at + 1));
        }
        if c == '\\' {
            match chars.next() {
                Some((_, e @ ('\'' | '"' | '\\'))) => out.push(e),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            }
        } else {
            out.push(c);
        }
    }
    Err(JuelError::Syntax {
        offset: src.len(),
        expected: format!(
            "`{}` closing the string started at byte {start}",
            quote as char
        )
        .into(),
        found: "end of input".to_owned(),
    })
}

fn found_at(src: &str, at: usize) -> String {
    match src.get(at..) {
        Some(rest) if !rest.is_empty() => {
            let s: String = rest.chars().take(12).collect();
            format!("`{s}`")
        }
        _ => "end of input".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parser (EL 3.0 §1.17 precedence: ?: < || < && < == != < relational < + - < * / % < unary)
// ---------------------------------------------------------------------------------------------

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    nesting: u32,
}

/// Parses the evaluation starting at `start` (just after `${`); returns it and the byte
/// offset after the closing `}`.
fn parse_eval(src: &str, start: usize) -> Result<(Node, usize), JuelError> {
    let toks = lex(src, start)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        nesting: 0,
    };
    if p.peek().tok == Tok::End {
        return Err(p.unexpected("an expression"));
    }
    let node = p.ternary()?;
    let t = p.peek().clone();
    if t.tok != Tok::End {
        return Err(p.unexpected("an operator or `}`"));
    }
    Ok((node, t.end))
}

fn too_deep(at: usize) -> JuelError {
    JuelError::Syntax {
        offset: at,
        expected: format!("an expression nested at most {MAX_DEPTH} operations deep").into(),
        found: "a deeper one".to_owned(),
    }
}

fn node(at: usize, kind: NodeKind) -> Result<Node, JuelError> {
    let children = match &kind {
        NodeKind::Literal(_) | NodeKind::Variable(_) | NodeKind::Execution(_) => 0,
        NodeKind::Property(a, _)
        | NodeKind::Unary(_, a)
        | NodeKind::GetVariable(a)
        | NodeKind::Spin(a) => a.depth,
        NodeKind::Index(a, b) | NodeKind::Binary(_, a, b) | NodeKind::SetVariable(a, b) => {
            a.depth.max(b.depth)
        }
        NodeKind::Method(a, _, args) => args.iter().map(|n| n.depth).fold(a.depth, u32::max),
        NodeKind::Conditional(a, b, c) => a.depth.max(b.depth).max(c.depth),
    };
    let depth = children + 1;
    if depth > MAX_DEPTH {
        return Err(too_deep(at));
    }
    Ok(Node { at, depth, kind })
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and the parser never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(&self.peek().tok, Tok::Sym(x) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &'static str) -> JuelError {
        let t = self.peek();
        if let Some(e) = self.unsupported(t) {
            return e;
        }
        let found = match t.tok {
            Tok::End => "`}`".to_owned(),
            _ => format!("`{}`", &self.src[t.start..t.end]),
        };
        JuelError::Syntax {
            offset: t.start,
            expected: expected.into(),
            found,
        }
    }

    /// A dedicated error for tokens that begin constructs outside the subset.
    fn unsupported(&self, t: &Token) -> Option<JuelError> {
        let feature = match t.tok {
            Tok::Sym("=") => "assignments",
            Tok::Sym(";") => "`;` (semicolon) operators",
            Tok::Sym("->") => "lambda expressions",
            Tok::Sym("+=") => "`+=` string concatenations",
            Tok::Sym("instanceof") => "`instanceof` tests",
            Tok::Sym("{") => "set and map constructions",
            _ => return None,
        };
        Some(JuelError::Unsupported {
            offset: t.start,
            feature,
            found: self.src[t.start..t.end].to_owned(),
        })
    }

    fn enter(&mut self, at: usize) -> Result<(), JuelError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(at));
        }
        Ok(())
    }

    fn ternary(&mut self) -> Result<Node, JuelError> {
        let at = self.peek().start;
        self.enter(at)?;
        let cond = self.binary(0)?;
        let result = if self.eat_sym("?") {
            let a = self.ternary()?;
            if !self.eat_sym(":") {
                return Err(self.unexpected("`:` in the conditional expression"));
            }
            let b = self.ternary()?;
            let at = cond.at;
            node(
                at,
                NodeKind::Conditional(Box::new(cond), Box::new(a), Box::new(b)),
            )?
        } else {
            cond
        };
        self.nesting -= 1;
        Ok(result)
    }

    /// Binary operators by precedence level, left-associative.
    fn binary(&mut self, level: usize) -> Result<Node, JuelError> {
        const LEVELS: [&[(&str, BinaryOp)]; 6] = [
            &[("||", BinaryOp::Or)],
            &[("&&", BinaryOp::And)],
            &[("==", BinaryOp::Eq), ("!=", BinaryOp::Ne)],
            &[
                ("<", BinaryOp::Lt),
                (">", BinaryOp::Gt),
                ("<=", BinaryOp::Le),
                (">=", BinaryOp::Ge),
            ],
            &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)],
            &[
                ("*", BinaryOp::Mul),
                ("/", BinaryOp::Div),
                ("%", BinaryOp::Mod),
            ],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        loop {
            let t = self.peek().clone();
            let Some(&(_, op)) = ops
                .iter()
                .find(|(s, _)| matches!(&t.tok, Tok::Sym(x) if x == s))
            else {
                if matches!(t.tok, Tok::Sym("|") | Tok::Sym("&")) {
                    return Err(JuelError::Syntax {
                        offset: t.start,
                        expected: "`||` or `&&` (EL has no bitwise operators)".into(),
                        found: format!("`{}`", &self.src[t.start..t.end]),
                    });
                }
                return Ok(left);
            };
            self.bump();
            let right = self.binary(level + 1)?;
            left = node(
                t.start,
                NodeKind::Binary(op, Box::new(left), Box::new(right)),
            )?;
        }
    }

    fn unary(&mut self) -> Result<Node, JuelError> {
        let t = self.peek().clone();
        let op = match t.tok {
            Tok::Sym("-") => UnaryOp::Neg,
            Tok::Sym("!") => UnaryOp::Not,
            Tok::Sym("empty") => UnaryOp::Empty,
            _ => return self.postfix(),
        };
        self.bump();
        self.enter(t.start)?;
        let operand = self.unary()?;
        self.nesting -= 1;
        node(t.start, NodeKind::Unary(op, Box::new(operand)))
    }

    fn postfix(&mut self) -> Result<Node, JuelError> {
        let first = self.peek().clone();
        if first.tok == Tok::Ident("execution".to_owned()) {
            return self.execution();
        }
        let base = self.primary()?;
        self.postfix_on(base, first.start)
    }

    /// The arguments of a call, after its `(`, up to and including `)`.
    fn arguments(&mut self) -> Result<Vec<Node>, JuelError> {
        let mut args = Vec::new();
        if self.eat_sym(")") {
            return Ok(args);
        }
        loop {
            let at = self.peek().start;
            self.enter(at)?;
            args.push(self.ternary()?);
            self.nesting -= 1;
            if self.eat_sym(")") {
                return Ok(args);
            }
            if !self.eat_sym(",") {
                return Err(self.unexpected("`,` or `)` in the argument list"));
            }
        }
    }

    /// `execution.…`: the variable accessors and the instance's properties.
    fn execution(&mut self) -> Result<Node, JuelError> {
        let start = self.peek().start;
        self.bump();
        if !self.eat_sym(".") {
            return Err(JuelError::Unsupported {
                offset: start,
                feature: "uses of `execution` other than its methods and properties",
                found: "execution".to_owned(),
            });
        }
        let Tok::Ident(name) = self.peek().tok.clone() else {
            return Err(self.unexpected("a method or property of `execution` after `.`"));
        };
        let name_end = self.peek().end;
        self.bump();
        let call = self.eat_sym("(");
        let args = if call { self.arguments()? } else { Vec::new() };
        let n = methods::execution_node(&name, call, args).map_err(|feature| {
            JuelError::Unsupported {
                offset: start,
                feature,
                found: self.src[start..name_end].to_owned(),
            }
        })?;
        let n = node(start, n)?;
        self.postfix_on(n, start)
    }

    /// Continues `.`/`[]` accesses on an already parsed base.
    fn postfix_on(&mut self, mut base: Node, start: usize) -> Result<Node, JuelError> {
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Sym(".") => {
                    self.bump();
                    let Tok::Ident(name) = self.peek().tok.clone() else {
                        return Err(self.unexpected("a property name after `.`"));
                    };
                    let name_end = self.peek().end;
                    self.bump();
                    if self.eat_sym("(") {
                        let Some(method) = methods::Method::named(&name) else {
                            return Err(JuelError::Unsupported {
                                offset: start,
                                feature: methods::SUPPORTED,
                                found: self.src[start..name_end].to_owned(),
                            });
                        };
                        let args = self.arguments()?;
                        base = node(t.start, NodeKind::Method(Box::new(base), method, args))?;
                        continue;
                    }
                    base = node(t.start, NodeKind::Property(Box::new(base), name))?;
                }
                Tok::Sym("[") => {
                    self.bump();
                    self.enter(t.start)?;
                    let index = self.ternary()?;
                    self.nesting -= 1;
                    if !self.eat_sym("]") {
                        return Err(self.unexpected("`]` after the index"));
                    }
                    base = node(t.start, NodeKind::Index(Box::new(base), Box::new(index)))?;
                }
                Tok::Sym("(") => {
                    return Err(JuelError::Unsupported {
                        offset: start,
                        feature: "calls of a value",
                        found: self.src[start..t.end].to_owned(),
                    });
                }
                _ => return Ok(base),
            }
        }
    }

    fn primary(&mut self) -> Result<Node, JuelError> {
        let t = self.peek().clone();
        let lit = |v: Value| node(t.start, NodeKind::Literal(v));
        match &t.tok {
            Tok::Int(n) => {
                self.bump();
                lit(Value::from(*n))
            }
            Tok::Float(f) => {
                self.bump();
                lit(Number::from_f64(*f).map_or(Value::Null, Value::Number))
            }
            Tok::Str(s) => {
                self.bump();
                lit(Value::String(s.clone()))
            }
            Tok::Sym("true") => {
                self.bump();
                lit(Value::Bool(true))
            }
            Tok::Sym("false") => {
                self.bump();
                lit(Value::Bool(false))
            }
            Tok::Sym("null") => {
                self.bump();
                lit(Value::Null)
            }
            Tok::Ident(name) => {
                // `fn:name(` — an EL function call.
                if self.peek_at(1).tok == Tok::Sym(":")
                    && matches!(self.peek_at(2).tok, Tok::Ident(_))
                    && self.peek_at(3).tok == Tok::Sym("(")
                {
                    let end = self.peek_at(3).end;
                    return Err(JuelError::Unsupported {
                        offset: t.start,
                        feature: "function calls",
                        found: self.src[t.start..end].to_owned(),
                    });
                }
                // Camunda Spin's `S(value)`: a JSON text is parsed, JSON
                // values are themselves.
                if name == "S" && self.peek_at(1).tok == Tok::Sym("(") {
                    self.pos += 2;
                    let mut args = self.arguments()?;
                    if args.len() != 1 {
                        return Err(JuelError::Syntax {
                            offset: t.start,
                            expected: "one argument to `S(…)`".into(),
                            found: format!("{}", args.len()),
                        });
                    }
                    return node(t.start, NodeKind::Spin(Box::new(args.remove(0))));
                }
                if self.peek_at(1).tok == Tok::Sym("(") {
                    let end = self.peek_at(1).end;
                    return Err(JuelError::Unsupported {
                        offset: t.start,
                        feature: "function calls",
                        found: self.src[t.start..end].to_owned(),
                    });
                }
                if self.peek_at(1).tok == Tok::Sym("->") {
                    let end = self.peek_at(1).end;
                    return Err(JuelError::Unsupported {
                        offset: t.start,
                        feature: "lambda expressions",
                        found: self.src[t.start..end].to_owned(),
                    });
                }
                self.bump();
                node(t.start, NodeKind::Variable(name.clone()))
            }
            Tok::Sym("(") => {
                self.bump();
                // `(x, y) -> …` or `() -> …` is a lambda.
                let close = self.toks[self.pos..]
                    .iter()
                    .position(|t| t.tok == Tok::Sym(")"));
                if let Some(c) = close
                    && self.peek_at(c + 1).tok == Tok::Sym("->")
                    && self.toks[self.pos..self.pos + c]
                        .iter()
                        .all(|t| matches!(t.tok, Tok::Ident(_) | Tok::Sym(",")))
                {
                    let end = self.peek_at(c + 1).end;
                    return Err(JuelError::Unsupported {
                        offset: t.start,
                        feature: "lambda expressions",
                        found: self.src[t.start..end].to_owned(),
                    });
                }
                let inner = self.ternary()?;
                if !self.eat_sym(")") {
                    return Err(self.unexpected("`)` closing the parenthesis"));
                }
                Ok(inner)
            }
            Tok::Sym("[") => Err(JuelError::Unsupported {
                offset: t.start,
                feature: "list constructions",
                found: "[".to_owned(),
            }),
            _ => Err(self.unexpected("an operand (number, string, variable, `(`)")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation and coercion (EL 3.0 §1.7–1.9, §1.23)
// ---------------------------------------------------------------------------------------------

fn eval(n: &Node, vars: &dyn Variables) -> Result<Value, JuelError> {
    match &n.kind {
        NodeKind::Literal(v) => Ok(v.clone()),
        NodeKind::Variable(name) => vars.get(name).ok_or_else(|| JuelError::UnknownVariable {
            offset: n.at,
            name: name.clone(),
        }),
        NodeKind::GetVariable(name) => {
            let name = to_el_string(&eval(name, vars)?);
            Ok(vars.get(&name).unwrap_or(Value::Null))
        }
        NodeKind::SetVariable(name, value) => {
            let name = to_el_string(&eval(name, vars)?);
            let value = eval(value, vars)?;
            if vars.set(&name, value) {
                Ok(Value::Null)
            } else {
                Err(JuelError::Unsupported {
                    offset: n.at,
                    feature: "`execution.setVariable` outside a `camunda:expression` task",
                    found: format!("execution.setVariable('{name}', …)"),
                })
            }
        }
        NodeKind::Execution(p) => Ok(vars.execution(*p).unwrap_or(Value::Null)),
        NodeKind::Spin(v) => match eval(v, vars)? {
            Value::String(text) => serde_json::from_str(&text).map_err(|e| JuelError::Type {
                offset: n.at,
                expected: "JSON text for `S(…)`",
                found: format!("text that does not parse ({e})"),
            }),
            other => Ok(other),
        },
        NodeKind::Method(base, m, args) => {
            let b = eval(base, vars)?;
            let args = args
                .iter()
                .map(|a| eval(a, vars))
                .collect::<Result<Vec<_>, _>>()?;
            methods::call(*m, b, &args, n.at)
        }
        NodeKind::Property(base, name) => {
            let b = eval(base, vars)?;
            access(b, &Value::String(name.clone()), n.at)
        }
        NodeKind::Index(base, index) => {
            let b = eval(base, vars)?;
            let i = eval(index, vars)?;
            access(b, &i, n.at)
        }
        NodeKind::Unary(op, operand) => {
            let v = eval(operand, vars)?;
            match op {
                UnaryOp::Empty => Ok(Value::Bool(match &v {
                    Value::Null => true,
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                })),
                UnaryOp::Not => Ok(Value::Bool(!to_bool(&v, operand.at)?)),
                UnaryOp::Neg => match &v {
                    Value::Null => Ok(Value::from(0)),
                    _ if is_decimal(&v) => float_value(-to_f64(&v, operand.at)?, n.at),
                    _ => {
                        let i = to_i64(&v, operand.at)?;
                        i.checked_neg()
                            .map(Value::from)
                            .ok_or_else(|| overflow(n.at))
                    }
                },
            }
        }
        NodeKind::Binary(BinaryOp::And, a, b) => {
            if !to_bool(&eval(a, vars)?, a.at)? {
                return Ok(Value::Bool(false));
            }
            Ok(Value::Bool(to_bool(&eval(b, vars)?, b.at)?))
        }
        NodeKind::Binary(BinaryOp::Or, a, b) => {
            if to_bool(&eval(a, vars)?, a.at)? {
                return Ok(Value::Bool(true));
            }
            Ok(Value::Bool(to_bool(&eval(b, vars)?, b.at)?))
        }
        NodeKind::Binary(op, a, b) => {
            let x = eval(a, vars)?;
            let y = eval(b, vars)?;
            binary(*op, &x, &y, n.at, a.at, b.at)
        }
        NodeKind::Conditional(c, a, b) => {
            if to_bool(&eval(c, vars)?, c.at)? {
                eval(a, vars)
            } else {
                eval(b, vars)
            }
        }
    }
}

/// `base.name` / `base[index]` (§1.6): null base → null; missing key → null; index out of
/// range → null.
fn access(base: Value, index: &Value, at: usize) -> Result<Value, JuelError> {
    match base {
        Value::Null => Ok(Value::Null),
        Value::Object(mut map) => {
            let key = match index {
                Value::Null => return Ok(Value::Null),
                Value::Array(_) | Value::Object(_) => {
                    return Err(type_error("a string or number as object key", index, at));
                }
                other => to_el_string(other),
            };
            Ok(map.remove(&key).unwrap_or(Value::Null))
        }
        Value::Array(mut items) => {
            if index.is_null() {
                return Ok(Value::Null);
            }
            let i = to_i64(index, at)?;
            match usize::try_from(i) {
                Ok(i) if i < items.len() => Ok(items.swap_remove(i)),
                _ => Ok(Value::Null),
            }
        }
        other => Err(type_error("an object or array before `.`/`[]`", &other, at)),
    }
}

fn binary(
    op: BinaryOp,
    x: &Value,
    y: &Value,
    at: usize,
    xa: usize,
    ya: usize,
) -> Result<Value, JuelError> {
    use BinaryOp::*;
    match op {
        Add | Sub | Mul => {
            if x.is_null() && y.is_null() {
                return Ok(Value::from(0));
            }
            if is_decimal(x) || is_decimal(y) {
                let (a, b) = (to_f64(x, xa)?, to_f64(y, ya)?);
                let r = match op {
                    Add => a + b,
                    Sub => a - b,
                    _ => a * b,
                };
                return float_value(r, at);
            }
            let (a, b) = (to_i64(x, xa)?, to_i64(y, ya)?);
            let r = match op {
                Add => a.checked_add(b),
                Sub => a.checked_sub(b),
                _ => a.checked_mul(b),
            };
            r.map(Value::from).ok_or_else(|| overflow(at))
        }
        Div => {
            if x.is_null() && y.is_null() {
                return Ok(Value::from(0));
            }
            float_value(to_f64(x, xa)? / to_f64(y, ya)?, at)
        }
        Mod => {
            if x.is_null() && y.is_null() {
                return Ok(Value::from(0));
            }
            if is_decimal(x) || is_decimal(y) {
                return float_value(to_f64(x, xa)? % to_f64(y, ya)?, at);
            }
            let (a, b) = (to_i64(x, xa)?, to_i64(y, ya)?);
            if b == 0 {
                return Err(JuelError::Arithmetic {
                    offset: at,
                    kind: "integer",
                    detail: "a remainder by zero",
                });
            }
            Ok(Value::from(a.wrapping_rem(b)))
        }
        Eq => Ok(Value::Bool(equals(x, y, xa, ya)?)),
        Ne => Ok(Value::Bool(!equals(x, y, xa, ya)?)),
        Lt | Gt | Le | Ge => {
            // §1.8.1: identical operands satisfy `<=` and `>=`, even when null.
            if x == y && matches!(op, Le | Ge) {
                return Ok(Value::Bool(true));
            }
            let Some(ord) = compare(x, y, xa, ya)? else {
                return Ok(Value::Bool(false));
            };
            Ok(Value::Bool(match op {
                Lt => ord.is_lt(),
                Gt => ord.is_gt(),
                Le => ord.is_le(),
                _ => ord.is_ge(),
            }))
        }
        And | Or => Ok(Value::Bool(match op {
            And => to_bool(x, xa)? && to_bool(y, ya)?,
            _ => to_bool(x, xa)? || to_bool(y, ya)?,
        })),
    }
}

/// EL `==` (§1.8.2), with JUEL's treatment of decimal-looking strings.
fn equals(x: &Value, y: &Value, xa: usize, ya: usize) -> Result<bool, JuelError> {
    if x == y {
        return Ok(true);
    }
    if x.is_null() || y.is_null() {
        return Ok(false);
    }
    let compound = |v: &Value| matches!(v, Value::Array(_) | Value::Object(_));
    if compound(x) || compound(y) {
        return Ok(false);
    }
    if (x.is_number() || y.is_number()) && (is_decimal(x) || is_decimal(y)) {
        return Ok(to_f64(x, xa)? == to_f64(y, ya)?);
    }
    if x.is_number() || y.is_number() {
        return Ok(to_i64(x, xa)? == to_i64(y, ya)?);
    }
    if x.is_boolean() || y.is_boolean() {
        return Ok(to_bool(x, xa)? == to_bool(y, ya)?);
    }
    Ok(to_el_string(x) == to_el_string(y))
}

/// EL relational operators (§1.8.1); `None` when either side is null (the result is false).
fn compare(
    x: &Value,
    y: &Value,
    xa: usize,
    ya: usize,
) -> Result<Option<std::cmp::Ordering>, JuelError> {
    if x.is_null() || y.is_null() {
        return Ok(None);
    }
    for (v, at) in [(x, xa), (y, ya)] {
        if matches!(v, Value::Array(_) | Value::Object(_)) {
            return Err(type_error("a number, string or boolean to compare", v, at));
        }
    }
    if (x.is_number() || y.is_number()) && (is_decimal(x) || is_decimal(y)) {
        return Ok(to_f64(x, xa)?.partial_cmp(&to_f64(y, ya)?));
    }
    if x.is_number() || y.is_number() {
        return Ok(Some(to_i64(x, xa)?.cmp(&to_i64(y, ya)?)));
    }
    if x.is_string() || y.is_string() {
        return Ok(Some(to_el_string(x).cmp(&to_el_string(y))));
    }
    // Both booleans.
    Ok(Some(to_bool(x, xa)?.cmp(&to_bool(y, ya)?)))
}

/// A decimal operand: a non-integer JSON number, or a string containing `.`, `e` or `E`.
fn is_decimal(v: &Value) -> bool {
    match v {
        Value::Number(n) => !n.is_i64(),
        Value::String(s) => s.contains(['.', 'e', 'E']),
        _ => false,
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(20).collect();
            let ellipsis = if short.len() < s.len() { "…" } else { "" };
            format!("string \"{short}{ellipsis}\"")
        }
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn type_error(expected: &'static str, found: &Value, at: usize) -> JuelError {
    JuelError::Type {
        offset: at,
        expected,
        found: describe(found),
    }
}

fn overflow(at: usize) -> JuelError {
    JuelError::Arithmetic {
        offset: at,
        kind: "64-bit integer",
        detail: "an overflow",
    }
}

fn float_value(f: f64, at: usize) -> Result<Value, JuelError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or(JuelError::Arithmetic {
            offset: at,
            kind: "finite decimal",
            detail: if f.is_nan() { "NaN" } else { "an infinity" },
        })
}

/// Coercion to `Long` (§1.23.3).
fn to_i64(v: &Value, at: usize) -> Result<i64, JuelError> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            // Java's `Number.longValue()` truncates.
            None => n
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.2e18)
                .map(|f| f.trunc() as i64)
                .ok_or_else(|| overflow(at)),
        },
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => s.parse().map_err(|_| type_error("a number", v, at)),
        _ => Err(type_error("a number", v, at)),
    }
}

/// Coercion to `Double` (§1.23.3).
fn to_f64(v: &Value, at: usize) -> Result<f64, JuelError> {
    match v {
        Value::Null => Ok(0.0),
        Value::Number(n) => n.as_f64().ok_or_else(|| type_error("a number", v, at)),
        Value::String(s) if s.is_empty() => Ok(0.0),
        Value::String(s) => {
            let looks_numeric = s
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
            match s.parse::<f64>() {
                Ok(f) if looks_numeric => Ok(f),
                _ => Err(type_error("a number", v, at)),
            }
        }
        _ => Err(type_error("a number", v, at)),
    }
}

/// Coercion to `Boolean` (§1.23.2).
fn to_bool(v: &Value, at: usize) -> Result<bool, JuelError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(s) => Ok(s.eq_ignore_ascii_case("true")),
        _ => Err(type_error("a boolean", v, at)),
    }
}

/// Coercion to `String` (§1.23.2).
fn to_el_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => match n.as_f64() {
                Some(f) if n.is_f64() => java_double(f),
                _ => n.to_string(),
            },
        },
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

/// Java's `Double.toString` shape: plain notation with at least one fraction digit for
/// 1e-3 <= |f| < 1e7, else `d.dddE±n`.
fn java_double(f: f64) -> String {
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

#[cfg(test)]
mod tests;
