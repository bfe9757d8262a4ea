//! The wait indexes, persisted: what active instances wait for, as store
//! records kept up to date in the same atomic write as each command.
//!
//! BPMN 2.0 (§10.5 Events) leaves finding the instance a timer, message or
//! signal is for to the engine. Here each pending timer, message
//! subscription and signal subscription of an active instance is one
//! record (empty value) whose key orders it for its lookup:
//!
//! - `wait/timer/<due>/<instance>/<timer>` — by due time (the due time
//!   shifted into 20 unsigned digits), then instance, then timer id;
//! - `wait/msg/<name>/<n | k<key>>/<process>/<instance>/<subscription>` —
//!   by message name and correlation key (`n`: a subscription without one),
//!   then process, oldest instance first;
//! - `wait/signal/<name>/<instance>/<subscription>`.
//!
//! Names, keys and ids are escaped (`%2F` for `/`, `%25` for `%`); an
//! instance id is written after its length in 4 digits, so that `9` sorts
//! before `10` (older instances first). A command writes the difference
//! between the instance's records before and after it
//! ([`wait_keys`], [`wait_ops`]), so `Engine::open` reads none of them and
//! no instance: lookups are range reads of the store.

use std::collections::{BTreeMap, BTreeSet};

use super::{Engine, EngineError, InstanceOrd, ord};
use crate::core::{InstanceState, Status, SubscriptionId, SubscriptionKind, TimerId};
use crate::store::RecordOp;

pub(crate) const TIMER_PREFIX: &str = "wait/timer/";
const MESSAGE_PREFIX: &str = "wait/msg/";
const SIGNAL_PREFIX: &str = "wait/signal/";

fn enc(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

fn dec(s: &str) -> String {
    s.replace("%2F", "/").replace("%25", "%")
}

fn inst(id: &str) -> String {
    format!("{:04}{}", id.len(), enc(id))
}

fn parse_inst(s: &str) -> Option<String> {
    Some(dec(s.get(4..)?))
}

/// A due time as 20 unsigned digits that sort as the times do.
fn due_digits(due: i64) -> String {
    format!("{:020}", (i128::from(due) - i128::from(i64::MIN)) as u64)
}

fn parse_due(s: &str) -> Option<i64> {
    let u: u64 = s.parse().ok()?;
    i64::try_from(i128::from(u) + i128::from(i64::MIN)).ok()
}

fn message_part(name: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{MESSAGE_PREFIX}{}/k{}/", enc(name), enc(k)),
        None => format!("{MESSAGE_PREFIX}{}/n/", enc(name)),
    }
}

/// The record of message subscription `id` of instance `me` (as [`inst`]
/// writes it) of `process`.
fn message_key(
    me: &str,
    process: &str,
    id: SubscriptionId,
    name: &str,
    key: Option<&str>,
) -> String {
    format!("{}{}/{me}/{id:020}", message_part(name, key), enc(process))
}

/// The wait records of an instance as it is (none when it is not active).
pub(super) fn wait_keys(state: &InstanceState) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if state.status != Status::Active {
        return out;
    }
    let me = inst(&state.id);
    for (id, t) in &state.timers {
        out.insert(format!("{TIMER_PREFIX}{}/{me}/{id:020}", due_digits(t.due)));
    }
    for (id, sub) in &state.subscriptions {
        match &sub.kind {
            SubscriptionKind::Message { name, key } => {
                out.insert(message_key(
                    &me,
                    &state.process.id,
                    *id,
                    name,
                    key.as_deref(),
                ));
            }
            SubscriptionKind::Signal { name } => {
                out.insert(format!("{SIGNAL_PREFIX}{}/{me}/{id:020}", enc(name)));
            }
            SubscriptionKind::Conditional => {}
        }
    }
    out
}

/// The record writes that turn `before` into `after`.
pub(super) fn wait_ops(before: &BTreeSet<String>, after: &BTreeSet<String>) -> Vec<RecordOp> {
    let mut ops: Vec<RecordOp> = before
        .difference(after)
        .map(|k| RecordOp::Delete { key: k.clone() })
        .collect();
    ops.extend(after.difference(before).map(|k| RecordOp::Put {
        key: k.clone(),
        value: Vec::new(),
    }));
    ops
}

/// The message subscriptions `state` has that `before` (its wait records
/// before the command) did not: (subscription, name, key).
pub(super) fn opened(
    before: &BTreeSet<String>,
    state: &InstanceState,
) -> Vec<(SubscriptionId, (String, Option<String>))> {
    if state.status != Status::Active {
        return Vec::new();
    }
    let me = inst(&state.id);
    state
        .subscriptions
        .iter()
        .filter_map(|(id, sub)| match &sub.kind {
            SubscriptionKind::Message { name, key } => {
                let k = message_key(&me, &state.process.id, *id, name, key.as_deref());
                (!before.contains(&k)).then(|| (*id, (name.clone(), key.clone())))
            }
            _ => None,
        })
        .collect()
}

