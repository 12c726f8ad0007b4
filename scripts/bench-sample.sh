#!/usr/bin/env bash
# The sample backup the restore benchmarks share: built once per size into
# tmp/bench-restore/sample-offers<N>-housing<M>/ (a throwaway local cluster), then reused.
# Prints the archive's path on standard output; progress goes to standard error.
#
# Usage: scripts/bench-sample.sh RECETTE_BINARY OFFERS HOUSING
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
(($# == 3)) || { echo "usage: $0 RECETTE_BINARY OFFERS HOUSING" >&2; exit 2; }
recette=$1 offers=$2 housing=$3
[[ -x $recette ]] || { echo "$recette is not an executable recette" >&2; exit 2; }
for value in "$offers" "$housing"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "OFFERS and HOUSING must be whole numbers, got '$value'" >&2; exit 2; }
done

sample=$PWD/tmp/bench-restore/sample-offers$offers-housing$housing
if [[ -f $sample/complete ]]; then
  echo "== reusing the sample backup $sample/$(cat "$sample/complete")" >&2
  echo "$sample/$(cat "$sample/complete")"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/recette-bench-sample.XXXXXX")
chmod 0755 "$work" # the server user must reach the cluster inside
cleanup() {
  RECETTE_LOCAL_DIR=$work/cluster "$recette" local stop -q --project-dir "$work/project" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building a sample backup: $offers offers, $housing housing ads (a throwaway cluster)" >&2
rm -rf "$sample"
mkdir -p "$sample" "$work/project"
archive=$(RECETTE_LOCAL_DIR=$work/cluster "$recette" sample-backup -q \
  --offers "$offers" --housing "$housing" --output "$sample" --project-dir "$work/project")
basename "$archive" >"$sample/complete"
echo "$archive"
