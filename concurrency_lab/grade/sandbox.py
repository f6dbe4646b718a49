"""Start a grading kernel inside limits, and end everything it started.

The grader starts each submission's kernel through a private kernelspec
(:func:`install_kernelspec`) whose command is this module::

    python -m concurrency_lab.grade.sandbox --memory 4096 --processes 256 \\
        [--cgroup /sys/fs/cgroup/pids/concurrency-lab-grade-0] -f {connection_file}

with the submission's work folder in ``CONCURRENCY_LAB_GRADE_WORKDIR``. Before it becomes
the kernel (``exec`` of ``python -m ipykernel_launcher``) it sets limits that the kernel
and everything it starts inherit:

* address space (``--memory`` MiB: a 10 GB allocation raises ``MemoryError``), total CPU
  seconds, largest file, no core dumps, and processes (``RLIMIT_NPROC``);
* **as root** (Linux), three more, because root ignores ``RLIMIT_NPROC`` and may write
  anywhere: it joins a *pids cgroup* whose ``pids.max`` caps the processes (a fork bomb
  meets ``BlockingIOError``); it enters new mount and PID namespaces (``unshare``) where
  every file system but the work folder is **read-only** and no process outside is
  visible or signallable; and it drops every capability (``setpriv``), so it cannot
  remount anything writable again. When the kernel ends, the namespace ends, and with
  it every process the submission started.

As an ordinary user only the resource limits apply (see :mod:`concurrency_lab.grade`).
This module is the kernel's launcher: it imports only the standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

MiB = 1024 * 1024
CGROUP_V1 = Path("/sys/fs/cgroup/pids")
CGROUP_V2 = Path("/sys/fs/cgroup")


def set_limits(memory_mib: int, processes: int, cpu_seconds: int, file_mib: int) -> None:
    """Apply the resource limits to this process (and so to everything it starts)."""
    limits = {
        resource.RLIMIT_AS: memory_mib * MiB,
        resource.RLIMIT_NPROC: processes,
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_FSIZE: file_mib * MiB,
        resource.RLIMIT_CORE: 0,
    }
    for which, value in limits.items():
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


_UNSHARE = ("--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
            "--kill-child")
"""New mount and PID namespaces (a fresh /proc), killed with the process that made them."""


@functools.cache
def isolation_problem() -> str | None:
    """Why a kernel cannot be shut in namespaces here, or ``None`` when it can.

    Root on Linux with ``unshare`` and ``setpriv`` is not always enough: a container
    without ``CAP_SYS_ADMIN`` refuses new mount namespaces, and in a ``chroot`` the root is
    not a mount point whose propagation can change. So this tries once, as the kernels
    will be started; a kernel that could not start would otherwise score every
    submission 0."""
    if sys.platform != "linux":
        return "not Linux"
    if os.getuid() != 0:
        return "not root"
    for tool in ("unshare", "setpriv"):
        if shutil.which(tool) is None:
            return f"no {tool} command"
    try:
        trial = subprocess.run(
            [shutil.which("unshare") or "unshare", *_UNSHARE, "true"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare could not run: {exc}"
    if trial.returncode != 0:
        return f"unshare refused: {trial.stderr.strip() or f'exit {trial.returncode}'}"
    return None


def isolation_available() -> bool:
    """Root on Linux where new mount and PID namespaces really can be made."""
    return isolation_problem() is None


def make_cgroup(name: str, processes: int) -> Path | None:
    """A pids cgroup allowing ``processes`` tasks; ``None`` where none can be made."""
    for parent in (CGROUP_V1, CGROUP_V2):
        if not (parent / "cgroup.procs").exists():
            continue
        group = parent / name
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(processes))
        except OSError:
            continue
        return group
    return None


def cgroup_pids(group: Path) -> list[int]:
    try:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def kill_cgroup(group: Path, *, remove: bool = False) -> None:
    """Kill every process in ``group`` (repeatedly, while a fork bomb may still fork)."""
    for _ in range(20):
        pids = cgroup_pids(group)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    if remove:
        with contextlib.suppress(OSError):
            group.rmdir()


def kill_tree(pid: int) -> None:
    """Kill ``pid``'s process group and every descendant still found under /proc."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for child in _descendants(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def install_kernelspec(folder: Path, name: str, argv: list[str]) -> Path:
    """Write kernelspec ``name`` (``argv`` + ``-f {connection_file}``) under ``folder``.

    Interrupts go as messages: the kernel may sit behind ``unshare``, which would not pass
    a SIGINT on.
    """
    spec = folder / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [*argv, "-f", "{connection_file}"],
                "display_name": f"grader ({name})",
                "language": "python",
                "interrupt_mode": "message",
            }
        ),
        encoding="utf-8",
    )
    return folder


