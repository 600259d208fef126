"""Exports real torchvision models (random weights, dynamic batch) in the fixture format, to
check pt2 on full-size programs: ResNet-18, MobileNetV3-Small, EfficientNet-B0, ViT-B/16.
Too large to keep in the repository; run by hand:

    pip install torchvision pillow
    python tools/export_torchvision.py /tmp/tv
    cargo run --release -- conformance programs /tmp/tv
    cargo run --release -- bench programs /tmp/tv --python python
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_common import run_all  # noqa: E402
from torch.export import Dim
torch.manual_seed(0)
m = lambda f, **kw: f(weights=None, **kw).eval()
batch = Dim("batch", min=1, max=8)
img = lambda n, s=64: torch.randn(n, 3, s, s)
cases = [
  dict(name="tv_resnet18", model=m(torchvision.models.resnet18), args=(img(2),), dynamic_shapes=({0: batch},), extra_sets=[((img(3),), None)]),
  dict(name="tv_mobilenet_v3_small", model=m(torchvision.models.mobilenet_v3_small), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_efficientnet_b0", model=m(torchvision.models.efficientnet_b0), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_vit_b_16", model=m(torchvision.models.vit_b_16, image_size=32), args=(img(2, 32),), dynamic_shapes=({0: batch},)),
]
run_all(sys.argv[1], cases)
