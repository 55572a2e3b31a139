"""simcse-mini: train, use and evaluate SimCSE sentence embeddings."""

from .config import ConfigError, TrainConfig, load_config
from .model import SimCSEModel

__version__ = "0.1.0"
__all__ = ["ConfigError", "SimCSEModel", "TrainConfig", "load_config"]
