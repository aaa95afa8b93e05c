#!/usr/bin/env bash
# Set up glmip in ./.venv. Installs Debian's Mesa EGL (headless OpenGL) when it is missing and
# we can (root + apt-get); with --test also Xvfb/xdotool/xwd/ImageMagick for the window tests;
# with --bench the peers of the benchmark (VTK, vispy, pygfx on Mesa's software Vulkan).
set -euo pipefail
cd "$(dirname "$0")"
extras="."
pkgs=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libEGL.so.1 ' || pkgs+=(libegl1)
have_lib 'libEGL_mesa.so.0' || pkgs+=(libegl-mesa0)
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/aarch64-linux-gnu/dri/swrast_dri.so ] \
  || pkgs+=(libgl1-mesa-dri)
if [ "${1:-}" = "--test" ]; then
  extras=".[test]"
  command -v Xvfb >/dev/null || pkgs+=(xvfb)
  command -v xdotool >/dev/null || pkgs+=(xdotool)
  command -v xwd >/dev/null || pkgs+=(x11-apps)
  [ -x /usr/bin/convert ] || pkgs+=(imagemagick)
  command -v dciodvfy >/dev/null || pkgs+=(dicom3tools)      # DICOM output validated
  command -v chromium >/dev/null || pkgs+=(chromium)         # the notebook's browser test
  command -v chromedriver >/dev/null || pkgs+=(chromium-driver)
  # Qt's xcb platform (the napari plugin's tests run napari in a window under Xvfb)
  have_lib 'libxkbcommon-x11.so.0' || pkgs+=(libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1
    libxcb-xinerama0 libxcb-image0 libxcb-render-util0 libxcb-xkb1 libxcb-randr0 libxcb-shape0
    libxcb-xfixes0 libxcb-sync1)
fi
if [ "${1:-}" = "--bench" ]; then
  extras=".[bench]"
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || pkgs+=(mesa-vulkan-drivers)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    echo "setup: please install: ${pkgs[*]}" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
case "$extras" in
  ".[test]") what="glmip and the test extras" ;;
  ".[bench]") what="glmip and the benchmark's peers" ;;
  *) what="glmip" ;;
esac
echo "setup: installing $what into .venv (a few minutes the first time)"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"
echo "setup: done"
