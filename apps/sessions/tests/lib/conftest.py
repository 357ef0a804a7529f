from pathlib import Path

import pytest

# `fixtures_dir` (the real recordings; skip or fail when absent) is in the root conftest.py


@pytest.fixture(scope="session")
def imola_ld(fixtures_dir: Path) -> Path:
    return fixtures_dir / "acc" / "Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld"


@pytest.fixture(scope="session")
def kyalami_ldx(fixtures_dir: Path) -> Path:
    return fixtures_dir / "acc" / "Kyalami-porsche_991ii_gt3_r-3-2021.12.15-21.43.22.ldx"
