"""The ``loradyn`` command line: a thin layer over the library, one module per command group. Every table has a
``--json`` twin."""

from __future__ import annotations

import typer

from loradyn.cli import analyze, data, theory, train

app = typer.Typer(help="Per-example training dynamics in fine-tuning.", no_args_is_help=True)
app.add_typer(data.data_app, name="data")
app.add_typer(data.noise_app, name="noise")
app.command("train")(train.train_command)
app.command("demo")(train.demo)
app.command("analyze")(analyze.analyze_command)
app.add_typer(theory.theory_app, name="theory")

__all__ = ["app"]
