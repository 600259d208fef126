"""Op goldens at the level export writes: every OpInfo in PyTorch's `op_db`, each of its first
samples exported by torch.export (non-strict) as a one-call program, saved in both IRs (the
training IR `torch.export.export` returns and the core ATen IR of `run_decompositions()`), with
the sample's inputs and PyTorch's outputs, in the fixture format (see fixtures/README.md).

Tensors of a sample (its input, tensor arguments, tensors in lists) become the program's
inputs; every other argument (ints, dims, dtypes, ...) is a constant of the program, as it would
be in a user's model.

    python tools/gen_export_op_goldens.py OUT_DIR [--dtypes float32,int64,bool] [--samples 1]
        [--max-numel 256] [--ops NAME,...]

Writes OUT_DIR/<case>/ for every sample PyTorch exports, and OUT_DIR/skipped.json: the samples
PyTorch itself cannot run, export or save, each with why (they are not pt2's to pass).
fixtures/export_ops is the repository's compact copy:

    python tools/gen_export_op_goldens.py fixtures/export_ops --dtypes float32,int64,bool --samples 1

Needs `pip install torch safetensors expecttest hypothesis` in a virtualenv outside the repo.
"""
import argparse, json, os, re, sys, time, warnings

import torch
import torch.utils._pytree as pytree
from torch.testing._internal.common_methods_invocations import op_db

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_common import export_case  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "int32": torch.int32,
          "bool": torch.bool, "float16": torch.float16, "bfloat16": torch.bfloat16, "uint8": torch.uint8,
          "complex64": torch.complex64, "uint16": torch.uint16, "uint32": torch.uint32, "uint64": torch.uint64}
# what a safetensors io file can hold (safetensors has no complex128 or complex32 tag)
STORABLE = {torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
            torch.int8, torch.uint8, torch.uint16, torch.uint32, torch.uint64, torch.bool, torch.complex64}
# random, uninitialized, sparse, quantized, device-only: no output to compare
SKIP = ("rand", "bernoulli", "dropout", "empty", "normal", "uniform", "multinomial", "poisson",
        "exponential", "geometric", "cauchy", "log_normal", "sparse", "quantize", "_nested", "cuda",
        "jiterator", "to_sparse", "nonzero_static", "new_empty", "randn", "randint",
        "fractional_max_pool", "multi_head_attention_forward")


class Call(torch.nn.Module):
    """`op(*sample)` with the sample's tensors as inputs and everything else fixed."""

    def __init__(self, op, spec, constants):
        super().__init__()
        self.op, self.spec, self.constants = op, spec, constants

    def forward(self, *tensors):
        it = iter(tensors)
        leaves = [next(it) if c is None else c[0] for c in self.constants]
        inp, args, kwargs = pytree.tree_unflatten(leaves, self.spec)
        return self.op(inp, *args, **kwargs)


def split(sample):
    """The sample's tensor leaves (the program's inputs) and the rest (its constants)."""
    leaves, spec = pytree.tree_flatten((sample.input, tuple(sample.args), dict(sample.kwargs)))
    tensors = [v for v in leaves if isinstance(v, torch.Tensor)]
    constants = [None if isinstance(v, torch.Tensor) else (v,) for v in leaves]
    return tensors, spec, constants


def plain(v, max_numel):
    """Whether a value can be recorded: storable dtypes, small, strided, on the CPU."""
    for t in pytree.tree_leaves(v):
        if isinstance(t, torch.Tensor):
            if t.dtype not in STORABLE or t.is_sparse or t.layout != torch.strided or t.numel() > max_numel:
                return False
        elif not isinstance(t, (int, float, bool, type(None), str)):
            return False
    return True


def case_name(info, dtype, i):
    variant = f"_{info.variant_test_name}" if info.variant_test_name else ""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"op_{info.name}{variant}_{dtype}_{i}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--dtypes", default="float32")
    p.add_argument("--samples", type=int, default=1, help="samples kept per OpInfo and dtype")
    p.add_argument("--max-numel", type=int, default=256)
    p.add_argument("--ops", default="", help="only these OpInfo names (comma-separated)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.ops.split(",")))
    warnings.filterwarnings("ignore")
    skipped, written, start = [], 0, time.time()
    for dname in a.dtypes.split(","):
        dtype = DTYPES[dname]
        for info in op_db:
            if (only and info.name not in only) or any(s in info.name for s in SKIP):
                continue
            if dtype not in info.supported_dtypes("cpu"):
                continue
            torch.manual_seed(0)
            try:
                samples = iter(info.sample_inputs("cpu", dtype, requires_grad=False))
            except Exception as e:
                skipped.append({"op": info.name, "dtype": dname, "why": f"samples: {type(e).__name__}"})
                continue
            kept = 0
            for s in samples:
                if kept >= a.samples:
                    break
                tensors, spec, constants = split(s)
                if not tensors or not plain((s.input, s.args, s.kwargs), a.max_numel):
                    continue
                name = case_name(info, dname, kept)
                model = Call(info.op, spec, constants)
                try:
                    out = model(*[t.clone() for t in tensors])
                except Exception as e:
                    skipped.append({"case": name, "why": f"eager: {type(e).__name__}: {str(e)[:200]}"})
                    continue
                if not plain(out, 1 << 30):
                    skipped.append({"case": name, "why": "output is not storable tensors or numbers"})
                    continue
                try:
                    export_case(a.out, name, model, tensors, description=f"OpInfo `{info.name}` "
                                f"{info.variant_test_name or ''} {dname}, sample {kept}: {s.summary() if hasattr(s, 'summary') else ''}"[:300],
                                tags=("export_op",))
                    written += 1
                    kept += 1
                except Exception as e:
                    skipped.append({"case": name, "why": f"torch.export: {type(e).__name__}: {str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}"})
                    d = os.path.join(a.out, name)
                    if os.path.isdir(d):
                        for f in os.listdir(d):
                            os.remove(os.path.join(d, f))
                        os.rmdir(d)
    with open(os.path.join(a.out, "skipped.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "skipped": skipped}, f, indent=1)
    print(f"{written} cases written, {len(skipped)} skipped, {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
