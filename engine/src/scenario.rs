//! Process scenarios: a JSON file that tells the story of one process
//! instance — start variables, then steps that act on it (complete a task,
//! fail a job, publish a message, move the clock) and steps that check it
//! (`expect`) — run against an in-memory store with a virtual clock.
//!
//! The file format is [`Scenario`] (parsed with [`Scenario::from_json`]; an
//! unknown key is an error that names it, the step and the line), the runner
//! is [`run`] (the caller supplies the texts of the files) or
//! [`run_with_loader`] (the caller supplies a function that loads a file by
//! the name the scenario uses). Nothing here touches the filesystem.
//!
//! The scenario's instance: a process with a none start event is started
//! before the first step with the scenario's `variables`. A process without
//! one (message, signal or timer start events, an instantiating event-based
//! gateway) starts no instance up front: the first instance of it that a
//! step starts (`correlateMessage`, `broadcastSignal`, `advanceClock`)
//! becomes the scenario's instance, and a step that needs the instance
//! before that fails saying so.
//!
//! Steps (one action key each, plus an optional `note` that failure
//! messages repeat): `expect` (checks only the keys it names: `state`,
//! `waitingAt` as a set — tokens at tasks, jobs, timers and at events and
//! event-based gateways waiting for messages, signals or conditions —,
//! `tokens` as the number of tokens at each element named, `variables` as
//! a subset of the process-level variables with numbers compared by value,
//! `localVariables` as variables of the scopes an element opened,
//! `visited` as a subsequence of the completion order, `notVisited`,
//! `counts`, `incidents` as the set of elements with open incidents,
//! `instances` as the number of instances of the scenario's process
//! started so far, `called` as the same checks of a called instance, by
//! its process id), `completeTask` (a user task, receive task or job, by
//! element id, with `variables`), `failJob` (`message`, `retries`),
//! `throwError` (the job at an element throws a BPMN error: `code`,
//! `message`, `variables`), `resolveIncident` (by element id, `retries`),
//! `setVariables` (an object of process-level variables of the scenario's
//! instance), `correlateMessage` (a message name, with `correlationKey`,
//! `ttl` as an ISO 8601 duration and `variables`: published to the whole
//! engine, see [`Engine::publish_message`] — for a Camunda 7 process
//! without `ttl`, correlated Camunda 7's way instead,
//! [`Engine::correlate_message`], to one target, or to all with `"all":
//! true`), `broadcastSignal` (a signal
//! name with `variables`), `advanceClock` (an ISO 8601 duration; every
//! timer that falls due in the window fires — timer start events
//! included —, in due order, with the clock set to its due time, then the
//! clock stands at the end), `cancelInstance` and `deleteInstance` (`true`
//! for the scenario's instance, or a process id for the first active
//! instance of it the scenario's instance called). A message or signal
//! that reaches nothing is no failure, as in Camunda; `expectCorrelated`
//! (`true` or `false`) checks whether something took it. Every step but
//! `expect` may say `refused` (an error code such as `ENG103`, or text of
//! the message): then it passes only when the engine refuses it so. A
//! scenario stops at the first step that fails.
//!
//! [`Snapshot`] is an instance as seen from outside — state, process-level
//! variables, completion order, where tokens wait, open incidents and jobs —
//! which `expect` steps check and `orchid-bpmn exec --json` prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use bpmn_models::timer::{self, Duration, Offset};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::compile::{CompiledProcess, DeployError, ElementIdx, ProcessKey, ScopeIdx};
use crate::core::{IncidentId, InstanceState, JobId, Status, TokenState};
use crate::runtime::{
    Engine, EngineError, EngineOptions, VirtualClock, descendants, visited, waiting_at,
};
use crate::store::ResourceKind;
use crate::store::memory::MemoryStore;

/// Where the virtual clock starts when a scenario names no `clock`:
/// 2026-01-01T00:00:00Z, fixed so that every run sees the same times.
pub const DEFAULT_CLOCK_MILLIS: i64 = 1_767_225_600_000;

/// A scenario file, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scenario {
    /// What the story is about, for people reading the file (not checked).
    #[serde(default)]
    pub description: Option<String>,
    /// The BPMN file to run, relative to the scenario file.
    pub process: String,
    /// Which process to start, when the file holds several executable ones.
    #[serde(default)]
    pub process_id: Option<String>,
    /// More files deployed alongside (called processes, decisions).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Start of the virtual clock, in milliseconds since the Unix epoch
    /// (written as an ISO 8601 date-time with `Z` or an offset).
    #[serde(default, deserialize_with = "clock_start")]
    pub clock: Option<i64>,
    /// The IANA time zone timers are read in (`Europe/Berlin`); UTC when
    /// absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Start variables.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// The business key the instance starts with (Camunda 7's
    /// `execution.processBusinessKey`).
    #[serde(default)]
    pub business_key: Option<String>,
    #[serde(deserialize_with = "steps")]
    pub steps: Vec<Step>,
}

/// One step: an action on the instance or a check of it. `note` is free
/// text that failure messages repeat, so a failing step is easy to find.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub note: Option<String>,
    pub action: Action,
    /// The step must be refused, with an error of this code (`ENG103`, …)
    /// or whose message contains this text.
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Check the instance; only the keys given are checked.
    Expect(Box<Expect>),
    /// Complete the user task, receive task or job waiting at an element.
    CompleteTask {
        element: String,
        variables: Map<String, Value>,
    },
    /// Fail the job waiting at an element.
    FailJob {
        element: String,
        message: String,
        /// Retries left after the failure; one fewer than before when `None`.
        retries: Option<u32>,
    },
    /// Resolve the open incident at an element (retry it).
    ResolveIncident {
        element: String,
        /// Retries a job gets back (1 when `None`).
        retries: Option<u32>,
    },
    /// Publish a message to the engine.
    CorrelateMessage {
        name: String,
        correlation_key: Option<String>,
        /// How long it is buffered when nothing takes it: the text as
        /// written and the duration.
        ttl: Option<(String, Duration)>,
        variables: Map<String, Value>,
        /// Whether a subscription or start event must (`true`) or must not
        /// (`false`) take it; unchecked when `None`.
        expect_correlated: Option<bool>,
        /// Camunda 7's `correlateAll()` rather than `correlate()` (for a
        /// scenario of a Camunda 7 process).
        all: bool,
    },
    BroadcastSignal {
        name: String,
        variables: Map<String, Value>,
        /// Whether it must (`true`) or must not (`false`) reach something.
        expect_correlated: Option<bool>,
    },
    /// Cancel the scenario's instance, or the first active called instance
    /// of a process.
    CancelInstance { process: Option<String> },
    /// Delete it: cancelled if active, then removed from the store.
    DeleteInstance { process: Option<String> },
    /// The job waiting at an element throws a BPMN error.
    ThrowError {
        element: String,
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    },
    /// Set process-level variables of the scenario's instance.
    SetVariables { variables: Map<String, Value> },
    /// Move the virtual clock forward.
    AdvanceClock { text: String, duration: Duration },
}

