# vm: --disks 3 --size 320M --timeout 280
# The whole story on md: setup (not waiting for the initial resync: status 1 "resyncing — not
# yet redundant", then 0) → data committed → a member fails → status 2 → the
# array is stopped → a recover killed after its mount → the next recover takes its leftovers
# down, assembles the survivor read-only and replays the journal onto a dm-snapshot overlay →
# the copy opens at the last committed state, hsm_secret 0400 →
# the array runs degraded again → replace of the missing member → status 0, data equal.
set -u
mount -t tmpfs tmpfs /mnt
mount -t tmpfs tmpfs /root
mkdir -p /root/new-media
N=/root/.lightning/bitcoin
step gen-node lnraid dev-gen-node-dir "$N" --db-size 4M --gossip-size 1M
step dry-run lnraid setup --backend mdadm --lightning-dir "$N" --device /dev/vda \
    --device /dev/vdb --mountpoint /mnt/lnraid --dry-run
# Small disks resync in seconds: hold the initial resync back so status can be seen during it.
echo 1000 >/proc/sys/dev/raid/speed_limit_max
step setup lnraid setup --backend mdadm --lightning-dir "$N" --device /dev/vda \
    --device /dev/vdb --mountpoint /mnt/lnraid --yes
has /etc/mdadm/mdadm.conf '^HOMEHOST lnraid-vm$' '^PROGRAM /usr/bin/logger$' '^ARRAY /dev/md/lnraid metadata=1.2 name=lnraid-vm:lnraid UUID='
has /etc/fstab ' /mnt/lnraid ext4 defaults,nofail,'
lnraid status >/tmp/st.txt 2>&1 && die "status 0 during the initial resync"
cat /tmp/st.txt
has /tmp/st.txt 'resyncing .*not yet redundant' 'does not checksum'
lnraid status --json >/out/status-resyncing.json || true
echo 200000 >/proc/sys/dev/raid/speed_limit_max
mdadm --wait /dev/md/lnraid || true
DB=/mnt/lnraid/bitcoin/lightningd.sqlite3
step commit-1 sqlite3 "$DB" "create table vm_marker(v text); insert into vm_marker values('committed-1');"
expect_rc 0 status-healthy lnraid status
step fail-member mdadm /dev/md/lnraid --fail /dev/vdb
# A commit made while degraded: the recovery must carry it (last committed state).
step commit-2 sqlite3 "$DB" "insert into vm_marker values('committed-2');"
expect_rc 2 status-degraded lnraid status
lnraid status --json >/out/status-degraded.json || true
has /out/status-degraded.json '"code": "md_faulty_member"' '"backend": "md"' '"state": "faulty"'
# The node is stopped, the array taken down (as after a crash): recover from the survivor.
step umount umount /mnt/lnraid
step stop mdadm --stop /dev/md/lnraid
rm -f /dev/md/lnraid
expect_rc 2 status-stopped lnraid status
lnraid status --json >/out/status-stopped.json || true
# Killed right after the read-only mount: assembly, overlay, loop and mount stay behind; the
# next run takes them down from its journal before starting afresh.
expect_rc 137 recover-killed env LNRAID_FAILPOINT=recover-mounted lnraid recover --to /root/new-media/killed
[ -e /dev/md/lnraid-recover ] && grep -q /run/lnraid/recover- /proc/mounts ||
    die "the killed recover's assembly and mount are not there (the kill came too early)"
step recover lnraid recover --to /root/new-media/rescue
sqlite3 /root/new-media/rescue/lightningd.sqlite3 "select v from vm_marker order by rowid" >/tmp/rec.txt ||
    die "the recovered database does not open"
cat /tmp/rec.txt
has /tmp/rec.txt '^committed-1$' '^committed-2$'
mode=$(stat -c %a /root/new-media/rescue/hsm_secret)
[ "$mode" = 400 ] || die "hsm_secret mode $mode, want 400"
echo "check hsm_secret mode 400"
has /root/new-media/rescue/MANIFEST '.'
[ ! -e /dev/md/lnraid-recover ] || die "recover left its read-only assembly"
# /proc/mdstat names arrays by kernel name (md127), not by link: the node's array is stopped
# here, so any md array running is recover's.
grep -q '^md' /proc/mdstat && die "recover left md running: $(cat /proc/mdstat)"
dmsetup info lnraid-recover-overlay >/dev/null 2>&1 && die "recover left its dm overlay"
[ -z "$(losetup -a)" ] || die "recover left a loop device: $(losetup -a)"
ls -A /root/new-media | grep -q lnraid-recover && die "recover left its copy-on-write file"
grep -q /run/lnraid/recover- /proc/mounts && die "recover left its read-only mount"
echo "check recover took down assembly, overlay, loop, file and mount (also the killed run's)"
# Back in service, degraded, then replace the missing member.
step assemble mdadm --assemble /dev/md/lnraid --run /dev/vda
step mount mount /mnt/lnraid
expect_rc 2 status-degraded-again lnraid status
step replace lnraid replace --old missing --new /dev/vdc --yes
cat /proc/mdstat
expect_rc 0 status-replaced lnraid status
lnraid status --json >/out/status-replaced.json || true
has /out/status-replaced.json '"verdict": "ok"'
sqlite3 "$DB" "select v from vm_marker order by rowid" >/tmp/now.txt || die "the array's database does not open"
cmp /tmp/rec.txt /tmp/now.txt || die "array data differs from the recovered copy"
echo "check data equal after replace"
