//! The durable outbox: work that leaves an instance — a message or signal
//! it throws, a child a call activity asks for, a child's result or error
//! for its parent, a child to cancel, a look at the buffered messages for a
//! subscription it opened.
//!
//! BPMN 2.0 (§10.5 Events, §10.3.5 Call Activity) says what such work does,
//! not how an engine survives a crash in the middle of it; this is
//! Zeebe's transactional outbox in the engine's terms:
//!
//! - A command's work is written as `outbox/<sequence>` records in the
//!   *same* store write as the command's events and checkpoint
//!   ([`crate::store::Store::commit_with`]): it exists exactly when the
//!   command that caused it is committed.
//! - After the commit it is delivered, oldest first. A delivery that ends
//!   in one receiver's command removes its record in that command's write,
//!   so the work is done and acknowledged together — exactly once, with no
//!   table of seen deliveries on the receiving side. A delivery that has
//!   nothing to do (the parent moved on, the subscription closed) removes
//!   the record on its own.
//! - A message or signal reaches many receivers. Its delivery is split:
//!   one write replaces the record by one *leg* per receiver (trigger this
//!   subscription, start this process at this element), then each leg is
//!   delivered as above.
//! - [`crate::Engine::open`] reads the records left by a crash and delivers
//!   them before it returns.
//!
//! The records are a stored format: [`Entry`] in the versioned envelope of
//! [`crate::store::encode`]; fields are only ever added with serde
//! defaults (golden fixtures in `fixtures/store/`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Delivery, Engine, EngineError, MAX_CASCADE_DEPTH, SignalOutcome};
use crate::compile::{ElementIdx, Trigger};
use crate::core::{Command, CommandError, Event, InstanceState, Status, SubscriptionId, TokenId};
use crate::store::{RecordOp, decode, encode};

/// Store record keys of outbox entries: `outbox/` + 20-digit sequence; the
/// legs a message or signal fans out into take its place, under its key,
/// a `/` and a 10-digit leg number (so that after a crash they are still
/// delivered before the work that came after it).
pub(crate) const OUTBOX_PREFIX: &str = "outbox/";

pub(crate) fn outbox_key(seq: u64) -> String {
    format!("{OUTBOX_PREFIX}{seq:020}")
}

/// One outbox record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The cascade depth of the work (a caller's command leaves depth 1).
    pub depth: u32,
    /// The instance whose command left it (for people reading the store).
    pub sender: String,
    pub work: Work,
}

/// Work between instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum Work {
    /// A process threw a message (end or intermediate message event).
    Message {
        name: String,
        key: Option<String>,
        variables: Map<String, Value>,
    },
    /// A process threw a signal.
    Signal {
        name: String,
        variables: Map<String, Value>,
    },
    /// A message subscription opened: a buffered message may match it.
    Opened {
        instance: String,
        subscription: SubscriptionId,
        name: String,
        key: Option<String>,
    },
    /// A call activity asked for a child instance.
    StartChild {
        parent: String,
        token: TokenId,
        instance: String,
        process: String,
        version: Option<u32>,
        /// Bound to the caller's deployment: the content hash it has.
        deployment: Option<String>,
        variables: Map<String, Value>,
    },
    /// A called instance completed: its parent's call activity moves on.
    ChildCompleted {
        parent: String,
        token: TokenId,
        variables: Map<String, Value>,
    },
    /// A called instance did not catch an error or escalation.
    ChildThrew {
        parent: String,
        token: TokenId,
        error: bool,
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    },
    /// A call activity went away before its child ended.
    CancelChild { instance: String },
    /// A leg of a message or signal: this subscription fires.
    Trigger {
        instance: String,
        subscription: SubscriptionId,
        variables: Map<String, Value>,
    },
    /// A leg of a message or signal: a new instance of this process version
    /// starts at this start event; with `start_key`, the instance holds the
    /// message's correlation key while it is active (Camunda 8).
    StartAt {
        process: String,
        version: u32,
        element: u32,
        variables: Map<String, Value>,
        start_key: Option<String>,
    },
}

