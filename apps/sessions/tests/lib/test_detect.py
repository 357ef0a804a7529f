import gzip
from pathlib import Path

import pytest

from apps.sessions.lib.imports import ImportFormatError, detect_format


def test_it_detects_every_real_fixture_by_content(
    fixtures_dir: Path, imola_ld: Path, kyalami_ldx: Path
) -> None:
    assert detect_format(imola_ld.read_bytes()[:4096]) == "motec_ld"
    assert detect_format(kyalami_ldx.read_bytes()[:4096]) == "motec_ldx"
    assert (
        detect_format((fixtures_dir / "garage61" / "sample_lap.csv.gz").read_bytes()[:4096]) == "garage61_csv"
    )
    for path in (fixtures_dir / "crewchief").glob("*.csv.gz"):
        assert detect_format(path.read_bytes()[:4096]) == "crewchief_csv", path.name


def test_it_reads_flux_annotations_and_plain_text() -> None:
    head = b"#group,false,false\n#datatype,string,long\n,result,table,_time,CurrentLap,SpeedMs\n"
    assert detect_format(head) == "crewchief_csv"
    assert detect_format(gzip.compress(b"Speed,LapDistPct,Lat\n1,0.1,2\n")) == "garage61_csv"


def test_it_ignores_the_file_name_and_rejects_other_csv(fixtures_dir: Path) -> None:
    pcars = (fixtures_dir / "ams2" / "20171230_163321_bh_win.csv").read_bytes()[:4096]
    with pytest.raises(ImportFormatError, match="not a MoTeC .ld, .ldx, Garage 61 CSV or Crew Chief CSV"):
        detect_format(pcars)


@pytest.mark.parametrize("head", [b"\x00\x01garbage\xff" * 50, b"<html><body>", b"a,b,c\n1,2,3\n"])
def test_it_rejects_garbage(head: bytes) -> None:
    with pytest.raises(ImportFormatError, match="not a MoTeC"):
        detect_format(head)


def test_it_names_an_empty_file() -> None:
    with pytest.raises(ImportFormatError, match="empty"):
        detect_format(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        detect_format(gzip.compress(b""))
