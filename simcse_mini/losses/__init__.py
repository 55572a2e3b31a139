"""Training objectives. One file per loss; each documents what it takes and returns."""

from .infonce import InfoNCELoss
from .mlm import mask_tokens

__all__ = ["InfoNCELoss", "mask_tokens"]
