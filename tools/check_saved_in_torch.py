"""Checks that archives pt2 writes load in PyTorch and reproduce the recorded outputs.

Usage: python tools/check_saved_in_torch.py SAVED_DIR FIXTURES_DIR
SAVED_DIR holds <case>/program.pt2 (and program.core.pt2) written by pt2; FIXTURES_DIR the
cases they came from (case.json, io.safetensors). Every input set must reproduce the recorded
outputs and every reject set must be refused. Prints one line per archive and a summary.

For the case catalogue: `pt2 exportdb write DIR`, then
`python tools/check_saved_in_torch.py DIR DIR`.
"""
import json
import pathlib
import sys

import torch
from safetensors.torch import load_file


def leaf(v, tensors):
    if "tensor" in v:
        return tensors[v["tensor"]].clone()  # programs may mutate their inputs
    for k in ("int", "float", "bool", "str"):
        if k in v:
            return v[k]
    return None


def register_custom_op():
    """The tutorial's custom operator, relu under another name, as its users register it."""
    lib = torch.library.Library("my_custom_library", "DEF")
    lib.define("custom_op(Tensor x) -> Tensor")
    lib.impl("custom_op", lambda x: torch.relu(x), "CompositeExplicitAutograd")
    lib.impl("custom_op", lambda x: torch.empty_like(x), "Meta")
    return lib


def main(saved, fixtures):
    _lib = register_custom_op()  # noqa: F841 (kept alive while loading)
    ok = bad = 0
    for case_dir in sorted(pathlib.Path(saved).iterdir()):
        if not (pathlib.Path(fixtures) / case_dir.name / "case.json").exists():
            continue  # a case whose export fails by design
        case = json.loads((pathlib.Path(fixtures) / case_dir.name / "case.json").read_text())
        tensors = load_file(str(pathlib.Path(fixtures) / case_dir.name / "io.safetensors"))
        for archive in sorted(case_dir.glob("*.pt2")):
            try:
                ep = torch.export.load(str(archive))
                m = ep.module()
                for s in case["sets"]:
                    flat = [leaf(v, tensors) for v in s["inputs"]]
                    args, kwargs = torch.utils._pytree.tree_unflatten(flat, ep.call_spec.in_spec)
                    out = torch.utils._pytree.tree_leaves(m(*args, **kwargs))
                    want = [leaf(v, tensors) for v in s["outputs"]]
                    for o, w in zip(out, want):
                        if isinstance(w, torch.Tensor):
                            torch.testing.assert_close(o, w, rtol=1e-4, atol=1e-5)
                        else:
                            assert o == w, (o, w)
                for i, r in enumerate(case.get("rejects", [])):
                    flat = [leaf(v, tensors) for v in r["inputs"]]
                    args, kwargs = torch.utils._pytree.tree_unflatten(flat, ep.call_spec.in_spec)
                    try:
                        m(*args, **kwargs)
                    except Exception:
                        continue
                    raise AssertionError(f"reject {i} was accepted (pt2 refuses it with: {r.get('pt2_error') or r.get('pytorch_error')})")
                ok += 1
                print(f"ok   {case_dir.name}/{archive.name}")
            except Exception as e:  # report and go on
                bad += 1
                print(f"FAIL {case_dir.name}/{archive.name}: {type(e).__name__}: {str(e)[:300]}")
    print(f"torch interop: {ok} passed, {bad} failed")
    return bad


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1], sys.argv[2]) else 0)
