"""Lesson 02 checks, run on answers written as notebook cells (as a student's would run).

Every right answer — beginner-verbose to terse, threads or an executor where the text
allows — must pass; every wrong one must fail with the message that names *its* problem.
"""

from __future__ import annotations

import random

import pytest

from concurrency_lab.dev.answers import (
    CHECK_SECONDS,
    assert_cells_fail,
    assert_cells_pass,
    cells_verdict,
)
from concurrency_lab.exercises.core import solution_from_notebook
from concurrency_lab.exercises.lesson02 import (
    Q3_RULE_TABLES,
    Access,
    SlowCounter,
    _q3_rule_verdict,
    _random_rule_table,
    max_overlap,
    overlapping_accesses,
    q1,
    q2,
    q3,
    reads_between,
    smallest_within,
)
from concurrency_lab.work.timeline import Event

SETUP = "import threading\nimport time"


def _solution(grade_id: str) -> str:
    return solution_from_notebook(q1.notebook, grade_id)


@pytest.fixture(scope="module", autouse=True)
def _report_check_times() -> object:
    yield
    print("\nlongest check per question:", {k: round(v, 2) for k, v in CHECK_SECONDS.items()})


# ------------------------------------------------------------------ q1: run all at once
Q1_RIGHT = {
    "model answer": _solution("q1"),
    "an executor of len(ids) threads": """
        from concurrent.futures import ThreadPoolExecutor

        def run_all(task, ids):
            with ThreadPoolExecutor(max_workers=len(ids)) as pool:
                pool.map(task, ids)
        """,
    "beginner-verbose": """
        def run_all(task, ids):
            my_threads = []
            for task_id in ids:
                new_thread = threading.Thread(target=task, args=(task_id,))
                my_threads.append(new_thread)
            for a_thread in my_threads:
                a_thread.start()
            for a_thread in my_threads:
                a_thread.join()
            print("all done")
        """,
    "start in the first loop, a dict": """
        def run_all(task, ids):
            threads = {}
            for i in ids:
                threads[i] = threading.Thread(target=task, args=[i], daemon=True)
                threads[i].start()
            for t in threads.values():
                t.join()
        """,
    "comprehensions and a lambda": """
        def run_all(task, ids):
            ts = [threading.Thread(target=lambda i=i: task(i)) for i in ids]
            [t.start() for t in ts]
            [t.join() for t in ts]
        """,
    "a Thread subclass": """
        class Worker(threading.Thread):
            def __init__(self, task, i):
                super().__init__()
                self.task, self.i = task, i

            def run(self):
                self.task(self.i)

        def run_all(task, ids):
            workers = [Worker(task, i) for i in ids]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        """,
    "submit and wait": """
        from concurrent.futures import ThreadPoolExecutor, wait

        def run_all(task, ids):
            pool = ThreadPoolExecutor(max_workers=len(ids))
            futures = [pool.submit(task, i) for i in ids]
            wait(futures)
            pool.shutdown()
        """,
    "polling is_alive": """
        def run_all(task, ids):
            ts = [threading.Thread(target=task, args=(i,)) for i in ids]
            for t in ts:
                t.start()
            while any(t.is_alive() for t in ts):
                time.sleep(0.01)
        """,
}


@pytest.mark.parametrize("cells", Q1_RIGHT.values(), ids=Q1_RIGHT.keys())
def test_q1_right(cells: str) -> None:
    assert_cells_pass(q1, "run_all", SETUP, cells)


