#!/usr/bin/env bash
# LOCAL STAND-INS for the official base images, for a machine that cannot reach Docker Hub.
#
# deploy/docker/*.Dockerfile start FROM python:3.10-slim-bookworm and node:20-bookworm-slim,
# the official images from Docker Hub. Where Docker Hub cannot be reached, this script builds
# images under those same two tags from Debian bookworm (debootstrap --variant=minbase, from
# the Debian mirror) plus this machine's CPython 3.10 and Node 20, so that the Dockerfiles can
# be built and run unchanged. A real build, and every image that is shipped, uses the official
# images: never push these stand-ins, and `docker pull` the official tags over them where
# Docker Hub is reachable.
#
# Everything that belongs to this site goes into the stand-ins and never into the Dockerfiles:
# the HTTPS proxy's CA (added to the system bundle, and named in /etc/pip.conf and npm's global
# npmrc, because pip and npm do not read the system bundle by themselves).
#
# Run as root (debootstrap, chroot, docker):  sudo scripts/stand_in_base_images.sh
# Settings (environment):
#   STAND_IN_WORKDIR    where the root filesystems are made (default /var/tmp/memberdesk-stand-in);
#                       removed at the end, never inside the repository
#   STAND_IN_PYTHON     the CPython 3.10 installation to copy (default /root/.pyenv/versions/3.10.13)
#   STAND_IN_NODE       the node binary to copy (default: the one on PATH); npm from beside it
#   STAND_IN_MIRROR     the Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