impl Action {
    /// The key that names this action in the file.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Expect(_) => "expect",
            Action::CompleteTask { .. } => "completeTask",
            Action::FailJob { .. } => "failJob",
            Action::ResolveIncident { .. } => "resolveIncident",
            Action::CorrelateMessage { .. } => "correlateMessage",
            Action::BroadcastSignal { .. } => "broadcastSignal",
            Action::ThrowError { .. } => "throwError",
            Action::SetVariables { .. } => "setVariables",
            Action::AdvanceClock { .. } => "advanceClock",
            Action::CancelInstance { .. } => "cancelInstance",
            Action::DeleteInstance { .. } => "deleteInstance",
        }
    }
}

/// What an `expect` step checks.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// The state, exactly.
    pub state: Option<InstanceStateName>,
    /// Elements where tokens wait for something from outside, as a set.
    pub waiting_at: Option<Vec<String>>,
    /// A subset of the process-level variables (numbers compared by value).
    pub variables: Option<Map<String, Value>>,
    /// A subsequence of the completion order.
    pub visited: Option<Vec<String>>,
    /// Elements that never completed.
    pub not_visited: Option<Vec<String>>,
    /// Completions per element.
    pub counts: Option<BTreeMap<String, usize>>,
    /// The set of elements with open incidents.
    pub incidents: Option<Vec<String>>,
    /// How many instances of the scenario's process were started so far.
    pub instances: Option<usize>,
    /// How many tokens are at each element now (in any state).
    pub tokens: Option<BTreeMap<String, usize>>,
    /// Variables of the scopes an element opened (a sub-process, a
    /// multi-instance body and its inner instances, an activity's input
    /// mappings), by element id: an object that one of its scopes must
    /// hold (a subset, numbers by value), or an array of such objects,
    /// each held by one of them.
    pub local_variables: Option<BTreeMap<String, Value>>,
    /// Checks of called instances, by the called process's id: the first
    /// instance of that process the scenario's instance called (at any
    /// depth), checked with the same keys.
    pub called: Option<BTreeMap<String, Expect>>,
}

/// The state of an instance as reported to people and tools: `incident`
/// means active with at least one open incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStateName {
    Active,
    Completed,
    Cancelled,
    Incident,
    /// Removed from the store by a delete (only scenarios see it).
    Deleted,
}

impl InstanceStateName {
    pub fn of(state: &InstanceState) -> Self {
        match state.status {
            Status::Active if !state.incidents.is_empty() => InstanceStateName::Incident,
            Status::Active => InstanceStateName::Active,
            Status::Completed => InstanceStateName::Completed,
            Status::Cancelled => InstanceStateName::Cancelled,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStateName::Active => "active",
            InstanceStateName::Completed => "completed",
            InstanceStateName::Cancelled => "cancelled",
            InstanceStateName::Incident => "incident",
            InstanceStateName::Deleted => "deleted",
        }
    }
}

impl fmt::Display for InstanceStateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scenario file that could not be read as one: what was expected and
/// where (1-based line and column; 0 when the text ended early or the
/// position is unknown). For a bad step, the position is the step's start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scenario: {message} at line {line} column {column}")]
pub struct ScenarioError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl Scenario {
    /// Parses a scenario file's text.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            // serde reports a bad step where the steps array ends; point at
            // the step itself instead.
            let step = message
                .strip_prefix("step ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<usize>().ok());
            let (line, column) = step
                .and_then(|n| step_position(text, n))
                .unwrap_or((e.line(), e.column()));
            ScenarioError {
                message,
                line,
                column,
            }
        })
    }
}

/// Line and column (1-based) where step `n` (1-based) of the top-level
/// `steps` array starts, found by a scan that knows just enough JSON:
/// strings, escapes and nesting.
fn step_position(text: &str, n: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut last_key_at_depth1: Option<(usize, usize)> = None;
    let mut in_steps = false;
    let mut count = 0usize;
    let mut expect_element = false;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if in_steps && expect_element && depth == 2 {
                count += 1;
                expect_element = false;
                if count == n {
                    return Some(line_col(text, start));
                }
            }
            if depth == 1 {
                last_key_at_depth1 = Some((start + 1, i.min(b.len())));
            }
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if in_steps && expect_element && depth == 2 && c != b']' {
            count += 1;
            expect_element = false;
            if count == n {
                return Some(line_col(text, i));
            }
        }
        match c {
            b'{' | b'[' => {
                if c == b'[' && depth == 1 {
                    in_steps = last_key_at_depth1.is_some_and(|(s, e)| &text[s..e] == "steps");
                    expect_element = in_steps;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 1 && in_steps {
                    return None;
                }
            }
            b',' if in_steps && depth == 2 => expect_element = true,
            b',' | b':' if depth == 1 => {}
            _ => {}
        }
        i += 1;
    }
    None
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, column)
}

fn clock_start<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text = String::deserialize(d)?;
    parse_clock(&text).map(Some).map_err(de::Error::custom)
}

/// An ISO 8601 date-time with a UTC offset, as milliseconds since the epoch.
pub fn parse_clock(text: &str) -> Result<i64, String> {
    let dt = timer::parse_time_date(text)
        .map_err(|e| format!("`clock`: {e} in `{text}`: expected an ISO 8601 date-time"))?;
    if dt.offset == Offset::Local {
        return Err(format!(
            "`clock`: expected a date-time with `Z` or a UTC offset, found `{text}` (a local time)"
        ));
    }
    let (secs, nanos) = dt.unix_timestamp().ok_or_else(|| {
        format!("`clock`: expected a date-time with `Z` or a UTC offset, found `{text}`")
    })?;
    Ok(secs * 1000 + i64::from(nanos / 1_000_000))
}

fn steps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Step>, D::Error> {
    struct Steps;
    impl<'de> Visitor<'de> for Steps {
        type Value = Vec<Step>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of steps")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Step>, A::Error> {
            let mut out = Vec::new();
            // Each step is converted as soon as it is read, so that an error
            // carries the position right after the offending step.
            while let Some(v) = seq.next_element::<Value>()? {
                let n = out.len() + 1;
                let step =
                    Step::from_value(v).map_err(|m| de::Error::custom(format!("step {n}: {m}")))?;
                out.push(step);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Steps)
}

const ACTIONS: [&str; 11] = [
    "expect",
    "completeTask",
    "failJob",
    "throwError",
    "resolveIncident",
    "setVariables",
    "correlateMessage",
    "broadcastSignal",
    "advanceClock",
    "cancelInstance",
    "deleteInstance",
];

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn string_of(obj: &Map<String, Value>, key: &str, what: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(v) => Err(format!(
            "expected `{key}` to be {what}, found {}",
            kind_of(v)
        )),
        None => Err(format!("expected `{key}`, found nothing")),
    }
}

fn optional_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!(
            "expected `{key}` to be a string, found {}",
            kind_of(v)
        )),
    }
}

fn optional_u32(obj: &Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "expected `{key}` to be a whole number from 0 to {}, found {}",
                    u32::MAX,
                    kind_of(v)
                )
            }),
    }
}

