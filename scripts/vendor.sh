#!/usr/bin/env bash
# Copies the front-end packages Kompas uses from the npm registry into the repo, so the app
# runs with no Node and no CDN. Run it only to change a version; the output is committed.
set -euo pipefail
DKFDS=11.2.0
HTMX=2.0.11
SORTABLE=1.15.7
AXE=4.14.1
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "dkfds@$DKFDS" "htmx.org@$HTMX" "sortablejs@$SORTABLE" "axe-core@$AXE" >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done

vendor="$root/app/static/vendor"
rm -rf "$vendor"
dk="$vendor/dkfds-$DKFDS"
mkdir -p "$dk/css" "$dk/js" "$dk/fonts/IBMPlexSans/complete" "$dk/img"
cp "dkfds-$DKFDS/package/dist/css/dkfds.min.css" "$dk/css/"
cp "dkfds-$DKFDS/package/dist/js/dkfds.min.js" "$dk/js/"
# woff2 and woff cover every browser Kompas supports; the eot/ttf/otf copies are left out.
cp -r "dkfds-$DKFDS/package/dist/fonts/IBMPlexSans/complete/woff2" \
      "dkfds-$DKFDS/package/dist/fonts/IBMPlexSans/complete/woff" "$dk/fonts/IBMPlexSans/complete/"
cp -r "dkfds-$DKFDS/package/dist/img/svg-icons" "dkfds-$DKFDS/package/dist/img/all-svg-icons.svg" "$dk/img/"
cp "dkfds-$DKFDS/package/LICENSE.md" "$dk/"
mkdir -p "$vendor/htmx-$HTMX" "$vendor/sortablejs-$SORTABLE"
cp "htmx.org-$HTMX/package/dist/htmx.min.js" "$vendor/htmx-$HTMX/"
cp "htmx.org-$HTMX/package/LICENSE" "$vendor/htmx-$HTMX/"
cp "sortablejs-$SORTABLE/package/Sortable.min.js" "$vendor/sortablejs-$SORTABLE/"
cp "sortablejs-$SORTABLE/package/LICENSE" "$vendor/sortablejs-$SORTABLE/"

# axe-core is only used by the browser tests.
tests_vendor="$root/tests/vendor"
rm -rf "$tests_vendor"; mkdir -p "$tests_vendor/axe-core-$AXE"
cp "axe-core-$AXE/package/axe.min.js" "axe-core-$AXE/package/LICENSE" "$tests_vendor/axe-core-$AXE/"
echo "vendored dkfds $DKFDS, htmx $HTMX, sortablejs $SORTABLE, axe-core $AXE"
