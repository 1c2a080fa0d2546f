"""Allow `python -m traider`."""

from traider.cli.main import main

main()
