# The packaging tests' counters and `check NAME COMMAND...`: ok/FAIL per check with the last
# lines of a failure's output. Sourced, not run; the script prints its own totals.
passed=0
failed=0
check() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/     | /' <<<"$out" | tail -n 20
  fi
}
