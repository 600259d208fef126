//! The `pt2` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use pt2::conformance;

#[derive(Parser)]
#[command(name = "pt2", version, about = "torch.export for Rust: export, inspect, run and check PT2 programs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check pt2 against results PyTorch recorded.
    #[command(subcommand)]
    Conformance(Conformance),
}

#[derive(Subcommand)]
enum Conformance {
    /// Run every single-operator case in DIR/cases.json and compare with PyTorch's outputs.
    Ops {
        /// A folder with cases.json and cases.safetensors.
        dir: PathBuf,
        /// Only run overloads whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write the per-overload conformance table (markdown) to this file.
        #[arg(long)]
        table: Option<PathBuf>,
        /// The core ATen overload list used for the table (default: DIR/../core_aten_ops.txt).
        #[arg(long)]
        core_ops: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance(Conformance::Ops { dir, filter, table, core_ops }) => {
            let registry = ops::Registry::global();
            let report = match conformance::ops::run(&dir, registry, filter.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("pt2: {e}");
                    return ExitCode::from(2);
                }
            };
            for c in &report.cases {
                match &c.outcome {
                    conformance::ops::Outcome::Failed(why) => println!("FAIL {} [{}]: {why}", c.op, c.source),
                    conformance::ops::Outcome::Unsupported => println!("UNSUPPORTED {} [{}]", c.op, c.source),
                    conformance::ops::Outcome::Passed => {}
                }
            }
            if let Some(path) = table {
                let core_path = core_ops.unwrap_or_else(|| dir.join("..").join("core_aten_ops.txt"));
                let core: Vec<String> = std::fs::read_to_string(&core_path)
                    .map(|t| t.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
                    .unwrap_or_default();
                if let Err(e) = std::fs::write(&path, report.table(registry, &core)) {
                    eprintln!("pt2: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            println!("{}", report.summary());
            ExitCode::SUCCESS
        }
    }
}
