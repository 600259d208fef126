//! The `pt2` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use pt2_cli::conformance;

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
    /// Print a PT2 archive's program as PyTorch's `print(ep)` does.
    Inspect {
        /// The .pt2 file.
        file: PathBuf,
        /// Print the FX graph listing instead (`print(ep.graph)`).
        #[arg(long)]
        graph: bool,
        /// Print only how to call the program: its inputs (as `pt2 run` names them) with
        /// dtypes and sizes, its outputs, and the ranges of its symbols.
        #[arg(long, conflicts_with = "graph")]
        signature: bool,
        /// Print the module tree (`torch.export.unflatten`): each submodule with its inputs,
        /// outputs, state and part of the graph.
        #[arg(long, conflicts_with_all = ["graph", "signature"])]
        unflatten: bool,
    },
    /// Run a PT2 archive on inputs from a safetensors file (tensors named as the program's
    /// inputs: `x`, `inp['x']`, ...) and write the outputs to a safetensors file (`output_0`, ...).
    Run {
        /// The .pt2 file.
        file: PathBuf,
        /// The inputs.
        #[arg(long)]
        inputs: PathBuf,
        /// Where to write the outputs.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Draw a PT2 archive's program: one self-contained HTML page (search, pan and zoom,
    /// foldable module groups, details on hover) or Graphviz text.
    Graph {
        /// The .pt2 file.
        file: PathBuf,
        /// Where to write the page (or the Graphviz file).
        #[arg(long, short)]
        output: PathBuf,
        /// `html`, or `dot` for Graphviz; by default, what the output's extension says.
        #[arg(long, value_parser = ["html", "dot"])]
        format: Option<String>,
    },
    /// Check a PT2 archive: signature, metadata, operators and their arguments, subgraphs.
    Verify {
        /// The .pt2 file.
        file: PathBuf,
        /// Also check every entry's bytes (weights included) against the zip's CRC-32.
        #[arg(long)]
        deep: bool,
        /// Also replay the program shapes only (meta functions and dtype rules, no kernels) and
        /// compare every node's output sizes and dtype with the ones recorded in the archive.
        #[arg(long)]
        shapes: bool,
    },
    /// Load a PT2 archive and save it again (a round trip through pt2's reader and writer).
    Resave {
        /// The .pt2 file to read.
        input: PathBuf,
        /// Where to write.
        #[arg(short, long, required_unless_present = "output_positional")]
        output: Option<PathBuf>,
        /// The old spelling, `pt2 resave IN OUT` (deprecated: use -o).
        #[arg(hide = true, conflicts_with = "output")]
        output_positional: Option<PathBuf>,
    },
    /// Measure kernel speed.
    #[command(subcommand)]
    Bench(Bench),
    /// Lower a program to core ATen (`ep.run_decompositions()`), write it to -o.
    Decompose {
        file: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Operators to keep as they are (`aten.linear`), repeatable.
        #[arg(long)]
        keep: Vec<String>,
        /// Only functionalize (an empty decomposition table): the inference IR.
        #[arg(long)]
        functional_only: bool,
    },
    /// The case catalogue: programs written in Rust, exported into the fixture format.
    #[command(subcommand)]
    Exportdb(Exportdb),
}

