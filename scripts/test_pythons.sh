#!/usr/bin/env bash
# make test-pythons: run the course's `make test` under every Python >= 3.11 on this machine.
#
# For each interpreter found, this script
#   1. makes a fresh clone of the repository at the commit HEAD pointed to when the script
#      started (uncommitted edits are not tested: the clone is what a student would get;
#      every interpreter tests the same commit even if others commit meanwhile),
#   2. runs `make install PYTHON=<interpreter>` in the clone (the Makefile creates .venv with
#      that interpreter and installs requirements.txt exactly as for a student),
#   3. runs `make lint`, then the tests: `make -o lint test PYTHON=<interpreter>` (lint done
#      already, so the tests run and are reported even when ruff complains; ruff's verdict,
#      the same on every interpreter, gets a column of its own),
# one interpreter after the other (the suite already uses every core), and ends with a table:
# exact version, default multiprocessing start method, GIL, install, ruff, pytest's closing
# line, seconds, and the machine's load (timing-sensitive tests suffer on a busy machine).
#
# Where the interpreters come from:
#   - pyenv: $(pyenv root)/versions/*/bin/python3, those >= 3.11 (3.11, 3.12, 3.13 here);
#   - a Debian chroot folder ($PYTHONS_CHROOT, default /opt/pythons/debian) with Debian's
#     python3.X packages (3.14 and 3.15 from sid; see README for how the folder is made):
#     each /usr/bin/python3.X in it whose minor version pyenv does not already provide.
#     Those run via `chroot` (needs root), in a clone made inside the folder; the script
#     mounts /proc, /dev, /dev/pts and /dev/shm there for the run (IPython's `!cmd` needs a
#     pty), bind-mounts read-only any local folder the host's pip configuration points at
#     (find-links, file:// indexes) and copies the host's pip configuration, CA bundle and
#     resolv.conf in, so pip inside sees the same indexes; it unmounts on exit.
#
# Usage: scripts/test_pythons.sh [--only 3.14[,3.15]]... [--keep] [--list] [--commit REF]
#                                [--timeout SECONDS]
#   --only V   test only interpreters whose version is V or starts with V. (repeatable,
#              comma-separated lists allowed: --only 3.11,3.14)
#   --keep     keep the clones (with their .venv) for debugging; their paths are printed
#   --list     only list the interpreters that would be tested (version, start method, GIL)
#   --commit R test commit R instead of HEAD
#   --timeout S stop a test run (and an install) after S seconds, default
#              $TEST_PYTHONS_TIMEOUT or 1800: a hung suite must not block the others
# Logs of every install and test run go to $TEST_PYTHONS_LOGDIR (default: a new folder
# /tmp/test-pythons-<date>); the path is printed. Exit status: 0 if every interpreter
# installed and passed, 1 if any failed, 2 for a usage error or no interpreter found.
set -euo pipefail

MIN_MINOR=11                                   # oldest Python tested: 3.11
CHROOT=${PYTHONS_CHROOT:-/opt/pythons/debian}
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

