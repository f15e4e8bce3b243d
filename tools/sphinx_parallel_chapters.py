"""Sphinx extension: the build executes two chapters at a time.

jupyter-book reads (and so executes) one page after another. Sphinx can read pages in parallel
worker processes, each taking a fixed run of pages from the list it is about to read; this
extension turns that on and orders the list so that the runs make sense for this book:

* the chapters named in ``lmtheory_read_together`` (in ``_config.yml``) are read by one worker, in
  that order: chapter 9 reuses the models chapter 8 trains (from the run cache), so it must come
  after chapter 8, not beside it, and a few short chapters follow them so that both workers finish
  at about the same time;
* that worker also takes the pages that run no code, and the other worker the remaining chapters.

Workers: ``LMTHEORY_BUILD_JOBS`` (default 2, or 1 on a one-core machine; 1 reads serially as
jupyter-book does). Each chapter's kernel gets an equal share of the cores (``OMP_NUM_THREADS``), so
two kernels do not fight over the same cores.

Sphinx replays a worker's log only when its whole run is read, so each worker also prints a line
when it starts a page: the build shows its progress as it goes.

Sphinx reads in parallel only when every extension says it may. Two that jupyter-book loads say
nothing although they keep no data per page (:data:`UNDECLARED_BUT_SAFE`), and sphinx-proof's domain
cannot merge the (empty) data of a worker: this extension vouches for the first two and gives the
domain a merge that has nothing to do. With one worker none of this happens.
"""

from __future__ import annotations

import os
import sys

from sphinx.domains import Domain
from sphinx.util.parallel import make_chunks

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: Sphinx reads in parallel only a list of more pages than this (sphinx.builders.Builder.read); a rebuild
#: that reads fewer (only the pages changed since the last build) reads them one at a time, in our order.
SERIAL_UP_TO = 5

#: Extensions loaded by jupyter-book that do not say whether they are safe to read in parallel; both
#: keep no data per page (the LaTeX transforms run only for the LaTeX builder, and multitoc numbering
#: numbers sections after every page is read), so they are.
UNDECLARED_BUT_SAFE = ("sphinx_jupyterbook_latex", "sphinx_multitoc_numbering")


def _nothing_to_merge(domain, docnames, otherdata) -> None:
    """sphinx-proof's domain keeps no data of its own (its proofs live in ``env.proof_list``, which
    sphinx-proof merges itself), but does not say so, and Sphinx refuses to merge it."""


def build_jobs() -> int:
    """Workers from ``LMTHEORY_BUILD_JOBS`` (a positive integer), else 2 (1 on a one-core machine)."""
    value = os.environ.get("LMTHEORY_BUILD_JOBS", "").strip()
    if not value:
        return min(2, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LMTHEORY_BUILD_JOBS must be a positive integer (1 reads the pages one at a "
                         f"time), got {value!r}")
    return int(value)


def reading_order(docnames: list[str], notebooks: set[str], together: list[str], jobs: int) -> list[str]:
    """``docnames`` reordered so that Sphinx's runs of pages (:func:`make_chunks`) give the first worker
    the pages of ``together`` that are to be read (in that order) and then the pages that are not
    ``notebooks``, and the others the rest. A rebuild reads only the pages changed since the last one:
    the others of ``together`` are simply not there.

    Example: ``reading_order(["a", "ch1", "ch2", "ch3"], {"ch1", "ch2", "ch3"}, ["ch3"], 2)``
    -> ``["ch3", "a", "ch1", "ch2"]``.
    """
    together = [name for name in together if name in docnames]
    size = len(make_chunks(docnames, jobs)[0])
    if len(docnames) > SERIAL_UP_TO and jobs > 1 and len(together) > size:
        raise ValueError(f"lmtheory_read_together names {len(together)} pages, more than one worker reads "
                         f"({size} of {len(docnames)} with {jobs} workers)")
    first = together + [name for name in docnames if name not in notebooks and name not in together]
    return first + [name for name in docnames if name not in first]


def check_together(together: list[str], pages) -> list[str]:
    """``together`` if it names only pages of the book (``pages``: every page Sphinx found), else an error."""
    unknown = [name for name in together if name not in pages]
    if unknown:
        raise ValueError(f"lmtheory_read_together names {unknown}, which are not pages of the book; "
                         f"its pages are: {', '.join(sorted(pages))}")
    return list(together)


def _order(app, env, docnames: list[str]) -> None:
    if app.parallel > 1:
        notebooks = {name for name in docnames if str(env.doc2path(name)).endswith(".ipynb")}
        together = check_together(app.config.lmtheory_read_together, env.found_docs)
        docnames[:] = reading_order(list(docnames), notebooks, together, app.parallel)


def _announce(app, docname: str, source: list[str]) -> None:
    """Print (not log) that a worker starts a page: the log of a worker appears only when it is done."""
    if app.parallel > 1:
        print(f"[worker {os.getpid()}] reading {docname}", file=sys.__stdout__, flush=True)


def _use_workers(app) -> None:
    jobs = build_jobs()
    if jobs < 2 or app.builder.name not in ("html", "dirhtml", "singlehtml"):
        return
    app.parallel = jobs
    for name in UNDECLARED_BUT_SAFE:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True
            extension.parallel_write_safe = True
    from sphinx_proof.domain import ProofDomain

    if ProofDomain.merge_domaindata is Domain.merge_domaindata and not ProofDomain.initial_data:
        ProofDomain.merge_domaindata = _nothing_to_merge
    share = str(max(1, (os.cpu_count() or 1) // jobs))
    for variable in THREAD_VARIABLES:  # read by each kernel's torch and BLAS when it starts
        os.environ.setdefault(variable, share)


def setup(app):
    app.add_config_value("lmtheory_read_together", [], "env", list)
    app.connect("builder-inited", _use_workers)
    app.connect("env-before-read-docs", _order)
    app.connect("source-read", _announce)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
