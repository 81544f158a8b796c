"""`python -m daedalus` is the `daedalus` command."""

from daedalus.cli.main import main

main()
