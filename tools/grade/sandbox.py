"""Run the untrusted runner in a bubblewrap sandbox, with limits and a watchdog. Trusted side.

The sandbox sees: the Python installation and its site-packages (read-only), a copy of rnnlab in
which the assignment's graded reference functions are stubs (mounted over the real package, so
no route reaches the original source), and a fresh, size-limited tmpfs as its working directory
holding the notebook's cells, the probe inputs and the runner (read-only). Results leave only
through a pipe. Not the course directory, other submissions, the
gradebook, the source notebooks or any home directory. No network (every namespace unshared),
a scrubbed environment, an unprivileged user, limits on CPU time per step, address space, file
size and processes, and a pid namespace: when the runner ends or is killed, the kernel kills
every process the submission started.
"""

from __future__ import annotations

import base64
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BWRAP_HINT = ("bubblewrap (bwrap) is needed to grade untrusted notebooks safely: install it with "
              "`apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`")
UNSAFE_BANNER = "\n".join([
    "!" * 78,
    "!! --unsafe-no-sandbox: student code runs WITHOUT a sandbox, as your user.",
    "!! It can read the solutions and the gradebook, change other students' files",
    "!! and grades, and outlive the grader. Use this only for code you trust.",
    "!" * 78])
SANDBOX_DIR = "/submission"
INPUT_FILES = ("runner.py", "plan.json", "inputs.npz")  # all the sandbox gets from us
TMPFS_BYTES = 64 << 20  # what a submission may write, in its working directory and in /tmp
MAX_MESSAGE = 48 << 20  # longest line (a base64 result) the watchdog accepts


class SandboxUnavailable(RuntimeError):
    """No working sandbox on this machine; the message says what to install."""


@dataclass
class Limits:
    """Resource limits of one sandboxed run."""

    cpu_seconds: float = 10.0  # CPU time of one step (an answer cell or one test's calls)
    memory_bytes: int = 1 << 30  # address space of the runner (RLIMIT_AS)
    file_bytes: int = 64 << 20  # largest file it may write
    processes: int = 32  # processes and threads (RLIMIT_NPROC, plus a pids cgroup as root)
    startup_seconds: float = 20.0  # wall time to start Python and import NumPy and rnnlab

    def for_plan(self, steps: int) -> dict:
        return {"cpu_seconds": self.cpu_seconds, "memory_bytes": self.memory_bytes,
                "file_bytes": self.file_bytes, "processes": self.processes,
                "total_cpu_seconds": int(self.cpu_seconds * (steps + 1) + self.startup_seconds)}


