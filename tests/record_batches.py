"""Goes once over the training data as the trainer does, alone or under ``accelerate launch``, and
records which examples this process received.

``--runs`` is a JSON object {name: config overrides}. For each run, process N writes to
``--out/rank-N.json`` the batches of the first epoch, each a list of examples, each example the
list of its decoded sentences. Used by test_data.py to check how processes share the data.
"""

import argparse
import json
import sys
from pathlib import Path

from accelerate import Accelerator

sys.path.insert(0, str(Path(__file__).parent))
from conftest import exit_launched_process  # noqa: E402

from simcse_mini.config import load_config  # noqa: E402
from simcse_mini.data import build_train_dataset, build_train_loader, loader_config  # noqa: E402
from simcse_mini.model import load_tokenizer  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--encoder", required=True)
parser.add_argument("--runs", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

tokenizer = load_tokenizer(args.encoder)
record = {}
for name, overrides in json.loads(args.runs).items():
    cfg = load_config(None, {"model_name_or_path": args.encoder, **overrides})
    accelerator = Accelerator(cpu=True, dataloader_config=loader_config(cfg))  # as the trainer has it
    with accelerator.main_process_first():
        dataset = build_train_dataset(cfg, tokenizer)
    loader = accelerator.prepare(build_train_loader(cfg, dataset, tokenizer.pad_token_id, accelerator.num_processes))
    loader.set_epoch(0)
    record[name] = [[tokenizer.batch_decode(example, skip_special_tokens=True) for example in batch["input_ids"]]
                    for batch in loader]
Path(args.out, f"rank-{accelerator.process_index}.json").write_text(json.dumps(record))
accelerator.end_training()
exit_launched_process()
