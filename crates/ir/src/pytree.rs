//! Pytrees: the nested tuples, lists, dicts and leaves a program takes and returns, and the
//! treespec JSON (`[1, {"type": "builtins.tuple", "context": "null", "children_spec": [...]}]`)
//! that records their structure in the module call graph.

use ops::Value;
use serde_json::Value as Json;

use crate::{Error, Result};

/// A key of a dict node.
#[derive(Clone, Debug, PartialEq)]
pub enum DictKey {
    Str(String),
    Int(i64),
}

impl DictKey {
    /// The key as a Python subscript (`['x']`, `[1]`).
    fn subscript(&self) -> String {
        match self {
            DictKey::Str(s) => format!("['{s}']"),
            DictKey::Int(i) => format!("[{i}]"),
        }
    }
}

/// A value with Python's nesting: what a user passes to and gets from `ep.module()`.
#[derive(Clone, Debug)]
pub enum PyTree {
    Leaf(Value),
    Tuple(Vec<PyTree>),
    List(Vec<PyTree>),
    Dict(Vec<(DictKey, PyTree)>),
}

impl From<Value> for PyTree {
    fn from(v: Value) -> PyTree {
        PyTree::Leaf(v)
    }
}

impl From<tensor::Tensor> for PyTree {
    fn from(t: tensor::Tensor) -> PyTree {
        PyTree::Leaf(Value::Tensor(t))
    }
}

/// The structure of a pytree.
#[derive(Clone, Debug, PartialEq)]
pub enum TreeSpec {
    Leaf,
    Tuple(Vec<TreeSpec>),
    List(Vec<TreeSpec>),
    Dict(Vec<(DictKey, TreeSpec)>),
    /// One of PyTorch's named result tuples (`torch.return_types.max`, `sort`, `topk`, ...):
    /// flattened as a tuple, its type and context kept for writing back.
    StructSeq { type_name: String, context: String, children: Vec<TreeSpec> },
    /// A `None` node (no leaves).
    NoneNode,
}

impl TreeSpec {
    /// Parses PyTorch's treespec JSON (`[version, spec]`).
    pub fn parse(text: &str) -> Result<TreeSpec> {
        let json: Json = serde_json::from_str(text).map_err(|e| Error::msg(format!("bad treespec: {e}")))?;
        let spec = match &json {
            Json::Array(a) if a.len() == 2 => &a[1],
            _ => return Err(Error::msg("bad treespec: expected [version, spec]")),
        };
        TreeSpec::from_json(spec)
    }

    fn from_json(j: &Json) -> Result<TreeSpec> {
        let ty = j.get("type").and_then(|t| t.as_str());
        let children: Vec<TreeSpec> = j
            .get("children_spec")
            .and_then(|c| c.as_array())
            .map(|cs| cs.iter().map(TreeSpec::from_json).collect::<Result<_>>())
            .transpose()?
            .unwrap_or_default();
        Ok(match ty {
            None => TreeSpec::Leaf,
            Some("builtins.tuple") => TreeSpec::Tuple(children),
            Some("builtins.list") | Some("torch.fx.immutable_collections.immutable_list") => TreeSpec::List(children),
            Some("builtins.dict") | Some("collections.OrderedDict") | Some("torch.fx.immutable_collections.immutable_dict") => {
                let ctx = j.get("context").and_then(|c| c.as_str()).unwrap_or("[]");
                let keys: Json = serde_json::from_str(ctx).map_err(|e| Error::msg(format!("bad dict keys {ctx}: {e}")))?;
                let keys: Vec<DictKey> = keys
                    .as_array()
                    .ok_or_else(|| Error::msg(format!("bad dict keys {ctx}")))?
                    .iter()
                    .map(|k| match k {
                        Json::String(s) => Ok(DictKey::Str(s.clone())),
                        Json::Number(n) if n.is_i64() => Ok(DictKey::Int(n.as_i64().unwrap_or_default())),
                        other => Err(Error::msg(format!("unsupported dict key {other}"))),
                    })
                    .collect::<Result<_>>()?;
                if keys.len() != children.len() {
                    return Err(Error::msg(format!("dict treespec has {} keys but {} children", keys.len(), children.len())));
                }
                TreeSpec::Dict(keys.into_iter().zip(children).collect())
            }
            Some("builtins.NoneType") => TreeSpec::NoneNode,
            Some(t) if t.starts_with("torch.return_types.") => TreeSpec::StructSeq {
                type_name: t.to_string(),
                context: j.get("context").and_then(|c| c.as_str()).unwrap_or("null").to_string(),
                children,
            },
            Some(other) => return Err(Error::msg(format!("pytree node type `{other}` is not supported by pt2"))),
        })
    }