def _read_only_except(workdir: Path) -> None:
    """Inside a new mount namespace: every mount read-only but ``workdir`` (and /proc, /dev)."""
    mounts = subprocess.run(
        ["findmnt", "-rno", "TARGET"], capture_output=True, text=True, check=True
    ).stdout.split()
    subprocess.run(["mount", "--bind", str(workdir), str(workdir)], check=True)
    for target in mounts:
        if target.startswith(("/proc", "/dev")):
            continue
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", target], capture_output=True, check=False
        )


def _kernel_command(python: str, connection: Path) -> list[str]:
    return [python, "-m", "ipykernel_launcher", "-f", str(connection)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="start a grading kernel inside limits")
    parser.add_argument("--memory", type=int, default=4096, help="address space, MiB")
    parser.add_argument("--processes", type=int, default=256)
    parser.add_argument("--cpu", type=int, default=900, help="CPU seconds in all")
    parser.add_argument("--file-size", type=int, default=256, help="largest file, MiB")
    parser.add_argument("--cgroup", type=Path, default=None, help="pids cgroup to join")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-f", dest="connection_file", type=Path, required=True)
    args = parser.parse_args(argv)
    workdir = Path(os.environ.get("CONCURRENCY_LAB_GRADE_WORKDIR", "")).resolve()
    if not os.environ.get("CONCURRENCY_LAB_GRADE_WORKDIR") or not workdir.is_dir():
        parser.error("CONCURRENCY_LAB_GRADE_WORKDIR must name the submission's folder")
    python = sys.executable
    if not args.inside:
        if os.getsid(0) != os.getpid():  # jupyter_client usually made it a leader already
            os.setsid()  # one process group: the watchdog can kill it whole
        if isolation_available():
            if args.cgroup is not None:
                (args.cgroup / "cgroup.procs").write_text(str(os.getpid()))
            # ipykernel rewrites its connection file: keep a copy where it may write
            copy = workdir / ".kernel-connection.json"
            shutil.copyfile(args.connection_file, copy)
            own = [
                "--memory", str(args.memory), "--processes", str(args.processes),
                "--cpu", str(args.cpu), "--file-size", str(args.file_size), "-f", str(copy),
            ]
            unshare = shutil.which("unshare") or "unshare"
            os.execv(unshare, [
                unshare, *_UNSHARE,
                python, "-m", "concurrency_lab.grade.sandbox", "--inside", *own,
            ])
    else:
        _read_only_except(workdir)
    set_limits(args.memory, args.processes, args.cpu, args.file_size)
    os.environ.update(
        HOME=str(workdir),
        TMPDIR=str(workdir / ".tmp"),
        MPLCONFIGDIR=str(workdir / ".matplotlib"),
        IPYTHONDIR=str(workdir / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(workdir / ".jupyter"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    (workdir / ".tmp").mkdir(exist_ok=True)
    os.environ.pop("PYTEST_CURRENT_TEST", None)
    os.chdir(workdir)
    command = _kernel_command(python, args.connection_file)
    if args.inside:  # no capabilities left: nothing can be made writable again
        setpriv = shutil.which("setpriv") or "setpriv"
        command = [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs",
                   "--", *command]
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