fn variables_of(obj: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    match obj.get("variables") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(v) => Err(format!(
            "expected `variables` to be an object, found {}",
            kind_of(v)
        )),
    }
}

impl Step {
    /// Reads one step from its JSON object. The message of an error names
    /// the offending key and says what was expected.
    pub fn from_value(v: Value) -> Result<Step, String> {
        let Value::Object(obj) = v else {
            return Err(format!(
                "expected an object with one of {}, found {}",
                quoted_list(&ACTIONS),
                kind_of(&v)
            ));
        };
        let present: Vec<&str> = ACTIONS
            .iter()
            .copied()
            .filter(|a| obj.contains_key(*a))
            .collect();
        let action = match present.as_slice() {
            [a] => *a,
            [] => {
                let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
                return Err(format!(
                    "expected one of {}, found {}",
                    quoted_list(&ACTIONS),
                    if keys.is_empty() {
                        "an empty object".to_string()
                    } else {
                        format!("only {}", quoted_list(&keys))
                    }
                ));
            }
            several => {
                return Err(format!(
                    "expected one action per step, found {}",
                    quoted_list(several)
                ));
            }
        };
        let allowed: &[&str] = match action {
            "expect" => &[],
            "advanceClock" | "setVariables" | "cancelInstance" | "deleteInstance" => &["refused"],
            "completeTask" => &["variables", "refused"],
            "broadcastSignal" => &["variables", "expectCorrelated", "refused"],
            "failJob" => &["message", "retries", "refused"],
            "throwError" => &["code", "message", "variables", "refused"],
            "resolveIncident" => &["retries", "refused"],
            _ => &[
                "correlationKey",
                "ttl",
                "variables",
                "expectCorrelated",
                "all",
                "refused",
            ],
        };
        for k in obj.keys() {
            if k != action && k != "note" && !allowed.contains(&k.as_str()) {
                let mut expected = vec![action];
                expected.extend_from_slice(allowed);
                expected.push("note");
                return Err(format!(
                    "unknown key `{k}` in a `{action}` step: expected {}",
                    quoted_list(&expected)
                ));
            }
        }
        let note = optional_string(&obj, "note")?;
        let refused = optional_string(&obj, "refused")?;
        let expect_correlated = match obj.get("expectCorrelated") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                return Err(format!(
                    "expected `expectCorrelated` to be true or false, found {}",
                    kind_of(v)
                ));
            }
        };
        let instance_target = || match &obj[action] {
            Value::Bool(true) => Ok(None),
            Value::String(p) if !p.trim().is_empty() => Ok(Some(p.clone())),
            v => Err(format!(
                "expected `{action}` to be true (the scenario's instance) or the id of a called process, found {}",
                kind_of(v)
            )),
        };
        let element = || string_of(&obj, action, "an element id");
        let action = match action {
            "expect" => {
                let e: Expect = serde_json::from_value(obj["expect"].clone())
                    .map_err(|e| format!("`expect`: {e}"))?;
                Action::Expect(Box::new(e))
            }
            "completeTask" => Action::CompleteTask {
                element: element()?,
                variables: variables_of(&obj)?,
            },
            "failJob" => Action::FailJob {
                element: element()?,
                message: optional_string(&obj, "message")?
                    .unwrap_or_else(|| "the job failed".to_string()),
                retries: optional_u32(&obj, "retries")?,
            },
            "resolveIncident" => Action::ResolveIncident {
                element: element()?,
                retries: optional_u32(&obj, "retries")?,
            },
            "throwError" => Action::ThrowError {
                element: element()?,
                code: string_of(&obj, "code", "an error code")?,
                message: optional_string(&obj, "message")?,
                variables: variables_of(&obj)?,
            },
            "setVariables" => match &obj["setVariables"] {
                Value::Object(m) => Action::SetVariables {
                    variables: m.clone(),
                },
                v => {
                    return Err(format!(
                        "expected `setVariables` to be an object of variables, found {}",
                        kind_of(v)
                    ));
                }
            },
            "correlateMessage" => Action::CorrelateMessage {
                name: string_of(&obj, action, "a message name")?,
                correlation_key: optional_string(&obj, "correlationKey")?,
                ttl: match optional_string(&obj, "ttl")? {
                    None => None,
                    Some(text) => {
                        let d = timer::parse_time_duration(&text).map_err(|e| {
                            format!("`ttl`: {e} in `{text}`: expected an ISO 8601 duration such as `PT1H`")
                        })?;
                        Some((text, d))
                    }
                },
                variables: variables_of(&obj)?,
                expect_correlated,
                all: match obj.get("all") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(v) => {
                        return Err(format!(
                            "expected `all` to be true or false, found {}",
                            kind_of(v)
                        ));
                    }
                },
            },
            "broadcastSignal" => Action::BroadcastSignal {
                name: string_of(&obj, action, "a signal name")?,
                variables: variables_of(&obj)?,
                expect_correlated,
            },
            "cancelInstance" => Action::CancelInstance {
                process: instance_target()?,
            },
            "deleteInstance" => Action::DeleteInstance {
                process: instance_target()?,
            },
            _ => {
                let text = string_of(&obj, action, "an ISO 8601 duration such as `PT2H`")?;
                let duration = timer::parse_time_duration(&text).map_err(|e| {
                    format!("`advanceClock`: {e} in `{text}`: expected an ISO 8601 duration")
                })?;
                Action::AdvanceClock { text, duration }
            }
        };
        Ok(Step {
            note,
            action,
            refused,
        })
    }
}

// ------------------------------------------------------------------ snapshot

/// An open incident, by the element it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentView {
    pub id: IncidentId,
    pub element: String,
    pub job: Option<JobId>,
    pub message: String,
    /// What it is about (`failed-job`, `expression`, `condition`, …).
    pub kind: crate::core::IncidentKind,
}

/// A job waiting for a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub id: JobId,
    pub element: String,
    pub job_type: String,
    pub retries: u32,
    pub last_error: Option<String>,
}

/// An instance as seen from outside.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub instance: String,
    pub process: ProcessKey,
    pub state: InstanceStateName,
    /// Process-level variables.
    pub variables: Map<String, Value>,
    /// Element ids in the order they completed.
    pub visited: Vec<String>,
    /// Element ids where tokens wait for something from outside.
    pub waiting_at: Vec<String>,
    pub incidents: Vec<IncidentView>,
    pub jobs: Vec<JobView>,
    /// The element of every live token, in token order.
    pub tokens: Vec<String>,
    /// The variables of the scopes elements opened (sub-processes,
    /// multi-instance bodies and inner instances, input mappings), with
    /// the element's id, oldest first.
    pub local_scopes: Vec<(String, Map<String, Value>)>,
    /// The instance whose call activity started this one.
    pub parent: Option<String>,
    /// The business key it was started with.
    pub business_key: Option<String>,
    /// Instances its call activities started, their children after them
    /// (filled by [`Snapshot::with_children`]).
    pub children: Vec<Snapshot>,
}

