"""``python -m ceap_templates.local_aws --port N``: run the emulator in the foreground."""

from ceap_templates.local_aws.server import main

raise SystemExit(main())
