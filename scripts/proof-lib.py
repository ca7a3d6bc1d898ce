"""Shared helpers of the scripts/proof-* checks (loaded with importlib: the name has a hyphen).

- ensure(): installs missing Python packages with pip;
- kmsdash_binary(): $KMSDASH_BIN, else `swift build --product kmsdash` (incremental) and its path;
- Server: `kmsdash serve` on a free loopback port, its stdout/stderr captured to files, stopped
  (SIGTERM, then SIGKILL) on exit, on SIGINT/SIGTERM and when the script fails.
"""

import atexit
import importlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CREDENTIALS = ("AKIDPROOFEXAMPLE", "proofSecretKey/K7MDENG+bPxRfiCYEXAMPLEKEY")


def ensure(*packages):
    """Imports each (module, pip name) pair, installing the missing ones."""
    missing = []
    for module, pip_name in packages:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(pip_name)
    if not missing:
        return
    print(f"proof: installing {' '.join(missing)}", flush=True)
    base = [sys.executable, "-m", "pip", "install", "--quiet", *missing]
    if subprocess.run(base).returncode != 0:
        subprocess.run(base + ["--break-system-packages"], check=True)
    importlib.invalidate_caches()


def kmsdash_binary():
    override = os.environ.get("KMSDASH_BIN")
    if override:
        return override
    subprocess.run(["swift", "build", "--product", "kmsdash"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "kmsdash")


_servers = []


def _stop_all(*_args):
    for server in list(_servers):
        server.stop()


def _on_signal(signum, _frame):
    _stop_all()
    sys.exit(128 + signum)


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


class Server:
    """One `kmsdash serve` on 127.0.0.1 with a port picked by the server (--port 0)."""

    def __init__(self, *extra_args, auth=False, log_dir=None, name="serve"):
        self.binary = kmsdash_binary()
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="proof-")
        self.stdout_path = os.path.join(self.log_dir, f"{name}.stdout")
        self.stderr_path = os.path.join(self.log_dir, f"{name}.stderr")
        args = [self.binary, "serve", "--host", "127.0.0.1", "--port", "0", *extra_args]
        if "--state" not in extra_args and "--ephemeral" not in extra_args:
            args.append("--ephemeral")  # never touch the user's default state file
        if auth:
            key_id, secret = auth if isinstance(auth, tuple) else CREDENTIALS
            args += ["--access-key-id", key_id, "--secret-access-key", secret]
        elif "--no-auth" not in extra_args:
            args.append("--no-auth")
        env = dict(os.environ)
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(variable, None)
        self.args = args
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(args, stdout=self._out, stderr=self._err, env=env,
                                        start_new_session=True)
        _servers.append(self)
        self.port = self._wait_listening()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def _wait_listening(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kmsdash serve exited with {self.process.returncode}: "
                                   + open(self.stderr_path, errors="replace").read()[-2000:])
            with open(self.stdout_path, errors="replace") as handle:
                match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", handle.read())
            if match:
                return int(match.group(1))
            time.sleep(0.05)
        raise RuntimeError("kmsdash serve did not start listening in time")

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self in _servers:
            _servers.remove(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
        self._err.close()

    def logs(self):
        with open(self.stdout_path, "rb") as out, open(self.stderr_path, "rb") as err:
            return out.read() + err.read()


def load_module(name):
    """Loads scripts/<name>.py (for names with hyphens)."""
    import importlib.util
    path = os.path.join(ROOT, "scripts", name + ".py")
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