/// A pending timer as its record says: (due, instance, timer).
pub(super) fn parse_timer(key: &str) -> Option<(i64, String, TimerId)> {
    let mut parts = key.strip_prefix(TIMER_PREFIX)?.split('/');
    let due = parse_due(parts.next()?)?;
    let instance = parse_inst(parts.next()?)?;
    let timer = parts.next()?.parse().ok()?;
    Some((due, instance, timer))
}

fn bad(key: &str, expected: &str) -> EngineError {
    EngineError::BadRecord {
        key: key.to_string(),
        expected: expected.to_string(),
        found: format!("`{key}`"),
    }
}

impl Engine {
    /// The earliest pending timers of active instances (at most `limit`):
    /// (record key, due, instance, timer).
    pub(super) fn first_timers(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, i64, String, TimerId)>, EngineError> {
        self.store
            .first_records(TIMER_PREFIX, limit)?
            .into_iter()
            .map(|(k, _)| {
                let (due, instance, timer) = parse_timer(&k)
                    .ok_or_else(|| bad(&k, "`wait/timer/<due>/<instance>/<timer>`"))?;
                Ok((k, due, instance, timer))
            })
            .collect()
    }

    /// Every open message subscription a message `name` with `key` may go
    /// to, by process, oldest instance first: (process, instance,
    /// subscription).
    fn message_subscriptions(
        &self,
        name: &str,
        key: Option<&str>,
    ) -> Result<Vec<(String, InstanceOrd, SubscriptionId)>, EngineError> {
        let mut prefixes = vec![message_part(name, None)];
        if let Some(k) = key {
            prefixes.push(message_part(name, Some(k)));
        }
        let mut out = Vec::new();
        for prefix in prefixes {
            for (k, _) in self.store.records(&prefix)? {
                let mut parts = k[prefix.len()..].split('/');
                let parsed = (|| {
                    let process = dec(parts.next()?);
                    let instance = parse_inst(parts.next()?)?;
                    let sub: SubscriptionId = parts.next()?.parse().ok()?;
                    Some((process, ord(&instance), sub))
                })();
                out.push(parsed.ok_or_else(|| {
                    bad(
                        &k,
                        "`wait/msg/<name>/<key>/<process>/<instance>/<subscription>`",
                    )
                })?);
            }
        }
        Ok(out)
    }

    /// The subscription a message goes to in each process: the oldest
    /// instance's (then the lowest subscription id).
    pub(super) fn message_targets(
        &self,
        name: &str,
        key: Option<&str>,
    ) -> Result<BTreeMap<String, (InstanceOrd, SubscriptionId)>, EngineError> {
        let mut out: BTreeMap<String, (InstanceOrd, SubscriptionId)> = BTreeMap::new();
        for (process, inst, sub) in self.message_subscriptions(name, key)? {
            let candidate = (inst, sub);
            match out.get_mut(&process) {
                Some(best) if candidate < *best => *best = candidate,
                Some(_) => {}
                None => {
                    out.insert(process, candidate);
                }
            }
        }
        Ok(out)
    }

    /// Every subscription a message may go to, in instance order.
    pub(super) fn every_message_target(
        &self,
        name: &str,
        key: Option<&str>,
    ) -> Result<Vec<(InstanceOrd, SubscriptionId)>, EngineError> {
        let mut out: Vec<(InstanceOrd, SubscriptionId)> = self
            .message_subscriptions(name, key)?
            .into_iter()
            .map(|(_, inst, sub)| (inst, sub))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Every open signal subscription of `name`, in instance order.
    pub(super) fn signal_targets(
        &self,
        name: &str,
    ) -> Result<Vec<(String, SubscriptionId)>, EngineError> {
        let prefix = format!("{SIGNAL_PREFIX}{}/", enc(name));
        self.store
            .records(&prefix)?
            .into_iter()
            .map(|(k, _)| {
                let mut parts = k[prefix.len()..].split('/');
                let parsed = (|| {
                    let instance = parse_inst(parts.next()?)?;
                    let sub: SubscriptionId = parts.next()?.parse().ok()?;
                    Some((instance, sub))
                })();
                parsed.ok_or_else(|| bad(&k, "`wait/signal/<name>/<instance>/<subscription>`"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_as_the_lookups_need_and_parse_back() {
        // Due times, negative ones included, sort as numbers.
        let dues = [i64::MIN, -5, 0, 9, 10, i64::MAX];
        let keys: Vec<String> = dues.iter().map(|d| due_digits(*d)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(dues.iter().all(|d| parse_due(&due_digits(*d)) == Some(*d)));
        // Older (shorter) instance ids first; ids with `/` and `%` survive.
        assert!(inst("9") < inst("10"));
        assert_eq!(parse_inst(&inst("a/b%c")).as_deref(), Some("a/b%c"));
        let k = format!(
            "{TIMER_PREFIX}{}/{}/{:020}",
            due_digits(-3),
            inst("12.1"),
            7
        );
        assert_eq!(parse_timer(&k), Some((-3, "12.1".to_string(), 7)));
        // A name that is a prefix of another does not reach its records.
        assert!(!message_part("Pay/ment", None).starts_with(&message_part("Pay", None)));
    }
}
