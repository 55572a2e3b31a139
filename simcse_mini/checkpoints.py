"""Recognising what a path or hub name holds, and loading it as a SimCSEModel for embedding.

What is recognised, in this order:

1. A training run folder (``summary.json``, ``best/``, ``final/``): its ``best/`` model, else ``final/``.
2. A simcse-mini model (``simcse_config.json``): the recorded pooler and MLP head.
3. Any other Hugging Face encoder. The pooler is ``pooler=`` when given, else the first of:
   - the pooling of a sentence-transformers folder (``1_Pooling``: CLS -> ``cls_before_pooler``,
     mean -> ``avg``), with its ``max_seq_length``;
   - ``simcse_pooler_type`` in ``config.json``, written by simcse-mini's Hugging Face export;
   - a princeton-nlp SimCSE name: ``unsup-simcse-*`` -> ``cls_before_pooler`` (their unsupervised
     models drop the MLP after training), ``sup-simcse-*`` -> ``cls``;
   - ``avg`` (mean pooling, the better choice for encoders not trained for sentence embeddings).
   With ``cls``, the MLP head is the checkpoint's own pooling layer (``pooler.dense`` + Tanh), which
   is where princeton-nlp checkpoints and the Hugging Face export keep the trained MLP; a checkpoint
   without one is refused rather than given a random head.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .model import SIMCSE_CONFIG_NAME, ModelLoadError, SimCSEModel, find_model_file

logger = logging.getLogger(__name__)

RUN_MODEL_FOLDERS = ("best", "final")  # in order of preference
CONFIG_POOLER_KEY = "simcse_pooler_type"
SENTENCE_TRANSFORMERS_POOLERS = {"cls": "cls_before_pooler", "mean": "avg"}
# Modules simcse-mini reproduces (Normalize: encode returns unit vectors by default).
SENTENCE_TRANSFORMERS_REPRODUCED = ("Transformer", "Pooling", "Normalize")


@dataclass
class LoadedModel:
    model: SimCSEModel
    path: str  # the model folder or hub name actually loaded
    pooler_source: str  # why this pooler, in words
    max_length: int | None = None  # a limit the checkpoint records, if any
    record: dict = field(default_factory=dict)  # simcse_config.json of a simcse-mini model


def model_folder_of_run(name_or_path: str) -> str:
    """A training run folder stands for its best model (else its final one); anything else for itself."""
    run = Path(name_or_path)
    if not ((run / "summary.json").is_file() or any((run / sub).is_dir() for sub in RUN_MODEL_FOLDERS)):
        return name_or_path
    for sub in RUN_MODEL_FOLDERS:
        if (run / sub / SIMCSE_CONFIG_NAME).is_file():
            logger.info("%s is a training run: using its %s/ model", run, sub)
            return str(run / sub)
    raise ModelLoadError(f"{run} is a training run folder without a saved best/ or final/ model "
                         "(has the run finished or evaluated once?)")


def load_for_embedding(name_or_path: str, pooler: str | None = None,
                       trust_remote_code: bool = False) -> LoadedModel:
    """Load a run folder, simcse-mini model or Hugging Face encoder as the module docstring says."""
    path = model_folder_of_run(name_or_path)
    record_file = find_model_file(path, SIMCSE_CONFIG_NAME)
    if record_file:
        record = json.loads(Path(record_file).read_text())
        if pooler == "cls" and record["pooler_type"] != "cls":
            raise ModelLoadError(f"{path} was trained with the {record['pooler_type']} pooler and has no MLP head "
                                 "for cls")
        model = SimCSEModel.from_pretrained(path, pooler, trust_remote_code=trust_remote_code)
        loaded = LoadedModel(model, path, "given" if pooler else "recorded by simcse-mini", record=record)
    else:
        st_pooling, max_length = sentence_transformers_settings(path)
        if pooler:
            source = "given"
        elif st_pooling is not None:
            if st_pooling not in SENTENCE_TRANSFORMERS_POOLERS:
                raise ModelLoadError(f"{path} is a sentence-transformers model ({st_pooling}) that simcse-mini does "
                                     "not reproduce; pass pooler= to choose one, or use sentence-transformers")
            pooler, source = SENTENCE_TRANSFORMERS_POOLERS[st_pooling], "sentence-transformers pooling config"
        else:
            pooler, source = plain_encoder_pooler(path)
        model = SimCSEModel.from_pretrained(path, pooler, head_from_pooler=True, trust_remote_code=trust_remote_code)
        loaded = LoadedModel(model, path, source, max_length)
    logger.info("Loaded %s: %s (pooler %s, %s)", path, model.describe_embedding(), model.pooler_type,
                loaded.pooler_source)
    return loaded


def plain_encoder_pooler(name_or_path: str) -> tuple[str, str]:
    """(pooler, why) for a Hugging Face encoder that records no pooling of its own elsewhere."""
    config_file = find_model_file(name_or_path, "config.json")
    recorded = json.loads(Path(config_file).read_text()).get(CONFIG_POOLER_KEY) if config_file else None
    if recorded:
        return recorded, f"{CONFIG_POOLER_KEY} in config.json"
    name = Path(name_or_path).name.lower()
    if name.startswith("unsup-simcse"):
        return "cls_before_pooler", "unsupervised SimCSE checkpoint, by its name"
    if name.startswith("sup-simcse"):
        return "cls", "supervised SimCSE checkpoint, by its name"
    return "avg", "default for a plain encoder"


def sentence_transformers_settings(name_or_path: str) -> tuple[str | None, int | None]:
    """(pooling, max_seq_length) of a sentence-transformers model; (None, None) for other models.

    ``pooling`` is the pooling mode ("cls", "mean", ...) joined by "+" with any module other than
    the transformer, pooling and normalisation (a Dense layer, say), which simcse-mini cannot run.
    """
    modules_file = find_model_file(name_or_path, "modules.json")
    if modules_file is None:
        return None, None
    kinds = {module["type"].rsplit(".", 1)[-1]: module["path"]
             for module in json.loads(Path(modules_file).read_text())}
    pooling_file = find_model_file(name_or_path, f"{kinds['Pooling']}/config.json") if "Pooling" in kinds else None
    parts = [_pooling_mode(json.loads(Path(pooling_file).read_text())) if pooling_file else "no pooling"]
    parts += [kind for kind in kinds if kind not in SENTENCE_TRANSFORMERS_REPRODUCED]
    settings_file = find_model_file(name_or_path, "sentence_bert_config.json")
    settings = json.loads(Path(settings_file).read_text()) if settings_file else {}
    return "+".join(parts), settings.get("max_seq_length")


def _pooling_mode(config: dict) -> str:
    # sentence-transformers >= 6 writes "pooling_mode"; earlier versions one flag per mode.
    if "pooling_mode" in config:
        return config["pooling_mode"] if isinstance(config["pooling_mode"], str) else "+".join(config["pooling_mode"])
    flags = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_max_tokens": "max",
             "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
             "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}
    return "+".join(mode for key, mode in flags.items() if config.get(key)) or "mean"  # its default
