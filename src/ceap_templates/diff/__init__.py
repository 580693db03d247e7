"""``ceap-templates diff``: two builds compared resource by resource, with their consequences.

Loading (:mod:`.loading`, :mod:`.git_base`), normalisation (:mod:`.normalise`), the resource diff
(:mod:`.resources`), replacement and data loss from cfn-lint's provider schemas (:mod:`.schemas`,
:mod:`.replacement`), the stack API (:mod:`.stack_api`), security (:mod:`.security`), state machines
(:mod:`.state_machines`), the whole report (:mod:`.engine`, :mod:`.model`) and its two renderings
(:mod:`.render_markdown`, :mod:`.render_json`).
"""
