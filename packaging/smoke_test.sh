#!/usr/bin/env bash
# Smoke test of the frozen one-folder bundle (make bundle-test): runs dist/advlens/advlens headless, without
# the venv, and checks the GUI, the CLI and the error path. Exits non-zero with one line on the first failure.
#
#   packaging/smoke_test.sh [BUNDLE_DIR]      (default: dist/advlens next to this folder)
#
# Needs python3 (any, for reading the JSON and the PNG header). Writes only to a temporary folder: runs,
# settings and caches go there through ADVLENS_RUNS_DIR and the XDG variables.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bundle="$(cd "${1:-$here/../dist/advlens}" 2>/dev/null && pwd)" || {
  echo "smoke test FAILED: no bundle folder at ${1:-$here/../dist/advlens} (run 'make bundle' first)" >&2
  exit 1
}
exe="$bundle/advlens"
py="${PYTHON:-python3}"
limit="${SMOKE_TIMEOUT:-300}"  # seconds per command: a hang fails instead of blocking CI

work="$(mktemp -d "${TMPDIR:-/tmp}/advlens-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0

fail() {
  echo "smoke test FAILED: $1" >&2
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    echo "--- last lines of $(basename "$2"):" >&2
    tail -n 15 "$2" >&2
  fi
  exit 1
}
ok() {
  passed=$((passed + 1))
  echo "ok $passed - $1"
}

# The bundle must not lean on the venv or the source tree: clear Python's variables, run from the temp dir.
run() {
  (cd "$work" && env -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV \
    ADVLENS_RUNS_DIR="$work/runs" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" \
    XDG_CACHE_HOME="$work/cache" QT_QPA_PLATFORM=offscreen timeout "$limit" "$exe" "$@")
}

[ -x "$exe" ] || fail "no executable at $exe (run 'make bundle' first)"

# 1. version: the bundle starts at all
run --version >"$work/version.out" 2>"$work/version.err" || fail "'advlens --version' exited $?" "$work/version.err"
grep -q '^advlens [0-9]' "$work/version.out" || fail "'advlens --version' printed: $(head -c 200 "$work/version.out")"
ok "advlens --version: $(cat "$work/version.out")"

# 2. the GUI, headless: demo model and sample, one attack run, a screenshot of the 1600x900 window
shot="$work/explorer.png"
start=$SECONDS
run gui --demo --run --screenshot "$shot" >"$work/gui.log" 2>&1
code=$?
[ "$code" -eq 0 ] || fail "'advlens gui --demo --run --screenshot' exited $code" "$work/gui.log"
[ -s "$shot" ] || fail "the GUI exited 0 but wrote no screenshot at $shot" "$work/gui.log"
size="$("$py" - "$shot" <<'EOF'
import struct, sys
head = open(sys.argv[1], "rb").read(24)
if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
    print("not a PNG")
else:
    print("%dx%d" % struct.unpack(">II", head[16:24]))
EOF
)"
[ "$size" = "1600x900" ] || fail "screenshot is $size, expected 1600x900"
bytes=$(wc -c <"$shot")
[ "$bytes" -gt 20000 ] || fail "screenshot is only $bytes bytes: the window looks empty"
ls "$work/runs"/*/record.json >/dev/null 2>&1 || fail "the GUI run saved no run record in $work/runs" "$work/gui.log"
ok "gui --demo --run --screenshot: $size PNG ($((bytes / 1024)) KiB), run record saved, $((SECONDS - start)) s"

# 3. the CLI: one PGD attack on the demo model, JSON on stdout
start=$SECONDS
run attack --model demo --image sample:star --steps 5 --json --no-save >"$work/attack.json" 2>"$work/attack.err"
code=$?
[ "$code" -eq 0 ] || fail "'advlens attack ... --json' exited $code" "$work/attack.err"
summary="$("$py" - "$work/attack.json" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError as exc:
    sys.exit(f"stdout is not JSON ({exc})")
problems = []
if r.get("status") != "finished":
    problems.append(f"status {r.get('status')!r}")
if r.get("steps_run") != 5:
    problems.append(f"steps_run {r.get('steps_run')!r}, expected 5")
if r.get("model_name") != "shapes-cnn":
    problems.append(f"model_name {r.get('model_name')!r}")
names = r.get("class_names") or []
clean = (r.get("clean_pred") or [None])[0]
if clean is None or not 0 <= clean < len(names) or names[clean] != "star":
    problems.append(f"clean prediction {clean!r} is not 'star'")
if not r.get("versions", {}).get("torch"):
    problems.append("no torch version in the record")
if problems:
    sys.exit("; ".join(problems))
adv = r["adv_pred"][0]
print(f"star -> {names[adv]}, success {r['success'][0]}, Linf*255 {r['norms']['linf'][0] * 255:.2f}, "
      f"torch {r['versions']['torch']}")
EOF
)" || fail "attack JSON: $summary"
ok "attack --model demo --image sample:star --steps 5 --json: $summary, $((SECONDS - start)) s"

# 4. the bundled models and samples (package data)
run models >"$work/models.out" 2>"$work/models.err" || fail "'advlens models' exited $?" "$work/models.err"
grep -q '^shapes-cnn ' "$work/models.out" || fail "'advlens models' does not list shapes-cnn" "$work/models.out"
grep -q '^demo ' "$work/models.out" || fail "'advlens models' does not list demo" "$work/models.out"
run samples >"$work/samples.out" 2>"$work/samples.err" || fail "'advlens samples' exited $?" "$work/samples.err"
n_samples=$(grep -c '^sample:' "$work/samples.out")
[ "$n_samples" -ge 1 ] || fail "'advlens samples' lists no sample" "$work/samples.out"
ok "models lists shapes-cnn and demo; samples lists $n_samples"

# 5. bad input: one line on stderr, exit code 2, for a bad option and for a missing model
check_bad() {
  local what="$1"
  shift
  run "$@" >"$work/bad.out" 2>"$work/bad.err"
  local code=$?
  [ "$code" -eq 2 ] || fail "$what: exit code $code, expected 2" "$work/bad.err"
  [ "$(wc -l <"$work/bad.err")" -eq 1 ] || fail "$what: stderr is not one line" "$work/bad.err"
  grep -q 'error' "$work/bad.err" || fail "$what: stderr has no error message" "$work/bad.err"
}
check_bad "advlens --no-such-option" --no-such-option
check_bad "advlens attack --model no-such-model" attack --model no-such-model --no-save
ok "bad option and missing model: one line on stderr, exit 2 ($(cat "$work/bad.err"))"

echo "bundle smoke test: $passed passed, 0 failed ($bundle)"
