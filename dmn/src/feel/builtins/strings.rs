//! String functions (DMN 1.5 §10.3.4.3) and the XSD/XPath regular expressions of
//! `matches`, `replace` and `split`.

use super::*;

pub(super) fn chars_sub(s: &str, start: i64, len: Option<i64>) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let st = if start > 0 {
        start - 1
    } else if start < 0 {
        n + start
    } else {
        return None;
    };
    if st < 0 || st > n {
        return None;
    }
    let end = match len {
        Some(l) if l < 0 => return None,
        Some(l) => st.saturating_add(l).min(n),
        None => n,
    };
    Some(chars[st as usize..end.max(st) as usize].iter().collect())
}

/// Translates an XSD/XPath regular expression and flags into `regex` syntax.
/// A compiled XSD regular expression: the linear-time `regex` engine, or the
/// backtracking `fancy-regex` engine (with its backtrack limit) when the
/// pattern uses back-references.
pub(super) enum XsdRegex {
    Plain(regex::Regex),
    Backtracking(Box<fancy_regex::Regex>),
}

impl XsdRegex {
    /// Every non-overlapping match, in order (Camunda's `extract`).
    pub(super) fn find_all(&self, s: &str) -> Result<Vec<String>, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.find_iter(s).map(|m| m.as_str().to_string()).collect()),
            XsdRegex::Backtracking(r) => r
                .find_iter(s)
                .map(|m| m.map(|m| m.as_str().to_string()).map_err(|e| e.to_string()))
                .collect(),
        }
    }

    fn is_match(&self, s: &str) -> Result<bool, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.is_match(s)),
            XsdRegex::Backtracking(r) => r.is_match(s).map_err(|e| e.to_string()),
        }
    }

    fn replace_all(&self, s: &str, rep: &str) -> Result<String, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.replace_all(s, rep).into_owned()),
            XsdRegex::Backtracking(r) => r
                .try_replacen(s, 0, rep)
                .map(|c| c.into_owned())
                .map_err(|e| e.to_string()),
        }
    }

    fn split(&self, s: &str) -> Result<Vec<String>, String> {
        match self {
            XsdRegex::Plain(r) => Ok(r.split(s).map(str::to_string).collect()),
            XsdRegex::Backtracking(r) => r
                .split(s)
                .map(|p| p.map(str::to_string).map_err(|e| e.to_string()))
                .collect(),
        }
    }
}

pub(super) fn xsd_regex(pattern: &str, flags: &str) -> Result<XsdRegex, String> {
    let mut prefix = String::new();
    let (mut literal, mut extended, mut dot_all) = (false, false, false);
    for f in flags.chars() {
        match f {
            's' | 'm' | 'i' => {
                if !prefix.contains(f) {
                    prefix.push(f);
                }
                dot_all |= f == 's';
            }
            'x' => extended = true,
            'q' => literal = true,
            other => {
                return Err(format!(
                    "expected regex flags from 'smixq', found '{other}'"
                ));
            }
        }
    }
    let body = if literal {
        (regex::escape(pattern), false)
    } else if extended {
        translate_xsd(&strip_ws(pattern), false, dot_all)?
    } else {
        translate_xsd(pattern, false, dot_all)?
    };
    let (body, backrefs) = body;
    let full = if prefix.is_empty() {
        body
    } else {
        format!("(?{prefix}){body}")
    };
    if backrefs {
        return fancy_regex::RegexBuilder::new(&full)
            .backtrack_limit(100_000)
            .build()
            .map(|r| XsdRegex::Backtracking(Box::new(r)))
            .map_err(|e| e.to_string());
    }
    regex::RegexBuilder::new(&full)
        .size_limit(1 << 20)
        .build()
        .map(XsdRegex::Plain)
        .map_err(|e| e.to_string())
}

/// The `x` flag: whitespace outside character classes is removed before the
/// expression is read (XPath 3.1 §5.6.1).
pub(super) fn strip_ws(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in p.chars() {
        if depth == 0 && matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ => {}
        }
    }
    out
}

