"""simcse-mini: train, use and evaluate SimCSE sentence embeddings."""

from .api import SimCSE
from .config import ConfigError, TrainConfig, load_config
from .model import SimCSEModel

__version__ = "0.1.0"
__all__ = ["ConfigError", "SimCSE", "SimCSEModel", "TrainConfig", "load_config"]
