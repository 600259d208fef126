"""PyTorch's figure for `pt2 bench symbolic`: the same guards built, simplified and evaluated
in torch's ShapeEnv (sympy). Prints one line: build, simplify, evaluate seconds."""
import sys
import time

import sympy
from torch._dynamo.source import LocalSource, TensorProperty, TensorPropertySource
from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv
from torch.utils._sympy.functions import FloorDiv, PythonMod

guards, symbols = int(sys.argv[1]), int(sys.argv[2])
env = ShapeEnv()
dims, hints = [], []
for i in range(symbols):
    hint = 2 + (i * 37) % 1000
    src = TensorPropertySource(LocalSource(f"x{i // 4}"), TensorProperty.SIZE, i % 4)
    dims.append(env.create_symbol(hint, src, dynamic_dim=DimDynamic.DYNAMIC))
    hints.append(hint)

state = 7
MASK = (1 << 64) - 1


def nxt(n):
    # the generator of crates/cli/src/bench_symbolic.rs
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) & MASK
    return (state >> 33) % n


t = time.perf_counter()
exprs = []
for i in range(guards):
    a, b, c = nxt(symbols), nxt(symbols), nxt(symbols)
    x, y, z = dims[a], dims[b], dims[c]
    k = 1 + i % 7
    kind = i % 6
    if kind == 0:
        e = sympy.Le(x + y * k, hints[a] + hints[b] * k + i % 5)
    elif kind == 1:
        e = sympy.Ne(x, hints[a] + 1 + i % 3)
    elif kind == 2:
        e = sympy.Eq(FloorDiv(x * 2 + 1, 2) + PythonMod(y, k + 1), hints[a] + hints[b] % (k + 1))
    elif kind == 3:
        e = sympy.Ge(sympy.Max(x, y), sympy.Min(x, z))
    elif kind == 4:
        e = sympy.Gt(x * y, k)
    else:
        e = sympy.Ge(x + 1, 3)
    exprs.append(e)
build = time.perf_counter() - t

t = time.perf_counter()
for e in exprs:
    env.simplify(e)
simplify = time.perf_counter() - t

t = time.perf_counter()
for e in exprs:
    env.evaluate_expr(e)
evaluate = time.perf_counter() - t
print(f"{build} {simplify} {evaluate}")
