"""One training step on a fixed global batch, run alone or under ``accelerate launch``.

Each process takes its slice of the same global batch; rank 0 writes the mean loss and the
gradients (after DDP's averaging) to ``--out``. Used by test_train.py to show that two processes
give the gradients of one process on the concatenated batch.
"""

import argparse
import sys
from pathlib import Path

import torch
from accelerate import Accelerator

sys.path.insert(0, str(Path(__file__).parent))
from conftest import exit_launched_process, make_sentences  # noqa: E402

from simcse_mini.config import TrainConfig  # noqa: E402
from simcse_mini.data import ContrastiveCollator  # noqa: E402
from simcse_mini.losses import InfoNCELoss  # noqa: E402
from simcse_mini.model import SimCSEModel, load_tokenizer  # noqa: E402
from simcse_mini.trainer import compute_loss  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--encoder", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--objective", default="unsup")
args = parser.parse_args()

accelerator = Accelerator(cpu=True)
cfg = TrainConfig(model_name_or_path=args.encoder, objective=args.objective, hard_negative_weight=0.5)
tokenizer = load_tokenizer(args.encoder)
torch.manual_seed(0)
model = SimCSEModel.from_pretrained(args.encoder, "cls")
views = 1 if args.objective == "unsup" else 3
sentences = make_sentences(8 * views, seed=3)
examples = [{"input_ids": tokenizer(sentences[i * views:(i + 1) * views])["input_ids"]} for i in range(8)]
batch = ContrastiveCollator(tokenizer.pad_token_id)(examples)
per_process = 8 // accelerator.num_processes
rank = accelerator.process_index
local = {k: v[rank * per_process:(rank + 1) * per_process] for k, v in batch.items()}
model = accelerator.prepare(model)
model.train()
loss = compute_loss(model, InfoNCELoss(0.05, cfg.hard_negative_weight), local, cfg)
accelerator.backward(loss)
mean_loss = accelerator.reduce(loss.detach(), "mean")
if accelerator.is_main_process:
    grads = {n: p.grad.clone() for n, p in accelerator.unwrap_model(model).named_parameters() if p.grad is not None}
    torch.save({"loss": mean_loss.item(), "grads": grads, "processes": accelerator.num_processes}, args.out)
accelerator.end_training()
exit_launched_process()