    /// PyTorch's treespec JSON (`[1, {...}]`), as the module call graph stores it, written as
    /// Python's `json.dumps` writes it.
    pub fn to_json(&self) -> String {
        format!("[1, {}]", self.to_json_node())
    }

    fn to_json_node(&self) -> String {
        let quote = |s: &str| Json::from(s).to_string();
        let node = |ty: &str, context: &str, children: Vec<String>| {
            format!("{{\"type\": {ty}, \"context\": {context}, \"children_spec\": [{}]}}", children.join(", "))
        };
        let all = |c: &[TreeSpec]| c.iter().map(TreeSpec::to_json_node).collect::<Vec<_>>();
        match self {
            TreeSpec::Leaf => node("null", "null", vec![]),
            TreeSpec::NoneNode => node(&quote("builtins.NoneType"), &quote("null"), vec![]),
            TreeSpec::Tuple(c) => node(&quote("builtins.tuple"), &quote("null"), all(c)),
            TreeSpec::StructSeq { type_name, context, children } => node(&quote(type_name), &quote(context), all(children)),
            TreeSpec::List(c) => node(&quote("builtins.list"), &quote("null"), all(c)),
            TreeSpec::Dict(c) => {
                let keys: Vec<String> = c
                    .iter()
                    .map(|(k, _)| match k {
                        DictKey::Str(s) => quote(s),
                        DictKey::Int(i) => i.to_string(),
                    })
                    .collect();
                let context = quote(&format!("[{}]", keys.join(", ")));
                node(&quote("builtins.dict"), &context, c.iter().map(|(_, s)| s.to_json_node()).collect())
            }
        }
    }

    pub fn num_leaves(&self) -> usize {
        match self {
            TreeSpec::Leaf => 1,
            TreeSpec::NoneNode => 0,
            TreeSpec::Tuple(c) | TreeSpec::List(c) | TreeSpec::StructSeq { children: c, .. } => c.iter().map(TreeSpec::num_leaves).sum(),
            TreeSpec::Dict(c) => c.iter().map(|(_, s)| s.num_leaves()).sum(),
        }
    }

    /// Flattens `tree` in PyTorch's leaf order, checking it has this structure; `path` names the
    /// value in errors.
    pub fn flatten(&self, tree: &PyTree, path: &str, out: &mut Vec<Value>) -> Result<()> {
        let mismatch = |want: &str| Error::msg(format!("{path} must be {want}, got {}", describe(tree)));
        match (self, tree) {
            (TreeSpec::Leaf, PyTree::Leaf(v)) => out.push(v.clone()),
            (TreeSpec::NoneNode, PyTree::Leaf(Value::None)) => {}
            (TreeSpec::Tuple(cs) | TreeSpec::StructSeq { children: cs, .. }, PyTree::Tuple(vs) | PyTree::List(vs)) | (TreeSpec::List(cs), PyTree::List(vs)) => {
                if cs.len() != vs.len() {
                    return Err(Error::msg(format!("{path} must have {} elements, got {}", cs.len(), vs.len())));
                }
                for (i, (c, v)) in cs.iter().zip(vs).enumerate() {
                    c.flatten(v, &format!("{path}[{i}]"), out)?;
                }
            }
            (TreeSpec::Dict(cs), PyTree::Dict(vs)) => {
                for (k, c) in cs {
                    let v = vs
                        .iter()
                        .find(|(vk, _)| vk == k)
                        .map(|(_, v)| v)
                        .ok_or_else(|| Error::msg(format!("{path} is missing key {}", k.subscript())))?;
                    c.flatten(v, &format!("{path}{}", k.subscript()), out)?;
                }
                if vs.len() != cs.len() {
                    return Err(Error::msg(format!("{path} must have keys {:?}", cs.iter().map(|(k, _)| k.subscript()).collect::<Vec<_>>())));
                }
            }
            (TreeSpec::Leaf, _) => return Err(mismatch("a tensor or number")),
            (TreeSpec::NoneNode, _) => return Err(mismatch("None")),
            (TreeSpec::Tuple(_), _) => return Err(mismatch("a tuple")),
            (TreeSpec::StructSeq { type_name, .. }, _) => return Err(mismatch(&format!("a {type_name}"))),
            (TreeSpec::List(_), _) => return Err(mismatch("a list")),
            (TreeSpec::Dict(_), _) => return Err(mismatch("a dict")),
        }
        Ok(())
    }

