"""Sphinx extension: the ``lmtheory-exec-report`` directive, a table of how the build ran each chapter.

One row per executed notebook: its title (linked), the run time and status that myst-nb recorded
while executing it, and the device, sizes and model source that the chapter's own setup cell printed
(``lmtheory.setup``'s line ``lmtheory 0.1.0 | torch ... | device: cpu | sizes: quick | models: ...``).
Nothing is typed in by hand: a chapter that did not run, or whose setup line is missing, shows a dash.

Usage in a MyST page::

    ```{lmtheory-exec-report}
    ```
"""

from __future__ import annotations

import posixpath
import re

from docutils import nodes
from myst_nb.ext.execution_tables import METADATA_KEY
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

SETUP_KEY = "lmtheory_setup_line"
# the models on a second line, which may wrap onto more lines indented by two spaces
SETUP_LINE = re.compile(r"^lmtheory \S+ \|.*\| device: .*(?:\n  \| .*(?:\n  .*)*)?$", re.M)
COLUMNS = ("Chapter", "Run time (s)", "Status", "Device", "Sizes", "Models", "torch")


class ReportNode(nodes.General, nodes.Element):
    """Placeholder, replaced by the table once every chapter has run."""


class ExecReport(SphinxDirective):
    has_content = False

    def run(self):
        # myst-nb re-renders pages carrying this key whenever a notebook is re-executed
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, METADATA_KEY, True)
        return [ReportNode()]


def record_setup_line(app, doctree) -> None:
    """After a page is read (and executed): keep the setup cell's printed line, if it has one."""
    for block in doctree.findall(nodes.literal_block):
        if "output" in block.get("classes", []):
            found = SETUP_LINE.search(block.astext())
            if found:
                NbMetadataCollector.set_doc_data(app.env, app.env.docname, SETUP_KEY, found.group(0))
                return


def setup_fields(line: str | None) -> dict[str, str]:
    """``"lmtheory 0.1.0 | torch 2.3 | device: cpu | ..."`` -> ``{"torch": "2.3", "device": "cpu", ...}``."""
    fields = {}
    for part in (line or "").replace("\n  | ", " | ").replace("\n  ", " ").split(" | ")[1:]:
        key, sep, value = part.partition(": ") if ": " in part else part.partition(" ")
        fields[key.strip()] = value.strip()
    return fields


def _cell(content) -> nodes.entry:
    paragraph = nodes.paragraph()
    paragraph += content if isinstance(content, nodes.Node) else nodes.Text(content)
    return nodes.entry("", paragraph)


def make_report(env, parent: str) -> list[nodes.Node]:
    """A sentence with what every chapter shared (same device, sizes, ...) and a table of the rest."""
    metadata = NbMetadataCollector.get_doc_data(env)
    runs = [(d, metadata[d]["exec_data"], setup_fields(metadata[d].get(SETUP_KEY)))
            for d in sorted(d for d in metadata if metadata[d].get("exec_data"))]
    keys = {"Device": "device", "Sizes": "sizes", "Models": "models", "torch": "torch"}
    shared = {label: runs[0][2].get(key, "-") for label, key in keys.items()
              if runs and len({fields.get(key, "-") for _, _, fields in runs}) == 1}
    columns = [c for c in COLUMNS if c not in shared]
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(columns))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in columns]
    head = nodes.thead()
    head += nodes.row("", *[_cell(name) for name in columns])
    body = nodes.tbody()
    group += [head, body]
    total = 0.0
    for docname, run, fields in runs:
        link = pending_xref(refdoc=parent, reftarget=posixpath.relpath(docname, posixpath.dirname(parent)),
                            reftype="doc", refdomain="std", refexplicit=False, refwarn=True)
        link += nodes.inline(text=docname)
        seconds = run.get("runtime")
        total += seconds or 0.0
        cells = {"Chapter": _cell(link), "Run time (s)": _cell("-" if seconds is None else f"{seconds:.1f}"),
                 "Status": _cell("ran" if run.get("succeeded") else "FAILED"),
                 **{label: _cell(fields.get(key, "-")) for label, key in keys.items()}}
        body += nodes.row("", *[cells[c] for c in columns])
    body += nodes.row("", *[_cell(nodes.strong(text={"Chapter": "all chapters", "Run time (s)": f"{total:.1f}"}
                                                    .get(c, ""))) for c in columns])
    summary = nodes.paragraph(text=f"{len(runs)} chapters executed. " + (
        "Every one ran with " + ", ".join(f"{label.lower() if label != 'torch' else label}: {value}"
                                         for label, value in shared.items()) + "." if shared else ""))
    return [summary, table]


class ReportTransform(SphinxPostTransform):
    default_priority = 8  # before the references resolve (10), so the chapter links resolve

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(ReportNode)):
            node.replace_self(make_report(self.env, self.env.docname))


def setup(app):
    app.add_node(ReportNode)
    app.add_directive("lmtheory-exec-report", ExecReport)
    app.connect("doctree-read", record_setup_line)
    app.add_post_transform(ReportTransform)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
