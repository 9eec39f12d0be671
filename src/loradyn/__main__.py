from loradyn.cli import app

app(prog_name="loradyn")
