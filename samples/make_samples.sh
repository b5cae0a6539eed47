#!/usr/bin/env bash
# Regenerate the sample photos in this folder from Debian 12 wallpaper packages.
# Needs: apt-get (download only, nothing is installed; run 'apt-get update' once), dpkg-deb,
# vips (Debian: libvips-tools). Deterministic for the package versions in README.md.
set -euo pipefail
OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
export VIPS_CONCURRENCY=1 VIPS_WARNING=1
JPG='[Q=90,strip,subsample_mode=on]'   # same encoding as shared/bench/make_photos.sh

for p in lomiri-wallpapers-16.04 lomiri-wallpapers-20.04; do
  (cd "$WORK" && apt-get download "$p" >/dev/null 2>&1) || { echo "apt-get download $p failed" >&2; exit 1; }
  dpkg-deb -x "$WORK/${p}_"*.deb "$WORK/x"
done
B="$WORK/x/usr/share/backgrounds"

# out  source  sha256-prefix  width  height  mode(cover = resize to cover + centre crop, fit = fit box)
while read -r out src sha w h mode; do
  got=$(sha256sum "$B/$src" | cut -c1-16)
  [ "$got" = "$sha" ] || echo "WARN: $src sha256 $got != $sha (package version drift?)" >&2
  mkdir -p "$OUT/$(dirname "$out")"
  if [ "$mode" = cover ]; then
    vips thumbnail "$B/$src" "$WORK/t.v" "$w" --height "$h" --crop centre --size both
  else
    vips thumbnail "$B/$src" "$WORK/t.v" "$w" --height "$h" --size down
  fi
  case "$out" in
    *.png) vips colourspace "$WORK/t.v" "$OUT/$out[compression=9,strip]" srgb ;;
    *)     vips colourspace "$WORK/t.v" "$OUT/$out$JPG" srgb ;;
  esac
  echo "$out $(vipsheader -f width "$OUT/$out")x$(vipsheader -f height "$OUT/$out") $(stat -c %s "$OUT/$out")"
done <<'LIST'
seeding-1920x1280.jpg               seeding_by_Clements_Engelhardt.jpg      a5634d1ab5e41a35 1920 1280 cover
sunset-1280x853.jpg                 sunset_by_Aitzol_Berasategi.jpg         474dab6a4b9f94dc 1280 853  cover
brushes-1280x1007.jpg               Picture_1A_by_freespace.jpg             89e86af38d04daae 1280 1280 fit
friends-portrait-853x1280.jpg       friends_by_Aitzol_Berasategi.jpg        cc40e313c74e421e 853  1280 cover
fig-640x427.png                     Picture_0B_by_freespace.jpg             c8c0ab18e48d9e04 640  427  cover
nested/picosdeeuropa-1280x853.jpg   picosdeeuropa_by_Aitzol_Berasategi.jpg  414d0072b2f6f2c5 1280 853  cover
nested/kleiber-1280x853.jpg         Kleiber_by_Lukas_Baubkus.jpg            6572410c09f4492c 1280 853  cover
LIST
