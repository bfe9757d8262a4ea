//! Runs the whole DMN TCK in `../shared/tck` and checks that the number of
//! passing test cases never drops below the figure recorded in
//! `dmn/tck-baseline.txt`.

use std::fs;
use std::path::{Path, PathBuf};

fn tck_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/tck")).to_path_buf()
}

fn run_folder(dir: &Path, passed: &mut usize, failed: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return,
    };
    entries.sort();
    let models: Vec<(String, String)> = entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dmn"))
        .filter_map(|p| {
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                fs::read_to_string(p).ok()?,
            ))
        })
        .collect();
    for p in &entries {
        if p.is_dir() {
            run_folder(p, passed, failed);
            continue;
        }
        let is_test = p.extension().is_some_and(|e| e == "xml")
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("test"));
        if !is_test {
            continue;
        }
        let Ok(xml) = fs::read_to_string(p) else {
            continue;
        };
        match dmn::tck::run_test_file(&models, &xml, system_now_millis()) {
            Ok(results) => {
                for r in results {
                    if r.passed {
                        *passed += 1;
                    } else {
                        failed.push(format!("{} {}: {}", p.display(), r.id, r.detail));
                    }
                }
            }
            Err(e) => failed.push(format!("{}: {e}", p.display())),
        }
    }
}

#[test]
fn tck_pass_count_never_drops() {
    let root = tck_root();
    if !root.exists() {
        eprintln!("TCK not found at {}; skipping", root.display());
        return;
    }
    let mut passed = 0;
    let mut failed = Vec::new();
    for level in ["compliance-level-2", "compliance-level-3"] {
        run_folder(&root.join(level), &mut passed, &mut failed);
    }
    let baseline: usize = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dmn/tck-baseline.txt"
    ))
    .ok()
    .and_then(|s| s.trim().parse().ok())
    .unwrap_or(0);
    if std::env::var_os("TCK_VERBOSE").is_some() {
        for f in &failed {
            eprintln!("FAIL {f}");
        }
    }
    eprintln!(
        "TCK: {passed} passed, {} failed (baseline {baseline})",
        failed.len()
    );
    assert!(
        passed >= baseline,
        "TCK pass count dropped: {passed} < baseline {baseline}; failing cases:\n{}",
        failed
            .iter()
            .take(50)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The system clock, for FEEL's `now()` and `today()` in the TCK.
fn system_now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
