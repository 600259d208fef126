//! `einsum` as a composite: the equation is parsed once per call, operands are contracted left
//! to right, each pair as one batched matrix product (permute, reshape, `bmm`, reshape), and
//! indices no later operand or the output needs are summed out first — the scheme of ATen's
//! own `einsum` (`sumproduct_pair`), so the lowered program holds `permute`, `view`, `bmm`,
//! `sum`, never an outer product the size of every index.

use export::retrace::DecompCall;
use export::trace::Arg;
use export::{Error, Result, SymInt, Tensor};
use ops::names::aten;
use ops::MetaCall;
use symbolic::Expr;

use crate::rules::{permute, product, reshape_to};

/// An index label: a letter of the equation, or one of the dims an ellipsis stands for
/// (numbered from the right, so operands' ellipses broadcast as PyTorch's do).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Letter(char),
    Ellipsis(usize),
}

#[derive(Debug)]
struct Equation {
    inputs: Vec<Vec<Label>>,
    output: Vec<Label>,
}

fn err(msg: String) -> Error {
    Error::msg(format!("einsum(): {msg}"))
}

/// Parses `equation` for operands of the given ranks.
fn parse(equation: &str, ranks: &[usize]) -> Result<Equation> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != ranks.len() {
        return Err(err(format!("the equation `{equation}` names {} operands, {} were given", terms.len(), ranks.len())));
    }
    let mut ellipsis_rank = 0;
    let mut inputs = Vec::new();
    for (term, &rank) in terms.iter().zip(ranks) {
        let letters = |s: &str| -> Result<Vec<Label>> {
            s.chars()
                .map(|c| if c.is_ascii_alphabetic() { Ok(Label::Letter(c)) } else { Err(err(format!("invalid subscript `{c}` in `{equation}`"))) })
                .collect()
        };
        let labels = match term.split_once("...") {
            Some((before, after)) => {
                let (before, after) = (letters(before)?, letters(after)?);
                let n = rank.checked_sub(before.len() + after.len()).ok_or_else(|| err(format!("`{term}` has more subscripts than the operand's {rank} dims")))?;
                ellipsis_rank = ellipsis_rank.max(n);
                before.into_iter().chain((0..n).rev().map(Label::Ellipsis)).chain(after).collect()
            }
            None => {
                let l = letters(term)?;
                if l.len() != rank {
                    return Err(err(format!("`{term}` has {} subscripts for an operand of {rank} dims", l.len())));
                }
                l
            }
        };
        for (i, a) in labels.iter().enumerate() {
            if labels[i + 1..].contains(a) {
                return Err(err(format!("a subscript repeated within one operand (`{term}`, a diagonal) is not supported")));
            }
        }
        inputs.push(labels);
    }
    let output = match rhs {
        Some(r) => match r.split_once("...") {
            Some((before, after)) => {
                let letters = |s: &str| s.chars().map(Label::Letter).collect::<Vec<_>>();
                letters(before).into_iter().chain((0..ellipsis_rank).rev().map(Label::Ellipsis)).chain(letters(after)).collect()
            }
            None => r.chars().map(Label::Letter).collect(),
        },
        None => {
            // implicit output: the ellipsis dims, then the letters used once, in order
            let all: Vec<Label> = inputs.iter().flatten().copied().collect();
            let mut once: Vec<char> = all.iter().filter_map(|l| if let Label::Letter(c) = l { Some(*c) } else { None }).filter(|c| all.iter().filter(|l| **l == Label::Letter(*c)).count() == 1).collect();
            once.sort();
            (0..ellipsis_rank).rev().map(Label::Ellipsis).chain(once.into_iter().map(Label::Letter)).collect()
        }
    };
    for l in &output {
        if !inputs.iter().flatten().any(|x| x == l) {
            return Err(err(format!("output subscript {l:?} appears in no operand of `{equation}`")));
        }
    }
    Ok(Equation { inputs, output })
}

fn positions(labels: &[Label], wanted: &[Label]) -> Vec<i64> {
    wanted.iter().map(|w| labels.iter().position(|l| l == w).expect("label present") as i64).collect()
}

/// Sums out the dims of `t` whose labels `keep` does not hold.
fn sum_out(t: Tensor, labels: Vec<Label>, keep: impl Fn(&Label) -> bool) -> Result<(Tensor, Vec<Label>)> {
    let gone: Vec<i64> = labels.iter().enumerate().filter(|(_, l)| !keep(l)).map(|(i, _)| i as i64).collect();
    if gone.is_empty() {
        return Ok((t, labels));
    }
    let summed = export::trace::call(aten::sum_dim_IntList, vec![Arg::Tensor(t), Arg::Ints(gone.iter().map(|&d| d.into()).collect()), Arg::Bool(false)], vec![])?.remove(0);
    Ok((summed, labels.into_iter().filter(|l| keep(l)).collect()))
}

