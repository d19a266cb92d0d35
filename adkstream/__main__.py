"""`python -m adkstream`: the command line (adkstream/cli.py)."""

import sys

from adkstream.cli import main

sys.exit(main())
