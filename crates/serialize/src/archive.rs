//! Reading PT2 archives: a zip whose entries are stored uncompressed under one top-level folder
//! (`program/`): `models/<name>.json` (the program), `data/weights/` and `data/constants/`
//! (raw tensor bytes plus a JSON config naming each file), `archive_format` (`pt2`),
//! `byteorder` (`little`), `archive_version` and `.data/version`.
//!
//! The archive file is memory-mapped once; every stored weight becomes a tensor over its region
//! of the mapping (copy-on-write), so loading copies no weight bytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use memmap2::{MmapMut, MmapOptions};
use serde::Deserialize;
use tensor::{Storage, Tensor};

use ir::schema::{self, SymInt, TensorMeta};
use ir::{Error, ExportedProgram, Result};

/// One file of the archive: where its bytes are in the mapping.
struct Entry {
    start: usize,
    len: usize,
    stored: bool,
    /// The size the zip directory declares once decompressed.
    declared: u64,
    /// The CRC-32 the zip directory records.
    crc32: u32,
}

/// Bounds on what loading an archive may allocate and parse. Every text entry, compressed or
/// not, and every symbolic size is checked against them before it is read in full, and refused
/// with the entry and the limit named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest JSON or text entry (the program, configs), decompressed.
    pub max_text_bytes: u64,
    /// A compressed entry may decompress to at most this many times the archive's own size
    /// (plus 1 MiB): a zip bomb's entry is refused from its declared size, before inflating.
    pub max_expansion: u64,
    /// Nesting and length of each symbolic size expression.
    pub expr: symbolic::ParseLimits,
}

impl Default for LoadLimits {
    /// JSON up to 1 GiB, compressed entries up to 64 times the archive, expressions as
    /// [`symbolic::ParseLimits::default`].
    fn default() -> LoadLimits {
        LoadLimits { max_text_bytes: 1 << 30, max_expansion: 64, expr: symbolic::ParseLimits::default() }
    }
}

/// An opened archive: the mapping and its entries by name.
pub struct Archive {
    map: Arc<MmapMut>,
    entries: HashMap<String, Entry>,
    /// The top-level folder every entry lives in (`program`).
    prefix: String,
    source: String,
    limits: LoadLimits,
}

/// `model_weights_config.json` / `model_constants_config.json`.
#[derive(Deserialize)]
struct PayloadConfig {
    config: IndexMap<String, PayloadMeta>,
}

#[derive(Deserialize)]
struct PayloadMeta {
    path_name: String,
    #[serde(default)]
    use_pickle: bool,
    tensor_meta: Option<TensorMeta>,
}

impl Archive {
    /// Opens an archive within the default [`LoadLimits`].
    pub fn open(path: &Path) -> Result<Archive> {
        Archive::open_within(path, LoadLimits::default())
    }

