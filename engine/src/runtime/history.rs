//! History apart from runtime state.
//!
//! BPMN 2.0 says nothing of history; this follows what Camunda users know
//! (Camunda 7's history service and `historyTimeToLive`, Camunda 8's
//! Operate): an instance that ends leaves the *runtime set* — the
//! instances `Engine::open` reads and `Engine::active_instances` lists —
//! and is kept as history until its time to live has passed.
//!
//! Two kinds of small store records, written in the same atomic write as
//! the command that starts or ends the instance (`Store::commit_with`):
//!
//! - `run/<instance id>` (empty value) while the instance is active;
//! - `ended/<end time, 20 digits>/<instance id>` once it ended, whose value
//!   is the time it may be removed (ms since the epoch, decimal) or empty
//!   (kept until deleted).
//!
//! The ended instance's last checkpoint and its event log stay where they
//! are: they *are* its history (final state and variables; every element
//! instance, incident and variable change with the command that made it,
//! in the log). [`Engine::remove_expired_history`] removes what is past its
//! time to live. A store written before these records existed gets them
//! once, on the first open (`index/version`).

use serde_json::{Map, Value};

use super::{Engine, EngineError};
use crate::compile::ProcessKey;
use crate::core::{Event, InstanceState, Status};
use crate::store::RecordOp;

pub(crate) const RUNNING_PREFIX: &str = "run/";
pub(crate) const ENDED_PREFIX: &str = "ended/";
/// Present once the store has `run/` and `ended/` records for every
/// instance (value `1`), the wait records of every active one (`2`), a
/// head record beside every buffered message (`3`), and an `expire/`
/// record for every ended instance with a time to live (`4`).
pub(crate) const INDEX_VERSION: &[u8] = b"4";
pub(crate) const INDEX_VERSION_KEY: &str = "index/version";

fn running_key(id: &str) -> String {
    format!("{RUNNING_PREFIX}{id}")
}

fn ended_key(ended_at: i64, id: &str) -> String {
    format!("{ENDED_PREFIX}{:020}/{id}", ended_at.max(0))
}

/// The removal index: `expire/<removal time, 20 digits>/<instance id>`,
/// whose value is the instance's `ended/` key; the cleanup reads it in
/// order and stops at the first not yet due.
const EXPIRE_PREFIX: &str = "expire/";

fn expire_key(removal_at: i64, id: &str) -> String {
    format!("{EXPIRE_PREFIX}{:020}/{id}", removal_at.max(0))
}

/// The records of an ended instance: `ended/`, and `expire/` when it has a
/// time to live.
fn ended_records(id: &str, ended_at: i64, ttl: Option<i64>) -> Vec<RecordOp> {
    let key = ended_key(ended_at, id);
    let removal = ttl.map(|t| ended_at.saturating_add(t));
    let mut out = vec![RecordOp::Put {
        key: key.clone(),
        value: removal
            .map(|r| r.to_string().into_bytes())
            .unwrap_or_default(),
    }];
    if let Some(r) = removal {
        out.push(RecordOp::Put {
            key: expire_key(r, id),
            value: key.into_bytes(),
        });
    }
    out
}

/// An ended instance, as history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricInstance {
    pub id: String,
    pub process: ProcessKey,
    pub business_key: Option<String>,
    /// The instance whose call activity started it.
    pub parent: Option<String>,
    /// `Completed` or `Cancelled`.
    pub status: Status,
    pub started_at: i64,
    pub ended_at: i64,
    /// When it may be removed (its time to live), if ever.
    pub removal_at: Option<i64>,
    /// Its process-level variables when it ended.
    pub variables: Map<String, Value>,
    /// Incidents open when it ended.
    pub incidents: usize,
}

/// Which ended instances [`Engine::history`] lists; every field that is
/// set narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    /// Process id.
    pub process: Option<String>,
    pub status: Option<Status>,
    /// Ended at or after (ms since the epoch).
    pub ended_from: Option<i64>,
    /// Ended before (ms since the epoch).
    pub ended_before: Option<i64>,
    pub business_key: Option<String>,
    /// A process-level variable with this value when it ended.
    pub variable: Option<(String, Value)>,
    /// At most this many, oldest end first.
    pub limit: Option<usize>,
}

impl HistoryQuery {
    fn matches(&self, h: &HistoricInstance) -> bool {
        self.process.as_ref().is_none_or(|p| *p == h.process.id)
            && self.status.is_none_or(|s| s == h.status)
            && self
                .business_key
                .as_ref()
                .is_none_or(|k| h.business_key.as_ref() == Some(k))
            && self
                .variable
                .as_ref()
                .is_none_or(|(name, value)| h.variables.get(name) == Some(value))
    }
}

