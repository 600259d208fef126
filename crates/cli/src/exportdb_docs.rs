//! `pt2 exportdb docs DIR`: the catalogue as a static site, as PyTorch publishes ExportDB — an
//! index by tag and support level, and a page per case with its Rust source, what export gives
//! (the printed program, or the error and the draft report), its dynamic shapes and the
//! PyTorch example it mirrors. Plain HTML, no script, no network: it reads from disk.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use exportdb::{Case, Support};

use crate::graph::escape;

/// Where the PyTorch example a case mirrors is published.
pub fn pytorch_link(case: &Case) -> String {
    match case.name.strip_prefix("exportdb_") {
        Some(example) => format!("https://pytorch.org/docs/main/generated/exportdb/index.html#{}", example.replace('_', "-")),
        None => "https://pytorch.org/tutorials/intermediate/torch_export_tutorial.html".into(),
    }
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
pre{background:#f5f6f8;border:1px solid #dde;padding:.8rem;overflow-x:auto;font-size:13px}\
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 .4rem;margin-right:.3rem;font-size:13px}\
.level{font-weight:600}td{padding:.2rem .6rem;vertical-align:top}";

fn page(title: &str, body: &str) -> String {
    format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n", escape(title))
}

fn case_page(case: &Case) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<p><a href=\"../index.html\">ExportDB for Rust</a></p>\n<h1>{}</h1>", escape(case.name));
    let _ = writeln!(b, "<p>{}</p>", escape(case.description));
    let tags: String = case.tags.iter().map(|t| format!("<span class=\"tag\">{}</span>", escape(t))).collect();
    let _ = writeln!(b, "<p>Tags: {tags}</p>\n<p>Support level: <span class=\"level\">{}</span></p>", case.support.name());
    if let Support::NotApplicable(why) = case.support {
        let _ = writeln!(b, "<p>{}</p>", escape(why));
    }
    let _ = writeln!(b, "<p>Mirrors PyTorch's <a href=\"{0}\">{0}</a></p>", escape(&pytorch_link(case)));
    let _ = writeln!(b, "<h2>Rust source</h2>\n<pre>{}</pre>", escape(&case.source()));
    let shapes = (case.dynamic_shapes)().describe();
    let _ = writeln!(b, "<h2>Dynamic shapes</h2>");
    if shapes.is_empty() {
        let _ = writeln!(b, "<p>None: every size is the example's.</p>");
    } else {
        let _ = writeln!(b, "<ul>{}</ul>", shapes.iter().map(|l| format!("<li><code>{}</code></li>", escape(l))).collect::<String>());
    }
    let sets = (case.sets)();
    let options = export::ExportOptions { dynamic_shapes: (case.dynamic_shapes)(), ..Default::default() };
    match sets.first().map(|example| export::export((case.model)().as_ref(), example.clone(), &options)) {
        Some(Ok(ep)) => {
            let _ = writeln!(b, "<h2>Exported program</h2>\n<pre>{}</pre>", escape(&ep.to_string()));
        }
        Some(Err(e)) => {
            let _ = writeln!(b, "<h2>Export fails</h2>\n<pre>{}</pre>", escape(&e.to_string()));
            if let Ok(draft) = crate::exportdb::draft(case) {
                let _ = writeln!(b, "<h2>draft_export's report</h2>\n<pre>{}</pre>", escape(&draft.report.to_string()));
            }
        }
        None => {
            let _ = writeln!(b, "<p>No example input.</p>");
        }
    }
    page(case.name, &b)
}

/// Writes `dir/index.html` and `dir/cases/<name>.html` for every case; returns the pages'
/// count.
pub fn write_docs(dir: &Path) -> Result<usize, String> {
    let cases_dir = dir.join("cases");
    std::fs::create_dir_all(&cases_dir).map_err(|e| format!("{}: {e}", cases_dir.display()))?;
    let cases = exportdb::catalogue();
    for case in &cases {
        let path = cases_dir.join(format!("{}.html", case.name));
        std::fs::write(&path, case_page(case)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let link = |c: &Case| format!("<a href=\"cases/{0}.html\">{0}</a>", escape(c.name));
    let mut b = String::from("<h1>ExportDB for Rust</h1>\n<p>What pt2 can and cannot export, case by case: each page has the Rust program, what export gives and the PyTorch example it mirrors.</p>\n");
    let mut by_level: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    let mut by_tag: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in &cases {
        by_level.entry(c.support.name()).or_default().push(c);
        for t in c.tags {
            by_tag.entry(t).or_default().push(c);
        }
    }
    b.push_str("<h2>By support level</h2>\n");
    for (level, cs) in &by_level {
        let _ = writeln!(b, "<h3>{} ({})</h3>\n<table>", escape(level), cs.len());
        for c in cs {
            let _ = writeln!(b, "<tr><td>{}</td><td>{}</td></tr>", link(c), escape(c.description));
        }
        b.push_str("</table>\n");
    }
    b.push_str("<h2>By tag</h2>\n");
    for (tag, cs) in &by_tag {
        let _ = writeln!(b, "<h3 id=\"tag-{0}\">{0}</h3>\n<p>{1}</p>", escape(tag), cs.iter().map(|c| link(c)).collect::<Vec<_>>().join(", "));
    }
    std::fs::write(dir.join("index.html"), page("ExportDB for Rust", &b)).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(cases.len() + 1)
}