#[derive(Subcommand)]
enum Exportdb {
    /// Every case's name and description.
    List,
    /// A case's Rust source and its exported program.
    Show { name: String },
    /// Draft-exports a case (`pt2::draft_export`): every problem export meets, with its line
    /// and fix, in one report.
    Draft { name: String },
    /// Writes the catalogue as a static site (no network, no script): DIR/index.html by tag and
    /// support level, DIR/cases/<case>.html with the source, the program or error, the dynamic
    /// shapes and the PyTorch example it mirrors.
    Docs { dir: PathBuf },
    /// Exports every case into DIR/<case>/ (program.pt2, io.safetensors, case.json) and runs
    /// the conformance runner on the written folders.
    Write {
        dir: PathBuf,
        /// Only cases whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write the markdown conformance table here.
        #[arg(long)]
        table: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// GFLOP/s of float32 matmul (512³, 2048³) and a 3×3 convolution, beside the machine's
    /// rough peak and, with --python, beside PyTorch eager on the same threads.
    Kernels {
        /// Threads for pt2 (rayon) and PyTorch.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// A Python with torch installed; runs tools/bench_torch_kernels.py for the ratio.
        #[arg(long)]
        python: Option<String>,
    },
    /// Export time per catalogue case, beside torch.export.export with --python.
    Export {
        /// Timed exports per case.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// A Python with torch installed; runs tools/bench_torch_export.py for the ratio.
        #[arg(long)]
        python: Option<String>,
    },
    /// The interpreter's cost per node: a chain of small element-wise nodes, called through the
    /// loaded program's module and, for comparison, as bare kernel calls.
    Nodes {
        #[arg(long, default_value_t = 3000)]
        nodes: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Time to build, simplify and evaluate many shape guards in the symbolic engine.
    Symbolic {
        #[arg(long, default_value_t = 10_000)]
        guards: usize,
        /// Symbolic input dims the guards are drawn over.
        #[arg(long, default_value_t = 100)]
        symbols: usize,
        /// A Python with torch installed; times the same guards in PyTorch's ShapeEnv
        /// (tools/bench_torch_symbolic.py) for the ratio.
        #[arg(long)]
        python: Option<String>,
    },
    /// Load time, median inference latency and peak RSS of every fixture archive in DIR, each
    /// in a process of its own, beside PyTorch's (tools/anchor_bench.py) when --python is given.
    Programs {
        dir: PathBuf,
        /// Timed runs per archive.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Thread counts to run at, comma-separated (`1,2`).
        #[arg(long, value_delimiter = ',', default_value = "2")]
        threads: Vec<usize>,
        #[arg(long)]
        python: Option<String>,
        /// Also write the figures as a markdown table to this file.
        #[arg(long)]
        table: Option<PathBuf>,
    },
    /// One archive of a fixture case, timed in this process (what `bench programs` runs per
    /// archive); prints its figures as one JSON line.
    #[command(hide = true)]
    ProgramOne {
        case_dir: PathBuf,
        archive: String,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
}

#[derive(Subcommand)]
enum Conformance {
    /// Lower every fixture program in DIR to core ATen and check it (outputs, rejects,
    /// operator multiset against PyTorch's program.core.pt2).
    Decompose {
        dir: PathBuf,
        #[arg(long)]
        filter: Option<String>,
        /// Print every case, not only the failures.
        #[arg(long)]
        verbose: bool,
        /// Also write the markdown conformance table here.
        #[arg(long)]
        table: Option<PathBuf>,
    },
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
    /// A model zoo (`tools/gen_model_zoo.py DIR`) as one table: each model's training-IR and
    /// core-IR programs run, and pt2's lowering of it checked.
    Zoo {
        dir: PathBuf,
        /// Write the markdown table here (else print it).
        #[arg(long)]
        table: Option<PathBuf>,
        /// How the table's header names DIR (default: as given).
        #[arg(long)]
        shown_as: Option<String>,
    },
    /// Load every case's program.pt2 and program.core.pt2 in DIR, run the recorded input sets,
    /// compare outputs, and require every reject set to be refused. Registers relu as
    /// `my_custom_library::custom_op` for the custom-op case.
    Programs {
        /// A folder of case folders (case.json, io.safetensors, program.pt2).
        dir: PathBuf,
        /// Only run cases whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write the conformance table (markdown) to this file.
        #[arg(long)]
        table: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`pt2 inspect F | head`) would panic;
    // the default action ends the process quietly instead
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Resave { input, output, output_positional } => {
            if output_positional.is_some() {
                eprintln!("pt2: note: `pt2 resave IN OUT` is deprecated; write `pt2 resave IN -o OUT`");
            }
            let output = output.or(output_positional).expect("clap requires one of them");
            resave(&input, &output)
        }
        Command::Run { file, inputs, output } => match pt2_cli::run::run_file(&file, &inputs, &output) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pt2: {e}");
                ExitCode::from(1)
            }
        },
        Command::Graph { file, output, format } => {
            let dot = format.as_deref().map_or_else(|| output.extension().is_some_and(|e| e == "dot" || e == "gv"), |f| f == "dot");
            let written = serialize::load(&file).map_err(|e| e.to_string()).and_then(|ep| {
                let text = if dot {
                    pt2_cli::graph::dot(&ep)
                } else {
                    pt2_cli::graph::html(&ep, &file.file_name().unwrap_or_default().to_string_lossy())
                };
                std::fs::write(&output, text).map_err(|e| format!("{}: {e}", output.display()))
            });
            match written {
                Ok(()) => {
                    println!("wrote {}", output.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pt2: {}: {e}", file.display());
                    ExitCode::from(1)
                }
            }
        }
        Command::Verify { file, deep, shapes } => {
            let loaded = serialize::Archive::open(&file).and_then(|archive| Ok((archive.load_main()?, archive)));
            let (ep, archive) = match loaded {
                Ok(loaded) => loaded,
                Err(e) => {
                    eprintln!("pt2: {e}");
                    return ExitCode::from(1);
                }
            };
            let mut problems = ep.verify(ops::Registry::global());
            if deep {
                problems.extend(archive.verify_checksums());
            }
            if shapes && problems.is_empty() {
                match ir::shapes::replay_shapes(&ep, ops::Registry::global()) {
                    Ok(replay) => {
                        println!("{}: {} values replayed shapes only", file.display(), replay.checked);
                        problems.extend(replay.mismatches.into_iter().map(|m| format!("shapes-only replay: {m}")));
                    }
                    Err(e) => problems.push(format!("shapes-only replay: {e}")),
                }
            }
            for p in &problems {
                println!("{}: {p}", file.display());
            }
            if problems.is_empty() {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            } else {
                println!("{}: {} problems", file.display(), problems.len());
                ExitCode::from(1)
            }
        }
        Command::Inspect { file, graph, signature, unflatten } => match serialize::load(&file) {
            Ok(ep) => {
                if unflatten {
                    match ep.unflatten() {
                        Ok(tree) => print!("{tree}"),
                        Err(e) => {
                            eprintln!("pt2: {}: {e}", file.display());
                            return ExitCode::from(1);
                        }
                    }
                } else if graph {
                    println!("{}", ep.graph_text());
                } else if signature {
                    println!("{}", ep.signature_summary());
                } else {
                    print!("{ep}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pt2: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench(Bench::Kernels { threads, python }) => bench_kernels(threads, python.as_deref()),
        Command::Decompose { file, output, keep, functional_only } => {
            let mut table = if functional_only { decomp::DecompTable::empty() } else { decomp::default_decompositions() };
            for op in &keep {
                table.remove(op);
            }
            let result = pt2::load(&file)
                .and_then(|ep| decomp::run_decompositions(&ep, &table))
                .and_then(|lowered| pt2::save(&lowered, &output).map(|_| lowered));
            match result {
                Ok(lowered) => {
                    let stray = lowered.verify_core_aten(ops::Registry::global());
                    println!("{} nodes written to {}{}", lowered.graph().nodes.len(), output.display(), if stray.is_empty() { " (core ATen)".to_string() } else { format!("; not core ATen: {}", stray.join("; ")) });
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pt2: {}: {e}", file.display());
                    ExitCode::from(1)
                }
            }
        }
        Command::Exportdb(Exportdb::List) => {
            for c in exportdb::catalogue() {
                println!("{:<42} {:<22} {}", c.name, c.support.name(), c.description);
            }
            ExitCode::SUCCESS
        }
        Command::Exportdb(Exportdb::Show { name }) => match exportdb::find(&name) {
            Some(case) => {
                print!("{}", pt2_cli::exportdb::show(&case));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("pt2: no case named `{name}` (see `pt2 exportdb list`)");
                ExitCode::from(2)
            }
        },
        Command::Exportdb(Exportdb::Draft { name }) => match exportdb::find(&name).map(|case| pt2_cli::exportdb::draft(&case)) {
            Some(Ok(draft)) => {
                print!("{}", draft.report);
                ExitCode::SUCCESS
            }
            Some(Err(e)) => {
                eprintln!("pt2: {name}: draft export failed: {e}");
                ExitCode::from(1)
            }
            None => {
                eprintln!("pt2: no case named `{name}` (see `pt2 exportdb list`)");
                ExitCode::from(2)
            }
        },
        Command::Exportdb(Exportdb::Docs { dir }) => match pt2_cli::exportdb_docs::write_docs(&dir) {
            Ok(pages) => {
                println!("wrote {pages} pages to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pt2: {e}");
                ExitCode::from(1)
            }
        },
        Command::Exportdb(Exportdb::Write { dir, filter, table }) => {
            let report = match pt2_cli::exportdb::write_all(&dir, filter.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("pt2: {e}");
                    return ExitCode::from(2);
                }
            };
            for r in &report.rows {
                match (&r.written, &r.conformance) {
                    (Err(e), _) => println!("FAIL {e}"),
                    (Ok(_), Some(Err(e))) => println!("FAIL {}: {e}", r.name),
                    (Ok(pt2_cli::exportdb::Written::ExpectedError), _) => println!("{:<36} export fails as expected", r.name),
                    (Ok(pt2_cli::exportdb::Written::Program { sets, rejects }), _) => println!("{:<36} exported; {sets} input sets, {rejects} rejects; conformance passes", r.name),
                }
            }
            if let Some(path) = table {
                if let Err(e) = std::fs::write(&path, report.table()) {
                    eprintln!("pt2: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            println!("{}", report.summary());
            if report.passed() < report.rows.len() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Bench(Bench::Export { runs, python }) => {
            let ours = match pt2_cli::bench_export::pt2_seconds(runs) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("pt2: {e}");
                    return ExitCode::from(1);
                }
            };
            let theirs = match python {
                Some(py) => {
                    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench_torch_export.py");
                    match pt2_cli::bench_export::torch_seconds(&py, &script, runs.min(5)) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            eprintln!("pt2: {e}");
                            return ExitCode::from(2);
                        }
                    }
                }
                None => None,
            };
            print!("{}", pt2_cli::bench_export::report(&ours, theirs.as_ref()));
            ExitCode::SUCCESS
        }
        Command::Bench(Bench::Symbolic { guards, symbols, python }) => match pt2_cli::bench_symbolic::run(guards, symbols.max(1)) {
            Ok(report) => {
                print!("{report}");
                if let Some(py) = python {
                    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench_torch_symbolic.py");
                    match pt2_cli::bench_symbolic::torch_seconds(&py, &script, guards, symbols.max(1)) {
                        Ok(torch) => print!("{}", report.beside_torch(torch)),
                        Err(e) => {
                            eprintln!("pt2: {e}");
                            return ExitCode::from(2);
                        }
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pt2: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench(Bench::Nodes { nodes, runs }) => match pt2_cli::bench_nodes::run(nodes.max(1), runs) {
            Ok(c) => {
                println!(
                    "{} nodes: {:.3} ms a call, {:.3} µs a node, of which the walk adds {:.3} µs (bare kernel calls: {:.3} ms)",
                    c.nodes,
                    c.call_seconds * 1e3,
                    c.per_node_us(),
                    c.overhead_per_node_us(),
                    c.kernels_seconds * 1e3
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pt2: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench(Bench::Programs { dir, runs, threads, python, table }) => bench_programs(&dir, runs, &threads, python.as_deref(), table.as_deref()),
        Command::Bench(Bench::ProgramOne { case_dir, archive, runs, threads }) => {
            if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global() {
                eprintln!("pt2: cannot set up {threads} threads: {e}");
                return ExitCode::from(2);
            }
            println!("{}", pt2_cli::bench_programs::figures_json(&pt2_cli::bench_programs::time_one(&case_dir, &archive, runs)));
            ExitCode::SUCCESS
        }
        Command::Conformance(Conformance::Zoo { dir, table, shown_as }) => {
            let shown = shown_as.unwrap_or_else(|| dir.display().to_string());
            let table_shown = table.as_ref().map_or_else(|| "FILE".to_string(), |t| t.display().to_string());
            match pt2_cli::conformance::zoo::table(&dir, &shown, &table_shown) {
                Ok(text) => match table {
                    Some(path) => match std::fs::write(&path, &text) {
                        Ok(()) => {
                            println!("{}", text.lines().find(|l| l.starts_with("**")).unwrap_or_default());
                            ExitCode::SUCCESS
                        }
                        Err(e) => {
                            eprintln!("pt2: cannot write {}: {e}", path.display());
                            ExitCode::from(2)
                        }
                    },
                    None => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                },
                Err(e) => {
                    eprintln!("pt2: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Conformance(Conformance::Decompose { dir, filter, verbose, table }) => {
            match pt2_cli::conformance::decompose::run(&dir, filter.as_deref()) {
                Ok(report) => {
                    if let Some(path) = table {
                        if let Err(e) = std::fs::write(&path, report.table()) {
                            eprintln!("pt2: cannot write {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                    for c in &report.cases {
                        match (&c.outcome, &c.multiset) {
                            (Err(e), _) => println!("FAIL {}: {e}", c.case),
                            (Ok(()), Some(Some(diff))) => println!("DIFF {}: {diff}", c.case),
                            (Ok(()), _) if verbose => println!("ok   {}", c.case),
                            _ => {}
                        }
                    }
                    println!("{}", report.summary());
                    all_passed(report.cases.iter().all(|c| c.outcome.is_ok() && !matches!(c.multiset, Some(Some(_)))))
                }
                Err(e) => {
                    eprintln!("pt2: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Conformance(Conformance::Programs { dir, filter, table }) => {
            let report = match conformance::programs::run(&dir, filter.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("pt2: {e}");
                    return ExitCode::from(2);
                }
            };
            for a in &report.archives {
                if let Err(e) = &a.outcome {
                    println!("FAIL {}/{}: {e}", a.case, a.archive);
                }
            }
            if let Some(path) = table {
                if let Err(e) = std::fs::write(&path, report.table(&dir.display().to_string(), &path.display().to_string())) {
                    eprintln!("pt2: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            println!("{}", report.summary());
            all_passed(report.passed() == report.archives.len())
        }
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
                if let conformance::ops::MetaOutcome::Differs(why) = &c.meta {
                    println!("META {} [{}]: {why}", c.op, c.source);
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
            all_passed(report.passed() == report.cases.len())
        }
    }
}

fn resave(input: &std::path::Path, output: &std::path::Path) -> ExitCode {
    match serialize::load(input).and_then(|ep| serialize::save(&ep, output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pt2: {e}");
            ExitCode::from(1)
        }
    }
}

/// A conformance run's exit status: 1 when any case did not pass, so scripts and CI can tell.
fn all_passed(yes: bool) -> ExitCode {
    if yes {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn bench_kernels(threads: usize, python: Option<&str>) -> ExitCode {
    if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global() {
        eprintln!("pt2: cannot set up {threads} threads: {e}");
        return ExitCode::from(2);
    }
    let (peak, how) = pt2_cli::bench::peak_gflops(threads);
    println!("peak ~{peak:.0} GFLOP/s = {how}");
    let torch = match python {
        Some(py) => {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench_torch_kernels.py");
            match pt2_cli::bench::torch_seconds(py, &script, threads) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("pt2: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        None => Vec::new(),
    };
    println!("{:<12} {:>10} {:>10} {:>8} {:>12} {:>14}", "kernel", "ms", "GFLOP/s", "% peak", "torch ms", "pt2/torch time");
    for k in pt2_cli::bench::run_kernels() {
        let gflops = k.flops / k.seconds / 1e9;
        let t = torch.iter().find(|(n, _)| n == k.name).map(|(_, s)| *s);
        println!(
            "{:<12} {:>10.2} {:>10.1} {:>7.0}% {:>12} {:>14}   {}",
            k.name,
            k.seconds * 1e3,
            gflops,
            100.0 * gflops / peak,
            t.map(|s| format!("{:.2}", s * 1e3)).unwrap_or_else(|| "-".into()),
            t.map(|s| format!("{:.2}x", k.seconds / s)).unwrap_or_else(|| "-".into()),
            k.description
        );
    }
    ExitCode::SUCCESS
}

fn bench_programs(dir: &std::path::Path, runs: usize, threads: &[usize], python: Option<&str>, table: Option<&std::path::Path>) -> ExitCode {
    let timings = match pt2_cli::bench_programs::run(dir, runs, threads, python) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pt2: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", pt2_cli::bench_programs::report(&timings, false));
    if let Some(path) = table {
        let threads = threads.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",");
        let md = format!(
            "# Inference beside PyTorch eager\n\nGenerated by `pt2 bench programs DIR --runs {runs} --threads {threads} --python PY --table FILE` \
             on the full-size set of `tools/gen_bench_models.py`: median milliseconds a call and peak resident memory, each archive in \
             a process of its own, PyTorch eager (`ep.module()` under `no_grad`) timed in the same run. Benchmarks, not tests: \
             figures vary with the machine and its load.\n\n{}",
            pt2_cli::bench_programs::report(&timings, true)
        );
        if let Err(e) = std::fs::write(path, md) {
            eprintln!("pt2: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
