"""HeavyETL Glue job of the CEAP batch workflow.

``transforms`` holds the pure DataFrame functions, ``storage`` the seam between Spark paths and
S3 objects, ``job`` the thin ``main()`` that Glue runs through ``heavy_etl.py``.
"""
