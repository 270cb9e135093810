import sys

from asicsim.cli.main import main

sys.exit(main())
