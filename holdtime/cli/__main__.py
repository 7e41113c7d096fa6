"""`python -m holdtime.cli`: the `holdtime` command."""

import sys

from holdtime.cli import main

sys.exit(main())
