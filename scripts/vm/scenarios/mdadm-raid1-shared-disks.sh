# Two RAID-1 arrays on partitions of the same two virtio disks (128 MiB each): md resyncs
# arrays that share a physical disk one after the other, so the second shows
# resync=DELAYED; freezing an unfinished resync shows resync=PENDING, and so does an array
# assembled auto-read-only (md_mod start_ro=1) before its resync finished. Needs lib.sh
# prepended, --disks 2 --size 128M.
set -u
A=/dev/md/first
B=/dev/md/second
CREATE="mdadm --create --run --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal"

for d in /dev/vda /dev/vdb; do
    printf 'label: gpt\n,60M,R\n,60M,R\n' | sfdisk -q "$d"
done
sleep 1
ls /dev/vda1 /dev/vda2 /dev/vdb1 /dev/vdb2 >/dev/null || bad "partition nodes missing"

slow
$CREATE $A /dev/vda1 /dev/vdb1
$CREATE $B /dev/vda2 /dev/vdb2
sleep 3
MDA=$(mdname $A)
MDB=$(mdname $B)
snap raid1-resync-delayed $B "two raid1 on partitions of the same disks, created one after the other at 1000 KB/s: $MDB resync=DELAYED while $MDA resyncs" \
    'resync=DELAYED' 'resync = *[0-9.]+%'
snap_detail raid1-resyncing-shared-disks $A "the array that resyncs while the other ($MDB) waits with resync=DELAYED" \
    'resyncing'

echo frozen >/sys/block/$MDA/md/sync_action
sleep 3
snap raid1-resync-frozen-pending $A "echo frozen > /sys/block/$MDA/md/sync_action during its initial resync: resync=PENDING; $MDB takes over the resync" \
    'resync=PENDING'
echo idle >/sys/block/$MDA/md/sync_action
fast
settle $A $B

# A crash mid-resync followed by assembly with Debian's start_ro=1: the array comes up
# auto-read-only and its resync waits (PENDING) until the first write.
mdadm --stop $B
rm -f $B
slow
mdadm --zero-superblock /dev/vda2 /dev/vdb2
$CREATE $B /dev/vda2 /dev/vdb2
sleep 2
mdadm --stop $B
rm -f $B
echo 1 >/sys/module/md_mod/parameters/start_ro
mdadm --assemble $B /dev/vda2 /dev/vdb2
snap raid1-auto-read-only-resync-pending $B "stopped mid-resync, then assembled with md_mod start_ro=1: active (auto-read-only), resync=PENDING" \
    'auto-read-only' 'resync=PENDING'
echo 0 >/sys/module/md_mod/parameters/start_ro
mdadm --readwrite $B
fast
settle $B
mdadm --stop $A $B
finish