/// The outbox as the engine holds it: the records not yet delivered, in
/// order, and the next sequence number.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// (record key, cascade depth, work), oldest first.
    pub queue: VecDeque<(String, u32, Work)>,
    pub next_seq: u64,
    /// Record writes the next commit carries: the acknowledgement of the
    /// entry being delivered (and what the delivery removes with it).
    pub attached: Vec<RecordOp>,
}

impl Outbox {
    /// Reads the entries a previous run left.
    pub fn load(records: Vec<(String, Vec<u8>)>) -> Result<Outbox, EngineError> {
        let mut out = Outbox::default();
        for (key, bytes) in records {
            let rest = &key[OUTBOX_PREFIX.len()..];
            let top = rest.split_once('/').map_or(rest, |(top, _)| top);
            let seq = top.parse::<u64>().map_err(|_| EngineError::BadRecord {
                key: key.clone(),
                expected: "an outbox key `outbox/` and a sequence number".into(),
                found: format!("`{key}`"),
            })?;
            let entry: Entry = decode(&key, &bytes)?;
            out.next_seq = out.next_seq.max(seq + 1);
            out.queue.push_back((key, entry.depth, entry.work));
        }
        Ok(out)
    }

    /// Gives `work` sequence numbers: the record writes that store it (for
    /// the sender's commit) and the queue entries (for after it).
    pub fn stage(
        &mut self,
        sender: &str,
        depth: u32,
        work: Vec<Work>,
        records: &mut Vec<RecordOp>,
    ) -> Vec<(String, u32, Work)> {
        let keys: Vec<String> = work
            .iter()
            .map(|_| {
                self.next_seq += 1;
                outbox_key(self.next_seq - 1)
            })
            .collect();
        Self::stage_at(keys, sender, depth, work, records)
    }

    /// The legs of the entry under `key`, staged in its place.
    pub fn stage_legs(
        key: &str,
        depth: u32,
        legs: Vec<Work>,
        records: &mut Vec<RecordOp>,
    ) -> Vec<(String, u32, Work)> {
        let keys = (0..legs.len()).map(|i| format!("{key}/{i:010}")).collect();
        Self::stage_at(keys, "", depth, legs, records)
    }

    fn stage_at(
        keys: Vec<String>,
        sender: &str,
        depth: u32,
        work: Vec<Work>,
        records: &mut Vec<RecordOp>,
    ) -> Vec<(String, u32, Work)> {
        let mut staged = Vec::with_capacity(work.len());
        for (key, w) in keys.into_iter().zip(work) {
            let entry = Entry {
                depth,
                sender: sender.to_string(),
                work: w,
            };
            records.push(RecordOp::Put {
                key: key.clone(),
                value: encode(&entry),
            });
            staged.push((key, depth, entry.work));
        }
        staged
    }
}

