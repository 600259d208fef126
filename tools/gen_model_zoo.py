"""A real model zoo: every torchvision classification, segmentation and video model, and
transformers architectures of every kind (encoders, decoders with their attention-mask code,
encoder-decoders, vision and audio models), each exported by torch.export at a small size with
random seeded weights and a dynamic batch (vision, audio) or sequence (text), in both IRs and
the fixture format. Too large to keep in the repository: it fills a cache directory.

    pip install torch torchvision transformers safetensors
    python tools/gen_model_zoo.py ~/.cache/pt2/zoo [--only NAME,...] [--skip-existing]
    cargo run --release -- conformance zoo ~/.cache/pt2/zoo --table conformance/zoo.md --shown-as ~/.cache/pt2/zoo

The same script under an older PyTorch (a virtualenv with torch 2.9.1 and torchvision 0.24.1)
writes archives as older exporters do; `conformance/zoo_torch29.md` is that zoo's table:

    /path/to/venv29/bin/python tools/gen_model_zoo.py ~/.cache/pt2/zoo29
    cargo run --release -- conformance zoo ~/.cache/pt2/zoo29 --table conformance/zoo_torch29.md --shown-as ~/.cache/pt2/zoo29

Models over --max-params parameters (default 30 million: the archives of larger ones fill gigabytes) are left out and listed, with every
model PyTorch itself cannot export, in OUT_DIR/skipped.json.
"""
import argparse, json, os, shutil, sys, time, traceback, warnings

import torch
from torch.export import Dim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_common import export_case  # noqa: E402
from gen_printed import write_printed  # noqa: E402

VOCAB = 100


def torchvision_cases():
    import torchvision
    from torchvision import models
    batch = Dim("batch", min=1, max=8)
    # the smallest square input each family accepts (most take 64)
    size = {"inception_v3": 96, "maxvit_t": 224, "vit_b_16": 32, "vit_b_32": 32, "vit_l_16": 32, "vit_l_32": 32, "vit_h_14": 28}
    extra = {"googlenet": dict(aux_logits=False, init_weights=True), "inception_v3": dict(aux_logits=False, init_weights=True)}
    for name in models.list_models(module=models):
        kw = dict(extra.get(name, {}))
        if name.startswith("vit_"):
            kw["image_size"] = size[name]
        s = size.get(name, 64)
        yield f"tvc_{name}", lambda name=name, kw=kw: models.get_model(name, weights=None, **kw).eval(), (torch.randn(2, 3, s, s),), ({0: batch},)
    for name in models.list_models(module=models.segmentation):
        kw = dict(weights_backbone=None, aux_loss=False)
        yield f"tvs_{name}", lambda name=name, kw=kw: Out(models.get_model(name, weights=None, **kw).eval(), "out"), (torch.randn(2, 3, 64, 64),), ({0: batch},)
    for name in models.list_models(module=models.video):
        # MViT's positional embeddings and S3D's final pooling fix their clip size
        clip = (2, 3, 16, 224, 224) if name.startswith(("mvit", "s3d")) else (2, 3, 8, 64, 64)
        yield f"tvv_{name}", lambda name=name: models.get_model(name, weights=None).eval(), (torch.randn(*clip),), ({0: batch},)


class Out(torch.nn.Module):
    """One entry of a model's output dict (segmentation: `out`) or its first output."""

    def __init__(self, model, key=None):
        super().__init__()
        self.model, self.key = model, key

    def forward(self, *args):
        out = self.model(*args)
        if self.key is not None:
            return out[self.key]
        for k in ("logits", "last_hidden_state", "pooler_output"):
            if hasattr(out, k) and getattr(out, k) is not None:
                return getattr(out, k)
        return out[0]


