#!/bin/sh
# Bakes the HDR output window's shaders (Vulkan-style GLSL 440) into .qsb packages holding
# SPIR-V, GLSL 330 / 300 es, HLSL 5.0 and MSL 1.2, which QRhi picks from at run time. PySide6
# ships no qsb; Qt's own (Debian: qt6-shader-baker, /usr/lib/qt6/bin/qsb) does. Run it after
# editing hdr_output.vert or hdr_output.frag and commit the .qsb files with them.
set -e
QSB=${QSB:-/usr/lib/qt6/bin/qsb}
cd "$(dirname "$0")"
for stage in vert frag; do
    "$QSB" --glsl "330,300 es" --hlsl 50 --msl 12 -o "hdr_output.$stage.qsb" "hdr_output.$stage"
done
