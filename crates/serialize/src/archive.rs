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
}

/// An opened archive: the mapping and its entries by name.
pub struct Archive {
    map: Arc<MmapMut>,
    entries: HashMap<String, Entry>,
    /// The top-level folder every entry lives in (`program`).
    prefix: String,
    source: String,
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
    pub fn open(path: &Path) -> Result<Archive> {
        let source = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::msg(format!("{source}: {e}")))?;
        // SAFETY: a private copy-on-write mapping; writes (in-place ops on weights) never reach
        // the file. Another process truncating the file while it is mapped is outside what
        // any memory-mapping loader can defend against.
        let map = unsafe { MmapOptions::new().map_copy(&file) }.map_err(|e| Error::msg(format!("{source}: cannot map: {e}")))?;
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
            entries.insert(f.name().to_string(), Entry { start, len, stored });
        }
        let prefix = entries
            .keys()
            .find_map(|n| n.strip_suffix("/archive_format").or_else(|| n.strip_suffix("/byteorder")))
            .map(str::to_string)
            .or_else(|| entries.keys().find_map(|n| n.split_once("/models/").map(|(p, _)| p.to_string())))
            .ok_or_else(|| Error::msg(format!("{source}: not a PT2 archive: no archive_format, byteorder or models/ entry")))?;
        Ok(Archive { map: Arc::new(map), entries, prefix, source })
    }

    fn entry(&self, rel: &str) -> Option<&Entry> {
        self.entries.get(&format!("{}/{rel}", self.prefix))
    }

    /// The bytes of an entry (decompressed if the writer compressed it).
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let Some(e) = self.entry(rel) else { return Ok(None) };
        if e.stored {
            return Ok(Some(self.map[e.start..e.start + e.len].to_vec()));
        }
        let mut zip = zip::ZipArchive::new(Cursor::new(&self.map[..])).map_err(|e| Error::msg(e.to_string()))?;
        let mut f = zip.by_name(&format!("{}/{rel}", self.prefix)).map_err(|e| Error::msg(e.to_string()))?;
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(|e| Error::msg(format!("{}: {rel}: {e}", self.source)))?;
        Ok(Some(out))
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
            let bytes = self.read(rel)?.unwrap_or_default();
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

    /// Loads the program `name` (PyTorch's default is `model`).
    pub fn load_program(&self, name: &str) -> Result<ExportedProgram> {
        self.check_header()?;
        let rel = format!("models/{name}.json");
        let text = self
            .read_text(&rel)?
            .ok_or_else(|| Error::msg(format!("{}: no program `{name}` (models: {})", self.source, self.model_names().join(", "))))?;
        let model: schema::ExportedProgram = serde_json::from_str(&text).map_err(|e| Error::msg(format!("{}: {rel}: {e}", self.source)))?;
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

/// Loads the `model` program of a PT2 archive, as `torch.export.load` does.
pub fn load(path: impl AsRef<Path>) -> Result<ExportedProgram> {
    let archive = Archive::open(path.as_ref())?;
    let names = archive.model_names();
    let name = if names.iter().any(|n| n == "model") { "model".to_string() } else { names.first().cloned().unwrap_or_else(|| "model".into()) };
    archive.load_program(&name)
}
