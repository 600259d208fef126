"""Records torch.nn layers' outputs for pt2's nn tests: fixtures/nn/layers.safetensors holds,
for each layer NAME, its state dict (`NAME.<param>`), its input(s) (`NAME.in.<i>`) and its
output(s) (`NAME.out.<i>`), made by PyTorch. Usage: python tools/gen_nn_goldens.py OUT_DIR
"""
import sys

import torch
from safetensors.torch import save_file

torch.manual_seed(0)
tensors = {}


def record(name, layer, inputs, outputs):
    for k, v in layer.state_dict().items():
        tensors[f"{name}.{k}"] = v.detach().clone().contiguous()
    for i, x in enumerate(inputs):
        tensors[f"{name}.in.{i}"] = x.clone().contiguous()
    for i, y in enumerate(outputs):
        tensors[f"{name}.out.{i}"] = y.detach().contiguous()


with torch.no_grad():
    mha = torch.nn.MultiheadAttention(16, 4).eval()
    q, k, v = torch.randn(5, 2, 16), torch.randn(7, 2, 16), torch.randn(7, 2, 16)
    out, w = mha(q, k, v)
    record("mha", mha, [q, k, v], [out, w])

    mha_nw = torch.nn.MultiheadAttention(16, 4).eval()
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    out, _ = mha_nw(q, q, q, attn_mask=mask, need_weights=False)
    record("mha_masked", mha_nw, [q, mask], [out])

    gn = torch.nn.GroupNorm(2, 6)
    gn.weight.normal_(); gn.bias.normal_()
    x = torch.randn(3, 6, 4, 4)
    record("group_norm", gn, [x], [gn(x)])

    c1 = torch.nn.Conv1d(3, 5, 3)
    x = torch.randn(2, 3, 10)
    record("conv1d", c1, [x], [c1(x)])

    ap = torch.nn.AvgPool2d(2)
    x = torch.randn(1, 2, 6, 6)
    record("avg_pool2d", ap, [x], [ap(x)])

    bn = torch.nn.BatchNorm1d(4).eval()
    bn.running_mean.normal_(); bn.running_var.uniform_(0.5, 2.0); bn.weight.normal_(); bn.bias.normal_()
    x = torch.randn(3, 4)
    record("batch_norm1d", bn, [x], [bn(x)])

save_file(tensors, f"{sys.argv[1]}/layers.safetensors")
print(f"{len(tensors)} tensors")