    pub fn open_within(path: &Path, limits: LoadLimits) -> Result<Archive> {
        let source = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::msg(format!("{source}: {e}")))?;
        // SAFETY: a private copy-on-write mapping; writes (in-place ops on weights) never reach
        // the file. Another process truncating the file while it is mapped is outside what
        // any memory-mapping loader can defend against.
        let map = unsafe { MmapOptions::new().map_copy(&file) }.map_err(|e| Error::msg(format!("{source}: cannot map: {e}")))?;
        Archive::from_map(map, source, limits)
    }

    /// An archive held in memory (read from a socket, embedded in a binary), named `source` in
    /// messages. The bytes are copied once, into memory the loaded weights then live in.
    pub fn from_bytes(bytes: &[u8], source: &str, limits: LoadLimits) -> Result<Archive> {
        let mut map = MmapOptions::new()
            .len(bytes.len().max(1))
            .map_anon()
            .map_err(|e| Error::msg(format!("{source}: cannot allocate {} bytes: {e}", bytes.len())))?;
        map[..bytes.len()].copy_from_slice(bytes);
        Archive::from_map(map, source.to_string(), limits)
    }

    fn from_map(map: MmapMut, source: String, limits: LoadLimits) -> Result<Archive> {
        let mut zip = zip::ZipArchive::new(Cursor::new(&map[..]))
            .map_err(|e| Error::msg(format!("{source}: not a PT2 archive (zip): {e}")))?;
        let mut entries = HashMap::new();
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i).map_err(|e| Error::msg(format!("{source}: entry {i}: {e}")))?;
            let start = f.data_start() as usize;
            let len = f.compressed_size() as usize;
            if start.checked_add(len).is_none_or(|end| end > map.len()) {
                return Err(Error::msg(format!("{source}: entry `{}` claims bytes past the end of the file", f.name())));
            }
            let stored = f.compression() == zip::CompressionMethod::Stored;
            let entry = Entry { start, len, stored, declared: f.size(), crc32: f.crc32() };
            entries.insert(f.name().to_string(), entry);
        }
        let prefix = entries
            .keys()
            .find_map(|n| n.strip_suffix("/archive_format").or_else(|| n.strip_suffix("/byteorder")))
            .map(str::to_string)
            .or_else(|| entries.keys().find_map(|n| n.split_once("/models/").map(|(p, _)| p.to_string())))
            .ok_or_else(|| Error::msg(format!("{source}: not a PT2 archive: no archive_format, byteorder or models/ entry")))?;
        Ok(Archive { map: Arc::new(map), entries, prefix, source, limits })
    }

    fn entry(&self, rel: &str) -> Option<&Entry> {
        self.entries.get(&format!("{}/{rel}", self.prefix))
    }

    /// The bytes of an entry (decompressed if the writer compressed it), at most `max` of them.
    fn read_at_most(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some(e) = self.entry(rel) else { return Ok(None) };
        let refuse = |size: String, limit: String| {
            Err(Error::msg(format!("{}: entry `{rel}` {size}, past the limit of {limit}", self.source)))
        };
        if e.stored {
            if e.len as u64 > max {
                return refuse(format!("holds {} bytes", e.len), format!("{max} bytes"));
            }
            return Ok(Some(self.map[e.start..e.start + e.len].to_vec()));
        }
        let expansion = (self.map.len() as u64).saturating_mul(self.limits.max_expansion).saturating_add(1 << 20);
        if e.declared > max {
            return refuse(format!("declares {} bytes decompressed", e.declared), format!("{max} bytes"));
        }
        if e.declared > expansion {
            return refuse(
                format!("declares {} bytes decompressed from {}", e.declared, e.len),
                format!("{} times the archive's size", self.limits.max_expansion),
            );
        }
        let mut zip = zip::ZipArchive::new(Cursor::new(&self.map[..])).map_err(|e| Error::msg(e.to_string()))?;
        let f = zip.by_name(&format!("{}/{rel}", self.prefix)).map_err(|e| Error::msg(e.to_string()))?;
        let mut out = Vec::new();
        out.try_reserve_exact(e.declared as usize)
            .map_err(|_| Error::msg(format!("{}: entry `{rel}`: cannot allocate {} bytes", self.source, e.declared)))?;
        // one byte past the declared size tells a lying header from an honest one
        f.take(e.declared + 1).read_to_end(&mut out).map_err(|err| Error::msg(format!("{}: {rel}: {err}", self.source)))?;
        if out.len() as u64 != e.declared {
            return Err(Error::msg(format!(
                "{}: entry `{rel}` decompresses to {} bytes, but declares {}",
                self.source,
                if out.len() as u64 > e.declared { format!("more than {}", e.declared) } else { out.len().to_string() },
                e.declared
            )));
        }
        Ok(Some(out))
    }

    /// The bytes of a text entry, within [`LoadLimits::max_text_bytes`].
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        self.read_at_most(rel, self.limits.max_text_bytes)
    }

    /// Entries whose bytes do not match the CRC-32 the zip directory records (`pt2 verify
    /// --deep`): stored entries are checksummed over the mapping, compressed ones as they
    /// decompress. Empty when every entry is intact.
    pub fn verify_checksums(&self) -> Vec<String> {
        let mut names: Vec<&String> = self.entries.keys().collect();
        names.sort();
        let mut bad = Vec::new();
        for name in names {
            let e = &self.entries[name];
            if e.stored {
                let crc = crc32fast::hash(&self.map[e.start..e.start + e.len]);
                if crc != e.crc32 {
                    bad.push(format!("{name}: CRC-32 {crc:08x}, the zip directory records {:08x}", e.crc32));
                }
                continue;
            }
            let rel = name.strip_prefix(&format!("{}/", self.prefix)).unwrap_or(name);
            // the zip reader checks the CRC when it reaches the end of the entry
            if let Err(err) = self.read_at_most(rel, u64::MAX) {
                bad.push(format!("{name}: {err}"));
            }
        }
        bad
    }

    fn read_text(&self, rel: &str) -> Result<Option<String>> {
        self.read(rel)?
            .map(|b| String::from_utf8(b).map_err(|_| Error::msg(format!("{}: {rel} is not UTF-8", self.source))))
            .transpose()
    }

    /// The names of the programs (`models/<name>.json`), sorted.
    pub fn model_names(&self) -> Vec<String> {
        let dir = format!("{}/models/", self.prefix);
        let mut v: Vec<String> =
            self.entries.keys().filter_map(|n| n.strip_prefix(&dir)?.strip_suffix(".json").map(str::to_string)).collect();
        v.sort();
        v
    }

    fn check_header(&self) -> Result<()> {
        if let Some(f) = self.read_text("archive_format")? {
            if f.trim() != "pt2" {
                return Err(Error::msg(format!("{}: archive_format is `{}`, expected `pt2`", self.source, f.trim())));
            }
        }
        if let Some(b) = self.read_text("byteorder")? {
            if b.trim() != "little" {
                return Err(Error::msg(format!("{}: byteorder is `{}`; pt2 reads little-endian archives", self.source, b.trim())));
            }
        }
        Ok(())
    }

    /// A tensor over the stored bytes of `rel`, laid out as `meta` says.
    fn tensor(&self, rel: &str, meta: &TensorMeta, what: &str) -> Result<Tensor> {
        let e = self.entry(rel).ok_or_else(|| Error::msg(format!("{}: {what}: file `{rel}` is missing", self.source)))?;
        let dtype = ir::dtype::to_dtype(meta.dtype).map_err(|err| Error::msg(format!("{}: {what}: {err}", self.source)))?;
        let ints = |v: &[SymInt], field: &str| -> Result<Vec<i64>> {
            v.iter()
                .map(|s| match s {
                    SymInt::AsInt(i) if *i >= 0 => Ok(*i),
                    other => Err(Error::msg(format!("{}: {what}: {field} must be non-negative integers, got {other:?}", self.source))),
                })
                .collect()
        };
        let sizes: Vec<usize> = ints(&meta.sizes, "sizes")?.into_iter().map(|s| s as usize).collect();
        let strides: Vec<isize> = ints(&meta.strides, "strides")?.into_iter().map(|s| s as isize).collect();
        let offset = ints(std::slice::from_ref(&meta.storage_offset), "storage_offset")?[0] as usize;
        let storage = if e.stored {
            Storage::mapped(self.map.clone(), e.start, e.len).expect("entry bounds checked at open")
        } else {
            // a compressed payload needs no more bytes than its layout reaches
            let extent = tensor::strided::extent(&sizes, &strides, offset).map_or(0, |(_, hi)| hi.max(0) as u64);
            let bytes = self.read_at_most(rel, extent.saturating_mul(dtype.size() as u64))?.unwrap_or_default();
            Storage::new(tensor::Buffer::from_bytes(&bytes))
        };
        Tensor::from_storage_checked(storage, dtype, &sizes, &strides, offset)
            .map_err(|err| Error::msg(format!("{}: {what}: {err}", self.source)))
    }

    /// Tensors named in a payload config (`data/weights/model_weights_config.json`).
    fn payload(&self, dir: &str, config: &str) -> Result<IndexMap<String, Tensor>> {
        let mut out = IndexMap::new();
        let Some(text) = self.read_text(&format!("{dir}/{config}"))? else { return Ok(out) };
        let cfg: PayloadConfig =
            serde_json::from_str(&text).map_err(|e| Error::msg(format!("{}: {dir}/{config}: {e}", self.source)))?;
        for (name, meta) in cfg.config {
            if meta.use_pickle {
                return Err(Error::msg(format!(
                    "{}: `{name}` is stored pickled ({dir}/{}); pt2 reads raw tensor payloads only",
                    self.source, meta.path_name
                )));
            }
            let tm = meta.tensor_meta.as_ref().ok_or_else(|| Error::msg(format!("{}: `{name}` has no tensor_meta", self.source)))?;
            if meta.path_name.contains("..") || meta.path_name.contains('/') {
                return Err(Error::msg(format!("{}: `{name}` names a path outside {dir}: {}", self.source, meta.path_name)));
            }
            let t = self.tensor(&format!("{dir}/{}", meta.path_name), tm, &name)?;
            out.insert(name, t);
        }
        Ok(out)
    }

    /// Loads the program `torch.export.load` would: `model`, else the first by name.
    pub fn load_main(&self) -> Result<ExportedProgram> {
        let names = self.model_names();
        let name = if names.iter().any(|n| n == "model") { "model" } else { names.first().map_or("model", String::as_str) };
        self.load_program(name)
    }

    /// Loads the program `name` (PyTorch's default is `model`).
    pub fn load_program(&self, name: &str) -> Result<ExportedProgram> {
        self.check_header()?;
        let rel = format!("models/{name}.json");
        let text = self
            .read_text(&rel)?
            .ok_or_else(|| Error::msg(format!("{}: no program `{name}` (models: {})", self.source, self.model_names().join(", "))))?;
        let model: schema::ExportedProgram = serde_json::from_str(&text).map_err(|e| Error::msg(format!("{}: {rel}: {e}", self.source)))?;
        check_expressions(&model.graph_module.graph, self.limits.expr)
            .map_err(|e| Error::msg(format!("{}: {rel}: {e}", self.source)))?;
        let (major, minor) = (model.schema_version.major, model.schema_version.minor);
        if major != ir::schema::SCHEMA_VERSION.0 {
            return Err(Error::msg(format!(
                "{}: schema version {major}.{minor}, but pt2 reads schema {}.x",
                self.source,
                ir::schema::SCHEMA_VERSION.0
            )));
        }
        let state_dict = self.payload("data/weights", "model_weights_config.json")?;
        let constants = self.payload("data/constants", "model_constants_config.json")?;
        let example_inputs = self.read(&format!("data/sample_inputs/{name}.pt"))?;
        Ok(ExportedProgram { model, state_dict, constants, example_inputs })
    }
}

