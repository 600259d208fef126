//! `draft_export` over the catalogue: each case export refuses gets a report that names the
//! problem (the text export fails with), its line where the program has one, and a fix; every
//! other case gets a clean report.

#[test]
fn each_expected_error_case_is_reported_and_every_other_case_is_clean() {
    let mut reported = 0;
    for case in exportdb::catalogue() {
        let draft = pt2_cli::exportdb::draft(&case).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let report = &draft.report;
        match case.export_error() {
            None => assert!(report.is_clean(), "{}: export succeeds, but the draft reports:\n{report}", case.name),
            Some(expected) => {
                assert!(!report.is_clean(), "{}: export fails, but the draft is clean", case.name);
                let named = report.problems.iter().any(|p| p.message.contains(expected) || p.message.contains(expected.trim_start_matches("Suggested fixes:\n")));
                assert!(named, "{}: no problem says `{expected}`:\n{report}", case.name);
                for p in &report.problems {
                    assert!(!p.fixes.is_empty(), "{}: a problem without a fix:\n{report}", case.name);
                    // a problem of the program (not of its specs) names the user's line
                    if p.kind != export::ProblemKind::ExampleOutsideRange {
                        let at = p.location.as_deref().unwrap_or_else(|| panic!("{}: no line:\n{report}", case.name));
                        assert!(at.starts_with("crates/exportdb/src/"), "{}: {at}", case.name);
                    }
                }
                reported += 1;
            }
        }
    }
    assert_eq!(reported, 4, "the catalogue's expected-error cases");
}

#[test]
fn the_command_prints_the_report() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pt2")).args(["exportdb", "draft", "tutorial_shape_if_violation"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("issue(s) found during export") && text.contains("let inp4_dim0 = Dim::new(\"inp4_dim0\").max(16);"), "{text}");
}
