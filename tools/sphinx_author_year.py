"""Sphinx extension: the reference list labels each work the way the text cites it.

The chapters cite author-year (``bibtex_reference_style: author_year``: "[Saunshi et al., 2021]"),
but sphinxcontrib-bibtex's default list style labels entries alpha-style ("[SMA21]"), so a reader
cannot match a citation to its entry at a glance. This registers the pybtex style
``lmtheory_author_year`` (``bibtex_default_style`` in ``_config.yml``): pybtex's ``plain`` entries,
sorted by author, year and title, labelled "Saunshi et al., 2021", "Pang and Lee, 2005" or
"Pinsker, 1964" (letters a, b, ... after the year when two works would share a label).
"""

from __future__ import annotations

from collections import Counter
from string import ascii_lowercase

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

NAME = "lmtheory_author_year"


def _surname(person) -> str:
    """"de Las Casas" for ``de Las Casas, Diego``: the name without its first names, TeX removed."""
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year(entry) -> str:
    """The label the text cites ``entry`` by, without brackets: "Saunshi et al., 2021"."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if not names:
        who = Text.from_latex(entry.fields.get("title", entry.key)).render_as("text")
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels, made unique with a letter after the year where two would be equal."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(entry) for entry in entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                label += ascii_lowercase[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = NAME
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", NAME, AuthorYearLabels)
    register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
