"""The model store: atomic versions with checksum and library versions checked on load."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import scipy
import sklearn

from matchning.errors import ModelUnavailable, ServiceUnavailable
from matchning.ml import registry
from matchning.ml.registry import ARTIFACT, METADATA, load, metadata, save, versions


class Small:
    """A picklable stand-in for a model."""

    def __init__(self, weights):
        self.weights = weights

    def __eq__(self, other):
        return isinstance(other, Small) and np.array_equal(self.weights, other.weights)


def _edit_metadata(root: Path, version: str, **changes) -> None:
    path = root / version / METADATA
    meta = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict):
            meta[key] = {**meta.get(key, {}), **value}
        else:
            meta[key] = value
    path.write_text(json.dumps(meta), encoding="utf-8")


@pytest.fixture
def saved(tmp_path: Path):
    model = Small(np.arange(10, dtype=float))
    version = save(model, tmp_path, {"estimator": "gradient_boosting", "rows": 321,
                                     "note": "första modellen – åäö"})
    return tmp_path, version, model


def test_save_then_versions_lists_it(saved):
    root, version, _ = saved
    found = versions(root)
    assert [m["version"] for m in found] == [version]
    meta = found[0]
    assert re.fullmatch(r"[0-9a-f]{64}", meta["sha256"])
    assert meta["sha256"] == registry.sha256_of(root / version / ARTIFACT)
    assert datetime.fromisoformat(meta["created_at"]).tzinfo is not None
    assert meta["libraries"] == {"scikit-learn": sklearn.__version__,
                                 "numpy": np.__version__, "scipy": scipy.__version__}
    assert meta["estimator"] == "gradient_boosting"
    assert meta["rows"] == 321
    assert meta["note"] == "första modellen – åäö"
    assert "code_version" in meta
    assert sorted(p.name for p in (root / version).iterdir()) == sorted([ARTIFACT, METADATA])


def test_load_returns_the_object(saved):
    root, version, model = saved
    loaded, meta = load(root, version)
    assert loaded == model
    assert loaded is not model
    assert meta == metadata(root, version)


def test_versions_oldest_first_and_given_version_id(tmp_path):
    first = save(Small(np.zeros(2)), tmp_path, {}, version="20240101T000000Z-aaaaaa")
    second = save(Small(np.ones(2)), tmp_path, {})
    assert first == "20240101T000000Z-aaaaaa"
    assert [m["version"] for m in versions(tmp_path)] == [first, second]
    assert load(tmp_path, first)[0] == Small(np.zeros(2))
    assert load(tmp_path, second)[0] == Small(np.ones(2))


def test_versions_of_a_missing_directory_is_empty(tmp_path):
    assert versions(tmp_path / "finns-inte") == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "append", "delete"])
def test_damaged_artifact_is_refused(saved, damage):
    root, version, _ = saved
    path = root / version / ARTIFACT
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[:-10]))
    elif damage == "append":
        path.write_bytes(bytes(data) + b"\0")
    else:
        path.unlink()
    with pytest.raises(ModelUnavailable) as exc:
        load(root, version)
    assert exc.value.code == "model_unavailable"
    assert isinstance(exc.value, ServiceUnavailable)
    assert f"Modellversionen {version} är skadad" in exc.value.message
    assert "kontrollsumman" in exc.value.message


@pytest.mark.parametrize("library", ["scikit-learn", "numpy"])
def test_other_library_version_is_refused(saved, library):
    root, version, _ = saved
    _edit_metadata(root, version, libraries={library: "0.0.1"})
    with pytest.raises(ModelUnavailable) as exc:
        load(root, version)
    assert "byggdes med andra biblioteksversioner" in exc.value.message
    assert library in exc.value.message and "0.0.1" in exc.value.message


def test_missing_library_entry_is_refused(saved):
    root, version, _ = saved
    path = root / version / METADATA
    meta = json.loads(path.read_text(encoding="utf-8"))
    del meta["libraries"]["scikit-learn"]
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="biblioteksversioner"):
        load(root, version)


def test_scipy_version_is_not_checked(saved):
    """Only scikit-learn and numpy must match (scipy patch releases keep pickles working)."""
    root, version, model = saved
    _edit_metadata(root, version, libraries={"scipy": "0.0.1"})
    assert load(root, version)[0] == model


def test_metadata_edit_without_artifact_change_keeps_checksum(saved):
    root, version, model = saved
    _edit_metadata(root, version, note="ändrad")
    loaded, meta = load(root, version)
    assert loaded == model and meta["note"] == "ändrad"


def test_unknown_version_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="finns inte"):
        load(tmp_path, "20990101T000000Z-ffffff")
    with pytest.raises(ModelUnavailable, match="finns inte"):
        metadata(tmp_path, "20990101T000000Z-ffffff")


def test_half_written_directories_are_invisible(saved):
    root, version, model = saved
    # A save in progress (or killed mid-way): complete files, but under the temporary name.
    tmp = root / ".tmp-20990101T000000Z-abcdef"
    tmp.mkdir()
    (tmp / ARTIFACT).write_bytes((root / version / ARTIFACT).read_bytes())
    (tmp / METADATA).write_text((root / version / METADATA).read_text(encoding="utf-8")
                                .replace(version, "20990101T000000Z-abcdef"), encoding="utf-8")
    # A directory with the artifact but no metadata yet, and a stray file.
    partial = root / "20990101T000000Z-partia"
    partial.mkdir()
    (partial / ARTIFACT).write_bytes(b"half")
    (root / "README.txt").write_text("inte en version", encoding="utf-8")
    assert [m["version"] for m in versions(root)] == [version]
    assert load(root, version)[0] == model


def test_failed_save_leaves_nothing(tmp_path):
    save(Small(np.zeros(1)), tmp_path, {})
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises
        save(lambda x: x, tmp_path, {})   # a lambda cannot be pickled
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(versions(tmp_path)) == 1


def test_existing_version_is_not_overwritten(saved):
    root, version, model = saved
    with pytest.raises(OSError):
        save(Small(np.ones(3)), root, {}, version=version)
    assert load(root, version)[0] == model
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]


def test_damaged_metadata_is_unavailable(saved):
    root, version, _ = saved
    path = root / version / METADATA
    path.write_text(path.read_text(encoding="utf-8")[:20], encoding="utf-8")
    with pytest.raises(ModelUnavailable):
        load(root, version)
