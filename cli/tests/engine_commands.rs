//! End-to-end tests of `exec`, the instance commands (`instances`, `task`,
//! `job`, `incident`) and `test` through the binary: output shapes, exit
//! codes, and a round trip through a durable store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orchid-bpmn"))
}

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(p)
}

fn run(args: &[&str], files: &[PathBuf]) -> Output {
    let mut c = bin();
    c.args(args);
    for f in files {
        c.arg(f);
    }
    c.output().expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON value ({e}): {}", stdout(o)))
}

/// A fresh folder under the target directory (no temp-dir crate needed).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("engine-commands-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn exec_json_prints_one_object_with_the_documented_keys() {
    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/order-c8.bpmn"))
        .args(["--var", "amount=1500", "--json"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "nothing but JSON: {}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["process"], "Order");
    assert_eq!(v["state"], "active");
    assert_eq!(v["variables"], json!({"amount": 1500}));
    assert_eq!(v["visited"], json!(["Received"]));
    assert_eq!(v["waitingAt"], json!(["Charge"]));
    assert_eq!(v["incidents"], json!([]));
    assert!(v["instance"].is_string());
    assert_eq!(v["jobs"][0]["element"], "Charge");
    assert_eq!(v["jobs"][0]["type"], "charge-card");
    assert_eq!(v["jobs"][0]["retries"], 3);
}

#[test]
fn exec_runs_to_completion_and_prints_a_trail_of_names() {
    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/loyalty-points.bpmn"))
        .args([
            "--var",
            "amount=640",
            "--var",
            "member=true",
            "--var",
            "balance=20",
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let names = [
        "Purchase recorded",
        "Compute points",
        "Pick tier",
        "Update balance",
        "Points credited",
    ];
    let mut at = 0;
    for n in names {
        let i = out[at..]
            .find(n)
            .unwrap_or_else(|| panic!("`{n}` in order in:\n{out}"));
        at += i + n.len();
    }
    assert!(out.contains("state: completed"), "{out}");
    assert!(out.contains("tier = \"gold\""), "{out}");
}

#[test]
fn var_values_are_json_when_they_parse_and_strings_otherwise() {
    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/onboarding.bpmn"))
        .args([
            "--var",
            "role=engineer",
            "--var",
            "n=15",
            "--var",
            "s=\"15\"",
            "--var",
            "ok=true",
            "--var",
            "tags=[\"a\",1]",
            "--var",
            "eq=a=b",
            "--var",
            "empty=",
            "--json",
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    let vars = &v["variables"];
    assert_eq!(vars["role"], "engineer");
    assert_eq!(vars["n"], 15);
    assert_eq!(vars["s"], "15");
    assert_eq!(vars["ok"], true);
    assert_eq!(vars["tags"], json!(["a", 1]));
    assert_eq!(vars["eq"], "a=b");
    assert_eq!(vars["empty"], "");
    assert_eq!(vars["laptop"], "workstation");
    assert_eq!(v["waitingAt"], json!(["CreateAccounts"]));
}

#[test]
fn vars_file_is_read_and_var_wins() {
    let dir = scratch("vars");
    let file = dir.join("vars.json");
    std::fs::write(&file, r#"{"amount": 100, "member": false, "balance": 5}"#).expect("write");
    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/loyalty-points.bpmn"))
        .arg("--vars")
        .arg(&file)
        .args(["--var", "amount=300", "--json"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["variables"]["points"], 30);
    assert_eq!(v["variables"]["balance"], 35);

    std::fs::write(&file, "[1, 2]").expect("write");
    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/loyalty-points.bpmn"))
        .arg("--vars")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected a JSON object of variables, found an array"),
        "{}",
        stderr(&o)
    );
}

/// A service task without an implementation, which the engine refuses at
/// deploy time (ENG012).
const NO_IMPLEMENTATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="Unrunnable" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="G"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="G" />
    <bpmn:sequenceFlow id="F2" sourceRef="G" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>
"#;

#[test]
fn exec_exit_codes() {
    // 1: an incident (a script divides by zero).
    let o = run(
        &["exec", "--json", "--var", "total=10", "--var", "guests=0"],
        &[fixture("bpmn/bill-split.bpmn")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["state"], "incident");
    assert_eq!(v["incidents"][0]["element"], "SplitBill");
    assert!(
        v["incidents"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Division by zero")),
        "{v}"
    );

    // 3: an invalid model, diagnostics with file:line:col on stderr, nothing on stdout.
    let o = run(
        &["exec", "--json"],
        &[fixture("invalid/BPMN012-crossing-flow.bpmn")],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("BPMN012"), "{err}");
    assert!(err.contains("BPMN012-crossing-flow.bpmn:8:7"), "{err}");

    // 3: a model the engine cannot run (a service task without a job type).
    let dir = scratch("exit-codes");
    let unrunnable = dir.join("unrunnable.bpmn");
    std::fs::write(&unrunnable, NO_IMPLEMENTATION).expect("writes");
    let o = run(&["exec"], &[unrunnable]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("ENG012"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);

    // 3: a file that does not import.
    let o = run(&["exec"], &[fixture("malformed/XML005-truncated.bpmn")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("XML005"), "{}", stderr(&o));

    // 2: usage errors.
    for args in [
        vec!["exec"],
        vec!["exec", "x.bpmn", "--var", "novalue"],
        vec!["exec", "x.bpmn", "--store", "redb"],
    ] {
        let o = run(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = run(&["exec"], &[fixture("bpmn/does-not-exist.bpmn")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read") && stderr(&o).contains("does-not-exist.bpmn"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &["exec", "--process", "Nope"],
        &[fixture("bpmn/order-c8.bpmn")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected one of the executable processes"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn test_command_prints_a_line_per_scenario_and_the_totals() {
    let passing = [
        fixture("scenarios/order-c8-small.json"),
        fixture("scenarios/onboarding.json"),
    ];
    let o = run(&["test"], &passing);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("ok") && lines[0].contains("order-c8-small.json"));
    assert!(lines[1].starts_with("ok") && lines[1].contains("onboarding.json"));
    assert_eq!(lines[2], "2 passed, 0 failed");

    let mut mixed = passing.to_vec();
    mixed.push(fixture("scenarios-failing/order-c8-wrong-expectation.json"));
    let o = run(&["test"], &mixed);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(
            "order-c8-wrong-expectation.json: step 2 (wrong on purpose): state: expected `active`, found `completed`"
        ),
        "{out}"
    );
    assert!(out.ends_with("2 passed, 1 failed\n"), "{out}");

    // A scenario file that is not one, and one that does not exist: failures, not crashes.
    let dir = scratch("bad-scenario");
    let bad = dir.join("typo.json");
    std::fs::write(
        &bad,
        "{\"process\": \"x.bpmn\",\n \"steps\": [\n  {\"completeTask\": \"A\", \"varibles\": {}}\n ]}",
    )
    .expect("write");
    let o = run(&["test"], &[bad, dir.join("missing.json")]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("unknown key `varibles` in a `completeTask` step")
            && out.contains("at line 3 column 3"),
        "{out}"
    );
    assert!(out.contains("missing.json: cannot read"), "{out}");
    assert!(out.ends_with("0 passed, 2 failed\n"), "{out}");

    let o = run(&["test"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_stored_instance_is_continued_by_later_commands() {
    let dir = scratch("db");
    let db = dir.join("store");
    let db_s = db.to_str().expect("utf-8 path");

    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/order-c8.bpmn"))
        .args(["--var", "amount=1500", "--db", db_s, "--json"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let id = json_out(&o)["instance"]
        .as_str()
        .expect("instance id")
        .to_string();

    let o = run(&["instances", "--db", db_s, "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list = json_out(&o);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["instance"], id.as_str());
    assert_eq!(list[0]["waitingAt"], json!(["Charge"]));
    let o = run(&["instances", "--db", db_s], &[]);
    assert!(stdout(&o).contains("Order:1") && stdout(&o).contains("Charge"));

    // The job fails once (retries left), then for good: an incident.
    let o = run(
        &[
            "job",
            "fail",
            "--db",
            db_s,
            &id,
            "Charge",
            "--message",
            "card declined",
            "--retries",
            "0",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["state"], "incident");
    assert_eq!(v["incidents"][0]["message"], "card declined");
    let incident = v["incidents"][0]["id"].to_string();

    let o = run(&["incident", "list", "--db", db_s, "--json"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_out(&o)[0]["element"], "Charge");

    let o = run(
        &["incident", "retry", "--db", db_s, &id, &incident, "--json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["state"], "active");
    assert_eq!(v["jobs"][0]["retries"], 1);
    let job = v["jobs"][0]["id"].to_string();

    let o = run(
        &[
            "job",
            "complete",
            "--db",
            db_s,
            &id,
            &job,
            "--var",
            "receipt=r-1",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_out(&o)["waitingAt"], json!(["Approve"]));

    let o = run(
        &[
            "task",
            "complete",
            "--db",
            db_s,
            &id,
            "Approve",
            "--var",
            "approved=true",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["state"], "completed");
    assert_eq!(v["variables"]["receiptId"], "r-1");
    assert_eq!(v["variables"]["status"], "shipped 1500");

    // Ended: no longer among the active instances, in history instead.
    let o = run(&["instances", "--db", db_s, "--json"], &[]);
    assert_eq!(json_out(&o), json!([]));
    let o = run(&["history", "--db", db_s, "--json"], &[]);
    assert_eq!(json_out(&o)[0]["state"], "completed");
    assert_eq!(json_out(&o)[0]["variables"]["receiptId"], "r-1");
    let o = run(
        &[
            "history",
            "--db",
            db_s,
            "--json",
            "--var",
            "receiptId=\"r-2\"",
        ],
        &[],
    );
    assert_eq!(json_out(&o), json!([]));

    // Refusals: exit 1 with a message that names what is wrong.
    let o = run(&["task", "complete", "--db", db_s, "999", "Approve"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown instance `999`"),
        "{}",
        stderr(&o)
    );
    let o = run(&["task", "complete", "--db", db_s, &id, "Approve"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("expected an active instance"),
        "{}",
        stderr(&o)
    );
    let o = run(&["job", "complete", "--db", db_s, &id, "77"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown job 77"), "{}", stderr(&o));

    // A store that is not there is a usage error, not a new empty store.
    let missing = dir.join("nothing-here");
    let o = bin()
        .args(["instances", "--db"])
        .arg(&missing)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no store at"), "{}", stderr(&o));
    assert!(!missing.exists());
}

#[test]
fn a_redb_store_works_the_same_way() {
    let dir = scratch("redb");
    let db = dir.join("engine.redb");
    let db_s = db.to_str().expect("utf-8 path");
    let o = bin()
        .arg("exec")
        .arg(fixture("bpmn/fraud-check.bpmn"))
        .args(["--var", "amount=50", "--var", "newCustomer=false"])
        .args(["--db", db_s, "--store", "redb", "--json"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let id = json_out(&o)["instance"].as_str().expect("id").to_string();
    let o = run(
        &[
            "task",
            "complete",
            "--db",
            db_s,
            "--store",
            "redb",
            &id,
            "ManualReview",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("state: completed"), "{}", stdout(&o));
}

/// A process that waits `duration` on a timer catch event, written to `dir`.
fn timer_process(dir: &Path, duration: &str) -> PathBuf {
    let file = dir.join("short-timer.bpmn");
    std::fs::write(
        &file,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://example.com/short">
  <bpmn:process id="Short" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="End"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Wait" />
    <bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
"#
        ),
    )
    .expect("write");
    file
}

#[test]
fn exec_leaves_a_timer_beyond_wait_scheduled() {
    let o = run(
        &["exec", "--wait", "PT0S", "--json"],
        &[fixture("bpmn/reminder-timer.bpmn")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["state"], "active");
    assert_eq!(v["waitingAt"], json!(["Wait2Days"]));

    // The default wait (five minutes) is shorter than two days too.
    let o = run(&["exec"], &[fixture("bpmn/reminder-timer.bpmn")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("timer at `Wait2Days` due 20") && out.contains("stays scheduled"),
        "{out}"
    );
    assert!(
        out.contains("waiting   Two days later [Wait2Days]  (timer due 20"),
        "{out}"
    );
    assert!(out.contains("state: active"), "{out}");
}

#[test]
fn exec_waits_for_a_timer_due_within_wait() {
    let dir = scratch("wait");
    let file = timer_process(&dir, "PT1S");
    let o = run(&["exec", "--wait", "PT5S"], &[file]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("waiting for timer at `Wait` due 20"), "{out}");
    assert!(out.contains("done      Wait"), "{out}");
    assert!(out.contains("state: completed"), "{out}");
}

#[test]
fn bad_wait_and_poll_values_are_usage_errors() {
    for (args, expected) in [
        (vec!["--wait", "30s"], "expected an ISO 8601 duration"),
        (vec!["--wait", "P1M"], "expected a duration of days, hours"),
        (vec!["--wait", ""], "expected an ISO 8601 duration"),
    ] {
        let mut all = vec!["exec"];
        all.extend(args.iter().copied());
        let o = run(&all, &[fixture("bpmn/reminder-timer.bpmn")]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    }
    let dir = scratch("bad-poll");
    let o = bin()
        .args(["run", "--poll", "PT0S", "--db"])
        .arg(dir.join("store"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expected a poll interval longer than zero"),
        "{}",
        stderr(&o)
    );
    let o = bin()
        .args(["run", "--once", "--db"])
        .arg(dir.join("nothing-here"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no store at"), "{}", stderr(&o));
}

#[test]
fn stored_timers_fire_on_run_and_on_start_up_once_due() {
    let dir = scratch("run");
    let exec_into = |db: &Path, file: &Path| {
        let o = bin()
            .arg("exec")
            .arg(file)
            .args(["--wait", "PT0S", "--json", "--db"])
            .arg(db)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json_out(&o);
        assert_eq!(v["state"], "active", "{v}");
        v["instance"].as_str().expect("id").to_string()
    };

    // Not yet due: `run --once` leaves it waiting.
    let later = dir.join("later");
    exec_into(&later, &fixture("bpmn/reminder-timer.bpmn"));
    let o = bin()
        .args(["run", "--once", "--db"])
        .arg(&later)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("next timer due 20") && !stdout(&o).contains("fired"),
        "{}",
        stdout(&o)
    );
    let o = bin()
        .args(["instances", "--json", "--db"])
        .arg(&later)
        .output()
        .expect("runs");
    assert_eq!(json_out(&o)[0]["waitingAt"], json!(["Wait2Days"]));

    // Due a second later: `run --once` fires it, and so does any command
    // that opens the store (here `instances`).
    let file = timer_process(&dir, "PT1S");
    let by_run = dir.join("by-run");
    let by_open = dir.join("by-open");
    exec_into(&by_run, &file);
    exec_into(&by_open, &file);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = bin()
        .args(["run", "--once", "--db"])
        .arg(&by_run)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(" fired 1 timer\n") && out.ends_with("no pending timers\n"),
        "{out}"
    );
    for db in [&by_run, &by_open] {
        let o = bin()
            .args(["history", "--json", "--db"])
            .arg(db)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(json_out(&o)[0]["state"], "completed", "{}", db.display());
    }
}

#[test]
fn message_publish_starts_correlates_and_buffers_against_a_store() {
    let dir = scratch("messages");
    let db = dir.join("db");
    let db_s = db.to_str().expect("utf-8 path");
    // A process without a none start event: exec explains how it starts.
    let o = run(
        &["exec", "--db", db_s],
        &[fixture("bpmn/rt-order-by-message.bpmn")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains("has no none start event"), "{e}");
    assert!(
        e.contains(&format!(
            "orchid-bpmn message publish --db {db_s} OrderPlaced"
        )),
        "{e}"
    );
    // The message starts an instance.
    let o = run(
        &[
            "message",
            "publish",
            "--db",
            db_s,
            "OrderPlaced",
            "--var",
            "orderId=o-1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "message `OrderPlaced`: started instance 1 of OrderByMessage at `OrderPlaced`"
        ),
        "{}",
        stdout(&o)
    );
    // A process waiting at a catch event, then a message for it.
    let o = run(
        &["exec", "--db", db_s, "--json"],
        &[fixture("bpmn/payment-message.bpmn")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let waiting = json_out(&o);
    let id = waiting["instance"].as_str().expect("id").to_string();
    assert_eq!(waiting["waitingAt"], json!(["WaitForPayment"]));
    let o = run(&["instances", "--db", db_s], &[]);
    assert!(
        stdout(&o).contains("message `Paid` at WaitForPayment"),
        "{}",
        stdout(&o)
    );
    let o = run(&["instances", "--db", db_s, "--json"], &[]);
    let listed = json_out(&o);
    let row = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|i| i["instance"] == json!(id))
        .expect("listed");
    assert_eq!(row["waitsFor"], json!(["message `Paid` at WaitForPayment"]));
    let o = run(
        &[
            "message",
            "publish",
            "--db",
            db_s,
            "Paid",
            "--var",
            "receipt=r-1",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = json_out(&o);
    assert_eq!(out["correlated"][0]["instance"], json!(id));
    assert_eq!(out["correlated"][0]["element"], json!("WaitForPayment"));
    let o = run(&["history", "--db", db_s, "--json"], &[]);
    let all = json_out(&o);
    let paid = all
        .as_array()
        .expect("array")
        .iter()
        .find(|i| i["instance"] == json!(id))
        .expect("listed");
    assert_eq!(paid["state"], json!("completed"));
    assert_eq!(paid["variables"]["receipt"], json!("r-1"));
    // Nothing waits: buffered with --ttl, dropped without; both exit 0.
    let o = run(
        &[
            "message", "publish", "--db", db_s, "Paid", "--key", "k-1", "--ttl", "PT1H",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("message `Paid` (key k-1): nothing waits for it yet; buffered until "),
        "{}",
        stdout(&o)
    );
    let o = run(&["message", "publish", "--db", db_s, "Unheard"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("nothing waited for it"),
        "{}",
        stdout(&o)
    );
    // The buffered message survives: the next instance takes it at once
    // (its subscription has no key, so any key correlates).
    let o = run(
        &["exec", "--db", db_s, "--json"],
        &[fixture("bpmn/payment-message.bpmn")],
    );
    assert_eq!(json_out(&o)["state"], json!("completed"), "{}", stdout(&o));
    // A bad ttl is a usage error.
    let o = run(
        &["message", "publish", "--db", db_s, "Paid", "--ttl", "soon"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn signal_broadcast_throw_error_and_var_set_against_a_store() {
    let dir = scratch("signals");
    let db = dir.join("db");
    let db_s = db.to_str().expect("utf-8 path");
    let publish = |order: &str| {
        let var = format!("orderId={order}");
        run(
            &[
                "message",
                "publish",
                "--db",
                db_s,
                "OrderPlaced",
                "--var",
                &var,
            ],
            &[],
        )
    };
    for order in ["o-1", "o-2"] {
        let o = publish(order);
        // The first publish has no store yet: deploy first.
        if o.status.code() == Some(2) {
            let o = run(
                &["exec", "--db", db_s],
                &[fixture("bpmn/rt-order-by-message.bpmn")],
            );
            assert_eq!(o.status.code(), Some(1));
            let o = publish(order);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        }
    }
    let o = run(
        &["signal", "broadcast", "--db", db_s, "Recall", "--json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = json_out(&o);
    let caught: Vec<&str> = out["triggered"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["element"].as_str().expect("element"))
        .collect();
    assert_eq!(caught, ["Recalled", "Recalled"]);
    let o = run(&["signal", "broadcast", "--db", db_s, "Recall"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("signal `Recall`: nothing waited for it"),
        "{}",
        stdout(&o)
    );

    // A job throws a BPMN error that a boundary event catches.
    let o = run(
        &["exec", "--db", db_s, "--json"],
        &[fixture("bpmn/rt-charge-card.bpmn")],
    );
    let id = json_out(&o)["instance"].as_str().expect("id").to_string();
    let o = run(
        &[
            "job",
            "throw-error",
            "--db",
            db_s,
            &id,
            "Charge",
            "CARD_DECLINED",
            "--message",
            "no funds",
            "--var",
            "reason=funds",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = json_out(&o);
    assert_eq!(s["waitingAt"], json!(["AskForNewCard"]), "{s}");
    assert!(
        s["visited"]
            .as_array()
            .expect("array")
            .contains(&json!("Declined")),
        "{s}"
    );
    // Variables set from outside.
    let o = run(
        &[
            "var", "set", "--db", db_s, &id, "--var", "card=new", "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_out(&o)["variables"]["card"], json!("new"));
    let o = run(&["var", "set", "--db", db_s, &id], &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["var", "set", "--db", db_s, "999", "--var", "a=1"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown instance `999`"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A timer start event whose date has passed: `exec --db` deploys it and
/// says how it starts; `run --once` fires it and starts the instance.
#[test]
fn run_fires_timer_start_events() {
    let dir = scratch("start-timer");
    let model = dir.join("once.bpmn");
    std::fs::write(
        &model,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="Once" isExecutable="true">
    <bpmn:startEvent id="At"><bpmn:outgoing>F1</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDate>2020-01-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="Look"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="At" targetRef="Look" />
    <bpmn:sequenceFlow id="F2" sourceRef="Look" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>
"#,
    )
    .expect("writes");
    let db = dir.join("db");
    let db_s = db.to_str().expect("utf-8 path");
    let o = run(&["exec", "--db", db_s], &[model]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("timer at `At` (`orchid-bpmn run --db {db_s}`")),
        "{}",
        stderr(&o)
    );
    let o = run(&["run", "--once", "--db", db_s], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("fired 1 timer"), "{}", stdout(&o));
    let o = run(&["instances", "--db", db_s, "--json"], &[]);
    let all = json_out(&o);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(all[0]["process"], json!("Once"));
    assert_eq!(all[0]["waitingAt"], json!(["Look"]));
    // Fired once: a date does not repeat.
    let o = run(&["run", "--once", "--db", db_s], &[]);
    assert!(stdout(&o).contains("no pending timers"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

const PRICING_DMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="Pricing" namespace="http://example.com/pricing">
  <decision id="discount" name="Discount">
    <decisionTable id="dt" hitPolicy="UNIQUE">
      <input id="i1"><inputExpression id="ie1" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="o1" name="rate" typeRef="number"/>
      <rule id="r1"><inputEntry id="r1i"><text>&lt; 100</text></inputEntry><outputEntry id="r1o"><text>0</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2i"><text>&gt;= 100</text></inputEntry><outputEntry id="r2o"><text>0.1</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"#;

const RULE_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="Pricing" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:businessRuleTask id="rule" camunda:decisionRef="discount" camunda:resultVariable="rate" camunda:mapDecisionResult="singleEntry"/>
    <bpmn:callActivity id="call" calledElement="Child"><bpmn:extensionElements><camunda:in variables="all"/><camunda:out variables="all"/></bpmn:extensionElements></bpmn:callActivity>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="call"/>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

const CHILD_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="C" targetNamespace="t">
  <bpmn:process id="Child" isExecutable="true">
    <bpmn:startEvent id="cs"/>
    <bpmn:userTask id="approve"/>
    <bpmn:endEvent id="ce"/>
    <bpmn:sequenceFlow id="g1" sourceRef="cs" targetRef="approve"/>
    <bpmn:sequenceFlow id="g2" sourceRef="approve" targetRef="ce"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[test]
fn exec_deploys_dmn_and_called_processes_and_shows_children() {
    let dir = scratch("dmn-exec");
    let (main, dmn, child) = (
        dir.join("pricing.bpmn"),
        dir.join("pricing.dmn"),
        dir.join("child.bpmn"),
    );
    std::fs::write(&main, RULE_BPMN).unwrap();
    std::fs::write(&dmn, PRICING_DMN).unwrap();
    std::fs::write(&child, CHILD_BPMN).unwrap();
    let db = dir.join("db");
    let o = bin()
        .arg("exec")
        .args([&main, &dmn, &child])
        .args(["--var", "amount=150", "--json", "--db"])
        .arg(&db)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["variables"]["rate"], json!(0.1));
    assert_eq!(v["waitingAt"], json!([]));
    let children = v["children"].as_array().expect("children listed");
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["process"], json!("Child"));
    assert_eq!(children[0]["state"], json!("active"));
    assert_eq!(children[0]["waitingAt"], json!(["approve"]));
    assert_eq!(children[0]["parent"], v["instance"]);
    // The text trail shows the child too; `instances` shows the link.
    let o = run(&["instances", "--db"], std::slice::from_ref(&db));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("PARENT"), "{text}");
    let child_id = children[0]["instance"].as_str().unwrap().to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with(&child_id))
        .unwrap_or_else(|| panic!("a line for {child_id}: {text}"));
    assert!(line.contains("approve"), "{line}");
    assert!(line.contains(v["instance"].as_str().unwrap()), "{line}");
    // Completing the child's task completes the parent (store reopened:
    // the decisions and processes are recompiled from it).
    let o = run(
        &[
            "task",
            "complete",
            "--db",
            db.to_str().unwrap(),
            &child_id,
            "approve",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = run(&["instances", "--json", "--db"], std::slice::from_ref(&db));
    let rows = json_out(&o);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == json!("completed")),
        "{rows}"
    );
}

#[test]
fn exec_text_shows_the_call_and_the_child() {
    let dir = scratch("dmn-text");
    let (main, dmn, child) = (
        dir.join("pricing.bpmn"),
        dir.join("pricing.dmn"),
        dir.join("child.bpmn"),
    );
    std::fs::write(&main, RULE_BPMN).unwrap();
    std::fs::write(&dmn, PRICING_DMN).unwrap();
    std::fs::write(&child, CHILD_BPMN).unwrap();
    let o = bin()
        .arg("exec")
        .args([&main, &dmn, &child])
        .args(["--var", "amount=150"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("  calling   call  (instance 1."), "{text}");
    assert!(text.contains("child (called by instance 1):"), "{text}");
    assert!(text.contains("  waiting   approve"), "{text}");
    assert!(text.contains("  rate = 0.1"), "{text}");
    // A DMN file first is a usage error.
    let o = run(&["exec"], &[dmn, main]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expected a BPMN file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn exec_reports_a_broken_dmn_file_with_its_position() {
    let dir = scratch("dmn-broken");
    let (main, dmn) = (dir.join("pricing.bpmn"), dir.join("pricing.dmn"));
    std::fs::write(&main, RULE_BPMN).unwrap();
    std::fs::write(
        &dmn,
        PRICING_DMN.replace("<text>0.1</text>", "<text>0.1 +</text>"),
    )
    .unwrap();
    let o = run(&["exec"], &[main, dmn]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("DMN1"), "{err}");
    assert!(err.contains("pricing.dmn"), "{err}");
}

#[test]
fn exec_says_what_an_event_based_gateway_waits_for() {
    let out = bin()
        .arg("exec")
        .arg(fixture("bpmn/events/ev-gateway.bpmn"))
        .args(["--wait", "PT0S", "--var", "orderId=\"o-1\""])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("waiting"))
        .unwrap_or_else(|| panic!("a waiting line in {stdout}"));
    assert!(line.contains("message `"), "{line}");
    assert!(line.contains("timer due"), "{line}");
}

/// Inputs are read up to a bound, not whole: an endless file is refused
/// with a message instead of growing the process until it is killed.
#[test]
fn endless_inputs_are_refused_at_the_size_limit() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    for args in [
        vec!["validate", "/dev/zero"],
        vec!["exec", "/dev/zero"],
        vec!["feel", "1", "--context", "@/dev/zero"],
    ] {
        let o = run(&args, &[]);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        let said = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            said.contains("expected at most 64 MiB, found more"),
            "{args:?}: {said}"
        );
    }
}
