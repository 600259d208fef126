"""Op-level golden cases: the ATen calls that PyTorch's own OpInfo samples make at the
dispatcher level (below autograd, so composite ops appear as what they decompose into),
recorded with inputs and outputs, for the sample dtypes given.

    python tools/gen_op_goldens.py OUT_DIR [--dtypes float16,bfloat16,float64,int32] [--per-op N]

Writes OUT_DIR/cases.json + OUT_DIR/cases.safetensors in the format of fixtures/ops (see
fixtures/README.md). fixtures/ops (float32, int64, bool samples) was made by the shared copy
of this script; fixtures/ops_dtypes by

    python tools/gen_op_goldens.py fixtures/ops_dtypes \
        --dtypes float16,bfloat16,float64,int32,int16,int8,uint8 --per-op 3

Needs `pip install torch safetensors expecttest hypothesis` in a virtualenv outside the repo.
"""
import argparse, collections, json, math, os

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.testing._internal.common_methods_invocations import op_db
from safetensors.torch import save_file

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64", torch.int32: "int32",
          torch.bool: "bool", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.uint8: "uint8",
          torch.int8: "int8", torch.int16: "int16"}
BY_NAME = {v: k for k, v in DTYPES.items()}
# random, in-place-only, sparse, quantized and bookkeeping operators: nothing to compare
SKIP = ("rand", "bernoulli", "dropout", "empty", "normal", "uniform", "multinomial", "poisson",
        "exponential", "geometric", "cauchy", "log_normal", "random_", "_fused", "_foreach", "copy_",
        "resize", "set_", "detach", "lift", "_to_dense", "sparse", "quantize", "_nested", "fft", "mkldnn",
        "_local_scalar_dense", "item", "_assert", "sym_", "record_stream", "_has_compatible", "is_")


class Unsupported(Exception):
    pass


class Recorder(TorchDispatchMode):
    def __init__(self, per_op, max_numel):
        super().__init__()
        self.per_op, self.max_numel = per_op, max_numel
        self.count = collections.Counter()
        self.cases, self.tensors = [], {}
        self.source = ""

    def enc(self, v, key):
        if isinstance(v, torch.Tensor):
            if v.dtype not in DTYPES or v.is_sparse or v.is_complex() or v.numel() > self.max_numel or v.device.type != "cpu":
                raise Unsupported()
            self.tensors[key] = v.detach().clone().contiguous()
            return {"tensor": key, "dtype": DTYPES[v.dtype], "shape": list(v.shape),
                    "strides": list(v.stride()), "storage_offset": v.storage_offset()}
        if isinstance(v, bool): return {"bool": v}
        if isinstance(v, int): return {"int": v}
        if isinstance(v, float): return {"float": v if math.isfinite(v) else str(v)}
        if v is None: return {"none": None}
        if isinstance(v, str): return {"str": v}
        if isinstance(v, torch.dtype):
            if v not in DTYPES: raise Unsupported()
            return {"dtype": DTYPES[v]}
        if isinstance(v, torch.device): return {"device": str(v)}
        if isinstance(v, torch.layout): return {"layout": str(v)}
        if isinstance(v, torch.memory_format): return {"memory_format": str(v)}
        if isinstance(v, (list, tuple)):
            return {"list": [self.enc(x, f"{key}.{i}") for i, x in enumerate(v)]}
        raise Unsupported()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = str(func)  # aten.add.Tensor
        key_name = (name, self.dtype)
        if func.namespace == "aten" and self.count[key_name] < self.per_op and not any(s in name for s in SKIP) \
                and not func._schema.is_mutable:
            key = f"c{len(self.cases)}"
            try:
                rec = {"op": name, "source": self.source,
                       "args": [self.enc(a, f"{key}.a{i}") for i, a in enumerate(args)],
                       "kwargs": {k: self.enc(v, f"{key}.k.{k}") for k, v in kwargs.items()},
                       "out": self.enc(out, f"{key}.out")}
                self.cases.append(rec)
                self.count[key_name] += 1
            except Unsupported:
                for k in [k for k in self.tensors if k.startswith(key + ".")]:
                    del self.tensors[k]
        return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--dtypes", default="float32,int64,bool")
    p.add_argument("--per-op", type=int, default=8, help="cases kept per overload and sample dtype")
    p.add_argument("--samples", type=int, default=4, help="OpInfo samples tried per op and dtype")
    p.add_argument("--max-numel", type=int, default=4096)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    rec = Recorder(a.per_op, a.max_numel)
    for dtype in [BY_NAME[d] for d in a.dtypes.split(",")]:
        rec.dtype = DTYPES[dtype]
        for info in op_db:
            if dtype not in info.supported_dtypes("cpu"):
                continue
            try:
                samples = list(info.sample_inputs("cpu", dtype, requires_grad=False))[:a.samples]
            except Exception:
                continue
            for si, s in enumerate(samples):
                rec.source = f"OpInfo {info.name} {DTYPES[dtype]} sample {si}"
                try:
                    with rec:
                        info.op(s.input, *s.args, **s.kwargs)
                except Exception:
                    pass
    save_file(rec.tensors, os.path.join(a.out, "cases.safetensors"))
    with open(os.path.join(a.out, "cases.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "dtypes": a.dtypes.split(","), "cases": rec.cases}, f)
    print(len(rec.cases), "cases over", len({n for n, _ in rec.count}), "overloads")


if __name__ == "__main__":
    main()
