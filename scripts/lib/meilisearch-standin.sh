# shellcheck shell=bash
# Sourced by the benchmark scripts: starts the release meilisearch-standin on loopback.
# start_meilisearch_standin BIN_DIR WORK_DIR sets `key` (a fresh master key), `standin_pid`
# (for the caller's clean-up) and `meili` (its URL); exits when it does not start.
start_meilisearch_standin() {
  key=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  "$1/meilisearch-standin" --master-key "$key" >"$2/standin.out" 2>"$2/standin.err" &
  # shellcheck disable=SC2034 # read by the caller's clean-up
  standin_pid=$!
  for _ in $(seq 100); do [[ -s $2/standin.out ]] && break; sleep 0.05; done
  meili=$(head -1 "$2/standin.out")
  [[ $meili == http://127.0.0.1:* ]] || { echo "meilisearch-standin did not start: $(cat "$2/standin.err")" >&2; exit 1; }
}
