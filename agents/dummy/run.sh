#!/bin/sh
# podium's dummy agent: the environment check. Copies the sample submission and exits.
echo "dummy agent: competition ${COMPETITION_ID:-?}, budget ${TIME_LIMIT_SECS:-?} s"
ls /home/data
cp /home/data/sample_submission.csv /home/submission/submission.csv && echo "dummy agent: wrote /home/submission/submission.csv"
