# Reads a `dotnet test` console log (verbosity normal) and keeps what explains each failure, for a CI
# log: the failed test's name, its whole message (up to 80 lines, runs of blank lines squeezed) and the
# stack frames that name a file and line (the throwing frame, then up to 6 with file:line), plus
# aborted runs. Used by tests/run.sh; the full log stays in artifacts/test-results.
/^\[xUnit\.net / { next }
/^  (Failed|Skipped) [A-Za-z_].* \[[^]]+\]$/ { print; mode = ""; next }
/^Test Run Aborted/ || /^The active test run was aborted/ || /^(Blame|Data collector)/ { print; mode = ""; next }
/^  Error Message:$/ { print; mode = "message"; lines = 0; blank = 0; next }
/^  Stack Trace:$/ { if (mode == "message") { print; mode = "stack"; frames = 0; shown = 0 }; next }
/^  (Standard Output Messages|Standard Error Messages):$/ { mode = ""; next }
mode == "message" {
  if ($0 ~ /^[[:space:]]*$/) { if (blank++) next } else blank = 0
  if (++lines <= 80) print; else if (lines == 81) print "   (message cut; the whole log is in artifacts/test-results)"
  next
}
mode == "stack" && /^ *at / { if (++frames == 1 || (/ in .*:line [0-9]+$/ && ++shown <= 6)) print; next }
mode == "stack" && /^$/ { mode = "" }
