"""lmtheory under transformers 4 as well as 5 (``requirements`` allow >= 4.40; Colab has 5).

transformers 4.57.1 (with the huggingface_hub and tokenizers it needs) is installed once from PyPI
into a folder of the lmtheory cache and put first on ``PYTHONPATH`` of a child process, which
prepares the offline model from its GGUF file under transformers 4 and computes features. The
cache it runs in already holds the model prepared by transformers 5: version 4 must build its own
(a config written by 5 stores ``rope_parameters``, which 4 would misread as rope_theta 10,000
instead of 100,000), and its features must equal those computed here under transformers 5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import transformers

from lmtheory import offline
from lmtheory.features import extract_features
from lmtheory.models import OFFLINE_MODEL, load_model

pytestmark = pytest.mark.pypi

VERSION4 = ["transformers==4.57.1", "huggingface_hub==0.36.0", "tokenizers==0.22.1"]
TEXTS = ["A gem of a movie.", "Dull, long and loud.", "The acting carries a thin plot."]
PROMPT = " This movie is"

CHILD = """
import json, sys, transformers
from lmtheory.models import OFFLINE_MODEL, load_model
lm = load_model(OFFLINE_MODEL, verbose=False)
feats = lm.features(json.loads(sys.argv[1]), sys.argv[2], cache=False)
print(json.dumps({"version": transformers.__version__, "rope_theta": lm.model.config.rope_theta,
                  "f": feats.f.tolist()}))
"""


@pytest.fixture(scope="module")
def version4_path():
    """A folder holding transformers 4.57.1 and what it needs beyond this environment (about 13 s once)."""
    target = offline.cache_dir() / "test-envs" / "transformers-4.57.1"
    if not (target / "transformers" / "__init__.py").is_file():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--target", str(target), *VERSION4], check=True, timeout=300)
    return target


@pytest.mark.skipif(not transformers.__version__.startswith("5."), reason="compares against transformers 5")
def test_transformers_4_prepares_its_own_offline_model_with_the_same_features(version4_path, tmp_path):
    real = offline.cache_dir()
    load_model(OFFLINE_MODEL, verbose=False)  # the transformers-5 folder exists in the real cache
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    for entry in ("packages", "extracted"):
        (cache / entry).symlink_to(real / entry, target_is_directory=True)
    [folder5] = (real / "models").glob("*-transformers5")
    (cache / "models" / folder5.name).symlink_to(folder5, target_is_directory=True)

    env = dict(os.environ, PYTHONPATH=f"{version4_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               LMTHEORY_CACHE=str(cache), HF_HUB_OFFLINE="1")
    run = subprocess.run([sys.executable, "-c", CHILD, json.dumps(TEXTS), PROMPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    child = json.loads(run.stdout.strip().splitlines()[-1])

    assert child["version"] == "4.57.1" and child["rope_theta"] == 100000.0
    assert (cache / "models" / folder5.name.replace("transformers5", "transformers4") / "config.json").is_file()
    ours = extract_features(load_model(OFFLINE_MODEL, verbose=False), TEXTS, PROMPT, cache=False).f
    assert np.abs(np.array(child["f"]) - ours).max() < 1e-3 * np.abs(ours).max()
