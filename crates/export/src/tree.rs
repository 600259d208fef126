//! `Tree`: nested inputs and outputs (tuples, lists, dicts with string keys, `None`, numbers),
//! flattened into the program's leaves as PyTorch's pytrees are.

use crate::symint::SymInt;
use crate::tensor::Tensor;

#[derive(Clone, Debug, Default)]
pub enum Tree {
    Tensor(Tensor),
    SymInt(SymInt),
    Int(i64),
    Float(f64),
    Bool(bool),
    #[default]
    None,
    Tuple(Vec<Tree>),
    List(Vec<Tree>),
    Dict(Vec<(String, Tree)>),
}

impl Tree {
    pub fn kind(&self) -> &'static str {
        match self {
            Tree::Tensor(_) => "a tensor",
            Tree::SymInt(_) | Tree::Int(_) => "an int",
            Tree::Float(_) => "a float",
            Tree::Bool(_) => "a bool",
            Tree::None => "None",
            Tree::Tuple(_) => "a tuple",
            Tree::List(_) => "a list",
            Tree::Dict(_) => "a dict",
        }
    }

    /// The tensor leaves, in PyTorch's flattening order.
    pub fn tensors(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<Tensor>) {
        match self {
            Tree::Tensor(t) => out.push(t.clone()),
            Tree::Tuple(v) | Tree::List(v) => v.iter().for_each(|c| c.collect(out)),
            Tree::Dict(v) => v.iter().for_each(|(_, c)| c.collect(out)),
            _ => {}
        }
    }
}

impl From<Tensor> for Tree {
    fn from(t: Tensor) -> Tree {
        Tree::Tensor(t)
    }
}
impl From<&Tensor> for Tree {
    fn from(t: &Tensor) -> Tree {
        Tree::Tensor(t.clone())
    }
}
/// A data tensor (`pt2::Tensor`, what a loaded program takes) as a model input.
impl From<::tensor::Tensor> for Tree {
    fn from(t: ::tensor::Tensor) -> Tree {
        Tree::Tensor(Tensor::from(t))
    }
}
impl From<i64> for Tree {
    fn from(v: i64) -> Tree {
        Tree::Int(v)
    }
}
impl From<f64> for Tree {
    fn from(v: f64) -> Tree {
        Tree::Float(v)
    }
}
impl From<bool> for Tree {
    fn from(v: bool) -> Tree {
        Tree::Bool(v)
    }
}
impl From<SymInt> for Tree {
    fn from(v: SymInt) -> Tree {
        Tree::SymInt(v)
    }
}
impl<T: Into<Tree>> From<Option<T>> for Tree {
    fn from(v: Option<T>) -> Tree {
        v.map(Into::into).unwrap_or(Tree::None)
    }
}
impl<T: Into<Tree>> From<Vec<T>> for Tree {
    fn from(v: Vec<T>) -> Tree {
        Tree::List(v.into_iter().map(Into::into).collect())
    }
}

macro_rules! tuple_into_tree {
    ($($t:ident),+) => {
        impl<$($t: Into<Tree>),+> From<($($t,)+)> for Tree {
            #[allow(non_snake_case)]
            fn from(($($t,)+): ($($t,)+)) -> Tree {
                Tree::Tuple(vec![$($t.into()),+])
            }
        }
    };
}

tuple_into_tree!(A);
tuple_into_tree!(A, B);
tuple_into_tree!(A, B, C);
tuple_into_tree!(A, B, C, D);
tuple_into_tree!(A, B, C, D, E);

impl Tree {
    /// The entry `key` of a dict node.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Dict(v) => v.iter().find(|(k, _)| k == key).map(|(_, t)| t),
            _ => None,
        }
    }

    /// Element `i` of a tuple or list node.
    pub fn at(&self, i: usize) -> Option<&Tree> {
        match self {
            Tree::Tuple(v) | Tree::List(v) => v.get(i),
            _ => None,
        }
    }

    /// The tensor of a leaf.
    pub fn tensor(&self) -> Option<&Tensor> {
        match self {
            Tree::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

/// A user type that travels as a pytree node (a dict of its fields, as `#[derive(PyTree)]`
/// writes it): model inputs and outputs can be structs.
pub trait PyTree: Sized {
    fn into_tree(self) -> Tree;
    fn from_tree(tree: &Tree) -> crate::Result<Self>;
}

impl PyTree for Tensor {
    fn into_tree(self) -> Tree {
        Tree::Tensor(self)
    }
    fn from_tree(tree: &Tree) -> crate::Result<Tensor> {
        tree.tensor().cloned().ok_or_else(|| crate::Error::msg(format!("expected a tensor, got {}", tree.kind())))
    }
}
