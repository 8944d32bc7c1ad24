#!/usr/bin/env bash
# Run one command as root inside another Debian kernel under QEMU.
#
#   scripts/vm-run.sh [--timeout SECONDS] [--mem MiB] [--out DIR] KERNEL -- COMMAND...
#
# KERNEL is 6.12 (bookworm-backports linux-image-*-cloud-amd64: devmem RX,
# udmabuf, the system DMA heap) or 6.1 (bookworm's cloud kernel: no devmem).
# The kernel package comes from Debian's archive with apt (this script adds
# bookworm-backports when it is missing) and is cached in
# ${XDG_CACHE_HOME:-~/.cache}/devmemtcp-vm. The guest boots with software
# emulation (TCG; no KVM needed) from an initramfs made of busybox-static,
# the kernel's own modules (veth, virtio_net, ...), and a copy of the host
# files the command needs: this repository (source and build directories, at
# the same absolute path, so CTest files work unchanged) and the host
# programs tests run (ctest, ip, ethtool, socat, nc, ...) with their shared
# libraries. Debian 12 has no virtiofsd and the 6.12 cloud kernel no 9p, so
# the host filesystem is shared as this read-only snapshot; the guest's copy
# is writable (a tmpfs) and --out DIR brings back what the command writes
# under $VM_OUT (a second virtio disk holding a tar).
#
# The command runs in the current directory (when it is inside the
# repository) with the guest's network: lo and a virtio-net eth0 (link up,
# no address, QEMU user networking with restrict=on: no traffic leaves the
# guest). Its output comes back on a second serial port; the kernel's log
# is kept in the cache directory (last-console-KERNEL.log) and printed when
# the guest does not finish. Exit status: the command's; 124 when the time
# limit (default 900 s) ran out; 125 when the VM could not be built or
# booted. QEMU never outlives this script.
set -euo pipefail

usage() {
	echo "usage: $0 [--timeout SECONDS] [--mem MiB] [--out DIR] 6.1|6.12 -- COMMAND..." >&2
	exit 125
}
die() {
	echo "vm-run: $*" >&2
	exit 125
}

timeout_s=900
mem=2048
outdir=
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--out) outdir=${2:?}; shift 2 ;;
	-h|--help) usage ;;
	*) break ;;
	esac
done
[ $# -ge 3 ] && [ "$2" = "--" ] || usage
kver=$1
shift 2
case "$kver" in
6.1|6.12) ;;
*) die "kernel $kver: give 6.1 (bookworm) or 6.12 (bookworm-backports)" ;;
esac
case "$timeout_s" in ''|*[!0-9]*) die "--timeout $timeout_s: give whole seconds" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (apt, and the guest's root is the host's files)"

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/devmemtcp-vm
mkdir -p "$cache"

# ---- host packages ----
# QEMU 7.2 (bookworm) crashes these guests at random under TCG (corrupted
# interrupt frames, double faults); bookworm-backports' QEMU 10 boots them
# reliably, so QEMU comes from there.
ensure_backports() {
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ &&
		return 0
	echo "vm-run: adding bookworm-backports to apt's sources" >&2
	cat >/etc/apt/sources.list.d/devmemtcp-bookworm-backports.sources <<-EOF
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	apt-get update -qq || true
}
need=()
for p in busybox-static cpio xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need+=("$p")
done
qv=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
if [ -z "$qv" ] || dpkg --compare-versions "$qv" lt 1:8; then
	ensure_backports
	need+=(qemu-system-x86/bookworm-backports)
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "vm-run: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends \
		"${need[@]}" >/dev/null; } ||
		die "cannot install ${need[*]} (no network or no Debian archive?)"
fi

