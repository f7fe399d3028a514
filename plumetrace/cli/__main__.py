"""``python -m plumetrace.cli``: the same as the ``plumetrace`` script."""

from plumetrace.cli import main

main()
