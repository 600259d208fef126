"""Records aten.convolution on float32 over the geometries pt2's convolution paths split on
(stride 1 read in place from a padded image, other strides packed from the image, groups,
depthwise, 1-d/2-d/3-d, batch 1 vs many, sizes past one kernel tile and one k-block) for
crates/cli/tests/conv_geometries.rs. Writes OUT_DIR/geometries.safetensors (NAME.x, NAME.w,
NAME.b, NAME.out) and OUT_DIR/geometries.json (each case's parameters).
Usage: python tools/gen_conv_goldens.py OUT_DIR
"""
import json
import sys

import torch
from safetensors.torch import save_file

torch.manual_seed(0)
tensors, cases = {}, []


def case(name, x_shape, w_shape, stride, padding, dilation, groups, bias=True):
    x, w = torch.randn(*x_shape), torch.randn(*w_shape)
    b = torch.randn(w_shape[0]) if bias else None
    out = torch.ops.aten.convolution(x, w, b, stride, padding, dilation, False, [0] * len(stride), groups)
    tensors[f"{name}.x"], tensors[f"{name}.w"], tensors[f"{name}.out"] = x, w, out.contiguous()
    if bias:
        tensors[f"{name}.b"] = b
    cases.append(dict(name=name, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias))


with torch.no_grad():
    # k = 32*9 = 288 crosses a k-block; 20 output channels cross 8-row tiles; 17x19 > 48 columns
    case("s1_pad1_batch3", [3, 32, 17, 19], [20, 32, 3, 3], [1, 1], [1, 1], [1, 1], 1)
    case("s1_pad1_batch1", [1, 32, 17, 19], [20, 32, 3, 3], [1, 1], [1, 1], [1, 1], 1)
    case("s1_nopad_nobias", [2, 8, 9, 30], [5, 8, 3, 2], [1, 1], [0, 0], [1, 1], 1, bias=False)
    case("s1_dilated_asym_pad", [2, 6, 13, 11], [7, 6, 3, 3], [1, 1], [2, 1], [2, 3], 1)
    case("s2_pad1", [3, 16, 15, 16], [12, 16, 3, 3], [2, 2], [1, 1], [1, 1], 1)
    case("s2x3_dilated", [2, 4, 20, 21], [6, 4, 3, 2], [2, 3], [1, 0], [2, 1], 1)
    case("groups2", [2, 8, 10, 10], [6, 4, 3, 3], [1, 1], [1, 1], [1, 1], 2)
    case("groups2_s2", [2, 8, 10, 10], [6, 4, 3, 3], [2, 2], [1, 1], [1, 1], 2)
    case("depthwise", [2, 6, 9, 9], [6, 1, 3, 3], [1, 1], [1, 1], [1, 1], 6)
    case("pointwise", [2, 24, 7, 7], [40, 24, 1, 1], [1, 1], [0, 0], [1, 1], 1)
    case("conv1d_s1", [3, 5, 70], [9, 5, 4], [1], [2], [1], 1)
    case("conv1d_s2", [3, 5, 70], [9, 5, 4], [2], [1], [2], 1)
    case("conv3d_s1", [2, 3, 5, 6, 7], [4, 3, 2, 3, 3], [1, 1, 1], [1, 0, 1], [1, 1, 1], 1)
    case("conv3d_s2", [2, 3, 5, 6, 7], [4, 3, 2, 3, 3], [2, 1, 2], [0, 1, 1], [1, 1, 1], 1)
    case("one_by_one_image", [4, 3, 1, 1], [5, 3, 1, 1], [1, 1], [0, 0], [1, 1], 1)
    # depthwise through its stride phases: 5x5 stride 2, dilation with unequal strides, no
    # bias over grids longer than one 64-element block, and 1-d
    case("depthwise_s2_k5", [2, 8, 28, 27], [8, 1, 5, 5], [2, 2], [2, 2], [1, 1], 8)
    case("depthwise_dilated_asym", [1, 4, 15, 20], [4, 1, 3, 3], [1, 2], [2, 1], [2, 1], 4)
    case("depthwise_nobias", [2, 16, 30, 30], [16, 1, 3, 3], [1, 1], [1, 1], [1, 1], 16, bias=False)
    case("depthwise_1d", [2, 6, 50], [6, 1, 7], [2], [3], [1], 6)
    # grouped with a few channels a group (ResNeXt-style), and a depthwise channel multiplier
    case("groups4_s2", [2, 32, 15, 14], [48, 8, 3, 3], [2, 2], [1, 1], [1, 1], 4)
    case("depthwise_multiplier", [2, 5, 11, 9], [10, 1, 3, 3], [1, 1], [1, 1], [1, 1], 5)
    # atrous convolution on a small map (DeepLabV3 at 64x64): the dilation reaches past the
    # image, so some taps fall wholly in the padding
    case("dilation_past_image", [2, 16, 4, 4], [8, 16, 3, 3], [1, 1], [12, 12], [12, 12], 1)

save_file(tensors, f"{sys.argv[1]}/geometries.safetensors")
with open(f"{sys.argv[1]}/geometries.json", "w") as f:
    json.dump(cases, f, indent=1)
print(f"{len(cases)} cases")
