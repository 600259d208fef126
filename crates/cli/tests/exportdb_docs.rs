//! `pt2 exportdb docs DIR`: the site is built, the index links every case page, every relative
//! link resolves, nothing is fetched from the network, and each page holds its case's source
//! and what export gives.

use std::path::Path;

fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_string).collect()
}

#[test]
fn the_site_is_built_and_its_links_hold() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exportdb_docs");
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pt2")).args(["exportdb", "docs"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cases = exportdb::catalogue();
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let index_links = hrefs(&index);
    for case in &cases {
        let page = format!("cases/{}.html", case.name);
        assert!(index_links.contains(&page), "the index does not link {page}");
        let html = std::fs::read_to_string(dir.join(&page)).unwrap();
        // its source, non-empty, and what export gives
        let source = case.source();
        assert!(!source.trim().is_empty(), "{}: no source", case.name);
        let first_line = pt2_cli::graph::escape(source.lines().find(|l| !l.trim().is_empty()).unwrap());
        assert!(html.contains(&first_line), "{}: the source is not on its page", case.name);
        let outcome = if case.export_error().is_some() { "<h2>Export fails</h2>" } else { "<h2>Exported program</h2>" };
        assert!(html.contains(outcome), "{}: no `{outcome}`", case.name);
        for link in hrefs(&html) {
            if link.starts_with("https://pytorch.org/") {
                continue;
            }
            assert!(dir.join("cases").join(&link).exists(), "{page}: broken link {link}");
        }
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("<img"), "{page} loads something");
    }
    for link in &index_links {
        assert!(dir.join(link).exists(), "index: broken link {link}");
    }
    // one link per case under its support level, and one per tag it has
    assert_eq!(index_links.len(), cases.len() + cases.iter().map(|c| c.tags.len()).sum::<usize>());
}