impl Engine {
    /// The work a command left, computed before it is committed (it is
    /// committed with it): thrown messages and signals, children to start
    /// and to cancel, results for a parent, and a look at the buffered
    /// messages for each new message subscription.
    pub(super) fn outgoing(
        &self,
        state: &InstanceState,
        events: &[Event],
        calls_before: Option<std::collections::BTreeMap<TokenId, String>>,
        was_active: bool,
        opened: Vec<(SubscriptionId, (String, Option<String>))>,
    ) -> Vec<Work> {
        let mut out = Vec::new();
        if let Some(before) = calls_before {
            for (token, child) in before {
                let gone = state.calls.get(&token) != Some(&child);
                let ended = events
                    .iter()
                    .any(|e| matches!(e, Event::ChildEnded { token: t } if *t == token));
                if gone && !ended {
                    // A child not started yet is never started: its
                    // `StartChild` finds the call gone. One started is
                    // cancelled.
                    out.push(Work::CancelChild { instance: child });
                }
            }
        }
        for e in events {
            match e {
                // A child requested and gone within the command never starts.
                Event::ChildRequested {
                    token,
                    instance,
                    process,
                    version,
                    deployment,
                    variables,
                    ..
                } if state.calls.get(token) == Some(instance) => out.push(Work::StartChild {
                    parent: state.id.clone(),
                    token: *token,
                    instance: instance.clone(),
                    process: process.clone(),
                    version: *version,
                    deployment: deployment.clone(),
                    variables: variables.clone(),
                }),
                Event::ThrownToParent {
                    error,
                    code,
                    message,
                    variables,
                } => {
                    if let Some(link) = &state.parent {
                        out.push(Work::ChildThrew {
                            parent: link.instance.clone(),
                            token: link.token,
                            error: *error,
                            code: code.clone(),
                            message: message.clone(),
                            variables: variables.clone(),
                        });
                    }
                }
                Event::MessageSent {
                    name,
                    key,
                    variables,
                } => out.push(Work::Message {
                    name: name.clone(),
                    key: key.clone(),
                    variables: variables.clone(),
                }),
                Event::SignalSent { name, variables } => out.push(Work::Signal {
                    name: name.clone(),
                    variables: variables.clone(),
                }),
                _ => {}
            }
        }
        if was_active
            && state.status == Status::Completed
            && let Some(link) = &state.parent
        {
            out.push(Work::ChildCompleted {
                parent: link.instance.clone(),
                token: link.token,
                variables: state.variables(),
            });
        }
        for (subscription, (name, key)) in opened {
            out.push(Work::Opened {
                instance: state.id.clone(),
                subscription,
                name,
                key,
            });
        }
        out
    }