/// Translates XSD/XPath regular-expression syntax into `regex` syntax:
/// `.` excludes CR and LF, class subtraction `[a-z-[aeiou]]`, `\i`/`\c`,
/// `\p{IsBlock}` for the Basic Latin and Latin-1 blocks, and the `x` flag's
/// whitespace removal outside character classes.
pub(super) fn translate_xsd(
    p: &str,
    extended: bool,
    dot_all: bool,
) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut backrefs = false;
    let mut depth = 0usize;
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        if extended && depth == 0 && matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        match c {
            '\\' => {
                let Some(e) = it.next() else {
                    return Err("regex ends with '\\'".into());
                };
                match e {
                    'p' | 'P' if it.peek() == Some(&'{') => {
                        it.next();
                        let mut name = String::new();
                        for x in it.by_ref() {
                            if x == '}' {
                                break;
                            }
                            if !(extended && x.is_whitespace()) {
                                name.push(x);
                            }
                        }
                        let class = match name.as_str() {
                            "IsBasicLatin" => Some(r"\x00-\x7F"),
                            "IsLatin-1Supplement" => Some(r"\x80-\xFF"),
                            n if n.starts_with("Is") => {
                                return Err(format!("Unicode block {n} is not supported"));
                            }
                            _ => None,
                        };
                        match (class, e, depth) {
                            (Some(r), 'p', 0) => out.push_str(&format!("[{r}]")),
                            (Some(r), 'P', 0) => out.push_str(&format!("[^{r}]")),
                            (Some(r), 'p', _) => out.push_str(r),
                            (Some(_), _, _) => return Err("negated block inside a class".into()),
                            (None, _, _) => out.push_str(&format!("\\{e}{{{name}}}")),
                        }
                    }
                    'i' => out.push_str(if depth == 0 { r"[\p{L}_:]" } else { r"\p{L}_:" }),
                    'c' => out.push_str(if depth == 0 {
                        r"[\p{L}\p{Nd}._:\-]"
                    } else {
                        r"\p{L}\p{Nd}._:\-"
                    }),
                    d if d.is_ascii_digit() && depth == 0 => {
                        backrefs = true;
                        out.push('\\');
                        out.push(d);
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                if depth > 0 && out.ends_with('-') {
                    out.push('-');
                }
                depth += 1;
                out.push('[');
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(']');
            }
            '.' if depth == 0 && !dot_all => out.push_str(r"[^\n\r]"),
            '(' if it.peek() == Some(&'?') => {
                return Err("'(?' is not XSD regular-expression syntax".into());
            }
            other => out.push(other),
        }
    }
    Ok((out, backrefs))
}

pub(super) fn xsd_replacement(r: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = r.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(x @ ('\\' | '$')) => {
                    if x == '$' {
                        out.push_str("$$");
                    } else {
                        out.push('\\');
                    }
                }
                _ => return None,
            },
            '$' => {
                let mut d = String::new();
                while let Some(x) = it.peek().copied().filter(|x| x.is_ascii_digit()) {
                    d.push(x);
                    it.next();
                }
                if d.is_empty() {
                    return None;
                }
                out.push_str(&format!("${{{d}}}"));
            }
            c => out.push(c),
        }
    }
    Some(out)
}

