#!/bin/sh
# Stands in for MLE-bench's entrypoint, which needs the answers in the container (/private/data) to start its grading
# server. podium must never run it: it replaces the entrypoint and serves port 5000 itself.
echo "mlebench-env entrypoint ran: it would need /private/data (the answers); podium must replace it" >&2
exit 3
