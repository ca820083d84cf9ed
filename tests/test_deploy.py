"""The docker-compose topology without Docker: two replicas (real `serve` processes) behind nginx
(Debian's package) with deploy/nginx.conf.template, on loopback. Requests spread over both; when one
replica is killed, the endpoint keeps answering. Also: a rebuilt store restarts the workers on it
without losing a request."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from conftest import PROJECT_ROOT, _free_port, share_releases, start_server, stop_server
from urllib3.util.retry import Retry

from service.config import settings_table
from service.icd10cm.loaders.load import load

pytestmark = pytest.mark.live
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
LOOKUP = "/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=M54.5&guidance=none"


def _nginx_conf(folder: Path, listen: int, replicas: list[str]) -> Path:
    template = (PROJECT_ROOT / "deploy" / "nginx.conf.template").read_text()
    servers = " ".join(f"server {r} max_fails=1 fail_timeout=5s;" for r in replicas)
    http = template.replace("${TX_UPSTREAM_SERVERS}", servers).replace("${TX_LISTEN}", f"127.0.0.1:{listen}")
    assert "${" not in http
    (folder / "tx.conf").write_text(http)
    conf = folder / "nginx.conf"
    conf.write_text(f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/tx.conf;
}}
""")
    return conf


@pytest.fixture()
def nginx_binary():
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is needed (apt-get install nginx); .ci/run installs it")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return NGINX


def _requests_seen(log: Path, request_ids: set[str]) -> set[str]:
    seen = set()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("request_id") in request_ids:
                seen.add(entry["request_id"])
    return seen


def test_two_replicas_behind_nginx(store_dir, tmp_path, nginx_binary):
    replicas, nginx = [], None
    try:
        replicas = [start_server(store_dir, tmp_path / f"replica{i}.log") for i in range(2)]
        listen = _free_port()
        conf = _nginx_conf(tmp_path, listen, [base.split("/")[2] for _, base in replicas])
        nginx = subprocess.Popen(
            [nginx_binary, "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        front = f"http://127.0.0.1:{listen}/fhir"
        _wait_for(f"http://127.0.0.1:{listen}/nginx-health", nginx)
        session = requests.Session()

        def ask(tag: str, n: int) -> set[str]:
            ids = {f"{tag}-{i}" for i in range(n)}
            for request_id in sorted(ids):
                response = session.get(front + LOOKUP, headers={"X-Request-Id": request_id}, timeout=10)
                assert response.status_code == 200, response.text
                assert response.headers["X-Request-Id"] == request_id
            return ids

        spread = ask("spread", 40)
        time.sleep(0.5)  # the replicas' log lines
        per_replica = [_requests_seen(tmp_path / f"replica{i}.log", spread) for i in range(2)]
        assert all(len(seen) >= 5 for seen in per_replica), [len(s) for s in per_replica]
        assert per_replica[0] | per_replica[1] == spread

        os.killpg(replicas[0][0].pid, 9)  # no goodbye: the replica just disappears
        replicas[0][0].wait(timeout=10)
        after = ask("after-kill", 30)
        time.sleep(0.5)
        assert _requests_seen(tmp_path / "replica1.log", after) == after
        # A POST is retried on the live replica too (every operation here only reads).
        response = session.post(
            front + "/CodeSystem/$validate-code",
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "url", "valueUri": "http://hl7.org/fhir/sid/icd-10-cm"},
                    {"name": "code", "valueCode": "M54.5"},
                ],
            },
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        if nginx is not None:
            os.killpg(nginx.pid, 15)
            nginx.wait(timeout=10)
        for process, _ in replicas:
            stop_server(process)