    /// Rebuilds a pytree of this structure from leaves in order.
    pub fn unflatten(&self, leaves: &mut impl Iterator<Item = Value>) -> Result<PyTree> {
        Ok(match self {
            TreeSpec::Leaf => PyTree::Leaf(leaves.next().ok_or_else(|| Error::msg("too few outputs for the output structure"))?),
            TreeSpec::NoneNode => PyTree::Leaf(Value::None),
            TreeSpec::Tuple(cs) | TreeSpec::StructSeq { children: cs, .. } => PyTree::Tuple(cs.iter().map(|c| c.unflatten(leaves)).collect::<Result<_>>()?),
            TreeSpec::List(cs) => PyTree::List(cs.iter().map(|c| c.unflatten(leaves)).collect::<Result<_>>()?),
            TreeSpec::Dict(cs) => PyTree::Dict(cs.iter().map(|(k, c)| Ok((k.clone(), c.unflatten(leaves)?))).collect::<Result<_>>()?),
        })
    }

    /// The Python expression naming each leaf, given the names of the top-level children
    /// (`x`, `inp['x']`, `args[0]`).
    pub fn leaf_paths(&self, root: &str, out: &mut Vec<String>) {
        match self {
            TreeSpec::Leaf => out.push(root.to_string()),
            TreeSpec::NoneNode => {}
            TreeSpec::Tuple(cs) | TreeSpec::List(cs) | TreeSpec::StructSeq { children: cs, .. } => {
                for (i, c) in cs.iter().enumerate() {
                    c.leaf_paths(&format!("{root}[{i}]"), out);
                }
            }
            TreeSpec::Dict(cs) => {
                for (k, c) in cs {
                    c.leaf_paths(&format!("{root}{}", k.subscript()), out);
                }
            }
        }
    }
}

fn describe(t: &PyTree) -> String {
    match t {
        PyTree::Leaf(v) => v.kind().to_string(),
        PyTree::Tuple(v) => format!("a tuple of {}", v.len()),
        PyTree::List(v) => format!("a list of {}", v.len()),
        PyTree::Dict(v) => format!("a dict of {}", v.len()),
    }
}

/// The user-facing names of a program's flat inputs: positional arguments by
/// `forward_arg_names`, keyword arguments by key, nested leaves by subscript.
pub fn input_names(in_spec: &TreeSpec, forward_arg_names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let TreeSpec::Tuple(top) = in_spec {
        if let Some(TreeSpec::Tuple(args)) = top.first() {
            for (i, a) in args.iter().enumerate() {
                let name = forward_arg_names.get(i).cloned().unwrap_or_else(|| format!("args[{i}]"));
                a.leaf_paths(&name, &mut out);
            }
        }
        if let Some(TreeSpec::Dict(kwargs)) = top.get(1) {
            for (k, c) in kwargs {
                let name = match k {
                    DictKey::Str(s) => s.clone(),
                    DictKey::Int(i) => i.to_string(),
                };
                c.leaf_paths(&name, &mut out);
            }
        }
    }
    out
}
