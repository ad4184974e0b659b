#!/bin/sh
# Regenerate public_suffix_list.txt from the Public Suffix List (https://publicsuffix.org/,
# Mozilla Public License 2.0) as installed by Debian's `publicsuffix` package
# (apt-get install publicsuffix → /usr/share/publicsuffix/public_suffix_list.dat), or from the
# file given as $1. Comments and blank lines are dropped (ICANN and private sections alike). Setup time
# only: Tocsin never fetches the list at run time.
set -eu
src=${1:-/usr/share/publicsuffix/public_suffix_list.dat}
out=$(dirname "$0")/public_suffix_list.txt
{
  echo "// Public Suffix List, https://publicsuffix.org/ — Mozilla Public License 2.0"
  echo "// (https://mozilla.org/MPL/2.0/). Comments stripped; rules unchanged. Source: $(basename "$src"),"
  echo "// Debian publicsuffix $(dpkg-query -W -f='${Version}' publicsuffix 2>/dev/null || echo unknown). Regenerate with make_psl.sh."
  sed -e 's/[[:space:]]*$//' "$src" | grep -v -E '^$|^//'
} > "$out.tmp"
mv "$out.tmp" "$out"
wc -lc "$out"
