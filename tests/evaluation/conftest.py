"""Fixtures: small data folders in every format the STS loaders read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sts_files import write_original_stsb, write_senteval_folder


@pytest.fixture
def senteval_dir(tmp_path: Path) -> Path:
    return write_senteval_folder(tmp_path)


@pytest.fixture
def original_stsb_dir(tmp_path: Path) -> Path:
    return write_original_stsb(tmp_path)