# ---- options -----------------------------------------------------------------------------
ONLY=()
KEEP=0
LIST=0
REF=HEAD
TIMEOUT=${TEST_PYTHONS_TIMEOUT:-1800}
while (($#)); do
    case $1 in
        --only) [[ $# -ge 2 ]] || { echo "--only needs a version, e.g. --only 3.14" >&2; exit 2; }
                IFS=, read -ra more <<<"$2"; ONLY+=("${more[@]}"); shift 2 ;;
        --only=*) IFS=, read -ra more <<<"${1#--only=}"; ONLY+=("${more[@]}"); shift ;;
        --keep) KEEP=1; shift ;;
        --list) LIST=1; shift ;;
        --commit) [[ $# -ge 2 ]] || { echo "--commit needs a ref" >&2; exit 2; }
                  REF=$2; shift 2 ;;
        --commit=*) REF=${1#--commit=}; shift ;;
        --timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "--timeout needs seconds" >&2; exit 2; }
                   TIMEOUT=$2; shift 2 ;;
        --timeout=*) TIMEOUT=${1#--timeout=}; shift
                     [[ $TIMEOUT =~ ^[0-9]+$ ]] || { echo "--timeout needs seconds" >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
SHA=$(git -C "$REPO" rev-parse --verify "$REF^{commit}")
COMMIT=$(git -C "$REPO" log -1 --format='%h (%cd)' --date=format:'%Y-%m-%d %H:%M' "$SHA")
LOGDIR=${TEST_PYTHONS_LOGDIR:-${TMPDIR:-/tmp}/test-pythons-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$LOGDIR"

# The runs must not inherit what the calling `make test-pythons` passes down (its flags and
# command-line variables) nor an activated virtualenv.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES VIRTUAL_ENV PYTHONPATH PYTHONHOME

# ---- cleanup: unmount what we mounted, remove clones unless --keep ------------------------
MOUNTED=()   # mount points this script mounted, in mounting order
CLONES=()    # temporary folders holding clones
# chroot_users: the processes running inside the chroot folder, one pid a line.
chroot_users() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/root" 2>/dev/null) == "$CHROOT" ]] && echo "${p#/proc/}"
    done
    return 0
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local i m users=()
    # Others may be working in the folder on the mounts we made (they saw them there and
    # mounted nothing): then leave the mounts in place rather than pull /proc from under them.
    if ((${#MOUNTED[@]})); then
        mapfile -t users < <(chroot_users)
        if ((${#users[@]})); then
            echo "note: left ${MOUNTED[*]} mounted: processes ${users[*]} run in $CHROOT" >&2
            MOUNTED=()
        fi
    fi
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        m=${MOUNTED[i]}
        # A process a test left behind may still hold a file there: then detach lazily.
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null \
            || echo "warning: could not unmount $m" >&2
    done
    if ((KEEP)); then
        ((${#CLONES[@]})) && printf 'kept clone: %s\n' "${CLONES[@]}"
    else
        for m in "${CLONES[@]}"; do rm -rf "$m"; done
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mount_once ARGS... TARGET: mount unless TARGET is already a mount point. An existing mount
# belongs to someone else, who will unmount it, while a process runs in the folder; with
# none running it is a leftover (of a run killed before its cleanup): adopted, unmounted
# at the end like ours.
mount_once() {
    local target=${*: -1}
    if mountpoint -q "$target"; then
        if [[ -z $(chroot_users) && " ${MOUNTED[*]} " != *" $target "* ]]; then
            MOUNTED+=("$target")
        fi
        return 0
    fi
    mkdir -p "$target"
    mount "$@"
    MOUNTED+=("$target")
}

# ---- find interpreters ---------------------------------------------------------------------
# Each entry: "<version>|<kind>|<path>", kind "host" (runs here) or "chroot" (path inside
# the chroot folder).
FOUND=()

# minor_of PYVERSION -> 14 for 3.14.10
minor_of() { local v=${1#3.}; echo "${v%%.*}"; }

wanted() {  # wanted FULLVERSION: does it pass --only?
    local v=$1 f
    ((${#ONLY[@]})) || return 0
    for f in "${ONLY[@]}"; do
        [[ $v == "$f" || $v == "$f".* ]] && return 0
    done
    return 1
}

minor_wanted() {  # minor_wanted 14: could some 3.14.x pass --only?
    local f
    ((${#ONLY[@]})) || return 0
    for f in "${ONLY[@]}"; do
        [[ 3.$1 == "$f" || 3.$1 == "$f".* || $f == 3.$1.* ]] && return 0
    done
    return 1
}

if command -v pyenv >/dev/null 2>&1; then
    PYENV_DIR=$(pyenv root)
else
    PYENV_DIR=${PYENV_ROOT:-$HOME/.pyenv}
fi
declare -A HOST_MINORS=()
for py in "$PYENV_DIR"/versions/*/bin/python3; do
    [[ -x $py ]] || continue
    v=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || continue
    if [[ $v != 3.* ]] || (($(minor_of "$v") < MIN_MINOR)); then continue; fi
    HOST_MINORS[$(minor_of "$v")]=1
    wanted "$v" && FOUND+=("$v|host|$py")
done

if [[ -d $CHROOT ]]; then
    for py in "$CHROOT"/usr/bin/python3.*; do
        name=${py##*/}
        [[ $name =~ ^python3\.([0-9]+)$ && -x $py ]] || continue
        minor=${BASH_REMATCH[1]}
        if ((minor < MIN_MINOR)) || [[ -n ${HOST_MINORS[$minor]:-} ]]; then continue; fi
        if ((EUID != 0)); then
            echo "skipping chroot $name: running it needs root" >&2
            continue
        fi
        # The exact version is asked below (in the chroot); here select on 3.X only.
        minor_wanted "$minor" || continue
        FOUND+=("3.$minor|chroot|/usr/bin/$name")
    done
fi

if ((${#FOUND[@]} == 0)); then
    echo "no Python >= 3.$MIN_MINOR found${ONLY:+ matching --only ${ONLY[*]}}" >&2
    exit 2
fi

# ---- prepare the chroot, if any interpreter is there ----------------------------------------
CHROOT_ENV=()   # environment for commands run in the chroot
if printf '%s\n' "${FOUND[@]}" | grep -q '|chroot|'; then
    mount_once -t proc proc "$CHROOT/proc"
    mount_once --bind /dev "$CHROOT/dev"
    mount_once --bind /dev/pts "$CHROOT/dev/pts"
    mountpoint -q /dev/shm && mount_once --bind /dev/shm "$CHROOT/dev/shm"

    # The host's DNS, CA bundle and pip configuration, so pip there uses the same indexes
    # (the user's own pip.conf goes to /root, HOME in the chroot).
    PIP_CONFS=(/etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf")
    for f in /etc/resolv.conf /etc/ssl/certs/ca-certificates.crt "${PIP_CONFS[@]}"; do
        [[ -f $f ]] || continue
        inside=$f
        [[ $f == "$HOME"/* ]] && inside=/root/${f#"$HOME"/}
        mkdir -p "$CHROOT$(dirname "$inside")"
        cp -L "$f" "$CHROOT$inside"
    done
    # Files and folders the pip configuration and PIP_* variables name (find-links folders,
    # file:// indexes, a constraints file, a cert): folders bind-mounted read-only at the
    # same path, files copied. A local index ".../simple" links its pages to files beside
    # it (../../files/x.whl), so its parent folder is mounted.
    pip_values=$(
        for f in "${PIP_CONFS[@]}"; do
            [[ -f $f ]] && sed -n 's/^[^#;[]*=[[:space:]]*//p' "$f"
        done
        for var in $(compgen -e); do [[ $var == PIP_* ]] && printf '%s\n' "${!var}"; done
        true
    )
    for token in $pip_values; do
        p=${token#file://}
        p=${p%/}
        [[ $p == */simple ]] && p=${p%/simple}
        [[ $p == /?* && $p != "$CHROOT"* && $CHROOT != "$p"/* ]] || continue
        if [[ -d $p ]]; then
            mount_once --bind -o ro "$p" "$CHROOT$p"
        elif [[ -f $p ]]; then
            mkdir -p "$CHROOT$(dirname "$p")"
            cp -L "$p" "$CHROOT$p"
        fi
    done

    # Some tests call git (exercises compared with the committed ones): Debian's minbase
    # has none.
    [[ -x $CHROOT/usr/bin/git ]] \
        || echo "note: no git in $CHROOT (chroot $CHROOT apt-get install git): tests calling git fail" >&2

    CHROOT_ENV=(HOME=/root "PATH=$CHROOT_PATH" LANG=C.UTF-8 "TERM=${TERM:-dumb}")
    for var in $(compgen -e); do
        case $var in PIP_*|CONCURRENCY_LAB_*|TEST_SCALE|TEST_WORKERS)
            CHROOT_ENV+=("$var=${!var}") ;;
        esac
    done
fi

# run_in KIND DIR CMD...: run CMD in DIR, on the host or inside the chroot (DIR is then a
# path inside the chroot), under `timeout` when RUN_TIMEOUT is set (exit 124 then; timeout
# signals its whole process group: make, pytest and its workers), with TMPDIR=RUN_TMPDIR
# when set (a folder beside the clone: what the tests leave in it goes with the clone).
RUN_TIMEOUT=
RUN_TMPDIR=
run_in() {
    local kind=$1 dir=$2 pre=()
    shift 2
    [[ -n $RUN_TIMEOUT ]] && pre=(timeout -k 30 "$RUN_TIMEOUT")
    if [[ $kind == chroot ]]; then
        # shellcheck disable=SC2016  # $1 and $@ are the inner bash's arguments
        "${pre[@]}" chroot "$CHROOT" /usr/bin/env -i "${CHROOT_ENV[@]}" \
            ${RUN_TMPDIR:+"TMPDIR=$RUN_TMPDIR"} \
            /bin/bash -c 'cd "$1" && shift && exec "$@"' run_in "$dir" "$@"
    elif [[ -n $RUN_TMPDIR ]]; then
        (cd "$dir" && TMPDIR=$RUN_TMPDIR exec "${pre[@]}" "$@")
    else
        (cd "$dir" && exec "${pre[@]}" "$@")
    fi
}

# What the table reports about the interpreter itself, tab-separated.
PROBE='
import multiprocessing, sys
gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else None
print("%d.%d.%d" % sys.version_info[:3], multiprocessing.get_start_method(),
      "yes (no free-threading)" if gil is None else ("yes" if gil else "no"), sep="\t")
'

# seconds since START (an $EPOCHREALTIME), one decimal
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# pytest's closing line ("682 passed in 60.1s"), or "no pytest summary (make exit N)".
result_line() {
    local log=$1 rc=$2 line
    line=$(grep -E '^=+ .* in [0-9.]+s( \([0-9:]+\))? =+$' "$log" | tail -n 1 \
        | sed -E 's/^=+ //; s/ =+$//') || true
    echo "${line:-no pytest summary (make exit $rc)}"
}

# venv_failed LOG: did make stop on a target in the venv (an install step)? Prints it.
venv_failed() {
    grep -oE '^make: \*\*\* \[[^]]*: \.venv/[^]]*\]' "$1" | tail -n 1 | sed -E 's/.*: //; s/\]$//'
}

# Does the clone's Makefile have a lint target that `make test` depends on? Then lint is a
# step of its own below, and the tests run even when ruff finds something (ruff's verdict
# does not depend on the interpreter; the tests' does).
has_lint() { grep -qE '^test:.*\blint\b' "$1/Makefile" && grep -qE '^lint:' "$1/Makefile"; }

# ---- run ------------------------------------------------------------------------------------
if ((LIST)); then
    rmdir "$LOGDIR" 2>/dev/null || true
else
    echo "testing $REPO at $COMMIT ($SHA), timeout $TIMEOUT s per step"
    echo "logs: $LOGDIR"
fi
ROWS=()      # tab-separated table rows
FAILED=0
mapfile -t FOUND < <(printf '%s\n' "${FOUND[@]}" | sort -t. -k1,1n -k2,2n -k3,3n)
for entry in "${FOUND[@]}"; do
    IFS='|' read -r _ kind py <<<"$entry"
    if ! probe=$(run_in "$kind" / "$py" -c "$PROBE"); then
        echo "!! $py ($kind) does not run" >&2
        ROWS+=("$py ($kind)	?	?	interpreter broken	-	-	-	-")
        FAILED=1
        continue
    fi
    IFS=$'\t' read -r version start gil <<<"$probe"
    # --only 3.14.9 must not run 3.14.10: recheck with the exact version.
    wanted "$version" || continue
    if ((LIST)); then
        printf '%-8s %-10s %-6s GIL %s\n' "$version" "$start" "$kind" "$gil"
        continue
    fi

    # A fresh clone at the pinned commit; for the chroot, inside the chroot folder.
    if [[ $kind == chroot ]]; then
        mkdir -p "$CHROOT/tmp"
        tmp=$(mktemp -d "$CHROOT/tmp/test-pythons-$version.XXXXXX")
        inner=${tmp#"$CHROOT"}/repo
    else
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-pythons-$version.XXXXXX")
        inner=$tmp/repo
    fi
    CLONES+=("$tmp")
    git clone -q "$REPO" "$tmp/repo"
    git -C "$tmp/repo" checkout -q --detach "$SHA"   # in the clone: the commit pinned above
    mkdir "$tmp/tmp"
    RUN_TIMEOUT=$TIMEOUT
    RUN_TMPDIR=${inner%/repo}/tmp

    echo "== Python $version ($kind: $py): start method $start, GIL $gil"
    install_log=$LOGDIR/$version-install.log
    lint_log=$LOGDIR/$version-lint.log
    test_log=$LOGDIR/$version-test.log
    t_all=$EPOCHREALTIME

    # 1. `make install`: the venv made with this interpreter, the course installed.
    if run_in "$kind" "$inner" make install PYTHON="$py" >"$install_log" 2>&1; then
        install="ok"
    else
        install="FAILED (make install, exit $?)"
    fi
    fail_log=$install_log

    # 2. `make lint` (which also installs the test tools `make test` needs, and stages the
    #    course); 3. the tests: `make test` with lint already done (-o lint), so they run
    #    whatever ruff said. A Makefile without that lint target: plain `make test`.
    lint=-
    tests="not run"
    test_s=-
    load=-
    if [[ $install == ok ]]; then
        make_test=(make test PYTHON="$py")
        if has_lint "$tmp/repo"; then
            if run_in "$kind" "$inner" make lint PYTHON="$py" >"$lint_log" 2>&1; then
                lint=ok
            elif target=$(venv_failed "$lint_log") && [[ -n $target ]]; then
                install="FAILED ($target)"
                fail_log=$lint_log
            else
                lint="FAILED: $(grep -E '^Found [0-9]+ errors?' "$lint_log" | tail -n 1 || true)"
                lint=${lint%: }
                FAILED=1
            fi
            make_test=(make -o lint test PYTHON="$py")
        fi
    fi
    install_s=$(since "$t_all")   # make install and make lint (test tools, ruff)
    echo "   install: $install in $install_s s (log: $install_log)"
    [[ $lint == - ]] || echo "   ruff: $lint (log: $lint_log)"

    if [[ $install == ok ]]; then
        t0=$EPOCHREALTIME
        load0=$(cut -d' ' -f1 /proc/loadavg)
        if run_in "$kind" "$inner" "${make_test[@]}" >"$test_log" 2>&1; then
            rc=0
        else
            rc=$?
        fi
        test_s=$(since "$t0")
        # The machine's 1-minute load before and after: timing-sensitive tests fail more
        # often on a machine busy with other work.
        load="$load0→$(cut -d' ' -f1 /proc/loadavg)"
        result=$(result_line "$test_log" "$rc")
        if target=$(venv_failed "$test_log") && [[ -n $target ]]; then
            install="FAILED ($target)"
            fail_log=$test_log
        fi
        if ((rc == 0)); then status=pass; else status=FAIL; FAILED=1; fi
        ((rc == 124)) && result="TIMEOUT after $TIMEOUT s; $result"
        tests="$status: $result"
        echo "   tests: $tests, $test_s s, load $load (log: $test_log)"
        # Name the failing tests right here (pytest's short summary), the first 20.
        failed=$(grep -E '^(FAILED|ERROR) [^ ]' "$test_log" | sed 's/\x1b\[[0-9;]*m//g') || true
        if [[ -n $failed ]]; then
            n=$(wc -l <<<"$failed")
            head -n 20 <<<"$failed" | sed 's/^/     /'
            ((n <= 20)) || echo "     ... and $((n - 20)) more: grep -E '^(FAILED|ERROR) ' $test_log"
        fi
    fi
    if [[ $install != ok ]]; then
        FAILED=1
        tail -n 15 "$fail_log" | sed 's/^/     /'
    fi
    ROWS+=("$version	$start	$gil	$install ($install_s s)	$lint	$tests	$test_s	$load")
    RUN_TIMEOUT=
    RUN_TMPDIR=
    if ((KEEP)); then
        echo "   clone kept: $tmp/repo"
    else
        rm -rf "$tmp"   # now, not at the end: each clone's .venv is a few hundred MB
        CLONES=("${CLONES[@]:0:${#CLONES[@]}-1}")
    fi
done

((LIST)) && exit 0
if ((${#ROWS[@]} == 0)); then
    echo "no interpreter matched --only ${ONLY[*]}" >&2
    exit 2
fi

# ---- table ----------------------------------------------------------------------------------
HEADER="python	start method	GIL enabled	install (s)	ruff	tests	test s	load"
echo
echo "make test at $COMMIT ($SHA)"
printf '%s\n' "$HEADER" "${ROWS[@]}" | awk -F'\t' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
      if (NF > nf) nf = NF }
    END { for (r = 1; r <= NR; r++) {
            line = ""
            for (i = 1; i <= nf; i++) line = line sprintf("%-" w[i] "s", cell[r, i]) (i < nf ? " | " : "")
            print line
            if (r == 1) { sep = ""; for (i = 1; i <= nf; i++) { s = ""; for (k = 0; k < w[i]; k++) s = s "-"; sep = sep s (i < nf ? "-|-" : "") } print sep }
          } }'
exit "$FAILED"
