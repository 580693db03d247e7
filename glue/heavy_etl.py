"""Glue entry script of the HeavyETL step (ScriptLocation ``s3://<artifacts>/glue/heavy_etl-<sha256>.py``).

The code is the ``ceap_glue`` package, shipped beside it with ``--extra-py-files``.
"""

from ceap_glue.job import main

if __name__ == "__main__":
    main()
