//! `orchid-bpmn history`: the ended instances of a store, and the removal
//! of those past their time to live.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use engine::core::Status;
use engine::runtime::{HistoricInstance, HistoryQuery};
use engine::{Clock, SystemClock};
use serde_json::{Value, json};

use crate::engine_cmd::{DbArgs, Fail, finish, open_engine, parse_var, print_json, refused, utc};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EndState {
    Completed,
    Cancelled,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only instances of this process id.
    #[arg(long, value_name = "ID")]
    process: Option<String>,
    /// Only instances that ended so.
    #[arg(long, value_enum)]
    state: Option<EndState>,
    /// Only instances with this business key.
    #[arg(long, value_name = "KEY")]
    business_key: Option<String>,
    /// Only instances whose process variable NAME had VALUE when they ended
    /// (VALUE as JSON when it parses, as a string otherwise).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    var: Option<(String, Value)>,
    /// At most this many, oldest end first.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// First remove the instances whose history time to live has passed
    /// (`camunda:historyTimeToLive`, or the engine's default).
    #[arg(long)]
    cleanup: bool,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

pub fn history(args: HistoryArgs) -> ExitCode {
    finish(history_inner(args))
}

fn history_inner(args: HistoryArgs) -> Result<ExitCode, Fail> {
    let mut engine = open_engine(&args.db.db, args.db.store, false)?;
    if args.cleanup {
        let removed = engine
            .remove_expired_history(SystemClock.now_millis())
            .map_err(refused)?;
        engine.flush().map_err(refused)?;
        if !args.json {
            println!("removed {removed} ended instances past their time to live");
        }
    }
    let query = HistoryQuery {
        process: args.process,
        status: args.state.map(|s| match s {
            EndState::Completed => Status::Completed,
            EndState::Cancelled => Status::Cancelled,
        }),
        business_key: args.business_key,
        variable: args.var,
        limit: args.limit,
        ..HistoryQuery::default()
    };
    let ended = engine.history(&query).map_err(refused)?;
    if args.json {
        print_json(&Value::Array(ended.iter().map(to_json).collect()));
        return Ok(ExitCode::SUCCESS);
    }
    if ended.is_empty() {
        println!("no ended instances in {}", args.db.db.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<24} {:<10} {:<25} {:<25} REMOVED AFTER",
        "INSTANCE", "PROCESS", "STATE", "STARTED", "ENDED"
    );
    for h in &ended {
        println!(
            "{:<10} {:<24} {:<10} {:<25} {:<25} {}",
            h.id,
            format!("{}:{}", h.process.id, h.process.version),
            status_name(h.status),
            utc(h.started_at),
            utc(h.ended_at),
            h.removal_at.map_or_else(|| "-".to_string(), utc)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Active => "active",
        Status::Completed => "completed",
        Status::Cancelled => "cancelled",
    }
}

fn to_json(h: &HistoricInstance) -> Value {
    json!({
        "instance": h.id,
        "process": h.process.id,
        "version": h.process.version,
        "businessKey": h.business_key,
        "parent": h.parent,
        "state": status_name(h.status),
        "startedAt": utc(h.started_at),
        "endedAt": utc(h.ended_at),
        "removalAt": h.removal_at.map(utc),
        "incidents": h.incidents,
        "variables": h.variables,
    })
}