impl Engine {
    /// The `run/` and `ended/` record writes a command makes: an instance
    /// that starts active joins the runtime set, one that ends leaves it
    /// for history.
    pub(super) fn lifecycle_records(
        &self,
        state: &InstanceState,
        events: &[Event],
        was_active: bool,
        history_ttl: Option<i64>,
    ) -> Vec<RecordOp> {
        let started = events
            .iter()
            .any(|e| matches!(e, Event::InstanceStarted { .. }));
        let active = state.status == Status::Active;
        let mut out = Vec::new();
        if started && active {
            out.push(RecordOp::Put {
                key: running_key(&state.id),
                value: Vec::new(),
            });
        }
        if (was_active || started) && !active {
            if was_active && !started {
                out.push(RecordOp::Delete {
                    key: running_key(&state.id),
                });
            }
            let ended_at = state.ended_at.unwrap_or(state.started_at);
            out.extend(ended_records(
                &state.id,
                ended_at,
                history_ttl.or(self.options.history_ttl),
            ));
        }
        out
    }

    /// Writes the records a store written before they existed lacks, once
    /// (`index/version` says which it has, see [`INDEX_VERSION_KEY`]).
    pub(super) fn index_lifecycle(&mut self) -> Result<(), EngineError> {
        let version: u32 = self
            .store
            .records(INDEX_VERSION_KEY)?
            .into_iter()
            .find(|(k, _)| k == INDEX_VERSION_KEY)
            .and_then(|(_, v)| decimal(&v))
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0);
        if version.to_string().as_bytes() == INDEX_VERSION {
            return Ok(());
        }
        let states = match version {
            0 => self.store.instances()?,
            // Version 1 has the runtime set: only its wait records are new.
            1 => self.active_instances()?,
            _ => Vec::new(),
        };
        let mut ops = if version < 3 {
            self.buffer_heads()?
        } else {
            Vec::new()
        };
        if (1..4).contains(&version) {
            // The removal index of the ended instances already recorded.
            for (key, value) in self.store.records(ENDED_PREFIX)? {
                let removal = decimal(&value);
                if let (Some(r), Some((_, id))) = (removal, parse_ended(&key)) {
                    ops.push(RecordOp::Put {
                        key: expire_key(r, id),
                        value: key.clone().into_bytes(),
                    });
                }
            }
        }
        for s in states {
            ops.extend(super::waits::wait_ops(
                &Default::default(),
                &super::waits::wait_keys(&s),
            ));
            if version > 0 {
                // Its `run/` or `ended/` record is there already.
            } else if s.status == Status::Active {
                ops.push(RecordOp::Put {
                    key: running_key(&s.id),
                    value: Vec::new(),
                });
            } else {
                let ttl = self
                    .process_version(&s.process)
                    .and_then(|p| p.history_ttl)
                    .or(self.options.history_ttl);
                ops.extend(ended_records(
                    &s.id,
                    s.ended_at.unwrap_or(s.started_at),
                    ttl,
                ));
            }
            if ops.len() >= 10_000 {
                self.store.write_records(&ops)?;
                ops.clear();
            }
        }
        ops.push(RecordOp::Put {
            key: INDEX_VERSION_KEY.to_string(),
            value: INDEX_VERSION.to_vec(),
        });
        self.store.write_records(&ops)?;
        Ok(())
    }

    /// Head records (`msg-head/`) for the buffered messages of a store
    /// written before they existed.
    fn buffer_heads(&self) -> Result<Vec<RecordOp>, EngineError> {
        let mut ops = Vec::new();
        for (key, bytes) in self.store.records(super::BUFFER_PREFIX)? {
            let m: super::BufferedMessage = crate::store::decode(&key, &bytes)?;
            ops.push(RecordOp::Put {
                key: format!(
                    "{}{}",
                    super::BUFFER_HEAD_PREFIX,
                    &key[super::BUFFER_PREFIX.len()..]
                ),
                value: crate::store::encode(&super::BufferedHead::of(&m)),
            });
        }
        Ok(ops)
    }

    /// The ids of the active instances (the runtime set), in id order.
    pub fn active_instance_ids(&self) -> Result<Vec<String>, EngineError> {
        let mut ids: Vec<String> = self
            .store
            .records(RUNNING_PREFIX)?
            .into_iter()
            .map(|(k, _)| k[RUNNING_PREFIX.len()..].to_string())
            .collect();
        ids.sort_by_key(|id| super::ord(id));
        Ok(ids)
    }

    /// The active instances (the runtime set), in id order.
    pub fn active_instances(&self) -> Result<Vec<InstanceState>, EngineError> {
        let mut out = Vec::new();
        for id in self.active_instance_ids()? {
            if let Some(s) = self.store.load(&id)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Ended instances, oldest end first, as `query` narrows them.
    pub fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoricInstance>, EngineError> {
        let mut out = Vec::new();
        for (key, value) in self.store.records(ENDED_PREFIX)? {
            let Some((ended_at, id)) = parse_ended(&key) else {
                return Err(EngineError::BadRecord {
                    expected: "`ended/<20-digit time>/<instance id>`".into(),
                    found: format!("`{key}`"),
                    key,
                });
            };
            if query.ended_from.is_some_and(|t| ended_at < t)
                || query.ended_before.is_some_and(|t| ended_at >= t)
            {
                continue;
            }
            let Some(s) = self.store.load(id)? else {
                continue;
            };
            let removal_at = decimal(&value);
            let h = HistoricInstance {
                id: s.id.clone(),
                process: s.process.clone(),
                business_key: s.business_key.clone(),
                parent: s.parent.as_ref().map(|l| l.instance.clone()),
                status: s.status,
                started_at: s.started_at,
                ended_at,
                removal_at,
                variables: s.variables(),
                incidents: s.incidents.len(),
            };
            if query.matches(&h) {
                out.push(h);
                if query.limit.is_some_and(|n| out.len() >= n) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Removes the ended instances whose time to live has passed at `now`
    /// (checkpoint, event log and history records); returns how many. Reads
    /// the removal index in order, so it costs what it removes.
    pub fn remove_expired_history(&mut self, now: i64) -> Result<usize, EngineError> {
        let mut removed = 0;
        loop {
            let due = self.store.first_records(EXPIRE_PREFIX, 256)?;
            let mut progressed = false;
            for (key, value) in due {
                let parsed = key[EXPIRE_PREFIX.len()..]
                    .split_once('/')
                    .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())));
                let Some((at, id)) = parsed else {
                    return Err(EngineError::BadRecord {
                        expected: "`expire/<20-digit time>/<instance id>`".into(),
                        found: format!("`{key}`"),
                        key,
                    });
                };
                if at > now {
                    return Ok(removed);
                }
                // The instance first: a crash in between leaves records
                // whose instance is gone, which the next cleanup removes.
                self.store.delete_instance(&id)?;
                let mut ops = vec![RecordOp::Delete { key }];
                if let Ok(ended) = String::from_utf8(value) {
                    ops.push(RecordOp::Delete { key: ended });
                }
                self.store.write_records(&ops)?;
                removed += 1;
                progressed = true;
            }
            if !progressed {
                return Ok(removed);
            }
        }
    }

    /// The `run/` or `ended/` record of an instance being deleted.
    pub(super) fn forget_lifecycle(&mut self, state: &InstanceState) -> Result<(), EngineError> {
        if state.status == Status::Active {
            self.store.write_records(&[RecordOp::Delete {
                key: running_key(&state.id),
            }])?;
            return Ok(());
        }
        let key = ended_key(state.ended_at.unwrap_or(state.started_at), &state.id);
        let removal = self
            .store
            .first_records(&key, 1)?
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| decimal(&v));
        let mut ops = vec![RecordOp::Delete { key }];
        if let Some(r) = removal {
            ops.push(RecordOp::Delete {
                key: expire_key(r, &state.id),
            });
        }
        self.store.write_records(&ops)?;
        Ok(())
    }
}

/// A record value holding a decimal number (a removal time, a version).
fn decimal(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// (end time, instance id) of an `ended/` key.
fn parse_ended(key: &str) -> Option<(i64, &str)> {
    let rest = key.strip_prefix(ENDED_PREFIX)?;
    let (time, id) = rest.split_once('/')?;
    Some((time.parse().ok()?, id))
}

#[cfg(test)]
mod tests {
    use super::super::BufferedHead;
    use crate::store::{decode, encode};

    /// The head of a buffered message (`msg-head/`) as version 1 writes
    /// it: decoded, and written again byte for byte.
    #[test]
    fn golden_buffer_heads_decode_and_encode_unchanged() {
        let golden = include_str!("../../../fixtures/store/buffer-head-v1.jsonl");
        for (n, line) in golden.lines().enumerate() {
            let h: BufferedHead =
                decode(&format!("buffer-head-v1.jsonl:{}", n + 1), line.as_bytes())
                    .unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
            assert_eq!(String::from_utf8(encode(&h)).expect("utf-8"), line);
        }
    }
}
