"""Exports Hugging Face transformers models (small configs, random seeded weights, dynamic
sequence length) in the fixture format, to find what real language-model programs need from
pt2. The widths are tiny (the point is which operators and shapes the programs hold); the repository
keeps three (`fixtures/hf`: BERT, GPT-2, Llama) made by

    pip install transformers
    python tools/export_transformers.py fixtures/hf hf_bert_base hf_gpt2 hf_llama

and the whole set is made and checked by hand:

    python tools/export_transformers.py /tmp/hf
    cargo run --release -- conformance programs /tmp/hf
    cargo run --release -- conformance decompose /tmp/hf
"""
import os
import sys

import torch
import transformers as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_common import run_all  # noqa: E402
from torch.export import Dim

torch.manual_seed(0)
VOCAB = 100
SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=VOCAB,
             max_position_embeddings=64)


class LogitsOnly(torch.nn.Module):
    """The model's logits (or last hidden state) as a plain tensor output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False) \
            if "use_cache" in self.model.forward.__code__.co_varnames else self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.logits if hasattr(out, "logits") else out.last_hidden_state


def lm(name, config):
    model = LogitsOnly(tf.AutoModel.from_config(config) if name.endswith("_base") else tf.AutoModelForCausalLM.from_config(config)).eval()
    seq = Dim("seq", min=2, max=64)
    ids = lambda n, t: torch.randint(0, VOCAB, (n, t))
    ones = lambda n, t: torch.ones(n, t, dtype=torch.long)
    return dict(name=f"hf_{name}", model=model, args=(ids(2, 12), ones(2, 12)), dynamic_shapes=({1: seq}, {1: seq}),
                extra_sets=[((ids(2, 20), ones(2, 20)), None)], rejects=[((ids(2, 12), ones(2, 13)), None)], tags=("hf",),
                description=f"transformers {type(model.model).__name__}, small config, random weights, dynamic sequence")


def cases():
    return [
        lm("bert_base", tf.BertConfig(**SMALL)),
        lm("gpt2", tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=VOCAB, n_positions=64)),
        lm("llama", tf.LlamaConfig(**SMALL, num_key_value_heads=2)),
        lm("qwen2", tf.Qwen2Config(**SMALL, num_key_value_heads=2)),
        lm("mistral", tf.MistralConfig(**SMALL, num_key_value_heads=2)),
        lm("distilbert_base", tf.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, vocab_size=VOCAB, max_position_embeddings=64)),
        lm("roberta_base", tf.RobertaConfig(**SMALL)),
        lm("phi3", tf.Phi3Config(**SMALL, num_key_value_heads=2, pad_token_id=0)),
    ]


if __name__ == "__main__":
    only = set(sys.argv[2:])
    run_all(sys.argv[1], [c for c in cases() if not only or c["name"] in only])
