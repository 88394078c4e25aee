"""`python -m sim` is the `approvalsim` command."""

from sim.cli import main

main()
