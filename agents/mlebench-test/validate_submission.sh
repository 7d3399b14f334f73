#!/bin/sh
# MLE-bench's /home/validate_submission.sh posts with curl (-F file=@…); this busybox image has no curl, so the
# multipart body is built by hand and posted with wget. Same request, same answer. 127.0.0.1, not localhost: the static
# busybox cannot resolve names (no NSS in the image); MLE-bench's Ubuntu-based images resolve localhost as usual.
SUB=${1:-/home/submission/submission.csv}
B=podium-test-boundary-7f3a
T=$(mktemp)
{
  printf -- '--%s\r\n' "$B"
  printf 'Content-Disposition: form-data; name="file"; filename="submission.csv"\r\n'
  printf 'Content-Type: text/csv\r\n\r\n'
  cat "$SUB"
  printf '\r\n--%s--\r\n' "$B"
} > "$T"
wget -q -O - --header "Content-Type: multipart/form-data; boundary=$B" --post-file "$T" http://127.0.0.1:5000/validate
rc=$?
rm -f "$T"
exit $rc
