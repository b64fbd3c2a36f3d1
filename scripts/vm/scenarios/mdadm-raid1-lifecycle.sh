# One RAID-1 through its life on whole virtio disks vda..vdc (64 MiB each): resync, clean,
# fail, remove, recovery, spare, check, replace, write-mostly, stop, inactive
# one-member assembly, auto-read-only and read-only. Needs lib.sh prepended, --disks 3.
set -u
A=/dev/md/lnraid
CREATE="mdadm --create $A --run --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal"

# Without udev nobody removes the /dev/md/NAME link on stop; a stale one makes the next
# incremental assembly pick another minor ("exists - ignoring").
stop_array() {
    mdadm --stop "$1"
    rm -f "$1"
}

slow
note "$CREATE /dev/vda /dev/vdb"
$CREATE /dev/vda /dev/vdb
sleep 3
MD=$(mdname $A)
snap raid1-resyncing $A "raid1 2 members, created with --metadata=1.2 --bitmap=internal --run; initial resync at speed_limit_max=1000" \
    'resync = *[0-9.]+%' 'finish=' 'speed=' 'bitmap:'
fast
settle $A
snap raid1-clean $A "raid1 2 members after the initial resync finished" '\[2/2\] \[UU\]' 'bitmap:'
snap_examine raid1-member-clean /dev/vda "member vda of a clean raid1 (sb 1.2, internal bitmap)"
f=blkid/$ULV-mdraid-member.txt
blkid -p -o export /dev/vda >"/out/$f" || bad "blkid -p of a member failed"
manifest "$f" "blkid -p -o export /dev/vda" "member vda of a clean raid1 (sb 1.2), whole disk"

mdadm $A --fail /dev/vdb
snap raid1-degraded-faulty $A "after mdadm --fail /dev/vdb: member still listed with (F)" \
    'vdb\[1\]\(F\)' '\[2/1\] \[U_\]'
mdadm $A --remove /dev/vdb
snap raid1-degraded-removed $A "after mdadm --remove of the failed vdb" '\[2/1\] \[U_\]'

slow
mdadm $A --add /dev/vdc
sleep 3
snap raid1-recovering $A "after mdadm --add of a blank vdc to the degraded array: full recovery at 1000 KB/s" \
    'recovery = *[0-9.]+%' '\[2/1\] \[U_\]'
fast
settle $A
mdadm --zero-superblock /dev/vdb
mdadm $A --add /dev/vdb
snap raid1-clean-with-spare $A "clean 2-device raid1 with a 3rd device added: spare (S)" \
    'vdb\[[0-9]+\]\(S\)' '\[2/2\] \[UU\]'

slow
echo check >/sys/block/$MD/md/sync_action
sleep 3
snap raid1-check $A "echo check > /sys/block/$MD/md/sync_action, in progress at 1000 KB/s" \
    'check = *[0-9.]+%'
echo idle >/sys/block/$MD/md/sync_action
fast
settle $A

slow
mdadm $A --replace /dev/vda --with /dev/vdb
sleep 3
snap raid1-replacing $A "mdadm --replace /dev/vda --with /dev/vdb (the spare) in progress at 1000 KB/s" \
    'vdb\[[0-9]+\]\(R\)' 'recovery = *[0-9.]+%'
fast
settle $A
sleep 1
snap raid1-replaced $A "after the replacement finished: old member vda marked faulty (F)" \
    'vda\[[0-9]+\]\(F\)' '\[2/2\] \[UU\]'
mdadm $A --remove /dev/vda
mdadm --zero-superblock /dev/vda

# Marking a live member write-mostly through sysfs gives the (W) flag on an active member.
echo writemostly >/sys/block/$MD/md/dev-vdc/state
snap raid1-write-mostly $A "echo writemostly > /sys/block/$MD/md/dev-vdc/state on an active member: (W)" \
    'vdc\[[0-9]+\]\(W\)' '\[2/2\] \[UU\]'
echo -writemostly >/sys/block/$MD/md/dev-vdc/state
# mdadm 4.2 quirk seen here: `--add --write-mostly` of a blank disk to a full raid1 leaves
# it listed as (W)(F) at once (no kernel message). Kept as a fixture: two flags on a member.
mdadm $A --add --write-mostly /dev/vda
sleep 1
snap raid1-add-write-mostly-faulty $A "mdadm --add --write-mostly /dev/vda (blank) to a clean 2-device raid1: listed (W)(F)" \
    'vda\[[0-9]+\]\(W\)\(F\)'
mdadm $A --remove /dev/vda
settle $A

stop_array $A
snap_mdstat raid1-stopped-absent "after mdadm --stop: no array listed" 'unused devices'
grep -q "^$MD" /proc/mdstat && bad "raid1-stopped-absent: $MD still listed"

# mdadm --assemble of one member without --run stops the array again ("need all 2 to start
# it"); --incremental keeps it assembled but inactive, as udev does at boot.
rc=0
mdadm --incremental /dev/vdc || rc=$?
note "incremental assembly of one member exited $rc"
snap raid1-inactive-one-member $A "mdadm --incremental /dev/vdc (one of two members; exit $rc): inactive, member (S)" \
    'inactive'
stop_array $A

echo 1 >/sys/module/md_mod/parameters/start_ro
mdadm --assemble $A /dev/vdb /dev/vdc
snap raid1-auto-read-only $A "assembled with md_mod start_ro=1 (Debian's default): active (auto-read-only)" \
    'auto-read-only'
echo 0 >/sys/module/md_mod/parameters/start_ro
mdadm --readwrite $A
mdadm --readonly $A
snap raid1-read-only $A "after mdadm --readonly: active (read-only)" '\(read-only\)'
mdadm --readwrite $A
stop_array $A
finish
