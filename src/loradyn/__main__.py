from loradyn.cli import main

if __name__ == "__main__":  # guarded: analysis workers are spawned processes that import this module
    main()