Q1_WRONG = {
    "join in the start loop": (
        """
        def run_all(task, ids):
            for i in ids:
                t = threading.Thread(target=task, args=(i,))
                t.start()
                t.join()
        """,
        ("not all the tasks ran at the same time", "join() inside the loop"),
    ),
    "run instead of start": (
        """
        def run_all(task, ids):
            for i in ids:
                threading.Thread(target=task, args=(i,)).run()
        """,
        ("in the thread that called run_all", "t.run()"),
    ),
    "a pool of 2": (
        """
        from concurrent.futures import ThreadPoolExecutor

        def run_all(task, ids):
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(task, ids))
        """,
        ("not all the tasks ran at the same time", "at most 2 of the 5"),
    ),
    "start two, join two": (
        """
        def run_all(task, ids):
            for k in range(0, len(ids), 2):
                pair = [threading.Thread(target=task, args=(i,)) for i in ids[k:k + 2]]
                for t in pair:
                    t.start()
                for t in pair:
                    t.join()
        """,
        ("not all the tasks ran at the same time", "in groups"),
    ),
    "a long sleep instead of join": (
        """
        def run_all(task, ids):
            for i in ids:
                threading.Thread(target=task, args=(i,)).start()
            time.sleep(0.65)
        """,
        ("after its last task had finished", "join"),
    ),
    "a short sleep instead of join": (
        """
        def run_all(task, ids):
            for i in ids:
                threading.Thread(target=task, args=(i,)).start()
            time.sleep(0.3)
        """,
        ("still running",),
    ),
    "one process per task": (
        """
        import multiprocessing

        def run_all(task, ids):
            procs = [multiprocessing.Process(target=task, args=(i,)) for i in ids]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
        """,
        ("other processes", "threads"),
    ),
    "joins only the last thread": (
        """
        def run_all(task, ids):
            for i in ids:
                t = threading.Thread(target=task, args=(i,))
                t.start()
            t.join()
        """,
        ("still running", "join() on *every* one"),
    ),
    "joins only the first thread": (
        """
        def run_all(task, ids):
            threads = [threading.Thread(target=task, args=(i,)) for i in ids]
            for t in threads:
                t.start()
            threads[0].join()
        """,
        ("still running",),
    ),
    "never joins": (
        """
        def run_all(task, ids):
            for i in ids:
                threading.Thread(target=task, args=(i,)).start()
        """,
        ("still running",),
    ),
    "skips the first id": (
        """
        def run_all(task, ids):
            threads = [threading.Thread(target=task, args=(i,)) for i in ids[1:]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        """,
        ("never run",),
    ),
    "runs the first id twice": (
        """
        def run_all(task, ids):
            threads = [threading.Thread(target=task, args=(i,)) for i in [ids[0], *ids]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        """,
        ("more than once",),
    ),
    "args not a tuple": (
        """
        def run_all(task, ids):
            threads = [threading.Thread(target=task, args=i) for i in ids]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        """,
        ("thread you started raised TypeError", "iterable"),
    ),
    "the last task in the calling thread": (
        """
        def run_all(task, ids):
            threads = [threading.Thread(target=task, args=(i,)) for i in ids[:-1]]
            for t in threads:
                t.start()
            task(ids[-1])
            for t in threads:
                t.join()
        """,
        ("not in a thread of their own",),
    ),
}


@pytest.mark.parametrize(("cells", "says"), Q1_WRONG.values(), ids=Q1_WRONG.keys())
def test_q1_wrong(cells: str, says: tuple[str, ...]) -> None:
    assert_cells_fail(q1, "run_all", SETUP, cells, says=says)


def test_q1_stub_is_not_attempted() -> None:
    stub = "def run_all(task, ids):\n    raise NotImplementedError()"
    assert cells_verdict(q1, "run_all", SETUP, stub).status == "not attempted"


# ------------------------------------------------------------------ q2: a locked counter
Q2_SETUP = SETUP + "\ncounter_lock = threading.Lock()"
Q2_RIGHT = {
    "model answer": _solution("q2"),
    "the lock around the whole loop": """
        def add_many(counter, times):
            with counter_lock:
                for _ in range(times):
                    counter.value += 1
        """,
    "acquire and release": """
        def add_many(counter, times):
            for _ in range(times):
                counter_lock.acquire()
                try:
                    counter.value = counter.value + 1
                finally:
                    counter_lock.release()
        """,
    "its own module-level RLock": """
        my_lock = threading.RLock()

        def add_many(counter, times):
            for _ in range(times):
                with my_lock:
                    current = counter.value
                    counter.value = current + 1
        """,
    "a while loop, beginner-verbose": """
        def add_many(counter, times):
            done = 0
            while done < times:
                counter_lock.acquire()
                old_value = counter.value
                new_value = old_value + 1
                counter.value = new_value
                counter_lock.release()
                done = done + 1
        """,
    "all at once under the lock": """
        def add_many(counter, times):
            with counter_lock:
                counter.value += times
        """,
    "a semaphore of one": """
        gate = threading.Semaphore(1)

        def add_many(counter, times):
            for _ in range(times):
                with gate:
                    counter.value += 1
        """,
}


@pytest.mark.parametrize("cells", Q2_RIGHT.values(), ids=Q2_RIGHT.keys())
def test_q2_right(cells: str) -> None:
    assert_cells_pass(q2, "add_many", Q2_SETUP, cells)