/// Contracts two operands: batch labels (in both, needed later), contracted labels (in both,
/// not needed), and each side's own labels, as one `bmm`.
fn contract(a: (Tensor, Vec<Label>), b: (Tensor, Vec<Label>), needed: &[Label]) -> Result<(Tensor, Vec<Label>)> {
    let (ta, la) = a;
    let (tb, lb) = b;
    let batch: Vec<Label> = la.iter().filter(|l| lb.contains(l) && needed.contains(l)).copied().collect();
    let summed: Vec<Label> = la.iter().filter(|l| lb.contains(l) && !needed.contains(l)).copied().collect();
    let left: Vec<Label> = la.iter().filter(|l| !lb.contains(l)).copied().collect();
    let right: Vec<Label> = lb.iter().filter(|l| !la.contains(l)).copied().collect();
    let (sa, sb) = (ta.sizes(), tb.sizes());
    let size_a = |l: &Label| sa[la.iter().position(|x| x == l).expect("label of a")].clone();
    let size_b = |l: &Label| sb[lb.iter().position(|x| x == l).expect("label of b")].clone();
    for l in batch.iter().chain(&summed) {
        if size_a(l).hint() != size_b(l).hint() {
            return Err(err(format!("subscript {l:?} has size {} in one operand and {} in another (broadcasting is not supported)", size_a(l), size_b(l))));
        }
    }
    let order_a: Vec<Label> = batch.iter().chain(&left).chain(&summed).copied().collect();
    let order_b: Vec<Label> = batch.iter().chain(&summed).chain(&right).copied().collect();
    let pa = permute(&ta, &positions(&la, &order_a))?;
    let pb = permute(&tb, &positions(&lb, &order_b))?;
    let batch_sizes: Vec<SymInt> = batch.iter().map(size_a).collect();
    let left_sizes: Vec<SymInt> = left.iter().map(size_a).collect();
    let summed_sizes: Vec<SymInt> = summed.iter().map(size_a).collect();
    let right_sizes: Vec<SymInt> = right.iter().map(size_b).collect();
    let (nb, nl, ns, nr) = (product(&batch_sizes), product(&left_sizes), product(&summed_sizes), product(&right_sizes));
    let a3 = reshape_to(&pa, &[nb.clone(), nl, ns.clone()])?;
    let b3 = reshape_to(&pb, &[nb, ns, nr])?;
    let c = export::trace::call(aten::bmm, vec![Arg::Tensor(a3), Arg::Tensor(b3)], vec![])?.remove(0);
    let sizes: Vec<SymInt> = batch_sizes.into_iter().chain(left_sizes).chain(right_sizes).collect();
    let c = reshape_to(&c, &sizes)?;
    Ok((c, batch.into_iter().chain(left).chain(right).collect()))
}

pub(crate) fn einsum(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let equation = match c.args.get("equation")? {
        Arg::Str(s) => s.clone(),
        _ => return Err(err("the equation must be a string".into())),
    };
    let tensors = c.args.tensors("tensors")?;
    let ranks: Vec<usize> = tensors.iter().map(Tensor::dim).collect();
    let eq = parse(&equation, &ranks)?;
    let mut operands = tensors.into_iter().zip(eq.inputs.iter().cloned());
    let first = operands.next().ok_or_else(|| err("at least one operand is needed".into()))?;
    let rest: Vec<(Tensor, Vec<Label>)> = operands.collect();
    // labels needed after operand k: the output's and those of operands after k
    let needed_after = |k: usize| -> Vec<Label> { eq.output.iter().chain(eq.inputs[k + 1..].iter().flatten()).copied().collect() };
    let keep_first = needed_after(0);
    let later: Vec<Label> = eq.inputs[1..].iter().flatten().copied().collect();
    let mut acc = sum_out(first.0, first.1, |l| keep_first.contains(l) || later.contains(l))?;
    for (k, (t, labels)) in rest.into_iter().enumerate() {
        let needed = needed_after(k + 1);
        let b = sum_out(t, labels, |l| needed.contains(l) || acc.1.contains(l))?;
        acc = contract(acc, b, &needed)?;
    }
    let (t, labels) = sum_out(acc.0, acc.1, |l| eq.output.contains(l))?;
    let order = positions(&labels, &eq.output);
    let out = if order.iter().enumerate().all(|(i, &p)| i as i64 == p) { t } else { permute(&t, &order)? };
    Ok(vec![Arg::Tensor(out)])
}

/// Output sizes: each output subscript's size, from the first operand that has it.
pub(crate) fn einsum_meta(call: &mut MetaCall) -> ops::Result<Vec<Vec<Expr>>> {
    let equation = call.args.str("equation")?.to_string();
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().map(|s| s.unwrap_or_default()).collect();
    let ranks: Vec<usize> = shapes.iter().map(Vec::len).collect();
    let eq = parse(&equation, &ranks)?;
    let size = |l: &Label| -> ops::Result<Expr> {
        eq.inputs.iter().zip(&shapes).find_map(|(labels, s)| labels.iter().position(|x| x == l).map(|i| s[i].clone())).ok_or_else(|| ops::Error::msg("einsum: output subscript in no operand"))
    };
    Ok(vec![eq.output.iter().map(size).collect::<ops::Result<Vec<Expr>>>()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equations_parse_as_pytorch_reads_them() {
        let eq = parse("B G H I D, B G H J D -> B G H I J", &[5, 5]).unwrap();
        assert_eq!(eq.output.len(), 5);
        let eq = parse("ij,jk", &[2, 2]).unwrap();
        assert_eq!(eq.output, [Label::Letter('i'), Label::Letter('k')], "implicit output: letters used once, sorted");
        let eq = parse("...ij,...jk->...ik", &[4, 3]).unwrap();
        assert_eq!(eq.output.len(), 4);
        assert!(parse("ii->i", &[2]).unwrap_err().to_string().contains("diagonal"));
        assert!(parse("ij,jk->ik", &[2]).unwrap_err().to_string().contains("2 operands"));
        assert!(parse("ijk->i", &[2]).unwrap_err().to_string().contains("3 subscripts"));
    }
}
