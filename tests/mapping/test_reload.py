"""Hot reload: the mapping file and the CSV tables it reads are watched; a broken edit keeps
the last good plan and says why."""

from __future__ import annotations

import os
from pathlib import Path

from bridge.mapping.loader import MappingHolder

MAPPING = """\
version: 1
products:
  crosswalk:
    tills:
      csv: {file: skus.csv, key: ean, value: sku}
"""


def touch_later(path: Path, text: str) -> None:
    """Rewrite a file with a strictly newer modification time (coarse clocks exist)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_editing_a_crosswalk_csv_reloads_the_plan(tmp_path: Path) -> None:
    (tmp_path / "skus.csv").write_text("ean,sku\n03600000000017,TSHIRT-RED-M\n")
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    holder = MappingHolder(tmp_path / "mapping.yaml")
    first = holder.plan.version
    assert holder.plan.sku_in("tills", "03600000000017") == "TSHIRT-RED-M"
    assert holder.plan.inputs == ((tmp_path / "skus.csv").resolve(),)
    assert not holder.reload_if_changed()

    touch_later(tmp_path / "skus.csv", "ean,sku\n03600000000017,TSHIRT-BLUE-M\n")
    assert holder.reload_if_changed()
    assert holder.plan.sku_in("tills", "03600000000017") == "TSHIRT-BLUE-M"
    assert holder.plan.version != first  # the CSV is part of the mapping's version


def test_a_broken_csv_keeps_the_last_good_plan(tmp_path: Path) -> None:
    (tmp_path / "skus.csv").write_text("ean,sku\n1,A\n")
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    holder = MappingHolder(tmp_path / "mapping.yaml")
    good = holder.plan.version
    touch_later(tmp_path / "skus.csv", "ean,sku\n1,A\n1,B\n")
    assert not holder.reload_if_changed()
    assert holder.plan.version == good
    assert holder.error is not None
    assert "skus.csv:3: duplicate key '1' (first on line 2)" in holder.error
    assert holder.state()["status"] == "error"
    # fixing it reloads and clears the error
    touch_later(tmp_path / "skus.csv", "ean,sku\n1,B\n")
    assert holder.reload_if_changed()
    assert holder.error is None and holder.plan.sku_in("tills", "1") == "B"


def test_a_deleted_mapping_file_keeps_the_last_good_plan(tmp_path: Path) -> None:
    (tmp_path / "skus.csv").write_text("ean,sku\n1,A\n")
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    holder = MappingHolder(tmp_path / "mapping.yaml")
    (tmp_path / "mapping.yaml").unlink()
    assert not holder.reload_if_changed()
    assert holder.plan.sku_in("tills", "1") == "A"
    assert holder.error == f"{tmp_path / 'mapping.yaml'}: the mapping file is missing"