# ---- the kernel package ----
# The newest linux-image-cloud-amd64 of the suite names the kernel package.
find_pkg() {
	local ver
	ver=$(apt-cache madison linux-image-cloud-amd64 2>/dev/null |
		awk -v k="$kver" -F' *[|] *' '{ split($2, v, /[.-]/);
			if (v[1] "." v[2] == k) print $2 }' | head -n 1)
	[ -n "$ver" ] || return 1
	apt-cache show "linux-image-cloud-amd64=$ver" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1
}
kdir=
pkg=
if [ "$kver" = 6.12 ]; then ensure_backports; fi
pkg=$(find_pkg || true)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(find_pkg || true)
fi
if [ -n "$pkg" ] && [ -d "$cache/$pkg/boot" ]; then
	kdir=$cache/$pkg
elif [ -n "$pkg" ]; then
	echo "vm-run: downloading $pkg from Debian's archive" >&2
	rm -rf "$cache/dl" && mkdir -p "$cache/dl" && chmod 777 "$cache/dl"
	if (cd "$cache/dl" && apt-get download -q "$pkg" >/dev/null 2>&1); then
		rm -rf "$cache/$pkg.tmp"
		dpkg-deb -x "$cache"/dl/"$pkg"_*.deb "$cache/$pkg.tmp" &&
			mv "$cache/$pkg.tmp" "$cache/$pkg"
		rm -rf "$cache/dl"
		kdir=$cache/$pkg
	fi