Q2_WRONG = {
    "no lock": (
        """
        def add_many(counter, times):
            for _ in range(times):
                counter.value += 1
        """,
        ("updates were lost", "at the same moment", "no lock shared by all"),
    ),
    "a new lock per call": (
        """
        def add_many(counter, times):
            lock = threading.Lock()
            for _ in range(times):
                with lock:
                    counter.value += 1
        """,
        ("updates were lost", "new lock on every call"),
    ),
    "a new lock per turn": (
        """
        def add_many(counter, times):
            for _ in range(times):
                with threading.Lock():
                    counter.value += 1
        """,
        ("updates were lost", "no lock shared by all"),
    ),
    "the lock around the read only": (
        """
        def add_many(counter, times):
            for _ in range(times):
                with counter_lock:
                    value = counter.value
                counter.value = value + 1
        """,
        ("updates were lost", "covered the read but not the write", "one `with counter_lock:`"),
    ),
    "the lock around the write only": (
        """
        def add_many(counter, times):
            for _ in range(times):
                value = counter.value + 1
                with counter_lock:
                    counter.value = value
        """,
        ("updates were lost", "covered the write but not the read"),
    ),
    "read and write locked separately": (
        """
        def add_many(counter, times):
            for _ in range(times):
                with counter_lock:
                    value = counter.value
                with counter_lock:
                    counter.value = value + 1
        """,
        ("updates were lost", "between another thread's read and its write"),
    ),
    "a hard-coded total": (
        """
        def add_many(counter, times):
            with counter_lock:
                counter.value = 80
        """,
        ("left counter.value at 80", "not a fixed number"),
    ),
    "one turn too few": (
        """
        def add_many(counter, times):
            for _ in range(1, times):
                with counter_lock:
                    counter.value += 1
        """,
        ("off by one",),
    ),
    "one turn too many": (
        """
        def add_many(counter, times):
            for _ in range(times + 1):
                with counter_lock:
                    counter.value += 1
        """,
        ("off by one",),
    ),
    "adds 1 once": (
        """
        def add_many(counter, times):
            with counter_lock:
                counter.value += 1
        """,
        ("expected",),
    ),
    "does nothing": (
        """
        def add_many(counter, times):
            for _ in range(times):
                with counter_lock:
                    counter.value
        """,
        ("added nothing",),
    ),
    "a typo": (
        """
        def add_many(counter, times):
            for _ in range(times):
                with counter_lock:
                    counter.valeu += 1
        """,
        ("AttributeError", "valeu"),
    ),
}


@pytest.mark.parametrize(("cells", "says"), Q2_WRONG.values(), ids=Q2_WRONG.keys())
def test_q2_wrong(cells: str, says: tuple[str, ...]) -> None:
    assert_cells_fail(q2, "add_many", Q2_SETUP, cells, says=says)


def test_q2_a_lock_never_released_is_a_timeout() -> None:
    cells = """
        def add_many(counter, times):
            for _ in range(times):
                counter_lock.acquire()
                counter.value += 1
        """
    assert_cells_fail(q2, "add_many", Q2_SETUP, cells, says=("did not finish", "lock"))


def test_q2_stub_is_not_attempted() -> None:
    stub = "def add_many(counter, times):\n    raise NotImplementedError()"
    assert cells_verdict(q2, "add_many", Q2_SETUP, stub).status == "not attempted"


def test_q2_slow_counter_reads_the_value_from_before_the_wait() -> None:
    counter = SlowCounter(access_seconds=0.0, start=5)
    counter.value += 2
    assert counter.value == 7 and "value=7" in repr(counter)
    assert [a.kind for a in counter.accesses] == ["read", "write", "read"]


def test_q2_access_analysis() -> None:
    a = [Access(1, "read", 0, 1), Access(2, "read", 0.5, 1.5), Access(1, "write", 2, 3)]
    assert overlapping_accesses(a) == {"read/read": 1}
    assert reads_between(a) == 1
    b = [Access(1, "read", 0, 1), Access(1, "write", 1, 2), Access(2, "read", 2, 3)]
    assert not overlapping_accesses(b) and reads_between(b) == 0


# ------------------------------------------------------------------ q3: measure, choose
CHOOSE = """
def choose_threads(walls):
    best = min(walls.values())
    return min(n for n, wall in walls.items() if wall <= 1.2 * best)
"""
TIME_THREADS = """
def time_threads(task, ids, n):
    shares = [ids[k::n] for k in range(n)]
    def run_share(share):
        for i in share:
            task(i)
    threads = [threading.Thread(target=run_share, args=(s,)) for s in shares]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start
"""
BOTH = ("time_threads", "choose_threads")

