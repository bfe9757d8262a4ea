//! Property tests of the token machine with events: random block-structured
//! processes of user tasks, message and signal catch events, timers,
//! interrupting and non-interrupting message boundary events and
//! multi-instance tasks, in sequences, parallel blocks and sub-processes,
//! driven by a random order of outside events (task completions, messages,
//! signals, clock moves). After every command the state must be
//! consistent (nothing points at a removed token or scope, no token is left
//! mid-step, scope token counts are right, the log replays to the state);
//! every instance completes with nothing left over.

use std::sync::Arc;

use engine::builder::ProcessBuilder;
use engine::core::{Command, InstanceState, Status, TokenState};
use engine::{Engine, EngineOptions, VirtualClock};
use proptest::prelude::*;
use serde_json::Map;

#[derive(Debug, Clone)]
enum Wait {
    User,
    Message,
    Signal,
    Timer(u8),
    /// A user task with a message boundary event (interrupting or not).
    Guarded(bool),
    /// A multi-instance user task: count, sequential.
    Multi(u8, bool),
    Script,
}

#[derive(Debug, Clone)]
enum Block {
    Leaf(Wait),
    Seq(Box<Block>, Box<Block>),
    Par(Vec<Block>),
    Sub(Box<Block>),
}

fn wait() -> impl Strategy<Value = Wait> {
    prop_oneof![
        Just(Wait::User),
        Just(Wait::Message),
        Just(Wait::Signal),
        (1u8..4).prop_map(Wait::Timer),
        any::<bool>().prop_map(Wait::Guarded),
        (0u8..4, any::<bool>()).prop_map(|(n, s)| Wait::Multi(n, s)),
        Just(Wait::Script),
    ]
}

fn block() -> impl Strategy<Value = Block> {
    wait()
        .prop_map(Block::Leaf)
        .prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Block::Seq(Box::new(a), Box::new(b))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Block::Par),
                inner.prop_map(|b| Block::Sub(Box::new(b))),
            ]
        })
}

struct Gen {
    b: Option<ProcessBuilder>,
    n: usize,
}

impl Gen {
    fn id(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{}", self.n)
    }

    fn with(&mut self, f: impl FnOnce(ProcessBuilder) -> ProcessBuilder) {
        let b = self.b.take().expect("builder");
        self.b = Some(f(b));
    }

    /// Emits `block` after `from`; returns its exit element.
    fn emit(&mut self, block: &Block, from: &str) -> String {
        match block {
            Block::Leaf(w) => {
                let id = self.id("w");
                let exit = match w {
                    Wait::User => {
                        self.with(|b| b.user_task(&id));
                        id.clone()
                    }
                    Wait::Message => {
                        let name = format!("m_{id}");
                        self.with(|b| b.message_catch(&id, &name));
                        id.clone()
                    }
                    Wait::Signal => {
                        let name = format!("s_{id}");
                        self.with(|b| b.signal_catch(&id, &name));
                        id.clone()
                    }
                    Wait::Timer(h) => {
                        let text = format!("PT{h}H");
                        self.with(|b| {
                            b.timer_catch(&id, bpmn_models::timer::TimerKind::Duration, &text)
                        });
                        id.clone()
                    }
                    Wait::Script => {
                        self.with(|b| b.script(&id, "x = 1;"));
                        id.clone()
                    }
                    Wait::Multi(n, sequential) => {
                        let n = n.to_string();
                        self.with(|b| b.user_task(&id).multi_instance(&id, &n, *sequential));
                        id.clone()
                    }
                    Wait::Guarded(interrupting) => {
                        let boundary = self.id("b");
                        let name = format!("m_{boundary}");
                        self.with(|b| {
                            b.user_task(&id)
                                .boundary_message(&boundary, &id, *interrupting, &name)
                        });
                        if *interrupting {
                            // Both ways out meet again.
                            let merge = self.id("x");
                            self.with(|b| {
                                b.exclusive(&merge)
                                    .flow(&id, &merge)
                                    .flow(&boundary, &merge)
                            });
                            self.with(|b| b.flow(from, &id));
                            return merge;
                        }
                        let end = self.id("be");
                        self.with(|b| b.end(&end).flow(&boundary, &end));
                        id.clone()
                    }
                };
                self.with(|b| b.flow(from, &id));
                exit
            }
            Block::Seq(a, b) => {
                let mid = self.emit(a, from);
                self.emit(b, &mid)
            }
            Block::Par(branches) => {
                let fork = self.id("fork");
                let join = self.id("join");
                self.with(|b| b.parallel(&fork).flow(from, &fork));
                let mut exits = Vec::new();
                for br in branches {
                    exits.push(self.emit(br, &fork));
                }
                self.with(|b| b.parallel(&join));
                for e in exits {
                    self.with(|b| b.flow(&e, &join));
                }
                join
            }
            Block::Sub(inner) => {
                let sub = self.id("sub");
                let start = self.id("ss");
                let end = self.id("se");
                self.with(|b| b.sub_process(&sub).start(&start));
                let exit = self.emit(inner, &start);
                self.with(|b| b.end(&end).flow(&exit, &end).close().flow(from, &sub));
                sub
            }
        }
    }
}

