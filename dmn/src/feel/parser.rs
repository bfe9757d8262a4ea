//! FEEL lexer and recursive-descent parser (DMN 1.5 §10.3.1.2, grammar rules
//! 1–67, precedence from §10.3.1.2 table 45 and the TCK: `**` is left
//! associative and unary minus binds tighter than `**`).
//!
//! Names with spaces and the additional name symbols `. / - ' + *` are
//! resolved against the names in scope, longest match first (§10.3.1.2 rule
//! 30 and the ambiguity note after it). Names that are not in scope are read
//! as a run of non-keyword words. Nesting is limited to [`MAX_DEPTH`] so that
//! hostile input cannot overflow the stack.

use super::ast::{Args, ArithOp, CmpOp, Expr, UnaryTest, UnaryTests};
use crate::number::Number;
use crate::temporal;
use crate::value::{Type, Value};
use std::sync::Arc;

/// Maximum syntactic nesting depth.
pub const MAX_DEPTH: usize = 128;

/// A FEEL syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Unexpected token.
    #[error("{line}:{column}: expected {expected}, found {found}")]
    Unexpected {
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// Byte offset.
        offset: usize,
        /// What the parser wanted.
        expected: String,
        /// What it saw.
        found: String,
    },
    /// Input nested too deeply.
    #[error("{line}:{column}: expected at most {MAX_DEPTH} levels of nesting, found more")]
    TooDeep {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(String),
    Str(String),
    Word(String),
    /// A backtick-quoted name (Camunda's FEEL): any characters, no keywords.
    Quoted(String),
    P(&'static str),
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const PUNCT: &[&str] = &[
    "..", "**", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ":", ".", "+", "-", "*", "/",
    "=", "<", ">", "?", "@", "'", "`", "#", "$", "%", "&", "|", "^", "~", ";", "!", "\\",
];

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || (c as u32 >= 0xC0 && !c.is_whitespace() && !c.is_control())
}

fn is_name_part(c: char) -> bool {
    is_name_start(c)
        || c.is_ascii_digit()
        || c == '\u{B7}'
        || ('\u{300}'..='\u{36F}').contains(&c)
        || ('\u{203F}'..='\u{2040}').contains(&c)
}

fn line_col(src: &str, off: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in src.char_indices() {
        if i >= off {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fn err_at(src: &str, off: usize, expected: &str, found: &str) -> ParseError {
    let (line, column) = line_col(src, off);
    ParseError::Unexpected {
        line,
        column,
        offset: off,
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut toks = Vec::new();
    let b = src;
    let mut i = 0;
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut k = 0;
    let at = |k: usize| chars.get(k).map(|x| x.1);
    let off = |k: usize| chars.get(k).map(|x| x.0).unwrap_or(src.len());
    while k < chars.len() {
        let c = chars[k].1;
        let start = chars[k].0;
        if c.is_whitespace() || c == '\u{FEFF}' {
            k += 1;
            continue;
        }
        if c == '/' && at(k + 1) == Some('/') {
            while k < chars.len() && chars[k].1 != '\n' {
                k += 1;
            }
            continue;
        }
        if c == '/' && at(k + 1) == Some('*') {
            k += 2;
            loop {
                if k >= chars.len() {
                    return Err(err_at(src, start, "end of comment '*/'", "end of input"));
                }
                if chars[k].1 == '*' && at(k + 1) == Some('/') {
                    k += 2;
                    break;
                }
                k += 1;
            }
            continue;
        }
        if c == '`' {
            let mut e = k + 1;
            while e < chars.len() && chars[e].1 != '`' {
                e += 1;
            }
            if e >= chars.len() {
                return Err(err_at(src, start, "closing '`'", "end of input"));
            }
            let name: String = chars[k + 1..e].iter().map(|x| x.1).collect();
            if name.trim().is_empty() {
                return Err(err_at(src, start, "a name between backticks", "``"));
            }
            toks.push(Token {
                tok: Tok::Quoted(norm_ws(&name)),
                start,
                end: off(e + 1),
            });
            k = e + 1;
            continue;
        }
        if c == '"' {
            k += 1;
            let mut s = String::new();
            loop {
                let Some(c) = at(k) else {
                    return Err(err_at(src, start, "closing '\"'", "end of input"));
                };
                k += 1;
                match c {
                    '"' => break,
                    '\\' => {
                        let Some(e) = at(k) else {
                            return Err(err_at(src, off(k), "escape character", "end of input"));
                        };
                        k += 1;
                        match e {
                            'n' => s.push('\n'),
                            'r' => s.push('\r'),
                            't' => s.push('\t'),
                            '"' => s.push('"'),
                            '\'' => s.push('\''),
                            '\\' => s.push('\\'),
                            'u' | 'U' => {
                                let n = if e == 'u' { 4 } else { 6 };
                                let hex: String = (0..n).filter_map(|j| at(k + j)).collect();
                                let cp = u32::from_str_radix(&hex, 16)
                                    .map_err(|_| err_at(src, off(k), "hex digits", &hex))?;
                                k += n;
                                if (0xD800..0xDC00).contains(&cp)
                                    && at(k) == Some('\\')
                                    && at(k + 1) == Some('u')
                                {
                                    let hex2: String =
                                        (0..4).filter_map(|j| at(k + 2 + j)).collect();
                                    if let Ok(lo) = u32::from_str_radix(&hex2, 16)
                                        && (0xDC00..0xE000).contains(&lo)
                                    {
                                        k += 6;
                                        let full = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                        s.push(char::from_u32(full).unwrap_or('\u{FFFD}'));
                                        continue;
                                    }
                                }
                                match char::from_u32(cp) {
                                    Some(ch) => s.push(ch),
                                    None => {
                                        return Err(err_at(
                                            src,
                                            off(k),
                                            "a valid code point",
                                            &hex,
                                        ));
                                    }
                                }
                            }
                            other => {
                                s.push('\\');
                                s.push(other);
                            }
                        }
                    }
                    c => s.push(c),
                }
            }
            toks.push(Token {
                tok: Tok::Str(s),
                start,
                end: off(k),
            });
            continue;
        }
        if c.is_ascii_digit()
            || (c == '.'
                && at(k + 1).is_some_and(|d| d.is_ascii_digit())
                && !matches!(toks.last(), Some(Token { tok: Tok::Word(_) | Tok::P(")") | Tok::P("]"), end, .. }) if *end == start))
        {
            let s0 = k;
            while at(k).is_some_and(|d| d.is_ascii_digit()) {
                k += 1;
            }
            if at(k) == Some('.') && at(k + 1).is_some_and(|d| d.is_ascii_digit()) {
                k += 1;
                while at(k).is_some_and(|d| d.is_ascii_digit()) {
                    k += 1;
                }
            }
            if matches!(at(k), Some('e' | 'E')) {
                let save = k;
                k += 1;
                if matches!(at(k), Some('+' | '-')) {
                    k += 1;
                }
                if at(k).is_some_and(|d| d.is_ascii_digit()) {
                    while at(k).is_some_and(|d| d.is_ascii_digit()) {
                        k += 1;
                    }
                } else {
                    k = save;
                }
            }
            let text = &b[off(s0)..off(k)];
            toks.push(Token {
                tok: Tok::Num(text.to_string()),
                start,
                end: off(k),
            });
            continue;
        }
        if is_name_start(c) {
            while at(k).is_some_and(is_name_part) {
                k += 1;
            }
            toks.push(Token {
                tok: Tok::Word(b[start..off(k)].to_string()),
                start,
                end: off(k),
            });
            continue;
        }
        let rest = &b[start..];
        if let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) {
            k += p.chars().count();
            toks.push(Token {
                tok: Tok::P(p),
                start,
                end: off(k),
            });
            continue;
        }
        return Err(err_at(src, start, "a FEEL token", &c.to_string()));
    }
    let _ = &mut i;
    i = src.len();
    toks.push(Token {
        tok: Tok::Eof,
        start: i,
        end: i,
    });
    Ok(toks)
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "between",
    "in",
    "instance",
    "of",
    "if",
    "then",
    "else",
    "for",
    "return",
    "some",
    "every",
    "satisfies",
    "function",
    "true",
    "false",
    "null",
];

/// Names of the built-in functions, used for longest-match name resolution.
pub const BUILTIN_NAMES: &[&str] = &[
    "date and time",
    "years and months duration",
    "string length",
    "upper case",
    "lower case",
    "substring before",
    "substring after",
    "starts with",
    "ends with",
    "string join",
    "list contains",
    "insert before",
    "index of",
    "distinct values",
    "list replace",
    "round up",
    "round down",
    "round half up",
    "round half down",
    "day of year",
    "day of week",
    "month of year",
    "week of year",
    "overlaps before",
    "overlaps after",
    "finished by",
    "started by",
    "met by",
    "get value",
    "get entries",
    "context put",
    "context merge",
    "is defined",
    "is",
    // Camunda's FEEL (feel-scala) adds these.
    "get or else",
    "is empty",
    "is blank",
    "last day of month",
    "to base64",
    "from base64",
    "duplicate values",
    "put all",
    "from json",
    "to json",
    "random number",
];

/// A FEEL parser over one source text with a set of names in scope.
pub struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    base: &'a Names,
    names: Vec<Vec<String>>,
    no_bracket: bool,
    types: Option<TypeResolver<'a>>,
}

/// Resolves type names that are not FEEL built-ins (item definitions).
pub type TypeResolver<'a> = &'a dyn Fn(&str) -> Option<Type>;

impl std::fmt::Debug for Parser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parser").field("pos", &self.pos).finish()
    }
}

/// Names in scope, prepared once for longest-match lookup (whitespace runs
/// normalised, the built-in function names included, indexed by first
/// character).
#[derive(Debug, Clone, Default)]
pub struct Names {
    by_first: std::collections::HashMap<char, Vec<String>>,
}

impl Names {
    /// Prepares a set of names.
    pub fn new<I, S>(names: I) -> Names
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Names::default();
        let mut seen = std::collections::HashSet::new();
        let all = names
            .into_iter()
            .map(|n| norm_ws(n.as_ref()))
            .chain(BUILTIN_NAMES.iter().map(|s| s.to_string()));
        for n in all {
            if let Some(c) = n.chars().next()
                && seen.insert(n.clone())
            {
                set.by_first.entry(c).or_default().push(n);
            }
        }
        set
    }

    fn starting_with(&self, c: char) -> &[String] {
        self.by_first.get(&c).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Parses a FEEL expression. `names` are the names in scope (used to resolve
/// names containing spaces or special characters).
pub fn parse_expression(src: &str, names: &[String]) -> Result<Expr, ParseError> {
    parse_expression_in(src, &Names::new(names), None)
}

/// Parses a FEEL expression against prepared names; type names that are not
/// FEEL built-ins are resolved through `types` (item definitions of a DMN
/// model).
pub fn parse_expression_in(
    src: &str,
    names: &Names,
    types: Option<TypeResolver<'_>>,
) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src, names)?;
    p.types = types;
    let e = p.expression()?;
    p.expect_eof()?;
    Ok(e)
}

/// Parses FEEL unary tests (§10.3.1.2 rule 14).
pub fn parse_unary_tests(src: &str, names: &[String]) -> Result<UnaryTests, ParseError> {
    parse_unary_tests_in(src, &Names::new(names))
}

/// Parses FEEL unary tests against prepared names.
pub fn parse_unary_tests_in(src: &str, names: &Names) -> Result<UnaryTests, ParseError> {
    let mut p = Parser::new(src, names)?;
    let t = p.unary_tests()?;
    p.expect_eof()?;
    Ok(t)
}

/// Parses a FEEL type (`list<number>`, `context<a: string>`, ...).
pub fn parse_type(src: &str) -> Result<Type, ParseError> {
    let names = Names::default();
    let mut p = Parser::new(src, &names)?;
    let t = p.type_()?;
    p.expect_eof()?;
    Ok(t)
}

fn norm_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, names: &'a Names) -> Result<Parser<'a>, ParseError> {
        if src.len() > 1_000_000 {
            return Err(err_at(src, 0, "at most 1,000,000 bytes of FEEL", "more"));
        }
        let toks = lex(src)?;
        Ok(Parser {
            src,
            toks,
            pos: 0,
            depth: 0,
            base: names,
            names: Vec::new(),
            no_bracket: false,
            types: None,
        })
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn start(&self) -> usize {
        self.toks[self.pos].start
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn found(&self) -> String {
        match self.peek() {
            Tok::Eof => "end of input".into(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Num(s) | Tok::Word(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("`{s}`"),
            Tok::P(p) => format!("'{p}'"),
        }
    }

    fn error(&self, expected: &str) -> ParseError {
        err_at(self.src, self.start(), expected, &self.found())
    }

    fn is_p(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::P(q) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(q) if q == w)
    }

    fn eat_p(&mut self, p: &str) -> bool {
        if self.is_p(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_p(&mut self, p: &str) -> Result<(), ParseError> {
        if self.eat_p(p) {
            Ok(())
        } else {
            Err(self.error(&format!("'{p}'")))
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), ParseError> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.error(&format!("'{w}'")))
        }
    }

    fn expect_eof(&self) -> Result<(), ParseError> {
        if matches!(self.peek(), Tok::Eof) {
            Ok(())
        } else {
            Err(self.error("end of expression"))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let (line, column) = line_col(self.src, self.start());
            return Err(ParseError::TooDeep { line, column });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn push_names(&mut self, names: Vec<String>) {
        self.names.push(names);
    }

    fn pop_names(&mut self) {
        self.names.pop();
    }

    /// Tries to match a known name at the current token; returns the name and
    /// the index of the first token after it.
    fn match_known_name(&self) -> Option<(String, usize)> {
        let start = self.start();
        let rest = &self.src[start..];
        let mut best: Option<(usize, &str)> = None;
        let first = rest.chars().next()?;
        let base = self.base.starting_with(first).iter();
        for n in base.chain(self.names.iter().flatten()) {
            {
                if let Some(len) = match_name_text(rest, n)
                    && best.is_none_or(|(l, _)| len > l)
                {
                    best = Some((len, n));
                }
            }
        }
        let (len, name) = best?;
        let end = start + len;
        let mut p = self.pos;
        while p < self.toks.len() - 1 && self.toks[p].start < end {
            if self.toks[p].end > end {
                return None;
            }
            p += 1;
        }
        Some((name.to_string(), p))
    }

    /// Reads a name: known names first (longest match), then a run of words.
    fn name(&mut self) -> Result<String, ParseError> {
        if let Some((n, p)) = self.match_known_name() {
            self.unknown_function_after(p)?;
            self.pos = p;
            return Ok(n);
        }
        let mut parts = Vec::new();
        match self.peek().clone() {
            Tok::Word(w) if !KEYWORDS.contains(&w.as_str()) => {
                self.bump();
                parts.push(w);
            }
            _ => return Err(self.error("a name")),
        }
        while let Tok::Word(w) = self.peek().clone() {
            if KEYWORDS.contains(&w.as_str()) {
                break;
            }
            self.bump();
            parts.push(w);
        }
        Ok(parts.join(" "))
    }

    /// A known name followed by more words and `(` (`is definde(x)`,
    /// `string lenght(s)`) is a misspelt function: say so instead of
    /// failing on the word after the known part.
    fn unknown_function_after(&self, p: usize) -> Result<(), ParseError> {
        let mut q = p;
        while matches!(&self.toks[q].tok, Tok::Word(w) if !KEYWORDS.contains(&w.as_str())) {
            q += 1;
        }
        if q > p && matches!(self.toks[q].tok, Tok::P("(")) {
            let start = self.start();
            let text = norm_ws(&self.src[start..self.toks[q - 1].end]);
            return Err(err_at(
                self.src,
                start,
                "a known function",
                &format!("unknown function `{text}`"),
            ));
        }
        Ok(())
    }

    /// A name used as a declaration (context key, parameter, loop variable):
    /// everything up to a delimiter.
    fn decl_name(&mut self, stops: &[&str]) -> Result<String, ParseError> {
        if let Tok::Str(s) | Tok::Quoted(s) = self.peek().clone() {
            self.bump();
            return Ok(s);
        }
        let first = self.pos;
        while !matches!(self.peek(), Tok::Eof) {
            match self.peek() {
                Tok::P(p) if stops.contains(p) => break,
                Tok::Word(w) if stops.contains(&w.as_str()) => break,
                _ => {}
            }
            self.bump();
        }
        if self.pos == first {
            return Err(self.error("a name"));
        }
        let s = self.toks[first].start;
        let e = self.toks[self.pos - 1].end;
        Ok(norm_ws(&self.src[s..e]))
    }

    // ----- expressions -----

    /// expression = textual expression
    pub fn expression(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let r = self.expression_inner();
        self.leave();
        r
    }

    fn expression_inner(&mut self) -> Result<Expr, ParseError> {
        if self.is_word("for") && !matches!(self.peek_at(1), Tok::P("(" | "." | ":")) {
            return self.for_expr();
        }
        if (self.is_word("some") || self.is_word("every"))
            && !matches!(self.peek_at(1), Tok::P("(" | "." | ":"))
        {
            return self.quantified();
        }
        if self.is_word("if") && !matches!(self.peek_at(1), Tok::P("." | ":")) {
            self.bump();
            let c = self.expression()?;
            self.expect_word("then")?;
            let a = self.expression()?;
            self.expect_word("else")?;
            let b = self.expression()?;
            return Ok(Expr::If(Box::new(c), Box::new(a), Box::new(b)));
        }
        self.disjunction()
    }

    fn iteration_contexts(&mut self, terminator: &str) -> Result<Vec<(String, Expr)>, ParseError> {
        let mut v = Vec::new();
        loop {
            let name = self.decl_name(&["in"])?;
            self.expect_word("in")?;
            self.push_names(v.iter().map(|(n, _): &(String, Expr)| n.clone()).collect());
            let a = self.expression();
            self.pop_names();
            let a = a?;
            let e = if self.eat_p("..") {
                let b = self.expression()?;
                Expr::IterRange(Box::new(a), Box::new(b))
            } else {
                a
            };
            v.push((name, e));
            if !self.eat_p(",") {
                break;
            }
        }
        if !self.is_word(terminator) {
            return Err(self.error(&format!("',' or '{terminator}'")));
        }
        self.bump();
        Ok(v)
    }

    fn for_expr(&mut self) -> Result<Expr, ParseError> {
        self.bump();
        let ctxs = self.iteration_contexts("return")?;
        let mut names: Vec<String> = ctxs.iter().map(|(n, _)| n.clone()).collect();
        names.push("partial".into());
        self.push_names(names);
        let body = self.expression();
        self.pop_names();
        Ok(Expr::For(ctxs, Box::new(body?)))
    }

    fn quantified(&mut self) -> Result<Expr, ParseError> {
        let every = matches!(self.bump().tok, Tok::Word(ref w) if w == "every");
        let ctxs = self.iteration_contexts("satisfies")?;
        self.push_names(ctxs.iter().map(|(n, _)| n.clone()).collect());
        let body = self.expression();
        self.pop_names();
        Ok(Expr::Quantified(every, ctxs, Box::new(body?)))
    }

    fn disjunction(&mut self) -> Result<Expr, ParseError> {
        // Counted as a nesting level too: one pass through the precedence
        // chain costs about a dozen stack frames.
        self.enter()?;
        let r = self.disjunction_inner();
        self.leave();
        r
    }

    fn disjunction_inner(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.conjunction()?;
        while self.eat_word("or") {
            let r = self.conjunction()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn conjunction(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.comparison()?;
        while self.eat_word("and") {
            let r = self.comparison()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek() {
            Tok::P("=") => CmpOp::Eq,
            Tok::P("!=") => CmpOp::Ne,
            Tok::P("<") => CmpOp::Lt,
            Tok::P("<=") => CmpOp::Le,
            Tok::P(">") => CmpOp::Gt,
            Tok::P(">=") => CmpOp::Ge,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.instance_of()?;
        loop {
            if let Some(op) = self.cmp_op() {
                self.bump();
                let r = self.instance_of()?;
                l = Expr::Cmp(op, Box::new(l), Box::new(r));
            } else if self.eat_word("between") {
                let a = self.instance_of()?;
                self.expect_word("and")?;
                let b = self.instance_of()?;
                l = Expr::Between(Box::new(l), Box::new(a), Box::new(b));
            } else if self.is_word("in") {
                self.bump();
                let tests = if self.is_p("(") && self.paren_is_test_list() {
                    self.bump();
                    let t = self.positive_unary_tests()?;
                    self.expect_p(")")?;
                    t
                } else {
                    vec![self.positive_unary_test()?]
                };
                l = Expr::In(Box::new(l), tests);
            } else {
                return Ok(l);
            }
        }
    }

    /// After `in`: is `( ... )` a parenthesised list of tests (contains a
    /// top-level comma) rather than an expression or a range?
    fn paren_is_test_list(&self) -> bool {
        if matches!(
            self.peek_at(1),
            Tok::P("<" | "<=" | ">" | ">=" | "=" | "!=")
        ) {
            return true;
        }
        let mut depth = 0i32;
        let mut p = self.pos;
        while p < self.toks.len() {
            match &self.toks[p].tok {
                Tok::P("(" | "[" | "{") => depth += 1,
                Tok::P(")" | "]" | "}") => {
                    depth -= 1;
                    if depth == 0 {
                        return false;
                    }
                }
                Tok::P(",") if depth == 1 => return true,
                Tok::P("..") if depth == 1 => return false,
                Tok::Eof => return false,
                _ => {}
            }
            p += 1;
        }
        false
    }

    fn instance_of(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.additive()?;
        while self.is_word("instance") && matches!(self.peek_at(1), Tok::Word(w) if w == "of") {
            self.bump();
            self.bump();
            let t = self.type_()?;
            l = Expr::InstanceOf(Box::new(l), t);
        }
        Ok(l)
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.multiplicative()?;
        loop {
            let op = if self.is_p("+") {
                ArithOp::Add
            } else if self.is_p("-") {
                ArithOp::Sub
            } else {
                return Ok(l);
            };
            self.bump();
            let r = self.multiplicative()?;
            l = Expr::Arith(op, Box::new(l), Box::new(r));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.power()?;
        loop {
            let op = if self.is_p("*") {
                ArithOp::Mul
            } else if self.is_p("/") {
                ArithOp::Div
            } else {
                return Ok(l);
            };
            self.bump();
            let r = self.power()?;
            l = Expr::Arith(op, Box::new(l), Box::new(r));
        }
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.unary()?;
        while self.eat_p("**") {
            let r = self.unary()?;
            l = Expr::Arith(ArithOp::Pow, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_p("-") {
            self.enter()?;
            let e = self.unary();
            self.leave();
            return Ok(match e? {
                Expr::Const(Value::Number(n)) => Expr::num(n.neg()),
                e => Expr::Neg(Box::new(e)),
            });
        }
        if self.eat_p("+") {
            self.enter()?;
            let e = self.unary();
            self.leave();
            return e;
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        loop {
            if self.eat_p(".") {
                let name = match self.peek().clone() {
                    Tok::Word(_) => self.name()?,
                    Tok::Str(s) | Tok::Quoted(s) => {
                        self.bump();
                        s
                    }
                    _ => return Err(self.error("a name after '.'")),
                };
                e = Expr::Path(Box::new(e), name);
            } else if self.is_p("[") && !self.no_bracket {
                self.bump();
                self.enter()?;
                let f = self.expression();
                self.leave();
                let f = f?;
                self.expect_p("]")?;
                e = Expr::Filter(Box::new(e), Box::new(f));
            } else if self.is_p("(") {
                self.bump();
                let args = self.arguments()?;
                e = Expr::Call(Box::new(e), args);
            } else {
                return Ok(e);
            }
        }
    }

    fn arguments(&mut self) -> Result<Args, ParseError> {
        if self.eat_p(")") {
            return Ok(Args::Positional(vec![]));
        }
        // Named if the first argument is `name :`.
        let named = {
            let mut p = self.pos;
            let mut ok = false;
            while p < self.toks.len() {
                match &self.toks[p].tok {
                    Tok::Word(_) | Tok::Quoted(_) => p += 1,
                    Tok::P(":") => {
                        ok = p > self.pos;
                        break;
                    }
                    Tok::P("." | "-" | "'" | "/" | "+" | "*") if p > self.pos => p += 1,
                    _ => break,
                }
            }
            ok
        };
        if named {
            let mut v = Vec::new();
            loop {
                let n = self.decl_name(&[":"])?;
                self.expect_p(":")?;
                let e = self.expression()?;
                v.push((n, e));
                if self.eat_p(")") {
                    break;
                }
                self.expect_p(",")?;
            }
            Ok(Args::Named(v))
        } else {
            let mut v = Vec::new();
            loop {
                v.push(self.expression()?);
                if self.eat_p(")") {
                    break;
                }
                if !self.eat_p(",") {
                    return Err(self.error("',' or ')'"));
                }
            }
            Ok(Args::Positional(v))
        }
    }

    fn range_end(&mut self, start: Option<Expr>, start_incl: bool) -> Result<Expr, ParseError> {
        // after '..'; a '[' here closes the range instead of opening a filter
        let saved = self.no_bracket;
        self.no_bracket = true;
        let end = self.expression();
        self.no_bracket = saved;
        let end = end?;
        let end_incl = if self.eat_p("]") {
            true
        } else if self.eat_p(")") || self.eat_p("[") {
            false
        } else {
            return Err(self.error("']', ')' or '['"));
        };
        Ok(Expr::Range {
            start: start.map(Box::new),
            start_incl,
            end: Some(Box::new(end)),
            end_incl,
        })
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let saved = self.no_bracket;
        if matches!(self.peek(), Tok::P("(" | "[" | "{")) {
            self.no_bracket = false;
        }
        let r = self.primary_inner();
        self.no_bracket = saved;
        self.leave();
        r
    }

    fn primary_inner(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        match t {
            Tok::Num(s) => {
                self.bump();
                match Number::parse(&s) {
                    Some(n) => Ok(Expr::num(n)),
                    None => Err(err_at(
                        self.src,
                        self.toks[self.pos - 1].start,
                        "a decimal128 number",
                        &s,
                    )),
                }
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::Const(Value::String(s)))
            }
            Tok::P("@") => {
                let at = self.start();
                self.bump();
                let Tok::Str(s) = self.peek().clone() else {
                    return Err(self.error("a string after '@'"));
                };
                self.bump();
                match temporal_literal(&s) {
                    Some(v) => Ok(Expr::Const(v)),
                    None => Err(err_at(
                        self.src,
                        at,
                        "a date, time or duration literal",
                        &format!("@\"{s}\""),
                    )),
                }
            }
            Tok::P("?") => {
                self.bump();
                Ok(Expr::Input)
            }
            Tok::Quoted(n) => {
                self.bump();
                Ok(Expr::Name(n))
            }
            Tok::P("(") => {
                self.bump();
                let e = self.expression()?;
                if self.eat_p("..") {
                    return self.range_end(Some(e), false);
                }
                self.expect_p(")")?;
                Ok(e)
            }
            Tok::P("]") => {
                self.bump();
                let s = self.expression()?;
                self.expect_p("..")?;
                self.range_end(Some(s), false)
            }
            Tok::P("[") => {
                self.bump();
                if self.eat_p("]") {
                    return Ok(Expr::List(vec![]));
                }
                let first = self.expression()?;
                if self.eat_p("..") {
                    return self.range_end(Some(first), true);
                }
                let mut items = vec![first];
                while self.eat_p(",") {
                    items.push(self.expression()?);
                }
                self.expect_p("]")?;
                Ok(Expr::List(items))
            }
            Tok::P("{") => self.context(),
            Tok::P("<" | "<=" | ">" | ">=" | "=" | "!=") => {
                let op = self.cmp_op().unwrap_or(CmpOp::Eq);
                self.bump();
                let e = self.additive()?;
                Ok(Expr::UnaryRange(op, Box::new(e)))
            }
            Tok::Word(w) => match w.as_str() {
                "true" => {
                    self.bump();
                    Ok(Expr::Const(Value::Bool(true)))
                }
                "false" => {
                    self.bump();
                    Ok(Expr::Const(Value::Bool(false)))
                }
                "null" => {
                    self.bump();
                    Ok(Expr::Const(Value::Null(None)))
                }
                "function" if matches!(self.peek_at(1), Tok::P("(")) => self.function_def(),
                // Camunda's `and(list)` and `or(list)` functions.
                "and" | "or" if matches!(self.peek_at(1), Tok::P("(")) => {
                    self.bump();
                    Ok(Expr::Name(w))
                }
                "if" => self.expression_inner(),
                "for" | "some" | "every" if !matches!(self.peek_at(1), Tok::P("(" | "." | ":")) => {
                    self.expression_inner()
                }
                _ => Ok(Expr::Name(self.name()?)),
            },
            _ => Err(self.error("an expression")),
        }
    }

    fn function_def(&mut self) -> Result<Expr, ParseError> {
        self.bump();
        self.expect_p("(")?;
        let mut params = Vec::new();
        if !self.eat_p(")") {
            loop {
                let n = self.decl_name(&[":", ",", ")"])?;
                let t = if self.eat_p(":") {
                    Some(self.type_()?)
                } else {
                    None
                };
                params.push((n, t));
                if self.eat_p(")") {
                    break;
                }
                self.expect_p(",")?;
            }
        }
        let external = self.eat_word("external");
        self.push_names(params.iter().map(|(n, _)| n.clone()).collect());
        let body = self.expression();
        self.pop_names();
        let body = body?;
        if external {
            let names = params.iter().map(|(n, _)| n.clone()).collect();
            return Ok(Expr::FunctionDef {
                params,
                body: Arc::new(Expr::Boxed(Arc::new(super::java::JavaFunction {
                    mapping: body,
                    params: names,
                }))),
            });
        }
        Ok(Expr::FunctionDef {
            params,
            body: Arc::new(body),
        })
    }

    fn context(&mut self) -> Result<Expr, ParseError> {
        self.bump();
        let mut entries: Vec<(String, Expr)> = Vec::new();
        if self.eat_p("}") {
            return Ok(Expr::Context(entries));
        }
        loop {
            let key = self.decl_name(&[":"])?;
            self.expect_p(":")?;
            self.push_names(entries.iter().map(|(k, _)| k.clone()).collect());
            let v = self.expression();
            self.pop_names();
            entries.push((key, v?));
            if self.eat_p("}") {
                break;
            }
            if !self.eat_p(",") {
                return Err(self.error("',' or '}'"));
            }
        }
        Ok(Expr::Context(entries))
    }

    /// type = qualified name | list<type> | context<name: type, ...> | range<type> | function<types> -> type
    fn type_(&mut self) -> Result<Type, ParseError> {
        self.enter()?;
        let r = self.type_inner();
        self.leave();
        r
    }

    fn type_inner(&mut self) -> Result<Type, ParseError> {
        let at = self.start();
        let mut words: Vec<String> = Vec::new();
        while let Tok::Word(w) = self.peek().clone() {
            // `x instance of number then ...`: a keyword ends the type name,
            // except the `and` of `date and time`, `days and time duration`
            // and `years and months duration`.
            let type_and = w == "and"
                && matches!(words.as_slice(), [one] if ["date", "days", "years"].contains(&one.as_str()));
            if !words.is_empty() && KEYWORDS.contains(&w.as_str()) && !type_and {
                break;
            }
            words.push(w);
            self.bump();
            if self.is_p(".") || self.is_p(":") && words.len() == 1 && words[0] == "feel" {
                // qualified names such as feel:number or ns.type
                let p = self.bump();
                words.push(match p.tok {
                    Tok::P(s) => s.to_string(),
                    _ => String::new(),
                });
            }
        }
        let name = words.join(" ").replace(" . ", ".").replace(" : ", ":");
        match name.as_str() {
            "list" | "range" if self.is_p("<") => {
                self.bump();
                let t = self.type_()?;
                self.expect_p(">")?;
                Ok(if name == "list" {
                    Type::List(Box::new(t))
                } else {
                    Type::Range(Box::new(t))
                })
            }
            "context" if self.is_p("<") => {
                self.bump();
                let mut fields = Vec::new();
                if !self.eat_p(">") {
                    loop {
                        let n = self.decl_name(&[":"])?;
                        self.expect_p(":")?;
                        let t = self.type_()?;
                        fields.push((n, t));
                        if self.eat_p(">") {
                            break;
                        }
                        self.expect_p(",")?;
                    }
                }
                Ok(Type::Context(fields))
            }
            "function" if self.is_p("<") => {
                self.bump();
                let mut ps = Vec::new();
                if !self.eat_p(">") {
                    loop {
                        ps.push(self.type_()?);
                        if self.eat_p(">") {
                            break;
                        }
                        self.expect_p(",")?;
                    }
                }
                self.expect_p("-")?;
                self.expect_p(">")?;
                let r = self.type_()?;
                Ok(Type::Function(ps, Box::new(r)))
            }
            "" => Err(self.error("a type")),
            n => Type::from_name(n)
                .or_else(|| self.types.and_then(|f| f(n)))
                .ok_or_else(|| err_at(self.src, at, "a known type name", n)),
        }
    }

    // ----- unary tests -----

    fn unary_tests(&mut self) -> Result<UnaryTests, ParseError> {
        if self.is_p("-") && matches!(self.peek_at(1), Tok::Eof) {
            self.bump();
            return Ok(UnaryTests::Any);
        }
        if self.is_word("not") && matches!(self.peek_at(1), Tok::P("(")) {
            let save = self.pos;
            self.bump();
            self.bump();
            let r = self.positive_unary_tests();
            if let Ok(tests) = r
                && self.eat_p(")")
                && matches!(self.peek(), Tok::Eof)
            {
                return Ok(UnaryTests::Not(tests));
            }
            self.pos = save;
        }
        Ok(UnaryTests::Tests(self.positive_unary_tests()?))
    }

    fn positive_unary_tests(&mut self) -> Result<Vec<UnaryTest>, ParseError> {
        let mut v = vec![self.positive_unary_test()?];
        while self.eat_p(",") {
            v.push(self.positive_unary_test()?);
        }
        Ok(v)
    }

    fn positive_unary_test(&mut self) -> Result<UnaryTest, ParseError> {
        if let Some(op) = self.cmp_op() {
            self.bump();
            let e = self.additive()?;
            return Ok(UnaryTest::Cmp(op, e));
        }
        Ok(UnaryTest::Expr(self.expression()?))
    }
}

/// Byte length of `name` matched at the start of `text` (runs of whitespace
/// in the name match any run of whitespace), ending at a name boundary.
fn match_name_text(text: &str, name: &str) -> Option<usize> {
    let mut ti = text.char_indices().peekable();
    let mut ni = name.chars().peekable();
    let mut end = 0;
    while let Some(nc) = ni.next() {
        if nc.is_whitespace() {
            while ni.peek().is_some_and(|c| c.is_whitespace()) {
                ni.next();
            }
            let mut any = false;
            while let Some(&(_, tc)) = ti.peek() {
                if tc.is_whitespace() {
                    any = true;
                    ti.next();
                } else {
                    break;
                }
            }
            if !any {
                return None;
            }
            continue;
        }
        match ti.next() {
            Some((i, tc)) if tc == nc => end = i + tc.len_utf8(),
            _ => return None,
        }
    }
    let last = name.chars().last()?;
    if let Some(&(_, next)) = ti.peek()
        && is_name_part(last)
        && is_name_part(next)
    {
        return None;
    }
    Some(end)
}

/// Interprets the string of an `@"..."` literal.
pub fn temporal_literal(s: &str) -> Option<Value> {
    if s.starts_with('P') || s.starts_with("-P") {
        return Some(match temporal::parse_duration(s)? {
            Ok(m) => Value::YmDuration(m),
            Err(n) => Value::DtDuration(n),
        });
    }
    let body = s.split('@').next().unwrap_or(s);
    if body.contains('T') {
        return temporal::parse_date_time(s).map(Value::DateTime);
    }
    if body.contains(':') {
        return temporal::parse_time(s).map(Value::Time);
    }
    temporal::parse_date(s).map(Value::Date)
}
