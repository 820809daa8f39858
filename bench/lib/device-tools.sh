# Shared set-up for the GPU-machine scripts (bench/run-device*.sh), sourced from the repo root.
# The machine starts bare: Node, the Vulkan loader, the bundled bench and diffusers travel in the
# carried folders .node, .gl and .carry/bench (see bench/build-device-bundle.mjs).

# pin CORES CMD...: taskset where the machine has it, so an export and a benchmark do not share cores
pin() { local c=$1; shift; if command -v taskset > /dev/null; then taskset -c "$c" "$@"; else "$@"; fi; }

# The Vulkan loader (.gl) and the GL vendor-neutral dispatch libraries (.carry/bench/gl: libglvnd0,
# libglx0, libegl1, ...) that NVIDIA's Vulkan ICD (libGLX_nvidia.so.0) needs to load, then the ICD
# and EGL vendor files. NO_VULKAN_SETUP=1 skips the unpacking (a dry run on a machine with its own).
setup_vulkan() {
  if [ -z "${NO_VULKAN_SETUP:-}" ]; then
    for f in .gl/*.deb .carry/bench/gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
    ldconfig
  fi
  local d
  for d in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
    if [ -f "$d/nvidia_icd.json" ]; then export VK_DRIVER_FILES="$d/nvidia_icd.json"; break; fi
  done
  for d in /usr/local/nvidia/share/glvnd/egl_vendor.d /usr/share/glvnd/egl_vendor.d; do
    if [ -f "$d/10_nvidia.json" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$d/10_nvidia.json"; break; fi
  done
}

# unpack_bench DIR BUNDLE.mjs...: Node to /tmp/node, the bundle's external packages and the named
# bundles into DIR, diffusers' source (the exports build the architectures with it) onto PYTHONPATH.
unpack_bench() {
  local dir=$1 f
  shift
  [ -x /tmp/node ] || { xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node; } || return 1
  mkdir -p "$dir" /tmp/py
  tar -C "$dir" -xJf .carry/bench/node_modules.tar.xz || return 1
  for f in "$@"; do cp ".carry/bench/$f" "$dir/" || return 1; done
  tar -C /tmp/py -xJf .carry/bench/diffusers.tar.xz || return 1
  export PYTHONPATH=/tmp/py${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
}
