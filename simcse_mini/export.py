"""Writing a model for use without simcse-mini: sentence-transformers or plain Hugging Face folders.

``sentence-transformers``: ``SentenceTransformer(folder)`` loads it with the pooling the model was
trained with. (Given a plain encoder folder, sentence-transformers silently uses mean pooling,
which is wrong for CLS-pooled SimCSE models.) ``modules.json`` chains Transformer -> Pooling (CLS or
mean) -> for the ``cls`` pooler, Dense with Tanh: the trained MLP head. The files use the
long-standing layout (``sentence_transformers.models.*`` module names, ``pooling_mode_*`` flags)
that sentence-transformers 3 and later all read. The folder is also a complete simcse-mini model.

``huggingface``: a plain ``AutoModel`` folder (safetensors weights, tokenizer, model card). A
``cls`` model's MLP head is stored as the encoder's own pooling layer, as princeton-nlp's SimCSE
checkpoints do, so the embedding is ``outputs.pooler_output``; ``config.json`` also records the
pooler as ``simcse_pooler_type``, which ``SimCSE.from_pretrained`` reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save_file

from .api import SimCSE
from .checkpoints import CONFIG_POOLER_KEY
from .model import _without_pooling_layer

FORMATS = ("sentence-transformers", "huggingface")
ST_POOLING_FLAGS = {"cls": "pooling_mode_cls_token", "cls_before_pooler": "pooling_mode_cls_token",
                    "avg": "pooling_mode_mean_tokens"}
# How to read the embedding from plain transformers outputs, for the model card.
HF_POOLING_CODE = {
    "cls": "embeddings = outputs.pooler_output  # the [CLS] state through the trained MLP (Linear+Tanh)",
    "cls_before_pooler": "embeddings = outputs.last_hidden_state[:, 0]  # the [CLS] state",
    "avg": "mask = batch['attention_mask'].unsqueeze(-1)\n"
           "embeddings = (outputs.last_hidden_state * mask).sum(1) / mask.sum(1)",
    "avg_first_last": "mask = batch['attention_mask'].unsqueeze(-1)  # call the model with output_hidden_states=True\n"
                      "states = (outputs.hidden_states[1] + outputs.hidden_states[-1]) / 2\n"
                      "embeddings = (states * mask).sum(1) / mask.sum(1)",
    "avg_top2": "mask = batch['attention_mask'].unsqueeze(-1)  # call the model with output_hidden_states=True\n"
                "states = (outputs.hidden_states[-1] + outputs.hidden_states[-2]) / 2\n"
                "embeddings = (states * mask).sum(1) / mask.sum(1)",
}


class ExportError(ValueError):
    """The model cannot be written as asked; the message says why and what to do instead."""


def export(model: SimCSE | str | Path, out_dir: str | Path, format: str = "sentence-transformers") -> Path:
    """Write ``model`` (a SimCSE, or anything ``SimCSE.from_pretrained`` loads) to the new or empty
    folder ``out_dir`` in ``format``; returns the folder."""
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder; choose a new folder")
    if not isinstance(model, SimCSE):
        model = SimCSE.from_pretrained(model, device="cpu")
    if format == "sentence-transformers":
        write_sentence_transformers(model, out)
    else:
        write_huggingface(model, out)
    return out


def write_sentence_transformers(model: SimCSE, out: Path) -> None:
    pooler = model.model.embedding_pooler_type
    if pooler not in ST_POOLING_FLAGS:
        raise ExportError(f"sentence-transformers has no pooling that mixes layers like {pooler}; "
                          "export --format huggingface instead (its model card shows how to pool)")
    simcse = model.model
    simcse.save_pretrained(out, model.tokenizer, extra=_provenance(model.record))
    modules = [("Transformer", ""), ("Pooling", "1_Pooling")] + ([("Dense", "2_Dense")] if pooler == "cls" else [])
    _write_json(out / "modules.json", [{"idx": i, "name": str(i), "path": path,
                                        "type": f"sentence_transformers.models.{kind}"}
                                       for i, (kind, path) in enumerate(modules)])
    settings = {"max_seq_length": model.max_length, "do_lower_case": False}
    if _without_pooling_layer(type(simcse.encoder)):  # else transformers adds an unused random pooler
        settings["model_args"] = {"add_pooling_layer": False}
    _write_json(out / "sentence_bert_config.json", settings)
    flags = dict.fromkeys(["pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                           "pooling_mode_mean_sqrt_len_tokens"], False)
    _write_json(out / "1_Pooling" / "config.json",
                {"word_embedding_dimension": model.dimension, **flags, ST_POOLING_FLAGS[pooler]: True})
    if pooler == "cls":
        (out / "2_Dense").mkdir()
        _write_json(out / "2_Dense" / "config.json",
                    {"in_features": model.dimension, "out_features": model.dimension, "bias": True,
                     "activation_function": "torch.nn.modules.activation.Tanh"})
        head = simcse.mlp.dense
        save_file({"linear.weight": head.weight.detach().cpu().contiguous(),
                   "linear.bias": head.bias.detach().cpu().contiguous()}, out / "2_Dense" / "model.safetensors")
    usage = ("from sentence_transformers import SentenceTransformer\n\n"
             f"model = SentenceTransformer({str(out)!r})\n"
             "embeddings = model.encode([\"A man is playing a guitar.\", \"Someone makes music.\"])\n"
             "print(model.similarity(embeddings, embeddings))")
    (out / "README.md").write_text(model_card(model, out.name, "sentence-transformers", usage))


def write_huggingface(model: SimCSE, out: Path) -> None:
    simcse, pooler = model.model, model.model.embedding_pooler_type
    state = None
    if pooler == "cls":
        if not _without_pooling_layer(type(simcse.encoder)):
            raise ExportError(f"{type(simcse.encoder).__name__} has no pooling layer to hold the MLP head; "
                              "export --format sentence-transformers instead")
        head = {f"pooler.{key}": value for key, value in simcse.mlp.state_dict().items()}
        state = {**simcse.encoder.state_dict(), **head}
    simcse.encoder.save_pretrained(out, state_dict=state)
    model.tokenizer.save_pretrained(out)
    config = json.loads((out / "config.json").read_text())
    _write_json(out / "config.json", {**config, CONFIG_POOLER_KEY: pooler})
    hidden_states = ", output_hidden_states=True" if pooler.startswith("avg_") else ""
    usage = ("import torch\nfrom transformers import AutoModel, AutoTokenizer\n\n"
             f"tokenizer = AutoTokenizer.from_pretrained({str(out)!r})\n"
             f"model = AutoModel.from_pretrained({str(out)!r}).eval()\n"
             "batch = tokenizer([\"A man is playing a guitar.\", \"Someone makes music.\"], padding=True, "
             "truncation=True, return_tensors=\"pt\")\n"
             f"with torch.inference_mode():\n    outputs = model(**batch{hidden_states})\n"
             f"{HF_POOLING_CODE[pooler]}\n"
             "similarity = torch.nn.functional.cosine_similarity(embeddings[0], embeddings[1], dim=0)")
    (out / "README.md").write_text(model_card(model, out.name, "transformers", usage))


def model_card(model: SimCSE, title: str, library: str, usage: str) -> str:
    """A short README: what the embedding is, how the model was trained, how to use it."""
    training = model.record.get("training")
    if training:
        views = "two dropout views of each sentence" if training.get("objective") == "unsup" else \
            "(sentence, entailment[, contradiction]) triplets"
        start = "random weights shaped like" if training.get("random_init") else "pretrained"
        recipe = (f"{training.get('objective')} SimCSE (contrastive, {views}) from {start} "
                  f"`{training.get('model_name_or_path')}` on `{training.get('train_file')}`: "
                  f"{model.record.get('step')} steps, batch {training.get('per_device_train_batch_size')} per "
                  f"device, learning rate {training.get('learning_rate')}, temperature {training.get('temp')}, "
                  f"max_seq_length {training.get('max_seq_length')}"
                  + (", with the auxiliary MLM loss" if training.get("do_mlm") else "") + ".")
    else:
        recipe = f"not trained by simcse-mini; exported from `{model.name}`."
    simcse = model.model
    return (f"---\nlibrary_name: {library}\npipeline_tag: sentence-similarity\ntags:\n- simcse\n"
            "- sentence-embeddings\n---\n\n"
            f"# {title}\n\n"
            "Sentence embeddings made with simcse-mini (SimCSE: contrastive learning of sentence embeddings).\n\n"
            f"- **Embedding**: {simcse.describe_embedding()} (simcse-mini pooler `{simcse.embedding_pooler_type}`), "
            f"{model.dimension} dimensions; compare embeddings by cosine similarity.\n"
            f"- **Training**: {recipe}\n"
            f"- **Inputs**: up to {model.max_length} tokens.\n\n"
            f"## Use\n\n```python\n{usage}\n```\n")


def _provenance(record: dict) -> dict:
    # What simcse_config.json recorded beyond the pooler (which save_pretrained writes afresh).
    return {k: v for k, v in record.items() if k not in ("pooler_type", "mlp_only_train", "embedding")}


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")