pub(super) fn string_fn(name: &str, args: Vec<Value>) -> Value {
    let ranges: (usize, usize) = match name {
        "substring" => (2, 3),
        "string length" | "upper case" | "lower case" => (1, 1),
        "replace" => (3, 4),
        "matches" => (2, 3),
        // Camunda's form adds a prefix and a suffix.
        "string join" => (1, 4),
        _ => (2, 2),
    };
    if let Some(e) = arity(name, &args, ranges.0, ranges.1) {
        return e;
    }
    if name == "string join" {
        let items = match &args[0] {
            Value::List(l) => l.clone(),
            Value::String(s) => vec![Value::String(s.clone())],
            v => return want(name, "a list", v),
        };
        let items = &items;
        let delim = match args.get(1) {
            None | Some(Value::Null(_)) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return want(name, "a string delimiter", v),
        };
        let mut parts = Vec::new();
        for i in items {
            match i {
                Value::String(s) => parts.push(s.clone()),
                Value::Null(_) => {}
                v => return want(name, "a list of strings", v),
            }
        }
        let affix = |i: usize| match args.get(i) {
            None | Some(Value::Null(_)) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(want(name, "a string prefix and suffix", v)),
        };
        let (prefix, suffix) = match (affix(2), affix(3)) {
            (Ok(p), Ok(s)) => (p, s),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        return Value::String(format!("{prefix}{}{suffix}", parts.join(&delim)));
    }
    let Some(s) = s_arg(&args[0]) else {
        return want(name, "a string", &args[0]);
    };
    match name {
        "substring" => {
            let Some(start) = n_arg(&args[1]) else {
                return want(name, "a number", &args[1]);
            };
            let start = start.trunc_i64();
            let len = match args.get(2) {
                None => None,
                Some(Value::Number(n)) => match n.trunc_i64() {
                    Some(l) => Some(l),
                    None => return null("substring: bad length"),
                },
                Some(v) => return want(name, "a number", v),
            };
            match start.and_then(|st| chars_sub(s, st, len)) {
                Some(r) => Value::String(r),
                None => null("substring: start position out of range"),
            }
        }
        "string length" => Value::int(s.chars().count() as i64),
        "upper case" => Value::String(s.to_uppercase()),
        "lower case" => Value::String(s.to_lowercase()),
        "replace" | "matches" => {
            let Some(p) = s_arg(&args[1]) else {
                return want(name, "a pattern string", &args[1]);
            };
            let fl_idx = if name == "replace" { 3 } else { 2 };
            let flags = match args.get(fl_idx) {
                None | Some(Value::Null(_)) => "",
                Some(Value::String(f)) => f.as_str(),
                Some(v) => return want(name, "a flags string", v),
            };
            let re = match xsd_regex(p, flags) {
                Ok(r) => r,
                Err(e) => return null(format!("{name}: {e}")),
            };
            if name == "matches" {
                return match re.is_match(s) {
                    Ok(b) => Value::Bool(b),
                    Err(e) => null(format!("matches: {e}")),
                };
            }
            let Some(r) = s_arg(&args[2]) else {
                return want(name, "a replacement string", &args[2]);
            };
            if re.is_match("").unwrap_or(true) {
                return null("replace: pattern matches the empty string");
            }
            let rep = if flags.contains('q') {
                r.replace('$', "$$")
            } else {
                match xsd_replacement(r) {
                    Some(x) => x,
                    None => return null("replace: invalid replacement string"),
                }
            };
            match re.replace_all(s, rep.as_str()) {
                Ok(r) => Value::String(r),
                Err(e) => null(format!("replace: {e}")),
            }
        }
        "split" => {
            let Some(d) = s_arg(&args[1]) else {
                return want(name, "a delimiter string", &args[1]);
            };
            let re = match xsd_regex(d, "") {
                Ok(r) => r,
                Err(e) => return null(format!("split: {e}")),
            };
            match re.split(s) {
                Ok(parts) => Value::List(parts.into_iter().map(Value::String).collect()),
                Err(e) => null(format!("split: {e}")),
            }
        }
        _ => {
            let Some(m) = s_arg(&args[1]) else {
                return want(name, "a string", &args[1]);
            };
            match name {
                "substring before" => {
                    Value::String(s.find(m).map(|i| s[..i].to_string()).unwrap_or_default())
                }
                "substring after" => Value::String(
                    s.find(m)
                        .map(|i| s[i + m.len()..].to_string())
                        .unwrap_or_default(),
                ),
                "contains" => Value::Bool(s.contains(m)),
                "starts with" => Value::Bool(s.starts_with(m)),
                _ => Value::Bool(s.ends_with(m)),
            }
        }
    }
}
