"""Exports real torchvision models (random weights, dynamic batch) in the fixture format, to
check pt2 on full-size programs: ResNet-18, MobileNetV3-Small, EfficientNet-B0, ViT-B/16, ConvNeXt-T, Swin-T,
DenseNet-121, ShuffleNetV2, SqueezeNet, RegNetY, MNASNet, GoogLeNet, Inception-v3, EfficientNetV2-S,
MaxViT-T, ResNeXt-50 (`python tools/export_torchvision.py DIR [NAME ...]` for some).
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
  dict(name="tv_convnext_tiny", model=m(torchvision.models.convnext_tiny), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_swin_t", model=m(torchvision.models.swin_t), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_densenet121", model=m(torchvision.models.densenet121), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_shufflenet_v2_x0_5", model=m(torchvision.models.shufflenet_v2_x0_5), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_squeezenet1_1", model=m(torchvision.models.squeezenet1_1), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_regnet_y_400mf", model=m(torchvision.models.regnet_y_400mf), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_mnasnet0_5", model=m(torchvision.models.mnasnet0_5), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_googlenet", model=m(torchvision.models.googlenet, aux_logits=False, init_weights=True), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_inception_v3", model=m(torchvision.models.inception_v3, aux_logits=False, init_weights=True), args=(img(2, 96),), dynamic_shapes=({0: batch},)),
  dict(name="tv_efficientnet_v2_s", model=m(torchvision.models.efficientnet_v2_s), args=(img(2),), dynamic_shapes=({0: batch},)),
  dict(name="tv_maxvit_t", model=m(torchvision.models.maxvit_t), args=(img(2, 224),), dynamic_shapes=({0: batch},)),
  dict(name="tv_resnext50_32x4d", model=m(torchvision.models.resnext50_32x4d), args=(img(2),), dynamic_shapes=({0: batch},)),
]
only = set(sys.argv[2:])
cases = [c for c in cases if not only or c["name"] in only]
run_all(sys.argv[1], cases)
