# vm: --disks 3 --size 1100M --timeout 240
# setup --backend mdadm on two disks → the node's data on the array → status 0 once resynced.
set -u
mount -t tmpfs tmpfs /mnt
mount -t tmpfs tmpfs /root
N=/root/.lightning/bitcoin
step gen-node lnraid dev-gen-node-dir "$N" --db-size 4M --gossip-size 1M
step dry-run lnraid setup --backend mdadm --lightning-dir "$N" --device /dev/vda --device /dev/vdb --dry-run
rc=0
lnraid setup --backend mdadm --lightning-dir "$N" --device /dev/vda --device /dev/vdb \
    --mountpoint /mnt/lnraid --yes >/tmp/setup.out 2>&1 || rc=$?
cat /tmp/setup.out
echo "step setup: rc=$rc"
[ "$rc" = 0 ] || die "setup failed"
cat /proc/mdstat
cat /etc/fstab /etc/mdadm/mdadm.conf
rc=0
lnraid status >/tmp/status.out 2>&1 || rc=$?
cat /tmp/status.out
echo "step status-right-after: rc=$rc"
step wait mdadm --wait /dev/md/lnraid || true
expect_rc 0 status-resynced lnraid status