impl Snapshot {
    pub fn of(state: &InstanceState, process: &CompiledProcess) -> Snapshot {
        let id = |e: ElementIdx| {
            process
                .elements
                .get(e.0 as usize)
                .map_or_else(|| format!("#{}", e.0), |el| el.id.clone())
        };
        Snapshot {
            instance: state.id.clone(),
            process: state.process.clone(),
            state: InstanceStateName::of(state),
            variables: state.variables(),
            visited: visited(state, process),
            waiting_at: waiting_at(state, process),
            incidents: state
                .incidents
                .iter()
                .map(|(k, i)| IncidentView {
                    id: *k,
                    element: id(i.element),
                    job: i.job,
                    message: i.message.clone(),
                    kind: i.kind(),
                })
                .collect(),
            jobs: state
                .jobs
                .iter()
                .map(|(k, j)| JobView {
                    id: *k,
                    element: id(j.element),
                    job_type: j.job_type.clone(),
                    retries: j.retries,
                    last_error: j.last_error.clone(),
                })
                .collect(),
            tokens: state.tokens.values().map(|t| id(t.element)).collect(),
            local_scopes: state
                .scopes
                .iter()
                .filter_map(|(scope, s)| {
                    let owner = s
                        .owner
                        .and_then(|t| state.tokens.get(&t))
                        .or_else(|| state.tokens.values().find(|t| t.local == Some(*scope)))?;
                    Some((id(owner.element), s.variables.clone()))
                })
                .collect(),
            parent: state.parent.as_ref().map(|p| p.instance.clone()),
            business_key: state.business_key.clone(),
            children: Vec::new(),
        }
    }

    /// The snapshot with the instances called from it (at any depth),
    /// parents before their children.
    pub fn with_children(mut self, engine: &Engine) -> Result<Snapshot, EngineError> {
        for child in descendants(engine, &self.instance)? {
            if let Some(p) = engine.process_version(&child.process) {
                self.children.push(Snapshot::of(&child, p));
            }
        }
        Ok(self)
    }

    /// The JSON shape `orchid-bpmn exec --json` prints.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "instance": self.instance,
            "process": self.process.id,
            "version": self.process.version,
            "state": self.state.as_str(),
            "variables": self.variables,
            "visited": self.visited,
            "waitingAt": self.waiting_at,
            "incidents": self.incidents.iter().map(|i| json!({
                "id": i.id,
                "element": i.element,
                "job": i.job,
                "kind": i.kind.as_str(),
                "message": i.message,
            })).collect::<Vec<_>>(),
            "jobs": self.jobs.iter().map(|j| json!({
                "id": j.id,
                "element": j.element,
                "type": j.job_type,
                "retries": j.retries,
                "lastError": j.last_error,
            })).collect::<Vec<_>>(),
        });
        if let Some(obj) = out.as_object_mut() {
            if let Some(p) = &self.parent {
                obj.insert("parent".into(), json!(p));
            }
            if let Some(k) = &self.business_key {
                obj.insert("businessKey".into(), json!(k));
            }
            if !self.children.is_empty() {
                obj.insert(
                    "children".into(),
                    Value::Array(self.children.iter().map(Snapshot::to_json).collect()),
                );
            }
        }
        out
    }
}

// -------------------------------------------------------------------- runner

/// A file's name (as the scenario names it) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// Why a scenario failed: at which step (1-based; `None` while setting up)
/// and what was expected and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub step: Option<usize>,
    pub note: Option<String>,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.step, &self.note) {
            (Some(n), Some(note)) => write!(f, "step {n} ({note}): {}", self.message),
            (Some(n), None) => write!(f, "step {n}: {}", self.message),
            (None, _) => write!(f, "setup: {}", self.message),
        }
    }
}

/// The outcome of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioReport {
    /// Steps in the scenario.
    pub steps: usize,
    /// Steps that ran and passed.
    pub passed_steps: usize,
    pub failure: Option<Failure>,
    /// The instance after the last step that ran (none if it never started).
    pub snapshot: Option<Snapshot>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs a scenario, asking `load` for the text of each file it names (the
/// process and the resources, by the names written in the scenario). A
/// file that cannot be loaded fails the scenario during setup with the
/// loader's message.
pub fn run_with_loader(
    scenario: &Scenario,
    mut load: impl FnMut(&str) -> Result<String, String>,
) -> ScenarioReport {
    let setup_failure = |message: String| ScenarioReport {
        steps: scenario.steps.len(),
        passed_steps: 0,
        failure: Some(Failure {
            step: None,
            note: None,
            message,
        }),
        snapshot: None,
    };
    let main = match load(&scenario.process) {
        Ok(text) => Source {
            name: scenario.process.clone(),
            text,
        },
        Err(e) => return setup_failure(e),
    };
    let mut resources = Vec::with_capacity(scenario.resources.len());
    for r in &scenario.resources {
        match load(r) {
            Ok(text) => resources.push(Source {
                name: r.clone(),
                text,
            }),
            Err(e) => return setup_failure(e),
        }
    }
    run(scenario, &main, &resources)
}

/// Runs a scenario against an in-memory store and a virtual clock: deploys
/// `main` and the `resources`, starts the process, then runs the steps in
/// order, stopping at the first that fails.
pub fn run(scenario: &Scenario, main: &Source, resources: &[Source]) -> ScenarioReport {
    let clock = Arc::new(VirtualClock::new(
        scenario.clock.unwrap_or(DEFAULT_CLOCK_MILLIS),
    ));
    let mut report = ScenarioReport {
        steps: scenario.steps.len(),
        passed_steps: 0,
        failure: None,
        snapshot: None,
    };
    let options = match &scenario.time_zone {
        None => EngineOptions::default(),
        Some(name) => match EngineOptions::default().with_time_zone(name) {
            Ok(o) => o,
            Err(e) => {
                report.failure = Some(Failure {
                    step: None,
                    note: None,
                    message: format!("`timeZone`: {e}"),
                });
                return report;
            }
        },
    };
    let mut runner = Runner {
        engine: Engine::with_store(Box::new(MemoryStore::new()), clock.clone(), options),
        clock,
        process_id: String::new(),
        instance: None,
        deleted: false,
    };
    if let Err(message) = runner.setup(scenario, main, resources) {
        report.failure = Some(Failure {
            step: None,
            note: None,
            message,
        });
        return report;
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        let result = runner.step(&step.action);
        runner.adopt_instance();
        let outcome = match (&step.refused, result) {
            (None, Ok(())) => Ok(()),
            (None, Err(r)) => Err(r.message),
            (Some(want), Ok(())) => Err(format!(
                "expected the step to be refused with `{want}`, found it accepted"
            )),
            (Some(want), Err(r)) if r.code == want || r.message.contains(want.as_str()) => Ok(()),
            (Some(want), Err(r)) => Err(format!(
                "expected the step to be refused with `{want}`, found {}: {}",
                r.code, r.message
            )),
        };
        if let Err(message) = outcome {
            report.failure = Some(Failure {
                step: Some(i + 1),
                note: step.note.clone(),
                message,
            });
            break;
        }
        report.passed_steps += 1;
    }
    report.snapshot = (!runner.deleted)
        .then(|| runner.snapshot().ok())
        .flatten()
        .map(|s| s.clone().with_children(&runner.engine).unwrap_or(s));
    report
}

struct Runner {
    engine: Engine,
    clock: Arc<VirtualClock>,
    /// The scenario's process.
    process_id: String,
    /// The scenario's instance, once there is one.
    instance: Option<String>,
    /// A `deleteInstance` step removed the scenario's instance.
    deleted: bool,
}

/// Why a step was refused: a stable code ([`EngineError::code`] for the
/// engine's refusals, `ENG100` for the runner's own) and the message.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    message: String,
}

