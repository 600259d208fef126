"""Exports small versions of common model families with PyTorch, in the fixture format
(`program.pt2`, `program.core.pt2`, `io.safetensors`, `case.json`), for pt2 to load and run:
a ResNet-style CNN, a MobileNet-style CNN, a vision transformer, a transformer encoder, a
decoder-only language model and an LSTM, each with a dynamic batch or sequence dim.

Usage: python tools/gen_zoo.py OUT_DIR     (then: pt2 conformance programs OUT_DIR)
Widths are tiny so the archives stay small enough to keep in the repository.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.export import Dim

from fixtures_common import run_all

torch.manual_seed(0)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, c, expand):
        super().__init__()
        h = c * expand
        self.expand = nn.Sequential(nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6())
        self.se_fc1 = nn.Conv2d(h, 4, 1)
        self.se_fc2 = nn.Conv2d(4, h, 1)
        self.project = nn.Sequential(nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.dw(self.expand(x))
        s = F.hardsigmoid(self.se_fc2(F.relu(self.se_fc1(F.adaptive_avg_pool2d(y, 1)))))
        return x + self.project(y * s)


class TinyMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish())
        self.blocks = nn.Sequential(InvertedResidual(8, 4), InvertedResidual(8, 2))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 5))

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1))


class TinyViT(nn.Module):
    def __init__(self, dim=32, patch=4, image=16):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.head(self.norm(self.encoder(x))[:, 0])


class TinyEncoder(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(dim, 4, 64, dropout=0.0, batch_first=True)

    def forward(self, x, mask):
        return self.layer(x, src_key_padding_mask=mask)


class CausalBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab=50, dim=32, ctx=32):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(ctx, dim)
        self.blocks = nn.Sequential(CausalBlock(dim, 4), CausalBlock(dim, 4))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        return self.head(self.ln(self.blocks(x)))


class TinyLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, num_layers=1, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class CountedLoop(nn.Module):
    """while_loop: doubles x until its sum passes a bound, counting the steps."""

    def forward(self, x):
        from torch._higher_order_ops.while_loop import while_loop

        def cond_fn(i, y):
            return y.sum() < 100.0

        def body_fn(i, y):
            return i + 1, y * 2.0

        return while_loop(cond_fn, body_fn, (torch.zeros((), dtype=torch.int64), x))


class NoGradBlock(nn.Module):
    """A `torch.no_grad()` region inside forward: exported as wrap_with_set_grad_enabled."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        with torch.no_grad():
            y = self.lin(x).relu()
        return y + 1


class ReturnTypes(nn.Module):
    """Operators whose results are PyTorch's named tuples (torch.return_types.max/sort/topk)."""

    def forward(self, x):
        return torch.max(x, dim=1), torch.sort(x, dim=-1), torch.topk(x, 2)


class Scale(nn.Module):
    """A dim declared with min=2: PyTorch's module still accepts sizes 1 and 0 (0/1 specialization)."""

    def forward(self, x):
        return x * 2.0 + 1.0


class SharedFrame(nn.Module):
    """Two linear layers called from two lines: consecutive nodes share their innermost frame
    (nn.Linear's forward), which PyTorch's printer groups under one header although the full
    stack traces differ."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)

    def forward(self, x):
        h = self.a(x)
        return self.b(h)


class SignalBlock(nn.Module):
    """A 1-d and a 3-d convolution, SiLU, a transpose, a lower-triangular mix and a detached
    gate built with ones_like: composite operators that pt2 both runs with a kernel and lowers
    with a decomposition, so each is checked against PyTorch both ways."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 6, 3, padding=1)
        self.conv3 = nn.Conv3d(2, 3, 2)
        self.mix = nn.Parameter(torch.randn(6, 6))

    def forward(self, x, v):
        h = F.silu(self.conv1(x))
        h = torch.matmul(torch.tril(self.mix), h)
        gate = torch.ones_like(h).detach() * 0.5
        return (h * gate).t() if h.dim() == 2 else (h * gate).sum(0).t(), self.conv3(v)


class ViewUpdate(nn.Module):
    """Swin's attention-mask construction: in-place writes into slices of a fresh tensor, and an
    in-place add on a selected row; lowering must scatter each update back into the base."""

    def forward(self, x):
        m = x.new_zeros((x.shape[0], 4, 4))
        cnt = 0
        for h in (slice(0, 2), slice(2, 4)):
            for w in (slice(0, 1), slice(1, 4)):
                m[:, h, w] = cnt
                cnt += 1
        row = m[:, 0]
        row.add_(1.0)
        return x * m


