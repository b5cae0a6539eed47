#!/usr/bin/env bash
# Makes the reference images that tests/reference.rs compares imgpipe's
# filters against: libvips' output for resize:800, resize:300x200, grayscale,
# blur:3, blur:1.5 and sharpen:1.5 on every sample JPEG in samples/, made
# with the vips commands listed in op() below (the same the test ran before it
# read committed files). To keep the repository small (about 1 MB), only one
# CROP×CROP region (128 by default) of each output is stored: the tile of a
# CROP grid over the output with the largest pixel deviation (edges and
# detail, not flat sky).
#
# Writes, beside this script: <op>/<name>.png (the crops; ':' in the op is
# '-' in the folder name), manifest.tsv (per output: op, name, the full
# output size vips gives, crop position and size, file) and vips-version.txt.
#
# Needs vips (Debian: apt-get install libvips-tools). Regenerate with
#   bash tests/reference/make.sh
# and commit the result; the test itself needs no vips.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
REF=$PWD
SAMPLES=$REF/../../samples
CROP=${CROP:-128}
export VIPS_WARNING=0

command -v vips >/dev/null || { echo "make.sh: needs vips (apt-get install libvips-tools)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

ops=(resize:800 resize:300x200 grayscale blur:3 blur:1.5 sharpen:1.5)

# op OP IN OUT: libvips' reference for imgpipe's OP, written to OUT.
op() {
  local ops=$1 i=$2 o=$3
  case $ops in
    resize:*)
      local size=${ops#resize:} w h iw ih
      w=${size%x*}; h=${size#*x}
      # Output size: what vips thumbnail gives; pixels: a Lanczos3 resize to
      # that size (thumbnail adds its own box pre-shrink).
      vips thumbnail "$i" "$WORK/thumb.v" "$w" --height "$h" --size down
      w=$(vipsheader -f width "$WORK/thumb.v"); h=$(vipsheader -f height "$WORK/thumb.v")
      iw=$(vipsheader -f width "$i"); ih=$(vipsheader -f height "$i")
      vips resize "$i" "$o" "$(awk -v a="$w" -v b="$iw" 'BEGIN{printf "%.17g", a/b}')" \
        --vscale "$(awk -v a="$h" -v b="$ih" 'BEGIN{printf "%.17g", a/b}')" --kernel lanczos3
      # The resize must land on thumbnail's size, or the sizes check nothing.
      [ "$(vipsheader -f width "$o")x$(vipsheader -f height "$o")" = "${w}x${h}" ] ||
        { echo "make.sh: $ops $i: resize is not ${w}x${h}" >&2; exit 1; }
      ;;
    grayscale) vips colourspace "$i" "$o" b-w ;;
    # min-ampl 0.001: a full Gaussian, as imgpipe's (vips' default stops at 0.2).
    blur:*) vips gaussblur "$i" "$o" "${ops#blur:}" --min-ampl 0.001 ;;
    sharpen:*)
      # Unsharp mask: in + (in - gaussblur(in)), clipped to 8 bits.
      vips gaussblur "$i" "$WORK/blur.v" "${ops#sharpen:}" --min-ampl 0.001
      vips subtract "$i" "$WORK/blur.v" "$WORK/diff.v"
      vips add "$i" "$WORK/diff.v" "$WORK/sum.v"
      vips cast "$WORK/sum.v" "$o" uchar
      ;;
    *) echo "make.sh: unknown op $ops" >&2; exit 1 ;;
  esac
}

# best_tile IMG: "x y w h" of the CROP grid tile with the largest deviation.
best_tile() {
  local img=$1 W H cw ch x y best=-1 at dev
  W=$(vipsheader -f width "$img"); H=$(vipsheader -f height "$img")
  cw=$((W < CROP ? W : CROP)); ch=$((H < CROP ? H : CROP))
  at="0 0 $cw $ch"
  for ((y = 0; y + ch <= H; y += ch)); do
    for ((x = 0; x + cw <= W; x += cw)); do
      vips crop "$img" "$WORK/tile.v" "$x" "$y" "$cw" "$ch"
      dev=$(vips deviate "$WORK/tile.v")
      if awk -v d="$dev" -v b="$best" 'BEGIN{exit !(d > b)}'; then
        best=$dev; at="$x $y $cw $ch"
      fi
    done
  done
  echo "$at"
}

dirs=("${ops[@]//:/-}") # no ':' in file names
rm -rf "${dirs[@]/#/$REF/}"
printf 'op\tname\twidth\theight\tx\ty\tcrop_width\tcrop_height\tfile\n' >"$WORK/manifest.tsv"
mapfile -t jpegs < <(find "$SAMPLES" -name '*.jpg' | LC_ALL=C sort)
for spec in "${ops[@]}"; do
  dir=${spec//:/-}
  mkdir -p "$REF/$dir"
  for jpeg in "${jpegs[@]}"; do
    name=$(basename "$jpeg" .jpg)
    op "$spec" "$jpeg" "$WORK/out.v"
    read -r x y w h < <(best_tile "$WORK/out.v")
    vips crop "$WORK/out.v" "$REF/$dir/$name.png[compression=9,strip]" "$x" "$y" "$w" "$h"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$spec" "$name" \
      "$(vipsheader -f width "$WORK/out.v")" "$(vipsheader -f height "$WORK/out.v")" \
      "$x" "$y" "$w" "$h" "$dir/$name.png" >>"$WORK/manifest.tsv"
    echo "$spec $name: crop $w×$h at $x,$y"
  done
done
mv "$WORK/manifest.tsv" "$REF/manifest.tsv"
vips --version >"$REF/vips-version.txt"
du -ch --apparent-size "${dirs[@]/#/$REF/}" | tail -1
