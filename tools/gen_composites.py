"""One-operator programs for pt2's composite operators (`crates/decomp/src/composites.rs`): the
CompositeImplicitAutograd operators PyTorch's training IR keeps (`torch.square`, `a & b`,
`torch.tile`, ...), each exported by torch.export with a dynamic dim where the operator allows
one, with extra input sets and a reject, in the fixture format. pt2 runs the training-IR
program (the composite's kernel: its decomposition run eagerly) and lowers it (the same
decomposition traced), and both are compared with PyTorch.

Usage: python tools/gen_composites.py OUT_DIR [NAME ...]   (the repository's copy: fixtures/composites)
"""
import sys

import torch
from torch.export import Dim

from fixtures_common import run_all

torch.manual_seed(0)


class Fn(torch.nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, *args):
        return self.f(*args)


def case(name, f, args, dynamic_shapes=None, extra=(), rejects=(), description=""):
    # forward takes *args, so the specs are given under its name
    dynamic_shapes = None if dynamic_shapes is None else {"args": tuple(dynamic_shapes)}
    return dict(name=f"composite_{name}", model=Fn(f), args=args, dynamic_shapes=dynamic_shapes,
                extra_sets=[(a, None) for a in extra], rejects=[(a, None) for a in rejects],
                tags=("composite",), description=description or f"torch.{name} as one composite operator")


