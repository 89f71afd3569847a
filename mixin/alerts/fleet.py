"""Fleet alerts: hosts of one group (FLEET_GROUP, e.g. `job`, `cluster` or `role`) that should hold the same files.

A host's copy of a model is named by `modelcache_model_fingerprint_info`; hosts are told apart by `instance`.
"""

from __future__ import annotations

from mixin.alerts.model import Alert
from mixin.config import FLEET_GROUP, Thresholds

FP = 'modelcache_model_fingerprint_info{sel, repo!="(other)"}'


def drift_expr(g: str) -> str:
    """Each host whose fingerprint fewer hosts of its group share than the most common one; value = hosts sharing it."""
    by = f"{g}, root, repo"
    return (
        f"count by ({by}, instance, fingerprint) ({FP})\n"
        f"* on ({by}, fingerprint) group_left ()\n  count by ({by}, fingerprint) ({FP})\n"
        f"< on ({by}) group_left ()\n  max by ({by}) (count by ({by}, fingerprint) ({FP}))"
    )


def missing_expr(g: str) -> str:
    """Per model: how many hosts of the group (hosts reporting a fingerprint on that root) lack it."""
    hosts = f"count by ({g}, root) (group by ({g}, root, instance) ({FP}))"
    return f"{hosts}\n- on ({g}, root) group_right ()\n  count by ({g}, root, repo) ({FP})\n> 0"


def records(group: str = FLEET_GROUP) -> list[dict[str, str]]:
    """Recording rules for capacity planning: the fleet's cache bytes per model (over its hosts) and per host."""
    return [
        {
            "record": f"{group}_repo:modelcache_model_size_bytes:sum",
            "expr": f'sum by ({group}, repo) (modelcache_model_size_bytes{{sel, repo!="(other)"}})',
        },
        {
            "record": f"{group}_instance:modelcache_root_size_bytes:sum",
            "expr": f"sum by ({group}, instance) (modelcache_root_size_bytes{{sel}})",
        },
    ]


def fleet(t: Thresholds, group: str = FLEET_GROUP) -> list[Alert]:
    """FleetDrift (the odd hosts' copies differ), FleetModelMissing (hosts lack a model), after a sync window."""
    return [
        Alert(
            "FleetDrift",
            "warning",
            drift_expr(group),
            "A host's copy of a model differs from the rest of its fleet.",
            "{{ $labels.instance }} holds {{ $labels.repo }} (root {{ $labels.root }}) with fingerprint "
            "{{ $labels.fingerprint }}, shared by only {{ $value }} host(s) of "
            + f"{group} {{{{ $labels.{group} }}}}: its files differ from the majority's "
            "(a cut or missing transfer, or an old copy). Re-sync it.",
            t["fleet_sync_window"],
        ),
        Alert(
            "FleetModelMissing",
            "warning",
            missing_expr(group),
            "Some hosts of a fleet lack a model the others hold.",
            "{{ $value }} host(s) of " + f"{group} {{{{ $labels.{group} }}}}" + " have no {{ $labels.repo }} in root "
            "{{ $labels.root }} although other hosts of the group hold it: look for the instances without its "
            "modelcache_model_fingerprint_info series.",
            t["fleet_sync_window"],
        ),
    ]
