# vm: --disks 2 --size 320M --timeout 200
# An md setup killed part way (LNRAID_FAILPOINT), then undone with `setup --abort`: the
# members are blank again (blkid -p finds nothing), the array is stopped, mdadm.conf and
# fstab are byte for byte as before, the node's directory is a directory again. Then a setup
# killed after the copy is finished with `setup --resume`: the node lives on the array.
set -u
mkdir -p /mnt /root
mount -t tmpfs tmpfs /mnt
mount -t tmpfs tmpfs /root
N=/root/.lightning/bitcoin
step gen-node lnraid dev-gen-node-dir "$N" --db-size 1M --gossip-size 256K
printf '# mdadm.conf written by the test\nMAILADDR root\nDEVICE partitions\n' >/etc/mdadm/mdadm.conf
touch /etc/fstab
cp /etc/mdadm/mdadm.conf /tmp/conf.before
cp /etc/fstab /tmp/fstab.before
setup() {
    lnraid setup --backend mdadm --lightning-dir "$N" --device /dev/vda --device /dev/vdb \
        --mountpoint /mnt/lnraid --yes "$@"
}
# 1. Killed right after the mount (array made, mdadm.conf edited, ext4 on it, mounted).
export LNRAID_FAILPOINT=mount
expect_rc 137 setup-killed-at-mount setup
unset LNRAID_FAILPOINT
has /etc/mdadm/mdadm.conf '^ARRAY /dev/md/lnraid '
grep -q '^md' /proc/mdstat || die "the array is not running after the kill"
lnraid setup --abort --dry-run >/tmp/abort-plan.txt 2>&1 || die "abort --dry-run failed"
cat /tmp/abort-plan.txt
has /tmp/abort-plan.txt 'mdadm --stop /dev/md/lnraid' 'mdadm --zero-superblock /dev/vda' \
    'mdadm --zero-superblock /dev/vdb' 'remove the lines lnraid added'
step abort lnraid setup --abort --yes
cmp /tmp/conf.before /etc/mdadm/mdadm.conf || die "mdadm.conf differs after abort"
echo "check mdadm.conf as before"
cmp /tmp/fstab.before /etc/fstab || die "fstab differs after abort"
echo "check fstab as before"
for d in /dev/vda /dev/vdb; do
    rc=0
    blkid -p -o export "$d" >/tmp/blkid.txt 2>&1 || rc=$?
    [ "$rc" = 2 ] || { cat /tmp/blkid.txt; die "$d is not blank after abort (blkid rc $rc)"; }
    mdadm --examine "$d" >/dev/null 2>&1 && die "$d still has an md superblock"
done
echo "check members blank"
grep -q '^md' /proc/mdstat && { cat /proc/mdstat; die "an md array still runs after abort"; }
[ -d "$N" ] && [ ! -L "$N" ] || die "$N is not the original directory again"
[ -f "$N/hsm_secret" ] || die "$N lost its hsm_secret"
echo "check node directory back"
[ -e /var/lib/lnraid/setup-journal.json ] && grep -q in_progress /var/lib/lnraid/setup-journal.json &&
    die "abort left an in-progress journal"
# 2. Killed after the copy, then resumed to the end.
export LNRAID_FAILPOINT=copy
expect_rc 137 setup-killed-after-copy setup
unset LNRAID_FAILPOINT
[ -d "$N" ] && [ ! -L "$N" ] || die "the copy alone must not move the node"
lnraid setup --resume --dry-run >/tmp/resume-plan.txt 2>&1 || die "resume --dry-run failed"
cat /tmp/resume-plan.txt
has /tmp/resume-plan.txt 'mdadm --assemble /dev/md/lnraid --run --uuid='
lacks /tmp/resume-plan.txt 'mdadm --create'
step resume lnraid setup --resume --yes
[ -L "$N" ] || die "$N is not the link onto the array after resume"
has /etc/mdadm/mdadm.conf '^ARRAY /dev/md/lnraid ' '^MAILADDR root$'
has /etc/fstab ' /mnt/lnraid ext4 '
mdadm --wait /dev/md/lnraid || true
expect_rc 0 status-after-resume lnraid status
lnraid status --json >/out/status-resumed.json || true
