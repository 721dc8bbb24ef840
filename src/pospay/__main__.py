"""`python -m pospay`: the same as the `pospay` command."""

from pospay.cli.app import main

main()
