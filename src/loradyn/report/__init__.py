"""Pages written by loradyn commands, one module or package per page over a small shared core.

Pages: ``study1`` (``loradyn report``: the first study beside a sweep), ``ract`` (``loradyn ract --report``) and
``demo`` (``loradyn demo --report``). Core: ``table`` (tables and number formats), ``render`` (markdown, HTML and
LaTeX), ``provenance`` (the command, machine and wall time of a page) and ``paper`` (what the two studies report).
"""
