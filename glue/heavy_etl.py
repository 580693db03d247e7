"""AWS Glue entry script of the HeavyETL step: all logic lives in the ``ceap_glue`` package."""

import sys

from ceap_glue.job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
