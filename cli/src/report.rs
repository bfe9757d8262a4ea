//! Rendering of diagnostics: rustc/miette style for people, JSON for tools.

use std::io::IsTerminal;

use bpmn_models::{Diagnostic, ParseError, Severity, Span};
use engine::EngineError;
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

/// The problems of a file the engine refused to deploy (import errors,
/// validation and deployment problems, DMN problems, a timer start event
/// that cannot be scheduled); `None` for errors that are not about the
/// file's content.
pub fn engine_problems(text: &str, error: &EngineError) -> Option<Vec<Problem>> {
    Some(match error {
        EngineError::Parse { error, .. } => vec![Problem::from(error.as_ref())],
        EngineError::Deploy { error, .. } => error
            .problems
            .iter()
            .map(|p| Problem {
                code: p.code.to_string(),
                severity: Severity::Error,
                message: p.message.clone(),
                element_id: p.element_id.clone(),
                span: p.span.is_known().then_some(p.span),
            })
            .collect(),
        EngineError::Dmn { problem, .. } => vec![Problem {
            code: problem.code.to_string(),
            severity: Severity::Error,
            message: problem.message.clone(),
            element_id: problem.element.clone(),
            span: span_at(text, problem.line, problem.column),
        }],
        EngineError::StartTimer { element, .. } => vec![Problem {
            code: "ENG013".into(),
            severity: Severity::Error,
            message: error.to_string(),
            element_id: Some(element.clone()),
            span: None,
        }],
        _ => return None,
    })
}

/// The span of one character at a 1-based line and column of `text`.
fn span_at(text: &str, line: u32, column: u32) -> Option<bpmn_models::Span> {
    if line == 0 {
        return None;
    }
    let start_of_line: usize = text
        .split_inclusive('\n')
        .take(line as usize - 1)
        .map(str::len)
        .sum();
    let rest = text.get(start_of_line..)?;
    let offset = rest
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(rest.len(), |(i, _)| i);
    let start = u32::try_from(start_of_line + offset).ok()?;
    let end = if (start as usize) < text.len() {
        start + 1
    } else {
        start
    };
    Some(bpmn_models::Span {
        start,
        end,
        line,
        column,
    })
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
