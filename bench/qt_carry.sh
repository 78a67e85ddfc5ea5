#!/usr/bin/env bash
# Packs the venv's Qt for the GPU machine, whose python3 has no PySide6 (and nothing can be installed
# there): the QtCore, QtGui and QtWidgets bindings (the sketch bench's panel is a widget), shiboken,
# the Qt libraries they load, the offscreen platform plugin, and the system libraries they link
# (bench/gpu_check.sh takes from these only the ones that machine lacks). PySide6's modules are abi3,
# so the venv's build loads in any Python 3.9+. Writes .qtcarry/qt.tar.xz (about 23 MB; .qtcarry is
# git-ignored, carried by name):
#
#     bash bench/qt_carry.sh && run(command="LOGS=/tmp/gc bash bench/gpu_check.sh", carry=[".qtcarry"])
set -euo pipefail
site=$(.venv/bin/python -c "import PySide6, pathlib; print(pathlib.Path(PySide6.__file__).parent.parent)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/site/PySide6/Qt/lib" "$work/site/PySide6/Qt/plugins/platforms" "$work/syslibs"
cp -a "$site"/PySide6/{__init__.py,_config.py,_git_pyside_version.py,QtCore.abi3.so,QtGui.abi3.so,QtWidgets.abi3.so} \
      "$site"/PySide6/{libpyside6.abi3.so.6.*,support,py.typed} "$work/site/PySide6/"
cp -a "$site/shiboken6" "$work/site/"
rm -rf "$work/site/shiboken6/include"
for lib in libQt6Core libQt6Gui libQt6Widgets libQt6DBus libicui18n libicuuc libicudata; do
    cp -L "$site"/PySide6/Qt/lib/$lib.so.* "$work/site/PySide6/Qt/lib/"
done
cp -a "$site/PySide6/Qt/plugins/platforms/libqoffscreen.so" "$work/site/PySide6/Qt/plugins/platforms/"
# the system libraries outside the C/C++ runtime that the bindings and the plugin load
for so in "$site"/PySide6/{QtGui,QtWidgets}.abi3.so "$site/PySide6/Qt/plugins/platforms/libqoffscreen.so"; do
    ldd "$so" | awk '/=> \/(usr\/)?lib/{print $3}'
done | sort -u | grep -v -E "/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)\.so" \
    | xargs -I{} cp -L {} "$work/syslibs/"
find "$work" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p .qtcarry
tar -C "$work" -cJf .qtcarry/qt.tar.xz .
ls -la .qtcarry/qt.tar.xz
