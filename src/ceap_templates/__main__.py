"""``python -m ceap_templates`` is the ``ceap-templates`` command."""

from ceap_templates.cli import main

raise SystemExit(main())
