//! Saving a loaded archive keeps everything PyTorch wrote, and is deterministic.

use std::io::Cursor;
use std::path::PathBuf;

fn fixtures() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch");
    let mut v = Vec::new();
    for case in std::fs::read_dir(root).unwrap() {
        let case = case.unwrap().path();
        for a in ["program.pt2", "program.core.pt2"] {
            if case.join(a).exists() {
                v.push(case.join(a));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn load_save_load_keeps_program_and_tensors_and_is_deterministic() {
    let dir = std::env::temp_dir().join(format!("pt2-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for path in fixtures() {
        let ep = serialize::load(&path).unwrap();
        let first = serialize::write_archive(&ep, Cursor::new(Vec::new()), "program.pt2").unwrap().into_inner();
        let second = serialize::write_archive(&ep, Cursor::new(Vec::new()), "program.pt2").unwrap().into_inner();
        assert_eq!(first, second, "{}: saving twice gave different bytes", path.display());

        let out = dir.join("program.pt2");
        std::fs::write(&out, &first).unwrap();
        let back = serialize::load(&out).unwrap();
        assert_eq!(back.model, ep.model, "{}: the program changed in a save", path.display());
        assert_eq!(back.example_inputs, ep.example_inputs);
        for (what, a, b) in [("state dict", &ep.state_dict, &back.state_dict), ("constants", &ep.constants, &back.constants)] {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{}: {what} names", path.display());
            for (name, t) in a {
                let u = &b[name];
                assert_eq!((t.dtype(), t.shape()), (u.dtype(), u.shape()), "{}: {name}", path.display());
                assert_eq!(t.to_bytes(), u.to_bytes(), "{}: {name} values", path.display());
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_archives_are_errors_not_panics() {
    let path = fixtures().into_iter().next().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let dir = std::env::temp_dir().join(format!("pt2-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // truncations at many points, and single-byte corruptions across the file
    let cuts = (0..bytes.len()).step_by((bytes.len() / 64).max(1));
    for (i, cut) in cuts.enumerate() {
        let p = dir.join(format!("cut{i}.pt2"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let r = std::panic::catch_unwind(|| serialize::load(&p).map(|_| ()));
        assert!(r.is_ok(), "loading a file truncated at {cut} bytes panicked");
    }
    for (i, at) in (0..bytes.len()).step_by((bytes.len() / 64).max(1)).enumerate() {
        let mut b = bytes.clone();
        b[at] ^= 0xA5;
        let p = dir.join(format!("flip{i}.pt2"));
        std::fs::write(&p, &b).unwrap();
        let r = std::panic::catch_unwind(|| serialize::load(&p).map(|_| ()));
        assert!(r.is_ok(), "loading a file corrupted at byte {at} panicked");
    }
    std::fs::remove_dir_all(&dir).ok();
}
