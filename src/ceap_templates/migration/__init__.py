"""``ceap-templates plan-migration``: the plan that moves one environment from the legacy to the consolidated layout."""
