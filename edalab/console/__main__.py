"""`python -m edalab.console`: serves the console (see server.py)."""

import sys

from edalab.console.server import main

sys.exit(main())
