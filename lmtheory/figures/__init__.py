"""The figures of the chapters, one module per chapter and one function per figure.

A chapter shows the experiment and calls ``figures.chNN.<name>(...)`` to draw what it computed; the
drawing (panels, colours, labels) lives here, in the book's style (:mod:`lmtheory.plotting`). Each
function returns the :class:`matplotlib.figure.Figure` it drew, so a test can measure it.
"""
