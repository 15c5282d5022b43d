# A stand-in for the file-system part of deploy/newswatch.service's sandbox, run as root
# under `unshare -m` by tests/test_deploy.py (systemd itself cannot run in the test
# machine's container):
#   ProtectSystem=strict   every mount read-only, /proc, /sys and /dev aside
#   StateDirectory=        /var/lib/newswatch, the only writable place (bound from $1)
#   PrivateTmp=yes         private, empty /tmp and /var/tmp
#   ProtectHome=yes        /home inaccessible (/root stays: the test's Python may live there)
#   NoNewPrivileges=yes, CapabilityBoundingSet= (empty)   through setpriv
#   UMask=0077
# The config directory (from $2) is read-only at /var/lib/newswatch-etc, the notify
# socket's directory (from $3) at /var/lib/newswatch-notify. $4 lists, colon-separated,
# where the program is installed (the checkout and its virtualenv): one under /tmp,
# /var/tmp or /home stays visible there, read-only, standing in for an install in /opt
# (a checkout in a temporary directory would otherwise vanish with PrivateTmp). Then it
# runs "$@", with WATCHDOG_PID set to the PID the daemon will have. Exits 97 when a path
# that should be read-only is not (this machine cannot emulate the sandbox).
set -eu
state=$1 etc=$2 notify=$3 installed=$4
shift 4
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir /var/lib/newswatch /var/lib/newswatch-etc /var/lib/newswatch-notify
mount --bind "$state" /var/lib/newswatch
mount --bind "$etc" /var/lib/newswatch-etc
mount --bind "$notify" /var/lib/newswatch-notify
mount -o remount,bind,ro /var/lib/newswatch-etc
kept=""
n=0
old_ifs=$IFS
IFS=:
for dir in $installed; do
    case "$dir" in
        /tmp/* | /var/tmp/* | /home/*)
            n=$((n + 1))
            mkdir "/var/lib/newswatch-install-$n"
            mount --bind "$dir" "/var/lib/newswatch-install-$n"
            kept="$kept $n=$dir"
            ;;
    esac
done
IFS=$old_ifs
mount -o remount,ro /var/lib
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
    case "$m" in
        /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /var/lib | /var/lib/*) continue ;;
    esac
    mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
case "$kept" in
    *=/home/*) home_mode=0111 ;;  # the install stays reachable, nothing else listable
    *) home_mode=000 ;;
esac
mount -t tmpfs -o mode=$home_mode tmpfs /home
for pair in $kept; do
    dir=${pair#*=}
    mkdir -p "$dir"
    mount --bind "/var/lib/newswatch-install-${pair%%=*}" "$dir"
    mount -o remount,bind,ro "$dir"
done
for probe in / /etc /usr /var /opt /var/lib /var/lib/newswatch-etc; do
    if touch "$probe/.newswatch-probe" 2>/dev/null; then
        rm -f "$probe/.newswatch-probe"
        echo "sandbox: $probe is writable" >&2
        exit 97
    fi
done
echo "sandbox ready" >&2
cd /  # systemd's default WorkingDirectory for a system service
umask 077
WATCHDOG_PID=$$
export WATCHDOG_PID
exec setpriv --no-new-privs --bounding-set=-all --inh-caps=-all "$@"
