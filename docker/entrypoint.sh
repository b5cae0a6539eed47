#!/bin/sh
# Entry point of the imgpipe image: `imgpipe "$@"`, minus one trap.
#
# docker-compose.yml maps every setting (OPS, FORMAT, THREADS, REPORT...) to
# an IMGPIPE_* variable, and compose passes a variable even when its value is
# empty. imgpipe's argument parser takes an empty value literally and rejects
# it (`invalid value '' for '--format'`), so empty IMGPIPE_* variables are
# dropped here: empty means "not set, use the default".
#
# `exec` keeps imgpipe as PID 1, so `docker stop` (SIGTERM) reaches it
# directly and it shuts down cleanly.
set -eu
for var in $(env | sed -n 's/^\(IMGPIPE_[A-Za-z0-9_]*\)=$/\1/p'); do
    unset "$var"
done
exec /usr/local/bin/imgpipe "$@"
