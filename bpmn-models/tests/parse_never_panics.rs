//! Property tests: the importer never panics, whatever the input, and what
//! it imports round-trips through export.

use proptest::prelude::*;

const SEED: &str = include_str!("../../fixtures/bpmn/order-c8.bpmn");

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = bpmn_models::parse(&s);
    }

    #[test]
    fn mutated_real_files_never_panic_and_round_trip(
        edits in proptest::collection::vec((0usize..SEED.len(), any::<char>()), 1..8)
    ) {
        let mut text: Vec<char> = SEED.chars().collect();
        for (pos, c) in edits {
            let i = pos % text.len();
            text[i] = c;
        }
        let text: String = text.into_iter().collect();
        if let Ok(defs) = bpmn_models::parse(&text) {
            let _ = bpmn_models::validate(&defs);
            let again = bpmn_models::parse(&bpmn_models::write(&defs));
            prop_assert_eq!(Ok(defs), again);
        }
    }
}
