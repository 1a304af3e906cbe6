import sys

from policylib.cli import main

sys.exit(main())
