"""Headless Chromium for the tests of the operations page: Debian's ``chromium``, installed
with apt when missing (as tools.infra does for rabbitmq-server), so a fresh machine needs
no manual step.

- ``screenshot`` and ``dump_dom`` run one page load each, with a virtual time budget: the
  page's timers and fetches run until the budget is spent, then the picture or the DOM is
  taken;
- ``Browser`` keeps one page open and evaluates JavaScript in it over the DevTools
  protocol, on a pipe (``--remote-debugging-pipe``: JSON messages ending in a NUL byte on
  file descriptors 3 and 4), to watch the page change without reloading.
"""

import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from tools.infra import log

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--mute-audio",
         "--disable-dev-shm-usage", "--force-device-scale-factor=1")


def ensure_chromium():
    """The path of ``chromium``, installing Debian's package first if it is not on PATH."""
    if not shutil.which("chromium"):
        log("installing chromium from Debian (one time), for the operations page's tests")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium",
                        "fonts-liberation"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("chromium")


def _run(url, *flags, timeout=120):
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run([ensure_chromium(), *FLAGS, f"--user-data-dir={profile}", *flags,
                               url], capture_output=True, timeout=timeout, cwd=profile)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return done.stdout


def screenshot(url, path, width=1280, height=900, budget_ms=5000):
    """A PNG of the page at ``url`` after ``budget_ms`` of virtual time; returns its bytes."""
    _run(url, f"--screenshot={path}", f"--window-size={width},{height}",
         f"--virtual-time-budget={budget_ms}")
    with open(path, "rb") as picture:
        return picture.read()


def dump_dom(url, budget_ms=5000):
    """The page's DOM, serialised, after ``budget_ms`` of virtual time."""
    return _run(url, "--dump-dom", f"--virtual-time-budget={budget_ms}").decode()


class Browser:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, width=1280, height=900):
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-")
        to_browser, self.commands = os.pipe()
        self.answers, from_browser = os.pipe()
        self.process = subprocess.Popen(
            [ensure_chromium(), *FLAGS, f"--user-data-dir={self.profile.name}",
             f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Python's own descriptors are close-on-exec; only fds 3 and 4 are passed on.
            close_fds=False, preexec_fn=lambda: _as_fds_3_and_4(to_browser, from_browser))
        os.close(to_browser)
        os.close(from_browser)
        self.ids = itertools.count(1)
        self.buffer = b""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def call(self, method, session=None, timeout=30, **params):
        """Send a command and wait for its answer (events in between are dropped)."""
        number = next(self.ids)
        message = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._next(deadline)
            if answer.get("id") == number:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def _next(self, deadline):
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def open(self, url):
        self.call("Page.navigate", session=self.session, url=url)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.call("Runtime.evaluate", session=self.session, expression=expression,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            self.process.kill()
        self.process.wait(timeout=30)
        os.close(self.commands)
        os.close(self.answers)
        self.profile.cleanup()


def _as_fds_3_and_4(read_end, write_end):
    """In the child: the pipe ends where --remote-debugging-pipe expects them. Moved above
    10 first, so neither lands on the other's target."""
    high_read = fcntl.fcntl(read_end, fcntl.F_DUPFD_CLOEXEC, 10)
    high_write = fcntl.fcntl(write_end, fcntl.F_DUPFD_CLOEXEC, 10)
    os.dup2(high_read, 3)
    os.dup2(high_write, 4)


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m tools.browser install")
    print(ensure_chromium())
