"""The deployment examples: deploy/compose (IndexTTS2 + sidecar + Prometheus + Alertmanager + Grafana) and
deploy/kubernetes (Deployment with the sidecar, Services, ServiceMonitor, kustomization).

Parsed with PyYAML and checked for what makes them work together: the sidecar's shared mounts are read-only and
at the paths its configuration names, it sees the web UI's processes, it runs as the image's non-root user,
probes hit /healthz, selectors and ports agree, the scrape job is the one the rules select, every file the
stack mounts from the repository exists. The tools check the rest: `promtool check config`, `amtool
check-config`, the exporter's own configuration parser; `kubectl kustomize` and `docker compose config` when
installed (CI has neither).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from helpers import REPO_ROOT, free_port, require_tool, wait_for

from modelcache_exporter.access.perms import Who, parse_who
from modelcache_exporter.config.parser import parse

COMPOSE = REPO_ROOT / "deploy" / "compose"
KUBE = REPO_ROOT / "deploy" / "kubernetes"
ALERTS = REPO_ROOT / "alerts"
DATASOURCE = REPO_ROOT / "dashboards" / "provisioning" / "datasources" / "modelcache.yaml"
DASHBOARD_PROVIDER = REPO_ROOT / "dashboards" / "provisioning" / "dashboards" / "modelcache.yaml"
SHARED = ("hf-cache", "checkpoints", "webui-logs")  # compose volumes the web UI writes and the sidecar reads


def rules_job() -> str:
    """The job the generated rules select (mixin/config.py SELECTOR, as written into the rules)."""
    text = (ALERTS / "modelcache.rules.yml").read_text()
    jobs = set(re.findall(r'job="([^"]+)"', text))
    assert len(jobs) == 1, jobs
    return jobs.pop()


def image_user() -> tuple[int, int]:
    """The uid:gid of the Dockerfile's final USER."""
    users = re.findall(r"^USER\s+(\d+):(\d+)\s*$", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users
    return int(users[-1][0]), int(users[-1][1])


def image_state_dir() -> str:
    m = re.search(r"MODELCACHE_PATH_STATE=(\S+)", (REPO_ROOT / "Dockerfile").read_text())
    assert m
    return m.group(1)


def sidecar_config(path: Path) -> Any:
    """The configuration file as the exporter reads it (its real parser; no environment)."""
    return parse(["--config.file", str(path)], environ={})


def under(path: str, mounts: list[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


# ---------------------------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """{source: (target, read_only)} of a compose service's short-syntax volumes."""
    out = {}
    for spec in service.get("volumes", []):
        parts = spec.split(":")
        out[parts[0]] = (parts[1], len(parts) > 2 and "ro" in parts[2].split(","))
    return out


def test_compose_services_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "pidns",
        "indextts2",
        "modelcache-exporter",
        "prometheus",
        "alertmanager",
        "oncall-webhook",
        "grafana",
    }
    declared = set(compose["volumes"])
    for name, svc in services.items():
        for source in mounts(svc):
            if source.startswith("."):
                assert (COMPOSE / source).resolve().exists(), f"{name} mounts {source}: not in the repository"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"


def test_compose_web_ui_output_is_useful(compose: dict[str, Any]) -> None:
    webui = compose["services"]["indextts2"]
    assert webui["image"].startswith("${INDEXTTS2_IMAGE")
    command = " ".join(webui["command"])
    assert "python -u webui.py" in command and "--host 0.0.0.0" in command
    env = webui["environment"]
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["HF_HUB_VERBOSITY"] in ("info", "debug") or env.get("TQDM_POSITION") == "-1"
    assert webui["init"] is True and env["TINI_KILL_PROCESS_GROUP"] == "1"  # docker stop reaches python and tee
    log = re.search(r"\| tee -a (\S+)$", command)
    assert log, "the console output goes to docker logs and to a shared log file"
    assert under(log.group(1), [mounts(webui)["webui-logs"][0]])


def test_compose_sidecar_reads_shared_volumes_read_only_and_sees_the_web_ui(compose: dict[str, Any]) -> None:
    services = compose["services"]
    sidecar, webui = services["modelcache-exporter"], services["indextts2"]
    # both join the namespace of a process that never restarts, so neither ends the other's processes
    assert sidecar["pid"] == webui["pid"] == "service:pidns"
    pidns = compose["services"]["pidns"]
    assert pidns["init"] is True and pidns["command"] == ["sleep", "infinity"] and pidns["network_mode"] == "none"
    assert webui["environment"]["TINI_SUBREAPER"] == "1"  # tini is not PID 1 there: it reaps as a subreaper
    assert sidecar["read_only"] is True and "/tmp" in sidecar["tmpfs"]
    assert sidecar["cap_drop"] == ["ALL"] and "no-new-privileges:true" in sidecar["security_opt"]
    assert (COMPOSE / sidecar["build"]["context"] / "Dockerfile").resolve() == REPO_ROOT / "Dockerfile"
    side, web = mounts(sidecar), mounts(webui)
    for volume in SHARED:
        target, read_only = side[volume]
        assert read_only, f"the sidecar must mount {volume} read-only"
        assert target == web[volume][0], f"{volume} at different paths: the paths in the web UI's log would differ"
        assert not web[volume][1]
    assert side["modelcache-state"] == (image_state_dir(), False)
    assert webui["environment"]["HF_HOME"] == side["hf-cache"][0]


def test_compose_sidecar_configuration(compose: dict[str, Any]) -> None:
    sidecar, webui = compose["services"]["modelcache-exporter"], compose["services"]["indextts2"]
    side = mounts(sidecar)
    config_arg = next(a for a in sidecar["command"] if a.startswith("--config.file="))
    assert side["./modelcache.yml"] == (config_arg.split("=", 1)[1], True)
    cfg = sidecar_config(COMPOSE / "modelcache.yml")
    shared = [side[v][0] for v in SHARED]
    roots = {r.name: r.path for r in cfg.roots}
    assert roots == {"hub": "/cache/huggingface/hub", "checkpoints": "/models/checkpoints"}
    assert all(under(r.path, shared) for r in cfg.roots)
    assert cfg.roots[0].path == webui["environment"]["HF_HOME"] + "/hub"
    assert [s.path for s in cfg.log_sources] == [re.search(r"tee -a (\S+)", " ".join(webui["command"])).group(1)]  # type: ignore[union-attr]
    assert cfg.required_profile == "indextts2" and len(cfg.required) == 5
    assert re.search(cfg.webui_process_pattern, " ".join(webui["command"]))
    assert cfg.webui_ready_url == "http://indextts2:7860/"  # the service name, and the port webui.py serves
    assert "--port 7860" in " ".join(webui["command"])
    # the files are checked as readable by exactly the user the web UI runs as
    readable_by = sidecar["environment"]["MODELCACHE_COLLECTOR_REQUIRED_READABLE_BY"]
    assert readable_by == webui["user"]
    assert parse_who(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", readable_by)) == Who(0, frozenset({0}), 0)  # defaults
    environ = {"MODELCACHE_COLLECTOR_REQUIRED_READABLE_BY": "1000:1000"}
    assert parse(["--config.file", str(COMPOSE / "modelcache.yml")], environ=environ).readable_by == "1000:1000"


def test_compose_prometheus_scrapes_the_job_the_rules_select(compose: dict[str, Any], tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    prom = compose["services"]["prometheus"]
    config = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["job_name"] == rules_job()
    assert job["static_configs"][0]["targets"] == ["modelcache-exporter:10860"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    rules_target = mounts(prom)["../../alerts/modelcache.rules.yml"][0]
    assert any(Path(rules_target).match(pattern) for pattern in config["rule_files"])
    datasource = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]
    assert datasource["jsonData"]["timeInterval"] == config["global"]["scrape_interval"]
    assert datasource["url"] == "http://prometheus:9090"
    # promtool on a copy whose rule_files point at the repository's rules
    config["rule_files"] = [str(ALERTS / "modelcache.rules.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_compose_alertmanager_routes_to_the_webhook() -> None:
    amtool = require_tool("amtool")
    proc = subprocess.run([amtool, "check-config", str(COMPOSE / "alertmanager.yml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load((COMPOSE / "alertmanager.yml").read_text())
    receiver = next(r for r in config["receivers"] if r["name"] == config["route"]["receiver"])
    hook = receiver["webhook_configs"][0]
    assert hook["url"] == "http://oncall-webhook:8080/hook" and hook["send_resolved"] is True
    assert config["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']


def test_compose_grafana_provisioning(compose: dict[str, Any]) -> None:
    grafana = mounts(compose["services"]["grafana"])
    provider = yaml.safe_load(DASHBOARD_PROVIDER.read_text())["providers"][0]
    assert grafana["../../dashboards"][0] == provider["options"]["path"]
    assert list((REPO_ROOT / "dashboards").glob("*.json"))
    assert grafana["../../dashboards/provisioning/datasources/modelcache.yaml"][0].startswith(
        "/etc/grafana/provisioning/datasources/"
    )


def test_compose_file_with_docker_compose(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip("docker compose not installed")
    env = {**os.environ, "INDEXTTS2_IMAGE": "example/indextts2:test"}
    proc = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr


def test_webhook_receiver_prints_each_alert() -> None:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-u", str(COMPOSE / "webhook-receiver.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening on 127.0.0.1:" in proc.stdout.readline()
        payload = {
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "ModelCacheUnexpectedRedownload",
                        "repo": "amphion/MaskGCT",
                        "root": "hub",
                        "severity": "warning",
                    },
                    "annotations": {"summary": "A model was downloaded again although it had been in the cache."},
                },
            ],
        }

        def posted() -> bool:
            try:
                return requests.post(f"http://127.0.0.1:{port}/hook", json=payload, timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(posted, 10, interval=0.1, what="the webhook receiver")
        line = proc.stdout.readline()
        assert line.startswith("FIRING ModelCacheUnexpectedRedownload repo=amphion/MaskGCT root=hub severity=warning")
    finally:
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------------------------------------- kubernetes


@pytest.fixture(scope="module")
def kube() -> dict[tuple[str, str], dict[str, Any]]:
    """{(kind, name): manifest} of every manifest listed by the kustomization."""
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    out = {}
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((KUBE / resource).read_text()):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def containers(kube: dict[tuple[str, str], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(pod spec, web UI container, sidecar container)."""
    pod = kube[("Deployment", "indextts2")]["spec"]["template"]["spec"]
    by_name = {c["name"]: c for c in pod["containers"]}
    return pod, by_name["indextts2"], by_name["modelcache-exporter"]


def test_kustomization_lists_every_manifest(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    manifests = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    assert sorted(kind for kind, _ in kube) == sorted(
        ["Deployment", "PersistentVolumeClaim", "PersistentVolumeClaim", "Service", "Service", "ServiceMonitor"]
    )
    generated = kustomization["configMapGenerator"][0]
    assert [(KUBE / f).exists() for f in generated["files"]] == [True]
    assert {i["name"] for i in kustomization["images"]} == {"indextts2", "modelcache-exporter"}


def test_deployment_labels_selectors_and_service_ports(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = kube[("Deployment", "indextts2")]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    _, webui, sidecar = containers(kube)
    ports = {p["name"]: p["containerPort"] for c in (webui, sidecar) for p in c["ports"]}
    metrics = kube[("Service", "modelcache-exporter")]
    assert metrics["metadata"]["name"] == rules_job()  # prometheus-operator's job label is the Service's name
    assert metrics["spec"]["selector"].items() <= labels.items()
    port = metrics["spec"]["ports"][0]
    assert port["name"] == "metrics" and port["port"] == 10860 == ports[port["targetPort"]]
    assert {p["name"] for p in sidecar["ports"]} == {"metrics"}
    web = kube[("Service", "indextts2")]
    assert web["spec"]["selector"].items() <= labels.items()
    assert ports[web["spec"]["ports"][0]["targetPort"]] == web["spec"]["ports"][0]["port"] == 7860
    monitor = kube[("ServiceMonitor", "modelcache-exporter")]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= metrics["metadata"]["labels"].items()
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    datasource = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]
    assert endpoint["interval"] == datasource["jsonData"]["timeInterval"]


def test_sidecar_is_non_root_read_only_and_probed_on_healthz(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    pod, webui, sidecar = containers(kube)
    assert pod["shareProcessNamespace"] is True
    sc = sidecar["securityContext"]
    uid, gid = image_user()
    assert sc["runAsNonRoot"] is True and (sc["runAsUser"], sc["runAsGroup"]) == (uid, gid)
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["fsGroup"] == gid  # the state volume is writable by the sidecar's group
    for probe in ("livenessProbe", "readinessProbe"):
        assert sidecar[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    web_mounts = {(m["name"], m.get("subPath", "")) for m in webui["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for m in sidecar["volumeMounts"]:
        shared = (m["name"], m.get("subPath", "")) in web_mounts
        if shared or "configMap" in volumes[m["name"]]:
            assert m.get("readOnly") is True, f"the sidecar must mount {m['name']} read-only"
        if shared:  # the same path in both containers, so paths in the web UI's log mean the same
            twin = next(
                w
                for w in webui["volumeMounts"]
                if (w["name"], w.get("subPath", "")) == (m["name"], m.get("subPath", ""))
            )
            assert twin["mountPath"] == m["mountPath"] and not twin.get("readOnly")
    state = next(m for m in sidecar["volumeMounts"] if m["mountPath"] == image_state_dir())
    assert not state.get("readOnly")
    claim = volumes[state["name"]]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in kube  # the ledger outlives the pod
    assert "emptyDir" in volumes[next(m["name"] for m in webui["volumeMounts"] if m["mountPath"] == "/logs")]
    tmp = next(m for m in sidecar["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in volumes[tmp["name"]]


def test_kubernetes_sidecar_configuration(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    pod, webui, sidecar = containers(kube)
    config_arg = next(a for a in sidecar["args"] if a.startswith("--config.file="))
    config_path = config_arg.split("=", 1)[1]
    mount = next(m for m in sidecar["volumeMounts"] if config_path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    assert volume["configMap"]["name"] == kustomization["configMapGenerator"][0]["name"]
    assert Path(config_path).name in kustomization["configMapGenerator"][0]["files"]
    cfg = sidecar_config(KUBE / Path(config_path).name)
    shared = [m["mountPath"] for m in sidecar["volumeMounts"] if m.get("readOnly")]
    assert cfg.roots and all(under(r.path, shared) for r in cfg.roots)
    env = {e["name"]: e["value"] for e in webui["env"]}
    assert env["PYTHONUNBUFFERED"] == "1" and cfg.roots[0].path == env["HF_HOME"] + "/hub"
    command = " ".join(webui["args"])
    assert [s.path for s in cfg.log_sources] == [re.search(r"tee -a (\S+)$", command).group(1)]  # type: ignore[union-attr]
    assert re.search(cfg.webui_process_pattern, command)
    assert cfg.webui_ready_url == f"http://127.0.0.1:{webui['ports'][0]['containerPort']}/"  # same pod network
    # the files are checked as readable by the web UI's user and groups (the pod's fsGroup a supplementary one)
    who, sc = parse_who(cfg.readable_by), webui["securityContext"]
    groups = frozenset({sc["runAsGroup"], pod["securityContext"]["fsGroup"]})
    assert who == Who(sc["runAsUser"], groups, sc["runAsGroup"])
    assert who.uid != 0 and sc["allowPrivilegeEscalation"] is False
    # the same sidecar settings as the compose example, but for the ready URL
    compose = sidecar_config(COMPOSE / "modelcache.yml")
    assert [(r.name, r.path, r.layout) for r in cfg.roots] == [(r.name, r.path, r.layout) for r in compose.roots]
    for setting in ("required_profile", "webui_process_pattern", "path_webui_log"):
        assert getattr(cfg, setting) == getattr(compose, setting), setting


def test_prometheusrule_is_applied_from_alerts() -> None:
    rule = yaml.safe_load((ALERTS / "prometheusrule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    readme = (KUBE / "README.md").read_text()
    assert "kubectl apply -f alerts/prometheusrule.yaml" in readme
    assert "kubectl apply -k deploy/kubernetes" in readme


def test_kustomize_build(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    proc = subprocess.run([kubectl, "kustomize", str(KUBE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all(proc.stdout))
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert configmap["metadata"]["name"] in {v.get("configMap", {}).get("name") for v in pod["volumes"]}
    images = {c["name"]: c["image"] for c in pod["containers"]}
    assert images["modelcache-exporter"].endswith("/modelcache-exporter:0.1.0")


def test_fleet_daemonset_watches_the_node_cache_read_only() -> None:
    docs = {
        (d["kind"], d["metadata"]["name"]): d
        for d in yaml.safe_load_all((KUBE / "fleet" / "daemonset.yaml").read_text())
    }
    pod = docs[("DaemonSet", "modelcache-exporter")]["spec"]["template"]["spec"]
    (exporter,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in exporter["volumeMounts"]}
    assert "hostPath" in volumes["node-models"] and mounts["node-models"]["readOnly"] is True
    config = docs[("ConfigMap", "modelcache-exporter-node")]["data"]["modelcache.yml"]
    path = Path(tempfile.mkdtemp()) / "modelcache.yml"
    path.write_text(config)
    cfg = parse(["--config.file", str(path), *[a for a in exporter["args"] if not a.startswith("--config.file")]], {})
    assert cfg.roots and all(under(r.path, [mounts["node-models"]["mountPath"]]) for r in cfg.roots)
    assert cfg.path_state == mounts["state"]["mountPath"] and exporter["securityContext"]["readOnlyRootFilesystem"]
    monitor = docs[("PodMonitor", "modelcache-exporter")]["spec"]["podMetricsEndpoints"][0]
    assert {"targetLabel": "job", "replacement": "modelcache-exporter"} in monitor["relabelings"]
