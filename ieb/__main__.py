"""``python -m ieb`` runs the ``ieb`` command."""

from ieb.cli import main

main()
