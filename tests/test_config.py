"""Configuration files, overrides and their error messages."""

import pytest

from simcse_mini.config import ConfigError, load_config, parse_overrides


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_yaml_and_overrides(tmp_path):
    path = write(tmp_path, "model_name_or_path: m\nlearning_rate: 3e-5\nmlp_only_train: true\n")
    cfg = load_config(path, parse_overrides(["--temp", "0.1", "--max_steps=7", "--do_mlm"]))
    assert cfg.learning_rate == 3e-5 and cfg.mlp_only_train and cfg.temp == 0.1 and cfg.max_steps == 7 and cfg.do_mlm


def test_unknown_key_suggests_closest(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'learning_rat' in .*c.yaml \(did you mean 'learning_rate'\?\)"):
        load_config(write(tmp_path, "model_name_or_path: m\nlearning_rat: 1e-5\n"))
    with pytest.raises(ConfigError, match=r"unknown config key 'tmp' in the command line \(did you mean 'temp'\?\)"):
        load_config(None, {"model_name_or_path": "m", "tmp": "0.1"})


@pytest.mark.parametrize("key,value,message", [
    ("per_device_train_batch_size", "abc", r"per_device_train_batch_size in the command line: expected int, got 'abc'"),
    ("learning_rate", "fast", r"learning_rate in the command line: expected float"),
    ("do_mlm", "maybe", r"do_mlm in the command line: expected bool"),
    ("temp", "0", r"temp=0.0: the temperature must be > 0"),
    ("temp", "-0.5", r"temp=-0.5: the temperature must be > 0"),
    ("pooler_type", "max", r"pooler_type='max': unknown pooler; choose one of cls, cls_before_pooler, avg"),
    ("per_device_train_batch_size", "1", r"per_device_train_batch_size=1: contrastive learning needs at least 2"),
    ("objective", "triplet", r"objective='triplet': choose one of unsup, sup"),
    ("mixed_precision", "fp8", r"mixed_precision='fp8'"),
    ("lr_scheduler_type", "zigzag", r"lr_scheduler_type='zigzag': unknown schedule"),
    ("dropout", "1.0", r"dropout=1.0: a probability in \[0, 1\)"),
    ("report_to", "tensorbord", r"report_to='tensorbord': choose none, all, or one or more of tensorboard, wandb"),
    ("report_to", "none,wandb", r"report_to='none,wandb': choose none, all"),
])
def test_bad_values(key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, {"model_name_or_path": "m", key: value})


def test_report_to_lists_trackers():
    assert load_config(None, {"model_name_or_path": "m"}).log_with is None
    assert load_config(None, {"model_name_or_path": "m", "report_to": "all"}).log_with == "all"
    assert load_config(None, {"model_name_or_path": "m", "report_to": "tensorboard, wandb"}).log_with == [
        "tensorboard", "wandb"]


def test_wrong_type_in_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"num_train_epochs in .*c.yaml: expected int, got 'three'"):
        load_config(write(tmp_path, "model_name_or_path: m\nnum_train_epochs: three\n"))


def test_mlp_only_train_needs_cls():
    with pytest.raises(ConfigError, match="mlp_only_train"):
        load_config(None, {"model_name_or_path": "m", "pooler_type": "avg", "mlp_only_train": "true"})


def test_missing_model_and_file(tmp_path):
    with pytest.raises(ConfigError, match="model_name_or_path is required"):
        load_config(None, {})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_override_syntax_error():
    with pytest.raises(ConfigError, match="expected an option like --learning_rate"):
        parse_overrides(["learning_rate", "1e-5"])


def test_shipped_configs_load():
    from pathlib import Path
    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert len(configs) >= 5
    for path in configs:
        if path.name.startswith("small-"):  # offline recipes: the model and data paths come from the command line
            with pytest.raises(ConfigError, match="model_name_or_path is required"):
                load_config(path)
            load_config(path, {"model_name_or_path": "encoder", "train_file": "sentences.txt"})
        else:
            load_config(path)