workdir=${STAND_IN_WORKDIR:-/var/tmp/memberdesk-stand-in}
python_prefix=${STAND_IN_PYTHON:-/root/.pyenv/versions/3.10.13}
node_binary=${STAND_IN_NODE:-$(command -v node || true)}
mirror=${STAND_IN_MIRROR:-http://deb.debian.org/debian}
python_tag=python:3.10-slim-bookworm
node_tag=node:20-bookworm-slim

fail() { echo "stand-in: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root: debootstrap and chroot need it"
command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
docker info >/dev/null 2>&1 || fail "no Docker daemon answers on this machine"
"$python_prefix/bin/python3.10" -c 'import sys; assert sys.version_info[:2] == (3, 10)' \
  || fail "$python_prefix is not a CPython 3.10 installation"
[ -n "$node_binary" ] && "$node_binary" --version | grep -q '^v20\.' \
  || fail "no Node 20 binary (set STAND_IN_NODE)"
npm_dir=$(cd "$(dirname "$(readlink -f "$node_binary")")/../lib/node_modules/npm" && pwd) \
  || fail "npm is not installed beside $node_binary"

# The CAs this machine adds to Debian's bundle (the HTTPS proxy's among them).
site_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${site_cas[0]}" ] || site_cas=()

# What the official slim image installs for its CPython, and what the CPython copied here
# links against (checked below with ldd, so a missing library fails here and not in a build).
runtime_packages=ca-certificates,netbase,tzdata,libssl3,libsqlite3-0,libffi8,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libtinfo6,zlib1g,libuuid1,libgdbm6,libgdbm-compat4,libexpat1,libtirpc3,libnsl2,libcrypt1

rm -rf "$workdir"
mkdir -p "$workdir"
trap 'rm -rf "$workdir"' EXIT

echo "stand-in: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --include="$runtime_packages" bookworm "$workdir/minbase" "$mirror" \
  > "$workdir/debootstrap.log" 2>&1 || { tail -20 "$workdir/debootstrap.log"; fail "debootstrap failed"; }

# The official images' package sources (updates and security too) and their apt settings:
# no recommends, no caches left in layers.
rootfs_common() {
  local root=$1
  cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/docker-no-recommends"
  if [ ${#site_cas[@]} -gt 0 ]; then
    cp "${site_cas[@]}" "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates > /dev/null 2>&1
  fi
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb
  rm -rf "$root/var/log/"*.log "$root/var/log/apt/"* "$root/tmp/"*
}

import_image() {
  local root=$1 tag=$2; shift 2
  tar --numeric-owner -C "$root" -c . | docker import "$@" - "$tag" > /dev/null
  echo "stand-in: $tag built ($(docker image inspect --format '{{.Size}}' "$tag" | numfmt --to=iec))"
}

# --- python:3.10-slim-bookworm ---------------------------------------------------------------
# CPython keeps its prefix (its RUNPATH and sysconfig name it): the folders above it are made
# traversable, so the images' non-root users can run it, and python, python3, pip and pip3 are
# linked into /usr/local/bin, where the official image has them.
python_root=$workdir/python
cp -a "$workdir/minbase" "$python_root"
rootfs_common "$python_root"
mkdir -p "$python_root$python_prefix"
# Not copied: the standard library's own tests (as the official image), Tk (no server here
# draws windows, and its libraries are not in the image), and a .pth file this machine's setup
# writes into its site-packages.
tar -C "$python_prefix" -c --exclude=./lib/python3.10/test --exclude='__pycache__' \
    --exclude='./lib/python3.10/lib-dynload/_tkinter*' --exclude=./lib/python3.10/tkinter \
    --exclude=./lib/python3.10/idlelib --exclude=./lib/python3.10/turtledemo \
    --exclude='./lib/python3.10/site-packages/_sandboxing_egress_ca.pth' . \
  | tar -C "$python_root$python_prefix" -x
chown -R 0:0 "$python_root$python_prefix"
chmod -R a+rX "$python_root$python_prefix"
dir=$python_prefix
while [ "$dir" != / ]; do
  dir=$(dirname "$dir"); chmod a+x "$python_root$dir"
done
for name in python python3; do
  ln -sf "$python_prefix/bin/python3.10" "$python_root/usr/local/bin/$name"
done
for name in pip pip3; do
  ln -sf "$python_prefix/bin/pip3.10" "$python_root/usr/local/bin/$name"
done
cat > "$python_root/etc/pip.conf" <<'EOF'
[global]
cert = /etc/ssl/certs/ca-certificates.crt
EOF
missing=$(chroot "$python_root" sh -c "find $python_prefix -name '*.so*' -type f -exec ldd {} + 2>/dev/null | grep 'not found' | sort -u" || true)
[ -z "$missing" ] || fail "libraries missing for CPython: $missing"
chroot "$python_root" /usr/local/bin/python -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, readline, uuid' \
  || fail "CPython's extension modules do not load in the stand-in"
import_image "$python_root" "$python_tag" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PYTHON_VERSION=3.10.13' \
  --change 'CMD ["python3"]' \
  --message "stand-in for the official $python_tag (scripts/stand_in_base_images.sh)"

# --- node:20-bookworm-slim ---------------------------------------------------------------------
# Node in /usr/local, where the official image has it, npm beside it.
node_root=$workdir/node
cp -a "$workdir/minbase" "$node_root"
rootfs_common "$node_root"
install -m 0755 "$(readlink -f "$node_binary")" "$node_root/usr/local/bin/node"
mkdir -p "$node_root/usr/local/lib/node_modules" "$node_root/usr/local/etc"
cp -a "$npm_dir" "$node_root/usr/local/lib/node_modules/npm"
chown -R 0:0 "$node_root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$node_root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$node_root/usr/local/bin/npx"
echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > "$node_root/usr/local/etc/npmrc"
chroot "$node_root" /usr/local/bin/node -e 'require("https"); require("zlib")' \
  || fail "node does not run in the stand-in"
chroot "$node_root" /usr/local/bin/npm --version > /dev/null || fail "npm does not run in the stand-in"
import_image "$node_root" "$node_tag" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$("$node_binary" --version | cut -c2-)" \
  --change 'CMD ["node"]' \
  --message "stand-in for the official $node_tag (scripts/stand_in_base_images.sh)"

echo "stand-in: done; these replace the official images only on this machine"
