"""The model store on disk: one directory per version with the artifact and its metadata.

A version directory is written under a temporary name and renamed when complete, so a reader
never sees half a model. Loading verifies the checksum and the library versions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from matchning.errors import ModelUnavailable

log = logging.getLogger("matchning.registry")
ARTIFACT = "model.joblib"
METADATA = "metadata.json"


def library_versions() -> dict[str, str]:
    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__}


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("matchning")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def new_version_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(model: Any, models_dir: Path, metadata: dict[str, Any],
         version: str | None = None) -> str:
    """Write a new version directory atomically; returns the version id."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    version = version or new_version_id()
    tmp = models_dir / f".tmp-{version}"
    tmp.mkdir()
    try:
        joblib.dump(model, tmp / ARTIFACT, compress=3)
        meta = {**metadata, "version": version, "created_at": datetime.now(UTC).isoformat(),
                "code_version": code_version(), "libraries": library_versions(),
                "sha256": sha256_of(tmp / ARTIFACT)}
        (tmp / METADATA).write_text(json.dumps(meta, ensure_ascii=False, indent=2,
                                               default=str), encoding="utf-8")
        os.replace(tmp, models_dir / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return version


def metadata(models_dir: Path, version: str) -> dict[str, Any]:
    path = Path(models_dir) / version / METADATA
    # A version is a plain directory name: never a path, never a half-written ".tmp-" one.
    if not version or version.startswith(".") or Path(version).name != version \
            or not path.is_file():
        raise ModelUnavailable(f"Modellversionen {version} finns inte.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Modellversionen {version} har en skadad metadatafil.") from exc


def versions(models_dir: Path) -> list[dict[str, Any]]:
    """Metadata of every complete version, oldest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        if d.is_dir() and not d.name.startswith(".") and (d / METADATA).is_file():
            try:
                out.append(metadata(root, d.name))
            except ModelUnavailable:
                log.error("model version %s has damaged metadata; skipped", d.name)
    return sorted(out, key=lambda m: m["created_at"])


def load(models_dir: Path, version: str) -> tuple[Any, dict[str, Any]]:
    meta = metadata(models_dir, version)
    path = Path(models_dir) / version / ARTIFACT
    if not path.is_file() or sha256_of(path) != meta.get("sha256"):
        raise ModelUnavailable(f"Modellversionen {version} är skadad (kontrollsumman stämmer "
                              "inte).")
    built, here = meta.get("libraries", {}), library_versions()
    wrong = {k: (built.get(k), v) for k, v in here.items() if k != "scipy"
             and built.get(k) != v}
    if wrong:
        raise ModelUnavailable(f"Modellversionen {version} byggdes med andra biblioteksversioner "
                              f"än de som körs nu: {wrong}.")
    return joblib.load(path), meta