@dataclass
class RunResult:
    """What the watchdog saw: which steps started and finished, and how the runner ended."""

    started: list[str] = field(default_factory=list)
    payloads: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (kind, step) -> data
    done: list[str] = field(default_factory=list)
    finished: bool = False
    cpu_seconds: float = 0.0  # CPU time the runner reported using (for benchmarks only)
    returncode: int | None = None
    killed_for_time: bool = False
    stderr: str = ""

    @property
    def interrupted(self) -> str | None:
        """The step that was running when the runner died, if any."""
        pending = [s for s in self.started if s not in self.done]
        return pending[-1] if pending else None


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def check_available() -> None:
    """Raise SandboxUnavailable unless bwrap can create a sandbox here."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(f"no sandbox available: {BWRAP_HINT}")
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent",
                            "--proc", "/proc", "--dev", "/dev", "true"],
                           capture_output=True, text=True, check=False)
    if probe.returncode:
        raise SandboxUnavailable(
            "bubblewrap is installed but cannot create a sandbox here (user namespaces "
            f"disabled?): {probe.stderr.strip()[:300]}. Enable unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1) or grade on a machine where "
            "`bwrap --ro-bind / / --unshare-all true` works")


def _python_mounts() -> list[str]:
    """Read-only binds for the interpreter, its standard library and site-packages."""
    import numpy

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
             Path(numpy.__file__).resolve().parents[1]}
    args = []
    for path in sorted(paths):
        if str(path).startswith("/usr/") or str(path) == "/usr":
            continue
        args += ["--ro-bind", str(path), str(path)]
    return args


def _system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _masked_packages() -> list[str]:
    """Other libraries that would hand students a finished RNN (torch): hidden by an empty dir."""
    args = []
    for name in ("torch",):
        for site in map(Path, sys.path):
            if (site / name / "__init__.py").is_file():
                args += ["--tmpfs", str(site / name)]
    return args


def bwrap_command(workdir: Path, stub_rnnlab: Path, real_rnnlab: Path, argv: list[str]
                  ) -> list[str]:
    """The bwrap invocation: what the sandbox sees (see the module docstring) and `argv`."""
    return [
        bwrap_path() or "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--uid", "65534", "--gid", "65534", "--hostname", "sandbox", "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_DIR,
        "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
        "--setenv", "MKL_NUM_THREADS", "1", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "PYTHONHASHSEED", "0", "--setenv", "MPLBACKEND", "Agg",
        # /tmp first: bwrap applies mounts in order, and the interpreter, its site-packages and
        # rnnlab may themselves live under /tmp (a CI clone, say); binding them after the tmpfs
        # keeps them visible instead of hiding them under it.
        "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp",
        *_system_mounts(), *_python_mounts(), *_masked_packages(),
        "--ro-bind", str(stub_rnnlab), str(real_rnnlab),
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(TMPFS_BYTES), "--tmpfs", SANDBOX_DIR,
        *[arg for name in INPUT_FILES
          for arg in ("--ro-bind", str(workdir / name), f"{SANDBOX_DIR}/{name}")],
        "--chdir", SANDBOX_DIR, *argv,
    ]


class _PidsCgroup:
    """A cgroup with pids.max when the grader runs as root (RLIMIT_NPROC does not bind root)."""

    ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))

    def __init__(self, limit: int):
        self.path: Path | None = None
        if os.geteuid() != 0:
            return
        for root in self.ROOTS:
            if (root / "cgroup.procs").exists() and (root != self.ROOTS[1] or
                                                     "pids" in _controllers(root)):
                path = root / f"rnnlab-grade-{uuid.uuid4().hex[:12]}"
                try:
                    path.mkdir()
                    (path / "pids.max").write_text(str(limit))
                except OSError:
                    continue
                self.path = path
                return

    def enter(self) -> None:  # in the child, before exec
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        if self.path is None:
            return
        for _ in range(50):
            try:
                for pid in (self.path / "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
                self.path.rmdir()
                return
            except (OSError, ValueError):
                time.sleep(0.02)


def _controllers(root: Path) -> str:
    try:
        return (root / "cgroup.controllers").read_text()
    except OSError:
        return ""


def run(argv: list[str], workdir: Path, limits: Limits, steps: int, *, sandboxed: bool,
        stub_rnnlab: Path, real_rnnlab: Path) -> RunResult:
    """Run Python on `argv` (the runner and its plan) in `workdir`, watching its progress on a pipe.

    Each step may use limits.cpu_seconds of CPU (enforced inside by RLIMIT_CPU); the watchdog
    here also kills the whole sandbox when a step exceeds twice that in wall time, however the
    code treats signals. The process group and (as root) the pids cgroup are killed at the end.
    Results come back on the same pipe (RunResult.payloads), never through the file system.
    """
    if sandboxed:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    else:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    read_fd, write_fd = os.pipe()
    argv = [*argv, str(write_fd)]  # the runner reports progress on this descriptor
    cgroup = _PidsCgroup(limits.processes * 2) if sandboxed else None
    result = RunResult()
    stderr_path = workdir / "runner.stderr"

    def child_setup():
        if cgroup is not None:
            cgroup.enter()

    if sandboxed:
        command = bwrap_command(workdir, stub_rnnlab, real_rnnlab,
                                [sys.executable, "-E", "-s", *argv])
    else:
        command = [sys.executable, "-E", "-s", *argv]
    with open(stderr_path, "wb") as stderr, open(os.devnull, "rb") as stdin:
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdin=stdin, stdout=stderr,
                                stderr=stderr, pass_fds=(write_fd,), preexec_fn=child_setup,
                                start_new_session=True)
    os.close(write_fd)
    buffer = b""
    step_deadline = time.monotonic() + limits.startup_seconds
    step_wall = max(2.0 * limits.cpu_seconds, limits.cpu_seconds + 2.0)
    runner_ended = False
    try:
        while True:
            timeout = step_deadline - time.monotonic()
            if timeout <= 0:
                result.killed_for_time = True
                break
            ready, _, _ = select.select([read_fd], [], [], timeout)
            if not ready:
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                runner_ended = True
                break  # the runner closed fd 3: it ended
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > MAX_MESSAGE:
                buffer = b""  # an endless line: dropped, the step's results will be missing
            for raw in lines:
                head, _, data = raw.partition(b" ")
                kind = head.decode("ascii", "replace")
                if kind in ("json", "npz"):
                    step, _, payload = data.partition(b" ")
                    try:
                        result.payloads[kind, step.decode()] = base64.b64decode(payload,
                                                                              validate=True)
                    except (ValueError, UnicodeDecodeError):
                        pass
                    continue
                step = data.decode("utf-8", "replace")[:300]
                if kind == "start":
                    result.started.append(step)
                    step_deadline = time.monotonic() + step_wall
                elif kind == "done":
                    result.done.append(step)
                    step_deadline = time.monotonic() + step_wall
                elif kind == "finished":
                    result.finished = True
                    try:
                        result.cpu_seconds = min(max(float(step), 0.0), 1e6)
                    except ValueError:
                        pass
    finally:
        os.close(read_fd)
        if (result.finished or runner_ended) and not result.killed_for_time:
            # The runner ended (cleanly, or killed by its own RLIMIT_CPU's SIGXCPU): let bwrap
            # exit with the runner's status before the process group is killed; otherwise the
            # exit status would race between the runner's signal and our SIGKILL.
            try:  # a clean exit also lets bwrap reap (and account for) what ran inside
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        result.returncode = proc.wait()
        if cgroup is not None:
            cgroup.remove()
    with open(stderr_path, "rb") as f:
        result.stderr = f.read(20_000).decode("utf-8", "replace")
    return result
