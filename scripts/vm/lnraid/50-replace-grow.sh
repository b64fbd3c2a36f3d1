# vm: --disks 4 --size 320M --sizes 320M,320M,448M,448M --timeout 280
# replace of a present member (--replace --with: redundancy never drops), then of the
# other one by a larger disk: every member is larger, so md grows and ext4 with it.
set -u
mount -t tmpfs tmpfs /mnt
mount -t tmpfs tmpfs /root
N=/root/.lightning/bitcoin
step gen-node lnraid dev-gen-node-dir "$N" --db-size 4M --gossip-size 1M
step setup lnraid setup --backend mdadm --wait --lightning-dir "$N" --device /dev/vda \
    --device /dev/vdb --mountpoint /mnt/lnraid --yes
DB=/mnt/lnraid/bitcoin/lightningd.sqlite3
step commit sqlite3 "$DB" "create table vm_marker(v text); insert into vm_marker values('before-replace');"
before=$(df -k /mnt/lnraid | awk 'NR==2 { print $2 }')
step refuse-dry lnraid replace --old /dev/vda --new /dev/vdc --dry-run
lnraid replace --old /dev/vda --new /dev/vdc --yes >/tmp/r1.txt 2>&1 || die "$(cat /tmp/r1.txt)"
cat /tmp/r1.txt
has /tmp/r1.txt 'mdadm /dev/md[0-9]+ --replace /dev/vda --with /dev/vdc' 'zero-superblock /dev/vda'
expect_rc 0 status-after-first lnraid status
mdadm --examine /dev/vda >/tmp/exa.txt 2>&1 || true
has /tmp/exa.txt 'No md superblock'
step second lnraid replace --old /dev/vdb --new /dev/vdd --yes
expect_rc 0 status-after-grow lnraid status
after=$(df -k /mnt/lnraid | awk 'NR==2 { print $2 }')
echo "ext4 size: $before KiB -> $after KiB"
[ "$after" -gt $((before + 80000)) ] || die "not grown: $before -> $after"
sqlite3 "$DB" "select v from vm_marker" >/tmp/v.txt || die "the database does not open"
has /tmp/v.txt '^before-replace$'
has /etc/mdadm/mdadm.conf "UUID=$(mdadm --detail --export /dev/md/lnraid | sed -n 's/^MD_UUID=//p')"
