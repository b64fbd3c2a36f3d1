# Arrays of every level lnraid must read beside its own raid1, on partitions of four 96 MiB
# virtio disks: raid10 (4 members, near=2: `512K chunks`), raid5 (3 members: `level 5, 512k
# chunk`), raid6 (4 members), raid0 (2 members: `512k chunks`) and a raid1 — all in one
# /proc/mdstat, as on a machine where lnraid's array is not the only one. Then a raid5
# recovery and a degraded raid10. Needs lib.sh prepended, --disks 4 --size 96M, and the
# raid10/raid456 modules (scripts/vm/capture-mdadm-levels adds them under /lib/extra).
set -u
for m in $(cat /lib/extra/order 2>/dev/null); do
    # md-mod and crc32c are in the base image already: "File exists" is fine.
    insmod "/lib/extra/$m" || echo "scenario: insmod $m failed (fine if already loaded)"
done
grep -q raid0 /proc/mdstat || bad "raid0 personality not loaded"
grep -q raid10 /proc/mdstat || bad "raid10 personality not loaded"
grep -q raid5 /proc/mdstat || bad "raid456 personality not loaded"

for d in /dev/vda /dev/vdb /dev/vdc /dev/vdd; do
    printf 'label: gpt\n,20M,R\n,20M,R\n,20M,R\n,20M,R\n' | sfdisk -q "$d"
done
sleep 1
C="mdadm --create --run --metadata=1.2"
$C /dev/md/r10 --level=10 --raid-devices=4 --bitmap=internal /dev/vda1 /dev/vdb1 /dev/vdc1 /dev/vdd1
$C /dev/md/r5 --level=5 --raid-devices=3 --bitmap=internal /dev/vda2 /dev/vdb2 /dev/vdc2
$C /dev/md/r6 --level=6 --raid-devices=4 /dev/vda3 /dev/vdb3 /dev/vdc3 /dev/vdd3
$C /dev/md/r0 --level=0 --raid-devices=2 /dev/vda4 /dev/vdb4
$C /dev/md/r1 --level=1 --raid-devices=2 --bitmap=internal /dev/vdc4 /dev/vdd4
settle /dev/md/r10 /dev/md/r5 /dev/md/r6 /dev/md/r1
settle /dev/md/r10 /dev/md/r5 /dev/md/r6 /dev/md/r1
snap_mdstat mixed-levels-clean "raid10, raid5, raid6, raid0 and raid1 side by side, all in sync" \
    'raid10' '512K chunks' 'level 5, 512k chunk' 'level 6, 512k chunk' 'raid0' '\[3/3\] \[UUU\]'
snap_detail raid10-clean /dev/md/r10 "raid10 4 members near=2, clean" 'Layout : near=2'
snap_detail raid5-clean /dev/md/r5 "raid5 3 members, clean" 'Raid Level : raid5'
snap_detail raid6-clean /dev/md/r6 "raid6 4 members, clean" 'Raid Level : raid6'
snap_detail raid0-clean /dev/md/r0 "raid0 2 members" 'Raid Level : raid0'

mdadm /dev/md/r5 --fail /dev/vdc2
mdadm /dev/md/r5 --remove /dev/vdc2
mdadm --zero-superblock /dev/vdc2
mdadm /dev/md/r10 --fail /dev/vdd1
slow
mdadm /dev/md/r5 --add /dev/vdd2
sleep 3
snap_mdstat mixed-levels-raid5-recovering "raid5 recovering onto vdd2 at 1000 KB/s; raid10 with vdd1 (F)" \
    'recovery = *[0-9.]+%' '\[3/2\]' '\(F\)'
snap_detail raid5-recovering /dev/md/r5 "raid5 rebuilding a replaced member" 'recovering|Rebuild Status'
snap_detail raid10-degraded-faulty /dev/md/r10 "raid10 with one member failed (F)" 'degraded'
fast
settle /dev/md/r5
mdadm --stop /dev/md/r10 /dev/md/r5 /dev/md/r6 /dev/md/r0 /dev/md/r1
finish