impl Refusal {
    fn engine(e: &EngineError, message: String) -> Refusal {
        Refusal {
            code: e.code(),
            message,
        }
    }
}

impl From<String> for Refusal {
    fn from(message: String) -> Refusal {
        Refusal {
            code: "ENG100",
            message,
        }
    }
}

/// `file:line:col: CODE message` per problem, one per line.
pub fn describe_deploy_error(file: &str, error: &DeployError) -> String {
    error
        .problems
        .iter()
        .map(|p| {
            let at = if p.span.is_known() {
                format!("{file}:{}:{}", p.span.line, p.span.column)
            } else {
                file.to_string()
            };
            let element = p
                .element_id
                .as_deref()
                .map(|id| format!(" (element `{id}`)"))
                .unwrap_or_default();
            format!("{at}: {} {}{element}", p.code, p.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An engine error as one message, with file positions for invalid models.
pub fn describe_engine_error(error: &EngineError) -> String {
    match error {
        EngineError::Parse { file, error } => match error.span() {
            Some(s) => format!("{file}:{}:{}: {} {error}", s.line, s.column, error.code()),
            None => format!("{file}: {} {error}", error.code()),
        },
        EngineError::Deploy { file, error } => describe_deploy_error(file, error),
        other => other.to_string(),
    }
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    format!("[{}]", v.join(", "))
}

impl Runner {
    fn setup(
        &mut self,
        scenario: &Scenario,
        main: &Source,
        resources: &[Source],
    ) -> Result<(), String> {
        let keys = self
            .engine
            .deploy(&main.name, &main.text)
            .map_err(|e| format!("deploying `{}`:\n{}", main.name, describe_engine_error(&e)))?;
        for r in resources {
            let lower = r.name.to_ascii_lowercase();
            let dmn = crate::runtime::resource_kind(&r.name, &r.text) == ResourceKind::Dmn;
            if !dmn && !lower.ends_with(".bpmn") && !lower.ends_with(".xml") {
                return Err(format!(
                    "resource `{}`: expected a .bpmn or .dmn file, found another kind of file",
                    r.name
                ));
            }
            self.engine
                .deploy(&r.name, &r.text)
                .map_err(|e| format!("deploying `{}`:\n{}", r.name, describe_engine_error(&e)))?;
        }
        let process_id = match (&scenario.process_id, keys.as_slice()) {
            (Some(id), _) => {
                if !keys.iter().any(|k| &k.id == id) {
                    return Err(format!(
                        "`processId`: expected one of the executable processes of `{}` {}, found `{id}`",
                        main.name,
                        list(keys.iter().map(|k| k.id.as_str()))
                    ));
                }
                id.clone()
            }
            (None, [only]) => only.id.clone(),
            (None, several) => {
                return Err(format!(
                    "`{}` holds {} executable processes {}: expected `processId` naming one",
                    main.name,
                    several.len(),
                    list(several.iter().map(|k| k.id.as_str()))
                ));
            }
        };
        self.process_id = process_id.clone();
        let has_none_start = self
            .engine
            .process(&process_id)
            .is_some_and(|p| !p.scope(ScopeIdx(0)).start_events.is_empty());
        if has_none_start {
            self.instance = Some(
                self.engine
                    .start_with_business_key(
                        &process_id,
                        scenario.variables.clone(),
                        scenario.business_key.as_deref(),
                    )
                    .map_err(|e| {
                        format!("starting `{process_id}`: {}", describe_engine_error(&e))
                    })?,
            );
        } else if !scenario.variables.is_empty() {
            return Err(format!(
                "`variables`: `{process_id}` has no none start event, so the scenario starts no \
                 instance up front: expected no start variables (give them to the message or \
                 signal that starts it), found {}",
                list(scenario.variables.keys())
            ));
        }
        Ok(())
    }

    /// The instances of the scenario's process, oldest first.
    fn instances_of_process(&self) -> Result<Vec<String>, String> {
        let mut ids: Vec<String> = self
            .engine
            .instances()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|s| s.process.id == self.process_id)
            .map(|s| s.id)
            .collect();
        ids.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        Ok(ids)
    }

    /// Without an instance yet, the first one of the process a step started
    /// becomes the scenario's instance.
    fn adopt_instance(&mut self) {
        if self.instance.is_none()
            && let Ok(ids) = self.instances_of_process()
        {
            self.instance = ids.into_iter().next();
        }
    }

    /// The scenario's instance, or why there is none.
    fn instance(&self) -> Result<&str, String> {
        self.instance.as_deref().ok_or_else(|| {
            format!(
                "expected an instance of `{}`, found none started yet (the process has no none \
                 start event: a `correlateMessage`, `broadcastSignal` or `advanceClock` step \
                 starts one)",
                self.process_id
            )
        })
    }

    fn load(&self) -> Result<(InstanceState, Arc<CompiledProcess>), String> {
        let instance = self.instance()?.to_string();
        self.load_instance(&instance)
    }

    fn load_instance(
        &self,
        instance: &str,
    ) -> Result<(InstanceState, Arc<CompiledProcess>), String> {
        let state = self
            .engine
            .instance(instance)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("instance `{instance}` vanished from the store"))?;
        let process = self
            .engine
            .process_version(&state.process)
            .cloned()
            .ok_or_else(|| format!("process {} is not deployed", state.process))?;
        Ok((state, process))
    }

    fn snapshot(&self) -> Result<Snapshot, String> {
        let (state, process) = self.load()?;
        Ok(Snapshot::of(&state, &process))
    }

    fn snapshot_of(&self, instance: &str) -> Result<Snapshot, String> {
        let (state, process) = self.load_instance(instance)?;
        Ok(Snapshot::of(&state, &process))
    }

    /// The instance a step about `element` acts on: the scenario's
    /// instance, or the first of its called instances (parents before
    /// children) whose process has `element` and where `found` holds
    /// (`found` gets the state, the element's index in that instance's
    /// process and whether it is a receive task). Without a match, the
    /// scenario's instance (whose error then says what waits there).
    fn instance_at(
        &self,
        element: &str,
        found: impl Fn(&InstanceState, ElementIdx, bool) -> bool,
    ) -> Result<String, String> {
        let top = self.instance()?.to_string();
        let mut candidates = vec![
            self.engine
                .instance(&top)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("instance `{top}` vanished from the store"))?,
        ];
        candidates.extend(descendants(&self.engine, &top).map_err(|e| e.to_string())?);
        for state in candidates {
            if state.status != Status::Active {
                continue;
            }
            let Some(process) = self.engine.process_version(&state.process) else {
                continue;
            };
            let Some(idx) = process.element_by_id(element) else {
                continue;
            };
            let receive = matches!(
                process.element(idx).kind,
                crate::compile::ElementKind::ReceiveTask { .. }
            );
            if found(&state, idx, receive) {
                return Ok(state.id);
            }
        }
        Ok(top)
    }

    /// What waits now, for messages about commands that found nothing.
    fn situation(&self) -> String {
        match self.snapshot() {
            Ok(s) => {
                let mut out = format!(
                    "the instance is {}, waiting at {}",
                    s.state,
                    list(&s.waiting_at)
                );
                if !s.incidents.is_empty() {
                    out.push_str(&format!(
                        ", with incidents at {}",
                        list(s.incidents.iter().map(|i| i.element.as_str()))
                    ));
                }
                out
            }
            Err(e) => e,
        }
    }

    fn step(&mut self, action: &Action) -> Result<(), Refusal> {
        match action {
            Action::Expect(e) => {
                if let Some(want) = e.instances {
                    let found = self.instances_of_process()?.len();
                    if found != want {
                        return Err(format!(
                            "instances: expected {want} instance(s) of `{}` started, found {found}",
                            self.process_id
                        )
                        .into());
                    }
                }
                let only_instances = Expect {
                    instances: e.instances,
                    ..Expect::default()
                } == **e;
                if only_instances {
                    return Ok(());
                }
                if self.deleted {
                    let only_state = Expect {
                        instances: e.instances,
                        state: e.state,
                        ..Expect::default()
                    } == **e;
                    return match e.state {
                        Some(InstanceStateName::Deleted) if only_state => Ok(()),
                        _ => Err("expected the instance's state, variables or tokens, found the instance deleted (a `deleteInstance` step removed it; only `state`: `deleted` and `instances` can be checked)".to_string().into()),
                    };
                }
                let snapshot = self.snapshot()?;
                let snapshot = if e.called.is_some() {
                    snapshot
                        .with_children(&self.engine)
                        .map_err(|e| e.to_string())?
                } else {
                    snapshot
                };
                Ok(check(&snapshot, e)?)
            }
            Action::CompleteTask { element, variables } => {
                let instance = self.instance_at(element, |state, idx, receive| {
                    state.tokens.values().any(|t| {
                        t.element == idx
                            && (matches!(t.state, TokenState::Waiting | TokenState::Job(_))
                                || (receive && t.state == TokenState::Event))
                    })
                })?;
                self.engine
                    .complete_task(&instance, element, variables.clone())
                    .map(|_| ())
                    .map_err(|e| {
                        Refusal::engine(
                            &e,
                            format!("completeTask `{element}`: {e}; {}", self.situation()),
                        )
                    })
            }
            Action::FailJob {
                element,
                message,
                retries,
            } => {
                let instance = self.instance_at(element, |state, idx, _| {
                    crate::runtime::job_at(state, idx).is_some()
                })?;
                let job = self.job_at(&instance, "failJob", element)?;
                self.engine
                    .fail_job(&instance, job, message, *retries)
                    .map(|_| ())
                    .map_err(|e| Refusal::engine(&e, format!("failJob `{element}`: {e}")))
            }
            Action::ThrowError {
                element,
                code,
                message,
                variables,
            } => {
                let instance = self.instance_at(element, |state, idx, _| {
                    crate::runtime::job_at(state, idx).is_some()
                })?;
                let job = self.job_at(&instance, "throwError", element)?;
                self.engine
                    .throw_error(&instance, job, code, message.as_deref(), variables.clone())
                    .map(|_| ())
                    .map_err(|e| Refusal::engine(&e, format!("throwError `{element}`: {e}")))
            }
            Action::SetVariables { variables } => {
                let instance = self.instance()?.to_string();
                self.engine
                    .set_variables(&instance, variables.clone())
                    .map(|_| ())
                    .map_err(|e| {
                        Refusal::engine(&e, format!("setVariables: {e}; {}", self.situation()))
                    })
            }
            Action::ResolveIncident { element, retries } => {
                let instance = self.instance_at(element, |state, idx, _| {
                    state.incidents.values().any(|i| i.element == idx)
                })?;
                let s = self.snapshot_of(&instance)?;
                let Some(incident) = s.incidents.iter().find(|i| &i.element == element) else {
                    return Err(Refusal {
                        code: "ENG103",
                        message: format!(
                            "resolveIncident `{element}`: expected an open incident at `{element}`, found none; {}",
                            self.situation()
                        ),
                    });
                };
                self.engine
                    .resolve_incident(&instance, incident.id, *retries)
                    .map(|_| ())
                    .map_err(|e| Refusal::engine(&e, format!("resolveIncident `{element}`: {e}")))
            }
            Action::CorrelateMessage {
                name,
                correlation_key,
                ttl,
                variables,
                expect_correlated,
                all,
            } => {
                let what = match correlation_key {
                    Some(k) => format!("correlateMessage `{name}` (key `{k}`)"),
                    None => format!("correlateMessage `{name}`"),
                };
                let ttl_ms = match ttl {
                    None => None,
                    Some((text, d)) => {
                        let now = crate::Clock::now_millis(self.clock.as_ref());
                        let until = crate::schedule::add_duration(now, d, 0).ok_or_else(|| {
                            format!("{what}: `ttl` `{text}`: expected a duration that keeps the clock within years 0 to 9999, found one that does not")
                        })?;
                        Some(until - now)
                    }
                };
                // A Camunda 7 process gets Camunda 7's correlation (one
                // target, or all); a message with a ttl is published.
                let camunda7 = ttl_ms.is_none()
                    && self
                        .engine
                        .process(&self.process_id)
                        .is_some_and(|p| p.semantics.correlate_one);
                let outcome = if camunda7 {
                    self.engine.correlate_message(
                        name,
                        correlation_key.as_deref(),
                        variables.clone(),
                        *all,
                    )
                } else {
                    self.engine.publish_message(
                        name,
                        correlation_key.as_deref(),
                        variables.clone(),
                        ttl_ms,
                    )
                }
                .map_err(|e| {
                    Refusal::engine(&e, format!("{what}: {}", describe_engine_error(&e)))
                })?;
                let took = !outcome.correlated.is_empty() || !outcome.started.is_empty();
                self.check_correlated(
                    &what,
                    "a message subscription or message start event took it",
                    *expect_correlated,
                    took,
                )
            }
            Action::BroadcastSignal {
                name,
                variables,
                expect_correlated,
            } => {
                let n = self
                    .engine
                    .broadcast_signal(name, variables.clone())
                    .map_err(|e| {
                        Refusal::engine(
                            &e,
                            format!("broadcastSignal `{name}`: {}", describe_engine_error(&e)),
                        )
                    })?;
                let what = format!("broadcastSignal `{name}`");
                self.check_correlated(
                    &what,
                    "a signal subscription or signal start event caught it",
                    *expect_correlated,
                    n > 0,
                )
            }
            Action::CancelInstance { process } => {
                let instance = self.target_instance(process.as_deref())?;
                self.engine
                    .cancel(&instance)
                    .map(|_| ())
                    .map_err(|e| Refusal::engine(&e, format!("cancelInstance `{instance}`: {e}")))
            }
            Action::DeleteInstance { process } => {
                let instance = self.target_instance(process.as_deref())?;
                self.engine.delete_instance(&instance).map_err(|e| {
                    Refusal::engine(&e, format!("deleteInstance `{instance}`: {e}"))
                })?;
                if process.is_none() {
                    self.deleted = true;
                }
                Ok(())
            }
            Action::AdvanceClock { text, duration } => {
                let now = crate::Clock::now_millis(self.clock.as_ref());
                let later = crate::schedule::add_duration(now, duration, 0).ok_or_else(|| {
                    format!("advanceClock `{text}`: expected a duration that keeps the clock within years 0 to 9999, found one that does not")
                })?;
                // Fire every timer due in the window, in due order, each at
                // its due time; then the clock stands at the target.
                let mut rounds = 0;
                while let Some(due) = self
                    .engine
                    .next_timer_due()
                    .map_err(|e| Refusal::engine(&e, format!("advanceClock `{text}`: {e}")))?
                    .filter(|d| *d <= later)
                {
                    rounds += 1;
                    if rounds > crate::runtime::MAX_TIMER_FIRINGS {
                        return Err(format!(
                            "advanceClock `{text}`: expected timers to stop becoming due, found more than {} firings (a loop of zero-length timers?)",
                            crate::runtime::MAX_TIMER_FIRINGS
                        ).into());
                    }
                    let at = due.max(crate::Clock::now_millis(self.clock.as_ref()));
                    self.clock.set(at);
                    self.engine
                        .fire_due_timers()
                        .map_err(|e| Refusal::engine(&e, format!("advanceClock `{text}`: {e}")))?;
                }
                self.clock.set(later);
                Ok(())
            }
        }
    }

    /// `expectCorrelated` of a message or signal step.
    fn check_correlated(
        &self,
        what: &str,
        took_it: &str,
        expect: Option<bool>,
        took: bool,
    ) -> Result<(), Refusal> {
        match expect {
            Some(true) if !took => Err(format!(
                "{what}: expected {took_it}, found nothing waiting for it; {}",
                self.situation()
            )
            .into()),
            Some(false) if took => Err(format!(
                "{what}: expected nothing to take it (`expectCorrelated`: false), found that {took_it}"
            )
            .into()),
            _ => Ok(()),
        }
    }

    /// The scenario's instance, or the first active instance of `process`
    /// it called (at any depth).
    fn target_instance(&self, process: Option<&str>) -> Result<String, Refusal> {
        let top = self.instance()?.to_string();
        let Some(process) = process else {
            return Ok(top);
        };
        descendants(&self.engine, &top)
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|s| s.process.id == process && s.status == Status::Active)
            .map(|s| s.id)
            .ok_or_else(|| Refusal {
                code: "ENG104",
                message: format!(
                    "expected an active instance of `{process}` called by the scenario's instance, found none"
                ),
            })
    }

    /// The job of the token waiting at `element`; `step` names the step in
    /// messages.
    fn job_at(&self, instance: &str, step: &str, element: &str) -> Result<JobId, Refusal> {
        let (state, process) = self.load_instance(instance)?;
        let Some(idx) = process.element_by_id(element) else {
            return Err(Refusal {
                code: "ENG102",
                message: format!(
                    "{step} `{element}`: expected an element id of process `{}`, found `{element}`",
                    process.key.id
                ),
            });
        };
        crate::runtime::job_at(&state, idx).ok_or_else(|| Refusal {
            code: "ENG103",
            message: format!(
                "{step} `{element}`: expected a job waiting at `{element}`, found none; {}",
                self.situation()
            ),
        })
    }
}

