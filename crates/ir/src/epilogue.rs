//! Plan-time fusion of an activation into the product or convolution before it:
//! `relu(convolution(x, w, b))`, `gelu(addmm(b, x, w))`, `hardtanh(conv2d(..), 0, 6)`. The
//! operator's activation kernel ([`ops::OpDef::with_activation`]) applies the function to each
//! output tile as the product finishes it, while the tile is in cache, instead of a second pass
//! over an output that has long left it (ConvNeXt's GELU was a tenth of its time).
//!
//! Only pairs the program's metadata proves safe are fused: the product's output float32 and
//! read by the activation alone, or by one view whose output the activation alone reads (a core
//! program's `addmm` → `view` → `gelu`: the function is applied before the view instead of
//! after, which is the same thing element by element). An in-place activation (`relu_`) of a
//! value nothing else reads is its functional form. Each element is computed exactly as the
//! two kernels compute it one after the other.

use tensor::DType;

use super::fuse::activation;
use super::{Action, Bind, GraphPlan, Operand};
use crate::schema::Graph;

impl GraphPlan {
    /// Fuses each activation into the operator before it where that operator has an activation
    /// kernel; `graph` is the graph the plan was compiled from (for its values' dtypes). Returns
    /// how many activations were fused.
    pub(crate) fn fuse_activations(&mut self, graph: &Graph) -> usize {
        let is_f32 = |slot: usize| graph.tensor_values.get(&self.names[slot]).and_then(|m| crate::dtype::to_dtype(m.dtype).ok()) == Some(DType::F32);
        let uses = self.slot_reads();
        // the steps whose output an activation kernel could finish, by that output's slot: their
        // first output, any others unread (a batch norm's saved statistics)
        let unread = |b: &Bind| match b {
            Bind::One(s) => uses[*s] == 0,
            Bind::Ignore => true,
            _ => false,
        };
        let producers: std::collections::HashMap<usize, usize> = self
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| match (&step.action, step.outputs.as_slice()) {
                (Action::Kernel { def, .. }, [Bind::One(out), rest @ ..]) if def.with_activation.is_some() && is_f32(*out) && rest.iter().all(unread) => {
                    Some((*out, i))
                }
                _ => None,
            })
            .collect();
        // views of one value, by their output's slot: (the step, its input)
        let views: std::collections::HashMap<usize, (usize, usize)> = self
            .steps
            .iter()
            .enumerate()
            .filter_map(|(v, step)| match (&step.action, step.outputs.as_slice()) {
                (Action::Kernel { def, args }, [Bind::One(out)]) if def.schema.is_view() && is_f32(*out) => match args.first() {
                    Some(Operand::Slot(input)) => Some((*out, (v, *input))),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        // (producer, the view between, activation step, the function)
        let mut pairs = Vec::new();
        for (j, step) in self.steps.iter().enumerate() {
            let Some((f, Operand::Slot(input))) = activation(step, true) else { continue };
            if uses[input] != 1 || !matches!(step.outputs.as_slice(), [Bind::One(out)] if is_f32(*out)) {
                continue;
            }
            if let Some(&i) = producers.get(&input) {
                pairs.push((i, None, j, f));
            } else if let Some(&(v, viewed)) = views.get(&input) {
                if let Some(&i) = producers.get(&viewed).filter(|_| uses[viewed] == 1) {
                    pairs.push((i, Some(v), j, f));
                }
            }
        }
        if pairs.is_empty() {
            return 0;
        }
        let mut absorbed = vec![false; self.steps.len()];
        let mut finish = vec![None; self.steps.len()];
        for &(i, _, j, f) in &pairs {
            absorbed[j] = true;
            let name = self.steps[j].target.strip_prefix("torch.ops.aten.").unwrap_or(&self.steps[j].target).to_string();
            finish[i] = Some((f, name));
        }
        // the activation's output becomes the view's between, or else the producer's first
        let mut outputs_of: Vec<Option<Bind>> = self.steps.iter().map(|_| None).collect();
        for &(i, v, j, _) in &pairs {
            outputs_of[v.unwrap_or(i)] = std::mem::take(&mut self.steps[j].outputs).into_iter().next();
        }
        let old = std::mem::take(&mut self.steps);
        for (i, mut step) in old.into_iter().enumerate() {
            if absorbed[i] {
                continue;
            }
            if let Some((f, name)) = finish[i].take() {
                step.action = match step.action {
                    Action::Kernel { def, args } => Action::Activated { def, args, activation: f },
                    other => other,
                };
                step.target = format!("{}+{name}", step.target);
            }
            if let Some(output) = outputs_of[i].take() {
                step.outputs[0] = output;
            }
            step.frees.clear();
            self.steps.push(step);
        }
        self.place_frees();
        pairs.len()
    }
}
