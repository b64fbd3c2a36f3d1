# vm: --disks 2 --size 320M --timeout 240
# maintain check on md: clean mirrors → 0; bytes written to one member while the array is
# stopped (md cannot notice: it does not checksum) → the check finds the mismatch, alerts and
# exits non-zero; status warns; nothing is repaired.
set -u
mount -t tmpfs tmpfs /mnt
mount -t tmpfs tmpfs /root
N=/root/.lightning/bitcoin
step gen-node lnraid dev-gen-node-dir "$N" --db-size 4M --gossip-size 1M
step setup lnraid setup --backend mdadm --wait --lightning-dir "$N" --device /dev/vda \
    --device /dev/vdb --mountpoint /mnt/lnraid --yes
expect_rc 0 check-young-skipped lnraid maintain check
expect_rc 0 check-clean lnraid maintain check --force
step umount umount /mnt/lnraid
step stop mdadm --stop /dev/md/lnraid
rm -f /dev/md/lnraid
# 1 MiB of noise into the data area of the second member only.
step inject dd if=/dev/urandom of=/dev/vdb bs=1M seek=150 count=1 conv=notrunc
step assemble mdadm --assemble /dev/md/lnraid /dev/vda /dev/vdb
step mount mount /mnt/lnraid
expect_rc 2 check-mismatch lnraid maintain check --force --alert-command 'cat > /tmp/alert.json'
has /tmp/alert.json 'mismatch_sectors' 'differ in [0-9]+ sectors'
lacks /tmp/alert.json '"outcome": "ok"'
rc=0
lnraid status >/tmp/status.txt || rc=$?
cat /tmp/status.txt
[ "$rc" -ge 1 ] || die "status should not be healthy after a mismatch (rc=$rc)"
has /tmp/status.txt 'mirrors of /dev/md[0-9]+ differ'
