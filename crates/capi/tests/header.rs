//! `include/pt2.h` is what cbindgen generates from this crate: a change to the C interface that
//! is not in the header fails here (`PT2_BLESS=1` rewrites the header).

use std::path::Path;

#[test]
fn header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new().with_crate(crate_dir).with_config(config).generate().expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8");
    let header = crate_dir.join("../../include/pt2.h");
    if std::env::var_os("PT2_BLESS").is_some() {
        std::fs::write(&header, &generated).expect("write include/pt2.h");
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        committed == generated,
        "include/pt2.h differs from what cbindgen generates from crates/capi; \
         run `PT2_BLESS=1 cargo test -p pt2-capi --test header` and commit the header"
    );
}
