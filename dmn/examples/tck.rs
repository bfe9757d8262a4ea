//! Runs DMN TCK folders and prints failing test cases.
//!
//! `cargo run -p dmn --example tck -- ../shared/tck/compliance-level-3`

use std::fs;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, passed: &mut usize, failed: &mut usize) {
    let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            return;
        }
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
            walk(p, passed, failed);
        } else if p.extension().is_some_and(|e| e == "xml")
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("test"))
        {
            let Ok(xml) = fs::read_to_string(p) else {
                continue;
            };
            match dmn::tck::run_test_file(&models, &xml) {
                Ok(rs) => {
                    for r in rs {
                        if r.passed {
                            *passed += 1;
                        } else {
                            *failed += 1;
                            println!("FAIL {} {}: {}", p.display(), r.id, r.detail);
                        }
                    }
                }
                Err(e) => {
                    *failed += 1;
                    println!("ERROR {}: {e}", p.display());
                }
            }
        }
    }
}

fn main() {
    let mut passed = 0;
    let mut failed = 0;
    for arg in std::env::args().skip(1) {
        walk(Path::new(&arg), &mut passed, &mut failed);
    }
    println!("{passed} passed, {failed} failed");
}