Q3_RIGHT = {
    "model answer": (_solution("q3"),),
    "numpy array_split": (
        """
        import numpy as np

        def time_threads(task, ids, n):
            def work(chunk):
                for i in chunk:
                    task(i)
            threads = [threading.Thread(target=work, args=(c,)) for c in np.array_split(ids, n)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - t0
        """,
        CHOOSE,
    ),
    "an executor of n, choose in sorted order": (
        """
        from concurrent.futures import ThreadPoolExecutor

        def time_threads(task, ids, n):
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=n) as pool:
                list(pool.map(task, ids))
            return time.perf_counter() - start
        """,
        """
        def choose_threads(walls):
            best = min(walls.values())
            for n in sorted(walls):
                if walls[n] <= 1.2 * best:
                    return n
        """,
    ),
    "contiguous chunks by ceil": (
        """
        import math

        def time_threads(task, ids, n):
            size = math.ceil(len(ids) / n)
            chunks = [ids[k:k + size] for k in range(0, len(ids), size)]
            threads = [threading.Thread(target=lambda c=c: [task(i) for i in c]) for c in chunks]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - start
        """,
        """
        def choose_threads(walls):
            best = min(walls.values())
            good = [n for n in walls if walls[n] / best <= 1.2]
            return sorted(good)[0]
        """,
    ),
    "n workers pulling from a queue": (
        """
        import queue

        def time_threads(task, ids, n):
            todo = queue.Queue()
            for i in ids:
                todo.put(i)

            def worker():
                while True:
                    try:
                        i = todo.get_nowait()
                    except queue.Empty:
                        return
                    task(i)

            threads = [threading.Thread(target=worker) for _ in range(n)]
            begin = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - begin
        """,
        CHOOSE,
    ),
    "beginner-verbose": (
        """
        def time_threads(task, ids, n):
            groups = []
            for k in range(n):
                groups.append([])
            for position in range(len(ids)):
                groups[position % n].append(ids[position])

            def do_group(group):
                for one_id in group:
                    task(one_id)

            all_threads = []
            for group in groups:
                all_threads.append(threading.Thread(target=do_group, args=(group,)))
            start_time = time.perf_counter()
            for thread in all_threads:
                thread.start()
            for thread in all_threads:
                thread.join()
            end_time = time.perf_counter()
            return end_time - start_time
        """,
        """
        def choose_threads(walls):
            best_time = None
            for n in walls:
                if best_time is None or walls[n] < best_time:
                    best_time = walls[n]
            answer = None
            for n in walls:
                if walls[n] <= best_time * 1.2:
                    if answer is None or n < answer:
                        answer = n
            return answer
        """,
    ),
    "timeit's clock, min over keys": (
        """
        from timeit import default_timer as clock

        def time_threads(task, ids, n):
            threads = [
                threading.Thread(target=lambda k=k: [task(i) for i in ids[k::n]]) for k in range(n)
            ]
            t0 = clock()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return clock() - t0
        """,
        """
        def choose_threads(walls):
            best = min(walls.values())
            return min(k for k in walls.keys() if walls[k] <= best + 0.2 * best)
        """,
    ),
}


@pytest.mark.parametrize("cells", Q3_RIGHT.values(), ids=Q3_RIGHT.keys())
def test_q3_right(cells: tuple[str, ...]) -> None:
    assert_cells_pass(q3, BOTH, SETUP, *cells)


def _threads_body(start_loop: str, ret: str = "return time.perf_counter() - start") -> str:
    return f"""
def time_threads(task, ids, n):
    shares = [ids[k::n] for k in range(n)]
    threads = [threading.Thread(target=lambda s=s: [task(i) for i in s]) for s in shares]
    start = time.perf_counter()
{start_loop}
    {ret}
"""


