#!/bin/bash
# A test agent laid out like MLE-bench's (`/home/agent/start.sh`, run as `nonroot` with its kwargs). It checks what the
# contract promises, writes a bad submission, validates it at localhost:5000, fixes it after the invalid verdict,
# validates again and exits. Everything it finds goes to stdout (the agent log) and /home/logs/agent-report.txt.
REPORT=/home/logs/agent-report.txt
{
  echo "user=$(id -un) uid=$(id -u)"
  echo "args=$*"
  echo "competition=$COMPETITION_ID"
  echo "time_limit=$TIME_LIMIT_SECS"
  echo "step_limit=${STEP_LIMIT:-unset}"
  echo "secret_sha256=$(printf %s "${TEST_API_KEY:-}" | sha256sum | cut -c1-64)"
  echo "instructions=$(head -n 1 /home/instructions.txt)"
  echo "data=$(ls /home/data | tr '\n' ' ')"
  if [ -e /private ]; then echo "private=present"; else echo "private=absent"; fi
  if touch /home/data/x 2>/dev/null; then echo "data_writable=yes"; else echo "data_writable=no"; fi
  echo "health=$(wget -q -O - http://127.0.0.1:5000/health)"
} > "$REPORT" 2>&1
# Every file this agent can see, hashed: the test checks that the answers are not among them.
find / -path /proc -prune -o -path /sys -prune -o -path /dev -prune -o -type f -print 2>/dev/null \
  | while read -r f; do sha256sum "$f" 2>/dev/null; done > /home/logs/visible-files.sha256
echo "id" > /home/submission/submission.csv
echo "first=$(/home/validate_submission.sh /home/submission/submission.csv)" >> "$REPORT"
cp /home/data/sample_submission.csv /home/submission/submission.csv
echo "second=$(/home/validate_submission.sh /home/submission/submission.csv)" >> "$REPORT"
cat "$REPORT"
