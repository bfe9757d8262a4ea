//! The in-memory store: everything in maps, nothing survives the process.
//! Used by `orchid-bpmn exec` without `--db` and by scenario tests.

use std::collections::BTreeMap;

use super::{DeploymentRecord, RecordOp, Store, StoreError};
use crate::core::{Event, InstanceState};

#[derive(Debug, Default)]
pub struct MemoryStore {
    deployments: Vec<DeploymentRecord>,
    /// Boxed: a map node then holds pointers, not states, which keeps the
    /// memory of a parked instance close to the size of its state.
    instances: BTreeMap<String, Box<InstanceState>>,
    /// Event logs are optional in memory: benchmarks and scenario runs
    /// don't read them back, so keeping them is a choice.
    logs: Option<BTreeMap<String, Vec<Event>>>,
    counter: u64,
    /// Engine records (buffered messages, start timers) by key.
    records: BTreeMap<String, Vec<u8>>,
}

impl MemoryStore {
    /// A store that keeps checkpoints and event logs.
    pub fn new() -> Self {
        MemoryStore {
            logs: Some(BTreeMap::new()),
            ..Default::default()
        }
    }

    /// A store that keeps checkpoints only (less memory per instance).
    pub fn without_logs() -> Self {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn save_deployment(&mut self, d: &DeploymentRecord) -> Result<(), StoreError> {
        self.deployments.push(d.clone());
        Ok(())
    }

    fn deployments(&self) -> Result<Vec<DeploymentRecord>, StoreError> {
        Ok(self.deployments.clone())
    }

    fn load(&self, instance: &str) -> Result<Option<InstanceState>, StoreError> {
        Ok(self
            .instances
            .get(instance)
            .map(|s| InstanceState::clone(s)))
    }

    fn commit_with(
        &mut self,
        state: &InstanceState,
        events: &[Event],
        records: &[RecordOp],
    ) -> Result<(), StoreError> {
        self.write_records(records)?;
        if let Some(logs) = &mut self.logs {
            logs.entry(state.id.clone())
                .or_default()
                .extend_from_slice(events);
        }
        match self.instances.get_mut(&state.id) {
            Some(slot) => (**slot).clone_from(state),
            None => {
                self.instances
                    .insert(state.id.clone(), Box::new(state.clone()));
            }
        }
        Ok(())
    }

    fn events(&self, instance: &str) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .logs
            .as_ref()
            .and_then(|l| l.get(instance).cloned())
            .unwrap_or_default())
    }

    fn instances(&self) -> Result<Vec<InstanceState>, StoreError> {
        Ok(self
            .instances
            .values()
            .map(|s| InstanceState::clone(s))
            .collect())
    }

    fn next_instance_number(&mut self) -> Result<u64, StoreError> {
        self.counter += 1;
        Ok(self.counter)
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn write_records(&mut self, records: &[RecordOp]) -> Result<(), StoreError> {
        for r in records {
            match r {
                RecordOp::Put { key, value } => {
                    self.records.insert(key.clone(), value.clone());
                }
                RecordOp::Delete { key } => {
                    self.records.remove(key);
                }
            }
        }
        Ok(())
    }

    fn delete_instance(&mut self, instance: &str) -> Result<(), StoreError> {
        self.instances.remove(instance);
        if let Some(logs) = &mut self.logs {
            logs.remove(instance);
        }
        Ok(())
    }

    fn first_records(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .records
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn records(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .records
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