/// Parses every symbolic size, bool and float of a graph and its subgraphs within `limits`, so
/// that an expression too deep or too long is refused at load, naming where it is.
fn check_expressions(graph: &schema::Graph, limits: symbolic::ParseLimits) -> std::result::Result<(), String> {
    let check = |e: &schema::SymExpr, at: &dyn Fn() -> String| {
        symbolic::Expr::parse_srepr_within(&e.expr_str, limits).map(drop).map_err(|err| format!("{}: {err}", at()))
    };
    for (name, meta) in &graph.tensor_values {
        let dims = meta.sizes.iter().map(|s| ("sizes", s)).chain(meta.strides.iter().map(|s| ("strides", s)));
        for (i, (field, s)) in dims.enumerate() {
            if let SymInt::AsExpr(e) = s {
                check(e, &|| format!("tensor_values[`{name}`].{field}[{i}]"))?;
            }
        }
    }
    for (name, v) in &graph.sym_int_values {
        if let SymInt::AsExpr(e) = v {
            check(e, &|| format!("sym_int_values[`{name}`]"))?;
        }
    }
    for (name, v) in &graph.sym_bool_values {
        if let schema::SymBool::AsExpr(e) = v {
            check(e, &|| format!("sym_bool_values[`{name}`]"))?;
        }
    }
    for (name, v) in &graph.sym_float_values {
        if let schema::SymFloat::AsExpr(e) = v {
            check(e, &|| format!("sym_float_values[`{name}`]"))?;
        }
    }
    for node in &graph.nodes {
        for a in &node.inputs {
            if let schema::Argument::AsGraph(g) = &a.arg {
                check_expressions(&g.graph, limits)?;
            }
        }
    }
    Ok(())
}

/// Loads the `model` program of a PT2 archive, as `torch.export.load` does, within the default
/// [`LoadLimits`].
pub fn load(path: impl AsRef<Path>) -> Result<ExportedProgram> {
    load_within(path, LoadLimits::default())
}

/// [`load`] within the given limits.
pub fn load_within(path: impl AsRef<Path>, limits: LoadLimits) -> Result<ExportedProgram> {
    Archive::open_within(path.as_ref(), limits)?.load_main()
}

/// [`load`] from an archive's bytes in memory, within the default [`LoadLimits`].
pub fn load_bytes(bytes: &[u8]) -> Result<ExportedProgram> {
    Archive::from_bytes(bytes, "<archive in memory>", LoadLimits::default())?.load_main()
}