def transformers_cases():
    import transformers as tf
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=VOCAB, max_position_embeddings=64)
    seq = Dim("seq", min=2, max=32)
    batch = Dim("batch", min=1, max=8)
    ids = lambda n, t: torch.randint(0, VOCAB, (n, t))
    mask = lambda n, t: torch.ones(n, t, dtype=torch.long)

    class Text(torch.nn.Module):
        """Ids and attention mask passed by name (the second positional parameter differs:
        `past_key_values` in GPT-2), no cache; the logits or last hidden state."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            kw = {"use_cache": False} if "use_cache" in self.model.forward.__code__.co_varnames else {}
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, **kw)
            return out.logits if hasattr(out, "logits") else out.last_hidden_state

    def text(name, config, causal):
        def make():
            cls = tf.AutoModelForCausalLM if causal else tf.AutoModel
            return Text(cls.from_config(config).eval())
        return f"hf_{name}", make, (ids(2, 12), mask(2, 12)), ({1: seq}, {1: seq})

    decoders = dict(
        gpt2=tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=VOCAB, n_positions=64),
        llama=tf.LlamaConfig(**small, num_key_value_heads=2),
        mistral=tf.MistralConfig(**small, num_key_value_heads=2),
        qwen2=tf.Qwen2Config(**small, num_key_value_heads=2),
        phi3=tf.Phi3Config(**small, num_key_value_heads=2, pad_token_id=0),
        gemma=tf.GemmaConfig(**small, num_key_value_heads=2, head_dim=8),
        gemma2=tf.Gemma2Config(**small, num_key_value_heads=2, head_dim=8),
        gpt_neox=tf.GPTNeoXConfig(**small),
        bloom=tf.BloomConfig(hidden_size=32, n_layer=2, n_head=4, vocab_size=VOCAB),
        opt=tf.OPTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64, vocab_size=VOCAB, max_position_embeddings=64, word_embed_proj_dim=32),
        falcon=tf.FalconConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, vocab_size=VOCAB),
        gptj=tf.GPTJConfig(n_embd=32, n_layer=2, n_head=4, vocab_size=VOCAB, n_positions=64, rotary_dim=4),
        codegen=tf.CodeGenConfig(n_embd=32, n_layer=2, n_head=4, vocab_size=VOCAB, n_positions=64, rotary_dim=4),
        stablelm=tf.StableLmConfig(**small, num_key_value_heads=2),
        olmo=tf.OlmoConfig(**small, num_key_value_heads=2),
        qwen3=tf.Qwen3Config(**small, num_key_value_heads=2, head_dim=8),
    )
    encoders = dict(
        bert=tf.BertConfig(**small),
        roberta=tf.RobertaConfig(**small),
        distilbert=tf.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, vocab_size=VOCAB, max_position_embeddings=64),
        albert=tf.AlbertConfig(**small, embedding_size=16),
        electra=tf.ElectraConfig(**small, embedding_size=16),
        deberta_v2=tf.DebertaV2Config(**small),
        xlm_roberta=tf.XLMRobertaConfig(**small),
        mpnet=tf.MPNetConfig(**small),
    )
    for name, config in decoders.items():
        yield text(name, config, True)
    for name, config in encoders.items():
        yield text(name, config, False)

    # encoder-decoders: source ids and mask, and decoder ids
    class Seq2Seq(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, decoder_input_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids, use_cache=False).logits

    seq2seq = dict(
        t5=tf.T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, vocab_size=VOCAB, decoder_start_token_id=0),
        bart=tf.BartConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=VOCAB, max_position_embeddings=64),
        marian=tf.MarianConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=VOCAB, max_position_embeddings=64, decoder_start_token_id=0, pad_token_id=1),
        pegasus=tf.PegasusConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=VOCAB, max_position_embeddings=64),
    )
    for name, config in seq2seq.items():
        yield f"hf_{name}", lambda config=config: Seq2Seq(tf.AutoModelForSeq2SeqLM.from_config(config).eval()), \
            (ids(2, 12), mask(2, 12), ids(2, 7)), ({1: seq}, {1: seq}, {1: Dim("tgt", min=2, max=32)})

    # vision: pixel values, dynamic batch
    vision = dict(
        vit=tf.ViTConfig(**{k: v for k, v in small.items() if k not in ("vocab_size", "max_position_embeddings")}, image_size=32, patch_size=8),
        deit=tf.DeiTConfig(**{k: v for k, v in small.items() if k not in ("vocab_size", "max_position_embeddings")}, image_size=32, patch_size=8),
        dinov2=tf.Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=2, image_size=32, patch_size=8),
        convnext=tf.ConvNextConfig(hidden_sizes=[16, 32, 48, 64], depths=[1, 1, 1, 1], image_size=64),
        swin=tf.SwinConfig(embed_dim=16, depths=[1, 1], num_heads=[2, 4], image_size=64, patch_size=4, window_size=4),
        resnet=tf.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 48, 64], depths=[1, 1, 1, 1]),
    )
    for name, config in vision.items():
        s = getattr(config, "image_size", 64)
        s = s if isinstance(s, int) else 64
        yield f"hf_{name}", lambda config=config: Out(tf.AutoModel.from_config(config).eval()), (torch.randn(2, 3, s, s),), ({0: batch},)

    # audio: raw waveform (wav2vec2, hubert) and log-mel features (whisper's encoder)
    audio = dict(
        wav2vec2=tf.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4),
        hubert=tf.HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4),
    )
    for name, config in audio.items():
        yield f"hf_{name}", lambda config=config: Out(tf.AutoModel.from_config(config).eval()), (torch.randn(2, 800),), ({0: batch},)
    whisper = tf.WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=VOCAB, num_mel_bins=16, max_source_positions=32, max_target_positions=32, pad_token_id=0, bos_token_id=0, eos_token_id=0, decoder_start_token_id=0)
    yield "hf_whisper_encoder", lambda: Out(tf.WhisperModel(whisper).get_encoder().eval()), (torch.randn(2, 16, 64),), ({0: batch},)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--only", default="")
    p.add_argument("--max-params", type=float, default=30e6)
    p.add_argument("--skip-existing", action="store_true")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    warnings.filterwarnings("ignore")
    only = set(filter(None, a.only.split(",")))
    skipped_path = os.path.join(a.out, "skipped.json")
    # earlier runs' entries stay, except for the models this run tries again
    skipped = json.load(open(skipped_path))["skipped"] if os.path.exists(skipped_path) else []
    for family in (torchvision_cases, transformers_cases):
        for name, make, args, dynamic in family():
            if only and name not in only:
                continue
            if a.skip_existing and (os.path.exists(os.path.join(a.out, name, "case.json")) or any(s["name"] == name for s in skipped)):
                continue
            skipped = [s for s in skipped if s["name"] != name]
            start = time.time()
            torch.manual_seed(0)
            try:
                model = make()
            except Exception as e:
                skipped.append({"name": name, "why": f"construction: {type(e).__name__}: {str(e)[:200]}"})
                print(f"[{name}] construction failed: {e}")
                continue
            params = sum(t.numel() for t in model.parameters())
            if params > a.max_params:
                skipped.append({"name": name, "why": f"{params / 1e6:.0f}M parameters, over --max-params"})
                print(f"[{name}] skipped: {params / 1e6:.0f}M parameters")
                continue
            if isinstance(model, Out):
                dynamic = {"args": tuple(dynamic)}  # forward takes *args
            try:
                export_case(a.out, name, model, args, dynamic_shapes=dynamic, tags=("zoo",),
                            description=f"{type(getattr(model, 'model', model)).__name__}, random weights, {params / 1e6:.2f}M parameters")
                # PyTorch's print(ep) of each archive, loaded back: what pt2's printer must give
                write_printed(os.path.join(a.out, name))
                print(f"[{name}] exported in {time.time() - start:.0f} s")
            except Exception as e:
                skipped.append({"name": name, "why": f"torch.export: {type(e).__name__}: {str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}"})
                print(f"[{name}] torch.export failed: {type(e).__name__}: {str(e)[:300]}")
                traceback.print_exc(limit=2)
                shutil.rmtree(os.path.join(a.out, name), ignore_errors=True)
            with open(skipped_path, "w") as f:
                json.dump({"torch_version": torch.__version__, "skipped": skipped}, f, indent=1)


if __name__ == "__main__":
    main()
