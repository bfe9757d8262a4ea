//! Import and export of a large generated process (10,000 flow nodes with DI).
//! Run: `cargo bench -p bpmn-models --bench import_export`

fn main() {
    divan::main();
}

fn input() -> String {
    bpmn_models::synth::large_process(10_000)
}

#[divan::bench(sample_count = 20)]
fn import_10k(b: divan::Bencher) {
    let xml = input();
    b.counter(divan::counter::BytesCount::of_str(&xml))
        .bench(|| bpmn_models::parse(divan::black_box(&xml)).expect("generated file imports"));
}

#[divan::bench(sample_count = 20)]
fn export_10k(b: divan::Bencher) {
    let model = bpmn_models::parse(&input()).expect("generated file imports");
    b.bench(|| bpmn_models::write(divan::black_box(&model)));
}

#[divan::bench(sample_count = 20)]
fn validate_10k(b: divan::Bencher) {
    let model = bpmn_models::parse(&input()).expect("generated file imports");
    b.bench(|| bpmn_models::validate(divan::black_box(&model)));
}
