"""ganq_e2e.py: a small harness for the end-to-end tests of job kinds (test_e2e_*.py).

Starts one ganq-broker on ipc:// endpoints inside the test's scratch dir ($GANQ_TMP, or a
fresh temporary dir when run alone) and N ganq-worker processes, runs the ganq CLI against
them, waits with timeouts, and kills everything it started on exit (atexit and on signals).
Skips (exit 77) when a binary is missing. Only Debian's /usr/bin/python3 runs these tests.
"""
import atexit
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("GANQ_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("GANQ_BIN") or os.path.join(ROOT, "build", "release", "bin")


def skip(msg):
    print("skip: " + msg)
    sys.exit(77)


class Cluster:
    def __init__(self, workers=2, worker_args=(), broker_args=()):
        for b in ("ganq", "ganq-broker", "ganq-worker"):
            if not os.access(os.path.join(BIN, b), os.X_OK):
                skip("needs %s/%s (not built in this tree yet)" % (BIN, b))
        self.tmp = os.environ.get("GANQ_TMP") or tempfile.mkdtemp(prefix="ganq-e2e.")
        os.makedirs(self.tmp, exist_ok=True)
        self.cep = "ipc://%s/c.sock" % self.tmp
        self.wep = "ipc://%s/w.sock" % self.tmp
        self.procs = []
        self.workers = {}
        atexit.register(self.stop)
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
        self.broker = self._spawn("broker",
                                  [os.path.join(BIN, "ganq-broker"), "--db",
                                   os.path.join(self.tmp, "ganq.db"), "--clients", self.cep,
                                   "--workers", self.wep, "--heartbeat-ms", "200",
                                   "--liveness", "3"] + list(broker_args))
        self._wait(lambda: self.cli("workers", "--json", check=False).returncode == 0, 10,
                   "broker did not answer")
        for k in range(workers):
            self.start_worker("w%d" % k, list(worker_args))
        self.wait_workers(workers)

    def _spawn(self, name, argv, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=e)
        self.procs.append(p)
        return p

    def start_worker(self, name, args=(), env=None):
        self.workers[name] = self._spawn(
            "worker-" + name,
            [os.path.join(BIN, "ganq-worker"), "--broker", self.wep, "--name", name,
             "--threads", "1", "--encoders", "1"] + list(args), env)

    def wait_workers(self, n, sec=15):
        def live():
            r = self.cli("workers", "--json", check=False)
            if r.returncode != 0:
                return False
            return sum(1 for w in json.loads(r.stdout) if w["state"] != "dead") >= n
        self._wait(live, sec, "fewer than %d workers registered" % n)

    def _wait(self, cond, sec, what):
        end = time.time() + sec
        while time.time() < end:
            if cond():
                return
            time.sleep(0.1)
        self.dump()
        raise AssertionError(what + " within %s s" % sec)

    def dump(self):
        for f in sorted(os.listdir(self.tmp)):
            if f.endswith(".log"):
                with open(os.path.join(self.tmp, f), "rb") as fp:
                    tail = fp.read().decode("utf-8", "replace").splitlines()[-15:]
                print("---- %s\n%s" % (f, "\n".join(tail)), file=sys.stderr)

    def cli(self, *args, check=True):
        r = subprocess.run([os.path.join(BIN, "ganq"), "--broker", self.cep, "--timeout", "10"]
                           + [str(a) for a in args], capture_output=True, text=True)
        if check and r.returncode != 0:
            self.dump()
            raise AssertionError("ganq %s: exit %d: %s%s" % (" ".join(map(str, args)),
                                 r.returncode, r.stdout, r.stderr))
        return r

    def submit(self, *args):
        r = self.cli("submit", *args)
        job = r.stdout.strip().splitlines()[-1]
        assert job, "submit printed no job id"
        return job

    def status(self, job):
        return json.loads(self.cli("status", job, "--json").stdout)

    def wait(self, job, sec=60):
        st = {}
        def term():
            st.update(self.status(job))
            return st["state"] in ("done", "failed", "cancelled")
        self._wait(term, sec, "job %s not terminal" % job)
        if st["state"] != "done":
            self.dump()
        return st

    def run(self, *args, sec=60):
        job = self.submit(*args)
        st = self.wait(job, sec)
        assert st["state"] == "done", "job %s: %s (%s)" % (job, st["state"], st.get("reason"))
        return job, st

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        end = time.time() + 3
        for p in self.procs:
            try:
                p.wait(max(0.05, end - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def tree(d):
    """{relative path: sha256} of every visible file under d (hidden files excluded)."""
    out = {}
    for root, dirs, files in os.walk(d):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for f in files:
            if f.startswith("."):
                continue
            p = os.path.join(root, f)
            with open(p, "rb") as fp:
                out[os.path.relpath(p, d)] = hashlib.sha256(fp.read()).hexdigest()
    return out


def manifest(d):
    with open(os.path.join(d, "manifest.jsonl")) as fp:
        return [json.loads(line) for line in fp]