// ------------------------------------------------------------------- checks

/// JSON values equal, numbers by value (`120` equals `120.0`).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(p), Some(q)) = (x.as_i64(), y.as_i64()) {
                p == q
            } else if let (Some(p), Some(q)) = (x.as_u64(), y.as_u64()) {
                p == q
            } else {
                match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p == q,
                    _ => x.to_string() == y.to_string(),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// Checks what `expect` names; every mismatch is reported, `; `-separated.
pub fn check(s: &Snapshot, e: &Expect) -> Result<(), String> {
    let mut problems: Vec<String> = Vec::new();
    if let Some(want) = e.state
        && want != s.state
    {
        let mut found = format!("`{}`", s.state);
        if !s.waiting_at.is_empty() {
            found.push_str(&format!(" waiting at {}", list(&s.waiting_at)));
        }
        for i in &s.incidents {
            found.push_str(&format!(" (incident at `{}`: {})", i.element, i.message));
        }
        problems.push(format!("state: expected `{want}`, found {found}"));
    }
    if let Some(want) = &e.waiting_at {
        let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
        let found: BTreeSet<&str> = s.waiting_at.iter().map(String::as_str).collect();
        if want != found {
            problems.push(format!(
                "waitingAt: expected {}, found {}",
                list(&want),
                list(&found)
            ));
        }
    }
    if let Some(want) = &e.variables {
        for (k, v) in want {
            match s.variables.get(k) {
                None => problems.push(format!(
                    "variable `{k}`: expected {v}, found no process-level variable of that name"
                )),
                Some(f) if !same_value(v, f) => {
                    problems.push(format!("variable `{k}`: expected {v}, found {f}"));
                }
                Some(_) => {}
            }
        }
    }
    if let Some(want) = &e.visited {
        let mut it = s.visited.iter();
        let mut after: Option<&str> = None;
        for w in want {
            if it.any(|v| v == w) {
                after = Some(w);
            } else {
                let place = match after {
                    Some(a) => format!("after `{a}`"),
                    None => "at all".to_string(),
                };
                problems.push(format!(
                    "visited: expected `{w}` to complete {place}, found the completion order {}",
                    list(&s.visited)
                ));
                break;
            }
        }
    }
    if let Some(never) = &e.not_visited {
        for n in never {
            let times = s.visited.iter().filter(|v| *v == n).count();
            if times > 0 {
                problems.push(format!(
                    "notVisited: expected `{n}` never to complete, found it completed {times} time(s)"
                ));
            }
        }
    }
    if let Some(counts) = &e.counts {
        for (el, want) in counts {
            let found = s.visited.iter().filter(|v| *v == el).count();
            if found != *want {
                problems.push(format!(
                    "counts: expected `{el}` to complete {want} time(s), found {found}"
                ));
            }
        }
    }
    if let Some(want) = &e.incidents {
        let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
        let found: BTreeSet<&str> = s.incidents.iter().map(|i| i.element.as_str()).collect();
        if want != found {
            let mut msg = format!(
                "incidents: expected open incidents at {}, found {}",
                list(&want),
                list(&found)
            );
            for i in &s.incidents {
                msg.push_str(&format!(" (`{}`: {})", i.element, i.message));
            }
            problems.push(msg);
        }
    }
    if let Some(want) = &e.tokens {
        for (el, n) in want {
            let found = s.tokens.iter().filter(|t| *t == el).count();
            if found != *n {
                problems.push(format!(
                    "tokens: expected {n} token(s) at `{el}`, found {found}"
                ));
            }
        }
    }
    if let Some(want) = &e.local_variables {
        for (el, spec) in want {
            check_local(s, el, spec, &mut problems);
        }
    }
    if let Some(called) = &e.called {
        for (process, want) in called {
            match s.children.iter().find(|c| c.process.id == *process) {
                None => problems.push(format!(
                    "called `{process}`: expected an instance of `{process}` called by this one, found none"
                )),
                Some(child) => {
                    if let Err(m) = check(child, want) {
                        problems.push(format!("called `{process}` ({}): {m}", child.instance));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// `localVariables` of one element: an object one of its scopes holds, or
/// an array of objects each held by one of them.
fn check_local(s: &Snapshot, el: &str, spec: &Value, problems: &mut Vec<String>) {
    let scopes: Vec<&Map<String, Value>> = s
        .local_scopes
        .iter()
        .filter(|(e, _)| e == el)
        .map(|(_, v)| v)
        .collect();
    let wants: Vec<&Map<String, Value>> = match spec {
        Value::Object(m) => vec![m],
        Value::Array(items) => {
            let objects: Vec<_> = items.iter().filter_map(Value::as_object).collect();
            if objects.len() != items.len() {
                problems.push(format!(
                    "localVariables `{el}`: expected objects of variables, found {spec}"
                ));
                return;
            }
            objects
        }
        other => {
            problems.push(format!(
                "localVariables `{el}`: expected an object of variables or an array of them, found {other}"
            ));
            return;
        }
    };
    for want in wants {
        let held = scopes.iter().any(|vars| {
            want.iter()
                .all(|(k, v)| vars.get(k).is_some_and(|f| same_value(v, f)))
        });
        if !held {
            let found: Vec<String> = scopes
                .iter()
                .map(|v| Value::Object((*v).clone()).to_string())
                .collect();
            problems.push(format!(
                "localVariables `{el}`: expected a scope of `{el}` holding {}, found {}",
                Value::Object(want.clone()),
                if found.is_empty() {
                    "no scope of it".to_string()
                } else {
                    found.join(", ")
                }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_arithmetic_clamps_to_the_end_of_the_month() {
        use crate::schedule::add_duration;
        let jan31 = parse_clock("2024-01-31T10:00:00Z").unwrap();
        let p1m = timer::parse_time_duration("P1M").unwrap();
        assert_eq!(
            add_duration(jan31, &p1m, 0),
            Some(parse_clock("2024-02-29T10:00:00Z").unwrap())
        );
        let p1y2dt3h = timer::parse_time_duration("P1Y2DT3H").unwrap();
        assert_eq!(
            add_duration(jan31, &p1y2dt3h, 0),
            Some(parse_clock("2025-02-02T13:00:00Z").unwrap())
        );
        let huge = timer::parse_time_duration("P9000Y").unwrap();
        assert_eq!(add_duration(jan31, &huge, 0), None);
    }

    #[test]
    fn clock_needs_an_offset() {
        assert_eq!(
            parse_clock("2026-01-01T00:00:00Z"),
            Ok(DEFAULT_CLOCK_MILLIS)
        );
        assert_eq!(
            parse_clock("2026-01-01T01:00:00+01:00"),
            Ok(DEFAULT_CLOCK_MILLIS)
        );
        let e = parse_clock("2026-01-01T00:00:00").unwrap_err();
        assert!(e.contains("expected a date-time with `Z`"), "{e}");
    }

    #[test]
    fn steps_name_their_action_and_refuse_unknown_keys() {
        let s = Step::from_value(json!({"completeTask": "A", "varibles": {}})).unwrap_err();
        assert_eq!(
            s,
            "unknown key `varibles` in a `completeTask` step: expected `completeTask`, `variables`, `refused`, `note`"
        );
        let s = Step::from_value(json!({"completeTask": "A", "failJob": "B"})).unwrap_err();
        assert!(s.starts_with("expected one action per step"), "{s}");
        let s = Step::from_value(json!({"retries": 1})).unwrap_err();
        assert!(s.contains("found only `retries`"), "{s}");
        let s = Step::from_value(json!({"failJob": "A", "retries": -1})).unwrap_err();
        assert!(s.contains("found -1"), "{s}");
        let s = Step::from_value(json!({"expect": {"waitingat": []}})).unwrap_err();
        assert!(s.contains("unknown field `waitingat`"), "{s}");
        let s = Step::from_value(json!({"advanceClock": "2 hours"})).unwrap_err();
        assert!(s.contains("expected an ISO 8601 duration"), "{s}");
        let ok = Step::from_value(json!({"failJob": "A", "retries": 0, "note": "n"})).unwrap();
        assert_eq!(
            ok,
            Step {
                note: Some("n".into()),
                action: Action::FailJob {
                    element: "A".into(),
                    message: "the job failed".into(),
                    retries: Some(0)
                },
                refused: None,
            }
        );
        let s = Step::from_value(json!({"expect": {}, "refused": "ENG101"})).unwrap_err();
        assert!(
            s.contains("unknown key `refused` in a `expect` step"),
            "{s}"
        );
        let s = Step::from_value(json!({"cancelInstance": 1})).unwrap_err();
        assert!(s.contains("expected `cancelInstance` to be true"), "{s}");
    }

    #[test]
    fn scenario_errors_carry_step_number_and_line() {
        let text = "{\"process\": \"p.bpmn\",\n \"steps\": [\n  {\"expect\": {}},\n  {\"completeTask\": 3}\n ]}";
        let e = Scenario::from_json(text).unwrap_err().to_string();
        assert!(
            e.contains("step 2: expected `completeTask` to be an element id, found 3"),
            "{e}"
        );
        assert!(e.ends_with("at line 4 column 3"), "{e}");
        // A string step, and a steps key inside a nested object that must not count.
        let text = "{\"process\": \"p\", \"variables\": {\"steps\": [1, 2]},\n \"steps\": [{\"expect\": {}}, \"oops\"]}";
        let e = Scenario::from_json(text).unwrap_err();
        assert!(e.message.starts_with("step 2: expected an object"), "{e}");
        assert_eq!((e.line, e.column), (2, 28), "{e}");
        let e = Scenario::from_json("{\"process\": \"p\", \"steps\": [], \"extra\": 1}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `extra`"), "{e}");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same_value(&json!(120), &json!(120.0)));
        assert!(same_value(
            &json!({"a": [1, 2.5]}),
            &json!({"a": [1.0, 2.5]})
        ));
        assert!(!same_value(&json!(1), &json!("1")));
        assert!(!same_value(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }
}
