"""The SimCSE model: a Hugging Face encoder, a pooler, and (for the ``cls`` pooler) an MLP head.

Poolers (all ignore padding):
- ``cls``: the [CLS] state through a Linear+Tanh MLP head. With ``mlp_only_train`` the head is used
  in training and dropped when embedding (SimCSE's unsupervised recipe).
- ``cls_before_pooler``: the raw [CLS] state; no head.
- ``avg``: mean of the last layer's token states.
- ``avg_first_last``: mean over tokens of the average of the first transformer layer's and the last
  layer's states (hidden_states[1] and hidden_states[-1]; hidden_states[0] is the embedding layer).
- ``avg_top2``: the same with the last two layers.

A saved model is a plain Hugging Face encoder folder (``AutoModel`` loads it without simcse-mini)
plus ``simcse_config.json``, which records the pooler, so loading needs nothing remembered, and
``simcse_head.safetensors`` for the MLP head when there is one. No conversion step.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from contextlib import nullcontext
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer
from transformers.utils import cached_file

from .config import POOLERS
from .dropout import install_mask_control, set_dropout_rate
from .losses.mlm import IGNORE_INDEX

logger = logging.getLogger(__name__)
SIMCSE_CONFIG_NAME = "simcse_config.json"
HEAD_WEIGHTS_NAME = "simcse_head.safetensors"
HIDDEN_STATE_POOLERS = ("avg_first_last", "avg_top2")


class ModelLoadError(RuntimeError):
    """The encoder or tokenizer could not be loaded; the message says what to do."""


class MLPHead(nn.Module):
    """SimCSE's projection over the [CLS] state: Linear(hidden, hidden) then Tanh."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.activation = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(x))


