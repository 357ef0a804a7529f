import os
from pathlib import Path

import pytest

# repo root is four levels up (apps/sessions/tests/lib); the fixtures sit beside the repo
DEFAULT_FIXTURES = Path(__file__).resolve().parents[4] / ".." / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    path = Path(os.environ.get("SIMCOACH_FIXTURES", DEFAULT_FIXTURES))
    if not path.is_dir():
        pytest.skip(f"SIMCOACH_FIXTURES {path} not found")
    return path


@pytest.fixture(scope="session")
def imola_ld(fixtures_dir: Path) -> Path:
    return fixtures_dir / "acc" / "Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld"


@pytest.fixture(scope="session")
def kyalami_ldx(fixtures_dir: Path) -> Path:
    return fixtures_dir / "acc" / "Kyalami-porsche_991ii_gt3_r-3-2021.12.15-21.43.22.ldx"
