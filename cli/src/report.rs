//! Rendering of diagnostics: rustc/miette style for people, JSON for tools.

use std::io::IsTerminal;

use bpmn_models::{Diagnostic, ParseError, Severity, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

/// A problem in one input file, ready to print.
#[derive(Debug)]
pub struct Problem {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub element_id: Option<String>,
    pub span: Option<Span>,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Self {
        Problem {
            code: d.code.to_string(),
            severity: d.severity,
            message: d.message.clone(),
            element_id: d.element_id.clone(),
            span: d.span.is_known().then_some(d.span),
        }
    }
}

impl From<&ParseError> for Problem {
    fn from(e: &ParseError) -> Self {
        Problem {
            code: e.code().to_string(),
            severity: Severity::Error,
            message: e.to_string(),
            element_id: e.element_id().map(str::to_string),
            span: e.span(),
        }
    }
}

/// The part of an element worth underlining: its start tag, or the first line of it.
fn label_range(text: &str, span: Span) -> std::ops::Range<usize> {
    let start = (span.start as usize).min(text.len());
    let rest = &text[start..];
    let tag_end = rest.find('>').map_or(rest.len(), |i| i + 1);
    let line_end = rest.find('\n').unwrap_or(rest.len());
    start..start + tag_end.min(line_end).max(usize::from(!rest.is_empty()))
}

/// Renders problems of `file` (whose text is `text`) like rustc does.
pub fn render_text(file: &str, text: &str, problems: &[Problem], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for p in problems {
        let mut d = MietteDiagnostic::new(match &p.element_id {
            Some(id) => format!("{} (element `{id}`)", p.message),
            None => p.message.clone(),
        })
        .with_code(p.code.clone())
        .with_severity(match p.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        });
        if let Some(span) = p.span {
            d = d.with_label(LabeledSpan::at(label_range(text, span), "here"));
        }
        let report =
            miette::Report::new(d).with_source_code(NamedSource::new(file, text.to_string()));
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, report.as_ref());
        if p.span.is_none() {
            out.push_str(&format!("  --> {file}\n"));
        }
        out.push('\n');
    }
    out
}

/// One JSON object per problem.
pub fn to_json(file: &str, problems: &[Problem]) -> Vec<serde_json::Value> {
    problems
        .iter()
        .map(|p| {
            serde_json::json!({
                "file": file,
                "code": p.code,
                "severity": p.severity.to_string(),
                "message": p.message,
                "elementId": p.element_id,
                "line": p.span.map(|s| s.line),
                "column": p.span.map(|s| s.column),
            })
        })
        .collect()
}

/// Whether to colour output written to stdout.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether to colour output written to stderr.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
