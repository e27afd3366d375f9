"""test_e2e_errors: bad jobs get a clear error, through the real CLI, broker and workers.

Each case must be refused at submit (non-zero exit, the message on stderr) or, where only a
worker can tell (the output directory lives on the workers' filesystem), end as a failed job
whose reason says why; either way the message must name the field or path and what is
wrong. Cases: unknown class names (with close-match suggestions), class ids out of range,
truncation outside (0, 2] for a model without standing statistics (the (0, 1] case of a
standing-statistics model is in test_e2e_real_model), count limits, shard size 0 (a missing
--shard-size defaults to 1000), sweep values repeated, interpolation steps and endpoints, and output directories that are
unwritable, foreign (files ganq did not write), another job's, or a file. A foreign
directory is left exactly as it was.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ganq_e2e as E  # noqa: E402

c = E.Cluster(workers=1)
T = c.tmp
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg)


def expect_error(args, *words, submit_only=False):
    r = c.cli("submit", *args, check=False)
    if r.returncode != 0:
        text = r.stderr + r.stdout
        where = "submit"
    else:
        check(not submit_only, "accepted at submit: %s" % (args,))
        st = c.wait(r.stdout.strip().splitlines()[-1], 60)
        check(st["state"] == "failed", "%s: job %s, want failed" % (args, st["state"]))
        text = st.get("reason") or ""
        where = "job"
    missing = [w for w in words if w not in text]
    check(not missing, "%s: %s message %r lacks %s" % (args[:1], where, text.strip(), missing))
    print("ok (%s): %s" % (where, text.strip().splitlines()[-1] if text.strip() else ""))


G = ["generate", "--model", "testcard", "--count", 3, "--classes"]
out = os.path.join(T, "o")

# classes
expect_error(G + ["clas3", "--out", out], "clas3", "did you mean \"class3\"?",
             submit_only=True)
expect_error(G + ["CLASS7,tigr", "--out", out], "\"tigr\"", "0-9", submit_only=True)
expect_error(G + ["0-12", "--out", out], "0-12", "0..9", submit_only=True)
expect_error(["interpolate", "--model", "testcard", "--from", "clss2:1", "--to", "class3:2",
              "--steps", 3, "--out", out], "clss2", "class2", submit_only=True)
expect_error(["interpolate", "--model", "testcard", "--from", "1:1", "--to", "30:2",
              "--steps", 3, "--out", out], "30", submit_only=True)
# truncation: testcard has no standing statistics, so (0, 2]
expect_error(G + ["0", "--truncation", "2.5", "--out", out], "2.5", "(0, 2]", submit_only=True)
expect_error(G + ["0", "--truncation", "0", "--out", out], "truncation", submit_only=True)
# counts and sizes
expect_error(["generate", "--model", "testcard", "--count", 0, "--classes", "0", "--out", out],
             "count", submit_only=True)
expect_error(["generate", "--model", "testcard", "--count", 100000001, "--classes", "0",
              "--out", out], "count", "100000000", submit_only=True)
expect_error(["synthesize", "--model", "testcard", "--per-class", 20000000, "--classes",
              "0-9", "--out", out], "per_class", "100000000", submit_only=True)
S = ["synthesize", "--model", "testcard", "--per-class", 3, "--classes", "0", "--layout", "wds"]
expect_error(S + ["--shard-size", 0, "--out", out], "shard", submit_only=True)
expect_error(["sweep", "--model", "testcard", "--truncations", "0.5,0.5", "--per-value", 2,
              "--classes", "0", "--out", out], "0.5", "twice", submit_only=True)
expect_error(["interpolate", "--model", "testcard", "--from", "1:1", "--to", "2:2", "--steps",
              1, "--out", out], "steps", submit_only=True)
check(not os.path.exists(out), "a refused job created its out dir")

# output directories
expect_error(G + ["0", "--out", "/proc/ganq-e2e-nope"], "/proc/ganq-e2e-nope")
foreign = os.path.join(T, "foreign")
os.makedirs(foreign)
with open(os.path.join(foreign, "notes.txt"), "w") as fp:
    fp.write("mine\n")
expect_error(G + ["0", "--out", foreign], foreign, "did not write")
check(sorted(os.listdir(foreign)) == ["notes.txt"], "foreign dir touched: %s"
      % sorted(os.listdir(foreign)))
afile = os.path.join(T, "afile")
open(afile, "w").close()
expect_error(G + ["0", "--out", afile], afile, "not a directory")
# another job's directory: a finished job, then a different one into the same place
other = os.path.join(T, "other")
c.run("generate", "--model", "testcard", "--count", 2, "--classes", "0", "--out", other)
expect_error(G + ["1", "--out", other], other, "another job")
# a link to a directory
link = os.path.join(T, "link")
os.symlink(other, link)
expect_error(G + ["0", "--out", os.path.join(link, "sub")], "symlink")

c.stop()
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("ok: every bad job refused with a message naming the problem")
