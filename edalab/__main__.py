"""Lets `python -m edalab` run the command line."""

import sys

from edalab.cli import main

sys.exit(main())
