//! A 4 MB archive whose `models/model.json` deflates to 4 GB is refused at once, naming the
//! entry and the limit, without inflating it. Alone in its test binary, so that the process's
//! peak memory is this test's.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch/tutorial_linear_relu/program.pt2")
}

/// A raw deflate stream of `chunks` MiB of zeros, built from one fully flushed chunk repeated
/// (a full flush resets the compressor's history, so each later chunk compresses to the same
/// bytes), and the CRC-32 of what it inflates to.
fn zeros_deflated(chunks: usize) -> (Vec<u8>, u32) {
    const MIB: usize = 1 << 20;
    let zeros = vec![0u8; MIB];
    let mut c = Compress::new(Compression::best(), false);
    let mut compress = |flush| {
        let mut out = Vec::with_capacity(MIB);
        let before = c.total_in();
        c.compress_vec(if flush == FlushCompress::Finish { &[] } else { &zeros }, &mut out, flush).unwrap();
        assert!(flush == FlushCompress::Finish || c.total_in() - before == MIB as u64);
        out
    };
    let first = compress(FlushCompress::Full);
    let next = compress(FlushCompress::Full);
    let mut stream = first;
    for _ in 1..chunks {
        stream.extend_from_slice(&next);
    }
    stream.extend_from_slice(&compress(FlushCompress::Finish));
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..chunks {
        crc.update(&zeros);
    }
    (stream, crc.finalize())
}

/// A zip of `entries` (name, stored bytes, method, crc, uncompressed size), written by hand so
/// that an entry can carry a stream no zip library would produce from data.
fn zip_file(entries: &[(String, Vec<u8>, u16, u32, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, method, crc, size) in entries {
        let offset = out.len() as u32;
        let header = |sig: u32, central_dir: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central_dir {
                h.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&method.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes()); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central_dir {
                h.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let (cd_offset, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The fixture's entries, stored, with `models/model.json` replaced by `bomb`.
fn archive_with_model_json(bomb: (Vec<u8>, u32, u32), test: &str) -> PathBuf {
    let mut zin = zip::ZipArchive::new(Cursor::new(std::fs::read(fixture()).unwrap())).unwrap();
    let mut entries = Vec::new();
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().to_string();
        if name.ends_with("models/model.json") {
            entries.push((name, bomb.0.clone(), 8, bomb.1, bomb.2));
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        let crc = crc32fast::hash(&data);
        let size = data.len() as u32;
        entries.push((name, data, 0, crc, size));
    }
    let path = std::env::temp_dir().join(format!("pt2-bomb-{}-{test}.pt2", std::process::id()));
    std::fs::File::create(&path).unwrap().write_all(&zip_file(&entries)).unwrap();
    path
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).unwrap_or(0) * 1024
}

#[test]
fn a_four_gigabyte_model_json_in_a_four_megabyte_archive_is_refused_at_once() {
    // 3,815 MiB of zeros: 4.0 GB, the most a zip without zip64 extensions can declare
    let chunks = 3815;
    let (stream, crc) = zeros_deflated(chunks);
    let declared = (chunks << 20) as u32;
    let bomb = archive_with_model_json((stream, crc, declared), "declared");
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 8 << 20, "the archive is small: {size} bytes");

    let start = Instant::now();
    let err = serialize::load(&bomb).err().expect("a zip bomb must be refused").to_string();
    let took = start.elapsed();
    assert!(err.contains("models/model.json") && err.contains("declares 4000317440 bytes") && err.contains("past the limit of 1073741824 bytes"), "{err}");
    assert!(took.as_millis() < 100, "refused in {took:?}");
    assert!(peak_rss_bytes() < 100 << 20, "peak RSS {} MB", peak_rss_bytes() >> 20);

    // the same stream behind a header that declares 1 KB is cut off one byte past it
    let (stream, crc) = zeros_deflated(64);
    let liar = archive_with_model_json((stream, crc, 1024), "lying");
    let err = serialize::load(&liar).err().expect("a lying header must be refused").to_string();
    assert!(err.contains("models/model.json") && err.contains("more than 1024"), "{err}");

    // under the JSON limit, a compressed entry may still not expand past 64 times the archive
    let (stream, crc) = zeros_deflated(512);
    let modest = archive_with_model_json((stream, crc, 512 << 20), "expansion");
    let err = serialize::load(&modest).err().expect("past the expansion limit").to_string();
    assert!(err.contains("declares 536870912 bytes decompressed from") && err.contains("past the limit of 64 times the archive's size"), "{err}");
    // and both limits are the caller's to set
    let limits = serialize::LoadLimits { max_text_bytes: 1 << 20, max_expansion: 1 << 20, ..Default::default() };
    let err = serialize::load_within(&modest, limits).err().expect("past max_text_bytes").to_string();
    assert!(err.contains("past the limit of 1048576 bytes"), "{err}");
    for p in [bomb, liar, modest] {
        let _ = std::fs::remove_file(p);
    }
}