fn process(block: &Block) -> bpmn_models::Definitions {
    let mut g = Gen {
        b: Some(ProcessBuilder::new("P").start("s")),
        n: 0,
    };
    let exit = g.emit(block, "s");
    g.with(|b| b.end("e").flow(&exit, "e"));
    g.b.take().expect("builder").build()
}

/// Everything in the state points at things that exist.
fn check_consistent(s: &InstanceState, log: &[engine::core::Event]) -> Result<(), TestCaseError> {
    prop_assert_eq!(&InstanceState::replay(log).expect("replays"), s);
    for (id, t) in s.tokens.iter() {
        prop_assert!(
            s.scopes.contains_key(&t.scope),
            "token {id} in a missing scope"
        );
        prop_assert!(t.state != TokenState::Active, "token {id} left active");
    }
    for (id, x) in s.scopes.iter() {
        let n = s.tokens.values().filter(|t| t.scope == *id).count() as u32;
        prop_assert_eq!(x.tokens, n, "token count of scope {}", id);
    }
    for (id, sub) in &s.subscriptions {
        prop_assert!(
            s.scopes.contains_key(&sub.scope),
            "subscription {id}: scope gone"
        );
        if let Some(t) = sub.token {
            prop_assert!(s.tokens.contains_key(&t), "subscription {id}: token gone");
        }
    }
    for (id, t) in &s.timers {
        match t.scope {
            Some(scope) => prop_assert!(s.scopes.contains_key(&scope), "timer {id}: scope gone"),
            None => prop_assert!(s.tokens.contains_key(&t.token), "timer {id}: token gone"),
        }
    }
    for (t, l) in &s.loops {
        prop_assert!(s.tokens.contains_key(t), "loop of a missing token");
        prop_assert!(s.scopes.contains_key(&l.scope), "loop scope gone");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_event_processes_stay_consistent_and_complete(
        b in block(),
        choices in prop::collection::vec(any::<u16>(), 200),
    ) {
        let defs = process(&b);
        let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
        let mut engine = Engine::with_store(
            Box::new(engine::store::memory::MemoryStore::new()),
            clock.clone(),
            EngineOptions::default(),
        );
        engine.deploy("p.bpmn", &bpmn_models::write(&defs)).expect("deploys");
        let id = engine.start("P", Map::new()).expect("starts");
        let mut steps = 0;
        loop {
            let s = engine.instance(&id).unwrap().expect("exists");
            let log = engine.store_mut().events(&id).unwrap();
            check_consistent(&s, &log)?;
            if s.status == Status::Completed {
                break;
            }
            prop_assert!(s.incidents.is_empty(), "incident: {:?}", s.incidents);
            prop_assert!(steps < choices.len(), "no completion after {} steps", steps);
            let choice = usize::from(choices[steps]);
            steps += 1;
            // What can happen next from outside.
            let mut actions: Vec<Command> = Vec::new();
            let process = engine.process_version(&s.process).unwrap().clone();
            for t in s.tokens.values() {
                if t.state == TokenState::Waiting {
                    actions.push(Command::CompleteTask {
                        element: process.element(t.element).id.clone(),
                        variables: Map::new(),
                    });
                }
            }
            for sub in s.subscriptions.keys() {
                actions.push(Command::Trigger { subscription: *sub, variables: Map::new() });
            }
            let next_timer = s.timers.values().map(|t| t.due).min();
            if actions.is_empty() || (next_timer.is_some() && choice % 5 == 0) {
                let due = next_timer.expect("something to wait for");
                let now = clock.now_millis();
                if due > now {
                    clock.advance(due - now);
                }
                engine.fire_due_timers().expect("timers fire");
                continue;
            }
            let cmd = actions.swap_remove(choice % actions.len());
            engine.execute(&id, cmd).expect("command runs");
        }
        let s = engine.instance(&id).unwrap().expect("exists");
        prop_assert!(s.tokens.is_empty() && s.joins.is_empty() && s.jobs.is_empty());
        prop_assert!(s.subscriptions.is_empty() && s.timers.is_empty() && s.loops.is_empty());
        prop_assert_eq!(s.scopes.len(), 1);
    }
}

use engine::Clock as _;
