"""Grade a class: ``python -m concurrency_lab.grade SUBMISSIONS...`` (``make grade``).

For instructors. Each submitted exercise notebook runs in a fresh kernel, in its own
temporary folder, inside limits (:mod:`~concurrency_lab.grade.sandbox`), and every
question is judged by the course's own checks run *after* the student's answer
(:mod:`~concurrency_lab.grade.runner`) — never by reading stored outputs.

**Threat model.** What a submission can do and what stops it:

* *Run forever, allocate 10 GB, fork without end, call ``os._exit``*: a per-cell timeout
  (interrupt, then kill), an address-space limit (``MemoryError``), a process limit
  (``BlockingIOError``), a CPU-time limit; a dead kernel costs that question only.
* *Harm the machine or other submissions*: run as root, the grader drops each kernel to an
  unprivileged grading user (``clgrade0``, ``clgrade1``… one per parallel slot; root
  ignores the process limit, a user does not), who can write only its temporary folder
  and /tmp; when the submission is done every process of that user is killed and the
  folder removed. Run as an ordinary user, the limits still apply but the kernel can
  write wherever you can: grade as root (or in a container) for untrusted submissions.
* *Fake a pass*: extra cells are dropped (only answer cells are taken), outputs are never
  read, checkers are re-imported from disk before judging, and a verdict counts only on a
  line marked with a nonce that the answer never saw.

What a determined student can still do: code that keeps running in the background of the
kernel (a thread started by an answer) and rewrites the interpreter's state *while* the
judge runs — e.g. patching the standard library the checks use, or reading the judge
cell's nonce from the interpreter's memory — can forge a verdict. The grader's notes
record how each kernel ended; review any ✓ whose answer starts threads it does not join.
Reading other students' answers is prevented only by the per-slot users.
"""
