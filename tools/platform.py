"""Run the four services, each as its own process, as each runs in its own pod.

    python -m tools.platform demo     infra + services + the demo city, until Ctrl-C

The end-to-end tests use ``Platform`` the same way, on their own ports, their
own RabbitMQ virtual host and their own databases.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tools import infra

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"grid": "GridService", "petition": "PetitionService",
            "volunteer": "VolunteerService", "funding": "FundingService"}
# Beside the four domain services, the bridge that POSTs events to outside systems.
CLASSES = {**SERVICES, "webhooks": "WebhookBridge"}
DEMO_PORTS = {"grid": 8001, "petition": 8002, "volunteer": 8003, "funding": 8004,
              "webhooks": 8005}


class Platform:
    """The services named in ``ports``, each on its port; ``env`` for every service;
    ``service_env`` adds to it per service, as each pod has its own Secret
    (``{"grid": {"AMQP_URI": ...}}``)."""

    def __init__(self, env, ports, log_dir, service_env=None):
        self.env = env
        self.service_env = service_env or {}
        self.ports = ports
        self.log_dir = Path(log_dir)
        self.processes = {}

    def url(self, service, instance=1):
        return f"http://127.0.0.1:{self.ports[service] + 100 * (instance - 1)}"

    def start(self, service, instance=1):
        """Start one process of a service; a second instance competes for the same queues,
        as a second Kubernetes replica would, and answers HTTP on the port 100 higher."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = service if instance == 1 else f"{service}#{instance}"
        env = {**os.environ, **self.env, **self.service_env.get(service, {}),
               "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
               "WEB_SERVER_ADDRESS": self.url(service, instance).removeprefix("http://")}
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config", "deploy/nameko.yaml",
                 f"services.{service}.service:{CLASSES[service]}"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, name):
        """kill -9, as a node failure would: no shutdown, unacked messages redelivered."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def start_all(self, timeout=90):
        for service in self.ports:
            self.start(service)
        self.wait_ready(timeout)

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        waiting = set(self.processes)
        while waiting:
            for name in list(waiting):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.log_dir / name}.log")
                service, _, instance = name.partition("#")
                try:
                    url = self.url(service, int(instance or 1))
                    if requests.get(url + "/readyz", timeout=1).status_code == 200:
                        waiting.discard(name)
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout}s: {sorted(waiting)}; "
                                   f"see the logs in {self.log_dir}")
            time.sleep(0.2)

    def stop_all(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def demo():
    from tools import demo_city

    env = infra.up()
    platform = Platform(env, DEMO_PORTS, infra.DATA / "logs")
    print(f"starting {', '.join(DEMO_PORTS)} ...", flush=True)
    platform.start_all()
    try:
        summary = demo_city.seed({s: platform.url(s) for s in SERVICES})
        print(demo_city.WELCOME.format(**summary, **{s: platform.url(s) for s in DEMO_PORTS},
                                       password=demo_city.DEMO_PASSWORD,
                                       logs=platform.log_dir), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the services (RabbitMQ and the database keep running) ...")
        platform.stop_all()


if __name__ == "__main__":
    if sys.argv[1:] != ["demo"]:
        sys.exit("usage: python -m tools.platform demo")
    demo()
