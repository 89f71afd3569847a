"""The monitoring mixin of modelcache-exporter (kubernetes-mixin style): alert rules and Grafana dashboards
as Python data, generated from one configuration.

- mixin.config: THRESHOLDS, SELECTOR, RUNBOOK_URL, PREFIX, shared by the alerts and the dashboards;
- mixin.alerts: the rules, rendered as alerts/modelcache.rules.yml and alerts/prometheusrule.yaml;
- mixin.dashboards: the dashboards, rendered as dashboards/*.json and dashboards/provisioning/;
- mixin.write: writes the generated files, or checks them;
- `python -m mixin`: regenerates both (`--check` to verify the committed files are fresh).

The generated files are committed and tests check they equal a fresh generation: edit the mixin, never them.
The mixin is not part of the installed package; run it from the repository root.
"""
