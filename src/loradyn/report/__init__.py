"""Reports written by loradyn commands: markdown (and HTML) pages with the command, machine and wall time."""
