# Helpers for the lnraid VM scenarios (busybox sh in the guest; scripts/vm/test prepends this
# file). A scenario is a list of `step NAME CMD...` and `check NAME CMD...` lines: each
# prints its duration, a failed one stops the scenario with a non-zero exit (the verdict).
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
# Debian's busybox-static runs its own applets before $PATH (standalone shell), so `mount`,
# `umount` and `losetup` typed here would be busybox's. lnraid execs through $PATH and gets
# util-linux's; these wrappers give the scenario the same tools lnraid uses.
mount() { /usr/bin/mount "$@"; }
umount() { /usr/bin/umount "$@"; }
losetup() { /usr/sbin/losetup "$@"; }
# Host paths lnraid writes, kept in the guest's tmpfs and printed on failure.
export LNRAID_FSTAB=/etc/fstab LNRAID_STATE_DIR=/var/lib/lnraid LNRAID_LOCK_DIR=/run/lnraid
export LNRAID_UNIT_DIR=/etc/systemd/system LNRAID_MDADM_CONF=/etc/mdadm/mdadm.conf
# Small sparse disks keep resync/check/rebuild under TCG to seconds (policy's default is 1G).
export LNRAID_MIN_SIZE=256M
mkdir -p /var/lib/lnraid /run/lnraid /etc/systemd/system /etc/mdadm

up() { cut -d' ' -f1 /proc/uptime; }
dur() { awk -v s="$1" -v e="$(up)" 'BEGIN { printf "%.1f", e - s }'; }
die() {
    echo "FAIL: $*"
    exit 1
}
# step NAME CMD... : run CMD (output shown), fail the scenario unless it exits 0.
step() {
    n=$1
    shift
    t=$(up)
    rc=0
    "$@" || rc=$?
    echo "step $n: $(dur "$t")s rc=$rc"
    [ "$rc" = 0 ] || die "step $n: '$*' exited $rc"
}
# expect_rc WANT NAME CMD... : like step, but CMD must exit with WANT.
expect_rc() {
    want=$1 n=$2
    shift 2
    t=$(up)
    rc=0
    "$@" || rc=$?
    echo "step $n: $(dur "$t")s rc=$rc (want $want)"
    [ "$rc" = "$want" ] || die "step $n: '$*' exited $rc, want $want"
}
# has FILE EGREP-PATTERN... : every pattern occurs in FILE.
has() {
    f=$1
    shift
    for p in "$@"; do
        grep -Eq -- "$p" "$f" || { echo "----- $f"; cat "$f"; die "$f lacks /$p/"; }
    done
    echo "check $f: ${*}"
}
lacks() {
    f=$1
    shift
    for p in "$@"; do
        if grep -Eq -- "$p" "$f"; then echo "----- $f"; cat "$f"; die "$f has /$p/"; fi
    done
}