def cases():
    n = Dim("n", min=2, max=64)
    r = lambda *s: torch.randn(*s)
    b = lambda *s: torch.rand(*s) > 0.5
    i = lambda *s: torch.randint(-8, 8, s)
    return [
        case("square", torch.square, (r(3, 4),), ({0: n},), extra=[(r(5, 4),)], rejects=[(r(3, 5),)]),
        case("square_int", torch.square, (i(3, 4),), ({0: n},), extra=[(i(6, 4),)], rejects=[(i(3, 5),)],
             description="torch.square of an int64 tensor stays int64"),
        case("min_other", torch.min, (r(3, 4), r(3, 4)), ({0: n}, {0: n}), extra=[(r(7, 4), r(7, 4))],
             rejects=[(r(3, 4), r(4, 4))], description="torch.min(a, b): the element-wise overload min.other"),
        case("max_other", torch.max, (r(3, 4), r(1, 4)), ({0: n}, None), extra=[(r(5, 4), r(1, 4))],
             rejects=[(r(3, 4), r(2, 4))], description="torch.max(a, b) broadcasting: max.other"),
        case("and", lambda x, y: x & y, (b(4, 3), b(4, 3)), ({0: n}, {0: n}), extra=[(b(9, 3), b(9, 3))],
             rejects=[(b(4, 3), b(5, 3))], description="a & b on bool tensors: __and__.Tensor"),
        case("or", lambda x, y: x | y, (i(4, 3), i(4, 3)), ({0: n}, {0: n}), extra=[(i(2, 3), i(2, 3))],
             rejects=[(i(4, 3), i(4, 2))], description="a | b on int64 tensors: __or__.Tensor"),
        case("xor", lambda x, y: x ^ y, (b(4, 3), b(4, 3)), ({0: n}, {0: n}), extra=[(b(6, 3), b(6, 3))],
             rejects=[(b(4, 3), b(5, 3))], description="a ^ b on bool tensors: __xor__.Tensor"),
        case("broadcast_to", lambda x: torch.broadcast_to(x, (5, 3, 4)), (r(3, 1),), None,
             extra=[(r(3, 1),)], rejects=[(r(2, 1),)], description="torch.broadcast_to to a fixed shape"),
        case("tile", lambda x: torch.tile(x, (2,)), (r(3, 4),), None, extra=[(r(3, 4),)], rejects=[(r(3, 5),)],
             description="torch.tile with fewer repeats than dims (padded with ones)"),
        case("tile_more", lambda x: torch.tile(x, (2, 1, 3)), (r(3, 4),), None, extra=[(r(3, 4),)],
             rejects=[(r(4, 4),)], description="torch.tile with more repeats than dims"),
        case("outer", torch.outer, (r(5), r(3)), ({0: n}, None), extra=[(r(9), r(3))], rejects=[(r(5), r(4))],
             description="torch.outer of two vectors"),
        case("where_scalar_other", lambda c, x: torch.where(c, x, 0.5), (b(4, 3), r(4, 3)), ({0: n}, {0: n}),
             extra=[(b(7, 3), r(7, 3))], rejects=[(b(4, 3), r(5, 3))],
             description="torch.where(cond, x, 0.5): where.ScalarOther"),
        case("arange_start", lambda x: x + torch.arange(2, 2 + x.shape[0]), (r(4),), ({0: n},),
             extra=[(r(9),)], rejects=[(r(70),)], description="torch.arange(start, end) with a symbolic end: arange.start"),
        case("to_device", lambda x: x.to(x.device, torch.float64) * 2, (r(4, 3),), ({0: n},), extra=[(r(6, 3),)],
             rejects=[(r(4, 2),)], description="x.to(device, dtype): to.device"),
        case("to_dtype_layout", lambda x: x.to(device=x.device, dtype=torch.int32), (r(4, 3) * 10,), ({0: n},),
             extra=[(r(5, 3) * 10,)], rejects=[(r(4, 2),)], description="x.to(device=, dtype=): to.dtype_layout"),
        case("to_same_dtype", lambda x: x.to(device=x.device, dtype=torch.float32) + 1, (r(4, 3),), ({0: n},),
             extra=[(r(5, 3),)], rejects=[(r(4, 2),)], description="a to() that changes nothing lowers to nothing"),
        case("type_as", lambda x, y: x.type_as(y) + y, (r(4, 3) * 10, i(4, 3)), ({0: n}, {0: n}),
             extra=[(r(6, 3) * 10, i(6, 3))], rejects=[(r(4, 3), i(5, 3))], description="x.type_as(y)"),
        case("new_ones", lambda x: x.new_ones(x.shape[0], 3) + x, (r(4, 3),), ({0: n},), extra=[(r(7, 3),)],
             rejects=[(r(4, 2),)], description="x.new_ones(size) with a symbolic size"),
        case("new_zeros", lambda x: x.new_zeros((2, x.shape[0]), dtype=torch.bool), (r(4),), ({0: n},), extra=[(r(7),)],
             rejects=[(r(70),)], description="x.new_zeros(size, dtype=torch.bool)"),
        case("new_full", lambda x: x.new_full((x.shape[0],), 2.5) * x, (r(4),), ({0: n},), extra=[(r(9),)],
             rejects=[(r(4, 2),)], description="x.new_full(size, value)"),
        case("einsum_attention", lambda q, k: torch.einsum("B G H I D, B G H J D -> B G H I J", q, k),
             (r(2, 2, 3, 4, 5), r(2, 2, 3, 6, 5)), ({0: n}, {0: n}), extra=[(r(3, 2, 3, 4, 5), r(3, 2, 3, 6, 5))],
             rejects=[(r(2, 2, 3, 4, 5), r(2, 2, 3, 6, 4))], description="MaxViT's attention scores as an einsum (spaces, batch dims)"),
        case("einsum_matmul", lambda a, b: torch.einsum("ij,jk", a, b), (r(4, 3), r(3, 5)), ({0: n}, None),
             extra=[(r(7, 3), r(3, 5))], rejects=[(r(4, 3), r(4, 5))], description="implicit output: ij,jk is ik"),
        case("einsum_ellipsis", lambda a, b: torch.einsum("...ij,...jk->...ik", a, b), (r(2, 3, 4), r(2, 4, 5)),
             ({0: n}, {0: n}), extra=[(r(5, 3, 4), r(5, 4, 5))], rejects=[(r(2, 3, 4), r(2, 3, 5))], description="batched matmul with an ellipsis"),
        case("einsum_three", lambda a, b, c: torch.einsum("ij,jk,kl->il", a, b, c), (r(3, 4), r(4, 5), r(5, 2)), None,
             extra=[(r(3, 4), r(4, 5), r(5, 2))], rejects=[(r(3, 4), r(4, 5), r(4, 2))], description="three operands, contracted left to right"),
        case("einsum_sum", lambda a, b: torch.einsum("bij,bj->b", a, b), (r(2, 3, 4), r(2, 4)), ({0: n}, {0: n}),
             extra=[(r(6, 3, 4), r(6, 4))], rejects=[(r(2, 3, 4), r(2, 5))], description="an index summed before the product (i) and one contracted (j)"),
        case("swapaxes", lambda x: torch.swapaxes(x, -2, -3), (r(2, 3, 4, 5),), ({0: n},), extra=[(r(4, 3, 4, 5),)],
             rejects=[(r(2, 3, 4),)], description="torch.swapaxes with negative axes, as MaxViT calls it"),
        case("swapdims", lambda x: torch.swapdims(x, 0, 1) + 1, (r(3, 4),), ({0: n},), extra=[(r(6, 4),)],
             rejects=[(r(70, 4),)], description="torch.swapdims"),
        case("roll", lambda x: torch.roll(x, shifts=(-3, -3), dims=(1, 2)), (r(2, 7, 7, 4),), ({0: n},),
             extra=[(r(3, 7, 7, 4),)], rejects=[(r(2, 7, 6, 4),)], description="Swin's shifted windows: torch.roll over two dims"),
        case("roll_flat", lambda x: torch.roll(x, 2), (r(3, 4),), None, extra=[(r(3, 4),)], rejects=[(r(4, 4),)],
             description="torch.roll with no dims rolls the flattened tensor"),
        case("pad_constant", lambda x: torch.nn.functional.pad(x, (1, 2, 0, 3), value=0.5), (r(2, 3, 4),), ({0: n},),
             extra=[(r(5, 3, 4),)], rejects=[(r(2, 3, 5),)], description="F.pad with a constant"),
        case("pad_reflect", lambda x: torch.nn.functional.pad(x, (2, 1), mode="reflect"), (r(2, 3, 5),), ({0: n},),
             extra=[(r(4, 3, 5),)], rejects=[(r(2, 3, 6),)], description="F.pad mode=reflect"),
        case("pad_circular", lambda x: torch.nn.functional.pad(x, (1, 2, 2, 0), mode="circular"), (r(2, 3, 4, 5),), ({0: n},),
             extra=[(r(3, 3, 4, 5),)], rejects=[(r(2, 3, 4, 6),)], description="F.pad mode=circular"),
        case("diff", torch.diff, (r(3, 6),), ({0: n},), extra=[(r(5, 6),)], rejects=[(r(70, 6),)], description="torch.diff along the last dim"),
        case("isfinite", torch.isfinite, (torch.tensor([[1.0, float("inf")], [float("nan"), -2.0]]),), None,
             extra=[(torch.tensor([[float("-inf"), 0.0], [3.0, 4.0]]),)], rejects=[(r(2, 3),)], description="torch.isfinite with inf and NaN"),
        case("selu", torch.nn.functional.selu, (r(4, 3),), ({0: n},), extra=[(r(7, 3),)], rejects=[(r(4, 2),)], description="F.selu"),
        case("rms_norm", lambda x, w: torch.nn.functional.rms_norm(x, (6,), w, 1e-6), (r(2, 5, 6), r(6)), ({1: n}, None),
             extra=[(r(2, 9, 6), r(6))], rejects=[(r(2, 5, 7), r(6))], description="F.rms_norm with a weight (nn.RMSNorm, Llama-style)"),
        case("argsort", lambda x: torch.argsort(x, dim=-1, descending=True), (r(4, 5),), ({0: n},), extra=[(r(6, 5),)],
             rejects=[(r(70, 5),)], description="torch.argsort descending"),
        case("ravel", lambda x: torch.ravel(x.t()), (r(3, 4),), ({0: n},), extra=[(r(6, 4),)], rejects=[(r(70, 4),)],
             description="torch.ravel of a transposed (non-contiguous) tensor"),
        case("take_along_dim", lambda x, i: torch.take_along_dim(x, i, 1), (r(3, 5), torch.randint(-5, 5, (3, 2))), None,
             extra=[(r(3, 5), torch.randint(-5, 5, (3, 2)))], rejects=[(r(3, 6), torch.randint(0, 5, (3, 2)))],
             description="torch.take_along_dim with negative indices"),
        case("log_sigmoid", torch.nn.functional.logsigmoid, (r(4, 3) * 30,), ({0: n},), extra=[(r(7, 3),)], rejects=[(r(4, 2),)],
             description="F.logsigmoid, large inputs included"),
        case("repeat_interleave", lambda x: torch.repeat_interleave(x, 2, dim=1), (r(3, 4),), ({0: n},), extra=[(r(5, 4),)],
             rejects=[(r(70, 4),)], description="torch.repeat_interleave with an int repeat count along a dim"),
        case("std", lambda x: torch.std(x, dim=1), (r(3, 4),), ({0: n},), extra=[(r(6, 4),)], rejects=[(r(70, 4),)],
             description="torch.std over a dim (unbiased)"),
        case("var_mean", lambda x: torch.var_mean(x, dim=1, unbiased=False, keepdim=True), (r(3, 4),), ({0: n},), extra=[(r(6, 4),)],
             rejects=[(r(70, 4),)], description="torch.var_mean over a dim, biased, kept dims"),
        case("kron", torch.kron, (r(2, 3), r(2, 2)), None, extra=[(r(2, 3), r(2, 2))], rejects=[(r(2, 4), r(2, 2))],
             description="torch.kron of two matrices"),
        case("cosine_similarity", torch.nn.functional.cosine_similarity, (r(3, 5), r(3, 5)), ({0: n}, {0: n}),
             extra=[(r(6, 5), torch.zeros(6, 5))], rejects=[(r(3, 5), r(4, 5))], description="F.cosine_similarity, a zero vector included"),
        case("adjoint", lambda x: torch.adjoint(x) + 1, (r(2, 3, 4),), ({0: n},), extra=[(r(5, 3, 4),)], rejects=[(r(2, 3, 5),)],
             description="torch.adjoint of a real batch of matrices: a transpose"),
        case("tensor_split_sections", lambda x: torch.tensor_split(x, 3, dim=1), (r(2, 7),), ({0: n},), extra=[(r(4, 7),)],
             rejects=[(r(2, 8),)], description="torch.tensor_split into 3 uneven sections"),
        case("tensor_split_indices", lambda x: torch.tensor_split(x, [1, 4]), (r(6, 2),), None, extra=[(r(6, 2),)],
             rejects=[(r(5, 2),)], description="torch.tensor_split at indices"),
        case("vsplit_array", lambda x: torch.vsplit(x, [1, 3]), (r(4, 3),), None, extra=[(r(4, 3),)], rejects=[(r(5, 3),)],
             description="torch.vsplit at indices"),
        case("hsplit_array", lambda x: torch.hsplit(x, [2]), (r(3, 4),), ({0: n},), extra=[(r(5, 4),)], rejects=[(r(3, 5),)],
             description="torch.hsplit at indices"),
        case("dsplit", lambda x: torch.dsplit(x, 2), (r(2, 3, 4),), ({0: n},), extra=[(r(5, 3, 4),)], rejects=[(r(2, 3, 5),)],
             description="torch.dsplit into 2 sections"),
        case("meshgrid", lambda x, y: torch.meshgrid(x, y), (r(3), r(4)), None, extra=[(r(3), r(4))], rejects=[(r(3), r(5))],
             description="torch.meshgrid with the default (ij) indexing"),
        case("divide_scalar", lambda x: torch.divide(x, 4), (i(3, 4),), ({0: n},), extra=[(i(5, 4),)], rejects=[(i(3, 5),)],
             description="torch.divide of int64 by a number (divide.Tensor with a number): a float result"),
        case("true_divide_scalar", lambda x: torch.true_divide(x, 2.5), (r(3, 4),), ({0: n},), extra=[(r(5, 4),)],
             rejects=[(r(3, 5),)], description="torch.true_divide by a number (true_divide.Tensor with a number)"),
        case("std_mean", lambda x: torch.std_mean(x, dim=1), (r(3, 4),), ({0: n},), extra=[(r(6, 4),)], rejects=[(r(70, 4),)],
             description="torch.std_mean over a dim"),
        case("argsort_stable", lambda x: torch.argsort(x, dim=0, stable=True), (i(6, 3),), None, extra=[(i(6, 3),)],
             rejects=[(i(5, 3),)], description="stable torch.argsort of ints with ties"),
        case("float_power", lambda x: torch.float_power(x, 3), (r(3, 4),), ({0: n},), extra=[(r(5, 4),)], rejects=[(r(3, 5),)],
             description="torch.float_power: the result in float64"),
        case("normalize", lambda x: torch.nn.functional.normalize(x, dim=-1), (r(3, 4, 8),), ({0: n},), extra=[(r(5, 4, 8),)],
             rejects=[(r(3, 4, 9),)], description="F.normalize (linalg_vector_norm, clamp_min, expand_as), as Swin V2's attention"),
        case("max_pool3d", lambda x: torch.nn.functional.max_pool3d(x, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
             (r(2, 3, 4, 8, 8),), ({0: n},), extra=[(r(3, 3, 4, 8, 8),)], rejects=[(r(2, 3, 4, 8, 9),)],
             description="F.max_pool3d with a 1-frame window (S3D's spatial pooling)"),
        case("norms", lambda x: (torch.linalg.norm(x, "fro"), torch.linalg.matrix_norm(x, ord=1), torch.linalg.matrix_norm(x, ord=-2)),
             (r(3, 4),), None, extra=[(r(3, 4),)], rejects=[(r(3, 5),)],
             description="torch.linalg.norm with a string order (linalg_norm.ord_str) and numeric matrix norms (linalg_matrix_norm)"),
        case("weight_norm", lambda v, g: torch._weight_norm(v, g, 0), (r(4, 3, 2), r(4, 1, 1)), None,
             extra=[(r(4, 3, 2), r(4, 1, 1))], rejects=[(r(4, 3, 3), r(4, 1, 1))],
             description="torch._weight_norm (nn.utils.weight_norm's reparametrization, as in wav2vec2)"),
        case("det_inverse_slogdet", lambda x: (torch.det(x), torch.inverse(x), *torch.slogdet(x)),
             (r(2, 3, 3) + 3 * torch.eye(3),), ({0: n},), extra=[(r(4, 3, 3) + 3 * torch.eye(3),)], rejects=[(r(2, 3, 4),)],
             description="torch.det, torch.inverse and torch.slogdet of a batch of well-conditioned matrices"),
        case("quantile", lambda x, q: torch.quantile(x, q, dim=1, keepdim=True, interpolation="midpoint"),
             (r(3, 7), torch.tensor([0.1, 0.5, 0.9])), ({0: n}, None), extra=[(r(5, 7), torch.tensor([0.0, 0.25, 1.0]))],
             rejects=[(r(3, 8), torch.tensor([0.1, 0.5, 0.9]))], description="torch.quantile with a tensor of q along a dim, midpoint interpolation"),
        case("nanquantile", lambda x, q: torch.nanquantile(torch.where(x > 1.0, float("nan"), x), q, dim=0, interpolation="nearest"),
             (r(6, 4), torch.tensor([0.3, 0.75])), ({1: n}, None), extra=[(r(6, 9), torch.tensor([0.5, 0.6]))],
             rejects=[(r(5, 4), torch.tensor([0.3, 0.75]))], description="torch.nanquantile skipping NaNs, nearest interpolation"),
        case("roll_dynamic", lambda x: torch.roll(x, shifts=(-3, 1), dims=(1, 2)), (r(2, 8, 8, 3),), ({1: n},),
             extra=[(r(2, 5, 8, 3),)], rejects=[(r(2, 8, 9, 3),)], description="torch.roll over a dynamic dim (Swin's shifted windows): the start is (n - shift) % n"),
        case("conv2d_same", lambda x, w: torch.nn.functional.conv2d(x, w, padding="same", dilation=(1, 2)), (r(2, 3, 9, 10), r(4, 3, 2, 3)),
             ({0: n}, None), extra=[(r(5, 3, 9, 10), r(4, 3, 2, 3))], rejects=[(r(2, 4, 9, 10), r(4, 3, 2, 3))],
             description="F.conv2d(padding='same') with an even kernel: the extra padding on the right (conv2d.padding)"),
        case("conv1d_valid", lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride=2, padding="valid"), (r(2, 3, 11), r(5, 3, 3), r(5)),
             ({0: n}, None, None), extra=[(r(4, 3, 11), r(5, 3, 3), r(5))], rejects=[(r(2, 3, 11), r(5, 4, 3), r(5))],
             description="F.conv1d(padding='valid') with a stride (conv1d.padding)"),
        case("gradient_dims", lambda x: (*torch.gradient(x, spacing=2.0, dim=[0, 1]), *torch.gradient(x, dim=[1], edge_order=2)),
             (r(4, 6),), None, extra=[(r(4, 6),)], rejects=[(r(4, 2),)],
             description="torch.gradient with a spacing over listed dims (gradient.scalararray) and second-order edges (gradient.array)"),
        case("fill_tensor", lambda x, v: torch.fill(x, v) * 2, (r(3, 4), torch.tensor(1.5)), ({0: n}, None),
             extra=[(r(6, 4), torch.tensor(-2.0))], rejects=[(r(3, 5), torch.tensor(1.5))],
             description="torch.fill with a 0-d tensor value (fill.Tensor, which PyTorch 2.9 programs hold as fill_.Tensor)"),
        case("complex_parts", lambda x: (torch.real(torch.view_as_complex(x)) * 2, torch.imag(torch.view_as_complex(x)).neg()),
             (r(3, 4, 2),), ({0: n},), extra=[(r(5, 4, 2),)], rejects=[(r(3, 4, 3),)],
             description="torch.real / torch.imag of a complex view of float pairs (view_as_complex): complex64 inside a float program"),
        case("nonzero_as_tuple", lambda x: torch.nonzero(x > 0, as_tuple=True),
             (r(3, 4),), ({0: n},), extra=[(r(5, 4),)], rejects=[(r(3, 5),)],
             description="torch.nonzero(as_tuple=True): one index tensor per dim (nonzero_numpy), data-dependent length"),
    ]


if __name__ == "__main__":
    only = set(sys.argv[2:])
    run_all(sys.argv[1], [c for c in cases() if not only or c["name"] in only])
