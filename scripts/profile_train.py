"""Where a training step's time goes: simcse-mini's unsupervised step under torch.profiler.

Builds what the trainer builds (model, data loader, InfoNCE loss, fused AdamW), runs --warmup-steps
untimed steps and then --steps profiled ones, and prints the operators by their own CPU time, plus
the share of the step spent in each phase (data, forward, loss, backward, optimizer).

    python scripts/profile_train.py --encoder ../shared/models/mini-bert-mlm --precision bf16
    python scripts/profile_train.py --bert-base --precision fp32   # random bert-base-sized encoder
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile, record_function  # noqa: E402

from simcse_mini.config import load_config  # noqa: E402
from simcse_mini.data import build_train_dataset, build_train_loader  # noqa: E402
from simcse_mini.losses import InfoNCELoss  # noqa: E402
from simcse_mini.model import SimCSEModel, load_tokenizer  # noqa: E402

SHARED = ROOT.parent / "shared"
PHASES = ("data", "forward", "loss", "backward", "optimizer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=str(SHARED / "models" / "mini-bert-mlm"))
    parser.add_argument("--bert-base", action="store_true",
                        help="a random-initialised bert-base-sized encoder with --encoder's tokenizer")
    parser.add_argument("--train-file", default=str(SHARED / "data" / "train" / "wiki_sentences.txt"))
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="bf16")
    parser.add_argument("--group-by-length", action="store_true")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20, help="operators listed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        encoder = args.encoder
        if args.bert_base:
            from transformers import BertConfig, BertModel
            tokenizer = load_tokenizer(args.encoder)
            BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=768, num_hidden_layers=12,
                                 num_attention_heads=12, intermediate_size=3072)).save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            encoder = tmp
        cfg = load_config(None, {"model_name_or_path": encoder, "train_file": args.train_file, "objective": "unsup",
                                 "per_device_train_batch_size": args.batch_size, "mlp_only_train": True,
                                 "group_by_length": args.group_by_length})
        tokenizer = load_tokenizer(encoder)
        model = SimCSEModel.from_pretrained(encoder, "cls", mlp_only_train=True).train()
        loader = build_train_loader(cfg, build_train_dataset(cfg, tokenizer), tokenizer.pad_token_id, 1)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, fused=True)
        loss_fn = InfoNCELoss(0.05)
        batches = iter(loader)

        def step() -> None:
            with record_function("data"):
                batch = next(batches)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                with record_function("forward"):
                    views = model(batch["input_ids"], batch["attention_mask"])["embeddings"]
                with record_function("loss"):
                    loss = loss_fn(views[0], views[1])
            with record_function("backward"):
                loss.backward()
            with record_function("optimizer"):
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

        for _ in range(args.warmup_steps):
            step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                step()

    events = prof.key_averages()
    # On the CPU, autograd runs the backward pass in the calling thread, inside its range.
    phases = {e.key: e.cpu_time_total for e in events if e.key in PHASES}
    total = sum(phases.values())
    print(f"{args.steps} steps, {args.precision}, {args.threads} thread(s): "
          f"{total / args.steps / 1e6:.3f} s/step measured by the profiler")
    for phase in PHASES:
        print(f"  {phase:10s} {phases.get(phase, 0) / total:6.1%}")
    groups = defaultdict(float)
    for e in events:
        if e.key not in PHASES:
            groups[e.key] += e.self_cpu_time_total
    own = sum(groups.values())
    print("\nOperators by own CPU time (share of all operator time):")
    for name, micros in sorted(groups.items(), key=lambda kv: -kv[1])[: args.rows]:
        print(f"  {micros / own:6.1%}  {name}")


if __name__ == "__main__":
    main()