Q3_WRONG = {
    "the fastest count": (
        (TIME_THREADS, "def choose_threads(walls):\n    return min(walls, key=walls.get)"),
        ("fastest count", "expected 4"),
    ),
    "the first key within 20 % in dict order": (
        (
            TIME_THREADS,
            "def choose_threads(walls):\n    best = min(walls.values())\n"
            "    return next(n for n, w in walls.items() if w <= 1.2 * best)",
        ),
        ("returned 8; expected 4", "keys"),
    ),
    "within 10 %": (
        (
            TIME_THREADS,
            "def choose_threads(walls):\n    best = min(walls.values())\n"
            "    return min(n for n, w in walls.items() if w <= 1.1 * best)",
        ),
        ("returned 16; expected 4",),
    ),
    "returns the wall time, not the count": (
        (
            TIME_THREADS,
            "def choose_threads(walls):\n    best = min(walls.values())\n"
            "    return min(w for n, w in walls.items() if w <= 1.2 * best)",
        ),
        ("expected 4",),
    ),
    "one thread per id, whatever n": (
        (
            """
            def time_threads(task, ids, n):
                threads = [threading.Thread(target=task, args=(i,)) for i in ids]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return time.perf_counter() - start
            """,
            CHOOSE,
        ),
        ("tasks running at once", "exactly 2 thread"),
    ),
    "clock stopped before the joins": (
        (
            _threads_body(
                "    for t in threads:\n        t.start()\n    wall = time.perf_counter() - start\n"
                "    for t in threads:\n        t.join()",
                "return wall",
            ),
            CHOOSE,
        ),
        ("faster than possible",),
    ),
    "joins inside the start loop": (
        (_threads_body("    for t in threads:\n        t.start()\n        t.join()"), CHOOSE),
        ("one after another",),
    ),
    "milliseconds": (
        (
            _threads_body(
                "    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()",
                "return (time.perf_counter() - start) * 1000",
            ),
            CHOOSE,
        ),
        ("milliseconds",),
    ),
    "drops the remainder": (
        (
            """
            def time_threads(task, ids, n):
                size = len(ids) // n
                shares = [ids[k * size:(k + 1) * size] for k in range(n)]
                threads = [
                    threading.Thread(target=lambda s=s: [task(i) for i in s]) for s in shares
                ]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return time.perf_counter() - start
            """,
            CHOOSE,
        ),
        ("never run", "remainder"),
    ),
    "one thread too few": (
        (
            """
            def time_threads(task, ids, n):
                m = max(1, n - 1)
                threads = [
                    threading.Thread(target=lambda k=k: [task(i) for i in ids[k::m]])
                    for k in range(m)
                ]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return time.perf_counter() - start
            """,
            CHOOSE,
        ),
        ("never had more than 2 tasks running at once", "with 3 threads"),
    ),
    "a clock reading": (
        (
            _threads_body(
                "    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()",
                "return time.perf_counter()",
            ),
            CHOOSE,
        ),
        ("not its wall time",),
    ),
    "returns nothing": (
        (
            _threads_body(
                "    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()",
                "pass",
            ),
            CHOOSE,
        ),
        ("returned None", "seconds"),
    ),
    "returns before the joins finish": (
        (
            _threads_body("    for t in threads:\n        t.start()"),
            CHOOSE,
        ),
        ("still running",),
    ),
}


@pytest.mark.parametrize(("cells", "says"), Q3_WRONG.values(), ids=Q3_WRONG.keys())
def test_q3_wrong(cells: tuple[str, ...], says: tuple[str, ...]) -> None:
    assert_cells_fail(q3, BOTH, SETUP, *cells, says=says)


def test_q3_check_takes_both_functions() -> None:
    verdict = cells_verdict(q3, "time_threads", SETUP, TIME_THREADS)
    assert verdict.status == "failed" and "pass both functions" in verdict.headline.lower()
    assert q3.verdict((lambda: 0, 4)).status == "failed"


def test_q3_stubs_are_not_attempted() -> None:
    stub = "def time_threads(task, ids, n):\n    raise NotImplementedError()"
    assert cells_verdict(q3, BOTH, SETUP, stub, CHOOSE).status == "not attempted"
    assert q3.verdict((None, None)).status == "not attempted"


def test_q3_rule_tables_agree_with_the_reference_rule() -> None:
    for table, right in Q3_RULE_TABLES:
        assert smallest_within(table) == right
    rng = random.Random(7)
    for _ in range(200):
        table, right = _random_rule_table(rng)
        assert smallest_within(table) == right
    assert _q3_rule_verdict(smallest_within, rng) is None


@pytest.mark.parametrize(
    ("spans", "most"),
    [([(0, 1), (1, 2)], 1), ([(0, 2), (1, 3), (1.5, 1.8)], 3), ([(0, 1), (0.5, 2), (1.5, 3)], 2)],
)
def test_max_overlap(spans: list[tuple[float, float]], most: int) -> None:
    events = [Event(i, "t", 1, "x", a, b) for i, (a, b) in enumerate(spans)]
    assert max_overlap(events) == most
