"""pt2's Python package against PyTorch's recorded ground truth (fixtures/), without torch.

Each fixture program is loaded with pt2.load and called as PyTorch's ep.module() is called
(positional arrays; dicts, lists, tuples and keywords where the program takes them); its outputs
must match the outputs PyTorch recorded, and the inputs PyTorch refused must raise pt2.Error.
PT2_EXTRA_FIXTURES (folders separated by ':') adds held-out programs in the same format.
"""

import importlib.util
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import pt2

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = [ROOT / "fixtures" / d for d in ("pytorch", "zoo", "hf")] + [
    Path(p) for p in os.environ.get("PT2_EXTRA_FIXTURES", "").split(":") if p
]
CASES = sorted(d for folder in FOLDERS for d in folder.iterdir() if (d / "case.json").exists())
ARCHIVES = [(c, a) for c in CASES for a in ("program.pt2", "program.core.pt2") if (c / a).exists()]
RTOL, ATOL = 1e-4, 1e-5


def leaf(value, store):
    kind, v = next(iter(value.items()))
    return {"tensor": lambda: store[v], "int": lambda: v, "float": lambda: float(v), "bool": lambda: v, "none": lambda: None, "str": lambda: v}[kind]()


def read_case(case_dir):
    case = json.loads((case_dir / "case.json").read_text())
    return case, load_file(str(case_dir / "io.safetensors"))


def unflatten(spec, leaves):
    """The Python value of a treespec_dumps node over an iterator of leaves."""
    kind = spec["type"]
    children = [unflatten(c, leaves) for c in spec["children_spec"]]
    if kind is None:
        return next(leaves)
    if kind == "builtins.tuple":
        return tuple(children)
    if kind == "builtins.list":
        return children
    if kind == "builtins.dict":
        return dict(zip(json.loads(spec["context"]), children))
    raise AssertionError(f"input tree node {kind} is not handled by this test")


def call(module, program, flat):
    """Calls `module` as PyTorch's ep.module() is called: (args, kwargs) rebuilt from the
    program's input tree spec, which torch.export wrote into the archive."""
    args, kwargs = unflatten(json.loads(program.in_spec)[1], iter(flat))
    return module(*args, **kwargs)


def flatten(tree):
    """An output tree's leaves in pytree order."""
    if isinstance(tree, (tuple, list)):
        return [x for item in tree for x in flatten(item)]
    if isinstance(tree, dict):
        return [x for item in tree.values() for x in flatten(item)]
    return [tree]


def assert_matches(got, want, where):
    assert len(got) == len(want), f"{where}: {len(got)} outputs, PyTorch gave {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, np.ndarray):
            assert isinstance(g, np.ndarray), f"{where} output {i}: {type(g).__name__}, not an array"
            assert g.dtype == w.dtype and g.shape == w.shape, f"{where} output {i}: {g.dtype}{g.shape} vs PyTorch's {w.dtype}{w.shape}"
            if w.dtype.kind == "f":
                np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{where} output {i}")
            else:
                np.testing.assert_array_equal(g, w, err_msg=f"{where} output {i}")
        else:
            assert g == w, f"{where} output {i}: {g!r}, PyTorch gave {w!r}"


@pytest.mark.parametrize("case_dir,archive", ARCHIVES, ids=[f"{c.name}/{a}" for c, a in ARCHIVES])
def test_outputs_match_pytorch(case_dir, archive):
    case, store = read_case(case_dir)
    ep = pt2.load(case_dir / archive)
    if case.get("custom_ops"):
        # the custom operator's kernel lives in the user's Python: pt2 names what is missing
        with pytest.raises(pt2.Error, match="custom_op.default is not registered"):
            ep.module()
        return
    module = ep.module()
    for i, s in enumerate(case["sets"]):
        flat = [leaf(v, store) for v in s["inputs"]]
        # copies: a program that mutates an input must not change the recorded one
        flat = [np.array(x) if isinstance(x, np.ndarray) else x for x in flat]
        got = flatten(call(module, ep, flat))
        want = [leaf(v, store) for v in s["outputs"]]
        assert_matches(got, want, f"{case_dir.name}/{archive} set {i}")


