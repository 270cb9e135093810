"""Run ``asicsim ARGS`` in this process and write its peak resident memory (VmHWM, KiB) to the file
named by ``ASICSIM_RSS_FILE`` at exit. VmHWM belongs to this process image alone: ``ru_maxrss``
of a child would also count the memory of the parent it was forked from."""
import atexit
import os
import sys


def _write_hwm():
    with open("/proc/self/status") as f:
        hwm = next((line.split()[1] for line in f if line.startswith("VmHWM:")), "0")
    with open(os.environ["ASICSIM_RSS_FILE"], "w") as out:
        out.write(hwm)


atexit.register(_write_hwm)
from asicsim.cli.main import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
