//! PyTorch's operator schema syntax, parsed:
//! `aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor`.

use std::fmt;

use crate::value::Value;
use crate::{Error, Result};

/// An argument or return type.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Tensor,
    Int,
    SymInt,
    Float,
    Bool,
    Scalar,
    Str,
    ScalarType,
    Layout,
    Device,
    MemoryFormat,
    Generator,
    Dimname,
    Storage,
    Any,
    /// `T[]` or `T[N]` (the fixed length lets a single value stand for the whole list).
    List(Box<Type>, Option<usize>),
    Optional(Box<Type>),
}

impl Type {
    pub fn is_tensor_like(&self) -> bool {
        match self {
            Type::Tensor => true,
            Type::List(t, _) | Type::Optional(t) => t.is_tensor_like(),
            _ => false,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::List(t, None) => write!(f, "{t}[]"),
            Type::List(t, Some(n)) => write!(f, "{t}[{n}]"),
            Type::Optional(t) => write!(f, "{t}?"),
            other => write!(f, "{}", format!("{other:?}")),
        }
    }
}

/// An alias annotation: `Tensor(a)` (a view of alias set `a`) or `Tensor(a!)` (written to).
#[derive(Clone, Debug, PartialEq)]
pub struct Alias {
    pub set: String,
    pub is_write: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    pub default: Option<Value>,
    pub kwarg_only: bool,
    pub alias: Option<Alias>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Return {
    pub name: Option<String>,
    pub ty: Type,
    pub alias: Option<Alias>,
}

/// A parsed schema. `name` is `aten::add`, `overload` is `Tensor` (empty for `.default`).
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub name: String,
    pub overload: String,
    pub params: Vec<Param>,
    pub returns: Vec<Return>,
}

impl Schema {
    /// The qualified overload name as the registry keys it: `aten::add.Tensor`,
    /// `aten::relu.default`.
    pub fn qualified_name(&self) -> String {
        let ov = if self.overload.is_empty() { "default" } else { &self.overload };
        format!("{}.{}", self.name, ov)
    }

    /// The namespace (`aten`) and the operator name (`add`).
    pub fn namespace_and_op(&self) -> (&str, &str) {
        self.name.split_once("::").unwrap_or(("", &self.name))
    }

    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// True when an argument is written to (`Tensor(a!)`).
    pub fn is_mutating(&self) -> bool {
        self.params.iter().any(|p| p.alias.as_ref().is_some_and(|a| a.is_write))
    }

    /// The functional operator an in-place overload stands for, by PyTorch's naming rule:
    /// `aten::add_.Tensor` → `aten::add.Tensor`, `aten::relu_` → `aten::relu.default`. `None`
    /// for an operator that writes none of its inputs.
    pub fn functional_name(&self) -> Option<String> {
        if !self.is_mutating() {
            return None;
        }
        let base = self.name.strip_suffix('_')?;
        let overload = if self.overload.is_empty() { "default" } else { &self.overload };
        Some(format!("{base}.{overload}"))
    }

    /// True when a return aliases an input without writing it (a view op).
    pub fn is_view(&self) -> bool {
        !self.is_mutating() && self.returns.iter().any(|r| r.alias.is_some())
    }

    pub fn parse(text: &str) -> Result<Schema> {
        parse_schema(text).map_err(|e| Error::msg(format!("bad schema `{text}`: {e}")))
    }
}

fn parse_schema(text: &str) -> std::result::Result<Schema, String> {
    let text = text.trim();
    let open = text.find('(').ok_or("missing `(`")?;
    let head = &text[..open];
    let (name, overload) = match head.split_once('.') {
        Some((n, o)) => (n.to_string(), o.to_string()),
        None => (head.to_string(), String::new()),
    };
    let close = matching_paren(text, open).ok_or("unbalanced parentheses")?;
    let params_text = &text[open + 1..close];
    let rest = text[close + 1..].trim();
    let returns_text = rest.strip_prefix("->").ok_or("missing `->`")?.trim();

    let mut params = Vec::new();
    let mut kwarg_only = false;
    for part in split_top_level(params_text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if part == "*" {
            kwarg_only = true;
            continue;
        }
        let (decl, default) = match find_top_level(part, '=') {
            Some(i) => (part[..i].trim(), Some(part[i + 1..].trim())),
            None => (part, None),
        };
        let (ty_text, pname) = decl.rsplit_once(' ').ok_or_else(|| format!("argument `{part}` has no name"))?;
        let (ty, alias) = parse_type(ty_text.trim())?;
        let default = default.map(|d| parse_default(d, &ty)).transpose()?;
        params.push(Param { name: pname.to_string(), ty, default, kwarg_only, alias });
    }

    let mut returns = Vec::new();
    let inner = if returns_text.starts_with('(') {
        &returns_text[1..returns_text.len() - 1]
    } else {
        returns_text
    };
    for part in split_top_level(inner) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (ty_text, rname) = match part.rsplit_once(' ') {
            Some((t, n)) => (t, Some(n.to_string())),
            None => (part, None),
        };
        let (ty, alias) = parse_type(ty_text)?;
        returns.push(Return { name: rname, ty, alias });
    }
    Ok(Schema { name, overload, params, returns })
}

fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut quoted) = (0i32, 0usize, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' | '\'' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            ',' if depth == 0 && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn find_top_level(s: &str, needle: char) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            c if c == needle && depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_type(t: &str) -> std::result::Result<(Type, Option<Alias>), String> {
    let t = t.trim();
    if let Some(base) = t.strip_suffix('?') {
        let (inner, alias) = parse_type(base)?;
        return Ok((Type::Optional(Box::new(inner)), alias));
    }
    if t.ends_with(']') {
        let open = t.rfind('[').ok_or("bad list type")?;
        let n = &t[open + 1..t.len() - 1];
        let len = if n.is_empty() { None } else { Some(n.parse::<usize>().map_err(|_| format!("bad list length `{n}`"))?) };
        let (inner, alias) = parse_type(&t[..open])?;
        return Ok((Type::List(Box::new(inner), len), alias));
    }
    let (base, alias) = match t.find('(') {
        Some(i) => {
            let ann = t[i + 1..t.len() - 1].trim();
            let ann = ann.split("->").next().unwrap_or(ann).trim();
            let is_write = ann.ends_with('!');
            let set = ann.trim_end_matches('!').to_string();
            (&t[..i], Some(Alias { set, is_write }))
        }
        None => (t, None),
    };
    let ty = match base {
        "Tensor" => Type::Tensor,
        "int" => Type::Int,
        "SymInt" => Type::SymInt,
        "float" => Type::Float,
        "bool" => Type::Bool,
        "Scalar" => Type::Scalar,
        "str" => Type::Str,
        "ScalarType" => Type::ScalarType,
        "Layout" => Type::Layout,
        "Device" => Type::Device,
        "MemoryFormat" => Type::MemoryFormat,
        "Generator" => Type::Generator,
        "Dimname" => Type::Dimname,
        "Storage" => Type::Storage,
        "Any" => Type::Any,
        other => return Err(format!("unknown type `{other}`")),
    };
    Ok((ty, alias))
}

fn parse_default(d: &str, ty: &Type) -> std::result::Result<Value, String> {
    let ty = match ty {
        Type::Optional(inner) => {
            if d == "None" {
                return Ok(Value::None);
            }
            inner.as_ref()
        }
        t => t,
    };
    Ok(match ty {
        Type::List(inner, len) => {
            let body = d.trim();
            if let Some(items) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
                let mut v = Vec::new();
                for item in split_top_level(items) {
                    if !item.trim().is_empty() {
                        v.push(parse_default(item.trim(), inner)?);
                    }
                }
                Value::List(v)
            } else {
                // `int[2] padding=0` means `[0, 0]`
                let one = parse_default(body, inner)?;
                Value::List(vec![one; len.unwrap_or(1)])
            }
        }
        Type::Int | Type::SymInt => Value::Int(d.parse().map_err(|_| format!("bad int default `{d}`"))?),
        Type::Float => Value::Float(d.parse().map_err(|_| format!("bad float default `{d}`"))?),
        Type::Bool => match d {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            _ => return Err(format!("bad bool default `{d}`")),
        },
        Type::Scalar => {
            if let Ok(i) = d.parse::<i64>() {
                Value::Int(i)
            } else {
                Value::Float(d.parse().map_err(|_| format!("bad scalar default `{d}`"))?)
            }
        }
        Type::Str => Value::Str(d.trim_matches(|c| c == '"' || c == '\'').to_string()),
        // a dtype default is a name (`long`) or a c10 ScalarType code (`4`)
        Type::ScalarType => Value::Dtype(
            tensor::DType::parse(d)
                .or_else(|| d.parse::<i64>().ok().and_then(tensor::DType::from_scalar_type_code))
                .ok_or_else(|| format!("bad dtype default `{d}`"))?,
        ),
        Type::MemoryFormat => Value::MemoryFormat(d.to_string()),
        Type::Layout => Value::Layout(d.to_string()),
        Type::Device => Value::Device(d.to_string()),
        _ => Value::Str(d.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::aten;

    #[test]
    fn parses_kwarg_only_defaults_and_aliases() {
        let s = Schema::parse("aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)").unwrap();
        assert_eq!(s.qualified_name(), aten::add__Tensor);
        assert_eq!(s.params.len(), 3);
        assert!(s.params[2].kwarg_only && !s.params[1].kwarg_only);
        assert_eq!(s.params[2].default, Some(Value::Int(1)));
        assert!(s.is_mutating());
        assert_eq!(s.returns[0].alias.as_ref().unwrap().set, "a");
    }

    #[test]
    fn parses_lists_optionals_and_named_returns() {
        let s = Schema::parse(
            "aten::max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)",
        )
        .unwrap();
        assert_eq!(s.overload, "");
        assert_eq!(s.params[3].default, Some(Value::List(vec![Value::Int(0), Value::Int(0)])));
        assert_eq!(s.params[2].default, Some(Value::List(vec![])));
        assert_eq!(s.returns.len(), 2);
        let s = Schema::parse("aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)").unwrap();
        assert_eq!(s.returns[1].name.as_deref(), Some("indices"));
        let s = Schema::parse("aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor").unwrap();
        assert_eq!(s.params[1].ty, Type::List(Box::new(Type::Optional(Box::new(Type::Tensor))), None));
        let s = Schema::parse("aten::linalg_lstsq(Tensor self, Tensor b, float? rcond=None, *, str? driver=None) -> (Tensor solution, Tensor residuals, Tensor rank, Tensor singular_values)").unwrap();
        assert_eq!(s.params[3].default, Some(Value::None));
        let s = Schema::parse("aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]").unwrap();
        assert!(s.is_view());
    }
}
