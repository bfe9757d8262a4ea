//! Property tests of the token machine on random block-structured processes
//! (sequences, parallel, inclusive and exclusive splits/joins nested in each
//! other): every instance completes with no token or join left over, exactly
//! the tasks on taken branches run, once each, and replaying the event log
//! rebuilds the state.

use engine::Engine;
use engine::builder::ProcessBuilder;
use engine::core::{InstanceState, Status};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Block {
    Task,
    Seq(Box<Block>, Box<Block>),
    Par(Vec<Block>),
    /// Branch conditions; at least one holds.
    Incl(Vec<(bool, Block)>),
    /// Branch conditions; the first that holds is taken.
    Xor(Vec<(bool, Block)>),
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = Just(Block::Task);
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Block::Seq(Box::new(a), Box::new(b))),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Block::Par),
            prop::collection::vec((any::<bool>(), inner.clone()), 1..4).prop_map(Block::Incl),
            prop::collection::vec((any::<bool>(), inner), 1..4).prop_map(Block::Xor),
        ]
    })
}

struct Gen {
    b: ProcessBuilder,
    n: usize,
    /// Tasks expected to run.
    expected: Vec<String>,
    /// All tasks.
    all: Vec<String>,
}

impl Gen {
    fn id(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{}", self.n)
    }

    fn connect(&mut self, from: &str, to: &str, cond: Option<bool>) {
        let b = std::mem::replace(&mut self.b, ProcessBuilder::new("tmp"));
        self.b = match cond {
            None => b.flow(from, to),
            Some(c) => b.cond(from, to, if c { "= true" } else { "= false" }),
        };
    }

    /// Emits `block` entered from `from` (with an optional condition on the
    /// entering flow); returns the block's exit element. `taken` says
    /// whether a token will pass through it.
    fn emit(&mut self, block: &Block, from: &str, cond: Option<bool>, taken: bool) -> String {
        match block {
            Block::Task => {
                let id = self.id("t");
                self.b = std::mem::replace(&mut self.b, ProcessBuilder::new("tmp")).task(&id);
                self.connect(from, &id, cond);
                self.all.push(id.clone());
                if taken {
                    self.expected.push(id.clone());
                }
                id
            }
            Block::Seq(a, c) => {
                let x = self.emit(a, from, cond, taken);
                self.emit(c, &x, None, taken)
            }
            Block::Par(children) => {
                let (fork, join) = (self.id("fork"), self.id("join"));
                let b = std::mem::replace(&mut self.b, ProcessBuilder::new("tmp"));
                self.b = b.parallel(&fork).parallel(&join);
                self.connect(from, &fork, cond);
                for c in children {
                    let x = self.emit(c, &fork, None, taken);
                    self.connect(&x, &join, None);
                }
                join
            }
            Block::Incl(children) | Block::Xor(children) => {
                let incl = matches!(block, Block::Incl(_));
                let (split, merge) = (self.id("split"), self.id("merge"));
                let b = std::mem::replace(&mut self.b, ProcessBuilder::new("tmp"));
                self.b = if incl {
                    b.inclusive(&split).inclusive(&merge)
                } else {
                    b.exclusive(&split).exclusive(&merge)
                };
                self.connect(from, &split, cond);
                let any_true = children.iter().any(|(c, _)| *c);
                let mut first_taken = false;
                for (i, (c, child)) in children.iter().enumerate() {
                    // Make sure some branch holds: the first one if none does.
                    let holds = *c || (!any_true && i == 0);
                    let runs =
                        taken && holds && (incl || !std::mem::replace(&mut first_taken, true));
                    let x = self.emit(child, &split, Some(holds), runs);
                    self.connect(&x, &merge, None);
                }
                merge
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn random_structured_processes_complete_cleanly(b in block()) {
        let mut g = Gen { b: ProcessBuilder::new("P").start("s").end("e"), n: 0, expected: Vec::new(), all: Vec::new() };
        let exit = g.emit(&b, "s", None, true);
        g.connect(&exit, "e", None);
        let defs = std::mem::replace(&mut g.b, ProcessBuilder::new("tmp")).build();
        let mut engine = Engine::in_memory();
        engine.deploy("p.bpmn", &bpmn_models::write(&defs)).expect("deploys");
        let id = engine.start("P", serde_json::Map::new()).expect("starts");
        let state = engine.instance(&id).unwrap().unwrap();
        prop_assert_eq!(state.status, Status::Completed, "incidents: {:?}", state.incidents);
        prop_assert!(state.tokens.is_empty());
        prop_assert!(state.joins.is_empty());
        let process = engine.process("P").unwrap().clone();
        let visited = engine::runtime::visited(&state, &process);
        for t in &g.all {
            let n = visited.iter().filter(|v| *v == t).count();
            let want = usize::from(g.expected.contains(t));
            prop_assert_eq!(n, want, "task {} ran {} times, expected {}", t, n, want);
        }
        prop_assert_eq!(visited.iter().filter(|v| *v == "e").count(), 1);
        let log = engine.store_mut().events(&id).unwrap();
        prop_assert_eq!(InstanceState::replay(&log), Some(state));
    }
}