fi
if [ -z "$kdir" ]; then
	# No archive: use the newest cached kernel of this series, if any.
	for d in "$cache"/linux-image-"$kver".*-cloud-amd64 "$cache"/linux-image-"$kver"-*; do
		[ -d "$d/boot" ] && case "$(basename "$d")" in
			linux-image-"$kver".[0-9]*|linux-image-"$kver"[.-]0-*) kdir=$d ;;
		esac
	done
	[ -n "$kdir" ] || die "cannot fetch the Debian $kver kernel (linux-image-cloud-amd64 from ${kver/6.12/bookworm-backports}${kver/6.1*/}): apt found no package or could not download it; is Debian's archive reachable?"
	echo "vm-run: Debian's archive unreachable; using the cached $(basename "$kdir")" >&2
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)
krel=${vmlinuz##*/vmlinuz-}
moddir=$kdir/lib/modules/$krel
[ -d "$moddir" ] || die "$kdir has no modules for $krel"

# ---- the initramfs ----
tmp=$(mktemp -d /tmp/devmemtcp-vm.XXXXXX)
qpid=
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill -KILL "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# Two archives, concatenated (the kernel unpacks both): a base one, cached
# per kernel until the host's packages or this script change (busybox, host
# programs and their libraries, CMake's data, the modules, /init), and one
# made each run with the repository and the command.
root=$tmp/root
declare -A have=()
# A host file into $root at the same path (/bin, /lib: usrmerge).
put() {
	local src=$1 dst want
	[ -n "${have[$src]:-}" ] && return 0
	have[$src]=1
	dst=$(realpath -m "$src")
	case "$dst" in /bin/*|/sbin/*|/lib/*|/lib64/*) dst=/usr$dst ;; esac
	if [ ! -e "$root$dst" ]; then
		mkdir -p "$root${dst%/*}"
		cp -L "$src" "$root$dst"
	fi
	# keep the name the loader asks for (a soname symlink)
	want=$src
	case "$want" in /bin/*|/sbin/*|/lib/*|/lib64/*) want=/usr$want ;; esac
	if [ "$want" != "$dst" ] && [ ! -e "$root$want" ]; then
		mkdir -p "$root${want%/*}"
		ln -s "$dst" "$root$want"
	fi
}
put_libs() { # the shared libraries of ELF files, each once
	local lib
	for lib in $(ldd "$@" 2>/dev/null | grep -o '/[^ :]*\.so[^ :]*' | sort -u); do
		case "$lib" in "$repo"/*) ;; *) put "$lib" ;; esac
	done
}
mkcpio() { (cd "$1" && find . -print0 | cpio --null -o -H newc --quiet); }

base=$cache/base-$krel.cpio
if [ ! -s "$base" ] || [ "$base" -ot /var/lib/dpkg/status ] || [ "$base" -ot "$0" ]; then
	echo "vm-run: making the base initramfs for $krel" >&2
	rm -rf "$root"
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib64,usr/lib/modules,proc,sys,dev,tmp,run,root,etc,mnt}
	ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
	progs=()
	for prog in ctest bash ip ethtool socat nc iperf3 sysctl cmp timeout env; do
		p=$(command -v "$prog" 2>/dev/null) || continue
		put "$p"
		progs+=("$p")
	done
	put_libs "${progs[@]}"
	cp /bin/busybox "$root/usr/bin/busybox"
	# /bin/sh is bash, as popen() and system() expect: busybox's sh runs
	# its own applets (ip, nc, timeout) before the host's programs.
	[ -e "$root/usr/bin/bash" ] && ln -s bash "$root/usr/bin/sh"
	for a in $("$root/usr/bin/busybox" --list); do
		[ -e "$root/usr/bin/$a" ] || [ -e "$root/usr/sbin/$a" ] ||
			ln -s busybox "$root/usr/bin/$a"
	done
	for d in /usr/share/cmake-*; do	# ctest reads CMAKE_ROOT at start
		[ -d "$d/Modules" ] && mkdir -p "$root$d" && cp -a "$d/Modules" "$root$d/"
	done
	# Kernel modules, dependencies first, decompressed for busybox insmod.
	mods=(veth virtio_net virtio_blk)
	[ "$kver" = 6.1 ] && mods=(virtio virtio_ring virtio_pci_legacy_dev
		virtio_pci_modern_dev virtio_pci "${mods[@]}")
	declare -A seen=()
	order=()
	modfile() { find "$moddir/kernel" -name "$1.ko*" -o -name "${1//_/-}.ko*" | head -n 1; }
	add_mod() {
		local m=$1 f deps d
		[ -n "${seen[$m]:-}" ] && return 0
		seen[$m]=1
		f=$(modfile "$m")
		[ -n "$f" ] || return 0	# built in
		case "$f" in
		*.xz) xz -dc "$f" >"$tmp/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$tmp/$m.ko" ;;
		*) cp "$f" "$tmp/$m.ko" ;;
		esac
		deps=$(tr '\0' '\n' <"$tmp/$m.ko" | sed -n 's/^depends=//p' | head -n 1)
		for d in ${deps//,/ }; do add_mod "$d"; done
		mv "$tmp/$m.ko" "$root/usr/lib/modules/$m.ko"
		order+=("$m")
	}
	for m in "${mods[@]}"; do add_mod "$m"; done
	printf '%s\n' "${order[@]}" >"$root/etc/vm-modules"
	cat >"$root/init" <<'EOF'
#!/usr/bin/busybox sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
chmod 1777 /tmp	# no tmpfs on it: the repository may live under /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd /dev/fd
while read -r m; do
	insmod "/lib/modules/$m.ko" 2>/dev/ttyS0 || echo "vm: insmod $m failed" >/dev/ttyS0
done </etc/vm-modules
hostname devmemtcp-vm
ip link set lo up
ip link set eth0 up 2>/dev/null
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
mkdir -p /tmp/vm-out
export VM_OUT=/tmp/vm-out VM_KERNEL="$(uname -r)"
echo "@@VMRUN-START $(uname -r)@@" >$out
sh=sh
[ -x /usr/bin/bash ] && sh=/usr/bin/bash	# busybox sh prefers its applets
$sh /vmcmd </dev/null >$out 2>&1
rc=$?
if [ -b /dev/vda ]; then tar -C /tmp/vm-out -cf /dev/vda . 2>/dev/null; sync; fi
echo "@@VMRUN-EXIT=$rc@@" >$out
sleep 2	# let the UART drain: poweroff drops what it still holds
poweroff -f
EOF
	chmod +x "$root/init"
	btmp=$(mktemp "$cache/base.XXXXXX")	# runs at once do not mix
	mkcpio "$root" >"$btmp" && mv "$btmp" "$base"
	rm -rf "$root"
fi

# The repository (no .git), with its build directories, at the same path.
mkdir -p "$root$repo"
tar -C "$repo" --exclude=./.git -cf - . | tar -C "$root$repo" -xf -
elves=()
while IFS= read -r f; do	# ELF files (magic \177ELF), without a fork each
	LC_ALL=C IFS= read -r -n 4 magic <"$f" 2>/dev/null || true
	[ "${magic:1:3}" = ELF ] && elves+=("$f")
done < <(find "$repo" -path "$repo/.git" -prune -o -type f -perm -u+x \
	-size -64M -print)
[ ${#elves[@]} -gt 0 ] && put_libs "${elves[@]}"

# The command, quoted for the guest's sh.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
cwd=$(pwd)
case "$cwd/" in "$repo"/*) ;; *) cwd=$repo ;; esac
{
	echo "cd $(q "$cwd") || exit 125"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo
} >"$root/vmcmd"

mkcpio "$root" >"$tmp/run.cpio"
cat "$base" "$tmp/run.cpio" >"$tmp/initrd.cpio"

# ---- boot ----
drive=()
if [ -n "$outdir" ]; then
	truncate -s 256M "$tmp/out.img"
	drive=(-drive "file=$tmp/out.img,if=virtio,format=raw")
fi
log=$cache/last-console-$kver.log
echo "vm-run: booting $krel ($(du -m "$tmp/initrd.cpio" | cut -f1) MiB initramfs, ${timeout_s} s limit)" >&2
start=$(date +%s)
qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64 -smp 1 -m "$mem" \
	-nodefaults -display none -no-reboot \
	-kernel "$vmlinuz" -initrd "$tmp/initrd.cpio" \
	-append "console=ttyS0 panic=-1 oops=panic no_timer_check loglevel=4 udmabuf.size_limit_mb=64 quiet" \
	-serial "file:$log" -serial "file:$tmp/out.fifo" \
	-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
	"${drive[@]}" </dev/null >"$tmp/qemu.err" 2>&1 &
qpid=$!
# Stream the command's output as it arrives; stop at the exit marker.
rc=
sent=0
while :; do
	if [ -f "$tmp/out.fifo" ]; then
		size=$(stat -c %s "$tmp/out.fifo")
		if [ "$size" -gt "$sent" ]; then
			tail -c +"$((sent + 1))" "$tmp/out.fifo" | head -c "$((size - sent))" |
				grep -av '^@@VMRUN-' || true
			sent=$size
		fi
		if grep -aq '^@@VMRUN-EXIT=' "$tmp/out.fifo"; then
			rc=$(sed -n 's/^@@VMRUN-EXIT=\([0-9]*\)@@.*/\1/p' "$tmp/out.fifo" | tail -n 1)
			break
		fi
	fi
	if ! kill -0 "$qpid" 2>/dev/null; then
		# gone: one more pass for what it wrote last (the marker)
		[ -n "${exited:-}" ] && break
		exited=1
		continue
	fi
	if [ $(($(date +%s) - start)) -ge "$timeout_s" ]; then
		echo "vm-run: time limit of ${timeout_s} s reached; stopping the guest" >&2
		kill -KILL "$qpid" 2>/dev/null || true
		rc=124
		break
	fi
	sleep 0.2
done
# The guest powers off after the marker; give it a moment, then stop it.
for _ in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true
qpid=
if [ -z "$rc" ]; then
	echo "vm-run: the guest stopped without finishing the command; qemu said:" >&2
	sed 's/^/  /' "$tmp/qemu.err" >&2
	echo "vm-run: last kernel messages ($log):" >&2
	tail -n 30 "$log" | sed 's/^/  /' >&2
	exit 125
fi
if [ -n "$outdir" ] && [ "$rc" != 124 ]; then
	mkdir -p "$outdir"
	tar -C "$outdir" -xf "$tmp/out.img" 2>/dev/null ||
		echo "vm-run: nothing came back in $outdir" >&2
fi
echo "vm-run: $krel: exit status $rc after $(($(date +%s) - start)) s" >&2
exit "$rc"