    /// Delivers the outbox, oldest first, until it is empty. A delivery
    /// that fails for another reason than the store drops its entry (the
    /// first such error is returned once the rest is delivered); a store
    /// error stops the delivery and leaves the rest in the store for the
    /// next open.
    pub(super) fn drain(&mut self) -> Result<(), EngineError> {
        let mut first_error = None;
        while let Some((key, depth, work)) = self.outbox.queue.pop_front() {
            self.outbox.attached = vec![RecordOp::Delete { key: key.clone() }];
            let result = if depth > MAX_CASCADE_DEPTH {
                Err(EngineError::Cascade {
                    limit: MAX_CASCADE_DEPTH,
                })
            } else {
                self.depth = depth;
                self.deliver(&key, depth, work)
            };
            self.depth = 0;
            let leftover = std::mem::take(&mut self.outbox.attached);
            match result {
                Err(e @ EngineError::Store(_)) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
                Ok(()) => {}
            }
            if !leftover.is_empty() {
                self.store.write_records(&leftover)?;
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Delivers one entry; its acknowledgement waits in
    /// `self.outbox.attached` for the receiver's commit.
    fn deliver(&mut self, key: &str, depth: u32, work: Work) -> Result<(), EngineError> {
        match work {
            Work::Message {
                name,
                key: correlation,
                variables,
            } => {
                let legs = self.plan_message(&name, correlation.as_deref(), &variables)?;
                self.fan_out(key, depth, legs)
            }
            Work::Signal { name, variables } => {
                let legs = self.plan_signal(&name, &variables)?;
                self.fan_out(key, depth, legs)
            }
            Work::Opened {
                instance,
                subscription,
                name,
                key,
            } => self.deliver_buffered(&instance, subscription, &name, key.as_deref()),
            Work::StartChild {
                parent,
                token,
                instance,
                process,
                version,
                deployment,
                variables,
            } => {
                // Bound to the caller's deployment: the version of the
                // called process deployed with the same file, if any.
                let version = version.or_else(|| {
                    deployment.and_then(|hash| {
                        self.registry.by_hash.get(&(process.clone(), hash)).copied()
                    })
                });
                self.start_child(parent, token, instance, &process, version, variables)
            }
            Work::ChildCompleted {
                parent,
                token,
                variables,
            } => self.tell_parent(&parent, Command::ChildCompleted { token, variables }),
            Work::ChildThrew {
                parent,
                token,
                error,
                code,
                message,
                variables,
            } => self.tell_parent(
                &parent,
                Command::ChildThrew {
                    token,
                    error,
                    code,
                    message,
                    variables,
                },
            ),
            Work::CancelChild { instance } => {
                let active = self
                    .store
                    .load(&instance)?
                    .is_some_and(|s| s.status == Status::Active);
                if active {
                    self.execute_now(&instance, Command::Cancel)?;
                }
                Ok(())
            }
            leg @ (Work::Trigger { .. } | Work::StartAt { .. }) => {
                self.deliver_leg(leg).map(|_| ())
            }
        }
    }

    /// Replaces the entry being delivered by one entry per leg, in one
    /// write, and puts the legs first in the queue.
    fn fan_out(&mut self, key: &str, depth: u32, legs: Vec<Work>) -> Result<(), EngineError> {
        let mut records = std::mem::take(&mut self.outbox.attached);
        let staged = Outbox::stage_legs(key, depth, legs, &mut records);
        self.store.write_records(&records)?;
        for leg in staged.into_iter().rev() {
            self.outbox.queue.push_front(leg);
        }
        Ok(())
    }

    /// The legs of a message: the open subscriptions it correlates to (at
    /// most one per process) and the message start events it starts (of
    /// processes none of whose instances took it).
    pub(super) fn plan_message(
        &mut self,
        name: &str,
        key: Option<&str>,
        variables: &Map<String, Value>,
    ) -> Result<Vec<Work>, EngineError> {
        let mut legs = Vec::new();
        let mut took = std::collections::HashSet::new();
        for (process, (inst, sub)) in self.message_targets(name, key)? {
            legs.push(Work::Trigger {
                instance: inst.1,
                subscription: sub,
                variables: variables.clone(),
            });
            took.insert(process);
        }
        for (process, element) in
            self.startable(|t| matches!(t, Trigger::Message { name: n, .. } if n == name))
        {
            if took.contains(&process.key.id) {
                continue;
            }
            // Camunda 8: while an instance a message with this key started
            // is active, another message with the key starts no second one.
            if let Some(k) = key
                && !self.start_key_free(&process.key.id, k)?
            {
                continue;
            }
            legs.push(Work::StartAt {
                process: process.key.id.clone(),
                version: process.key.version,
                element: element.0,
                variables: variables.clone(),
                start_key: key.map(str::to_string),
            });
        }
        Ok(legs)
    }

    /// The legs of a signal: every open signal subscription of that name
    /// (taken before any runs: subscriptions its own effects open do not
    /// catch it) and every signal start event.
    pub(super) fn plan_signal(
        &self,
        name: &str,
        variables: &Map<String, Value>,
    ) -> Result<Vec<Work>, EngineError> {
        let mut legs: Vec<Work> = self
            .signal_targets(name)?
            .into_iter()
            .map(|(instance, subscription)| Work::Trigger {
                instance,
                subscription,
                variables: variables.clone(),
            })
            .collect();
        for (process, element) in
            self.startable(|t| matches!(t, Trigger::Signal { name: n } if n == name))
        {
            legs.push(Work::StartAt {
                process: process.key.id.clone(),
                version: process.key.version,
                element: element.0,
                variables: variables.clone(),
                start_key: None,
            });
        }
        Ok(legs)
    }

    /// Delivers one leg: `Ok(Some((delivery, started)))` when it reached
    /// its receiver, `Ok(None)` when the receiver is gone.
    pub(super) fn deliver_leg(
        &mut self,
        leg: Work,
    ) -> Result<Option<(Delivery, bool)>, EngineError> {
        match leg {
            Work::Trigger {
                instance,
                subscription,
                variables,
            } => Ok(self
                .trigger(&instance, subscription, variables)?
                .map(|d| (d, false))),
            Work::StartAt {
                process,
                version,
                element,
                variables,
                start_key,
            } => {
                let Some(compiled) = self.registry.by_key.get(&(process, version)).cloned() else {
                    return Ok(None);
                };
                let started = self.start_at(&compiled, ElementIdx(element), variables)?;
                if let Some(k) = start_key {
                    self.hold_start_key(&compiled.key.id, &k, &started.instance)?;
                }
                Ok(Some((started, true)))
            }
            _ => Ok(None),
        }
    }

    /// Delivers legs now (a caller's message or signal), saying where they
    /// went.
    pub(super) fn deliver_legs(&mut self, legs: Vec<Work>) -> Result<SignalOutcome, EngineError> {
        let mut outcome = SignalOutcome::default();
        for leg in legs {
            match self.deliver_leg(leg)? {
                Some((d, true)) => outcome.started.push(d),
                Some((d, false)) => outcome.triggered.push(d),
                None => {}
            }
        }
        Ok(outcome)
    }

    /// Starts the child instance a call activity asked for, unless the
    /// parent no longer waits for it (cancelled, or the call activity
    /// interrupted since it asked) or it exists already; a process that is
    /// not deployed (or cannot start) raises an incident at the call
    /// activity instead.
    fn start_child(
        &mut self,
        parent: String,
        token: TokenId,
        instance: String,
        process: &str,
        version: Option<u32>,
        variables: Map<String, Value>,
    ) -> Result<(), EngineError> {
        let waits = self
            .store
            .load(&parent)?
            .is_some_and(|p| p.status == Status::Active && p.calls.get(&token) == Some(&instance));
        if !waits || self.store.load(&instance)?.is_some() {
            return Ok(());
        }
        let compiled = match version {
            Some(v) => self.registry.by_key.get(&(process.to_string(), v)).cloned(),
            None => self.process(process).cloned(),
        };
        let failure = match compiled {
            None => Some(match (version, self.registry.latest.get(process)) {
                (Some(v), Some(latest)) => format!(
                    "called process `{process}`: expected version {v} to be deployed, found versions 1 to {latest}"
                ),
                _ => format!(
                    "called process `{process}`: expected the id of a deployed executable process, found none deployed with that id"
                ),
            }),
            Some(compiled) => {
                let state = InstanceState::empty(&instance, compiled.key.clone());
                let command = Command::StartCalled {
                    parent: parent.clone(),
                    token,
                    variables,
                };
                match self.run(state, &compiled, command) {
                    Ok(_) => None,
                    Err(EngineError::Command(e)) => {
                        Some(format!("called process `{process}`: {e}"))
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if let Some(message) = failure {
            self.tell_parent(&parent, Command::ChildFailed { token, message })?;
        }
        Ok(())
    }

    /// Runs a command a child sends its parent. A parent that has moved on
    /// (ended, or no longer waiting at that call activity) ignores it.
    fn tell_parent(&mut self, parent: &str, command: Command) -> Result<(), EngineError> {
        match self.execute_now(parent, command) {
            Ok(_)
            | Err(EngineError::UnknownInstance(_))
            | Err(EngineError::Command(
                CommandError::NotActive { .. } | CommandError::NotCalling(_),
            )) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped version of the outbox record decodes, and version 1
    /// is still written byte for byte as it was.
    #[test]
    fn golden_outbox_records_decode_and_encode_unchanged() {
        let golden = include_str!("../../../fixtures/store/outbox-v1.jsonl");
        let mut kinds = std::collections::BTreeSet::new();
        for (n, line) in golden.lines().enumerate() {
            let entry: Entry = decode(&format!("outbox-v1.jsonl:{}", n + 1), line.as_bytes())
                .unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
            assert_eq!(
                String::from_utf8(encode(&entry)).expect("utf-8"),
                line,
                "line {}",
                n + 1
            );
            let tag = serde_json::to_value(&entry.work).expect("serializes")["kind"].clone();
            kinds.insert(tag.as_str().unwrap_or_default().to_string());
        }
        // One line per kind of work.
        assert_eq!(kinds.len(), 9, "{kinds:?}");
    }
}
