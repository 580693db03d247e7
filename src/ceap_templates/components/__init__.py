"""Components: functions that add related resources to a :class:`~ceap_templates.references.Scope`.

A component gives the same logical IDs and properties whatever stack its layout puts it in.
"""