class SharedModule(nn.Module):
    """One ReLU and one Linear, each called twice (as a torchvision ResNet block calls its relu)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.act = nn.ReLU()
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        x = self.act(self.lin(x))
        x = self.act(self.lin(x))
        return self.out(x)


def cases():
    batch = Dim("batch", min=1, max=64)
    seq = Dim("seq", min=2, max=32)
    img = lambda n: torch.randn(n, 3, 32, 32)
    vit = lambda n: torch.randn(n, 3, 16, 16)
    tokens = lambda n, t: torch.randint(0, 50, (n, t))
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[1, 4:] = True
    return [
        dict(name="zoo_resnet", model=TinyResNet().eval(), args=(img(2),), dynamic_shapes=({0: batch},),
             extra_sets=[((img(5),), None)], rejects=[((torch.randn(2, 3, 32),), None)], tags=("zoo",),
             description="ResNet-style CNN (conv, batch norm, relu, max pool, residual adds, adaptive pool, linear), dynamic batch"),
        dict(name="zoo_mobilenet", model=TinyMobileNet().eval(), args=(img(2),), dynamic_shapes=({0: batch},),
             extra_sets=[((img(3),), None)], rejects=[((torch.randn(2, 4, 32, 32),), None)], tags=("zoo",),
             description="MobileNet-style CNN (depthwise conv, hardswish, relu6, squeeze-excite, dropout), dynamic batch"),
        dict(name="zoo_vit", model=TinyViT().eval(), args=(vit(2),), dynamic_shapes=({0: batch},),
             extra_sets=[((vit(3),), None)], rejects=[((torch.randn(2, 3, 20, 20),), None)], tags=("zoo",),
             description="vision transformer (patch conv, class token, position embedding, pre-norm encoder), dynamic batch"),
        dict(name="zoo_encoder", model=TinyEncoder().eval(), args=(torch.randn(2, 6, 32), mask),
             dynamic_shapes=({1: seq}, {1: seq}), extra_sets=[((torch.randn(2, 9, 32), torch.zeros(2, 9, dtype=torch.bool)), None)],
             rejects=[((torch.randn(2, 6, 32), torch.zeros(2, 7, dtype=torch.bool)), None)], tags=("zoo",),
             description="transformer encoder layer with a key padding mask, dynamic sequence"),
        dict(name="zoo_gpt", model=TinyGPT().eval(), args=(tokens(2, 8),), dynamic_shapes=({1: seq},),
             extra_sets=[((tokens(2, 13),), None)], rejects=[((tokens(2, 40),), None)], tags=("zoo",),
             description="decoder-only language model (token and position embeddings, causal attention, GELU MLP), dynamic sequence"),
        dict(name="zoo_lstm", model=TinyLSTM().eval(), args=(torch.randn(2, 5, 8),), dynamic_shapes=({0: batch},),
             extra_sets=[((torch.randn(4, 5, 8),), None)], rejects=[((torch.randn(2, 5, 7),), None)], tags=("zoo",),
             description="LSTM over a sequence and a linear head, dynamic batch (PyTorch specializes the sequence length)"),
        dict(name="zoo_while_loop", model=CountedLoop(), args=(torch.rand(3) + 0.5,),
             extra_sets=[((torch.rand(3) * 10 + 1,), None)], rejects=[((torch.rand(4),), None)], tags=("zoo",),
             description="while_loop: a data-dependent number of doublings"),
        dict(name="zoo_no_grad", model=NoGradBlock(), args=(torch.randn(2, 4),),
             extra_sets=[((torch.randn(2, 4),), None)], rejects=[((torch.randn(3, 4),), None)], tags=("zoo",),
             description="a torch.no_grad() region, exported as wrap_with_set_grad_enabled"),
        dict(name="zoo_return_types", model=ReturnTypes(), args=(torch.randn(3, 5),), dynamic_shapes=({0: batch},),
             extra_sets=[((torch.randn(6, 5),), None)], rejects=[((torch.randn(3, 4),), None)], tags=("zoo",),
             description="outputs that are PyTorch's named tuples (torch.return_types.max, sort, topk), dynamic batch"),
        dict(name="zoo_batch_one", model=Scale(), args=(torch.randn(4, 3),), dynamic_shapes=({0: Dim("b", min=2, max=63)},),
             extra_sets=[((torch.randn(1, 3),), None), ((torch.randn(0, 3),), None)],
             rejects=[((torch.randn(64, 3),), None), ((torch.randn(4, 2),), None)], tags=("zoo",),
             description="a batch declared 2..63 that PyTorch's module accepts at sizes 1 and 0, and refuses at 64"),
        dict(name="zoo_shared_frame", model=SharedFrame(), args=(torch.randn(2, 3),), dynamic_shapes=({0: batch},),
             extra_sets=[((torch.randn(5, 3),), None)], rejects=[((torch.randn(2, 4),), None)], tags=("zoo",),
             description="two linear layers called from two lines: printed groups follow the innermost frame"),
        dict(name="zoo_signal", model=SignalBlock().eval(), args=(torch.randn(2, 4, 7), torch.randn(1, 2, 3, 4, 4)),
             dynamic_shapes=({2: Dim("length", min=2, max=64)}, None),
             extra_sets=[((torch.randn(2, 4, 12), torch.randn(1, 2, 3, 4, 4)), None)],
             rejects=[((torch.randn(2, 5, 7), torch.randn(1, 2, 3, 4, 4)), None)], tags=("zoo",),
             description="conv1d with a dynamic length, conv3d, silu, tril, ones_like, detach and t: composites run and lowered"),
        dict(name="zoo_shared_module", model=SharedModule(), args=(torch.randn(3, 6),), dynamic_shapes=({0: batch},),
             extra_sets=[((torch.randn(5, 6),), None)], rejects=[((torch.randn(3, 5),), None)], tags=("zoo",),
             description="modules called twice: unflatten keeps one module per name, one call per use (fqn@1 in nn_module_stack)"),
        dict(name="zoo_view_update", model=ViewUpdate(), args=(torch.randn(2, 4, 4),), dynamic_shapes=({0: batch},),
             extra_sets=[((torch.randn(5, 4, 4),), None)], rejects=[((torch.randn(2, 4, 5),), None)], tags=("zoo",),
             description="in-place updates of slices and a selected row (Swin's mask): lowered with slice_scatter/select_scatter"),
    ]


if __name__ == "__main__":
    # python tools/gen_zoo.py OUT_DIR [NAME ...]: only the named cases when names are given
    only = set(sys.argv[2:])
    run_all(sys.argv[1], [c for c in cases() if not only or c["name"] in only])
