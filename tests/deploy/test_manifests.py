"""The Kubernetes manifests and alert rules say what the design promises, and name metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from crm_devstack.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def _docs() -> list[dict]:
    return [d for f in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]


def _of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in _docs() if d["kind"] == kind}


@pytest.mark.parametrize("name", [s.name for s in SERVICES] + ["gateway"])
def test_every_service_deploys_hardened_with_real_probes(name: str) -> None:
    deployment = _of_kind("Deployment")[name]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["limits"] and container["resources"]["requests"]
    probe = container["readinessProbe"]
    if name == "gateway":
        assert probe["httpGet"]["path"] == "/readyz"
    else:
        grpc_port = next(s.grpc_port for s in SERVICES if s.name == name)
        assert probe["grpc"]["port"] == grpc_port  # native gRPC health probe
        assert container["livenessProbe"]["grpc"]["port"] == grpc_port
    assert name in _of_kind("Service")
    assert name in _of_kind("HorizontalPodAutoscaler")
    assert name in _of_kind("PodDisruptionBudget")


def test_migrations_run_as_a_job_and_nats_is_a_three_node_cluster() -> None:
    assert "crm-migrate" in _of_kind("Job")
    assert _of_kind("StatefulSet")["nats"]["spec"]["replicas"] == 3


def _metric_names_in_code() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.glob("libs/crm_common/*.py"), *ROOT.glob("gateway/src/gateway/*.py")]:
        names.update(re.findall(r'"(crm_[a-z_]+)"', path.read_text()))
    return names


def _referenced(expr: str) -> set[str]:
    found = set(re.findall(r"\b(crm_[a-z_]+)", expr))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in found}


def test_alerts_and_dashboard_use_metrics_the_code_exports() -> None:
    exported = _metric_names_in_code()
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yaml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((ROOT / "deploy/grafana/retail-crm.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        missing = _referenced(expr) - exported
        assert not missing, f"{expr!r} names metrics no code exports: {missing}"


def test_postgres_vacuums_as_often_as_the_dev_stack() -> None:
    from crm_devstack.infra import AUTOVACUUM_NAPTIME

    cluster = _of_kind("Cluster")["crm-pg"]
    assert cluster["spec"]["postgresql"]["parameters"]["autovacuum_naptime"] == AUTOVACUUM_NAPTIME
