"""The ``loradyn`` command line: a thin layer over the library, one module per command group. Every table has a
``--json`` twin."""

from __future__ import annotations

import typer

from loradyn.cli import analyze, data, detect, ract, report, sweep, theory, train

app = typer.Typer(help="Per-example training dynamics in fine-tuning.", no_args_is_help=True)
app.add_typer(data.data_app, name="data")
app.add_typer(data.noise_app, name="noise")
app.command("train")(train.train_command)
app.command("demo")(train.demo)
app.command("analyze")(analyze.analyze_command)
app.command("sweep")(sweep.sweep_command)
app.command("report")(report.report_command)
app.add_typer(theory.theory_app, name="theory")
app.command("detect")(detect.detect_command)
app.command("ract")(ract.ract_command)


def _print_version(value: bool) -> None:
    if value:
        import loradyn

        typer.echo(f"loradyn {loradyn.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print loradyn's version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Per-example training dynamics in fine-tuning."""


def command() -> typer.core.TyperGroup:
    """The app as a click command, with help that shows flags bare and arguments by name (NAME, not typer's
    {NAME} or a flag's <bool>)."""
    from typer.core import TyperArgument, TyperOption

    def plain(cmd) -> None:
        for param in cmd.params:
            if isinstance(param, TyperOption) and param.is_flag:
                param.metavar = ""
            elif isinstance(param, TyperArgument):
                param.metavar = param.name.upper()
                param._usage_display_name = lambda name=param.metavar, n=param.nargs: name + ("..." * (n != 1))
        cmd.get_help_option = bare_help(cmd.get_help_option)
        for sub in getattr(cmd, "commands", {}).values():
            plain(sub)

    def bare_help(get_help_option):
        def help_option(ctx):
            option = get_help_option(ctx)
            if option is not None:
                option.metavar = ""
            return option

        return help_option

    group = typer.main.get_command(app)
    plain(group)
    return group


def main() -> None:
    """The ``loradyn`` executable."""
    command()(prog_name="loradyn")


__all__ = ["app", "command", "main"]
