//! Which language an expression or script is written in, and whether
//! orchid-bpmn can run it.
//!
//! The rules follow the two Camunda dialects plus our native language:
//! - a body that starts with `=` is FEEL (Camunda 8, all attributes and bodies);
//! - a body containing `${` or `#{` is JUEL (Camunda 7);
//! - otherwise the `language` / `scriptFormat` attribute decides: none or
//!   `rhai` is Rhai; `feel` (or a FEEL namespace URI) is FEEL; `juel` is JUEL;
//!   `javascript`, `ecmascript`, `js` (any case) are JavaScript, which a
//!   `language` attribute names before any `${` in the body is taken for
//!   JUEL (a template literal is JavaScript).
//!
//! Anything else (groovy, python, XSLT, XPath, …) is not runnable: the
//! validator reports it and the engine refuses to deploy it.

/// A language the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Rhai,
    Feel,
    Juel,
    JavaScript,
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Language::Rhai => "Rhai",
            Language::Feel => "FEEL",
            Language::Juel => "JUEL",
            Language::JavaScript => "JavaScript",
        })
    }
}

/// The BPMN default expression language, which Camunda ignores and so do we.
pub const XPATH: &str = "http://www.w3.org/1999/XPath";

fn named(language: &str) -> Option<Language> {
    let l = language.trim().to_ascii_lowercase();
    match l.as_str() {
        "rhai" | "" => Some(Language::Rhai),
        "feel" | "feel-scala" | "feel-juel" => Some(Language::Feel),
        "juel" | "el" => Some(Language::Juel),
        "javascript" | "ecmascript" | "js" | "graal.js" | "nashorn" => Some(Language::JavaScript),
        _ if l.contains("omg.org/spec/feel")
            || l.contains("omg.org/spec/dmn") && l.ends_with("/feel/") =>
        {
            Some(Language::Feel)
        }
        _ => None,
    }
}

/// The language of an expression body with an optional `language` attribute.
/// `Err` carries the unsupported language name.
pub fn expression_language(language: Option<&str>, body: &str) -> Result<Language, String> {
    if language.and_then(named) == Some(Language::JavaScript) {
        return Ok(Language::JavaScript);
    }
    let b = body.trim_start();
    if b.starts_with('=') {
        return Ok(Language::Feel);
    }
    if b.contains("${") || b.contains("#{") {
        return Ok(Language::Juel);
    }
    match language {
        None => Ok(Language::Rhai),
        Some(XPATH) => Ok(Language::Rhai),
        Some(l) => named(l).ok_or_else(|| l.to_string()),
    }
}

/// The language of a script task's `scriptFormat` (absent means Rhai).
pub fn script_language(format: Option<&str>) -> Result<Language, String> {
    match format {
        None => Ok(Language::Rhai),
        Some(f) => named(f).ok_or_else(|| f.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_body_then_attribute() {
        assert_eq!(expression_language(None, "= a > 1"), Ok(Language::Feel));
        assert_eq!(
            expression_language(Some("python"), " =x"),
            Ok(Language::Feel)
        );
        assert_eq!(expression_language(None, "${a > 1}"), Ok(Language::Juel));
        assert_eq!(expression_language(None, "a > 1"), Ok(Language::Rhai));
        assert_eq!(
            expression_language(Some("rhai"), "a > 1"),
            Ok(Language::Rhai)
        );
        assert_eq!(
            expression_language(Some(XPATH), "a > 1"),
            Ok(Language::Rhai)
        );
        assert_eq!(
            expression_language(Some("https://www.omg.org/spec/DMN/20191111/FEEL/"), "a > 1"),
            Ok(Language::Feel)
        );
        assert_eq!(
            expression_language(Some("javascript"), "a > 1"),
            Ok(Language::JavaScript)
        );
        assert_eq!(
            expression_language(Some("JavaScript"), "`${a}` == 'x'"),
            Ok(Language::JavaScript)
        );
        assert_eq!(
            script_language(Some("ECMAScript")),
            Ok(Language::JavaScript)
        );
        assert_eq!(script_language(Some("groovy")), Err("groovy".to_string()));
        assert_eq!(script_language(Some("Rhai")), Ok(Language::Rhai));
        assert_eq!(script_language(None), Ok(Language::Rhai));
    }
}
