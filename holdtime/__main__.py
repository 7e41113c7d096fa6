"""`python -m holdtime`: the `holdtime` command, for a Python without the console script on PATH."""

import sys

from holdtime.cli import main

sys.exit(main())
