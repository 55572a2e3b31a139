"""Encode a fixed list of sentences with ``SimCSE``, alone or under ``accelerate launch``.

The script is the same either way. Rank 0 saves the embeddings to ``--out``; every process writes
how many batches it encoded to ``--out``.rankN.json. Used by test_distributed_encode.py to show
that several processes share the batches and return what one process returns.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from accelerate import PartialState

sys.path.insert(0, str(Path(__file__).parent))
from conftest import exit_launched_process  # noqa: E402
from embedding_models import varied_sentences  # noqa: E402

from simcse_mini import SimCSE  # noqa: E402
from simcse_mini.distributed import world  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

model = SimCSE.from_pretrained(args.model)  # on this process's own device
batches = 0
embed = model.model.embed


def counting_embed(*inputs):
    global batches
    batches += 1
    return embed(*inputs)


model.model.embed = counting_embed
embeddings = model.encode(varied_sentences(50), batch_size=4)
rank, size = world()
Path(f"{args.out}.rank{rank}.json").write_text(json.dumps({"batches": batches, "processes": size}))
if rank == 0:
    np.save(args.out, embeddings)
PartialState().destroy_process_group()
exit_launched_process()