def masked_mean(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real (non-padding) tokens: [N, L, H] -> [N, H]."""
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1)


def pool(pooler_type: str, outputs, attention_mask: torch.Tensor) -> torch.Tensor:
    """Read one vector per sentence from the encoder outputs (before any MLP head)."""
    if pooler_type in ("cls", "cls_before_pooler"):
        return outputs.last_hidden_state[:, 0]
    if pooler_type == "avg":
        return masked_mean(outputs.last_hidden_state, attention_mask)
    hidden = outputs.hidden_states
    if pooler_type == "avg_first_last":
        return masked_mean((hidden[1] + hidden[-1]) / 2, attention_mask)
    if pooler_type == "avg_top2":
        return masked_mean((hidden[-1] + hidden[-2]) / 2, attention_mask)
    raise ValueError(f"unknown pooler_type {pooler_type!r}; choose one of {', '.join(POOLERS)}")


def _without_pooling_layer(model_class) -> dict:
    # BERT-like encoders carry a pretraining pooler that SimCSE never uses; leaving it in makes
    # DistributedDataParallel fail on parameters without gradients.
    params = inspect.signature(model_class.__init__).parameters
    return {"add_pooling_layer": False} if "add_pooling_layer" in params else {}


def _load_error(name: str, err: Exception) -> ModelLoadError:
    where = "a local folder" if os.path.isdir(name) else "a hub name or local folder"
    return ModelLoadError(
        f"could not load the encoder '{name}' ({where}): {err}\n"
        "If it is a hub name, this machine must reach the Hugging Face hub (or have it cached); "
        "otherwise pass a local folder that holds config.json, the weights and the tokenizer.")


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False):
    try:
        return AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise _load_error(name_or_path, err) from None


def find_model_file(name_or_path: str, filename: str) -> str | None:
    """The local path of ``filename`` in a model folder or hub repository (downloaded and cached
    if need be), or None when there is no such file (or no such model: loading it says why)."""
    try:
        return cached_file(name_or_path, filename, _raise_exceptions_for_missing_entries=False,
                           _raise_exceptions_for_connection_errors=False)
    except OSError:
        return None


def load_backbone(name_or_path: str, *, with_mlm_head: bool = False, random_init: bool = False,
                  with_pooling_layer: bool = False, trust_remote_code: bool = False) -> nn.Module:
    """Load (or build, with random_init) the encoder, optionally with its masked-LM head.

    ``with_pooling_layer`` keeps the encoder's own pooling layer (BERT's ``pooler``: Linear + Tanh
    over the [CLS] state) and requires the checkpoint to hold its weights. Weights are read by
    transformers: safetensors, or a legacy ``.bin`` through ``torch.load(weights_only=True)``, so a
    checkpoint cannot run code.
    """
    auto = AutoModelForMaskedLM if with_mlm_head else AutoModel
    try:
        config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        model_class = auto._model_mapping[type(config)] if type(config) in auto._model_mapping else None
        drop_pooler = model_class is not None and not with_mlm_head and not with_pooling_layer
        extra = _without_pooling_layer(model_class) if drop_pooler else {}
        if random_init:
            if any(Path(name_or_path).glob("*.safetensors")) or any(Path(name_or_path).glob("*.bin")):
                logger.warning("random_init: ignoring the trained weights in %s and starting from random ones",
                               name_or_path)
            return auto.from_config(config, trust_remote_code=trust_remote_code, **extra)
        if not with_pooling_layer:
            return auto.from_pretrained(name_or_path, config=config, trust_remote_code=trust_remote_code, **extra)
        model, info = auto.from_pretrained(name_or_path, config=config, trust_remote_code=trust_remote_code,
                                           output_loading_info=True)
    except (OSError, ValueError) as err:
        raise _load_error(name_or_path, err) from None
    pooler = getattr(model, "pooler", None)
    like_head = isinstance(getattr(pooler, "dense", None), nn.Linear) and \
        isinstance(getattr(pooler, "activation", None), nn.Tanh)
    if not like_head or any(key.startswith("pooler.") for key in info["missing_keys"]):
        raise ModelLoadError(f"'{name_or_path}' has no trained Linear+Tanh pooling layer (pooler.dense) to use "
                             "as the MLP head of the cls pooler; choose another pooler (cls_before_pooler or avg)")
    return model


class SimCSEModel(nn.Module):
    """Encoder + pooler (+ MLP head for ``cls``) + optional MLM head for the auxiliary loss.

    ``forward`` is the training pass: it takes token ids of shape [B, V, L] (V = 1 for unsupervised
    data, 2 or 3 for supervised pairs/triplets) and returns embeddings of shape [V', B, H]. For V = 1
    the batch is stacked with itself and encoded in one pass of 2B rows, so dropout draws an
    independent mask for every example and both views: the two views of a sentence are its
    positive pair. ``embed`` is the inference pass (the head is skipped with ``mlp_only_train``).
    """

    def __init__(self, backbone: nn.Module, pooler_type: str = "cls", mlp_only_train: bool = False,
                 dropout_mask: str = "independent"):
        super().__init__()
        if pooler_type not in POOLERS:
            raise ValueError(f"unknown pooler_type {pooler_type!r}; choose one of {', '.join(POOLERS)}")
        self.backbone = backbone
        self.pooler_type = pooler_type
        self.mlp_only_train = mlp_only_train
        self.mlp = MLPHead(self.encoder.config.hidden_size) if pooler_type == "cls" else None
        # PyTorch's own dropout already draws independent masks; other modes need the control.
        self.mask_control = install_mask_control(self.encoder, dropout_mask) if dropout_mask != "independent" else None

    @property
    def encoder(self) -> nn.Module:
        """The bare transformer (the backbone itself, or the body of a masked-LM backbone)."""
        return self.backbone.base_model

    @property
    def has_mlm_head(self) -> bool:
        return self.backbone is not self.backbone.base_model

    @property
    def embedding_uses_mlp(self) -> bool:
        return self.mlp is not None and not self.mlp_only_train

    @property
    def embedding_pooler_type(self) -> str:
        """The pooler that gives ``embed``'s output (``cls`` trained with mlp_only_train embeds as
        ``cls_before_pooler``)."""
        return "cls_before_pooler" if self.pooler_type == "cls" and not self.embedding_uses_mlp else self.pooler_type

    def _pooled(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                               output_hidden_states=self.pooler_type in HIDDEN_STATE_POOLERS,
                               return_dict=True, **kwargs)
        return pool(self.pooler_type, outputs, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None,
                mlm_input_ids: torch.Tensor | None = None,
                mlm_labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training pass. Returns {"embeddings": [V', B, H]} and, given MLM inputs, {"mlm_loss"}."""
        batch_size, num_views, length = input_ids.shape
        sentence_mask = attention_mask  # one row per sentence, before the unsupervised duplication
        if num_views == 1:  # unsupervised: each sentence twice, in one forward pass
            num_views = 2
            input_ids, attention_mask = input_ids.expand(-1, 2, -1), attention_mask.expand(-1, 2, -1)
            if token_type_ids is not None:
                token_type_ids = token_type_ids.expand(-1, 2, -1)

        def rows(t):  # [B, V, L] -> [V*B, L], view-major so that row v*B + i is view v of example i
            return t.transpose(0, 1).reshape(num_views * batch_size, length)

        with self.mask_control.views(num_views, batch_size) if self.mask_control else nullcontext():
            pooled = self._pooled(rows(input_ids), rows(attention_mask),
                                  rows(token_type_ids) if token_type_ids is not None else None)
        if self.mlp is not None:
            pooled = self.mlp(pooled)
        out = {"embeddings": pooled.view(num_views, batch_size, -1)}
        if mlm_input_ids is not None:
            if not self.has_mlm_head:
                raise RuntimeError("MLM inputs given, but the model was built without an MLM head (do_mlm)")
            out["mlm_loss"] = self._mlm_loss(mlm_input_ids.flatten(0, 1), sentence_mask.flatten(0, 1),
                                             mlm_labels.flatten(0, 1))
        return out

    def _mlm_loss(self, input_ids, attention_mask, labels) -> torch.Tensor:
        """Cross-entropy over the vocabulary at the masked positions. The vocabulary projection is
        the costliest layer (30k outputs for BERT), so it runs on those ~15% of positions only,
        when the backbone's MLM head is one module (BERT's ``cls``, RoBERTa's ``lm_head``)."""
        heads = [module for module in self.backbone.children() if module is not self.encoder]
        chosen = labels != IGNORE_INDEX
        if len(heads) != 1:
            out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, labels=labels, return_dict=True)
            return out.loss if chosen.any() else out.logits.sum() * 0
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state
        if not chosen.any():  # possible for a tiny batch: a loss of 0 that still has a graph
            return hidden.sum() * 0
        logits = heads[0](hidden[chosen])
        return F.cross_entropy(logits.float(), labels[chosen])

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
              token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Sentence embeddings [N, H] as used after training (head only when it is kept)."""
        pooled = self._pooled(input_ids, attention_mask, token_type_ids)
        return self.mlp(pooled) if self.embedding_uses_mlp else pooled

    # --- saving and loading -------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, tokenizer=None, extra: dict | None = None) -> None:
        """Write a folder that ``AutoModel`` and ``SimCSEModel.from_pretrained`` both load."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)
        if self.mlp is not None:
            save_file({k: v.detach().contiguous().cpu() for k, v in self.mlp.state_dict().items()},
                      directory / HEAD_WEIGHTS_NAME)
        record = {"pooler_type": self.pooler_type, "mlp_only_train": self.mlp_only_train,
                  "embedding": self.describe_embedding(), **(extra or {})}
        (directory / SIMCSE_CONFIG_NAME).write_text(json.dumps(record, indent=2) + "\n")

    def describe_embedding(self) -> str:
        if self.pooler_type == "cls":
            return "CLS state through the MLP head" if self.embedding_uses_mlp else \
                "CLS state (the MLP head was used in training only)"
        return {"cls_before_pooler": "CLS state", "avg": "mean of last-layer token states",
                "avg_first_last": "mean of first- and last-layer token states",
                "avg_top2": "mean of the last two layers' token states"}[self.pooler_type]

    @classmethod
    def from_pretrained(cls, name_or_path: str, pooler_type: str | None = None, *,
                        mlp_only_train: bool | None = None, with_mlm_head: bool = False,
                        random_init: bool = False, head_from_pooler: bool = False,
                        trust_remote_code: bool = False, dropout_mask: str = "independent",
                        dropout: float | None = None) -> "SimCSEModel":
        """Load a simcse-mini model (folder or hub name), or start from any Hugging Face encoder.

        For a simcse-mini model the recorded pooler is used unless ``pooler_type`` overrides it.
        For a plain encoder the pooler defaults to ``cls`` (a fresh MLP head, as SimCSE starts).
        ``head_from_pooler`` takes the ``cls`` MLP head from the encoder's own pooling layer
        (BERT/RoBERTa ``pooler.dense`` + Tanh, the same shape), which is where SimCSE's published
        checkpoints (princeton-nlp/*) and simcse-mini's Hugging Face export keep the trained MLP.
        ``dropout`` sets the rate of every dropout in the encoder (default: the encoder's own).
        """
        record_file = find_model_file(name_or_path, SIMCSE_CONFIG_NAME)
        record = json.loads(Path(record_file).read_text()) if record_file else {}
        pooler = pooler_type or record.get("pooler_type", "cls")
        head_in_pooler = head_from_pooler and pooler == "cls"
        backbone = load_backbone(name_or_path, with_mlm_head=with_mlm_head, random_init=random_init,
                                 with_pooling_layer=head_in_pooler, trust_remote_code=trust_remote_code)
        if dropout is not None:
            set_dropout_rate(backbone, dropout)
        if head_in_pooler:  # move the pooling layer into the head, so the encoder never computes it
            pooler_layer, backbone.pooler = backbone.pooler, None
        keep_mlp_flag = mlp_only_train if mlp_only_train is not None else record.get("mlp_only_train", False)
        model = cls(backbone, pooler_type=pooler, mlp_only_train=keep_mlp_flag and pooler == "cls",
                    dropout_mask=dropout_mask)
        if head_in_pooler:
            model.mlp.dense.load_state_dict(pooler_layer.dense.state_dict())
        elif model.mlp is not None and (head_file := find_model_file(name_or_path, HEAD_WEIGHTS_NAME)):
            model.mlp.load_state_dict(load_file(head_file))
        return model

