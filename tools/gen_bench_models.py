"""Full-size benchmark models (random seeded weights, dynamic batch), exported by
torch.export in the fixture format (both IRs), into a cache directory outside the repo:

    pip install torch torchvision            # transformers too, for BERT and the decoder
    python tools/gen_bench_models.py ~/.cache/pt2/bench [--only vit_b_16,resnet50]
    cargo run --release -- bench programs ~/.cache/pt2/bench --python python

ResNet-50, MobileNetV3-Large, EfficientNet-B0 and ViT-B/16 at 224x224, batch 2 (with a
batch-8 set); BERT-base and a 12-layer Llama-style decoder at 128 tokens when transformers is
installed. The recorded outputs make `pt2 conformance programs DIR` a correctness check too.

    python tools/gen_bench_models.py ~/.cache/pt2/heldout --held-out

makes the held-out set instead: full-size models the kernels and plan were never tuned on
(ResNet-18, DenseNet-121, ConvNeXt-Tiny, Swin-T, RegNetY-800MF, MobileNetV2, GPT-2, DistilBERT),
to check that speed and memory hold beyond the benchmark set.
"""
import argparse
import os
import sys

import torch
from torch.export import Dim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_common import run_all  # noqa: E402


def vision(name, ctor, size=224):
    torch.manual_seed(0)
    model = ctor(weights=None).eval()
    img = lambda n: torch.randn(n, 3, size, size)
    return dict(name=f"bench_{name}", model=model, args=(img(2),), dynamic_shapes=({0: Dim("batch", min=1, max=64)},),
                extra_sets=[((img(8),), None)])


def text(name, build, vocab, tokens=128):
    torch.manual_seed(0)
    model = build().eval()
    ids = lambda n: torch.randint(0, vocab, (n, tokens))

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            out = self.m(input_ids=input_ids)
            return out.logits if hasattr(out, "logits") else out.last_hidden_state

    return dict(name=f"bench_{name}", model=Logits(model), args=(ids(2),), dynamic_shapes=({0: Dim("batch", min=1, max=64)},),
                extra_sets=[((ids(8),), None)])


def held_out(only):
    import torchvision.models as tv
    want = lambda n: not only or n in only
    out = [vision(name, ctor) for name, ctor in [
        ("resnet18", tv.resnet18), ("densenet121", tv.densenet121), ("convnext_tiny", tv.convnext_tiny),
        ("swin_t", tv.swin_t), ("regnet_y_800mf", tv.regnet_y_800mf), ("mobilenet_v2", tv.mobilenet_v2)] if want(name)]
    import transformers as tf
    if want("gpt2"):
        out.append(text("gpt2", lambda: tf.GPT2LMHeadModel(tf.GPT2Config()), 50257))
    if want("distilbert"):
        out.append(text("distilbert", lambda: tf.DistilBertModel(tf.DistilBertConfig()), 30522))
    return out


def cases(only):
    import torchvision.models as tv
    out = []
    want = lambda n: not only or n in only
    for name, ctor in [("resnet50", tv.resnet50), ("mobilenet_v3_large", tv.mobilenet_v3_large),
                       ("efficientnet_b0", tv.efficientnet_b0), ("vit_b_16", tv.vit_b_16)]:
        if want(name):
            out.append(vision(name, ctor))
    try:
        import transformers as tf
    except ImportError:
        print("transformers is not installed: BERT and the decoder are skipped")
        return out
    if want("bert_base"):
        out.append(text("bert_base", lambda: tf.BertModel(tf.BertConfig()), 30522))
    if want("llama_12l"):
        cfg = tf.LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                             num_attention_heads=12, num_key_value_heads=12, max_position_embeddings=512)
        out.append(text("llama_12l", lambda: tf.LlamaForCausalLM(cfg), 32000))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--only", default="", help="comma-separated model names")
    p.add_argument("--held-out", action="store_true", help="the held-out set instead of the benchmark set")
    a = p.parse_args()
    only = set(filter(None, a.only.split(",")))
    with torch.no_grad():
        run_all(os.path.expanduser(a.out), held_out(only) if a.held_out else cases(only))
