# vm: --disks 3 --size 64M --timeout 120
# `lnraid devices` on a machine with a live md array and a dm mapping stacked on it, without
# udev: the members are refused as md members held by the array, the array itself as held by
# the mapping, and the untouched disk only for its size.
set -u
step lnraid-starts lnraid --version
step create mdadm --create /dev/md/lnraid --run --level=1 --raid-devices=2 --metadata=1.2 \
    --bitmap=internal --homehost=lnraid-vm --name=lnraid /dev/vda /dev/vdb
MD=$(basename "$(readlink -f /dev/md/lnraid)")
step holder dmsetup create lnraid-holder --table "0 2048 linear /dev/$MD 0"
rc=0
lnraid devices --json >/tmp/devices.json || rc=$?
echo "step devices-json: rc=$rc"
lnraid devices || true
# One device's refusal codes: the JSON lines between its "path" and the next device.
codes() {
    awk -v dev="$1" '
        /"path": / { cur = $2; gsub(/[",]/, "", cur) }
        /"code": / { c = $2; gsub(/[",]/, "", c); codes[cur] = codes[cur] " " c }
        END { print codes[dev] }' /tmp/devices.json
}
for d in /dev/vda /dev/vdb; do
    c=$(codes $d)
    echo "$d:$c"
    case " $c " in *" md_member "*) ;; *) die "$d not refused as md member ($c)" ;; esac
    case " $c " in *" holders "*) ;; *) die "$d not refused for its holder $MD ($c)" ;; esac
done
c=$(codes /dev/$MD)
echo "/dev/$MD:$c"
case " $c " in *" holders "*) ;; *) die "/dev/$MD not refused for its dm holder ($c)" ;; esac
has /tmp/devices.json '"holders": \[' '"dm-0"'
c=$(codes /dev/vdc)
echo "/dev/vdc:$c"
[ "$(echo $c)" = too_small ] || die "/dev/vdc should be refused only as too small ($c)"
