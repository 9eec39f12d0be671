from loradyn.cli import app

if __name__ == "__main__":  # guarded: analysis workers are spawned processes that import this module
    app(prog_name="loradyn")
