"""STS evaluation (STS12-16, STS-B, SICK-R) for any sentence encoder, SentEval-compatible.

``evaluate_sts(encoder, tasks)`` scores an encoder (a function ``list[str] -> array``
or an object with such an ``encode`` method) on tasks loaded from a data source;
``STSEvaluator`` does the same for model selection during training.
"""

from .data import TASKS, HubSource, SentEvalFolder, open_source
from .sts import STSEvaluator, evaluate_sts

__all__ = ["TASKS", "HubSource", "STSEvaluator", "SentEvalFolder", "evaluate_sts", "open_source"]