REJECTS = [(c, i) for c in CASES for i, _ in enumerate(json.loads((c / "case.json").read_text()).get("rejects", []))]


@pytest.mark.parametrize("case_dir,index", REJECTS, ids=[f"{c.name}/reject{i}" for c, i in REJECTS])
def test_refuses_what_pytorch_refuses(case_dir, index):
    case, store = read_case(case_dir)
    reject = case["rejects"][index]
    ep = pt2.load(case_dir / "program.pt2")
    flat = [leaf(v, store) for v in reject["inputs"]]
    with pytest.raises(pt2.Error) as refused:
        call(ep.module(), ep, flat)
    theirs = reject["pytorch_error"]
    # a plain guard reads as PyTorch's ("Guard failed: x.size()[0] == 3")
    if theirs.startswith("Guard failed: ") and not any(c in theirs for c in "*+"):
        assert str(refused.value).startswith(theirs)


def resnet():
    case_dir = ROOT / "fixtures" / "zoo" / "zoo_resnet"
    case, store = read_case(case_dir)
    return pt2.load(case_dir / "program.pt2"), leaf(case["sets"][0]["inputs"][0], store), leaf(case["sets"][0]["outputs"][0], store)


def test_threads_share_one_module():
    ep, x, want = resnet()
    module = ep.module()
    first = module(x)
    np.testing.assert_allclose(first, want, rtol=RTOL, atol=ATOL)
    results, errors = [], []

    def work():
        try:
            for _ in range(100):
                results.append(np.array_equal(module(x), first))
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 800 and all(results), f"{results.count(False)} of {len(results)} calls differed"


def test_program_api():
    ep, x, _ = resnet()
    assert str(ep).startswith("ExportedProgram:\n    class GraphModule(torch.nn.Module):")
    assert ep.input_names() == ["x"]
    assert ep.signature().splitlines()[0] == "x: f32[s77, 3, 32, 32]"
    assert ep.verify() == []
    assert pt2.verify(ROOT / "fixtures" / "zoo" / "zoo_resnet" / "program.pt2") == []
    lowered = pt2.decompose(ep)
    assert "aten.conv2d" not in str(lowered) and "aten.convolution" in str(lowered)
    np.testing.assert_allclose(lowered.module()(x), ep.module()(x), rtol=RTOL, atol=ATOL)


def test_save_round_trip(tmp_path):
    ep, x, _ = resnet()
    pt2.save(ep, tmp_path / "copy.pt2")
    again = pt2.load(tmp_path / "copy.pt2")
    np.testing.assert_array_equal(again.module()(x), ep.module()(x))


def test_bad_calls_are_errors():
    ep, x, _ = resnet()
    module = ep.module()
    with pytest.raises(pt2.Error, match=r"x.size\(\)\[1\] == 3"):
        module(np.zeros((2, 4, 32, 32), np.float32))
    with pytest.raises(pt2.Error, match="the program has no input named `y`"):
        module(x, y=x)
    with pytest.raises(pt2.Error, match="2 positional inputs were given"):
        module(x, x)
    with pytest.raises(TypeError, match="not supported; pass numpy arrays"):
        module(object())
    with pytest.raises(TypeError, match="float128 is not supported"):
        module(np.zeros((2, 3, 32, 32), np.longdouble))
    with pytest.raises(pt2.Error, match="x must have dtype torch.float32, got torch.complex128"):
        module(np.zeros((2, 3, 32, 32), np.complex128))
    with pytest.raises(pt2.Error, match="not a PT2 archive"):
        pt2.load(ROOT / "README.md")
    assert issubclass(pt2.Error, RuntimeError)


def test_strided_arrays_are_read_as_numpy_sees_them():
    ep, x, _ = resnet()
    module = ep.module()
    # the same values through a transposed layout and a reversed view
    transposed = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    reversed_twice = np.ascontiguousarray(x[:, :, ::-1])[:, :, ::-1]
    want = module(x)
    np.testing.assert_array_equal(module(transposed), want)
    np.testing.assert_array_equal(module(reversed_twice), want)


def test_runs_without_torch():
    # the wheel's whole point: this virtualenv has no torch
    assert importlib.util.find_spec("torch") is None