def _wait_for(url: str, process) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited: {process.stderr.read().decode()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer")


def test_a_rebuilt_store_restarts_the_workers_without_losing_a_request(store_dir, tmp_path):
    store = tmp_path / "store"
    share_releases(store_dir, store)  # the rebuild renames a new file over the link: the shared one stays as it was
    process, base = start_server(store, tmp_path / "server.log", {"ICD10CM_TX_STORE_WATCH": "0.5"}, workers=2)
    url = base + LOOKUP
    failures: list = []
    stop = threading.Event()

    def keep_asking():
        # As HTTP/1.1 clients do (RFC 9112 9.3.1; browsers, and nginx's proxy_next_upstream), a GET sent on an
        # idle keep-alive connection that the stopping worker closed at that moment is sent once more, on a new
        # connection. Anything else (an error status, a second failure) is a lost request.
        session = requests.Session()
        retry_once = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods={"GET"})
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry_once))
        while not stop.is_set():
            try:
                status = session.get(url, timeout=10).status_code
                if status != 200:
                    failures.append(status)
            except requests.RequestException as error:
                failures.append(repr(error))

    try:
        before = requests.get(url, timeout=10).headers["ETag"]
        asker = threading.Thread(target=keep_asking)
        asker.start()
        load(None, store)  # the same release, built again: a new file renamed over the old one
        deadline = time.monotonic() + 60
        while requests.get(url, timeout=10).headers["ETag"] == before:
            assert time.monotonic() < deadline, "the workers were not restarted on the new build"
            time.sleep(0.5)
        time.sleep(1)
        stop.set()
        asker.join(timeout=30)
        assert failures == []
        assert re.search(r"store changed", (tmp_path / "server.log").read_text())
    finally:
        stop.set()
        stop_server(process)


def test_the_compose_file_fits_the_image_and_the_template():
    """No Docker engine here: check what can be checked without one. The nginx service fills every
    variable of the template, mounts it where the nginx image reads templates, and waits for healthy
    replicas; the replicas' health check asks for readiness, as the Dockerfile's does."""

    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    tx, nginx = compose["services"]["tx"], compose["services"]["nginx"]
    assert tx["build"] == "." and tx["deploy"]["replicas"] >= 2
    assert "/health?ready" in " ".join(tx["healthcheck"]["test"])
    assert nginx["depends_on"]["tx"]["condition"] == "service_healthy"
    source, target, _ = nginx["volumes"][0].split(":")
    assert (PROJECT_ROOT / source).is_file() and target.startswith("/etc/nginx/templates/")
    template = (PROJECT_ROOT / source).read_text()
    wanted = set(re.findall(r"\$\{(TX_[A-Z_]+)\}", template))
    assert wanted == set(nginx["environment"]), wanted
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "/health?ready" in dockerfile and "service load" in dockerfile and "EXPOSE 8080" in dockerfile


# ------------------------------------------------------------------------------------------ Kubernetes

KUBERNETES = PROJECT_ROOT / "deploy" / "kubernetes"


def _manifests() -> dict[str, dict]:
    return {
        doc["kind"]: doc for path in sorted(KUBERNETES.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())
    }


@pytest.mark.parametrize("version", ["1.29.0", "1.33.0"])
def test_the_kubernetes_manifests_are_valid_against_the_schemas(version):
    import kubernetes_validate

    manifests = _manifests()
    assert set(manifests) == {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Kustomization",
    }
    for kind, manifest in manifests.items():
        if kind != "Kustomization":  # kustomize's own file, not a Kubernetes resource
            kubernetes_validate.validate(manifest, version, strict=True)  # raises on any unknown or wrong field
    listed = set(manifests["Kustomization"]["resources"])
    assert listed == {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_kubernetes_manifests_fit_the_image_and_each_other():
    manifests = _manifests()
    deployment, service = manifests["Deployment"], manifests["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for selector in (service["spec"]["selector"], manifests["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    target = manifests["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].split(":")[0] == "icd10cm-tx"
    env = {e["name"]: e["value"] for e in container["env"]}
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {env['ICD10CM_TX_PORT']}" in dockerfile
    assert [p["containerPort"] for p in container["ports"]] == [int(env["ICD10CM_TX_PORT"])]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health?ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0  # no lost capacity on a roll
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001  # the image's user
    assert "useradd --system --uid 10001" in dockerfile
    for name in set(env) - {"ICD10CM_TX_HOST"}:  # every setting the manifest gives is one the service reads
        assert name in {variable for _, variable, _, _ in settings_table()}, name
