"""One encode call shared among processes under accelerate equals the call in one process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from conftest import free_port
from embedding_models import make_spread_encoder, save_simcse_model

HERE = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": str(HERE.parent), "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def test_two_processes_share_the_batches_and_return_the_same_embeddings(tmp_path):
    model = save_simcse_model(make_spread_encoder(tmp_path / "enc"), tmp_path / "model")
    # On a machine without GPUs, --multi_gpu starts gloo processes on the CPU. A free port, not the
    # default one, so that other jobs on a shared machine cannot collide with this one.
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(free_port())]
    for name, command in (("one", [sys.executable]), ("two", launcher)):
        subprocess.run([*command, str(HERE / "distributed_encode.py"), "--model", str(model),
                        "--out", str(tmp_path / f"{name}.npy")], check=True, env=ENV, timeout=300)
    one, two = np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy")
    np.testing.assert_allclose(two, one, atol=1e-6)
    counts = [json.loads((tmp_path / f"two.npy.rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [c["processes"] for c in counts] == [2, 2]
    assert [c["batches"] for c in counts] == [7, 6]  # 13 batches of 4, shared round robin
    assert json.loads((tmp_path / "one.npy.rank0.json").read_text())["batches"] == 13
