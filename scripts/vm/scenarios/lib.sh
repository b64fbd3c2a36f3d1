# Helpers for fixture-capturing scenarios (busybox sh, inside the VM). The capture script
# prepends this file to each scenario. Captures land under /out in the fixtures/ layout;
# /out/manifest.tsv gets one row per file: path<TAB>command<TAB>scenario description.
# A failed expectation does not stop the capture (later states are still worth having) but
# makes the scenario exit non-zero, so a capture that missed its state is never silent.
export LC_ALL=C
KVER=$(uname -r)
MDV=$(mdadm --version 2>&1 | sed -n 's/^mdadm - v\([0-9.]*\).*/\1/p')
ULV=$(blkid --version | sed -n 's/.*util-linux \([0-9.]*\).*/\1/p')
mkdir -p /out/mdstat /out/mdadm-detail /out/mdadm-detail-export /out/mdadm-examine /out/blkid
FAILED=
{
    echo "kernel=$KVER ($(uname -v | sed -n 's/.*Debian \([^ ]*\).*/Debian \1/p'))"
    echo "mdadm=$(mdadm --version 2>&1)"
    echo "util-linux=$(blkid --version)"
} >/out/versions.txt

note() { echo "scenario: $*"; }
manifest() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>/out/manifest.tsv; }
bad() { echo "scenario: EXPECTATION FAILED: $*"; FAILED="$FAILED $1"; }

# Resync/recovery run at up to speed_limit_max (200000 KB/s): at 1000 KB/s a 64 MiB member
# takes a minute, so a progress line is on screen for as long as we need it.
slow() {
    echo 1000 >/proc/sys/dev/raid/speed_limit_min
    echo "${1:-1000}" >/proc/sys/dev/raid/speed_limit_max
}
fast() {
    echo 1000 >/proc/sys/dev/raid/speed_limit_min
    echo 200000 >/proc/sys/dev/raid/speed_limit_max
}
# mdadm --wait exits 1 when there was nothing to wait for.
settle() { sleep 1; mdadm --wait "$@" >/dev/null 2>&1 || true; }
mdname() { basename "$(readlink -f "$1")"; }

# snap_mdstat SCENARIO DESCRIPTION [EGREP-PATTERN...]: each pattern must match the capture.
snap_mdstat() {
    name=$1 desc=$2
    shift 2
    f=mdstat/$KVER-$name.txt
    cat /proc/mdstat >"/out/$f"
    manifest "$f" "cat /proc/mdstat" "$desc"
    for p in "$@"; do
        grep -Eq -- "$p" "/out/$f" || bad "$name: /proc/mdstat lacks /$p/"
    done
    echo "----- $f"
    cat "/out/$f"
}

# snap_detail SCENARIO DEVICE DESCRIPTION [EGREP-PATTERN...] (patterns checked on --detail).
snap_detail() {
    name=$1 dev=$2 desc=$3
    shift 3
    f=mdadm-detail/$MDV-$name.txt
    rc=0
    mdadm --detail "$dev" >"/out/$f" 2>&1 || rc=$?
    manifest "$f" "mdadm --detail $dev (exit $rc)" "$desc"
    for p in "$@"; do
        grep -Eq -- "$p" "/out/$f" || bad "$name: mdadm --detail lacks /$p/"
    done
    f=mdadm-detail-export/$MDV-$name.txt
    rc=0
    mdadm --detail --export "$dev" >"/out/$f" 2>&1 || rc=$?
    manifest "$f" "mdadm --detail --export $dev (exit $rc)" "$desc"
}

# snap SCENARIO DEVICE DESCRIPTION MDSTAT-PATTERN... : both, mdstat first (it is the faster
# read, so the two show the same moment as nearly as possible).
snap() {
    name=$1 dev=$2 desc=$3
    shift 3
    snap_mdstat "$name" "$desc" "$@"
    snap_detail "$name" "$dev" "$desc"
}

snap_examine() {
    name=$1 dev=$2 desc=$3
    f=mdadm-examine/$MDV-$name.txt
    rc=0
    mdadm --examine "$dev" >"/out/$f" 2>&1 || rc=$?
    manifest "$f" "mdadm --examine $dev (exit $rc)" "$desc"
}

finish() {
    fast
    if [ -n "$FAILED" ]; then
        echo "scenario: failed expectations:$FAILED"
        exit 1
    fi
    echo "scenario: all expectations met"
}
