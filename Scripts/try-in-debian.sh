#!/usr/bin/env bash
# try-in-debian.sh DEB [ROOT]: installs the package into a minimal Debian root with no Swift
# toolchain (debootstrap --variant=minbase, made in ROOT when it is not there yet; needs the
# Debian archive) and runs it there: `sockit --version`, `sockit echo` on 127.0.0.1 port 0,
# `sockit send` to it, and `sockit who` naming the echo server as the holder of its port.
# The root runs in its own mount and pid namespaces (its own /proc); the network is the host's
# loopback. Needs root. Exits 3, saying so, when debootstrap cannot make the root (the archive
# cannot be reached).
set -euo pipefail
deb="$(realpath "$1")"
root="${2:-/tmp/sockit-debian-root}"
suite="${SUITE:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
[ "$(id -u)" = 0 ] || { echo "try-in-debian: needs root" >&2; exit 2; }

if [ ! -x "$root/usr/bin/dpkg" ]; then
    echo "try-in-debian: debootstrap --variant=minbase $suite $root" >&2
    log="$(mktemp)"
    # shellcheck disable=SC2086 # DEBOOTSTRAP_OPTIONS is words (e.g. --no-check-gpg for Ubuntu here)
    if ! debootstrap ${DEBOOTSTRAP_OPTIONS:-} --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1; then
        # No root to try in (the archive unreachable, a proxy, no space): nothing about sockit.
        tail -3 "$log" >&2
        echo "try-in-debian: SKIPPED: debootstrap could not make the root from $mirror" >&2
        rm -f "$log"
        exit 3
    fi
    rm -f "$log"
fi
if [ -e "$root/usr/bin/swift" ] || [ -e "$root/usr/bin/swiftc" ]; then
    echo "try-in-debian: $root has a Swift toolchain; the point is one without" >&2
    exit 1
fi

cp "$deb" "$root/tmp/sockit.deb"
unshare --mount --pid --fork --kill-child chroot "$root" /bin/sh -eu -c '
    mount -t proc proc /proc
    . /etc/os-release
    echo "inside: $PRETTY_NAME, glibc $(ldd --version | head -1 | sed "s/.* //")"
    dpkg -i /tmp/sockit.deb >/dev/null 2>&1 || { dpkg -i /tmp/sockit.deb; exit 1; }
    echo "sockit --version: $(sockit --version)"
    sockit echo 127.0.0.1:0 > /tmp/echo.out 2>&1 &
    echo_pid=$!
    i=0
    until grep -q "^listening on " /tmp/echo.out; do
        i=$((i + 1)); [ $i -le 200 ] || { cat /tmp/echo.out; exit 1; }
        sleep 0.05
    done
    address=$(sed -n "s/^listening on //p" /tmp/echo.out)
    port=${address##*:}
    echo "sockit echo: listening on $address (pid $echo_pid)"
    reply=$(sockit send "$address" hello-from-debian)
    echo "sockit send: $reply"
    [ "$reply" = hello-from-debian ]
    who=$(sockit who "$port" --listening)
    echo "$who"
    echo "$who" | grep -q "$echo_pid"
    kill -INT $echo_pid
    wait $echo_pid
    echo "sockit echo: exit $? after SIGINT"
    dpkg -r sockit >/dev/null
'
echo "try-in-debian: ok"
